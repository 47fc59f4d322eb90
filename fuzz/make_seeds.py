#!/usr/bin/env python3
"""Writes the fuzzers' starting corpora under fuzz/corpus/<target>/ (not
committed: made from the repository's own files and a few generated WAVs).
Run from anywhere: python3 fuzz/make_seeds.py [MODEL.safetensors...]
"""
import io, math, os, struct, sys, wave, glob

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pcm_wav(rate, channels, width, n):
    buf = io.BytesIO()
    w = wave.open(buf, "wb")
    w.setnchannels(channels)
    w.setsampwidth(width)
    w.setframerate(rate)
    frames = bytearray()
    for i in range(n):
        v = math.sin(2 * math.pi * 440 * i / rate) * 0.5
        for c in range(channels):
            if width == 1:
                frames += bytes([int(128 + 100 * v)])
            else:
                q = int(v * (2 ** (8 * width - 1) - 1))
                frames += q.to_bytes(width, "little", signed=True)
    w.writeframes(bytes(frames))
    w.close()
    return buf.getvalue()


def float_wav(rate, channels, n):
    data = b"".join(struct.pack("<f", 0.3 * math.sin(i / 5.0)) for i in range(n * channels))
    fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * 4 * channels, 4 * channels, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


wavs = {
    "pcm16_8k": pcm_wav(8000, 1, 2, 600),
    "pcm8_16k": pcm_wav(16000, 1, 1, 500),
    "pcm24_stereo": pcm_wav(8000, 2, 3, 300),
    "pcm32": pcm_wav(22050, 1, 4, 300),
    "float_stereo": float_wav(8000, 2, 300),
}
for name, data in wavs.items():
    for sel in (0, 1):
        put("decode_wav", f"{name}_{sel}", bytes([sel]) + data)
    put("extract_bytes", name, bytes([0, 2]) + data)
    put("extract_bytes", name + "_librosa_deltas", bytes([1 | 8, 3]) + data)
for i, ext in enumerate(["flac", "mp3", "ogg"]):
    data = open(os.path.join(root, "tests", "fixtures", "audio", f"tone.{ext}"), "rb").read()
    put("decode_compressed", ext, bytes([i]) + data)
    put("extract_bytes", ext, bytes([2, 2 | (i + 1) << 2]) + data)
for p in sorted(glob.glob(os.path.join(root, "models", "*.toml"))):
    text = open(p, "rb").read()
    put("experiment_config", os.path.basename(p), text)
frontend_tables = [
    b"",
    b"frame = { dither = 0.0 }\npost = { deltas = true, cmvn = \"mean\" }\n",
    b"mel = { num_bins = 40, low_freq_hz = 20.0, vtln_warp = 1.1 }\ndct = { num_ceps = 20, lifter = 22.0 }\n",
    b"[frame]\nframe_length_ms = 32.0\nframe_shift_ms = 8.0\nfft_size = 512\n[window]\nperiodic = true\n",
    b"[post]\ndeltas = true\ndelta_order = 2\n",
]
for i, t in enumerate(frontend_tables):
    for sel in (0, 1, 2 | 8, 5 | 16):
        put("frontend_config", f"t{i}_{sel}", bytes([sel]) + t)
# Three tiny models (context, pooled ensemble of 2, fixed-length maxout),
# trained by `speechfront train` on six files of audio/digits with the
# configurations in fuzz/seeds/configs/ (see docs/fuzzing.md).
models = sys.argv[1:] or sorted(glob.glob(os.path.join(root, "fuzz", "seeds", "*.safetensors")))
for p in models:
    put("load_model", os.path.basename(p), open(p, "rb").read())
for p in sorted(glob.glob(os.path.join(root, "fuzz", "seeds", "configs", "*.toml"))):
    put("experiment_config", "seed_" + os.path.basename(p), open(p, "rb").read())
