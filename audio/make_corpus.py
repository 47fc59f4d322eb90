#!/usr/bin/env python3
"""Generate speechfront's embedded spoken-digit corpus (audio/digits/).

Every file is synthesised by espeak-ng, resampled to 8 kHz by sox, trimmed to
its speech plus a small margin, mixed with noise at a chosen SNR and written as
16-bit mono WAV in the Free Spoken Digit Dataset naming scheme:

    audio/digits/{digit}_{speaker}_{take}.wav

A *speaker* is one espeak-ng voice (accent) plus one voice variant (timbre),
with its own base speed and pitch; a *take* varies speed, pitch, level, margin,
noise colour and SNR around that speaker's base.

Determinism: espeak-ng is deterministic, sox resamples deterministically when
its dither is switched off (-D), and every random choice here comes from one
`random.Random(SEED)` drawn in a fixed order, so a rerun writes identical bytes.

Only the Python standard library is used (plus the two programs above).

Usage (from the repository root):

    python3 audio/make_corpus.py            # writes audio/digits/
    python3 audio/make_corpus.py --out DIR  # somewhere else (e.g. to compare)
"""

import argparse
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import wave

SEED = 20261127
RATE = 8000
WORDS = ["zero", "one", "two", "three", "four",
         "five", "six", "seven", "eight", "nine"]
TAKES = 3
# SNRs in dB of the mixed-in noise; each take draws one.
SNRS_DB = [30.0, 20.0, 10.0]
NOISE_KINDS = ["white", "pink", "brown"]

# (speaker id, espeak-ng voice, variant). Ids use no underscore (it separates
# the FSDD name fields). Prefix = accent, suffix = variant.
SPEAKERS = [
    ("usm1", "en-us", "m1"),
    ("usm3", "en-us", "m3"),
    ("usf1", "en-us", "f1"),
    ("usf3", "en-us", "f3"),
    ("usk2", "en-us", "klatt2"),
    ("gbm2", "en-gb", "m2"),
    ("gbm5", "en-gb", "m5"),
    ("gbf2", "en-gb", "f2"),
    ("gbf4", "en-gb", "f4"),
    ("gbk", "en-gb", "klatt"),
    ("scm4", "en-gb-scotland", "m4"),
    ("scm7", "en-gb-scotland", "m7"),
    ("scf1", "en-gb-scotland", "f1"),
    ("cam6", "en-029", "m6"),
    ("caf3", "en-029", "f3"),
    ("cak3", "en-029", "klatt3"),
    ("nym2", "en-us-nyc", "m2"),
    ("nyf4", "en-us-nyc", "f4"),
    ("nyk4", "en-us-nyc", "klatt4"),
    ("rpm3", "en-gb-x-rp", "m3"),
    ("rpf2", "en-gb-x-rp", "f2"),
    ("lam1", "en-gb-x-gbclan", "m1"),
    ("laf1", "en-gb-x-gbclan", "f1"),
    ("wmm6", "en-gb-x-gbcwmd", "m6"),
    ("wmf3", "en-gb-x-gbcwmd", "f3"),
]


def synthesise(voice, variant, speed, pitch, word, tmpdir):
    """espeak-ng -> 22,050 Hz WAV -> sox (no dither) -> 8 kHz float samples."""
    raw_path = os.path.join(tmpdir, "say.wav")
    subprocess.run(
        ["espeak-ng", "-v", f"{voice}+{variant}", "-s", str(speed),
         "-p", str(pitch), "-w", raw_path, word],
        check=True)
    out = subprocess.run(
        ["sox", "-D", raw_path, "-t", "raw", "-e", "floating-point",
         "-b", "32", "-L", "-r", str(RATE), "-", "vol", "0.5"],
        check=True, stdout=subprocess.PIPE).stdout
    n = len(out) // 4
    return list(struct.unpack(f"<{n}f", out[:n * 4]))


def speech_bounds(x, frame=80, rel_db=-35.0):
    """First and last sample of the frames whose energy is within rel_db of
    the loudest frame (10 ms frames at 8 kHz)."""
    energies = []
    for start in range(0, len(x), frame):
        seg = x[start:start + frame]
        energies.append(sum(v * v for v in seg) / max(len(seg), 1))
    peak = max(energies)
    if peak <= 0.0:
        return 0, len(x)
    floor = peak * 10.0 ** (rel_db / 10.0)
    voiced = [i for i, e in enumerate(energies) if e >= floor]
    return voiced[0] * frame, min(len(x), (voiced[-1] + 1) * frame)


def make_noise(kind, n, rng):
    """Unit-variance noise of a given colour (white, pink ~1/f, brown ~1/f^2)."""
    white = [rng.gauss(0.0, 1.0) for _ in range(n)]
    if kind == "white":
        noise = white
    elif kind == "brown":
        # Leaky integrator: a one-pole low-pass close to 1/f^2 above ~10 Hz.
        noise, acc = [], 0.0
        for w in white:
            acc = 0.995 * acc + w
            noise.append(acc)
    else:
        # Pink: Paul Kellet's economy three-pole filter approximation of 1/f.
        noise, b0, b1, b2 = [], 0.0, 0.0, 0.0
        for w in white:
            b0 = 0.99765 * b0 + w * 0.0990460
            b1 = 0.96300 * b1 + w * 0.2965164
            b2 = 0.57000 * b2 + w * 1.0526913
            noise.append(b0 + b1 + b2 + w * 0.1848)
    mean = sum(noise) / n
    noise = [v - mean for v in noise]
    rms = math.sqrt(sum(v * v for v in noise) / n) or 1.0
    return [v / rms for v in noise]


def render_take(samples, rng):
    """Trim, pad with a random margin, set level, add noise at a random SNR."""
    lo, hi = speech_bounds(samples)
    speech = samples[lo:hi]
    lead = [0.0] * int(RATE * rng.uniform(0.03, 0.09))
    trail = [0.0] * int(RATE * rng.uniform(0.03, 0.09))
    x = lead + speech + trail
    peak = max(abs(v) for v in speech) or 1.0
    level = rng.uniform(0.25, 0.8)
    x = [v * level / peak for v in x]
    speech_power = sum(v * v for v in x[len(lead):len(lead) + len(speech)])
    speech_power /= max(len(speech), 1)
    snr_db = rng.choice(SNRS_DB)
    kind = rng.choice(NOISE_KINDS)
    noise = make_noise(kind, len(x), rng)
    gain = math.sqrt(speech_power / 10.0 ** (snr_db / 10.0))
    y = [v + gain * w for v, w in zip(x, noise)]
    return [max(-32768, min(32767, round(v * 32767.0))) for v in y]


def write_wav(path, pcm):
    tmp = path + ".tmp"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(struct.pack(f"<{len(pcm)}h", *pcm))
    os.replace(tmp, path)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(here, "digits"))
    args = parser.parse_args()
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found on PATH")
    if os.path.isdir(args.out):
        for name in os.listdir(args.out):
            if name.endswith(".wav"):
                os.remove(os.path.join(args.out, name))
    os.makedirs(args.out, exist_ok=True)

    rng = random.Random(SEED)
    count = 0
    with tempfile.TemporaryDirectory() as tmpdir:
        for speaker, voice, variant in SPEAKERS:
            base_speed = rng.randint(140, 200)  # words per minute
            base_pitch = rng.randint(25, 75)  # espeak-ng 0..99
            for digit, word in enumerate(WORDS):
                for take in range(TAKES):
                    speed = max(80, round(base_speed * rng.uniform(0.85, 1.15)))
                    pitch = min(99, max(0, base_pitch + rng.randint(-10, 10)))
                    samples = synthesise(voice, variant, speed, pitch, word,
                                         tmpdir)
                    pcm = render_take(samples, rng)
                    name = f"{digit}_{speaker}_{take}.wav"
                    write_wav(os.path.join(args.out, name), pcm)
                    count += 1
    print(f"wrote {count} files to {args.out}")


if __name__ == "__main__":
    main()
