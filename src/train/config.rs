//! Training hyper-parameters: the `[train]` table of a TOML model config.
//!
//! ```toml
//! [train]
//! epochs = 100
//! batch = 64
//! lr = 1e-3
//! l2 = 1e-4
//! patience = 10
//! clip = 5.0
//! optimizer = { kind = "adam" }            # sgd | momentum | adagrad | rms_prop | adam | adam_w
//! schedule = { kind = "cosine", min_lr = 1e-5 }
//! ```

use serde::{Deserialize, Serialize};

use crate::nn::error::{check_non_negative, check_positive, check_unit_open, NnError};
use crate::nn::optim::{OptimizerSpec, Penalty};
use crate::nn::schedule::Schedule;

fn d_epochs() -> usize {
    100
}
fn d_batch() -> usize {
    64
}
fn d_lr() -> f32 {
    1e-3
}
fn d_patience() -> usize {
    10
}
fn d_val() -> f32 {
    0.1
}

/// Everything the training loop needs besides the architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Default: Adam (0.9, 0.999, 1e-8).
    #[serde(default)]
    pub optimizer: OptimizerSpec,
    /// Maximum number of epochs. Default: 100 (early stopping usually ends
    /// sooner).
    #[serde(default = "d_epochs")]
    pub epochs: usize,
    /// Mini-batch size (alias `batch`). Default: 64 (a common compromise
    /// between gradient noise and speed on small speech data sets).
    #[serde(default = "d_batch", alias = "batch")]
    pub batch_size: usize,
    /// Base learning rate. Default: 1e-3 (Adam's usual rate).
    #[serde(default = "d_lr")]
    pub lr: f32,
    /// Learning-rate schedule over epochs. Default: constant.
    #[serde(default)]
    pub schedule: Schedule,
    /// L1 strength (proximal). Default: 0.
    #[serde(default)]
    pub l1: f32,
    /// L2 strength. Default: 0.
    #[serde(default)]
    pub l2: f32,
    /// Penalise biases too. Default: false.
    #[serde(default)]
    pub decay_biases: bool,
    /// Clip the global gradient norm to this value (alias `clip`).
    /// Default: none.
    #[serde(default, alias = "clip")]
    pub clip_norm: Option<f32>,
    /// Epochs without validation improvement before stopping; 0 disables
    /// early stopping. Default: 10.
    #[serde(default = "d_patience")]
    pub patience: usize,
    /// Fraction of the training data held out (stratified) for validation;
    /// 0 trains on everything (then no early stopping). Default: 0.1.
    #[serde(default = "d_val")]
    pub val_fraction: f32,
    /// Label smoothing `e` in [0, 1): training targets are
    /// `(1 - e) onehot + e / classes` (see [`crate::nn::loss`]). Validation
    /// losses stay plain cross-entropy. Default: 0.
    #[serde(default)]
    pub label_smoothing: f32,
    /// Seed of the one generator of the run. Default: 0.
    #[serde(default)]
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

impl TrainConfig {
    /// The penalty part.
    pub fn penalty(&self) -> Penalty {
        Penalty {
            l1: self.l1,
            l2: self.l2,
            decay_biases: self.decay_biases,
        }
    }

    /// Checks every field.
    ///
    /// # Errors
    /// The first invalid field, by name and value.
    pub fn validate(&self) -> Result<(), NnError> {
        self.optimizer.validate()?;
        self.schedule.validate()?;
        self.penalty().validate()?;
        if self.epochs == 0 {
            return Err(NnError::invalid("epochs", 0, "must be >= 1"));
        }
        if self.batch_size == 0 {
            return Err(NnError::invalid("batch_size", 0, "must be >= 1"));
        }
        check_positive("lr", self.lr)?;
        if let Some(c) = self.clip_norm {
            check_positive("clip_norm", c)?;
        }
        check_unit_open("val_fraction", self.val_fraction)?;
        check_non_negative("val_fraction", self.val_fraction)?;
        check_unit_open("label_smoothing", self.label_smoothing)?;
        check_non_negative("label_smoothing", self.label_smoothing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_table() {
        let c: TrainConfig = toml::from_str(
            "epochs = 5\nbatch = 32\nlr = 0.01\nl2 = 1e-4\nclip = 5.0\npatience = 3\n\
             optimizer = { kind = \"momentum\", nesterov = true }\nschedule = { kind = \"step\", every = 2, gamma = 0.5 }",
        )
        .unwrap();
        assert_eq!(c.batch_size, 32);
        assert_eq!(c.clip_norm, Some(5.0));
        assert_eq!(
            c.optimizer,
            OptimizerSpec::Momentum {
                momentum: 0.9,
                nesterov: true
            }
        );
        assert!(c.validate().is_ok());
        let back: TrainConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn invalid_fields_are_named() {
        let c = TrainConfig {
            batch_size: 0,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("batch_size"));
        let c = TrainConfig {
            lr: -1.0,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("lr"));
        assert!(toml::from_str::<TrainConfig>("epoch = 3").is_err());
    }
}
