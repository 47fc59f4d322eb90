"""examples/python/ray_extract.py runs to the end and writes what Frontend computes.

Runs only where ray (with Ray Data) and soundfile are installed; CI does not
install them. The example once hung on 2-core machines (an actor pool that
held every CPU, so the read tasks feeding it never ran): the timeout turns a
hang into a failure.
"""

import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import speechfront as sf
from conftest import CORPUS, read_wav

pytest.importorskip("ray.data", reason="ray[data] not installed")
pytest.importorskip("soundfile", reason="soundfile not installed")

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python" / "ray_extract.py"


def test_ray_example_writes_the_frontend_features_of_every_file(tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    files = sorted((CORPUS / "digits").glob("*.wav"))[:30]
    for i, f in enumerate(files):
        shutil.copy(f, (src / "sub" if i % 2 else src) / f.name)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(EXAMPLE), str(src), str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"{len(files)} files" in r.stdout
    fe = sf.Frontend("kaldi", feature="fbank", num_bins=80, dither=0.0)
    written = sorted(out.rglob("*.npy"))
    assert len(written) == len(files)
    for wav in sorted(src.rglob("*.wav")):
        y, sr = read_wav(wav)
        got = np.load(out / wav.relative_to(src).with_suffix(".npy"))
        np.testing.assert_array_equal(got, fe(y, sr))
