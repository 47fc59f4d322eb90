"""PyTorch reference for `cargo bench --bench train -- mlp_train_step`: one
training step of the benchmark MLP on one thread, in samples per second,
with the matmul floors of PyTorch and of numpy (OpenBLAS) beside it.

The network, as `benches/train.rs` builds it:
  Linear(1287, 256), ReLU, [Dropout(0.2)], Linear(256, 256), ReLU,
  [Dropout(0.2)], Linear(256, 10); softmax cross-entropy (mean over the
  batch); Adam(lr 1e-4, betas 0.9/0.999, eps 1e-8, weight_decay = L2);
  inputs uniform in [-1, 1) that need no gradient (so, as in the Rust step,
  the first layer's input gradient is not computed).
One step = zero_grad, forward, loss, backward, Adam step.

`floor`: the eight matmuls of such a step (three forward, three weight
gradients, two input gradients) into preallocated outputs, with torch.mm
(out=) and with numpy's matmul (out=): the "nothing but the matmuls" floor
of each library, as `matmul_floor_batch_N` is for the Rust step.

Run (one thread; the script sets the thread variables itself before
importing numpy and torch):
  python3 benches/reference/torch_train_step.py [--cpu-time] [--rounds 3]
      [--with-rust]
`--rust-bin PATH` (repeatable) runs an already built bench executable
(target/release/deps/train-*) instead of cargo, e.g. to compare two builds.
`--cpu-time` times this thread's CPU time (time.thread_time) instead of
wall time, like `BENCH_CPU_TIME=1` for the Rust bench. `--with-rust` runs
`cargo bench --bench train -- mlp_train_step` between the PyTorch rounds
(interleaved, so both see the same machine load), reads criterion's
medians from target/criterion and prints speechfront / PyTorch ratios per
round and their median.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)
DIMS = (1287, 256, 256, 10)
BATCHES = (32, 128, 1024)
LR = 1e-4


def timer(cpu):
    return time.thread_time_ns if cpu else time.perf_counter_ns


def median_ns(fn, cpu, seconds, warm_seconds=0.5):
    """Median time of one call of `fn`, over chunks of calls that each take
    about 20 ms, for `seconds` in all after `warm_seconds` of warm-up."""
    clock = timer(cpu)
    t_end = time.perf_counter() + warm_seconds
    n = 0
    t0 = clock()
    while time.perf_counter() < t_end or n < 3:
        fn()
        n += 1
    per = max(1, (clock() - t0) // n)
    chunk = max(1, int(20e6 // per))
    samples = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(samples) < 5:
        t0 = clock()
        for _ in range(chunk):
            fn()
        samples.append((clock() - t0) / chunk)
    return statistics.median(samples)


def make_net(dropout):
    layers = []
    for i in range(3):
        layers.append(nn.Linear(DIMS[i], DIMS[i + 1]))
        if i < 2:
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def step_fn(batch, dropout, l2):
    torch.manual_seed(1)
    net = make_net(dropout).train()
    opt = torch.optim.Adam(net.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=l2)
    x = torch.rand(batch, DIMS[0]) * 2 - 1
    y = torch.randint(0, DIMS[3], (batch,))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

    return step


def torch_floor_fn(batch):
    g = torch.Generator().manual_seed(2)
    w = [torch.rand(DIMS[i], DIMS[i + 1], generator=g) - 0.5 for i in range(3)]
    gw = [torch.zeros(DIMS[i], DIMS[i + 1]) for i in range(3)]
    x = torch.rand(batch, DIMS[0], generator=g) * 2 - 1
    h = [torch.zeros(batch, DIMS[i]) for i in range(1, 4)]
    gr = [torch.full((batch, DIMS[i]), 1e-3) for i in range(1, 4)]

    def floor():
        torch.mm(x, w[0], out=h[0])
        torch.mm(h[0], w[1], out=h[1])
        torch.mm(h[1], w[2], out=h[2])
        torch.mm(h[1].t(), gr[2], out=gw[2])
        torch.mm(h[0].t(), gr[1], out=gw[1])
        torch.mm(x.t(), gr[0], out=gw[0])
        torch.mm(gr[2], w[2].t(), out=gr[1])
        torch.mm(gr[1], w[1].t(), out=gr[0])

    return floor


def numpy_floor_fn(batch):
    rng = np.random.default_rng(2)
    w = [rng.uniform(-0.5, 0.5, (DIMS[i], DIMS[i + 1])).astype(np.float32) for i in range(3)]
    gw = [np.zeros((DIMS[i], DIMS[i + 1]), np.float32) for i in range(3)]
    x = rng.uniform(-1, 1, (batch, DIMS[0])).astype(np.float32)
    h = [np.zeros((batch, DIMS[i]), np.float32) for i in range(1, 4)]
    gr = [np.full((batch, DIMS[i]), 1e-3, np.float32) for i in range(1, 4)]

    def floor():
        np.matmul(x, w[0], out=h[0])
        np.matmul(h[0], w[1], out=h[1])
        np.matmul(h[1], w[2], out=h[2])
        np.matmul(h[1].T, gr[2], out=gw[2])
        np.matmul(h[0].T, gr[1], out=gw[1])
        np.matmul(x.T, gr[0], out=gw[0])
        np.matmul(gr[2], w[2].T, out=gr[1])
        np.matmul(gr[1], w[1].T, out=gr[0])

    return floor


def reference_round(cpu, seconds):
    """{benchmark id: ns per call} for the PyTorch steps and both floors."""
    out = {}
    for b in BATCHES:
        out[f"torch_floor_batch_{b}"] = median_ns(torch_floor_fn(b), cpu, seconds)
        out[f"numpy_floor_batch_{b}"] = median_ns(numpy_floor_fn(b), cpu, seconds)
        out[f"batch_{b}"] = median_ns(step_fn(b, 0.0, 0.0), cpu, seconds)
        out[f"batch_{b}_dropout_l2"] = median_ns(step_fn(b, 0.2, 1e-4), cpu, seconds)
    return out


def rust_round(cpu, seconds, binary, samples):
    """Runs the Rust bench once (through cargo, or the already built bench
    executable `binary`) and returns {benchmark id: median ns}."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    if cpu:
        env["BENCH_CPU_TIME"] = "1"
    home = tempfile.mkdtemp(prefix="criterion-")
    env["CRITERION_HOME"] = home
    args = ["mlp_train_step", "--warm-up-time", "1", "--measurement-time", str(seconds),
            "--sample-size", str(samples), "--noplot"]
    if binary:
        cmd = [binary, "--bench"] + args
    else:
        cmd = ["cargo", "bench", "--bench", "train", "--"] + args
    subprocess.run(cmd, cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
    out = {}
    for b in BATCHES:
        for name in (f"matmul_floor_batch_{b}", f"batch_{b}", f"batch_{b}_dropout_l2"):
            path = os.path.join(home, "mlp_train_step", name, "new", "estimates.json")
            with open(path) as f:
                out[name] = json.load(f)["median"]["point_estimate"]
    return out


def rate(batch, ns):
    return batch * 1e9 / ns


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpu-time", action="store_true", help="time thread CPU, not wall")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=3.0, help="per benchmark per round")
    ap.add_argument("--sample-size", type=int, default=30, help="criterion samples per Rust benchmark")
    ap.add_argument("--with-rust", action="store_true", help="interleave the Rust bench")
    ap.add_argument("--rust-bin", action="append", default=[],
                    help="an already built train bench executable (repeat to compare builds; implies --with-rust)")
    args = ap.parse_args()
    bins = args.rust_bin or ([None] if args.with_rust else [])
    print(f"torch {torch.__version__}, numpy {np.__version__}, threads {torch.get_num_threads()}, "
          f"{'thread CPU time' if args.cpu_time else 'wall time'}", file=sys.stderr)
    rounds = []
    for r in range(args.rounds):
        rust = [rust_round(args.cpu_time, args.seconds, b, args.sample_size) for b in bins]
        ref = reference_round(args.cpu_time, args.seconds)
        rounds.append((rust, ref))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    def ref(key):
        return statistics.median(rd[1][key] for rd in rounds)

    def rust(i, key):
        return statistics.median(rd[0][i][key] for rd in rounds)

    head = "| benchmark | PyTorch step samples/s | torch.mm floor | numpy floor |"
    for i, b in enumerate(bins):
        tag = f" ({os.path.basename(b)})" if b else ""
        head += f" speechfront{tag} step | floor | step ratio per round | median ratio |"
    print(head)
    print("|" + " --- |" * (4 + 4 * len(bins)))
    for b in BATCHES:
        for suffix in ("", "_dropout_l2"):
            key = f"batch_{b}{suffix}"
            line = (f"| {key} | {rate(b, ref(key)):,.0f} | {rate(b, ref(f'torch_floor_batch_{b}')):,.0f} "
                    f"| {rate(b, ref(f'numpy_floor_batch_{b}')):,.0f} |")
            for i in range(len(bins)):
                ratios = [rd[1][key] / rd[0][i][key] for rd in rounds]
                line += (f" {rate(b, rust(i, key)):,.0f} | {rate(b, rust(i, f'matmul_floor_batch_{b}')):,.0f} "
                         f"| {' / '.join(f'{q:.2f}' for q in ratios)} | **{statistics.median(ratios):.2f}** |")
            print(line)


if __name__ == "__main__":
    main()
