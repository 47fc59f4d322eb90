//! TOML/serde configuration of the learned stages.
//!
//! One table per stage under `[frontend.learn]`, e.g.
//!
//! ```toml
//! [frontend.learn.mel]
//! learn = true        # default false: the stage is hand-crafted (frozen)
//! init = "classic"    # or "random"; default "classic"
//! kind = "matrix"     # or "parametric"
//! ```
//!
//! A missing table means "hand-crafted, classic". Unknown keys and unknown
//! kinds are rejected by serde with the offending name, so a typo never
//! silently falls back to a default. The `kind` values are typed enums, one
//! per stage, so `kind = "pcen"` under `mel` is an error at parse time.

use serde::{Deserialize, Serialize};

use super::dft::SpectrumKind;
use super::norm::NormKind;
use super::Init;
use crate::nn::Rng;

/// `init = "classic" | "random"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InitKind {
    /// Start from the hand-crafted stage (same output at step 0). Default:
    /// keeps every comparison with the classic front end fair.
    #[default]
    Classic,
    /// Start from random values drawn from the run's seeded generator.
    Random,
}

/// Learned mel filterbank variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MelKind {
    /// Dense non-negative matrix ([`super::melbank::MelMatrix`]). Default:
    /// the most expressive form.
    #[default]
    Matrix,
    /// Centre and bandwidth per triangle ([`super::melbank_param::ParametricMel`]).
    Parametric,
}

/// Learned compression variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompressKind {
    /// `ln(x + delta)` ([`super::compress::LogCompress`]). Default: the classic form.
    #[default]
    Log,
    /// Per-channel energy normalisation ([`super::pcen::Pcen`]).
    Pcen,
}

/// Learned DCT variants (one for now; the table keeps the common shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DctKind {
    /// A linear layer starting as the liftered DCT-II.
    #[default]
    Linear,
}

/// Learned pre-emphasis variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PreemphKind {
    /// One coefficient shared by every frame.
    #[default]
    Scalar,
}

/// One stage's `[frontend.learn.<stage>]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig<K> {
    /// Whether the optimizer may move the stage's parameters. Default: false.
    #[serde(default)]
    pub learn: bool,
    /// Starting point. Default: classic.
    #[serde(default)]
    pub init: InitKind,
    /// Variant of the stage. Default: the stage's classic-shaped variant.
    #[serde(default)]
    pub kind: K,
}

impl<K> StageConfig<K> {
    /// The [`Init`] to pass to a constructor, borrowing `rng` for random init.
    pub fn init<'a>(&self, rng: &'a mut Rng) -> Init<'a> {
        match self.init {
            InitKind::Classic => Init::Classic,
            InitKind::Random => Init::Random(rng),
        }
    }
}

/// `[frontend.learn.norm]`: the normalisation between front end and classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormConfig {
    /// Grouping of the statistics. Default: frame.
    #[serde(default)]
    pub kind: NormKind,
    /// Per-channel scale and shift after normalising. Default: false.
    #[serde(default)]
    pub affine: bool,
    /// Whether the affine scale and shift are trained. Default: true.
    #[serde(default = "yes")]
    pub learn: bool,
}

fn yes() -> bool {
    true
}

/// A stage of the chain, in processing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Pre-emphasis.
    Preemph,
    /// Window + DFT + power.
    Spectrum,
    /// Mel filterbank.
    Mel,
    /// Log or PCEN.
    Compress,
    /// DCT.
    Dct,
}

/// All `[frontend.learn.*]` tables; each missing one is hand-crafted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnConfig {
    /// Pre-emphasis coefficient.
    #[serde(default)]
    pub preemph: Option<StageConfig<PreemphKind>>,
    /// Window + DFT + power, as a time-domain filterbank.
    #[serde(default)]
    pub spectrum: Option<StageConfig<SpectrumKind>>,
    /// Mel filterbank.
    #[serde(default)]
    pub mel: Option<StageConfig<MelKind>>,
    /// Compression.
    #[serde(default)]
    pub compress: Option<StageConfig<CompressKind>>,
    /// DCT.
    #[serde(default)]
    pub dct: Option<StageConfig<DctKind>>,
    /// Normalisation before the classifier (none when absent).
    #[serde(default)]
    pub norm: Option<NormConfig>,
    /// Normalisation right after compression, before the DCT (none when
    /// absent). Needed when the stages before the DCT start random: their
    /// channels then all measure nearly the same broadband energy, so the
    /// log-energies share one common mode (the frame's loudness, varying by
    /// several nats) on top of channel differences of a tenth of a nat. The
    /// classic DCT's rows past the first sum to zero and cancel that mode; a
    /// random DCT's rows do not, and its outputs are the loudness times a
    /// constant vector: after the classifier's normalisation every frame looks
    /// alike and training stays at chance. Kind `frame` removes the common
    /// mode and brings the channel differences to unit scale. It changes the
    /// chain's output, so classic-init configurations leave it out.
    #[serde(default)]
    pub compress_norm: Option<NormConfig>,
}

impl LearnConfig {
    /// The first stage, in processing order, whose parameters are learned:
    /// everything before it is a pure function of the audio and can be
    /// computed once and cached. `None` when the whole front end is frozen.
    pub fn first_learned(&self) -> Option<Stage> {
        let learned = |c: Option<bool>| c.unwrap_or(false);
        [
            (Stage::Preemph, learned(self.preemph.map(|c| c.learn))),
            (Stage::Spectrum, learned(self.spectrum.map(|c| c.learn))),
            (Stage::Mel, learned(self.mel.map(|c| c.learn))),
            (Stage::Compress, learned(self.compress.map(|c| c.learn))),
            (Stage::Dct, learned(self.dct.map(|c| c.learn))),
        ]
        .into_iter()
        .find(|(_, l)| *l)
        .map(|(s, _)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Top {
        frontend: Frontend,
    }

    #[derive(Deserialize)]
    struct Frontend {
        learn: LearnConfig,
    }

    fn parse(text: &str) -> Result<LearnConfig, toml::de::Error> {
        toml::from_str::<Top>(text).map(|t| t.frontend.learn)
    }

    #[test]
    fn parses_the_documented_tables_with_defaults() {
        let cfg = parse(
            r#"
            [frontend.learn.mel]
            learn = true
            init = "classic"
            kind = "matrix"
            [frontend.learn.compress]
            learn = true
            init = "random"
            kind = "pcen"
            [frontend.learn.dct]
            [frontend.learn.norm]
            kind = "utterance_mean"
            "#,
        )
        .expect("valid config");
        assert_eq!(
            cfg.mel,
            Some(StageConfig {
                learn: true,
                init: InitKind::Classic,
                kind: MelKind::Matrix
            })
        );
        assert_eq!(
            cfg.compress.map(|c| (c.init, c.kind)),
            Some((InitKind::Random, CompressKind::Pcen))
        );
        assert_eq!(cfg.dct, Some(StageConfig::default()));
        assert_eq!(
            cfg.norm,
            Some(NormConfig {
                kind: NormKind::UtteranceMean,
                affine: false,
                learn: true
            })
        );
        assert_eq!(cfg.spectrum, None);
        assert_eq!(cfg.compress_norm, None);
        assert_eq!(cfg.first_learned(), Some(Stage::Mel));
    }

    #[test]
    fn compress_norm_is_its_own_table() {
        let cfg = parse("[frontend.learn.compress_norm]\nkind = \"frame\"\n").expect("valid");
        assert_eq!(
            cfg.compress_norm.map(|n| (n.kind, n.affine)),
            Some((NormKind::Frame, false))
        );
        assert_eq!(cfg.norm, None);
        let e =
            parse("[frontend.learn.compress_norm]\nkind = \"channel\"\n").expect_err("bad kind");
        assert!(e.to_string().contains("channel"), "{e}");
    }

    #[test]
    fn first_learned_follows_processing_order() {
        let mut cfg = LearnConfig::default();
        assert_eq!(cfg.first_learned(), None);
        cfg.dct = Some(StageConfig {
            learn: true,
            ..StageConfig::default()
        });
        cfg.spectrum = Some(StageConfig {
            learn: false,
            ..StageConfig::default()
        });
        assert_eq!(cfg.first_learned(), Some(Stage::Dct));
        cfg.spectrum = Some(StageConfig {
            learn: true,
            ..StageConfig::default()
        });
        assert_eq!(cfg.first_learned(), Some(Stage::Spectrum));
    }

    #[test]
    fn typos_and_wrong_kinds_are_rejected_with_the_name() {
        let e =
            parse("[frontend.learn.mel]\nkind = \"pcen\"\n").expect_err("pcen is not a mel kind");
        assert!(e.to_string().contains("pcen"), "{e}");
        let e = parse("[frontend.learn.mel]\nlearnn = true\n").expect_err("typo");
        assert!(e.to_string().contains("learnn"), "{e}");
        let e = parse("[frontend.learn.spectrum]\ninit = \"xavier\"\n").expect_err("bad init");
        assert!(e.to_string().contains("xavier"), "{e}");
        let e = parse("[frontend.learn.melbank]\n").expect_err("unknown stage");
        assert!(e.to_string().contains("melbank"), "{e}");
    }

    #[test]
    fn init_borrows_the_generator_only_for_random() {
        let mut rng = crate::nn::rng_from_seed(1);
        let c = StageConfig {
            learn: true,
            init: InitKind::Random,
            kind: MelKind::Matrix,
        };
        assert!(matches!(c.init(&mut rng), Init::Random(_)));
        let c = StageConfig {
            init: InitKind::Classic,
            ..c
        };
        assert!(matches!(c.init(&mut rng), Init::Classic));
    }
}
