"""speechfront: Kaldi-, librosa- and Whisper-exact speech features at native speed.

numpy in, numpy out. Every function returns ``np.ndarray`` float32 of shape
``(frames, dims)`` (the Kaldi/kaldiio convention the CLI writes).

    >>> import numpy as np, speechfront
    >>> y = np.zeros(16000, dtype=np.float32)
    >>> speechfront.mfcc(y, 16000, dither=0.0).shape
    (98, 13)

Options are the keys of the CLI's TOML ``[frontend]`` table, as keywords:
top-level keys (``feature``, ``sample_scale``, ``frame={...}``,
``mel={...}``, ...) or a field of one section by its own name
(``dither=0.0``, ``num_bins=40``, ``high_freq_hz=-400``); a bad name or
value raises ``ValueError`` naming it. See docs/python.md.

Inputs: 1-D float32/float64 arrays in [-1, 1) or int16 arrays (divided by
32768, as a WAV decoder does), any strides; 2-D ``(samples, channels)``
arrays are averaged as the CLI averages a multichannel file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, List, Tuple

from . import _native
from ._native import Frontend, Model, load_model

__all__ = [
    "Frontend",
    "Model",
    "load_model",
    "OnlineFrontend",
    "mfcc",
    "fbank",
    "spectrogram",
    "whisper_log_mel",
    "extract",
    "ExtractSummary",
    "__version__",
]

__version__ = _native.__version__


def _features(feature: str, y, sr, preset, seed: int, options: dict[str, Any]):
    return Frontend(preset, feature=feature, seed=seed, **options)(y, sr)


def mfcc(y, sr, preset="kaldi", *, seed: int = 0, **options):
    """MFCC ``(frames, n_ceps)`` float32 of ``y`` at ``sr`` Hz.

    ``preset`` is ``"kaldi"`` (compute-mfcc-feats defaults, dither 1.0 drawn
    from ``seed``), ``"librosa"`` (``librosa.feature.mfcc``), ``"whisper"``
    or a TOML config path. To call many times, build a ``Frontend`` once.
    """
    return _features("mfcc", y, sr, preset, seed, options)


def fbank(y, sr, preset="kaldi", *, seed: int = 0, **options):
    """Log-mel filterbank ``(frames, num_bins)`` float32 (see ``mfcc``)."""
    return _features("fbank", y, sr, preset, seed, options)


def spectrogram(y, sr, preset="kaldi", *, seed: int = 0, **options):
    """Log power spectrogram ``(frames, fft_size // 2 + 1)`` float32 (see ``mfcc``)."""
    return _features("spectrogram", y, sr, preset, seed, options)


def whisper_log_mel(y, sr=16000, *, n_mels: int = 80):
    """openai-whisper's ``log_mel_spectrogram(y, n_mels)``, transposed to ``(frames, n_mels)``.

    Whisper's models take 16 kHz input; other rates raise ``ValueError``
    (resample first). No 30 s padding (``whisper.pad_or_trim`` is separate).
    """
    if sr != 16000:
        raise ValueError(f"sr ({sr}): Whisper's log-mel is defined at 16000 Hz; resample first")
    return Frontend("whisper", feature="fbank", num_bins=n_mels)(y, sr)


def OnlineFrontend(config_or_preset="kaldi", sr=16000, *, feature=None, seed: int = 0, **options):
    """A streaming front end at ``sr`` Hz (kaldi-native-fbank's online API).

    ``accept_waveform(chunk)``, ``input_finished()``, ``num_frames_ready``,
    ``get_frames(start, n)``, ``get_frame(i)``: once the input is finished,
    the frames equal the whole-signal call's, bit for bit, whatever the
    chunking. Frames become ready as soon as no later sample can change them
    (with Kaldi's snip_edges, when their last sample arrives); options that
    need the whole utterance (librosa's top_db, CMVN, deltas) make them ready
    at ``input_finished()``.
    """
    return Frontend(config_or_preset, feature=feature, seed=seed, **options).online(sr)


@dataclass
class ExtractSummary:
    """What ``extract`` did: counts as the CLI prints them, plus the failures."""

    total: int
    extracted: int
    skipped: int
    failed: int
    audio_seconds: float
    wall_seconds: float
    failures: List[Tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no input failed (the CLI's exit status 0)."""
        return self.failed == 0


def extract(
    inputs: "str | Iterable[str]",
    out: str,
    frontend=None,
    *,
    feature=None,
    format: str = "npy",
    jobs: int = 0,
    force: bool = False,
    seed: int = 0,
    sample_rate=None,
    channel=None,
    dither=None,
    deltas: bool = False,
    cmvn: bool = False,
    config=None,
    progress=None,
) -> ExtractSummary:
    """``speechfront extract`` from Python: same outputs, manifest and errors.

    ``inputs`` are files and folders; ``out`` the output folder;
    ``frontend`` a preset name, a TOML config path or a ``Frontend``. The
    keywords are the CLI's flags. A bad file does not stop the run: it is
    printed as ``path: reason`` on standard error, listed in
    ``manifest.tsv`` and in ``summary.failures``. Bad options raise
    ``ValueError``; an unwritable output raises ``OSError``. The GIL is
    released during the run (``jobs`` threads; 0 = one per core).
    """
    d = _native.extract(
        inputs,
        out,
        frontend,
        feature=feature,
        format=format,
        jobs=jobs,
        force=force,
        seed=seed,
        sample_rate=sample_rate,
        channel=channel,
        dither=dither,
        deltas=deltas,
        cmvn=cmvn,
        config=config,
        progress=progress,
    )
    d["failures"] = [tuple(f) for f in d["failures"]]
    return ExtractSummary(**d)
