"""Throughput of speechfront.extract under dask.distributed: 2 worker processes vs 1.

    python benches/python/dask_throughput.py [FOLDER] [--out DIR]

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
import tempfile
import time

import distributed

import speechfront as sf


def extract_chunk(paths, out):
    s = sf.extract(paths, out, "kaldi", jobs=1, progress=False)
    return s.extracted, s.failed, s.audio_seconds


def run(n_workers, files, out_root, chunk=100):
    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40)
    client = distributed.Client(cluster)
    client.run(lambda: __import__("speechfront").Frontend("kaldi"))  # import in every worker
    startup = time.perf_counter() - t0
    chunks = [files[i : i + chunk] for i in range(0, len(files), chunk)]
    outs = [str(out_root / f"w{n_workers}" / f"c{i:04d}") for i in range(len(chunks))]
    t1 = time.perf_counter()
    res = client.gather(client.map(extract_chunk, chunks, outs, pure=False))
    wall = time.perf_counter() - t1
    client.close()
    cluster.close()
    done = sum(r[0] for r in res)
    assert done == len(files) and all(r[1] == 0 for r in res), res
    return wall, startup, sum(r[2] for r in res)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", nargs="?", default=os.environ.get("SPEECHFRONT_FSDD", "../shared/data/fsdd"))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    files = [str(p) for p in sorted(pathlib.Path(args.folder).rglob("*.wav"))]
    out_root = pathlib.Path(args.out or tempfile.mkdtemp(prefix="sf-dask-", dir="/var/tmp"))
    results = {}
    for n in (1, 2):
        wall, startup, audio = run(n, files, out_root)
        results[n] = wall
        print(f"{n} worker(s): {len(files)} files in {wall:.2f} s = {len(files) / wall:.0f} files/s "
              f"({audio / wall:.0f}x real time); cluster start {startup:.1f} s", flush=True)
    print(f"2 workers / 1 worker throughput: {results[1] / results[2]:.2f}x")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    per_file = results[1] / len(files)
    print(f"per-file cost (1 worker): {per_file * 1e3:.2f} ms")
    if not args.out:
        shutil.rmtree(out_root, ignore_errors=True)


if __name__ == "__main__":
    main()
