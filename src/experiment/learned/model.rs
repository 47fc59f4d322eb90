//! The end-to-end model of the learned path: the learned (and later) stages
//! of the front end, a differentiable [`FeatureNorm`], and the classifier
//! shaped by the input mode.
//!
//! # Design
//! The front-end stages are kept as a typed enum (not boxed layers) so that
//! their learned values can be read back for the report. In `context` mode
//! the classifier sees each valid frame's ±k window as one row and the
//! utterance's logits are the mean of its frames' log-posteriors (the
//! decision rule of the classic path); the loss is the cross-entropy of
//! those averaged log-posteriors, i.e. one utterance-level loss rather than
//! one loss per frame (the training loop [`crate::train::fit()`] works on
//! utterance-labelled items; a per-frame loss would need its own loop).

use ndarray::{Array2, Array3, ArrayD, ArrayViewD, Axis, Ix2, Ix3};

use crate::frontend::learned::compress::LogCompress;
use crate::frontend::learned::dct::LearnedDct;
use crate::frontend::learned::dft::TimeFilterbank;
use crate::frontend::learned::melbank::MelMatrix;
use crate::frontend::learned::melbank_param::ParametricMel;
use crate::frontend::learned::norm::FeatureNorm;
use crate::frontend::learned::pcen::Pcen;
use crate::frontend::learned::preemph::Preemph;
use crate::nn::context::ContextWindow;
use crate::nn::{Ctx, Layer, Param, Sequential};
use crate::train::TrainModel;

/// One front-end stage of the learned chain. (A model holds at most five,
/// so the size difference between variants does not matter.)
#[allow(clippy::large_enum_variant)]
pub enum FrontStage {
    /// Pre-emphasis.
    Preemph(Preemph),
    /// Window + DFT + power as a time-domain filterbank, with its initial basis.
    Spectrum(TimeFilterbank, Array2<f32>),
    /// Dense non-negative mel matrix, with its initial `(n_filters, n_bins)` weights.
    Mel(MelMatrix, Array2<f32>),
    /// Parametric triangles, with their initial weights.
    ParamMel(ParametricMel, Array2<f32>),
    /// `ln(x + delta)` (times a scale), with the classic floor and scale.
    Log(LogCompress, f32, f32),
    /// PCEN.
    Pcen(Pcen),
    /// Normalisation after compression (`[frontend.learn.compress_norm]`).
    Norm(FeatureNorm),
    /// Linear DCT, with its initial matrix.
    Dct(LearnedDct, Array2<f32>),
}

impl FrontStage {
    /// The stage as a layer.
    pub fn layer(&mut self) -> &mut dyn Layer {
        match self {
            FrontStage::Preemph(l) => l,
            FrontStage::Spectrum(l, _) => l,
            FrontStage::Mel(l, _) => l,
            FrontStage::ParamMel(l, _) => l,
            FrontStage::Log(l, _, _) => l,
            FrontStage::Pcen(l) => l,
            FrontStage::Norm(l) => l,
            FrontStage::Dct(l, _) => l,
        }
    }

    /// The stage as a layer (shared).
    pub fn layer_ref(&self) -> &dyn Layer {
        match self {
            FrontStage::Preemph(l) => l,
            FrontStage::Spectrum(l, _) => l,
            FrontStage::Mel(l, _) => l,
            FrontStage::ParamMel(l, _) => l,
            FrontStage::Log(l, _, _) => l,
            FrontStage::Pcen(l) => l,
            FrontStage::Norm(l) => l,
            FrontStage::Dct(l, _) => l,
        }
    }
}

/// How the classifier consumes the normalised `(batch, frames, dims)` features.
pub enum Head {
    /// The network takes `(batch, frames, dims)` with lengths (stats pooling
    /// or flattening inside it).
    Whole(Sequential),
    /// ±k context windows, one row per valid frame, mean frame log-posterior.
    Frames {
        /// Stacks the neighbours.
        context: ContextWindow,
        /// Per-frame MLP.
        net: Sequential,
        /// Valid rows per item (for backward).
        lengths: Vec<usize>,
        /// Padded frames per item (for backward).
        frames: usize,
        /// Frame softmax posteriors (for backward).
        posteriors: Array2<f32>,
    },
}

impl Head {
    /// Back-propagates the logits' gradient through the classifier: for
    /// `context`, with `y = log_softmax(z)` averaged over `L` frames,
    /// `dz_f = (g - softmax(z_f) sum(g)) / L`.
    ///
    /// # Shapes
    /// `(batch, n_classes) -> (batch, frames, feature_dims)`
    fn backward(&mut self, grad_logits: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        match self {
            Head::Whole(net) => net.backward(grad_logits),
            Head::Frames {
                context,
                net,
                lengths,
                frames,
                posteriors,
            } => {
                let g = grad_logits
                    .into_dimensionality::<Ix2>()
                    .expect("(batch, classes)");
                let mut dz = Array2::<f32>::zeros(posteriors.dim());
                let mut r = 0;
                for (b, &len) in lengths.iter().enumerate() {
                    let gb = g.row(b);
                    let s = gb.sum();
                    for f in r..r + len {
                        for k in 0..dz.ncols() {
                            dz[[f, k]] = (gb[k] - posteriors[[f, k]] * s) / len as f32;
                        }
                    }
                    r += len;
                }
                let drows = net
                    .backward(dz.into_dyn().view())
                    .into_dimensionality::<Ix2>()
                    .expect("2-D");
                let width = drows.ncols();
                let mut dc = Array3::<f32>::zeros((lengths.len(), *frames, width));
                let mut r = 0;
                for (b, &len) in lengths.iter().enumerate() {
                    dc.slice_mut(ndarray::s![b, ..len, ..])
                        .assign(&drows.slice(ndarray::s![r..r + len, ..]));
                    r += len;
                }
                context.backward(dc.into_dyn().view())
            }
        }
    }
}

/// Learned front end + normalisation + classifier, trainable by
/// [`crate::train::fit()`] on padded prefix tensors with lengths.
pub struct LearnedModel {
    /// Front-end stages from the first learned one on.
    pub front: Vec<FrontStage>,
    /// Normalisation between front end and classifier.
    pub norm: FeatureNorm,
    /// The classifier.
    pub head: Head,
}

impl LearnedModel {
    /// The front end's output (before the normalisation).
    ///
    /// # Shapes
    /// `(batch, frames, prefix_dims) -> (batch, frames, feature_dims)`
    pub fn features(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let mut h = x.to_owned();
        for s in &mut self.front {
            h = s.layer().forward(h.view(), ctx);
        }
        h
    }

    /// Trainable scalars of the front end.
    pub fn frontend_params(&self) -> u64 {
        count(self.front.iter().flat_map(|s| s.layer_ref().params()))
    }

    /// Trainable scalars of the normalisation and classifier.
    pub fn classifier_params(&self) -> u64 {
        let head: Vec<&Param> = match &self.head {
            Head::Whole(n) => n.params(),
            Head::Frames { net, .. } => net.params(),
        };
        count(self.norm.params().into_iter().chain(head))
    }
}

fn count<'a>(ps: impl IntoIterator<Item = &'a Param>) -> u64 {
    ps.into_iter()
        .filter(|p| p.trainable)
        .map(|p| p.len() as u64)
        .sum()
}

/// Row-wise softmax.
fn softmax_rows(z: &Array2<f32>) -> Array2<f32> {
    let mut p = z.clone();
    for mut r in p.rows_mut() {
        let m = r.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        r.mapv_inplace(|v| (v - m).exp());
        let s = r.sum();
        r.mapv_inplace(|v| v / s);
    }
    p
}

impl Layer for LearnedModel {
    fn name(&self) -> String {
        "learned_model".into()
    }

    /// `prefix -> front -> norm -> head`.
    ///
    /// # Shapes
    /// `(batch, frames, prefix_dims) -> (batch, n_classes)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let h = self.features(x, ctx);
        let h = self.norm.forward(h.view(), ctx);
        match &mut self.head {
            Head::Whole(net) => net.forward(h.view(), ctx),
            Head::Frames {
                context,
                net,
                lengths,
                frames,
                posteriors,
            } => {
                let c = context
                    .forward(h.view(), ctx)
                    .into_dimensionality::<Ix3>()
                    .expect("3-D");
                let (batch, t, width) = c.dim();
                *lengths = match &ctx.lengths {
                    Some(l) => l.iter().map(|&v| v.min(t)).collect(),
                    None => vec![t; batch],
                };
                *frames = t;
                let n_rows: usize = lengths.iter().sum();
                let mut rows = Array2::<f32>::zeros((n_rows, width));
                let mut r = 0;
                for (b, &len) in lengths.iter().enumerate() {
                    rows.slice_mut(ndarray::s![r..r + len, ..])
                        .assign(&c.slice(ndarray::s![b, ..len, ..]));
                    r += len;
                }
                let mut fctx = Ctx {
                    mode: ctx.mode,
                    rng: &mut *ctx.rng,
                    lengths: None,
                };
                let z = net
                    .forward(rows.into_dyn().view(), &mut fctx)
                    .into_dimensionality::<Ix2>()
                    .expect("2-D");
                let p = softmax_rows(&z);
                let n_classes = z.ncols();
                let mut out = Array2::<f32>::zeros((batch, n_classes));
                let mut r = 0;
                for (b, &len) in lengths.iter().enumerate() {
                    for f in r..r + len {
                        let row = z.row(f);
                        let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                        let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f32>().ln();
                        for k in 0..n_classes {
                            out[[b, k]] += (row[k] - lse) / len as f32;
                        }
                    }
                    r += len;
                }
                *posteriors = p;
                out.into_dyn()
            }
        }
    }

    /// Reverse of [`Layer::forward`]: the classifier (for `context`, with
    /// `y = log_softmax(z)` averaged over `L` frames,
    /// `dz_f = (g - softmax(z_f) sum(g)) / L`), the normalisation, the
    /// front stages.
    ///
    /// # Shapes
    /// `(batch, n_classes) -> (batch, frames, prefix_dims)`
    fn backward(&mut self, grad_logits: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g = self.head.backward(grad_logits);
        let mut g = self.norm.backward(g.view());
        for s in self.front.iter_mut().rev() {
            g = s.layer().backward(g.view());
        }
        g
    }

    /// As [`Layer::backward`] without the gradient of the input (the cached
    /// prefix, which nothing learns): the first front stage accumulates only
    /// its parameter gradients, which saves its input product (for a mel
    /// matrix, the larger half of its backward).
    fn backward_params_only(&mut self, grad_logits: ArrayViewD<'_, f32>) {
        let g = self.head.backward(grad_logits);
        let mut g = self.norm.backward(g.view());
        let Some((first, rest)) = self.front.split_first_mut() else {
            return;
        };
        for s in rest.iter_mut().rev() {
            g = s.layer().backward(g.view());
        }
        first.layer().backward_params_only(g.view());
    }

    fn params(&self) -> Vec<&Param> {
        let mut v: Vec<&Param> = self
            .front
            .iter()
            .flat_map(|s| s.layer_ref().params())
            .collect();
        v.extend(self.norm.params());
        match &self.head {
            Head::Whole(n) => v.extend(n.params()),
            Head::Frames { net, .. } => v.extend(net.params()),
        }
        v
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut v: Vec<&mut Param> = self
            .front
            .iter_mut()
            .flat_map(|s| s.layer().params_mut())
            .collect();
        v.extend(self.norm.params_mut());
        match &mut self.head {
            Head::Whole(n) => v.extend(n.params_mut()),
            Head::Frames { net, .. } => v.extend(net.params_mut()),
        }
        v
    }
}

impl TrainModel for LearnedModel {
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
        let mut v: Vec<String> = Vec::new();
        for s in &self.front {
            let l = s.layer_ref();
            v.extend(
                l.params()
                    .iter()
                    .map(|p| format!("{}.{}", l.name(), p.name)),
            );
        }
        v.extend(
            self.norm
                .params()
                .iter()
                .map(|p| format!("{}.{}", self.norm.name(), p.name)),
        );
        match &self.head {
            Head::Whole(n) => v.extend(n.param_labels()),
            Head::Frames { net, .. } => v.extend(net.param_labels()),
        }
        v
    }
}

/// Padded `(n, max_frames, dims)` tensor of utterances with their lengths.
pub fn padded(utts: &[&Array2<f32>]) -> (Array3<f32>, Vec<usize>) {
    let dims = utts.first().map_or(0, |u| u.ncols());
    let max = utts.iter().map(|u| u.nrows()).max().unwrap_or(0).max(1);
    let mut x = Array3::zeros((utts.len(), max, dims));
    for (mut slot, u) in x.axis_iter_mut(Axis(0)).zip(utts) {
        slot.slice_mut(ndarray::s![..u.nrows(), ..]).assign(*u);
    }
    (x, utts.iter().map(|u| u.nrows().max(1)).collect())
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
