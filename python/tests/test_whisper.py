"""The whisper preset against openai-whisper's own log_mel_spectrogram (fixtures)."""

import numpy as np
import pytest

import speechfront as sf
from conftest import FIXTURES, read_wav, run_cli


@pytest.mark.parametrize("n_mels", [80, 128])
def test_whisper_log_mel_matches_openai_whisper(n_mels, speech16):
    y, sr = speech16
    want = np.load(FIXTURES / f"whisper_logmel{n_mels}_16k.npy")
    got = sf.fbank(y, sr, "whisper", num_bins=n_mels)
    assert got.shape == want.shape
    # The stated bound on the normalised log-mel (see tests/parity.rs).
    assert np.abs(got - want).max() <= 1e-4
    assert np.array_equal(got, sf.whisper_log_mel(y, sr, n_mels=n_mels))


def test_whisper_from_the_cli_is_the_same_array(tmp_path, speech16):
    y, sr = speech16
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "s.wav").write_bytes((FIXTURES / "speech_16k.wav").read_bytes())
    run_cli("extract", tmp_path / "in", "--out", tmp_path / "out", "--preset", "whisper", "--feature", "fbank")
    assert np.array_equal(np.load(tmp_path / "out" / "s.npy"), sf.fbank(y, sr, "whisper"))


def test_whisper_needs_16k_only_for_whisper_log_mel():
    with pytest.raises(ValueError, match="16000"):
        sf.whisper_log_mel(np.zeros(8000, np.float32), 8000)
