"""A lhotse ``FeatureExtractor`` running speechfront.

    from lhotse import CutSet
    from speechfront.lhotse import Speechfront, SpeechfrontConfig

    extractor = Speechfront(SpeechfrontConfig(preset="kaldi", feature="fbank", options={"num_bins": 80}))
    cuts = cuts.compute_and_store_features(
        extractor=extractor, storage_path="feats", num_jobs=4,
        executor=None,  # or any concurrent.futures executor (a Dask client's, ...)
    )

Parallelism comes from lhotse itself (``num_jobs`` / ``executor``): the
extractor pickles as its config (the speechfront ``Frontend`` is rebuilt
lazily in each worker) and each call releases the GIL. Features are
speechfront's ``(frames, dims)`` float32, the same as
``speechfront.fbank(y, sr, ...)`` on the cut's samples. lhotse's own
storage and manifests are used unchanged.

Registered under the name ``"speechfront"`` (so a saved FeatureSet names
it and ``lhotse.features.create_default_feature_extractor``-style lookups
by name work). Importing this module needs lhotse (and so torch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Optional

import numpy as np
from lhotse.features.base import FeatureExtractor, register_extractor

from . import Frontend


@dataclass
class SpeechfrontConfig:
    """What the extractor computes: a speechfront preset, feature and options.

    ``options`` are the keywords of ``speechfront.Frontend`` (the TOML
    ``[frontend]`` keys); the default turns dither off and uses Kaldi's
    ``snip_edges=false`` framing (``edges="kaldi"``), because lhotse expects
    about ``duration / frame_shift`` frames per cut. ``sampling_rate`` is the rate lhotse should
    resample cuts to and the one ``frame_shift`` and ``feature_dim`` refer to.
    """

    preset: str = "kaldi"
    feature: str = "fbank"
    sampling_rate: int = 16000
    seed: int = 0
    # lhotse checks num_frames against duration / frame_shift, which is
    # Kaldi's snip_edges=false framing (lhotse's own Kaldi extractors use it).
    options: Dict[str, Any] = field(default_factory=lambda: {"dither": 0.0, "edges": "kaldi"})

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: Dict[str, Any]) -> "SpeechfrontConfig":
        return SpeechfrontConfig(**data)


@register_extractor
class Speechfront(FeatureExtractor):
    """speechfront features for lhotse (see the module docs)."""

    name = "speechfront"
    config_type = SpeechfrontConfig

    def __init__(self, config: Optional[SpeechfrontConfig] = None):
        super().__init__(config)
        self._fe = None

    @property
    def frontend(self) -> Frontend:
        if self._fe is None:
            c = self.config
            self._fe = Frontend(c.preset, feature=c.feature, seed=c.seed, **c.options)
        return self._fe

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_fe"] = None  # rebuilt where it runs
        return state

    @property
    def frame_shift(self) -> float:
        frame = self.frontend.options(self.config.sampling_rate)["frame"]
        hop = frame.get("frame_shift_samples")
        if hop is not None:
            return hop / self.config.sampling_rate
        return frame["frame_shift_ms"] / 1000.0

    def feature_dim(self, sampling_rate: int) -> int:
        return self.frontend.dims(sampling_rate)

    def extract(self, samples, sampling_rate: int) -> np.ndarray:
        y = np.asarray(samples)
        if y.ndim == 2:
            # lhotse is (channels, samples); speechfront's 2-D input is
            # (samples, channels), averaged like the CLI.
            y = y[0] if y.shape[0] == 1 else y.T
        return self.frontend(y, int(sampling_rate))
