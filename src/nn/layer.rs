//! The one layer contract shared by front-end stages and classifier layers.
//!
//! A [`Layer`] maps an activation tensor to another with [`Layer::forward`] and
//! sends the loss gradient back with [`Layer::backward`], accumulating the
//! gradients of its own parameters on the way. Front-end stages (window, mel,
//! compression, DCT) and classifier layers (linear, activations, dropout,
//! pooling) implement the same trait, so one backward pass reaches every
//! learned stage.
//!
//! # Tensor conventions
//! - f32 everywhere (f64 only inside [`crate::nn::gradcheck`]).
//! - A batch of waveforms is `(batch, samples)`; front-end activations are
//!   `(batch, frames, bins)`; the classifier sees `(batch, features)`.
//! - Utterances of different lengths in one batch are zero-padded along the
//!   frame axis; [`Ctx::lengths`] then carries the valid length of each.
//!
//! # Randomness
//! Every random choice during a forward pass (dropout masks, dither,
//! augmentation) draws from [`Ctx::rng`], one seeded generator passed in
//! explicitly, so the same seed gives the same numbers.

use ndarray::{ArrayD, ArrayViewD};

use crate::nn::Rng;

/// Whether a forward pass is part of training (dropout active, caches kept
/// for backward) or of evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Training: stochastic layers draw from the generator; caches for
    /// `backward` are kept.
    Train,
    /// Evaluation: deterministic; `backward` need not be called.
    Eval,
}

/// Per-call context of a forward pass.
pub struct Ctx<'a> {
    /// Training or evaluation.
    pub mode: Mode,
    /// The run's seeded generator.
    pub rng: &'a mut Rng,
    /// Valid length (along axis 1) of each batch item, when items were
    /// zero-padded to a common length; `None` means every item is full.
    /// A layer that changes the length of axis 1 (framing) updates it.
    pub lengths: Option<Vec<usize>>,
}

impl<'a> Ctx<'a> {
    /// A training context with no length information.
    pub fn train(rng: &'a mut Rng) -> Self {
        Ctx {
            mode: Mode::Train,
            rng,
            lengths: None,
        }
    }

    /// An evaluation context with no length information.
    pub fn eval(rng: &'a mut Rng) -> Self {
        Ctx {
            mode: Mode::Eval,
            rng,
            lengths: None,
        }
    }

    /// True in [`Mode::Train`].
    pub fn training(&self) -> bool {
        self.mode == Mode::Train
    }
}

/// A parameter tensor with its gradient buffer.
#[derive(Debug, Clone)]
pub struct Param {
    /// Stable name, unique within its layer (`"weight"`, `"bias"`, `"alpha"`).
    pub name: String,
    /// Current value; this is what the optimizer moves.
    pub value: ArrayD<f32>,
    /// Accumulated gradient of the loss with respect to `value`, same shape.
    /// `backward` adds into it; [`Layer::zero_grad`] clears it.
    pub grad: ArrayD<f32>,
    /// When false the optimizer leaves the value alone and layers may skip
    /// computing its gradient (a hand-crafted stage).
    pub trainable: bool,
    /// Whether L1/L2 penalties apply (weights: yes; biases: no by default).
    pub decay: bool,
}

impl Param {
    /// A trainable parameter with a zeroed gradient buffer.
    pub fn new(name: &str, value: ArrayD<f32>, decay: bool) -> Self {
        let grad = ArrayD::zeros(value.raw_dim());
        Param {
            name: name.to_string(),
            value,
            grad,
            trainable: true,
            decay,
        }
    }

    /// A frozen parameter (hand-crafted stage): listed, saved, never updated.
    pub fn frozen(name: &str, value: ArrayD<f32>) -> Self {
        let mut p = Param::new(name, value, false);
        p.trainable = false;
        p
    }

    /// Number of scalars.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// True for a parameter with no scalars.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

/// A differentiable stage: forward, backward and its parameters.
///
/// Contract (checked for every implementation by
/// [`crate::nn::gradcheck::check_layer`]):
/// - `forward` in [`Mode::Train`] keeps whatever `backward` needs; `backward`
///   is called at most once per training forward, with the gradient of the
///   loss with respect to the forward output (same shape as that output).
/// - `backward` returns the gradient with respect to the forward input and
///   **adds** parameter gradients into [`Param::grad`] (it never overwrites).
/// - Batch items are independent: running a batch equals running each item
///   alone (except for layers that pool across the batch, which none do).
/// - A batch of zero items is valid and gives zero items.
///
/// # Panics
/// Implementations panic on a shape that does not match their configuration
/// (a caller bug), with the expected and actual shapes in the message.
pub trait Layer: Send + Sync {
    /// Short human-readable description, e.g. `linear(1287->256)`.
    fn name(&self) -> String;

    /// Applies the layer.
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32>;

    /// Back-propagates `grad_out` (d loss / d output) and returns d loss / d input.
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32>;

    /// Like [`Layer::backward`] when the input gradient is not needed (the
    /// first layer of a network): only parameter gradients are accumulated.
    /// Layers whose input gradient is costly (linear) override it.
    fn backward_params_only(&mut self, grad_out: ArrayViewD<'_, f32>) {
        let _ = self.backward(grad_out);
    }

    /// The layer's parameters, in a stable order.
    fn params(&self) -> Vec<&Param> {
        Vec::new()
    }

    /// The layer's parameters, mutable, in the same order as [`Layer::params`].
    fn params_mut(&mut self) -> Vec<&mut Param> {
        Vec::new()
    }

    /// Clears every gradient buffer.
    fn zero_grad(&mut self) {
        for p in self.params_mut() {
            p.grad.fill(0.0);
        }
    }

    /// Number of trainable scalars.
    fn num_trainable(&self) -> usize {
        self.params()
            .iter()
            .filter(|p| p.trainable)
            .map(|p| p.len())
            .sum()
    }
}
