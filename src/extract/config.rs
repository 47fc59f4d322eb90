//! The validated run configuration of `extract`, and how it is resolved
//! from flags, a TOML config file and a preset.
//!
//! Precedence: flags > config file > preset. The config file may hold:
//!
//! ```toml
//! preset = "librosa"        # optional, overridden by --preset
//! [audio]
//! sample_rate_hz = 16000    # resample every file (like --sample-rate)
//! channel = 0               # keep one channel instead of averaging
//! [frontend]                # any FrontendOptions field, nested tables
//! feature = "fbank"
//! frame = { dither = 0.0 }
//! ```
//!
//! Sample rate: the front end always runs at the audio's rate. With a fixed
//! rate (`--sample-rate`, else `[audio] sample_rate_hz`, else `[frontend]
//! sample_rate_hz`) every file is resampled to it and one front end serves
//! all; without one, each file keeps its own rate and one front end is built
//! (and cached) per distinct rate, which is what librosa's `sr=None` and
//! Kaldi recipes with per-corpus rates amount to.

use super::inputs::{BadInput, KeyedInput};
use super::shard::Shard;
use crate::audio::{ChannelSelect, DecodeOptions};
use crate::frontend::{Cmvn, Feature, Frontend, FrontendError, FrontendOptions, Preset};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Output container.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// One float32 `.npy` per input, mirroring the input tree.
    #[default]
    Npy,
    /// One Kaldi binary archive `feats.ark` with its `feats.scp` index.
    Ark,
}

/// Everything that decides the front end of a file at a given rate.
#[derive(Clone, Debug, PartialEq)]
pub struct FrontendPlan {
    /// The preset whose defaults start the options.
    pub preset: Preset,
    /// The feature (flag, else config, else MFCC).
    pub feature: Feature,
    /// The `[frontend]` table of the config file (empty without one).
    pub table: toml::Table,
    /// `--dither`, applied last.
    pub dither: Option<f32>,
    /// `--deltas`: switch deltas on (absent: the config decides).
    pub deltas: bool,
    /// `--cmvn`: per-utterance mean normalisation on (absent: the config decides).
    pub cmvn: bool,
}

impl FrontendPlan {
    /// The options at `rate_hz`: preset, then the config table, then flags;
    /// the rate is always the audio's.
    ///
    /// # Errors
    /// A bad key or value in the `[frontend]` table.
    pub fn options_at(&self, rate_hz: u32) -> Result<FrontendOptions, FrontendError> {
        let mut opts = FrontendOptions::preset(self.preset, self.feature, rate_hz as f32);
        opts.merge_toml(&self.table)?;
        opts.feature = self.feature;
        opts.sample_rate_hz = rate_hz as f32;
        if let Some(d) = self.dither {
            opts.frame.dither = d;
        }
        if self.deltas {
            opts.post.deltas = true;
        }
        if self.cmvn && opts.post.cmvn == Cmvn::None {
            opts.post.cmvn = Cmvn::Mean;
        }
        Ok(opts)
    }

    /// Build the front end at `rate_hz`.
    ///
    /// # Errors
    /// Invalid options at that rate (e.g. a mel high frequency above its Nyquist).
    pub fn build(&self, rate_hz: u32) -> Result<Frontend, FrontendError> {
        Frontend::new(&self.options_at(rate_hz)?)
    }
}

/// A validated `extract` run.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtractConfig {
    /// Files and folders to extract (the command line's, then the lines of
    /// an `--inputs-from` path list).
    pub inputs: Vec<PathBuf>,
    /// Utterances of an `--inputs-from` `wav.scp` (id = key).
    pub keyed: Vec<KeyedInput>,
    /// `--inputs-from` lines that name no usable file (reported as failed).
    pub listed_bad: Vec<BadInput>,
    /// Which inputs this process extracts (`--shard I/N`; all by default).
    pub shard: Shard,
    /// Output directory (created when missing).
    pub out_dir: PathBuf,
    /// `.npy` files or one Kaldi archive.
    pub format: OutputFormat,
    /// Worker threads; 0 means one per core.
    pub jobs: usize,
    /// Recompute outputs that already exist.
    pub force: bool,
    /// Global dither seed; each file's generator is seeded from it and the
    /// file's key, so results do not depend on `jobs` or order.
    pub seed: u64,
    /// Channel selection and fixed rate for decoding.
    pub decode: DecodeOptions,
    /// The front end.
    pub frontend: FrontendPlan,
}

/// A bad flag or config file (fatal: nothing is extracted).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The `--inputs-from` list cannot be read.
    #[error("{}: cannot read input list: {source}", path.display())]
    List {
        /// List path (`-` for standard input).
        path: PathBuf,
        /// I/O error.
        source: std::io::Error,
    },
    /// The config file cannot be read.
    #[error("{}: cannot read config: {source}", path.display())]
    Read {
        /// Config path.
        path: PathBuf,
        /// I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML, or a value has the wrong type.
    #[error("{}: {message}", path.display())]
    Toml {
        /// Config path.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A value out of range.
    #[error("{field} = {value}: {reason}")]
    Invalid {
        /// Flag or key.
        field: String,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// The front end rejects the options.
    #[error("front end options: {0}")]
    Frontend(#[from] FrontendError),
}

/// The `[audio]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AudioSection {
    sample_rate_hz: Option<u32>,
    channel: Option<usize>,
}

/// A config file split into its parts.
#[derive(Debug, Default)]
pub(crate) struct ConfigFile {
    preset: Option<Preset>,
    audio: AudioSection,
    frontend: toml::Table,
}

impl ConfigFile {
    /// Read and split `path`; unknown top-level keys are errors.
    pub(crate) fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
        let err = |message: String| ConfigError::Toml {
            path: path.to_path_buf(),
            message,
        };
        let mut table: toml::Table = text.parse().map_err(|e| err(format!("{e}")))?;
        let mut out = ConfigFile::default();
        if let Some(v) = table.remove("preset") {
            out.preset = Some(v.try_into().map_err(|e| err(format!("preset: {e}")))?);
        }
        if let Some(v) = table.remove("audio") {
            out.audio = v.try_into().map_err(|e| err(format!("[audio]: {e}")))?;
        }
        if let Some(v) = table.remove("frontend") {
            out.frontend = match v {
                toml::Value::Table(t) => t,
                other => return Err(err(format!("frontend must be a table, not {other}"))),
            };
        }
        if let Some(key) = table.keys().next() {
            return Err(err(format!(
                "unknown key `{key}` (expected preset, [audio], [frontend])"
            )));
        }
        Ok(out)
    }
}

/// Flag values before resolution (the CLI's view, without clap types).
#[derive(Clone, Debug, Default)]
pub struct ExtractFlags {
    /// INPUT...
    pub inputs: Vec<PathBuf>,
    /// --out
    pub out_dir: PathBuf,
    /// --preset
    pub preset: Option<Preset>,
    /// --feature
    pub feature: Option<Feature>,
    /// --dither
    pub dither: Option<f32>,
    /// --config
    pub config: Option<PathBuf>,
    /// --deltas
    pub deltas: bool,
    /// --cmvn
    pub cmvn: bool,
    /// --format
    pub format: OutputFormat,
    /// --jobs
    pub jobs: usize,
    /// --force
    pub force: bool,
    /// --sample-rate
    pub sample_rate: Option<u32>,
    /// --channel
    pub channel: Option<usize>,
    /// --seed
    pub seed: u64,
    /// --inputs-from (`-` = standard input)
    pub inputs_from: Option<PathBuf>,
    /// --shard
    pub shard: Shard,
}

impl ExtractFlags {
    /// Merge flags, config file and preset into a validated configuration.
    ///
    /// # Errors
    /// An unreadable or invalid config, out-of-range values, or front-end
    /// options that fail validation (checked once here, at the fixed rate or
    /// at 16 kHz, so a typo fails before any file is touched).
    pub fn resolve(self) -> Result<ExtractConfig, ConfigError> {
        let file = match &self.config {
            Some(path) => ConfigFile::load(path)?,
            None => ConfigFile::default(),
        };
        let cfg_path = self.config.clone().unwrap_or_default();
        let table_feature = match file.frontend.get("feature") {
            Some(v) => Some(
                v.clone()
                    .try_into::<Feature>()
                    .map_err(|e| ConfigError::Toml {
                        path: cfg_path.clone(),
                        message: format!("[frontend] feature: {e}"),
                    })?,
            ),
            None => None,
        };
        let table_rate = match file.frontend.get("sample_rate_hz") {
            Some(v) => Some(rate_from_toml(v).ok_or_else(|| ConfigError::Invalid {
                field: "[frontend] sample_rate_hz".into(),
                value: v.to_string(),
                reason: "must be a positive whole number of Hz".into(),
            })?),
            None => None,
        };
        let rate = self
            .sample_rate
            .or(file.audio.sample_rate_hz)
            .or(table_rate);
        if rate == Some(0) {
            return Err(ConfigError::Invalid {
                field: "sample rate".into(),
                value: "0".into(),
                reason: "must be positive".into(),
            });
        }
        if let Some(d) = self.dither {
            if !(d.is_finite() && d >= 0.0) {
                return Err(ConfigError::Invalid {
                    field: "--dither".into(),
                    value: d.to_string(),
                    reason: "must be finite and >= 0".into(),
                });
            }
        }
        let channel = match self.channel.or(file.audio.channel) {
            Some(c) => ChannelSelect::Channel(c),
            None => ChannelSelect::Mix,
        };
        let frontend = FrontendPlan {
            preset: self.preset.or(file.preset).unwrap_or(Preset::Kaldi),
            feature: self.feature.or(table_feature).unwrap_or(Feature::Mfcc),
            table: file.frontend,
            dither: self.dither,
            deltas: self.deltas,
            cmvn: self.cmvn,
        };
        frontend.build(rate.unwrap_or(16_000))?;
        let mut inputs = self.inputs;
        let listed = match &self.inputs_from {
            Some(list) => {
                let text = if list == Path::new("-") {
                    let mut buf = Vec::new();
                    std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
                } else {
                    std::fs::read(list)
                }
                .map_err(|source| ConfigError::List {
                    path: list.clone(),
                    source,
                })?;
                super::inputs::read_list(&text, list)
            }
            None => Default::default(),
        };
        inputs.extend(listed.paths);
        Ok(ExtractConfig {
            inputs,
            keyed: listed.keyed,
            listed_bad: listed.bad,
            shard: self.shard,
            out_dir: self.out_dir,
            format: self.format,
            jobs: self.jobs,
            force: self.force,
            seed: self.seed,
            decode: DecodeOptions {
                channel,
                sample_rate_hz: rate,
            },
            frontend,
        })
    }
}

/// A TOML rate: a positive integer, or a float with no fraction.
fn rate_from_toml(v: &toml::Value) -> Option<u32> {
    match v {
        toml::Value::Integer(i) => u32::try_from(*i).ok().filter(|&r| r > 0),
        toml::Value::Float(f) if f.fract() == 0.0 && *f > 0.0 && *f <= f64::from(u32::MAX) => {
            Some(*f as u32)
        }
        _ => None,
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
