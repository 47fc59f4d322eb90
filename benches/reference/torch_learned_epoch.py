"""PyTorch reference for `cargo bench --bench learned_epoch`: one training
epoch over the FSDD training takes (5-49, 8 kHz) of the same model, on one
thread, in utterances per second.

The model, as `benches/learned_epoch.rs` configures it:
  input   Kaldi power spectrum per frame (the cached prefix: 25 ms / 10 ms
          frames, DC removal, pre-emphasis 0.97, Povey window, 256-point FFT,
          129 bins), computed once here with numpy and not timed, as the
          Rust bench computes it once;
  mel     learned non-negative matrix W = V * V, V (23, 129) from Kaldi's mel
          triangles (20 Hz to Nyquist);
  log     frozen ln(x + delta), delta = f32 epsilon (Kaldi's floor);
  dct     learned (13, 23) matrix, DCT-II with Kaldi's lifter 22 folded in;
  norm    per-frame standardisation across the 13 channels (eps 1e-5);
  pool    mean and standard deviation over each utterance's valid frames;
  mlp     Linear(26, 128), LeakyReLU(0.01), Linear(128, 10);
  loss    softmax cross-entropy; Adam(lr 1e-3); batches of 32, shuffled,
          each padded to its own longest utterance (as the Rust loop does).

Run (one thread, as the Rust bench runs):
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python3 benches/reference/torch_learned_epoch.py \
      [--data /work/shared/data/fsdd] [--epochs 5]
It prints the median epoch time and utterances/s. The first epoch is a
warm-up and is not counted.
"""

import argparse
import glob
import math
import os
import time
import wave

import numpy as np
import torch

SR = 8000
FRAME, SHIFT, NFFT = 200, 80, 256
N_MELS, N_CEPS, LIFTER = 23, 13, 22.0
HIDDEN, CLASSES, BATCH, LR = 128, 10, 32, 1e-3
EPS32 = float(np.finfo(np.float32).eps)


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getframerate() == SR, path
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        if w.getnchannels() > 1:
            x = x.reshape(-1, w.getnchannels()).mean(axis=1)
    return x.astype(np.float64)


def povey(n):
    i = np.arange(n)
    return (0.5 - 0.5 * np.cos(2 * math.pi * i / (n - 1))) ** 0.85


def power_spectrum(x, rng):
    """Kaldi framing (snip_edges) with dither 1, DC removal, pre-emphasis
    0.97, Povey window, |FFT|^2: (frames, 129) float32."""
    n = max(1, 1 + (len(x) - FRAME) // SHIFT) if len(x) >= FRAME else 1
    if len(x) < FRAME:
        x = np.pad(x, (0, FRAME - len(x)))
    idx = np.arange(FRAME)[None, :] + SHIFT * np.arange(n)[:, None]
    f = x[idx] + rng.standard_normal((n, FRAME))
    f -= f.mean(axis=1, keepdims=True)
    f[:, 1:] -= 0.97 * f[:, :-1]
    f[:, 0] -= 0.97 * f[:, 0]
    f *= povey(FRAME)
    spec = np.fft.rfft(f, NFFT)
    return (spec.real**2 + spec.imag**2).astype(np.float32)


def mel(f):
    return 1127.0 * np.log(1.0 + f / 700.0)


def kaldi_mel_banks():
    """Kaldi's triangles on the mel scale, (23, 129)."""
    lo, hi = mel(20.0), mel(SR / 2)
    step = (hi - lo) / (N_MELS + 1)
    bins = mel(np.arange(NFFT // 2 + 1) * SR / NFFT)
    w = np.zeros((N_MELS, NFFT // 2 + 1))
    for m in range(N_MELS):
        left, centre, right = lo + m * step, lo + (m + 1) * step, lo + (m + 2) * step
        up = (bins - left) / (centre - left)
        down = (right - bins) / (right - centre)
        w[m] = np.clip(np.minimum(up, down), 0.0, None)
        w[m, (bins <= left) | (bins >= right)] = 0.0
    return w.astype(np.float32)


def dct_matrix():
    """Orthonormal DCT-II (13, 23) with the lifter 1 + (L/2) sin(pi k / L)."""
    k = np.arange(N_CEPS)[:, None]
    n = np.arange(N_MELS)[None, :]
    d = np.sqrt(2.0 / N_MELS) * np.cos(math.pi / N_MELS * (n + 0.5) * k)
    d[0] *= 1.0 / math.sqrt(2.0)
    lift = 1.0 + 0.5 * LIFTER * np.sin(math.pi * np.arange(N_CEPS) / LIFTER)
    return (d * lift[:, None]).astype(np.float32)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.v = torch.nn.Parameter(torch.from_numpy(np.sqrt(kaldi_mel_banks())))
        self.dct = torch.nn.Parameter(torch.from_numpy(dct_matrix()))
        self.fc1 = torch.nn.Linear(2 * N_CEPS, HIDDEN)
        self.fc2 = torch.nn.Linear(HIDDEN, CLASSES)

    def forward(self, x, mask):
        # x: (batch, frames, 129); mask: (batch, frames, 1), 1 on valid frames.
        e = x @ (self.v * self.v).t()  # (batch, frames, 23)
        c = torch.log(e + EPS32) @ self.dct.t()  # (batch, frames, 13)
        mu = c.mean(dim=2, keepdim=True)
        var = ((c - mu) ** 2).mean(dim=2, keepdim=True)
        z = (c - mu) / torch.sqrt(var + 1e-5) * mask
        n = mask.sum(dim=1)  # (batch, 1)
        mean = z.sum(dim=1) / n
        sq = (((z - mean[:, None, :]) * mask) ** 2).sum(dim=1) / n
        pooled = torch.cat([mean, torch.sqrt(sq + 1e-5)], dim=1)  # (batch, 26)
        h = torch.nn.functional.leaky_relu(self.fc1(pooled), 0.01)
        return self.fc2(h)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/fsdd")
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(1)
    rng = np.random.default_rng(0)
    utts, labels = [], []
    for path in sorted(glob.glob(os.path.join(args.data, "*.wav"))):
        digit, _speaker, take = os.path.basename(path)[:-4].split("_")
        if int(take) >= 5:
            utts.append(torch.from_numpy(power_spectrum(read_wav(path), rng)))
            labels.append(int(digit))
    labels = torch.tensor(labels)
    lengths = torch.tensor([u.shape[0] for u in utts])
    model = Model()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    times = []
    for epoch in range(args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(len(utts))
        for b in range(0, len(utts), BATCH):
            idx = order[b : b + BATCH]
            x = torch.nn.utils.rnn.pad_sequence([utts[i] for i in idx], batch_first=True)
            t = torch.arange(x.shape[1])[None, :, None]
            mask = (t < lengths[idx][:, None, None]).float()
            loss = torch.nn.functional.cross_entropy(model(x, mask), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if epoch > 0:
            times.append(time.perf_counter() - start)
    med = sorted(times)[len(times) // 2]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread: "
        f"{len(utts)} utterances, median epoch {med * 1e3:.1f} ms "
        f"({len(utts) / med:.0f} utt/s) over {len(times)} epochs"
    )


if __name__ == "__main__":
    main()
