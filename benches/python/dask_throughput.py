"""Throughput of speechfront.extract under dask.distributed: 2 worker processes vs 1.

    python benches/python/dask_throughput.py [FOLDER] [--out DIR] [--rounds N]

FOLDER defaults to $SPEECHFRONT_FSDD, else ../shared/data/fsdd (FSDD,
2,500 WAVs). For each worker count (1, then 2) a LocalCluster with that
many single-threaded worker processes runs speechfront.extract (Kaldi MFCC,
the CLI's defaults, jobs=1 per task) over the files in chunks of 100, one
task per chunk, each writing its own output folder under --out (default: a
temporary folder on the ordinary disk). Timed: from submitting the tasks to
the last result, with the cluster already started (start-up is reported
apart). Prints files/s for each count and the ratio.
"""

import argparse
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

import distributed
import psutil

import speechfront as sf

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from machine_load import Others  # noqa: E402


def extract_chunk(paths, out):
    s = sf.extract(paths, out, "kaldi", jobs=1, progress=False)
    return s.extracted, s.failed, s.audio_seconds


def start(n_workers):
    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40)
    client = distributed.Client(cluster)
    client.run(lambda: __import__("speechfront").Frontend("kaldi"))  # import in every worker
    return cluster, client, time.perf_counter() - t0


def run(client, files, out_root, chunk=100):
    chunks = [files[i : i + chunk] for i in range(0, len(files), chunk)]
    outs = [str(out_root / f"c{i:04d}") for i in range(len(chunks))]
    t1 = time.perf_counter()
    res = client.gather(client.map(extract_chunk, chunks, outs, pure=False))
    wall = time.perf_counter() - t1
    done = sum(r[0] for r in res)
    assert done == len(files) and all(r[1] == 0 for r in res), res
    return wall, sum(r[2] for r in res)


def own_pids():
    me = psutil.Process()
    return [me.pid] + [c.pid for c in me.children(recursive=True)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", nargs="?", default=os.environ.get("SPEECHFRONT_FSDD", "../shared/data/fsdd"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--quiet", type=float, default=0.1, help="a round is quiet when other processes used under this many cores")
    args = ap.parse_args()
    files = [str(p) for p in sorted(pathlib.Path(args.folder).rglob("*.wav"))]
    out_root = pathlib.Path(args.out or tempfile.mkdtemp(prefix="sf-dask-", dir="/var/tmp"))
    clusters = {n: start(n) for n in (1, 2)}
    for n, (_, _, startup) in clusters.items():
        print(f"{n} worker(s): cluster start {startup:.1f} s", flush=True)
    others = Others(own_pids)
    walls, load = {1: [], 2: []}, []
    for r in range(args.rounds):
        others.start(time.perf_counter())
        for n, (_, client, _) in clusters.items():
            dest = out_root / f"r{r:03d}-w{n}"
            wall, audio = run(client, files, dest)
            walls[n].append(wall)
            print(f"round {r}: {n} worker(s): {len(files)} files in {wall:.2f} s = {len(files) / wall:.0f} files/s "
                  f"({audio / wall:.0f}x real time)", flush=True)
            shutil.rmtree(dest, ignore_errors=True)
        load.append(others.stop(time.perf_counter()))
        print(f"round {r}: 2 workers / 1 worker throughput {walls[1][-1] / walls[2][-1]:.2f}x; "
              f"other processes {load[-1]:.2f} cores", flush=True)
    for _, client, _ in clusters.values():
        cluster = client.cluster
        client.close()
        cluster.close()

    def report(idx, what):
        ratios = [walls[1][i] / walls[2][i] for i in idx]
        per_file = statistics.median(walls[1][i] for i in idx) / len(files)
        print(f"{what}: 2 workers / 1 worker throughput median {statistics.median(ratios):.2f}x "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f}) over {len(idx)} rounds; "
              f"per-file cost (1 worker, median) {per_file * 1e3:.3f} ms")

    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; other processes per round: "
          f"median {statistics.median(load):.2f} cores (min {min(load):.2f}, max {max(load):.2f})")
    report(range(args.rounds), "all rounds")
    quiet = [i for i, x in enumerate(load) if x < args.quiet]
    if quiet:
        report(quiet, f"quiet rounds (other processes under {args.quiet} cores)")
    else:
        print(f"no quiet round (other processes under {args.quiet} cores)")
    if not args.out:
        shutil.rmtree(out_root, ignore_errors=True)


if __name__ == "__main__":
    main()
