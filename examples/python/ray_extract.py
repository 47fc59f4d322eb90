"""speechfront in a Ray Data pipeline (an example; ray is not installed in CI).

    pip install "ray[data]" soundfile
    python examples/python/ray_extract.py IN_DIR OUT_DIR

ray.data.read_binary_files reads the WAV files as bytes (with their paths);
map_batches decodes each batch and computes log-mel features with one
speechfront Frontend per worker (a callable class, built once per actor);
the features are written as one .npy per input, under the same relative
path as the CLI's `extract` would. The GIL is released while speechfront
computes, so a worker with several threads still scales.
"""

import io
import pathlib
import sys

import numpy as np
import ray
import soundfile

import speechfront as sf


class Features:
    def __init__(self, root: str, out: str):
        self.fe = sf.Frontend("kaldi", feature="fbank", num_bins=80, dither=0.0)
        self.root, self.out = pathlib.Path(root), pathlib.Path(out)

    def __call__(self, batch):
        frames = []
        for path, data in zip(batch["path"], batch["bytes"]):
            y, sr = soundfile.read(io.BytesIO(data), dtype="float32")  # (samples[, channels])
            feats = self.fe(y, sr)  # 2-D input is averaged as the CLI does
            rel = pathlib.Path(path).relative_to(self.root).with_suffix(".npy")
            dest = self.out / rel
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
    result = ds.map_batches(Features, fn_constructor_args=(root, out), batch_size=64, concurrency=2)
    total = sum(r["frames"] for r in result.iter_rows())
    print(f"{result.count()} files, {total} frames")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
