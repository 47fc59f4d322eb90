"""Write the long speech-like WAV files the README's CLI speed figures use.

    python3 benches/make_long_wav.py /tmp/speed   # long600.wav, long3600.wav

16 kHz, mono, 16-bit: a gliding harmonic source (f0 90-250 Hz, 1/k
harmonic amplitudes), 4 Hz amplitude modulation and a little uniform noise
(seed 1), the same recipe as `speech_like` in benches/extract.rs. The
1-hour file is the 600 s signal six times over. Needs numpy.
"""

import sys
import wave
from pathlib import Path

import numpy as np

RATE = 16000


def speech_like(seconds: int) -> np.ndarray:
    n = RATE * seconds
    rng = np.random.default_rng(1)
    t = np.arange(n) / RATE
    f0 = 170 + 80 * np.sin(2 * np.pi * 0.3 * t)
    phase = np.cumsum(2 * np.pi * f0 / RATE)
    voiced = sum(np.sin(k * phase) / k for k in range(1, 13))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)
    x = 0.2 * env * voiced + 0.02 * rng.uniform(-1, 1, n)
    return np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")


def write(path: Path, data: bytes, repeats: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        for _ in range(repeats):
            w.writeframes(data)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    data = speech_like(600).tobytes()
    write(out / "long600.wav", data, 1)
    write(out / "long3600.wav", data, 6)


if __name__ == "__main__":
    main()
