"""load_model: a model saved by `speechfront train`, predicting as `speechfront evaluate`."""

import json
import shutil

import numpy as np
import pytest

import speechfront as sf
from conftest import CORPUS, read_wav, run_cli

CONFIG = """
name = "tiny"
preset = "kaldi"
feature = "mfcc"
sample_rate_hz = 8000

[frontend]
post = { deltas = true, cmvn = "mean" }

[input]
mode = "context"
context = 2
trim_silence = true

[classifier]
hidden = [32]
activation = "relu"

[train]
epochs = 3
batch_size = 256
lr = 1e-3
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("model")
    files = sorted((CORPUS / "digits").glob("*.wav"))
    train, test = tmp / "train", tmp / "test"
    train.mkdir()
    test.mkdir()
    for i, f in enumerate(files[::3]):
        shutil.copy(f, (test if i % 5 == 0 else train) / f.name)
    cfg = tmp / "tiny.toml"
    cfg.write_text(CONFIG)  # Kaldi's dither 1.0 stays on: keys must match evaluate's seeds
    model = tmp / "tiny.safetensors"
    run_cli("train", "--data", train, "--config", cfg, "--seed", "1", "--model-out", model)
    return model, test


def test_predict_equals_evaluate(trained):
    model_path, test = trained
    r = run_cli("evaluate", "--model", model_path, "--data", test, "--json")
    want = json.loads(r.stdout.strip().splitlines()[-1])
    m = sf.load_model(model_path)
    assert m.classes == want["classes"] and m.sample_rate == 8000
    n = len(m.classes)
    conf = np.zeros((n, n), dtype=int)
    files = sorted(test.glob("*.wav"))
    for f in files:
        y, sr = read_wav(f)
        label = f.name.split("_")[0]  # FSDD naming: digit_speaker_take.wav
        pred = m.predict(y, sr, key=f.name)
        p = m.predict_proba(y, sr, key=f.name)
        assert p.shape == (n,) and abs(float(p.sum()) - 1.0) < 1e-4
        assert m.classes[int(np.argmax(p))] == pred
        conf[m.classes.index(label), m.classes.index(pred)] += 1
    assert want["n"] == len(files)
    assert conf.tolist() == want["confusion"]
    assert abs(np.trace(conf) / len(files) - want["accuracy"]) < 1e-12


def test_features_and_bad_input(trained):
    model_path, test = trained
    m = sf.load_model(model_path)
    y, sr = read_wav(sorted(test.glob("*.wav"))[0])
    f = m.features(y, sr, key="x.wav")
    assert f.dtype == np.float32 and f.shape[1] == 39  # 13 MFCC + deltas
    assert np.array_equal(f, m.features(y, sr, key="x.wav"))
    with pytest.raises(ValueError, match="sample_rate_hz \\(8000\\)"):
        m.predict(y, 16000)
    with pytest.raises(TypeError):
        m.predict(list(y), sr)
    with pytest.raises(OSError, match="nope.safetensors"):
        sf.load_model(test / "nope.safetensors")
