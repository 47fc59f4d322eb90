//! Frame-level training mode: every frame, stacked with its `±k`
//! neighbours, is one training sample labelled with its utterance's class;
//! an utterance is classified by averaging its frames' log-posteriors
//! (see [`crate::nn::context`]).
//!
//! The validation split is drawn over *utterances* (stratified), never over
//! frames: neighbouring frames of one utterance are nearly identical, so a
//! frame-level split would leak training data into validation and make
//! early stopping useless.

use ndarray::{Array2, ArrayView2};

use crate::nn::context::{stack_spliced, utterance_log_posteriors, Splice};
use crate::nn::rng_from_seed;
use crate::nn::spec::{build, MlpSpec, Pooling};
use crate::train::config::TrainConfig;
use crate::train::error::TrainError;
use crate::train::fit::{fit_observed, Dataset};
use crate::train::model::{install_standardizer, standardizer, TrainedModel};
use crate::train::observe::{EpochObserver, Silent};
use crate::train::split::grouped_stratified_split;

/// Context-stacked frames of a set of utterances.
#[derive(Debug, Clone)]
pub struct FrameData {
    /// `(total frames, (2k + 1) dims)`.
    pub x: Array2<f32>,
    /// Each frame's utterance label.
    pub labels: Vec<usize>,
    /// Each frame's utterance index (into the input slice).
    pub utt: Vec<usize>,
}

/// Stacks every frame of every utterance with its neighbours chosen by
/// `splice`.
///
/// # Errors
/// Utterances with different feature sizes or no frame.
pub fn frames_from_utterances(
    utts: &[ArrayView2<'_, f32>],
    labels: &[usize],
    splice: Splice,
) -> Result<FrameData, TrainError> {
    if utts.len() != labels.len() {
        return Err(TrainError::Data(format!(
            "{} labels for {} utterances",
            labels.len(),
            utts.len()
        )));
    }
    let dims = utts.first().map_or(0, |u| u.ncols());
    let total: usize = utts.iter().map(|u| u.nrows()).sum();
    let width = splice.width() * dims;
    let mut x = Array2::<f32>::zeros((total, width));
    let (mut fl, mut fu) = (Vec::with_capacity(total), Vec::with_capacity(total));
    let mut row = 0;
    for (i, u) in utts.iter().enumerate() {
        if u.ncols() != dims {
            return Err(TrainError::Data(format!(
                "utterance {i} has {} dims, utterance 0 has {dims}",
                u.ncols()
            )));
        }
        if u.nrows() == 0 {
            return Err(TrainError::Data(format!("utterance {i} has no frame")));
        }
        let s = stack_spliced(u.view(), u.nrows(), splice);
        x.slice_mut(ndarray::s![row..row + u.nrows(), ..])
            .assign(&s);
        row += u.nrows();
        fl.extend(std::iter::repeat_n(labels[i], u.nrows()));
        fu.extend(std::iter::repeat_n(i, u.nrows()));
    }
    Ok(FrameData {
        x,
        labels: fl,
        utt: fu,
    })
}

fn pick(
    utts: &[ArrayView2<'_, f32>],
    labels: &[usize],
    idx: &[usize],
) -> (Vec<Array2<f32>>, Vec<usize>) {
    (
        idx.iter().map(|&i| utts[i].to_owned()).collect(),
        idx.iter().map(|&i| labels[i]).collect(),
    )
}

/// Trains a frame classifier over `±k` context windows; validation and
/// early stopping use held-out utterances (their frames).
///
/// # Errors
/// A spec with pooling (frames are vectors here), invalid data or config,
/// or a non-finite loss/gradient.
pub fn train_frame_classifier(
    spec: &MlpSpec,
    cfg: &TrainConfig,
    utts: &[ArrayView2<'_, f32>],
    labels: &[usize],
    n_classes: usize,
    splice: Splice,
    class_names: Vec<String>,
) -> Result<TrainedModel, TrainError> {
    train_frame_classifier_observed(
        spec,
        cfg,
        utts,
        labels,
        None,
        n_classes,
        splice,
        class_names,
        &mut Silent,
    )
}

/// [`train_frame_classifier`], reporting each epoch to `observer`;
/// `groups` (one per utterance) keeps an utterance's augmented copies on
/// its side of the validation split (see
/// [`grouped_stratified_split`]).
///
/// # Errors
/// As [`train_frame_classifier`].
#[allow(clippy::too_many_arguments)]
pub fn train_frame_classifier_observed(
    spec: &MlpSpec,
    cfg: &TrainConfig,
    utts: &[ArrayView2<'_, f32>],
    labels: &[usize],
    groups: Option<&[usize]>,
    n_classes: usize,
    splice: Splice,
    class_names: Vec<String>,
    observer: &mut dyn EpochObserver,
) -> Result<TrainedModel, TrainError> {
    cfg.validate()?;
    spec.validate()?;
    if spec.pooling != Pooling::None {
        return Err(TrainError::Data(
            "frame classifier: spec.pooling must be none (each frame is one vector)".into(),
        ));
    }
    if let Some(&c) = labels.iter().find(|&&c| c >= n_classes) {
        return Err(TrainError::Data(format!(
            "utterance label {c} >= n_classes {n_classes}"
        )));
    }
    let mut rng = rng_from_seed(cfg.seed);
    let (tr, va) = if cfg.val_fraction > 0.0 {
        grouped_stratified_split(labels, groups, cfg.val_fraction, &mut rng)
    } else {
        ((0..labels.len()).collect(), Vec::new())
    };
    let (tu, tl) = pick(utts, labels, &tr);
    let (vu, vl) = pick(utts, labels, &va);
    let tv: Vec<ArrayView2<'_, f32>> = tu.iter().map(|a| a.view()).collect();
    let vv: Vec<ArrayView2<'_, f32>> = vu.iter().map(|a| a.view()).collect();
    let train = frames_from_utterances(&tv, &tl, splice)?;
    let val = frames_from_utterances(&vv, &vl, splice)?;
    let input_dim = train.x.ncols();
    let mut network = build(spec, input_dim, n_classes, &mut rng)?;
    if spec.input_norm {
        install_standardizer(&mut network, &standardizer(train.x.view().into_dyn(), None));
    }
    let td = Dataset::new(train.x.view().into_dyn(), &train.labels);
    let vd = Dataset::new(val.x.view().into_dyn(), &val.labels);
    let history = fit_observed(
        &mut network,
        &td,
        (!va.is_empty()).then_some(&vd),
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
        frame_context: Some(splice.k),
        frame_dilation: splice.dilation,
        network,
        history,
    })
}

impl TrainedModel {
    /// Averaged frame log-posteriors per utterance (frame classifiers only).
    ///
    /// # Shapes
    /// utterances `(frames_i, dims)` -> `(utterances, n_classes)`
    ///
    /// # Errors
    /// Not a frame classifier, or malformed utterances.
    pub fn utterance_log_posteriors(
        &mut self,
        utts: &[ArrayView2<'_, f32>],
    ) -> Result<Array2<f32>, TrainError> {
        let k = self.frame_context.ok_or_else(|| {
            TrainError::Data("utterance decision needs a frame classifier (frame_context)".into())
        })?;
        let dummy = vec![0usize; utts.len()];
        let splice = Splice::dilated(k, self.frame_dilation);
        // Check the stacked width before stacking anything (a model file
        // may declare any context).
        let dims = utts.first().map_or(0, |u| u.ncols());
        let width = k
            .checked_mul(2)
            .and_then(|w| w.checked_add(1))
            .and_then(|w| w.checked_mul(dims));
        if width != Some(self.input_dim) {
            return Err(TrainError::Data(format!(
                "{dims} features per frame with a context of +-{k} frames do not give the {} inputs the model expects",
                self.input_dim
            )));
        }
        let frames = frames_from_utterances(utts, &dummy, splice)?;
        if frames.x.ncols() != self.input_dim {
            return Err(TrainError::Data(format!(
                "stacked frames have {} features, the model expects {}",
                frames.x.ncols(),
                self.input_dim
            )));
        }
        let logits = self.logits(frames.x.view().into_dyn(), None);
        Ok(utterance_log_posteriors(
            logits.view(),
            &frames.utt,
            utts.len(),
        ))
    }

    /// Utterance classes by averaged frame log-posteriors.
    ///
    /// # Errors
    /// As [`TrainedModel::utterance_log_posteriors`].
    pub fn predict_utterances(
        &mut self,
        utts: &[ArrayView2<'_, f32>],
    ) -> Result<Vec<usize>, TrainError> {
        Ok(crate::nn::loss::argmax_rows(
            self.utterance_log_posteriors(utts)?.view(),
        ))
    }
}
