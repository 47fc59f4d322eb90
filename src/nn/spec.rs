//! A serialisable description of a classifier architecture, and the builder
//! that turns it into a [`Sequential`].
//!
//! This is the `[classifier]` table of a TOML model config:
//!
//! ```toml
//! [classifier]
//! hidden = [256, 256]
//! activation = "relu"     # sigmoid | tanh | relu | leaky_relu | prelu | prelu_shared | maxout
//! dropout = 0.2
//! input_norm = true
//! ```
//!
//! The built network is, in order: optional [`Standardize`] (statistics
//! filled in by training), optional pooling over time, then per hidden size
//! either `Linear -> activation` or `Maxout`, each followed by `Dropout`
//! when `dropout > 0`, and a final `Linear` to the class logits (the softmax
//! is fused into the loss). A saved model stores this spec and rebuilds the
//! same layer list before loading the weights.

use serde::{Deserialize, Serialize};

use crate::nn::activation::{Activation as ActivationLayer, ActivationFn};
use crate::nn::dropout::Dropout;
use crate::nn::error::{check_non_negative, check_unit_open, NnError};
use crate::nn::init::Init;
use crate::nn::linear::Linear;
use crate::nn::maxout::Maxout;
use crate::nn::pool::{FlattenFrames, StatsPool};
use crate::nn::prelu::PRelu;
use crate::nn::standardize::Standardize;
use crate::nn::{Rng, Sequential};

/// Hidden-layer non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// ReLU. The default: fast, and the benchmark network's choice.
    #[default]
    Relu,
    /// Leaky ReLU with slope [`MlpSpec::leaky_slope`].
    LeakyRelu,
    /// PReLU, one learned slope per unit.
    Prelu,
    /// PReLU, one learned slope per layer.
    PreluShared,
    /// Maxout with [`MlpSpec::maxout_pieces`] pieces (replaces the linear
    /// layer and the activation of each hidden layer).
    Maxout,
}

impl Activation {
    /// True for the ReLU family (He initialisation suits them).
    pub fn is_relu_like(self) -> bool {
        !matches!(self, Activation::Sigmoid | Activation::Tanh)
    }
}

/// Pooling over time for `(batch, frames, dims)` inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pooling {
    /// Inputs are already `(batch, features)`. The default.
    #[default]
    None,
    /// Concatenate the first `frames` frames.
    Flatten {
        /// Frames kept (padded with zeros when shorter).
        frames: usize,
    },
    /// Mean and standard deviation over each item's valid frames.
    MeanStd,
}

fn d_hidden() -> Vec<usize> {
    vec![256, 256]
}
fn d_leaky() -> f32 {
    0.01
}
fn d_prelu() -> f32 {
    0.25
}
fn d_pieces() -> usize {
    2
}
fn d_true() -> bool {
    true
}

/// An MLP classifier architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpSpec {
    /// Hidden layer sizes. Default: `[256, 256]` (the benchmark network).
    #[serde(default = "d_hidden")]
    pub hidden: Vec<usize>,
    /// Default: ReLU.
    #[serde(default)]
    pub activation: Activation,
    /// Leaky-ReLU slope. Default: 0.01 (Maas et al.).
    #[serde(default = "d_leaky")]
    pub leaky_slope: f32,
    /// Initial PReLU slope. Default: 0.25 (He et al.).
    #[serde(default = "d_prelu")]
    pub prelu_init: f32,
    /// Pieces per maxout unit. Default: 2 (already spans ReLU and |x|).
    #[serde(default = "d_pieces")]
    pub maxout_pieces: usize,
    /// Dropout after each hidden layer. Default: 0 (off).
    #[serde(default)]
    pub dropout: f32,
    /// Standardise inputs with training-set statistics. Default: true
    /// (features such as log energies have very different scales).
    #[serde(default = "d_true")]
    pub input_norm: bool,
    /// Weight initialiser; `None` picks He for ReLU-like activations and
    /// Xavier otherwise. Default: None.
    #[serde(default)]
    pub init: Option<Init>,
    /// Pooling over time. Default: none.
    #[serde(default)]
    pub pooling: Pooling,
}

impl Default for MlpSpec {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

impl MlpSpec {
    /// A lower bound on the weights the network [`build`] makes from this
    /// spec holds: the products of the dense layers' input and output
    /// sizes (times the pieces of a maxout layer), without biases or other
    /// layers. `None` when the count overflows `u64`.
    ///
    /// A loader compares it with the values a file actually holds before
    /// building, so a header that declares a huge architecture is refused
    /// instead of allocating what it claims.
    pub fn min_weights(&self, input_dim: usize, n_classes: usize) -> Option<u64> {
        let mut dim = match self.pooling {
            Pooling::None => input_dim as u64,
            Pooling::Flatten { frames } => (frames as u64).checked_mul(input_dim as u64)?,
            Pooling::MeanStd => (input_dim as u64).checked_mul(2)?,
        };
        let pieces = match self.activation {
            Activation::Maxout => self.maxout_pieces as u64,
            _ => 1,
        };
        let mut total = 0u64;
        for &h in &self.hidden {
            let h = h as u64;
            total = total.checked_add(dim.checked_mul(h)?.checked_mul(pieces)?)?;
            dim = h;
        }
        total.checked_add(dim.checked_mul(n_classes as u64)?)
    }

    /// Checks every field.
    ///
    /// # Errors
    /// The first invalid field, by name and value.
    pub fn validate(&self) -> Result<(), NnError> {
        if let Some(i) = self.hidden.iter().position(|&h| h == 0) {
            return Err(NnError::invalid(
                "hidden",
                format!("{:?} (entry {i})", self.hidden),
                "sizes must be >= 1",
            ));
        }
        check_unit_open("dropout", self.dropout)?;
        check_non_negative("leaky_slope", self.leaky_slope)?;
        check_non_negative("prelu_init", self.prelu_init)?;
        if self.activation == Activation::Maxout && self.maxout_pieces < 2 {
            return Err(NnError::invalid(
                "maxout_pieces",
                self.maxout_pieces,
                "must be >= 2 with activation = maxout",
            ));
        }
        if let Pooling::Flatten { frames: 0 } = self.pooling {
            return Err(NnError::invalid("pooling.frames", 0, "must be >= 1"));
        }
        Ok(())
    }

    /// The initialiser actually used.
    pub fn effective_init(&self) -> Init {
        self.init.unwrap_or(if self.activation.is_relu_like() {
            Init::HeUniform
        } else {
            Init::XavierUniform
        })
    }
}

/// Builds the network of `spec` for inputs whose last axis has `input_dim`
/// features (per frame when pooling) and `n_classes` outputs.
///
/// # Errors
/// An invalid spec, `input_dim == 0` or `n_classes < 2`.
pub fn build(
    spec: &MlpSpec,
    input_dim: usize,
    n_classes: usize,
    rng: &mut Rng,
) -> Result<Sequential, NnError> {
    spec.validate()?;
    if input_dim == 0 {
        return Err(NnError::invalid("input_dim", 0, "must be >= 1"));
    }
    if n_classes < 2 {
        return Err(NnError::invalid("n_classes", n_classes, "must be >= 2"));
    }
    let init = spec.effective_init();
    let mut net = Sequential::new();
    if spec.input_norm {
        net.push(Standardize::identity(input_dim));
    }
    let mut dim = match spec.pooling {
        Pooling::None => input_dim,
        Pooling::Flatten { frames } => {
            net.push(FlattenFrames::new(frames));
            frames * input_dim
        }
        Pooling::MeanStd => {
            net.push(StatsPool::default());
            2 * input_dim
        }
    };
    for &h in &spec.hidden {
        match spec.activation {
            Activation::Maxout => net.push(Maxout::new(dim, h, spec.maxout_pieces, init, rng)),
            act => {
                net.push(Linear::new(dim, h, init, rng));
                match act {
                    Activation::Sigmoid => net.push(ActivationLayer::new(ActivationFn::Sigmoid)?),
                    Activation::Tanh => net.push(ActivationLayer::new(ActivationFn::Tanh)?),
                    Activation::Relu => net.push(ActivationLayer::new(ActivationFn::Relu)?),
                    Activation::LeakyRelu => net.push(ActivationLayer::new(
                        ActivationFn::LeakyRelu(spec.leaky_slope),
                    )?),
                    Activation::Prelu => net.push(PRelu::per_unit(h, spec.prelu_init)),
                    Activation::PreluShared => net.push(PRelu::shared(spec.prelu_init)),
                    Activation::Maxout => unreachable!("handled above"),
                }
            }
        }
        if spec.dropout > 0.0 {
            net.push(Dropout::new(spec.dropout)?);
        }
        dim = h;
    }
    net.push(Linear::new(dim, n_classes, init, rng));
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_layer, CheckOptions};
    use crate::nn::{rng_from_seed, Layer};
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn toml_round_trip_and_defaults() {
        let s: MlpSpec = toml::from_str(
            "hidden = [64]\nactivation = \"maxout\"\nmaxout_pieces = 3\ndropout = 0.1",
        )
        .unwrap();
        assert_eq!(s.hidden, vec![64]);
        assert_eq!(s.activation, Activation::Maxout);
        assert!(s.input_norm);
        let back: MlpSpec = toml::from_str(&toml::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        let d = MlpSpec::default();
        assert_eq!(d.hidden, vec![256, 256]);
        assert_eq!(d.effective_init(), Init::HeUniform);
        assert!(
            toml::from_str::<MlpSpec>("hiden = [3]").is_err(),
            "typos are rejected"
        );
        let p: MlpSpec = toml::from_str("pooling = { kind = \"flatten\", frames = 10 }").unwrap();
        assert_eq!(p.pooling, Pooling::Flatten { frames: 10 });
    }

    #[test]
    fn build_layers_and_errors() {
        let mut rng = rng_from_seed(1);
        let spec = MlpSpec {
            hidden: vec![8, 4],
            dropout: 0.2,
            ..Default::default()
        };
        let net = build(&spec, 5, 3, &mut rng).unwrap();
        let names: Vec<String> = net.layers().iter().map(|l| l.name()).collect();
        assert_eq!(
            names,
            vec![
                "standardize(5)",
                "linear(5->8)",
                "relu",
                "dropout(0.2)",
                "linear(8->4)",
                "relu",
                "dropout(0.2)",
                "linear(4->3)"
            ]
        );
        let e = build(
            &MlpSpec {
                dropout: 1.0,
                ..spec.clone()
            },
            5,
            3,
            &mut rng,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("dropout = 1"));
        assert!(build(&spec, 5, 1, &mut rng).is_err());
        let e = build(
            &MlpSpec {
                hidden: vec![3, 0],
                ..spec
            },
            5,
            3,
            &mut rng,
        )
        .unwrap_err();
        assert!(e.to_string().contains("hidden"));
    }

    #[test]
    fn min_weights_bounds_the_built_network_and_catches_overflow() {
        let mut rng = rng_from_seed(1);
        for (act, pooling) in [
            (Activation::Relu, Pooling::None),
            (Activation::Maxout, Pooling::MeanStd),
            (Activation::Prelu, Pooling::Flatten { frames: 3 }),
        ] {
            let spec = MlpSpec {
                hidden: vec![8, 4],
                activation: act,
                pooling,
                ..Default::default()
            };
            let net = build(&spec, 5, 3, &mut rng).unwrap();
            let held: u64 = net.params().iter().map(|p| p.len() as u64).sum();
            let bound = spec.min_weights(5, 3).unwrap();
            assert!(
                bound <= held && bound > held / 2,
                "{act:?}: {bound} vs {held}"
            );
        }
        let huge = MlpSpec {
            hidden: vec![usize::MAX / 2, usize::MAX / 2],
            ..Default::default()
        };
        assert_eq!(huge.min_weights(5, 3), None);
    }

    #[test]
    fn every_activation_builds_and_passes_gradcheck() {
        for act in [
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::LeakyRelu,
            Activation::Prelu,
            Activation::PreluShared,
            Activation::Maxout,
        ] {
            let spec = MlpSpec {
                hidden: vec![6],
                activation: act,
                input_norm: false,
                ..Default::default()
            };
            let mut net = build(&spec, 4, 3, &mut rng_from_seed(2)).unwrap();
            let x =
                ArrayD::from_shape_fn(IxDyn(&[3, 4]), |i| ((i[0] * 4 + i[1]) as f32 * 0.9).sin());
            // Piecewise-linear activations have kinks; a smaller step keeps
            // probes on one side, and one straddling probe is tolerated.
            let opts = CheckOptions {
                step: 1e-3,
                allowed_mismatches: 1,
                ..Default::default()
            };
            check_layer(&mut net, &x, &opts);
        }
    }

    #[test]
    fn pooled_specs_build() {
        let spec = MlpSpec {
            hidden: vec![4],
            pooling: Pooling::MeanStd,
            ..Default::default()
        };
        let mut net = build(&spec, 3, 2, &mut rng_from_seed(0)).unwrap();
        let x = ArrayD::from_shape_fn(IxDyn(&[2, 5, 3]), |i| {
            (i[1] as f32 - i[2] as f32) * 0.3 + i[0] as f32
        });
        let y = net.forward(x.view(), &mut crate::nn::Ctx::eval(&mut rng_from_seed(0)));
        assert_eq!(y.shape(), &[2, 2]);
    }
}
