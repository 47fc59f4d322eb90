//! One model type for every configuration: a trained experiment
//! ([`TrainedExperiment`]) is its configuration, its class names and
//! either a hand-crafted front end's classifier ([`ClassicModel`]) or a
//! chain with learned stages ([`ChainModel`]). `train` saves it, `evaluate`
//! and `extract --model` (and the Python package) load it.
//!
//! # The library face
//! ```text
//! TrainedExperiment::train(&corpus, &cfg, &train_items, seed, &mut observer) -> TrainedExperiment
//! TrainedExperiment::load(path) / .save(path)          one safetensors file
//! .classes() -> &[String]                               class index -> name
//! .log_posteriors(&corpus, &items) -> (items, classes)  the full test recipe
//! .predict(&corpus, &items) -> Vec<usize>               arg-max of the above
//! .features(&samples, rel_path) -> (frames, dims)       what the front end gives
//! ```
//! A corpus is decoded at `config.sample_rate_hz`; `rel_path` seeds the
//! per-file dither exactly as in training (irrelevant at `dither = 0`).
//!
//! # Why two variants and not one struct
//! A hand-crafted configuration is the chain with an empty trainable
//! suffix; then the shaping is a fixed function too, so its features are
//! computed once and cached and the classifier trains on stacked frames
//! ([`crate::train::frames`]), which is many times faster than running the
//! shaping layers every step. Both variants train the same objective with
//! the same stopping rules and decide the same way (see
//! [`super::learned::run`]); the enum only picks the faster engine.

use std::path::Path;

use ndarray::Array2;

use crate::train::{EpochObserver, History};

use super::classic::{self, ClassicModel};
use super::config::ExperimentConfig;
use super::corpus::Corpus;
use super::learned::{self, ChainModel};
use super::{item_seed, ExperimentError};

/// The trained classifier, by engine.
pub enum Trained {
    /// No learned stage: cached features and a frame (or pooled) classifier.
    Classic(ClassicModel),
    /// Some learned stage: cached prefix and the trainable chain.
    Chain(ChainModel),
}

/// A trained configuration, ready to save, load and predict.
pub struct TrainedExperiment {
    /// The configuration it was trained with.
    pub config: ExperimentConfig,
    /// Class names, by class index.
    pub class_names: Vec<String>,
    /// The networks.
    pub trained: Trained,
}

impl TrainedExperiment {
    /// Trains `cfg` on the corpus items `train` with `seed` (every
    /// ensemble member), reporting epochs to `observer`.
    ///
    /// # Errors
    /// Invalid configuration, a diverged training, unusable data.
    pub fn train(
        corpus: &Corpus,
        cfg: &ExperimentConfig,
        train: &[usize],
        seed: u64,
        observer: &mut dyn EpochObserver,
    ) -> Result<Self, ExperimentError> {
        let trained = if cfg.has_learned_stage() {
            let prefix = learned::corpus_prefix(corpus, cfg, None)?;
            Trained::Chain(learned::run::train_chain(
                corpus, cfg, &prefix, train, seed, observer,
            )?)
        } else {
            let feats = classic::corpus_features(corpus, cfg, None)?;
            Trained::Classic(classic::train_classic_observed(
                corpus, cfg, &feats, train, seed, observer,
            )?)
        };
        Ok(TrainedExperiment {
            config: cfg.clone(),
            class_names: corpus.data.classes.clone(),
            trained,
        })
    }

    /// Class names by index.
    pub fn classes(&self) -> &[String] {
        &self.class_names
    }

    /// The first member's training history.
    pub fn history(&self) -> &History {
        match &self.trained {
            Trained::Classic(m) => &m.members[0].history,
            Trained::Chain(c) => &c.histories[0],
        }
    }

    /// Per-utterance log-posteriors of the corpus items `items` through
    /// the whole test recipe (members, test-time warps and speeds, speaker
    /// statistics of each test speaker). The corpus's class list is not
    /// used: columns follow [`Self::classes`].
    ///
    /// # Shapes
    /// `items.len()` -> `(items.len(), classes)`
    ///
    /// # Errors
    /// Features the model cannot take, an invalid warped front end.
    pub fn log_posteriors(
        &mut self,
        corpus: &Corpus,
        items: &[usize],
    ) -> Result<Array2<f32>, ExperimentError> {
        let cfg = self.config.clone();
        match &mut self.trained {
            Trained::Classic(m) => {
                let feats = classic::corpus_features(corpus, &cfg, None)?;
                classic::test_log_posteriors(m, corpus, &cfg, &feats, items)
            }
            Trained::Chain(c) => {
                let prefix = learned::corpus_prefix(corpus, &cfg, None)?;
                learned::run::test_log_posteriors(c, corpus, &cfg, &prefix, items)
            }
        }
    }

    /// Predicted class index of each of the corpus items `items`.
    ///
    /// # Errors
    /// As [`Self::log_posteriors`].
    pub fn predict(
        &mut self,
        corpus: &Corpus,
        items: &[usize],
    ) -> Result<Vec<usize>, ExperimentError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let lp = self.log_posteriors(corpus, items)?;
        Ok(crate::nn::loss::argmax_rows(lp.view()))
    }

    /// The features of one utterance (`samples` at the configuration's
    /// rate) as the model's front end computes them: for a hand-crafted
    /// configuration its features (post-processing and position included,
    /// as cached for training); with learned stages, the trained front end's
    /// output of the first member (its learned stages applied, before
    /// CMVN, deltas and the speaker views). `rel_path` seeds the dither.
    ///
    /// # Shapes
    /// `(samples,)` -> `(frames, dims)`
    ///
    /// # Errors
    /// Invalid front-end options.
    pub fn features(
        &mut self,
        samples: &[f32],
        rel_path: &Path,
    ) -> Result<Array2<f32>, ExperimentError> {
        let cfg = &self.config;
        let seed = item_seed(0, rel_path);
        let rate = cfg.sample_rate_hz;
        match &mut self.trained {
            Trained::Classic(_) => {
                let fe = crate::frontend::Frontend::new(&cfg.frontend_options()?)?;
                Ok(classic::utterance_features(
                    &fe, samples, rate, &cfg.input, seed,
                ))
            }
            Trained::Chain(c) => {
                let (_, first) = learned::learn_split(cfg)?;
                let pc = learned::PrefixComputer::new(&learned::chain_options(cfg)?, first)?;
                let p = pc.utterance(samples, rate, &cfg.input, seed);
                Ok(learned::front_features(&mut c.members[0], &[&p])
                    .pop()
                    .expect("one utterance in, one out"))
            }
        }
    }

    /// Writes the model to `path` (temporary name, then rename).
    ///
    /// # Errors
    /// I/O errors naming the file.
    pub fn save(&self, path: &Path) -> Result<(), ExperimentError> {
        match &self.trained {
            Trained::Classic(m) => super::persist::save(&m.members, &self.config, path),
            Trained::Chain(c) => {
                super::persist::save_chain(c, &self.config, &self.class_names, path)
            }
        }
    }

    /// Reads a model written by [`Self::save`].
    ///
    /// # Errors
    /// Unreadable file, not a speechfront experiment, tensors that do not
    /// fit the configuration inside.
    pub fn load(path: &Path) -> Result<Self, ExperimentError> {
        if super::persist::is_chain(path)? {
            let (config, class_names, chain) = super::persist::load_chain(path)?;
            return Ok(TrainedExperiment {
                config,
                class_names,
                trained: Trained::Chain(chain),
            });
        }
        let (config, members) = super::persist::load(path)?;
        let class_names = members[0].class_names.clone();
        Ok(TrainedExperiment {
            trained: Trained::Classic(ClassicModel {
                members,
                input: config.input.clone(),
            }),
            config,
            class_names,
        })
    }
}

/// Metadata of a chain model file (JSON under [`super::persist::CHAIN_KEY`]).
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct ChainHeader {
    pub format_version: u32,
    pub crate_version: String,
    pub class_names: Vec<String>,
    pub members: usize,
    pub histories: Vec<History>,
    /// Tensor names per member, in parameter order.
    pub tensors: Vec<Vec<String>>,
}
