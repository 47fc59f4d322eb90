"""Frontend and extract under a dask.distributed LocalCluster (2 worker processes)."""

import filecmp
import shutil

import numpy as np
import pytest

import speechfront as sf
from conftest import CORPUS, read_wav, run_cli

distributed = pytest.importorskip("distributed", reason="dask.distributed not installed")


def features_of(fe, path):
    y, sr = read_wav(path)
    return fe(y, sr)


def extract_chunk(paths, out, fe):
    s = sf.extract(paths, out, fe, jobs=1)
    return s.extracted, s.failed


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_frontend_and_extract_on_two_worker_processes_match_the_cli(tmp_path, client):
    src = tmp_path / "in"
    src.mkdir()
    files = sorted((CORPUS / "digits").glob("*.wav"))[:40]
    for f in files:
        shutil.copy(f, src / f.name)
    run_cli("extract", src, "--out", tmp_path / "cli", "--dither", "0")

    fe = sf.Frontend("kaldi", dither=0.0)
    inputs = sorted(src.glob("*.wav"))
    # 1. The Frontend itself, pickled to the workers.
    arrays = client.gather(client.map(features_of, [fe] * len(inputs), inputs))
    pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert len(pids) == 2
    for path, a in zip(inputs, arrays):
        assert np.array_equal(a, np.load(tmp_path / "cli" / (path.stem + ".npy")))
    # 2. Batch extract, one chunk of files per task, into one output folder
    #    per task (each run writes its own manifest).
    chunks = [inputs[i::4] for i in range(4)]
    outs = [tmp_path / f"dask{i}" for i in range(4)]
    done = client.gather(client.map(extract_chunk, chunks, outs, [fe] * 4))
    assert sum(d[0] for d in done) == len(inputs) and all(d[1] == 0 for d in done)
    for chunk, out in zip(chunks, outs):
        for path in chunk:
            name = path.stem + ".npy"
            assert filecmp.cmp(out / name, tmp_path / "cli" / name, shallow=False), name
