//! A trained classifier (architecture, hyper-parameters, standardisation
//! inside the network, weights, history) and the recipe that produces it.

use ndarray::{Array2, ArrayD, ArrayViewD, Axis, Ix2, Ix3};

use crate::nn::spec::{build, MlpSpec};
use crate::nn::standardize::Standardize;
use crate::nn::{rng_from_seed, Ctx, Layer, Sequential};
use crate::train::config::TrainConfig;
use crate::train::error::TrainError;
use crate::train::fit::{fit_observed, gather, Dataset, History};
use crate::train::observe::{EpochObserver, Silent};
use crate::train::split::grouped_stratified_split;

/// Batch size of inference passes (large: no gradient buffers are held).
const EVAL_BATCH: usize = 1024;

/// A trained MLP classifier with everything needed to use and reproduce it.
#[derive(Debug)]
pub struct TrainedModel {
    /// Architecture.
    pub spec: MlpSpec,
    /// Hyper-parameters it was trained with.
    pub train: TrainConfig,
    /// Size of the input's last axis (features, or per-frame dims).
    pub input_dim: usize,
    /// Number of classes (logits).
    pub n_classes: usize,
    /// Class names, index = class (may be empty).
    pub class_names: Vec<String>,
    /// `Some(k)` for a frame classifier over `±k` context windows.
    pub frame_context: Option<usize>,
    /// Frames between a frame classifier's neighbours (1 = adjacent; see
    /// [`crate::nn::context::Splice`]).
    pub frame_dilation: usize,
    /// The network; its first layer holds the standardisation when
    /// `spec.input_norm`.
    pub network: Sequential,
    /// Training history.
    pub history: History,
}

impl TrainedModel {
    /// Checks that `x` (and `lengths`) fit this model: rank, last axis equal
    /// to `input_dim`, one length per sample, finite values.
    ///
    /// # Errors
    /// [`TrainError::Data`] naming the mismatch.
    pub fn check_input(
        &self,
        x: ArrayViewD<'_, f32>,
        lengths: Option<&[usize]>,
    ) -> Result<(), TrainError> {
        let want_rank = match self.spec.pooling {
            crate::nn::spec::Pooling::None => 2,
            _ => 3,
        };
        if x.ndim() != want_rank || x.shape().last() != Some(&self.input_dim) {
            return Err(TrainError::Data(format!(
                "input shape {:?}: the model expects rank {want_rank} with last axis {}",
                x.shape(),
                self.input_dim
            )));
        }
        if let Some(l) = lengths {
            if l.len() != x.shape()[0] {
                return Err(TrainError::Data(format!(
                    "{} lengths for {} samples",
                    l.len(),
                    x.shape()[0]
                )));
            }
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(TrainError::Data("input has a non-finite value".into()));
        }
        Ok(())
    }

    /// Class logits in evaluation mode.
    ///
    /// # Shapes
    /// `(samples, ..) -> (samples, n_classes)`
    ///
    /// # Panics
    /// On an input the model cannot take (a caller bug); validate untrusted
    /// input with [`TrainedModel::check_input`] first.
    pub fn logits(&mut self, x: ArrayViewD<'_, f32>, lengths: Option<&[usize]>) -> Array2<f32> {
        let n = x.shape().first().copied().unwrap_or(0);
        let mut out = Array2::<f32>::zeros((n, self.n_classes));
        let mut rng = rng_from_seed(0);
        let mut buf = ArrayD::zeros(ndarray::IxDyn(&[0]));
        let idx: Vec<usize> = (0..n).collect();
        for chunk in idx.chunks(EVAL_BATCH) {
            gather(&x, chunk, &mut buf);
            let lengths = lengths.map(|l| chunk.iter().map(|&i| l[i]).collect());
            let mut ctx = Ctx {
                lengths,
                ..Ctx::eval(&mut rng)
            };
            let y = self
                .network
                .forward(buf.view(), &mut ctx)
                .into_dimensionality::<Ix2>()
                .expect("(batch, classes)");
            out.slice_mut(ndarray::s![chunk[0]..chunk[0] + chunk.len(), ..])
                .assign(&y);
        }
        out
    }

    /// Arg-max class per sample.
    pub fn predict(&mut self, x: ArrayViewD<'_, f32>, lengths: Option<&[usize]>) -> Vec<usize> {
        crate::nn::loss::argmax_rows(self.logits(x, lengths).view())
    }
}

/// Standardisation statistics of the valid rows of `x` (padded frames
/// beyond `lengths` are left out).
pub(crate) fn standardizer(x: ArrayViewD<'_, f32>, lengths: Option<&[usize]>) -> Standardize {
    match (lengths, x.view().into_dimensionality::<Ix3>()) {
        (Some(l), Ok(x3)) => {
            let dims = x3.shape()[2];
            let rows: Vec<f32> = x3
                .axis_iter(Axis(0))
                .zip(l)
                .flat_map(|(item, &len)| {
                    item.slice(ndarray::s![..len.min(item.nrows()), ..])
                        .iter()
                        .copied()
                        .collect::<Vec<_>>()
                })
                .collect();
            let m =
                Array2::from_shape_vec((rows.len() / dims.max(1), dims), rows).expect("whole rows");
            Standardize::fit(m.into_dyn().view())
        }
        _ => Standardize::fit(x),
    }
}

/// Puts `s`'s statistics into the network's first layer (built by
/// [`build`] with `input_norm`, so it is a standardisation layer).
pub(crate) fn install_standardizer(net: &mut Sequential, s: &Standardize) {
    let mut params = net.layers_mut()[0].params_mut();
    assert!(
        params.len() == 2 && params[0].name == "mean",
        "first layer is the standardisation"
    );
    params[0].value = s.mean.value.clone();
    params[1].value = s.inv_std.value.clone();
}

/// Samples, labels, weights and lengths of a subset.
type Subset = (
    ArrayD<f32>,
    Vec<usize>,
    Option<Vec<f32>>,
    Option<Vec<usize>>,
);

fn subset(data: &Dataset<'_>, idx: &[usize]) -> Subset {
    let mut x = ArrayD::zeros(ndarray::IxDyn(&[0]));
    gather(&data.x, idx, &mut x);
    let labels = idx.iter().map(|&i| data.labels[i]).collect();
    let w = data.weights.map(|w| idx.iter().map(|&i| w[i]).collect());
    let l = data.lengths.map(|l| idx.iter().map(|&i| l[i]).collect());
    (x, labels, w, l)
}

/// The whole recipe: stratified validation split (seeded), standardisation
/// from the training part only, network built from `spec` (seeded), fit.
///
/// # Errors
/// Invalid spec, config or data, or a non-finite loss/gradient.
pub fn train_classifier(
    spec: &MlpSpec,
    cfg: &TrainConfig,
    data: &Dataset<'_>,
    n_classes: usize,
    class_names: Vec<String>,
) -> Result<TrainedModel, TrainError> {
    train_classifier_observed(spec, cfg, data, n_classes, class_names, &mut Silent)
}

/// [`train_classifier`], reporting each epoch to `observer`.
///
/// # Errors
/// As [`train_classifier`].
pub fn train_classifier_observed(
    spec: &MlpSpec,
    cfg: &TrainConfig,
    data: &Dataset<'_>,
    n_classes: usize,
    class_names: Vec<String>,
    observer: &mut dyn EpochObserver,
) -> Result<TrainedModel, TrainError> {
    cfg.validate()?;
    spec.validate()?;
    data.validate(n_classes, "training data")?;
    let mut rng = rng_from_seed(cfg.seed);
    let (tr_idx, va_idx) = if cfg.val_fraction > 0.0 {
        grouped_stratified_split(data.labels, data.groups, cfg.val_fraction, &mut rng)
    } else {
        ((0..data.len()).collect(), Vec::new())
    };
    let (tx, tl, tw, tlen) = subset(data, &tr_idx);
    let (vx, vl, vw, vlen) = subset(data, &va_idx);
    let train = Dataset {
        x: tx.view(),
        labels: &tl,
        weights: tw.as_deref(),
        lengths: tlen.as_deref(),
        groups: None,
    };
    let val = Dataset {
        x: vx.view(),
        labels: &vl,
        weights: vw.as_deref(),
        lengths: vlen.as_deref(),
        groups: None,
    };
    let input_dim = *data.x.shape().last().expect("validated rank >= 2");
    let mut network = build(spec, input_dim, n_classes, &mut rng)?;
    if spec.input_norm {
        install_standardizer(&mut network, &standardizer(train.x.view(), train.lengths));
    }
    let val_opt = if va_idx.is_empty() { None } else { Some(&val) };
    let history = fit_observed(
        &mut network,
        &train,
        val_opt,
        n_classes,
        cfg,
        &mut rng,
        observer,
    )?;
    Ok(TrainedModel {
        spec: spec.clone(),
        train: cfg.clone(),
        input_dim,
        n_classes,
        class_names,
        frame_context: None,
        frame_dilation: 1,
        network,
        history,
    })
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
