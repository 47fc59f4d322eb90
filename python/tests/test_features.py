"""mfcc / fbank / spectrogram and Frontend: parity, inputs, options, pickling, threads."""

import concurrent.futures as cf
import pickle

import numpy as np
import pytest

import speechfront as sf
from conftest import FIXTURES, REPO, read_wav, run_cli

# Tolerances are those of tests/parity.rs (see tests/fixtures/README.md for
# where each difference comes from): the Python call runs the same library
# code, so the same bounds must hold.
PARITY = [
    ("kaldi", "mfcc", "kaldi_mfcc", {}, 2e-3),
    ("kaldi", "fbank", "kaldi_fbank", {}, 1e-3),
    ("kaldi", "mfcc", "kaldi_mfcc_nosnip", {"edges": "kaldi"}, 2e-3),
    ("librosa", "mfcc", "librosa_mfcc", {}, 1e-2),
    ("librosa", "fbank", "librosa_melspec_db", {}, 2e-2),
]


@pytest.mark.parametrize("preset,feature,prefix,extra,tol", PARITY)
@pytest.mark.parametrize("tag", ["8k", "16k"])
def test_parity_with_reference_fixtures(preset, feature, prefix, extra, tol, tag):
    y, sr = read_wav(FIXTURES / f"speech_{tag}.wav")
    want = np.load(FIXTURES / f"{prefix}_{tag}.npy")
    fn = {"mfcc": sf.mfcc, "fbank": sf.fbank}[feature]
    got = fn(y, sr, preset, dither=0.0, **extra)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.abs(got - want).max() <= tol


def test_int16_float32_float64_and_strides_agree(speech16):
    y, sr = speech16
    base = sf.mfcc(y, sr, dither=0.0)
    f32 = (y / 32768.0).astype(np.float32)
    assert np.array_equal(sf.mfcc(f32, sr, dither=0.0), base)
    # float64 rounds to the same float32 values (y / 32768 is exact in both).
    assert np.array_equal(sf.mfcc(f32.astype(np.float64), sr, dither=0.0), base)
    # Non-contiguous views: every other sample of a doubled buffer, reversed twice.
    doubled = np.repeat(f32, 2)[::2]
    assert not doubled.flags["C_CONTIGUOUS"]
    assert np.array_equal(sf.mfcc(doubled, sr, dither=0.0), base)
    assert np.array_equal(sf.mfcc(f32[::-1][::-1], sr, dither=0.0), base)


def test_stereo_is_averaged_like_the_cli(tmp_path, speech16):
    y, sr = speech16
    left = y
    right = (y // 2).astype(np.int16)
    stereo = np.stack([left, right], axis=1)  # (samples, channels)
    mono = ((left / 32768.0).astype(np.float32) + (right / 32768.0).astype(np.float32)) * np.float32(0.5)
    got = sf.fbank(stereo, sr, dither=0.0)
    assert np.array_equal(got, sf.fbank(mono, sr, dither=0.0))
    # Same numbers as the CLI on the stereo WAV.
    import wave

    wav = tmp_path / "in" / "stereo.wav"
    wav.parent.mkdir()
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(stereo.astype("<i2").tobytes())
    run_cli("extract", wav.parent, "--out", tmp_path / "out", "--feature", "fbank", "--dither", "0")
    cli = np.load(tmp_path / "out" / "stereo.npy")
    assert np.array_equal(got, cli)


def test_channels_first_input_is_refused_clearly():
    with pytest.raises(ValueError, match=r"\(samples, channels\)"):
        sf.mfcc(np.zeros((2, 16000), np.float32), 16000)


@pytest.mark.parametrize(
    "y,exc,match",
    [
        ([0.0] * 1000, TypeError, "numpy.ndarray"),
        (np.zeros(1000, np.int32), TypeError, "int32"),
        (np.zeros(1000, np.complex64), TypeError, "complex64"),
        (np.zeros((10, 10, 10), np.float32), ValueError, "3-D"),
        (np.zeros((1000, 0), np.float32), ValueError, "no channels"),
        (np.array([0.0, np.nan, 0.0] * 300, np.float32), ValueError, "non-finite"),
        (np.array([np.inf] * 500), ValueError, "index 0"),
    ],
)
def test_bad_arrays_raise(y, exc, match):
    with pytest.raises(exc, match=match):
        sf.mfcc(y, 16000)


@pytest.mark.parametrize("sr", [0, -8000, 16000.5, True, "16k"])
def test_bad_rates_raise(sr):
    with pytest.raises((ValueError, TypeError), match="sr"):
        sf.mfcc(np.zeros(1000, np.float32), sr)


@pytest.mark.parametrize(
    "options,match",
    [
        ({"dither": -1.0}, r"frame\.dither \(-1"),
        ({"num_ceps": 40}, r"dct\.num_ceps \(40\) > mel\.num_bins \(23\)"),
        ({"dither": "a"}, r"frame\.dither \('a'\): invalid type"),
        ({"frame": {"ditherr": 1.0}}, r"frame .*unknown field `ditherr`"),
        ({"nonsense": 1}, r"unknown option `nonsense` \(1\)"),
        ({"kind": "sine"}, r"`kind` \('sine'\)|kind \('sine'\)"),
        ({"high_freq_hz": 9000.0}, r"high_freq_hz \(9000"),
        ({"num_bins": None}, r"num_bins \(None\)"),
        ({"feature": "cepstrum"}, r"feature"),
    ],
)
def test_bad_options_raise_value_error_naming_field_and_value(options, match):
    with pytest.raises(ValueError, match=match):
        sf.Frontend("kaldi", **options)


def test_keywords_reach_the_same_options_as_a_toml_config(tmp_path, speech16):
    y, sr = speech16
    cfg = tmp_path / "fe.toml"
    cfg.write_text(
        'preset = "kaldi"\n[frontend]\nfeature = "fbank"\n'
        'frame = { dither = 0.0, frame_shift_ms = 12.5 }\nmel = { num_bins = 40, low_freq_hz = 64.0 }\n'
        'window = { kind = "hamming" }\n'
    )
    from_file = sf.Frontend(str(cfg))
    flat = sf.Frontend("kaldi", feature="fbank", dither=0.0, frame_shift_ms=12.5, num_bins=40, low_freq_hz=64.0, kind="hamming")
    nested = sf.Frontend(
        "kaldi", feature="fbank", frame={"dither": 0.0, "frame_shift_ms": 12.5}, mel={"num_bins": 40, "low_freq_hz": 64.0}, window={"kind": "hamming"}
    )
    a = from_file(y, sr)
    assert a.shape[1] == 40
    assert np.array_equal(a, flat(y, sr))
    assert np.array_equal(a, nested(y, sr))
    assert from_file.options(sr) == flat.options(sr)
    # And the CLI with that config writes the same array.
    wav_dir = tmp_path / "in"
    wav_dir.mkdir()
    (wav_dir / "s.wav").write_bytes((FIXTURES / "speech_16k.wav").read_bytes())
    run_cli("extract", wav_dir, "--out", tmp_path / "out", "--config", cfg)
    assert np.array_equal(np.load(tmp_path / "out" / "s.npy"), a)


def test_spectrogram_and_dims(speech16):
    y, sr = speech16
    s = sf.spectrogram(y, sr, dither=0.0)
    assert s.shape == (sf.Frontend("kaldi", feature="spectrogram").num_frames(len(y), sr), 257)
    assert sf.Frontend("librosa").dims() == 20
    assert sf.Frontend("kaldi", feature="fbank", deltas=True).dims() == 69


def test_short_and_empty_signals_give_zero_frames():
    assert sf.mfcc(np.zeros(0, np.float32), 16000).shape == (0, 13)
    assert sf.mfcc(np.zeros(399, np.float32), 16000).shape == (0, 13)


def test_dither_is_seeded():
    y = (np.sin(np.arange(16000) * 0.05) * 0.1).astype(np.float32)
    a = sf.mfcc(y, 16000, seed=3)
    assert np.array_equal(a, sf.mfcc(y, 16000, seed=3))
    assert not np.array_equal(a, sf.mfcc(y, 16000, seed=4))
    assert not np.array_equal(a, sf.mfcc(y, 16000, dither=0.0))


def test_rate_fixed_by_the_config_is_checked():
    fe = sf.Frontend("kaldi", sample_rate_hz=8000)
    assert fe(np.zeros(8000, np.float32), 8000).shape == (98, 13)
    with pytest.raises(ValueError, match="sr \\(16000\\) differs"):
        fe(np.zeros(8000, np.float32), 16000)


def test_pickle_round_trip_keeps_options_and_numbers(speech8):
    y, sr = speech8
    fe = sf.Frontend("librosa", feature="fbank", seed=5, num_bins=64, top_db=60.0)
    fe2 = pickle.loads(pickle.dumps(fe))
    assert isinstance(fe2, sf.Frontend)
    assert repr(fe2) == repr(fe) and fe2.seed == 5
    assert fe2.options(sr) == fe.options(sr)
    assert np.array_equal(fe2(y, sr), fe(y, sr))
    fe3 = pickle.loads(pickle.dumps(sf.Frontend("kaldi", sample_rate_hz=8000)))
    with pytest.raises(ValueError, match="differs"):
        fe3(y, 16000)


def test_thread_pool_gives_the_serial_arrays():
    files = sorted((REPO / "audio" / "digits").glob("*.wav"))[:60]
    signals = [read_wav(f) for f in files]
    fe = sf.Frontend("kaldi", seed=1)  # dithered: per-call seeded, order-free
    serial = [fe(y, sr) for y, sr in signals]
    with cf.ThreadPoolExecutor(max_workers=4) as ex:
        threaded = list(ex.map(lambda s: fe(*s), signals))
    assert len(threaded) == len(serial)
    for a, b in zip(serial, threaded):
        assert np.array_equal(a, b)


def test_map_over_many_signals_equals_one_call_each():
    files = sorted((REPO / "audio" / "digits").glob("*.wav"))[:40]
    ys = [read_wav(f)[0] for f in files]
    fe = sf.Frontend("kaldi", seed=2)
    for jobs in (0, 1, 2):
        got = fe.map(ys, 8000, jobs=jobs)
        assert len(got) == len(ys)
        assert all(np.array_equal(a, fe(y, 8000)) for a, y in zip(got, ys))
    with pytest.raises(TypeError):
        fe.map([ys[0], [1.0, 2.0]], 8000)
