"""In-process reference for the FSDD folder-writes row of issue 17
(`benches/fsdd_folder.sh` runs it next to `speechfront extract`).

One Python process, one thread: for every .wav under DATA (sorted), read it
(`wave` + numpy), compute 13 MFCCs with the reference library's own
transform, and (unless --no-write) save them with numpy.save under OUT,
mirroring the tree. Prints files/s over the whole loop (the first pass over
the files is a warm-up that fills the page cache and is not counted).

Backends (--backend):
  torchaudio  torchaudio.transforms.MFCC(sample_rate=8000, n_mfcc=13,
              melkwargs=n_fft 256, hop 80, win 200, 23 mels), one thread;
  knf         kaldi-native-fbank's OnlineMfcc (Kaldi's compute-mfcc-feats in
              C++, dither 0): the fallback when torchaudio is not installed.
Threads are pinned to 1 (torch.set_num_threads(1), OMP/MKL variables).
"""

import argparse
import glob
import os
import sys
import time
import wave

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np


def read_wav(path):
    with wave.open(path, "rb") as w:
        n = w.getnframes()
        data = np.frombuffer(w.readframes(n), dtype=np.int16)
        return w.getframerate(), data


def make_torchaudio():
    import torch
    import torchaudio

    torch.set_num_threads(1)
    mfcc = torchaudio.transforms.MFCC(
        sample_rate=8000,
        n_mfcc=13,
        melkwargs={"n_fft": 256, "hop_length": 80, "win_length": 200, "n_mels": 23},
    )

    def run(rate, x):
        t = torch.from_numpy(x.astype(np.float32) / 32768.0)
        with torch.no_grad():
            return mfcc(t).T.contiguous().numpy()

    return run, "torchaudio " + torchaudio.__version__ + " / torch " + torch.__version__


def make_knf():
    import kaldi_native_fbank as knf

    def run(rate, x):
        opts = knf.MfccOptions()
        opts.frame_opts.samp_freq = rate
        opts.frame_opts.dither = 0.0
        opts.mel_opts.num_bins = 23
        m = knf.OnlineMfcc(opts)
        m.accept_waveform(rate, x.astype(np.float32).tolist())
        m.input_finished()
        n = m.num_frames_ready
        return np.array([m.get_frame(i) for i in range(n)], dtype=np.float32).reshape(n, -1)

    version = getattr(knf, "__version__", "?")
    return run, "kaldi-native-fbank " + version


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/fsdd")
    ap.add_argument("--out", required=True)
    ap.add_argument("--backend", choices=["torchaudio", "knf"], default="torchaudio")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(args.data, "**", "*.wav"), recursive=True))
    run, name = make_torchaudio() if args.backend == "torchaudio" else make_knf()
    for f in files:  # warm-up: page cache, lazy imports
        read_wav(f)
    best = None
    best_cpu = None
    for _ in range(args.repeats):
        start = time.perf_counter()
        cpu0 = time.process_time()
        for f in files:
            rate, x = read_wav(f)
            feats = run(rate, x)
            if not args.no_write:
                dst = os.path.join(args.out, os.path.relpath(f, args.data))[:-4] + ".npy"
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                np.save(dst, feats)
        t = time.perf_counter() - start
        c = time.process_time() - cpu0
        best = t if best is None else min(best, t)
        best_cpu = c if best_cpu is None else min(best_cpu, c)
    print(f"{name}: {len(files)} files, best of {args.repeats}: {best:.3f} s, "
          f"{len(files) / best:.0f} files/s, cpu {best_cpu:.3f} s "
          f"({'no write' if args.no_write else 'np.save each'})")


if __name__ == "__main__":
    sys.exit(main())
