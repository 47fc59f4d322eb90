"""speechfront.lhotse: a lhotse FeatureExtractor (runs when lhotse is installed)."""

import concurrent.futures as cf

import numpy as np
import pytest

import speechfront as sf
from conftest import CORPUS, read_wav

lhotse = pytest.importorskip("lhotse", reason="lhotse not installed (it needs torch)")


def cutset(n=12):
    from lhotse import CutSet, Recording, RecordingSet

    files = sorted((CORPUS / "digits").glob("*.wav"))[::50][:n]
    recs = RecordingSet.from_recordings(Recording.from_file(f) for f in files)
    return CutSet.from_manifests(recordings=recs), files


@pytest.mark.parametrize("executor", [None, "process"])
def test_compute_and_store_features_equals_speechfront(tmp_path, executor):
    from lhotse import NumpyFilesWriter

    from speechfront.lhotse import Speechfront, SpeechfrontConfig

    cuts, files = cutset()
    ex = Speechfront(SpeechfrontConfig(preset="kaldi", feature="fbank", sampling_rate=8000, options={"dither": 0.0, "edges": "kaldi", "num_bins": 20}))
    assert ex.feature_dim(8000) == 20 and ex.frame_shift == pytest.approx(0.01)
    pool = cf.ProcessPoolExecutor(2) if executor else None
    try:
        stored = cuts.compute_and_store_features(
            extractor=ex, storage_path=tmp_path / "feats", storage_type=NumpyFilesWriter, num_jobs=2 if pool else 1, executor=pool
        )
    finally:
        if pool:
            pool.shutdown()
    by_id = {c.recording_id: c for c in stored}
    for f in files:
        y, sr = read_wav(f)
        want = sf.fbank(y, sr, dither=0.0, edges="kaldi", num_bins=20)
        got = by_id[f.stem].load_features()
        assert got.shape == want.shape
        # lhotse decodes int16 to float32 / 32768 as a WAV decoder does.
        assert np.array_equal(got, want)
    assert stored[0].features.type == "speechfront"
