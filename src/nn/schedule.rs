//! Learning-rate schedules, evaluated once per epoch.

use serde::{Deserialize, Serialize};

use crate::nn::error::{check_non_negative, check_positive, NnError};

/// How the learning rate changes with the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// The base rate throughout. The default: early stopping already ends
    /// training when progress stalls.
    #[default]
    Constant,
    /// `lr = base * gamma^(floor(epoch / every))`.
    Step {
        /// Epochs between decays.
        every: usize,
        /// Factor per decay, in (0, 1].
        gamma: f32,
    },
    /// `lr = min + (base - min) (1 + cos(pi epoch / epochs)) / 2`
    /// (Loshchilov & Hutter's SGDR without restarts).
    Cosine {
        /// Final rate. Default: 0.
        #[serde(default)]
        min_lr: f32,
    },
}

impl Schedule {
    /// # Errors
    /// `every = 0`, `gamma` outside (0, 1], or a negative `min_lr`.
    pub fn validate(&self) -> Result<(), NnError> {
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Step { every, gamma } => {
                if every == 0 {
                    return Err(NnError::invalid("every", every, "must be >= 1"));
                }
                check_positive("gamma", gamma)?;
                if gamma > 1.0 {
                    return Err(NnError::invalid("gamma", gamma, "must be <= 1"));
                }
                Ok(())
            }
            Schedule::Cosine { min_lr } => check_non_negative("min_lr", min_lr),
        }
    }

    /// Rate for `epoch` (0-based) of `epochs`, starting from `base`.
    pub fn lr(&self, base: f32, epoch: usize, epochs: usize) -> f32 {
        match *self {
            Schedule::Constant => base,
            Schedule::Step { every, gamma } => base * gamma.powi((epoch / every.max(1)) as i32),
            Schedule::Cosine { min_lr } => {
                let frac = epoch as f64 / epochs.max(1) as f64;
                let c = 0.5 * (1.0 + (std::f64::consts::PI * frac).cos());
                (min_lr as f64 + (base - min_lr) as f64 * c) as f32
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_and_cosine_values() {
        let s = Schedule::Step {
            every: 2,
            gamma: 0.5,
        };
        let got: Vec<f32> = (0..5).map(|e| s.lr(1.0, e, 5)).collect();
        assert_eq!(got, vec![1.0, 1.0, 0.5, 0.5, 0.25]);
        let c = Schedule::Cosine { min_lr: 0.1 };
        assert_eq!(c.lr(1.0, 0, 10), 1.0);
        assert!((c.lr(1.0, 5, 10) - 0.55).abs() < 1e-6);
        assert!((c.lr(1.0, 10, 10) - 0.1).abs() < 1e-6);
        assert_eq!(Schedule::Constant.lr(0.3, 7, 10), 0.3);
    }

    #[test]
    fn validation_and_toml() {
        assert!(Schedule::Step {
            every: 0,
            gamma: 0.5
        }
        .validate()
        .is_err());
        assert!(Schedule::Step {
            every: 1,
            gamma: 1.5
        }
        .validate()
        .is_err());
        let s: Schedule = toml::from_str("kind = \"cosine\"").unwrap();
        assert_eq!(s, Schedule::Cosine { min_lr: 0.0 });
    }
}
