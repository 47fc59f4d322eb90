//! The epoch loop: seeded shuffling, mini-batches, validation, early
//! stopping that restores the best weights, and the per-epoch history.
//!
//! Training loss and accuracy of an epoch are the running means over its
//! mini-batches (training mode, before each update), as most toolkits
//! report them; validation figures come from a separate pass in evaluation
//! mode after the epoch.

use ndarray::{ArrayD, ArrayViewD, Axis, Ix2, IxDyn};
use serde::{Deserialize, Serialize};

use crate::nn::loss::softmax_cross_entropy_into;
use crate::nn::{Ctx, Rng};
use crate::train::config::TrainConfig;
use crate::train::error::TrainError;
use crate::train::observe::{EpochObserver, Silent};
use crate::train::split::shuffle;
use crate::train::trainer::{count_correct, TrainModel, Trainer};

/// In-memory samples along axis 0 of `x`, with labels and optional extras.
#[derive(Debug, Clone)]
pub struct Dataset<'a> {
    /// `(samples, ..)`: feature vectors `(samples, features)` or padded
    /// sequences `(samples, frames, bins)`.
    pub x: ArrayViewD<'a, f32>,
    /// One class index per sample.
    pub labels: &'a [usize],
    /// Optional per-sample loss weights.
    pub weights: Option<&'a [f32]>,
    /// Optional valid length (axis 1) per sample, for padded sequences.
    pub lengths: Option<&'a [usize]>,
    /// Optional group per sample: samples of one group (an utterance and
    /// its augmented copies) land on the same side of a validation split
    /// (see `train::split::grouped_stratified_split`).
    pub groups: Option<&'a [usize]>,
}

impl<'a> Dataset<'a> {
    /// Samples `x` with `labels`, no weights or lengths.
    pub fn new(x: ArrayViewD<'a, f32>, labels: &'a [usize]) -> Self {
        Dataset {
            x,
            labels,
            weights: None,
            lengths: None,
            groups: None,
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True with no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Checks sizes, labels, weights and that every feature is finite.
    ///
    /// # Errors
    /// [`TrainError::Data`] naming what and where.
    pub fn validate(&self, n_classes: usize, what: &str) -> Result<(), TrainError> {
        let n = self.x.shape().first().copied().unwrap_or(0);
        if self.x.ndim() < 2 {
            return Err(TrainError::Data(format!(
                "{what}: x must be (samples, ..), got shape {:?}",
                self.x.shape()
            )));
        }
        if n != self.labels.len() {
            return Err(TrainError::Data(format!(
                "{what}: {} labels for {n} samples",
                self.labels.len()
            )));
        }
        if let Some((i, &c)) = self
            .labels
            .iter()
            .enumerate()
            .find(|(_, &c)| c >= n_classes)
        {
            return Err(TrainError::Data(format!(
                "{what}: label {c} of sample {i} >= n_classes {n_classes}"
            )));
        }
        if let Some(w) = self.weights {
            if w.len() != n {
                return Err(TrainError::Data(format!(
                    "{what}: {} weights for {n} samples",
                    w.len()
                )));
            }
            if let Some((i, v)) = w
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite() || **v < 0.0)
            {
                return Err(TrainError::Data(format!(
                    "{what}: weight {v} of sample {i} is not finite and >= 0"
                )));
            }
        }
        if let Some(l) = self.lengths {
            if l.len() != n {
                return Err(TrainError::Data(format!(
                    "{what}: {} lengths for {n} samples",
                    l.len()
                )));
            }
        }
        if let Some(pos) = self.x.iter().position(|v| !v.is_finite()) {
            let row = pos / (self.x.len() / n.max(1)).max(1);
            return Err(TrainError::Data(format!(
                "{what}: sample {row} has a non-finite feature"
            )));
        }
        Ok(())
    }
}

/// One epoch's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f32,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Training accuracy over the epoch's batches.
    pub train_accuracy: f64,
    /// Validation loss (evaluation mode), when there is a validation set.
    pub val_loss: Option<f64>,
    /// Validation accuracy, when there is a validation set.
    pub val_accuracy: Option<f64>,
    /// Wall-clock seconds of the epoch (training and validation).
    pub seconds: f64,
}

/// Per-epoch history of a run (serialisable for plots).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct History {
    /// One record per completed epoch.
    pub epochs: Vec<EpochRecord>,
    /// Epoch (1-based) whose weights the model holds at the end: the best
    /// validation loss, or the last epoch without validation.
    pub best_epoch: usize,
    /// True when patience ran out before `epochs`.
    pub stopped_early: bool,
}

/// Copies the rows `idx` of `x` (axis 0) into `buf`, resizing it if needed.
pub(crate) fn gather(x: &ArrayViewD<'_, f32>, idx: &[usize], buf: &mut ArrayD<f32>) {
    let mut shape = x.shape().to_vec();
    shape[0] = idx.len();
    if buf.shape() != shape.as_slice() {
        *buf = ArrayD::zeros(IxDyn(&shape));
    }
    let row = x.len() / x.shape()[0].max(1);
    let dst = buf.as_slice_mut().expect("standard buffer");
    match x.as_slice() {
        Some(src) => {
            for (k, &i) in idx.iter().enumerate() {
                dst[k * row..(k + 1) * row].copy_from_slice(&src[i * row..(i + 1) * row]);
            }
        }
        None => {
            for (k, &i) in idx.iter().enumerate() {
                for (d, s) in dst[k * row..(k + 1) * row]
                    .iter_mut()
                    .zip(x.index_axis(Axis(0), i).iter())
                {
                    *d = *s;
                }
            }
        }
    }
}

/// Like [`gather`], but for padded `(n, frames, ..)` data with valid
/// `lengths` per item: only the first `max(lengths of idx)` frames are
/// copied, so a batch is padded to its own longest item rather than to the
/// data set's. Every length-aware layer ignores frames past an item's
/// length, so the result is the same, at the cost of the frames the batch
/// needs (FSDD: the longest take is 5.6 times the mean one). Without
/// lengths, or for data of fewer than 3 axes, this is [`gather`].
pub(crate) fn gather_batch(
    x: &ArrayViewD<'_, f32>,
    idx: &[usize],
    lengths: Option<&[usize]>,
    buf: &mut ArrayD<f32>,
) {
    let frames = x.shape().get(1).copied().unwrap_or(0);
    let keep = match lengths {
        Some(l) if x.ndim() >= 3 => idx
            .iter()
            .map(|&i| l[i])
            .max()
            .unwrap_or(0)
            .clamp(1, frames.max(1)),
        _ => return gather(x, idx, buf),
    };
    if keep >= frames {
        return gather(x, idx, buf);
    }
    let Some(src) = x.as_slice() else {
        let x = x.slice_axis(Axis(1), ndarray::Slice::from(0..keep));
        return gather(&x, idx, buf);
    };
    let mut shape = x.shape().to_vec();
    (shape[0], shape[1]) = (idx.len(), keep);
    if buf.shape() != shape.as_slice() {
        *buf = ArrayD::zeros(IxDyn(&shape));
    }
    // Standard layout: an item's first `keep` frames are one run.
    let row = x.len() / x.shape()[0].max(1);
    let kept = row / frames * keep;
    let dst = buf.as_slice_mut().expect("standard buffer");
    for (k, &i) in idx.iter().enumerate() {
        dst[k * kept..(k + 1) * kept].copy_from_slice(&src[i * row..i * row + kept]);
    }
}

/// Mean loss and accuracy of `model` on `data` in evaluation mode, in
/// batches of `batch_size`.
pub fn evaluate(
    model: &mut dyn TrainModel,
    data: &Dataset<'_>,
    batch_size: usize,
    rng: &mut Rng,
) -> (f64, f64) {
    let n = data.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let (mut loss, mut correct, mut total_w) = (0.0f64, 0usize, 0.0f64);
    let mut total_rows = 0usize;
    let mut grad = ndarray::Array2::zeros((0, 0));
    let mut buf = ArrayD::zeros(IxDyn(&[0]));
    let idx: Vec<usize> = (0..n).collect();
    for chunk in idx.chunks(batch_size.max(1)) {
        gather_batch(&data.x, chunk, data.lengths, &mut buf);
        let lengths = data.lengths.map(|l| chunk.iter().map(|&i| l[i]).collect());
        let mut ctx = Ctx {
            mode: crate::nn::Mode::Eval,
            rng: &mut *rng,
            lengths,
        };
        let logits = model
            .forward_logits(buf.view(), &mut ctx)
            .into_dimensionality::<Ix2>()
            .expect("(batch, classes) logits");
        let mut labels: Vec<usize> = chunk.iter().map(|&i| data.labels[i]).collect();
        let mut w: Option<Vec<f32>> = data.weights.map(|w| chunk.iter().map(|&i| w[i]).collect());
        if let Some(rows) = model.row_items() {
            (labels, w) = crate::train::trainer::expand(&rows, &labels, w.as_deref());
        }
        let bw = w
            .as_ref()
            .map_or(labels.len() as f64, |w| w.iter().map(|&v| v as f64).sum());
        loss +=
            softmax_cross_entropy_into(logits.view(), &labels, w.as_deref(), &mut grad) as f64 * bw;
        total_w += bw;
        correct += count_correct(logits.view(), &labels);
        total_rows += labels.len();
    }
    (
        if total_w > 0.0 { loss / total_w } else { 0.0 },
        correct as f64 / total_rows.max(1) as f64,
    )
}

/// Trains `model` on `train` for up to `cfg.epochs` epochs.
///
/// With a validation set and `cfg.patience > 0`, training stops after
/// `patience` epochs without a lower validation loss, and the weights of the
/// best epoch are restored (also when all epochs ran). `cfg.val_fraction`
/// is not used here (see [`crate::train::train_classifier`], which carves
/// the validation set).
///
/// # Errors
/// Invalid configuration or data; [`TrainError::NonFinite`] with the epoch
/// and batch when the loss or a gradient stops being finite (the model
/// keeps the weights it had before that step).
pub fn fit(
    model: &mut dyn TrainModel,
    train: &Dataset<'_>,
    val: Option<&Dataset<'_>>,
    n_classes: usize,
    cfg: &TrainConfig,
    rng: &mut Rng,
) -> Result<History, TrainError> {
    fit_observed(model, train, val, n_classes, cfg, rng, &mut Silent)
}

/// [`fit`], calling `observer` once after each completed epoch with the
/// record that goes into the history and `cfg.epochs` (see
/// [`crate::train::observe`]). The observer cannot touch the model or the
/// generator, so the result is the same as [`fit`]'s.
///
/// # Errors
/// As [`fit`].
pub fn fit_observed(
    model: &mut dyn TrainModel,
    train: &Dataset<'_>,
    val: Option<&Dataset<'_>>,
    n_classes: usize,
    cfg: &TrainConfig,
    rng: &mut Rng,
    observer: &mut dyn EpochObserver,
) -> Result<History, TrainError> {
    let mut trainer = Trainer::new(cfg)?;
    train.validate(n_classes, "training data")?;
    if let Some(v) = val {
        v.validate(n_classes, "validation data")?;
    }
    if train.is_empty() {
        return Err(TrainError::Data("training data: no sample".into()));
    }
    let val = val.filter(|v| !v.is_empty());
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut buf = ArrayD::zeros(IxDyn(&[0]));
    let mut labels = Vec::with_capacity(cfg.batch_size);
    let mut weights = Vec::with_capacity(cfg.batch_size);
    let mut history = History::default();
    let mut best: Option<(f64, Vec<ArrayD<f32>>)> = None;
    let mut since_best = 0usize;
    for epoch in 1..=cfg.epochs {
        let start = std::time::Instant::now();
        let lr = cfg.schedule.lr(cfg.lr, epoch - 1, cfg.epochs);
        shuffle(&mut order, rng);
        model.begin_epoch(epoch);
        let (mut loss_sum, mut w_sum, mut correct) = (0.0f64, 0.0f64, 0usize);
        let mut rows = 0usize;
        for (b, chunk) in order.chunks(cfg.batch_size).enumerate() {
            gather_batch(&train.x, chunk, train.lengths, &mut buf);
            labels.clear();
            labels.extend(chunk.iter().map(|&i| train.labels[i]));
            let w = train.weights.map(|w| {
                weights.clear();
                weights.extend(chunk.iter().map(|&i| w[i]));
                weights.as_slice()
            });
            let lengths = train.lengths.map(|l| chunk.iter().map(|&i| l[i]).collect());
            let stats = trainer
                .step(model, buf.view(), &labels, w, lengths, lr, rng)
                .map_err(|e| match e {
                    TrainError::NonFinite { what, .. } => TrainError::NonFinite {
                        epoch,
                        batch: b + 1,
                        what,
                    },
                    other => other,
                })?;
            loss_sum += stats.loss as f64 * stats.weight;
            w_sum += stats.weight;
            correct += stats.correct;
            rows += stats.rows;
        }
        let (val_loss, val_acc) = match val {
            Some(v) => {
                let (l, a) = evaluate(model, v, cfg.batch_size, rng);
                (Some(l), Some(a))
            }
            None => (None, None),
        };
        history.epochs.push(EpochRecord {
            epoch,
            lr,
            train_loss: if w_sum > 0.0 { loss_sum / w_sum } else { 0.0 },
            train_accuracy: correct as f64 / rows.max(1) as f64,
            val_loss,
            val_accuracy: val_acc,
            seconds: start.elapsed().as_secs_f64(),
        });
        observer.on_epoch(history.epochs.last().expect("just pushed"), cfg.epochs);
        match val_loss {
            Some(vl) if best.as_ref().is_none_or(|(b, _)| vl < *b) => {
                best = Some((
                    vl,
                    model.parameters().iter().map(|p| p.value.clone()).collect(),
                ));
                history.best_epoch = epoch;
                since_best = 0;
            }
            Some(_) => since_best += 1,
            None => history.best_epoch = epoch,
        }
        if cfg.patience > 0 && since_best >= cfg.patience {
            history.stopped_early = epoch < cfg.epochs;
            break;
        }
    }
    if let Some((_, values)) = best {
        for (p, v) in model.parameters_mut().into_iter().zip(values) {
            p.value = v;
        }
    }
    Ok(history)
}

#[cfg(test)]
#[path = "fit_tests.rs"]
mod tests;
