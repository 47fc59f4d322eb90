//! One optimisation step, and the trait a model implements to be trained.

use ndarray::{Array2, ArrayD, ArrayViewD, Ix2};

use crate::nn::loss::smoothed_cross_entropy_into;
use crate::nn::optim::Optimizer;
use crate::nn::{Ctx, Layer, Mode, Param, Rng, Sequential};
use crate::train::config::TrainConfig;
use crate::train::error::TrainError;

/// What the training loop needs from a model (see the module docs of
/// [`crate::train`] for joint front-end + classifier training).
pub trait TrainModel {
    /// Forward pass to the class logits `(batch, classes)`.
    fn forward_logits(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32>;

    /// Back-propagates `d loss / d logits`, accumulating every parameter
    /// gradient; the input gradient is not needed.
    fn backward_logits(&mut self, grad_logits: ArrayViewD<'_, f32>);

    /// Parameters in a stable order.
    fn parameters(&self) -> Vec<&Param>;

    /// The same parameters, mutable.
    fn parameters_mut(&mut self) -> Vec<&mut Param>;

    /// One human-readable label per parameter (layer and name), same order.
    fn param_labels(&self) -> Vec<String>;

    /// Names the first stage whose output is not finite for `x`, if the
    /// model can tell (a diagnostic for the NaN guard). Default: unknown.
    fn locate_nonfinite(&mut self, _x: ArrayViewD<'_, f32>, _ctx: &mut Ctx<'_>) -> Option<String> {
        None
    }

    /// The frame objective: after a forward pass whose logits have one row
    /// per *frame* rather than one per batch item, the batch item of each
    /// row. The loss is then the cross-entropy of every row against its
    /// item's label, averaged over rows (each frame one sample, as
    /// [`crate::train::frames`] trains). Default: `None`, one row per item.
    fn row_items(&self) -> Option<Vec<usize>> {
        None
    }

    /// Called by [`crate::train::fit()`] before each epoch's first batch
    /// (1-based `epoch`), e.g. to refresh statistics that depend on the
    /// model's own parameters. Default: nothing.
    fn begin_epoch(&mut self, _epoch: usize) {}
}

impl TrainModel for Sequential {
    fn forward_logits(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        self.forward(x, ctx)
    }

    fn backward_logits(&mut self, grad_logits: ArrayViewD<'_, f32>) {
        self.backward_params_only(grad_logits);
    }

    fn parameters(&self) -> Vec<&Param> {
        self.params()
    }

    fn parameters_mut(&mut self) -> Vec<&mut Param> {
        self.params_mut()
    }

    fn param_labels(&self) -> Vec<String> {
        Sequential::param_labels(self)
    }

    fn locate_nonfinite(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> Option<String> {
        self.first_nonfinite_layer(x, ctx)
    }
}

/// Loss and hits of one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// Batch-mean cross-entropy (before the update).
    pub loss: f32,
    /// Correct arg-max predictions in the batch (rows).
    pub correct: usize,
    /// Rows the loss averaged over: batch items, or frames under the frame
    /// objective ([`TrainModel::row_items`]).
    pub rows: usize,
    /// Sum of the rows' weights (`rows` without weights).
    pub weight: f64,
}

/// Optimizer plus the buffers reused between steps.
#[derive(Debug, Clone)]
pub struct Trainer {
    opt: Optimizer,
    clip: Option<f32>,
    smoothing: f32,
    grad: Array2<f32>,
}

impl Trainer {
    /// A trainer for `cfg`'s optimizer, penalties and clipping.
    ///
    /// # Errors
    /// An invalid configuration field.
    pub fn new(cfg: &TrainConfig) -> Result<Self, TrainError> {
        cfg.validate()?;
        Ok(Trainer {
            opt: Optimizer::new(cfg.optimizer, cfg.penalty())?,
            clip: cfg.clip_norm,
            smoothing: cfg.label_smoothing,
            grad: Array2::zeros((0, 0)),
        })
    }

    /// One step on a batch: forward, loss, backward, guard, clip, update.
    ///
    /// # Errors
    /// [`TrainError::NonFinite`] (epoch and batch 0: the caller fills them
    /// in) when the loss or a gradient is NaN or infinite; the parameters
    /// are left unchanged then.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        model: &mut dyn TrainModel,
        x: ArrayViewD<'_, f32>,
        labels: &[usize],
        weights: Option<&[f32]>,
        lengths: Option<Vec<usize>>,
        lr: f32,
        rng: &mut Rng,
    ) -> Result<StepStats, TrainError> {
        let logits = {
            let mut ctx = Ctx {
                mode: Mode::Train,
                rng: &mut *rng,
                lengths: lengths.clone(),
            };
            model.forward_logits(x.view(), &mut ctx)
        };
        let logits = logits
            .into_dimensionality::<Ix2>()
            .expect("model output must be (batch, classes)");
        let expanded = model.row_items().map(|rows| expand(&rows, labels, weights));
        let (labels, weights) = match &expanded {
            Some((l, w)) => (l.as_slice(), w.as_deref()),
            None => (labels, weights),
        };
        let loss = smoothed_cross_entropy_into(
            logits.view(),
            labels,
            weights,
            self.smoothing,
            &mut self.grad,
        );
        if !loss.is_finite() {
            let mut ctx = Ctx {
                mode: Mode::Eval,
                rng,
                lengths,
            };
            let place = model
                .locate_nonfinite(x, &mut ctx)
                .map_or(String::new(), |l| {
                    format!(" (first non-finite output: {l})")
                });
            model
                .parameters_mut()
                .into_iter()
                .for_each(|p| p.grad.fill(0.0));
            return Err(non_finite(format!("loss is {loss}{place}")));
        }
        let correct = count_correct(logits.view(), labels);
        model.backward_logits(self.grad.view().into_dyn());
        let mut params = model.parameters_mut();
        let mut sq = 0.0f64;
        let mut bad = None;
        for (k, p) in params.iter().enumerate().filter(|(_, p)| p.trainable) {
            let s = sum_squares(p.grad.as_slice_memory_order().expect("contiguous gradient"));
            if !s.is_finite() && bad.is_none() {
                bad = Some(k);
            }
            sq += s;
        }
        if let Some(k) = bad {
            params.iter_mut().for_each(|p| p.grad.fill(0.0));
            drop(params);
            let label = model
                .param_labels()
                .get(k)
                .cloned()
                .unwrap_or_else(|| format!("parameter {k}"));
            return Err(non_finite(format!("gradient of {label} is not finite")));
        }
        if let Some(max) = self.clip {
            let norm = sq.sqrt() as f32;
            if norm > max {
                let s = max / norm;
                params
                    .iter_mut()
                    .filter(|p| p.trainable)
                    .for_each(|p| p.grad.mapv_inplace(|g| g * s));
            }
        }
        self.opt.step(&mut params, lr);
        let weight = weights.map_or(labels.len() as f64, |w| w.iter().map(|&v| v as f64).sum());
        Ok(StepStats {
            loss,
            correct,
            rows: labels.len(),
            weight,
        })
    }
}

/// Labels (and weights) of each logit row from its batch item's.
pub(crate) fn expand(
    rows: &[usize],
    labels: &[usize],
    weights: Option<&[f32]>,
) -> (Vec<usize>, Option<Vec<f32>>) {
    (
        rows.iter().map(|&b| labels[b]).collect(),
        weights.map(|w| rows.iter().map(|&b| w[b]).collect()),
    )
}

fn non_finite(what: String) -> TrainError {
    TrainError::NonFinite {
        epoch: 0,
        batch: 0,
        what,
    }
}

/// Sum of squares with eight f32 lanes (vectorisable), combined in f64.
/// Any NaN or infinity makes the result non-finite.
fn sum_squares(v: &[f32]) -> f64 {
    let mut lanes = [0.0f32; 8];
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l += x * x;
        }
    }
    let tail: f64 = chunks
        .remainder()
        .iter()
        .map(|&x| (x as f64) * (x as f64))
        .sum();
    lanes.iter().map(|&l| l as f64).sum::<f64>() + tail
}

/// Rows whose arg-max equals the label.
pub(crate) fn count_correct(logits: ndarray::ArrayView2<'_, f32>, labels: &[usize]) -> usize {
    crate::nn::loss::argmax_rows(logits)
        .iter()
        .zip(labels)
        .filter(|(p, l)| p == l)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::rng_from_seed;
    use crate::nn::spec::{build, MlpSpec};
    use ndarray::IxDyn;

    fn setup() -> (Sequential, ArrayD<f32>, Vec<usize>) {
        let spec = MlpSpec {
            hidden: vec![5],
            input_norm: false,
            ..Default::default()
        };
        let net = build(&spec, 3, 2, &mut rng_from_seed(0)).unwrap();
        let x = ArrayD::from_shape_fn(IxDyn(&[4, 3]), |i| {
            (i[0] as f32 - 1.5) * (i[1] as f32 + 1.0)
        });
        (net, x, vec![0, 0, 1, 1])
    }

    #[test]
    fn a_step_lowers_the_loss_and_consumes_gradients() {
        let (mut net, x, y) = setup();
        let cfg = TrainConfig {
            lr: 0.05,
            ..Default::default()
        };
        let mut tr = Trainer::new(&cfg).unwrap();
        let mut rng = rng_from_seed(1);
        let first = tr
            .step(&mut net, x.view(), &y, None, None, cfg.lr, &mut rng)
            .unwrap();
        let mut last = first;
        for _ in 0..20 {
            last = tr
                .step(&mut net, x.view(), &y, None, None, cfg.lr, &mut rng)
                .unwrap();
        }
        assert!(last.loss < first.loss * 0.5, "{first:?} -> {last:?}");
        assert!(net
            .params()
            .iter()
            .all(|p| p.grad.iter().all(|&g| g == 0.0)));
    }

    #[test]
    fn nan_loss_names_the_layer() {
        let (mut net, x, y) = setup();
        net.layers_mut()[0].params_mut()[0].value[[0, 0]] = f32::NAN;
        let before: Vec<ArrayD<f32>> = net.params().iter().map(|p| p.value.clone()).collect();
        let mut tr = Trainer::new(&TrainConfig::default()).unwrap();
        let e = tr
            .step(
                &mut net,
                x.view(),
                &y,
                None,
                None,
                0.1,
                &mut rng_from_seed(1),
            )
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("loss is NaN") && msg.contains("layer 0 linear(3->5)"),
            "{msg}"
        );
        let after: Vec<ArrayD<f32>> = net.params().iter().map(|p| p.value.clone()).collect();
        assert_eq!(
            format!("{before:?}"),
            format!("{after:?}"),
            "no update after a failed step"
        );
    }

    #[test]
    fn sum_squares_flags_nan_and_inf() {
        assert_eq!(sum_squares(&[1.0; 11]), 11.0);
        assert!(!sum_squares(&[1.0, f32::NAN, 0.0]).is_finite());
        let mut v = vec![0.0f32; 17];
        v[16] = f32::INFINITY;
        assert!(!sum_squares(&v).is_finite());
    }
}
