"""speechfront.extract: the CLI's batch extraction, from Python."""

import filecmp
import pathlib
import shutil

import numpy as np
import pytest

import speechfront as sf
from conftest import CORPUS, run_cli


def small_corpus(tmp_path, n=24):
    src = tmp_path / "in"
    src.mkdir()
    for f in sorted((CORPUS / "digits").glob("*.wav"))[:n]:
        shutil.copy(f, src / f.name)
    (src / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    return src


def same_tree(a: pathlib.Path, b: pathlib.Path, skip=("manifest.tsv",)):
    names_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    names_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert names_a == names_b
    for rel in names_a:
        if rel.name in skip:
            continue
        if rel.suffix == ".scp":  # holds the archive's path: the folders differ
            assert (a / rel).read_text().replace(str(a), "OUT") == (b / rel).read_text().replace(str(b), "OUT")
            continue
        assert filecmp.cmp(a / rel, b / rel, shallow=False), rel


@pytest.mark.parametrize("fmt", ["npy", "ark"])
def test_extract_matches_the_cli_byte_for_byte(tmp_path, fmt):
    src = small_corpus(tmp_path)
    s = sf.extract([src], tmp_path / "py", "librosa", format=fmt, feature="fbank", jobs=2, seed=3)
    r = run_cli("extract", src, "--out", tmp_path / "cli", "--preset", "librosa", "--format", fmt, "--feature", "fbank", "--jobs", "2", "--seed", "3", check=False)
    assert r.returncode == 1  # one file failed
    same_tree(tmp_path / "py", tmp_path / "cli", skip=())
    assert s.total == 25 and s.extracted == 24 and s.failed == 1 and not s.ok
    assert s.failures[0][0].endswith("broken.wav") and s.failures[0][1]
    assert f"extracted {s.extracted} of {s.total}; {s.failed} failed" in r.stdout


def test_extract_with_a_frontend_object_and_skip(tmp_path):
    src = small_corpus(tmp_path, 6)
    fe = sf.Frontend("kaldi", feature="mfcc", dither=0.0, num_ceps=20, num_bins=30)
    s = sf.extract(src, tmp_path / "o", fe)
    assert s.extracted == 6
    one = sorted((tmp_path / "o").glob("*.npy"))[0]
    from conftest import read_wav

    y, sr = read_wav(src / one.name.replace(".npy", ".wav"))
    assert np.array_equal(np.load(one), fe(y, sr))
    again = sf.extract(src, tmp_path / "o", fe)
    assert again.skipped == 6 and again.extracted == 0


def test_extract_bad_options_raise(tmp_path):
    with pytest.raises(ValueError, match="format"):
        sf.extract([], tmp_path, format="hdf5")
    with pytest.raises(ValueError, match="preset"):
        sf.extract([], tmp_path, "praat")
    with pytest.raises(ValueError, match="dither"):
        sf.extract([], tmp_path, dither=-1.0)
