//! Training: the mini-batch loop, early stopping, metrics, persistence and a
//! linear baseline.
//!
//! # Layers of the API
//! - [`TrainModel`]: the small trait the loop needs from a model: forward to
//!   logits, backward from the logits gradient (parameter gradients only),
//!   and the list of parameters with labels. [`crate::nn::Sequential`] implements it;
//!   so can any struct that chains learned front-end stages (which implement
//!   [`crate::nn::Layer`] on `(batch, frames, bins)` tensors) with a
//!   classifier, for end-to-end training. The simplest such model is a
//!   `Sequential` whose first layers are the front-end stages: the loop
//!   never assumes `(batch, features)` inputs: batches are gathered along
//!   axis 0 of an n-d array, and per-item lengths travel in
//!   [`crate::nn::Ctx::lengths`].
//! - [`Trainer`]: one optimisation step (forward, fused softmax
//!   cross-entropy, backward, NaN/Inf guard, clipping, optimizer update)
//!   with buffers kept between steps. The optimizer works over
//!   `Vec<&mut Param>`, so parameters of any stage are updated alike, and
//!   frozen (non-trainable) ones are skipped.
//! - [`fit()`]: epochs over an in-memory [`Dataset`] with seeded shuffling,
//!   validation, early stopping restoring the best weights, and a
//!   serialisable [`History`]; [`fit_observed`] also reports each epoch to
//!   an [`EpochObserver`] (progress displays).
//! - [`train_classifier`]: the whole recipe for an MLP on feature vectors:
//!   stratified validation split, standardisation statistics from the
//!   training part only (stored inside the model as a frozen layer), build
//!   from an [`crate::nn::spec::MlpSpec`], fit. The result is a
//!   [`TrainedModel`] that saves to and loads from one safetensors file.
//! - [`frames`]: the frame-level mode (context-stacked frames labelled with
//!   their utterance's class, utterance decision by averaged log-posteriors).
//! - [`baseline`]: multinomial logistic regression (linfa) on the same
//!   features, to answer "is the MLP worth it?".
//!
//! # Determinism
//! One generator, seeded from [`TrainConfig::seed`], draws (in this order)
//! the validation split, the initial weights, and then per epoch the
//! shuffle and the dropout masks. The same seed and data give bit-identical
//! weights.

pub mod baseline;
pub mod config;
pub mod error;
pub mod fit;
pub mod frames;
pub mod metrics;
pub mod model;
pub mod observe;
pub mod persist;
pub mod split;
pub mod trainer;

pub use config::TrainConfig;
pub use error::TrainError;
pub use fit::{evaluate, fit, fit_observed, Dataset, EpochRecord, History};
pub use metrics::Metrics;
pub use model::{train_classifier, train_classifier_observed, TrainedModel};
pub use observe::{EpochObserver, Silent};
pub use trainer::{StepStats, TrainModel, Trainer};
