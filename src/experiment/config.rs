//! Experiment configurations: one TOML file per front end + classifier
//! recipe (`models/*.toml`).
//!
//! ```toml
//! name = "mfcc"                  # shown in reports
//! description = "Kaldi MFCC + MLP"
//! preset = "kaldi"               # kaldi | librosa
//! feature = "mfcc"               # mfcc | fbank | spectrogram
//! sample_rate_hz = 8000          # every file is resampled to this rate
//!
//! [frontend]                     # any FrontendOptions field, over the preset
//! frame = { dither = 0.0 }
//! [frontend.learn]               # learned stages (see frontend::learned)
//! mel = { learn = true, init = "classic" }
//!
//! [input]                        # how utterances become classifier inputs
//! mode = "context"               # context | pool | fixed
//! context = 5
//! trim_silence = true
//!
//! [classifier]                   # nn::spec::MlpSpec
//! [train]                        # train::TrainConfig (seed set per run)
//! [augment]                      # data augmentation of training utterances
//! ```
//!
//! Precedence: the preset gives every front-end default, `[frontend]`
//! overrides it. Unknown keys are errors naming the key, so a typo never
//! silently falls back to a default.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::augment::{FeatureAugment, WaveAugment};
use crate::data::{Align, SpeechDetectOptions};
use crate::frontend::learned::LearnConfig;
use crate::frontend::{Feature, FrontendOptions, Preset};
use crate::nn::spec::MlpSpec;
use crate::train::TrainConfig;

use super::ExperimentError;

/// How a `(frames, dims)` utterance becomes classifier input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputMode {
    /// Each frame with its ±`context` neighbours is one MLP input labelled
    /// with the utterance's class; the utterance's decision averages its
    /// frames' log-posteriors (the hybrid acoustic-model recipe).
    #[default]
    Context,
    /// Mean and standard deviation over the utterance's frames.
    Pool,
    /// A fixed number of frames (padded or cropped), flattened.
    Fixed,
}

fn d_context() -> usize {
    5
}
fn d_frames() -> usize {
    100
}

/// `[input]`: from features to classifier inputs. Default: context ±5,
/// no trimming.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// Default: context (the strongest recipe on unseen speakers here).
    #[serde(default)]
    pub mode: InputMode,
    /// ± frames around each frame in `context` mode. Default: 5.
    #[serde(default = "d_context")]
    pub context: usize,
    /// Frames kept in `fixed` mode. Default: 100 (1 s at a 10 ms shift).
    #[serde(default = "d_frames")]
    pub frames: usize,
    /// Alignment of the kept/padded frames in `fixed` mode. Default: start.
    #[serde(default)]
    pub align: Align,
    /// Drop leading and trailing silence (energy-based) before features.
    /// Default: false.
    #[serde(default)]
    pub trim_silence: bool,
    /// Speech-detection settings used when `trim_silence`.
    #[serde(default)]
    pub speech: SpeechDetectOptions,
    /// Append each frame's relative position in the (trimmed) utterance,
    /// `t / (T - 1)` in [0, 1] (0.5 for a one-frame utterance), as one more
    /// feature dimension. A frame classifier sees only ±`context` frames;
    /// with its place in the word it can tell where in the word a sound
    /// occurs (the /s/ that opens "six" and "seven" alike is followed by
    /// different sounds at the same relative time). Default: false.
    #[serde(default)]
    pub position: bool,
    /// Frames between the stacked neighbours in `context` mode: frame `t`
    /// sees `t + dilation j` for `j = -context ..= context` (see
    /// [`crate::nn::context::Splice`]). 2 with `context = 5` reaches ±10
    /// frames through 11 of them. Default: 1 (adjacent frames).
    #[serde(default = "d_dilation")]
    pub dilation: usize,
    /// Append the utterance's length, `ln(T / 50)` for `T` (trimmed)
    /// frames, to every frame as one more feature dimension (after the
    /// position, when both are on). With the position it tells the
    /// classifier how long the word is, not only where in it a frame lies.
    /// Default: false.
    #[serde(default)]
    pub duration: bool,
    /// Mean (and variance) normalisation with statistics over all of a
    /// speaker's utterances (see [`super::speaker_norm`]), applied to the
    /// features after the front end (its own per-utterance `cmvn` is
    /// usually off then). Training speakers use their original
    /// utterances' statistics, also for their perturbed copies; a test
    /// speaker uses their own unlabelled test utterances'. Utterances
    /// without a speaker are normalised on their own. After a learned
    /// stage the statistics are constants refreshed every epoch from the
    /// current front end (see `frontend::learned::shape`). Default: none.
    #[serde(default)]
    pub speaker_cmvn: super::speaker_norm::SpeakerCmvn,
}

fn d_dilation() -> usize {
    1
}

impl Default for InputConfig {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

fn d_copies() -> usize {
    1
}

/// `[augment]`: extra, randomly perturbed copies of each training utterance.
/// Test utterances are never augmented.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AugmentConfig {
    /// Perturbed copies added per training utterance (the original is always
    /// kept). 0 turns augmentation off. Default: 1 (when a perturbation is set).
    #[serde(default = "d_copies")]
    pub copies: usize,
    /// Waveform perturbations (speed, shift, noise).
    #[serde(default)]
    pub wave: WaveAugment,
    /// Feature perturbations (VTLP, masks, frame shift).
    #[serde(default)]
    pub feature: FeatureAugment,
    /// Vocal-tract-length perturbation in the front end: each copy's mel
    /// filterbank is warped by Kaldi's VTLN warp with a factor drawn
    /// uniformly from `[lo, hi]` (e.g. `[0.9, 1.1]`). Unlike
    /// `feature.vtlp`, which resamples a mel axis, it works for every
    /// mel-based feature, MFCC included, and warps the spectrum before the
    /// filters, as a different vocal tract would. Default: none.
    #[serde(default)]
    pub vtln: Option<(f32, f32)>,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

impl AugmentConfig {
    /// Whether any perturbation is on and copies are made.
    pub fn is_active(&self) -> bool {
        self.copies > 0
            && (self.wave.is_active() || self.feature.is_active() || self.vtln.is_some())
    }
}

fn d_rate() -> u32 {
    8000
}
fn d_preset() -> Preset {
    Preset::Kaldi
}
fn d_feature() -> Feature {
    Feature::Mfcc
}

/// One experiment: front end (hand-crafted or partly learned), input
/// shaping, classifier and training recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Name in reports. Default: the file stem.
    #[serde(default)]
    pub name: String,
    /// One line for the report.
    #[serde(default)]
    pub description: String,
    /// Front-end preset. Default: kaldi.
    #[serde(default = "d_preset")]
    pub preset: Preset,
    /// Feature kind. Default: mfcc.
    #[serde(default = "d_feature")]
    pub feature: Feature,
    /// Every file is decoded and resampled to this rate so that one front
    /// end serves the whole data set. Default: 8000 (FSDD's rate).
    #[serde(default = "d_rate")]
    pub sample_rate_hz: u32,
    /// Overrides of the preset's front-end options, as a TOML table (same
    /// keys as `FrontendOptions`), plus the `learn` sub-table.
    #[serde(default)]
    pub frontend: toml::Table,
    /// Input shaping.
    #[serde(default)]
    pub input: InputConfig,
    /// Classifier architecture.
    #[serde(default)]
    pub classifier: MlpSpec,
    /// Training recipe.
    #[serde(default)]
    pub train: TrainConfig,
    /// Data augmentation.
    #[serde(default)]
    pub augment: AugmentConfig,
    /// Networks trained per run, on the same
    /// training utterances with member seeds derived from the run seed; an
    /// utterance's decision averages their log-posteriors. Default: 1.
    #[serde(default = "d_ensemble")]
    pub ensemble: usize,
    /// Test-time settings.
    #[serde(default)]
    pub test: TestConfig,
}

/// `[test]`: how test utterances are decided.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestConfig {
    /// Test-time VTLN averaging: each test utterance is featurised once per
    /// warp factor listed (Kaldi's VTLN warp of the mel filterbank; 1.0 is
    /// the unwarped front end) and the log-posteriors are averaged over the
    /// warps, as over ensemble members. A new voice then meets the network
    /// at several vocal-tract lengths instead of one; no label and no other
    /// utterance is used. Empty (the default): the plain features only.
    #[serde(default)]
    pub vtln: Vec<f32>,
    /// Test-time speed averaging: each test utterance is also resampled by
    /// each factor listed (the training augmentation's speed perturbation;
    /// 1.0 is the original) before its features, and the log-posteriors
    /// are averaged over every (speed, warp) pair. A speaker who talks
    /// faster or slower than the training voices meets the network at
    /// several rates. Empty (the default): the original rate only.
    #[serde(default)]
    pub speed: Vec<f32>,
    /// With `[input] speaker_cmvn`: at most this many of a test speaker's
    /// utterances share one set of statistics (each speaker's utterances,
    /// in an order fixed by their paths' hashes, are cut into groups of
    /// nearly equal size, none larger). It measures how many unlabelled
    /// words the normalisation needs. 0 (the default): all of them.
    #[serde(default)]
    pub speaker_utterances: usize,
}

fn d_ensemble() -> usize {
    1
}

impl ExperimentConfig {
    /// Parses a configuration from TOML text; `origin` names it in errors
    /// and gives the default name.
    ///
    /// # Errors
    /// Malformed TOML, unknown keys, or invalid front-end options, naming
    /// `origin`.
    pub fn from_toml_str(text: &str, origin: &Path) -> Result<Self, ExperimentError> {
        let mut cfg: ExperimentConfig =
            toml::from_str(text).map_err(|e| ExperimentError::Config {
                path: origin.to_path_buf(),
                reason: e.to_string(),
            })?;
        if cfg.name.is_empty() {
            cfg.name = origin
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        cfg.validate(origin)?;
        Ok(cfg)
    }

    /// Reads and parses a configuration file.
    ///
    /// # Errors
    /// I/O errors and everything [`ExperimentConfig::from_toml_str`] rejects.
    pub fn load(path: &Path) -> Result<Self, ExperimentError> {
        let text = std::fs::read_to_string(path).map_err(|e| ExperimentError::Config {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_toml_str(&text, path)
    }

    fn validate(&self, origin: &Path) -> Result<(), ExperimentError> {
        let bad = |reason: String| ExperimentError::Config {
            path: origin.to_path_buf(),
            reason,
        };
        self.frontend_options().map_err(|e| bad(e.to_string()))?;
        let learn = self.learn().map_err(|e| bad(e.to_string()))?;
        if let Some(first) = learn.first_learned() {
            super::learned::augment::check(&self.augment, first).map_err(bad)?;
        }
        self.classifier
            .validate()
            .map_err(|e| bad(format!("[classifier] {e}")))?;
        self.train
            .validate()
            .map_err(|e| bad(format!("[train] {e}")))?;
        if self.ensemble == 0 {
            return Err(bad("ensemble (0) must be >= 1".into()));
        }
        if self.sample_rate_hz == 0 {
            return Err(bad("sample_rate_hz (0) must be > 0".into()));
        }
        let (onset, release) = self.augment.wave.edge_crop_ms;
        if !(onset.is_finite() && onset >= 0.0 && release.is_finite() && release >= 0.0) {
            return Err(bad(format!(
                "augment.wave.edge_crop_ms [{onset}, {release}] must both be >= 0"
            )));
        }
        if let Some((lo, hi)) = self.augment.vtln {
            if !(lo > 0.0 && lo <= hi && hi.is_finite()) {
                return Err(bad(format!(
                    "augment.vtln [{lo}, {hi}] must satisfy 0 < lo <= hi"
                )));
            }
            for warp in [lo, hi] {
                let mut o = self.frontend_options().map_err(|e| bad(e.to_string()))?;
                o.mel.vtln_warp = warp;
                crate::frontend::mel::MelBanks::new(&o)
                    .map_err(|e| bad(format!("augment.vtln: {e}")))?;
            }
        }
        if self.input.speaker_cmvn != super::speaker_norm::SpeakerCmvn::None {
            if self.input.speaker_cmvn == super::speaker_norm::SpeakerCmvn::Both {
                let cmvn = self
                    .frontend_options()
                    .map_err(|e| bad(e.to_string()))?
                    .post
                    .cmvn;
                if cmvn != crate::frontend::Cmvn::None {
                    return Err(bad(
                        "input.speaker_cmvn = \"both\" computes the per-utterance view itself: \
                         set the front end's post.cmvn to \"none\""
                            .into(),
                    ));
                }
            }
        }
        if self.input.dilation == 0 {
            return Err(bad("input.dilation (0) must be >= 1".into()));
        }
        if let Some(first) = learn.first_learned() {
            if self.test.vtln.iter().any(|&w| w != 1.0)
                && first < crate::frontend::learned::config::Stage::Mel
            {
                return Err(bad(format!(
                    "test.vtln warps the spectrum between two trainable stages here \
                     (learned from {first:?} on); use test.speed instead"
                )));
            }
            if self.frontend_options().map(|o| o.post.cmvn) == Ok(crate::frontend::Cmvn::Warp) {
                return Err(bad(
                    "post.cmvn = \"warp\" (a rank transform, zero gradient almost everywhere) \
                     cannot follow a learned stage; use \"meanvar\""
                        .into(),
                ));
            }
        }
        for &f in &self.test.speed {
            if !(0.5..=2.0).contains(&f) {
                return Err(bad(format!("test.speed: factor {f} must be in [0.5, 2]")));
            }
        }
        for &warp in &self.test.vtln {
            if !(warp > 0.0 && warp.is_finite()) {
                return Err(bad(format!("test.vtln: warp {warp} must be > 0")));
            }
            let mut o = self.frontend_options().map_err(|e| bad(e.to_string()))?;
            o.mel.vtln_warp = warp;
            crate::frontend::mel::MelBanks::new(&o).map_err(|e| bad(format!("test.vtln: {e}")))?;
        }
        if self.input.mode == InputMode::Fixed && self.input.frames == 0 {
            return Err(bad("input.frames (0) must be >= 1 in fixed mode".into()));
        }
        Ok(())
    }

    /// The hand-crafted front-end options: preset at `sample_rate_hz`, then
    /// the `[frontend]` table (without `learn`).
    ///
    /// # Errors
    /// A key or value the front end rejects.
    pub fn frontend_options(&self) -> Result<FrontendOptions, crate::frontend::FrontendError> {
        let mut opts =
            FrontendOptions::preset(self.preset, self.feature, self.sample_rate_hz as f32);
        let mut table = self.frontend.clone();
        table.remove("learn");
        opts.merge_toml(&table)?;
        crate::frontend::Frontend::new(&opts)?;
        Ok(opts)
    }

    /// The `[frontend.learn]` table (all stages hand-crafted when absent).
    ///
    /// # Errors
    /// Unknown keys or values in the table.
    pub fn learn(&self) -> Result<LearnConfig, toml::de::Error> {
        match self.frontend.get("learn") {
            None => Ok(LearnConfig::default()),
            Some(v) => v.clone().try_into(),
        }
    }

    /// True when some front-end stage is trained.
    pub fn has_learned_stage(&self) -> bool {
        self.learn()
            .map(|l| l.first_learned().is_some())
            .unwrap_or(false)
    }

    /// The configuration as TOML text (for reports and saved models).
    pub fn to_toml_string(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

/// Expands `models/*.toml`-style arguments: files are taken as they are,
/// folders contribute their `*.toml` files in name order.
///
/// # Errors
/// A path that does not exist or a folder that cannot be read.
pub fn config_paths(args: &[PathBuf]) -> Result<Vec<PathBuf>, ExperimentError> {
    let mut out = Vec::new();
    for a in args {
        if a.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(a)
                .map_err(|e| ExperimentError::Config {
                    path: a.clone(),
                    reason: e.to_string(),
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            out.extend(files);
        } else if a.is_file() {
            out.push(a.clone());
        } else {
            return Err(ExperimentError::Config {
                path: a.clone(),
                reason: "no such file or folder".into(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ExperimentConfig, ExperimentError> {
        ExperimentConfig::from_toml_str(text, Path::new("models/x.toml"))
    }

    #[test]
    fn empty_file_gives_documented_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.name, "x");
        assert_eq!(c.preset, Preset::Kaldi);
        assert_eq!(c.input.mode, InputMode::Context);
        assert_eq!(c.input.context, 5);
        assert!(!c.has_learned_stage());
        assert_eq!(c.frontend_options().unwrap().sample_rate_hz, 8000.0);
    }

    #[test]
    fn frontend_overrides_apply_and_learn_is_separate() {
        let c = parse(
            "[frontend]\nframe = { dither = 0.0 }\n[frontend.learn]\nmel = { learn = true }\n",
        )
        .unwrap();
        assert_eq!(c.frontend_options().unwrap().frame.dither, 0.0);
        assert!(c.has_learned_stage());
    }

    #[test]
    fn typos_are_errors_naming_the_file() {
        let e = parse("[input]\ncontxt = 3\n").unwrap_err().to_string();
        assert!(e.contains("models/x.toml") && e.contains("contxt"), "{e}");
        let e = parse("[frontend]\nframe = { ditherr = 0.0 }\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("ditherr"), "{e}");
    }

    #[test]
    fn vtln_range_is_validated_against_the_mel_bank() {
        let c = parse("[augment]\nvtln = [0.9, 1.1]\n").unwrap();
        assert_eq!(c.augment.vtln, Some((0.9, 1.1)));
        assert!(c.augment.is_active());
        let e = parse("[augment]\nvtln = [1.1, 0.9]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("augment.vtln"), "{e}");
        // A factor so large that the upper knee falls below the lower one.
        let e = parse("[augment]\nvtln = [0.9, 40.0]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("augment.vtln") && e.contains("vtln_"), "{e}");
        // A learned spectrum has no fixed spectrum to warp; a learned mel
        // stage warps the cached spectrum, a learned DCT the frozen bank.
        parse("[frontend.learn]\nmel = { learn = true }\n[augment]\nvtln = [0.9, 1.1]\n").unwrap();
        let e =
            parse("[frontend.learn]\nspectrum = { learn = true }\n[augment]\nvtln = [0.9, 1.1]\n")
                .unwrap_err()
                .to_string();
        assert!(e.contains("vtln") && e.contains("speed"), "{e}");
        parse("[frontend.learn]\ndct = { learn = true }\n[augment]\nvtln = [0.9, 1.1]\n").unwrap();
    }

    #[test]
    fn round_trips_through_toml() {
        let c = parse("name = \"a\"\n[classifier]\nhidden = [32]\n").unwrap();
        let back = parse(&c.to_toml_string()).unwrap();
        assert_eq!(c, back);
    }
}
