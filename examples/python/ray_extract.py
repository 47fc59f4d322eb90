"""speechfront in a Ray Data pipeline (an example; ray is not installed in CI).

    pip install "ray[data]" soundfile
    python examples/python/ray_extract.py IN_DIR OUT_DIR

ray.data.read_binary_files reads the WAV files as bytes (with their paths);
map_batches decodes each batch and computes log-mel features with
speechfront, as Ray tasks (a function, not an actor pool): each worker
process builds its Frontend once, on its first batch, and keeps it. The
features are written as one .npy per input, under the same relative path
as the CLI's `extract` would. The GIL is released while speechfront
computes, so a worker with several threads still scales.

Tasks rather than a fixed pool of actors: an actor pool of one actor per
core (`concurrency=2` on 2 cores) holds every CPU, so the read tasks that
feed it can never be scheduled and the pipeline waits forever; tasks hand
their CPU back after each batch.
"""

import io
import pathlib
import sys

import numpy as np
import ray
import soundfile

import speechfront as sf


_FRONTEND = None  # one per Ray worker process, built on first use


def features(batch, root: str, out: str):
    global _FRONTEND
    if _FRONTEND is None:
        _FRONTEND = sf.Frontend("kaldi", feature="fbank", num_bins=80, dither=0.0)
    root_p, out_p = pathlib.Path(root), pathlib.Path(out)
    frames = []
    for path, data in zip(batch["path"], batch["bytes"]):
        y, sr = soundfile.read(io.BytesIO(data), dtype="float32")  # (samples[, channels])
        feats = _FRONTEND(y, sr)  # 2-D input is averaged as the CLI does
        rel = pathlib.Path(path).relative_to(root_p).with_suffix(".npy")
        dest = out_p / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(".npy.tmp")
        with open(tmp, "wb") as f:
            np.save(f, feats)
        tmp.rename(dest)  # nothing half-written
        frames.append(len(feats))
    return {"path": batch["path"], "frames": np.array(frames)}


def main(inputs: str, out: str):
    ray.init()
    root = str(pathlib.Path(inputs).resolve())
    ds = ray.data.read_binary_files(root, include_paths=True, file_extensions=["wav"])
    result = ds.map_batches(features, fn_kwargs={"root": root, "out": out}, batch_size=64).materialize()
    total = int(result.sum("frames"))
    print(f"{result.count()} files, {total} frames")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
