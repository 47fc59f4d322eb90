"""speechfront on a Dask cluster: features of many files, one task per chunk.

    python examples/python/dask_extract.py IN_DIR OUT_DIR [--workers 2]

Runs speechfront.extract (the CLI's batch extraction: .npy per file plus a
manifest.tsv) on chunks of the input files, one chunk per task and one
output folder per chunk, on a LocalCluster. Swap the LocalCluster for any
dask.distributed cluster (dask-jobqueue's SLURMCluster / PBSCluster, a
Kubernetes cluster, ...) and nothing else changes: the Frontend and the
extract call pickle to the workers, and each releases the GIL.
(Tested in python/tests/test_dask.py; measured in docs/python.md.)
"""

import argparse
import pathlib

import distributed

import speechfront as sf


def extract_chunk(paths, out, frontend):
    s = sf.extract(paths, out, frontend, jobs=1, progress=False)
    return s.extracted, s.failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inputs")
    ap.add_argument("out")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=200)
    args = ap.parse_args()
    files = sorted(str(p) for p in pathlib.Path(args.inputs).rglob("*.wav"))
    fe = sf.Frontend("kaldi", feature="fbank", num_bins=80, dither=0.0)
    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1) as cluster, distributed.Client(cluster) as client:
        chunks = [files[i : i + args.chunk] for i in range(0, len(files), args.chunk)]
        outs = [f"{args.out}/part{i:05d}" for i in range(len(chunks))]
        futures = client.map(extract_chunk, chunks, outs, [fe] * len(chunks), pure=False)
        total = 0
        for done, failures in client.gather(futures):
            total += done
            for path, reason in failures:
                print(f"{path}: {reason}")
    print(f"extracted {total} of {len(files)}")


if __name__ == "__main__":
    main()
