"""OnlineFrontend: chunked input gives the whole-signal numbers."""

import numpy as np
import pytest

import speechfront as sf

CASES = [
    ("kaldi", {"feature": "mfcc"}),  # dithered (seeded), snip_edges
    ("kaldi", {"feature": "fbank", "edges": "kaldi", "dither": 0.0}),  # mirrored end frames
    ("librosa", {"feature": "mfcc"}),  # top_db: ready only at the end
    ("librosa", {"feature": "fbank", "top_db": None}),
]


@pytest.mark.parametrize("preset,options", CASES)
@pytest.mark.parametrize("chunk", [1, 160, 1234, 10**6])
def test_streaming_equals_whole_signal(preset, options, chunk, speech16):
    y, sr = speech16
    if chunk == 1:
        y = y[:3000]
    opts = {k: v for k, v in options.items() if v is not None}
    feature = opts.pop("feature")
    if options.get("top_db", 0) is None:
        opts["compress"] = {"kind": "db"}  # keep dB, drop top_db by not setting it
    fe = sf.Frontend(preset, feature=feature, seed=9, **opts)
    whole = fe(y, sr)
    on = fe.online(sr)
    got = []
    for i in range(0, len(y), chunk):
        on.accept_waveform(y[i : i + chunk])
        n = on.num_frames_ready - sum(len(g) for g in got)
        if n:
            got.append(on.get_frames(sum(len(g) for g in got), n))
    on.input_finished()
    done = sum(len(g) for g in got)
    got.append(on.get_frames(done, on.num_frames_ready - done))
    streamed = np.concatenate(got)
    assert streamed.shape == whole.shape
    assert np.array_equal(streamed, whole)


def test_snip_edges_frames_are_ready_early():
    on = sf.OnlineFrontend("kaldi", 16000, dither=0.0)
    on.accept_waveform(np.zeros(400, np.float32))
    assert on.num_frames_ready == 1
    on.accept_waveform(np.zeros(1600, np.int16))
    assert on.num_frames_ready == 11
    assert on.get_frame(10).shape == (13,)


def test_misuse_raises():
    on = sf.OnlineFrontend("kaldi", 16000)
    on.accept_waveform(np.zeros(1000, np.float32))
    with pytest.raises(ValueError, match="past the 4 frames ready"):
        on.get_frames(0, 5)
    with pytest.raises(TypeError):
        on.accept_waveform([0.0, 1.0])
    on.input_finished()
    assert on.is_finished
    with pytest.raises(ValueError, match="after input_finished"):
        on.accept_waveform(np.zeros(10, np.float32))
