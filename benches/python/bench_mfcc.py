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
kernels compile on first use), then one timed run. Times are wall clock
(time.perf_counter) and this process's CPU time; ratios are of wall times
measured in this same run (the machine is shared).

numpy's BLAS is held to one thread (OPENBLAS_NUM_THREADS=1 and friends,
unless already set): "one thread each" is the comparison, and a BLAS
worker thread left spinning after librosa's matrix products (OpenBLAS
busy-waits about 0.1 s after each call before it sleeps) would occupy the
second core during the next timed run and be charged to its CPU time.

Thread scaling (2 cores): --repeat rounds (default 15), each timing, in
turn, speechfront's kaldi preset over the folder on one thread (a plain
loop), on a ThreadPoolExecutor(2) with one task per file, on a
ThreadPoolExecutor(2) with one task per block of --block files (default 25;
each task a plain loop, so the GIL is still released once per file), and
with Frontend.map(jobs=2). Interleaving puts every variant under the same
machine load; the report gives the median, min and max over the rounds of
(one-thread wall / variant wall), and each variant's median CPU seconds.
--threads-only skips the comparison with librosa and kaldi-native-fbank.
"""

import os

# Before numpy loads: one BLAS thread (see the module docs).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import concurrent.futures as cf  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
import wave  # noqa: E402

import numpy as np  # noqa: E402

# librosa warns on every utterance shorter than n_fft (most of FSDD).
warnings.filterwarnings("ignore", message="n_fft=.*is too large")

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "benches"))
sys.path.insert(0, str(HERE))
from machine_load import Others  # noqa: E402
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


def blocks(xs, n):
    return [xs[i : i + n] for i in range(0, len(xs), n)]


def scaling(fe, utts, rounds, block, quiet):
    """Interleaved rounds of the one-thread loop and the 2-thread variants.

    Returns, per variant, medians over all rounds and over the quiet ones
    (the rest of the machine used under `quiet` cores during the round).
    """
    sr = utts[0][1]
    ys = [y for y, _ in utts]
    serial = [fe(y, sr) for y in ys]
    others = Others()
    with cf.ThreadPoolExecutor(2) as ex:
        list(ex.map(lambda y: fe(y, sr), ys[:50]))  # start the threads
        variants = {
            "1 thread (loop)": lambda: [fe(y, sr) for y in ys],
            "ThreadPoolExecutor(2), a task per file": lambda: list(ex.map(lambda y: fe(y, sr), ys)),
            f"ThreadPoolExecutor(2), a task per {block} files": lambda: [
                a for b in ex.map(lambda b: [fe(y, sr) for y in b], blocks(ys, block)) for a in b
            ],
            "Frontend.map(jobs=2)": lambda: fe.map(ys, sr, jobs=2),
        }
        times = {k: [] for k in variants}
        load = []
        for _ in range(rounds):
            others.start(time.perf_counter())
            for name, fn in variants.items():
                wall, cpu, out = timed(fn)
                times[name].append((wall, cpu))
                assert len(out) == len(serial) and all(np.array_equal(p, q) for p, q in zip(out, serial)), name
            load.append(others.stop(time.perf_counter()))
    base = [w for w, _ in times["1 thread (loop)"]]
    quiet_rounds = [i for i, x in enumerate(load) if x < quiet]

    def summary(tc, idx):
        if not idx:
            return None
        r = [base[i] / tc[i][0] for i in idx]
        return {
            "rounds": len(idx),
            "wall_s_median": statistics.median(tc[i][0] for i in idx),
            "cpu_s_median": statistics.median(tc[i][1] for i in idx),
            "speedup_median": statistics.median(r),
            "speedup_min": min(r),
            "speedup_max": max(r),
        }

    rows = {name: {"all": summary(tc, range(rounds)), "quiet": summary(tc, quiet_rounds)} for name, tc in times.items()}
    return rows, load


def table(rows, which):
    print("| run | median wall | median CPU | 1 thread / run: median (min-max) |\n| --- | --- | --- | --- |")
    for k, v in rows.items():
        v = v[which]
        print(f"| {k} | {v['wall_s_median'] * 1e3:.1f} ms | {v['cpu_s_median'] * 1e3:.1f} ms "
              f"| {v['speedup_median']:.2f}x ({v['speedup_min']:.2f}-{v['speedup_max']:.2f}) |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--repeat", type=int, default=15, help="rounds of the thread-scaling comparison")
    ap.add_argument("--block", type=int, default=25, help="files per task in the blocked thread-pool run")
    ap.add_argument("--threads-only", action="store_true", help="only the thread-scaling comparison")
    ap.add_argument("--quiet", type=float, default=0.1, help="a round is quiet when other processes used under this many cores")
    args = ap.parse_args()

    folder = pathlib.Path(args.folder or os.environ.get("SPEECHFRONT_FSDD", REPO.parent / "shared" / "data" / "fsdd"))
    if not folder.is_dir():
        folder = REPO / "audio" / "digits"
    files = sorted(folder.rglob("*.wav"))
    utts = [read(f) for f in files]
    sr_short = utts[0][1]
    assert all(sr == sr_short for _, sr in utts)
    secs_short = sum(len(y) for y, _ in utts) / sr_short
    fe_kaldi = sf.Frontend("kaldi", dither=0.0)
    load_before = os.getloadavg()[0]

    rows, ratios, meta = {}, {}, {"numpy": np.__version__, "speechfront": sf.__version__, "files": len(files), "folder": str(folder)}
    if not args.threads_only:
        rows, ratios = references(fe_kaldi, utts, meta)

    scale, load = scaling(fe_kaldi, utts, args.repeat, args.block, args.quiet)
    print()
    print(f"folder: {folder} ({len(files)} files, {secs_short:.1f} s of audio at {sr_short} Hz); long: 600 s at 16000 Hz")
    print(f"load average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, on {os.cpu_count()} cores")
    if ratios:
        print("| ratio (wall time) | value |\n| --- | --- |")
        for k, v in ratios.items():
            print(f"| {k} | {v:.2f}x |")
        print()
    print(f"thread scaling, speechfront kaldi preset over the folder, {args.repeat} interleaved rounds; "
          f"other processes' CPU during a round: median {statistics.median(load):.2f} cores "
          f"(min {min(load):.2f}, max {max(load):.2f})")
    table(scale, "all")
    n_quiet = next(iter(scale.values()))["quiet"]
    if n_quiet:
        print(f"\nthe {n_quiet['rounds']} quiet rounds (other processes under {args.quiet} cores):")
        table(scale, "quiet")
    else:
        print(f"\nno quiet round (other processes under {args.quiet} cores)")
    if args.json:
        out = {"times": rows, "ratios": ratios, "thread_scaling": scale, "others_cores": load, "versions": meta}
        pathlib.Path(args.json).write_text(json.dumps(out, indent=1))


def references(fe_kaldi, utts, meta):
    """speechfront against librosa and kaldi-native-fbank, one thread each."""
    import librosa
    import kaldi_native_fbank as knf  # noqa: F401

    meta["librosa"] = librosa.__version__
    long_y = speech_like(600).astype(np.float32) / 32768.0
    sr_long = 16000
    fe_lib = sf.Frontend("librosa")
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
    run("folder/speechfront kaldi preset", lambda: [fe_kaldi(y, sr) for y, sr in utts])
    run("folder/kaldi-native-fbank OnlineMfcc", lambda: [knf_mfcc(y, sr) for y, sr in utts])

    w = {k: v["wall_s"] for k, v in rows.items()}
    ratios = {
        "long: librosa / speechfront": w["long/librosa.feature.mfcc"] / w["long/speechfront librosa preset"],
        "long: kaldi-native-fbank / speechfront": w["long/kaldi-native-fbank OnlineMfcc"] / w["long/speechfront kaldi preset"],
        "folder: librosa / speechfront": w["folder/librosa.feature.mfcc"] / w["folder/speechfront librosa preset"],
        "folder: kaldi-native-fbank / speechfront": w["folder/kaldi-native-fbank OnlineMfcc"] / w["folder/speechfront kaldi preset"],
    }
    return rows, ratios


if __name__ == "__main__":
    main()
