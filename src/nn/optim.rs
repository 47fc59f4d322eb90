//! Optimizers (SGD, Momentum/Nesterov, Adagrad, RMSProp, Adam, AdamW), L1/L2
//! penalties and gradient clipping by global norm.
//!
//! # Design
//! - An [`Optimizer`] works over `&mut [&mut Param]`, so it serves any model
//!   (a classifier, a learned front end, both) that can list its parameters.
//!   Its state (moments) is kept per position in that list; the list must
//!   keep its order and shapes between steps.
//! - Non-trainable parameters are skipped (hand-crafted stages).
//! - One fused pass per parameter: penalty, update, proximal L1, and the
//!   gradient reset. [`Optimizer::step`] *consumes* the gradients: they are
//!   zero afterwards, ready for the next backward (saves a separate
//!   zero-grad pass over every parameter).
//!
//! # Penalties
//! Applied only to parameters with [`Param::decay`] set (weights), or to
//! every trainable one when [`Penalty::decay_biases`] is true.
//! - L2 (`l2/2 |w|^2`) is added to the gradient: `g += l2 w` (coupled, the
//!   classic "weight decay" of SGD; AdamW adds its own decoupled decay).
//! - L1 (`l1 |w|`) is applied as a proximal step (soft thresholding) after
//!   the update: `w <- sign(w) max(|w| - s l1, 0)`, where `s` is the step
//!   size the optimizer just used for that coordinate (`lr` for SGD and
//!   momentum, `lr / (sqrt(v) + eps)` for the adaptive methods: the proximal
//!   operator in the optimizer's own diagonal metric). Unlike adding
//!   `l1 sign(w)` to the gradient, which makes weights oscillate around zero
//!   and never reach it, this sets useless weights to exactly zero.

use serde::{Deserialize, Serialize};

use crate::nn::error::{check_non_negative, check_positive, check_unit_open, NnError};
use crate::nn::update::{adam, adaptive, heavy_ball, sgd, AdamStep};
use crate::nn::Param;

fn d_momentum() -> f32 {
    0.9
}
fn d_beta1() -> f32 {
    0.9
}
fn d_beta2() -> f32 {
    0.999
}
fn d_eps() -> f32 {
    1e-8
}
fn d_rho() -> f32 {
    0.9
}
fn d_adagrad_eps() -> f32 {
    1e-10
}
fn d_weight_decay() -> f32 {
    0.01
}

/// Which optimizer, with its hyper-parameters. Defaults follow PyTorch's
/// (the reference the benchmarks compare against), so results transfer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerSpec {
    /// `w -= lr g`.
    Sgd,
    /// `v = mu v + g`; `w -= lr v` (Nesterov: `w -= lr (g + mu v)`).
    Momentum {
        /// `mu`. Default: 0.9.
        #[serde(default = "d_momentum")]
        momentum: f32,
        /// Nesterov's look-ahead form. Default: false.
        #[serde(default)]
        nesterov: bool,
    },
    /// `G += g^2`; `w -= lr g / (sqrt(G) + eps)`.
    Adagrad {
        /// Default: 1e-10 (PyTorch).
        #[serde(default = "d_adagrad_eps")]
        eps: f32,
    },
    /// `E = rho E + (1 - rho) g^2`; `w -= lr g / (sqrt(E) + eps)`.
    RmsProp {
        /// Smoothing `rho`. Default: 0.9 (Hinton's lecture value).
        #[serde(default = "d_rho")]
        rho: f32,
        /// Default: 1e-8.
        #[serde(default = "d_eps")]
        eps: f32,
    },
    /// Adam (Kingma & Ba) with bias correction.
    Adam {
        /// Default: 0.9.
        #[serde(default = "d_beta1")]
        beta1: f32,
        /// Default: 0.999.
        #[serde(default = "d_beta2")]
        beta2: f32,
        /// Default: 1e-8.
        #[serde(default = "d_eps")]
        eps: f32,
    },
    /// Adam with decoupled weight decay `w *= 1 - lr wd` (Loshchilov & Hutter).
    AdamW {
        /// Default: 0.9.
        #[serde(default = "d_beta1")]
        beta1: f32,
        /// Default: 0.999.
        #[serde(default = "d_beta2")]
        beta2: f32,
        /// Default: 1e-8.
        #[serde(default = "d_eps")]
        eps: f32,
        /// Decoupled decay `wd`. Default: 0.01 (PyTorch).
        #[serde(default = "d_weight_decay")]
        weight_decay: f32,
    },
}

impl Default for OptimizerSpec {
    /// Adam with its usual defaults: the most forgiving choice for an MLP.
    fn default() -> Self {
        OptimizerSpec::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

impl OptimizerSpec {
    /// Checks every hyper-parameter's range.
    ///
    /// # Errors
    /// The first field out of range, by name.
    pub fn validate(&self) -> Result<(), NnError> {
        match *self {
            OptimizerSpec::Sgd => Ok(()),
            OptimizerSpec::Momentum { momentum, .. } => check_unit_open("momentum", momentum),
            OptimizerSpec::Adagrad { eps } => check_positive("eps", eps),
            OptimizerSpec::RmsProp { rho, eps } => {
                check_unit_open("rho", rho)?;
                check_positive("eps", eps)
            }
            OptimizerSpec::Adam { beta1, beta2, eps } => {
                check_unit_open("beta1", beta1)?;
                check_unit_open("beta2", beta2)?;
                check_positive("eps", eps)
            }
            OptimizerSpec::AdamW {
                beta1,
                beta2,
                eps,
                weight_decay,
            } => {
                check_unit_open("beta1", beta1)?;
                check_unit_open("beta2", beta2)?;
                check_positive("eps", eps)?;
                check_non_negative("weight_decay", weight_decay)
            }
        }
    }
}

/// L1 and L2 penalty strengths (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Penalty {
    /// L1 strength. Default: 0.
    pub l1: f32,
    /// L2 strength (loss term `l2/2 |w|^2`). Default: 0.
    pub l2: f32,
    /// Also penalise biases and other `decay = false` parameters.
    /// Default: false (penalising biases only restricts the offsets).
    pub decay_biases: bool,
}

impl Penalty {
    /// # Errors
    /// A negative or non-finite strength.
    pub fn validate(&self) -> Result<(), NnError> {
        check_non_negative("l1", self.l1)?;
        check_non_negative("l2", self.l2)
    }
}

/// A configured optimizer with its per-parameter state.
#[derive(Debug, Clone)]
pub struct Optimizer {
    spec: OptimizerSpec,
    penalty: Penalty,
    /// Per parameter: first and second state buffers (empty when unused).
    slots: Vec<(Vec<f32>, Vec<f32>)>,
    t: u32,
}

impl Optimizer {
    /// A fresh optimizer (no state until the first step).
    ///
    /// # Errors
    /// An out-of-range hyper-parameter or penalty.
    pub fn new(spec: OptimizerSpec, penalty: Penalty) -> Result<Self, NnError> {
        spec.validate()?;
        penalty.validate()?;
        Ok(Optimizer {
            spec,
            penalty,
            slots: Vec::new(),
            t: 0,
        })
    }

    /// The configuration.
    pub fn spec(&self) -> OptimizerSpec {
        self.spec
    }

    /// Number of steps taken.
    pub fn steps(&self) -> u32 {
        self.t
    }

    /// One update of every trainable parameter with learning rate `lr`,
    /// then every gradient is reset to zero.
    ///
    /// # Panics
    /// If the parameter list changed length or shapes since the last step.
    pub fn step(&mut self, params: &mut [&mut Param], lr: f32) {
        self.t += 1;
        if self.slots.is_empty() {
            self.slots = params.iter().map(|p| self.new_slot(p)).collect();
        }
        assert_eq!(
            self.slots.len(),
            params.len(),
            "optimizer: parameter list changed length"
        );
        let t = self.t as i32;
        for (p, slot) in params.iter_mut().zip(self.slots.iter_mut()) {
            if !p.trainable {
                p.grad.fill(0.0);
                continue;
            }
            let penalised = p.decay || self.penalty.decay_biases;
            let l2 = if penalised { self.penalty.l2 } else { 0.0 };
            let l1 = if penalised { self.penalty.l1 } else { 0.0 };
            let w = p
                .value
                .as_slice_memory_order_mut()
                .expect("contiguous parameter");
            let g = p
                .grad
                .as_slice_memory_order_mut()
                .expect("contiguous gradient");
            assert_eq!(w.len(), g.len(), "optimizer: value/gradient length");
            let (a, b) = slot;
            match self.spec {
                OptimizerSpec::Sgd => sgd(w, g, lr, l2, l1),
                OptimizerSpec::Momentum { momentum, nesterov } => {
                    assert_eq!(a.len(), w.len(), "optimizer: parameter shape changed");
                    heavy_ball(w, g, a, lr, l2, l1, momentum, nesterov)
                }
                OptimizerSpec::Adagrad { eps } => {
                    assert_eq!(a.len(), w.len(), "optimizer: parameter shape changed");
                    adaptive(w, g, a, lr, l2, l1, eps, None)
                }
                OptimizerSpec::RmsProp { rho, eps } => {
                    assert_eq!(a.len(), w.len(), "optimizer: parameter shape changed");
                    adaptive(w, g, a, lr, l2, l1, eps, Some(rho))
                }
                OptimizerSpec::Adam { beta1, beta2, eps } => {
                    assert_eq!(a.len(), w.len(), "optimizer: parameter shape changed");
                    adam(
                        w,
                        g,
                        a,
                        b,
                        &AdamStep::new(beta1, beta2, eps, t, lr, l2, l1, 0.0),
                    )
                }
                OptimizerSpec::AdamW {
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                } => {
                    assert_eq!(a.len(), w.len(), "optimizer: parameter shape changed");
                    let wd = if penalised { weight_decay } else { 0.0 };
                    adam(
                        w,
                        g,
                        a,
                        b,
                        &AdamStep::new(beta1, beta2, eps, t, lr, l2, l1, wd),
                    )
                }
            }
        }
    }

    fn new_slot(&self, p: &Param) -> (Vec<f32>, Vec<f32>) {
        let n = if p.trainable { p.len() } else { 0 };
        match self.spec {
            OptimizerSpec::Sgd => (Vec::new(), Vec::new()),
            OptimizerSpec::Momentum { .. }
            | OptimizerSpec::Adagrad { .. }
            | OptimizerSpec::RmsProp { .. } => (vec![0.0; n], Vec::new()),
            OptimizerSpec::Adam { .. } | OptimizerSpec::AdamW { .. } => {
                (vec![0.0; n], vec![0.0; n])
            }
        }
    }
}

/// Scales every trainable gradient by `max_norm / norm` when the global L2
/// norm over all of them exceeds `max_norm`. Returns the norm before
/// clipping (a NaN norm is returned as is and nothing is scaled).
pub fn clip_grad_norm(params: &mut [&mut Param], max_norm: f32) -> f32 {
    let norm = global_grad_norm(params.iter().map(|p| &**p));
    if norm.is_finite() && norm > max_norm && norm > 0.0 {
        let s = max_norm / norm;
        for p in params.iter_mut().filter(|p| p.trainable) {
            p.grad.mapv_inplace(|g| g * s);
        }
    }
    norm
}

/// Global L2 norm of the trainable gradients (accumulated in f64).
pub fn global_grad_norm<'a>(params: impl Iterator<Item = &'a Param>) -> f32 {
    let mut sq = 0.0f64;
    for p in params.filter(|p| p.trainable) {
        sq += p.grad.iter().map(|&g| (g as f64) * (g as f64)).sum::<f64>();
    }
    sq.sqrt() as f32
}

#[cfg(test)]
#[path = "optim_tests.rs"]
mod tests;
