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

/// `sign(w) max(|w| - t, 0)`, branch-free (vectorisable).
#[inline(always)]
fn soft_threshold(w: f32, t: f32) -> f32 {
    (w.abs() - t).max(0.0).copysign(w)
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

fn sgd(w: &mut [f32], g: &mut [f32], lr: f32, l2: f32, l1: f32) {
    for (w, g) in w.iter_mut().zip(g.iter_mut()) {
        let ge = *g + l2 * *w;
        *w -= lr * ge;
        *g = 0.0;
    }
    if l1 > 0.0 {
        w.iter_mut().for_each(|w| *w = soft_threshold(*w, lr * l1));
    }
}

#[allow(clippy::too_many_arguments)]
fn heavy_ball(
    w: &mut [f32],
    g: &mut [f32],
    v: &mut [f32],
    lr: f32,
    l2: f32,
    l1: f32,
    mu: f32,
    nesterov: bool,
) {
    for ((w, g), v) in w.iter_mut().zip(g.iter_mut()).zip(v.iter_mut()) {
        let ge = *g + l2 * *w;
        *v = mu * *v + ge;
        let d = if nesterov { ge + mu * *v } else { *v };
        *w -= lr * d;
        *g = 0.0;
    }
    if l1 > 0.0 {
        w.iter_mut().for_each(|w| *w = soft_threshold(*w, lr * l1));
    }
}

/// Adagrad (`rho = None`) or RMSProp (`rho = Some`).
#[allow(clippy::too_many_arguments)]
fn adaptive(
    w: &mut [f32],
    g: &mut [f32],
    s2: &mut [f32],
    lr: f32,
    l2: f32,
    l1: f32,
    eps: f32,
    rho: Option<f32>,
) {
    let (keep, add) = match rho {
        Some(r) => (r, 1.0 - r),
        None => (1.0, 1.0),
    };
    for ((w, g), s2) in w.iter_mut().zip(g.iter_mut()).zip(s2.iter_mut()) {
        let ge = *g + l2 * *w;
        *s2 = keep * *s2 + add * ge * ge;
        let step = lr / (s2.sqrt() + eps);
        let nw = *w - step * ge;
        *w = if l1 > 0.0 {
            soft_threshold(nw, step * l1)
        } else {
            nw
        };
        *g = 0.0;
    }
}

/// Scalars of one Adam/AdamW update.
struct AdamStep {
    lr: f32,
    /// Coupled L2 strength (0 when not penalised).
    l2: f32,
    /// Proximal L1 strength (0 when not penalised).
    l1: f32,
    /// AdamW decoupled decay (0 for Adam or when not penalised).
    wd: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    /// `1 / (1 - beta1^t)`
    c1: f32,
    /// `1 / (1 - beta2^t)`
    c2: f32,
}

impl AdamStep {
    #[allow(clippy::too_many_arguments)]
    fn new(beta1: f32, beta2: f32, eps: f32, t: i32, lr: f32, l2: f32, l1: f32, wd: f32) -> Self {
        let c1 = 1.0 / (1.0 - (beta1 as f64).powi(t)) as f32;
        let c2 = 1.0 / (1.0 - (beta2 as f64).powi(t)) as f32;
        AdamStep {
            lr,
            l2,
            l1,
            wd,
            beta1,
            beta2,
            eps,
            c1,
            c2,
        }
    }
}

/// Adam / AdamW (`wd > 0`): one fused pass per parameter.
///
/// The loop is written element-wise without cross-lane dependencies so the
/// compiler vectorises it; on x86-64 CPUs with AVX2 a copy compiled for AVX2
/// (8 lanes instead of SSE2's 4) is picked at run time. Rust never fuses a
/// multiply and an add on its own, and `sqrt` and `/` are correctly rounded
/// in every instruction set, so both copies give bit-identical results.
fn adam(w: &mut [f32], g: &mut [f32], m: &mut [f32], v: &mut [f32], k: &AdamStep) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above), the only
            // requirement of a `target_feature(enable = "avx2")` function.
            unsafe { adam_avx2(w, g, m, v, k) };
            return;
        }
    }
    adam_dispatch_l1(w, g, m, v, k);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn adam_avx2(w: &mut [f32], g: &mut [f32], m: &mut [f32], v: &mut [f32], k: &AdamStep) {
    adam_dispatch_l1(w, g, m, v, k);
}

#[inline(always)]
fn adam_dispatch_l1(w: &mut [f32], g: &mut [f32], m: &mut [f32], v: &mut [f32], k: &AdamStep) {
    if k.l1 > 0.0 {
        adam_body::<true>(w, g, m, v, k);
    } else {
        adam_body::<false>(w, g, m, v, k);
    }
}

/// The element-wise update; `L1` selects (at compile time) the loop with
/// the proximal step, so the common loop carries no extra work.
#[inline(always)]
fn adam_body<const L1: bool>(
    w: &mut [f32],
    g: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    k: &AdamStep,
) {
    let (b1, b2, eps, c1, c2, lr, l2) = (k.beta1, k.beta2, k.eps, k.c1, k.c2, k.lr, k.l2);
    let (nb1, nb2) = (1.0 - b1, 1.0 - b2);
    let decay = 1.0 - lr * k.wd;
    for (((w, g), m), v) in w
        .iter_mut()
        .zip(g.iter_mut())
        .zip(m.iter_mut())
        .zip(v.iter_mut())
    {
        let ge = *g + l2 * *w;
        let mi = b1 * *m + nb1 * ge;
        let vi = b2 * *v + nb2 * ge * ge;
        let step = lr / ((vi * c2).sqrt() + eps);
        let nw = *w * decay - step * (mi * c1);
        (*m, *v, *g) = (mi, vi, 0.0);
        *w = if L1 {
            soft_threshold(nw, step * k.l1)
        } else {
            nw
        };
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
