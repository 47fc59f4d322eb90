"""speechfront.mfcc against librosa and kaldi-native-fbank, one process, one run.

    python benches/python/bench_mfcc.py [--folder DIR] [--json OUT.json]

Needs the speechfront package (tools/test-all or `pip install ./python`),
librosa and kaldi-native-fbank (`pip install librosa kaldi-native-fbank`).

Inputs, decoded before any timing (decode is not timed):
- one 600 s 16 kHz signal: benches/make_long_wav.py's speech-like recipe
  (seed 1), int16 -> float32 / 32768;
- a folder of short utterances: --folder, else $SPEECHFRONT_FSDD, else
  ../shared/data/fsdd (FSDD, 2,500 files, 8 kHz) when present, else the embedded corpus audio/digits (750 files).

Pairs compared (same algorithm, same array, one thread each):
- speechfront "librosa" preset vs librosa.feature.mfcc(y=y, sr=sr);
- speechfront "kaldi" preset (dither 0) vs kaldi-native-fbank OnlineMfcc
  (Kaldi defaults, dither 0; the waveform in int16 scale, as Kaldi reads it).
Each tool gets one untimed warm-up call on 1 s of audio (librosa's numba
kernels compile on first use), then one timed run. Then speechfront over
the folder on a ThreadPoolExecutor with 2 threads against its own 1-thread
run. Times are wall clock (time.perf_counter) and this process's CPU time;
ratios are of wall times measured in this same run (the machine is shared).
"""

import argparse
import concurrent.futures as cf
import json
import os
import pathlib
import sys
import time
import warnings
import wave

import numpy as np

# librosa warns on every utterance shorter than n_fft (most of FSDD).
warnings.filterwarnings("ignore", message="n_fft=.*is too large")

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "benches"))
from make_long_wav import speech_like  # noqa: E402

import speechfront as sf  # noqa: E402


def read(path):
    with wave.open(str(path), "rb") as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return pcm.astype(np.float32) / 32768.0, w.getframerate()


def timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def knf_mfcc(y, sr):
    import kaldi_native_fbank as knf

    o = knf.MfccOptions()
    o.frame_opts.dither = 0.0
    o.frame_opts.samp_freq = float(sr)
    o.mel_opts.num_bins = 23
    m = knf.OnlineMfcc(o)
    m.accept_waveform(float(sr), (y * 32768.0).tolist())
    m.input_finished()
    n = m.num_frames_ready
    return np.array([m.get_frame(i) for i in range(n)], dtype=np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import librosa
    import kaldi_native_fbank as knf  # noqa: F401

    folder = pathlib.Path(args.folder or os.environ.get("SPEECHFRONT_FSDD", REPO.parent / "shared" / "data" / "fsdd"))
    if not folder.is_dir():
        folder = REPO / "audio" / "digits"
    files = sorted(folder.rglob("*.wav"))
    utts = [read(f) for f in files]
    long_y = speech_like(600).astype(np.float32) / 32768.0
    sr_long = 16000
    sr_short = utts[0][1]
    assert all(sr == sr_short for _, sr in utts)
    secs_short = sum(len(y) for y, _ in utts) / sr_short

    fe_lib = sf.Frontend("librosa")
    fe_kaldi = sf.Frontend("kaldi", dither=0.0)
    warm = long_y[:16000]
    fe_lib(warm, 16000), fe_kaldi(warm, 16000), librosa.feature.mfcc(y=warm, sr=16000), knf_mfcc(warm, 16000)

    rows = {}

    def run(name, fn):
        wall, cpu, out = timed(fn)
        rows[name] = {"wall_s": wall, "cpu_s": cpu}
        print(f"{name:<40} {wall:8.3f} s wall {cpu:8.3f} s cpu", flush=True)
        return out

    # 600 s signal
    a = run("long/speechfront librosa preset", lambda: fe_lib(long_y, sr_long))
    b = run("long/librosa.feature.mfcc", lambda: librosa.feature.mfcc(y=long_y, sr=sr_long).T)
    assert a.shape == b.shape, (a.shape, b.shape)
    c = run("long/speechfront kaldi preset", lambda: fe_kaldi(long_y, sr_long))
    d = run("long/kaldi-native-fbank OnlineMfcc", lambda: knf_mfcc(long_y, sr_long))
    assert c.shape == d.shape, (c.shape, d.shape)
    # folder of short utterances, one thread
    run("folder/speechfront librosa preset", lambda: [fe_lib(y, sr) for y, sr in utts])
    run("folder/librosa.feature.mfcc", lambda: [librosa.feature.mfcc(y=y, sr=sr) for y, sr in utts])
    serial = run("folder/speechfront kaldi preset", lambda: [fe_kaldi(y, sr) for y, sr in utts])
    run("folder/kaldi-native-fbank OnlineMfcc", lambda: [knf_mfcc(y, sr) for y, sr in utts])
    # thread pool, 2 threads, speechfront kaldi preset
    with cf.ThreadPoolExecutor(2) as ex:
        list(ex.map(lambda u: fe_kaldi(*u), utts[:50]))  # start the threads
        pooled = run("folder/speechfront kaldi, 2 threads", lambda: list(ex.map(lambda u: fe_kaldi(*u), utts)))
    assert all(np.array_equal(p, s) for p, s in zip(pooled, serial))
    # The batch call: one GIL release, 2 rayon threads.
    mapped = run("folder/speechfront kaldi, Frontend.map jobs=2", lambda: fe_kaldi.map([y for y, _ in utts], sr_short, jobs=2))
    assert all(np.array_equal(p, s) for p, s in zip(mapped, serial))

    w = {k: v["wall_s"] for k, v in rows.items()}
    ratios = {
        "long: librosa / speechfront": w["long/librosa.feature.mfcc"] / w["long/speechfront librosa preset"],
        "long: kaldi-native-fbank / speechfront": w["long/kaldi-native-fbank OnlineMfcc"] / w["long/speechfront kaldi preset"],
        "folder: librosa / speechfront": w["folder/librosa.feature.mfcc"] / w["folder/speechfront librosa preset"],
        "folder: kaldi-native-fbank / speechfront": w["folder/kaldi-native-fbank OnlineMfcc"] / w["folder/speechfront kaldi preset"],
        "folder: speechfront 1 thread / ThreadPoolExecutor(2)": w["folder/speechfront kaldi preset"] / w["folder/speechfront kaldi, 2 threads"],
        "folder: speechfront 1 thread / Frontend.map(jobs=2)": w["folder/speechfront kaldi preset"] / w["folder/speechfront kaldi, Frontend.map jobs=2"],
    }
    print()
    print(f"folder: {folder} ({len(files)} files, {secs_short:.1f} s of audio at {sr_short} Hz); long: 600 s at 16000 Hz")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("| ratio (wall time) | value |\n| --- | --- |")
    for k, v in ratios.items():
        print(f"| {k} | {v:.2f}x |")
    if args.json:
        meta = {"librosa": librosa.__version__, "numpy": np.__version__, "speechfront": sf.__version__, "files": len(files), "folder": str(folder)}
        pathlib.Path(args.json).write_text(json.dumps({"times": rows, "ratios": ratios, "versions": meta}, indent=1))


if __name__ == "__main__":
    main()
