"""Shared helpers for the Python tests: repository paths, WAV reading, the CLI."""

import os
import pathlib
import shutil
import subprocess
import wave

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
CORPUS = REPO / "audio"


def read_wav(path):
    """(int16 samples, rate) of a 16-bit mono WAV, with the standard library only."""
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2, path
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        ch = w.getnchannels()
        rate = w.getframerate()
    if ch > 1:
        data = data.reshape(-1, ch)
    return data.copy(), rate


def cli_binary():
    """The CLI built from this checkout (tools/test-all builds it first)."""
    env = os.environ.get("SPEECHFRONT_BIN")
    if env:
        return env
    for profile in ("release", "debug"):
        p = REPO / "target" / profile / "speechfront"
        if p.exists():
            return str(p)
    found = shutil.which("speechfront")
    if found:
        return found
    pytest.skip("speechfront CLI not built (cargo build --release)")


def run_cli(*args, check=True):
    return subprocess.run([cli_binary(), *map(str, args)], capture_output=True, text=True, check=check)


@pytest.fixture
def speech16():
    y, sr = read_wav(FIXTURES / "speech_16k.wav")
    return y, sr


@pytest.fixture
def speech8():
    y, sr = read_wav(FIXTURES / "speech_8k.wav")
    return y, sr
