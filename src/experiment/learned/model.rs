//! The end-to-end model of the learned path: the learned (and later) stages
//! of the front end, the input shaping of the recipe (per-utterance CMVN,
//! deltas, speaker CMVN, position; see [`crate::frontend::learned::shape`]),
//! an optional differentiable [`FeatureNorm`], and the classifier shaped by
//! the input mode.
//!
//! # Design
//! The front-end stages are kept as a typed enum (not boxed layers) so that
//! their learned values can be read back for the report.
//!
//! **One objective.** In `context` mode the classifier sees each valid
//! frame's ±k window as one row. While training ([`LearnedModel::frame_objective`]
//! on, set by the run), the model's logits are those rows and
//! [`TrainModel::row_items`] tells the training loop which utterance each
//! row belongs to: the loss is the cross-entropy of every frame against its
//! utterance's label, averaged over frames, exactly the hand-crafted
//! path's objective ([`crate::train::frames`]), with the same validation
//! loss for early stopping. For decisions (objective off) the utterance's
//! logits are the mean of its frames' log-posteriors, the hand-crafted
//! path's decision rule.
//!
//! **Speaker statistics.** With `[input] speaker_cmvn`, each input tensor
//! carries one extra last channel holding the item's speaker group; the
//! model strips it and hands the group's statistics (constants, see
//! `shape`'s docs) to the shaping. Before every epoch
//! ([`TrainModel::begin_epoch`]) it recomputes the training speakers'
//! statistics through its current front end.

use ndarray::{Array2, Array3, ArrayD, ArrayViewD, Axis, Ix2, Ix3};

use crate::frontend::learned::compress::LogCompress;
use crate::frontend::learned::dct::LearnedDct;
use crate::frontend::learned::dft::TimeFilterbank;
use crate::frontend::learned::melbank::MelMatrix;
use crate::frontend::learned::melbank_param::ParametricMel;
use crate::frontend::learned::norm::FeatureNorm;
use crate::frontend::learned::pcen::Pcen;
use crate::frontend::learned::preemph::Preemph;
use crate::frontend::learned::shape::Shaping;
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
        /// Under the frame objective: the batch item of each output row.
        rows: Vec<usize>,
        /// The last forward returned frame rows (the frame objective).
        frame_rows: bool,
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
                frame_rows,
                ..
            } => {
                let g = grad_logits
                    .into_dimensionality::<Ix2>()
                    .expect("(batch, classes)");
                let mut dz = if *frame_rows {
                    g.to_owned()
                } else {
                    Array2::<f32>::zeros(posteriors.dim())
                };
                let mut r = 0;
                for (b, &len) in lengths.iter().enumerate() {
                    if *frame_rows {
                        break;
                    }
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
    /// The recipe's input shaping (CMVN, deltas, speaker views, position).
    pub shaping: Shaping,
    /// Optional normalisation between shaping and classifier
    /// (`[frontend.learn.norm]`).
    pub norm: Option<FeatureNorm>,
    /// The classifier.
    pub head: Head,
    /// Speaker-level statistics (see the module docs).
    pub speaker: SpeakerState,
    /// Train on the frame objective (context mode; see the module docs).
    pub frame_objective: bool,
    /// Kaldi's `use_energy`: the prefix's last column is the frame log
    /// energy, which replaces the front end's first output (C0). It is a
    /// function of the raw frame, so no gradient flows into it.
    pub energy: bool,
}

/// Speaker-level statistics of a model with `[input] speaker_cmvn`.
#[derive(Default)]
pub struct SpeakerState {
    /// Inputs carry the group channel.
    pub on: bool,
    /// Variance normalisation in the speaker view (mean only otherwise).
    pub variance: bool,
    /// `(mean, scale)` per group.
    pub stats: Vec<(Vec<f32>, Vec<f32>)>,
    /// Training originals (prefixes) and their groups, for the refresh
    /// before every epoch; dropped after training.
    pub source: Option<(Vec<Array2<f32>>, Vec<usize>)>,
}

/// Appends the group channel: every frame of item `i` gets `groups[i]`.
///
/// # Shapes
/// `(frames, dims) -> (frames, dims + 1)`
pub fn with_group(x: &Array2<f32>, group: usize) -> Array2<f32> {
    let (t, d) = x.dim();
    let mut y = Array2::<f32>::zeros((t, d + 1));
    y.slice_mut(ndarray::s![.., ..d]).assign(x);
    y.column_mut(d).fill(group as f32);
    y
}

/// Batch size of the model's own inference passes.
const PASS: usize = 64;

impl LearnedModel {
    /// Strips the group channel (when on) and loads each item's group
    /// statistics into the shaping.
    fn take_groups(&mut self, x: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        if !self.speaker.on {
            return x.to_owned();
        }
        let x3 = x
            .into_dimensionality::<Ix3>()
            .expect("(batch, frames, dims + 1)");
        let d = x3.shape()[2] - 1;
        let stats: Vec<(Vec<f32>, Vec<f32>)> = (0..x3.shape()[0])
            .map(|b| {
                let g = x3[[b, 0, d]].round().max(0.0) as usize;
                self.speaker.stats.get(g).cloned().unwrap_or_default()
            })
            .collect();
        self.shaping.speaker_norm.stats = stats;
        x3.slice(ndarray::s![.., .., ..d]).to_owned().into_dyn()
    }

    /// Recomputes the statistics of every group from `prefixes` (plain, no
    /// group channel) through the current front end and the shaping's
    /// CMVN and deltas, in evaluation mode.
    pub fn refresh_speaker_stats(&mut self, prefixes: &[&Array2<f32>], groups: &[usize]) {
        use crate::experiment::speaker_norm::{SpeakerCmvn, Stats};
        let n_groups = groups.iter().max().map_or(0, |g| g + 1);
        let mut feats: Vec<Array2<f32>> = Vec::with_capacity(prefixes.len());
        let mut rng = crate::nn::rng_from_seed(0);
        for chunk in prefixes.chunks(PASS) {
            let (x, lengths) = padded(chunk);
            let mut ctx = Ctx {
                lengths: Some(lengths.clone()),
                ..Ctx::eval(&mut rng)
            };
            let h = self.features(x.into_dyn().view(), &mut ctx);
            let h = self.shaping.stats_features(h.view(), &mut ctx);
            let h3 = h.into_dimensionality::<Ix3>().expect("3-D");
            for (b, &len) in lengths.iter().enumerate() {
                feats.push(h3.slice(ndarray::s![b, ..len, ..]).to_owned());
            }
        }
        let mode = if self.speaker.variance {
            SpeakerCmvn::MeanVar
        } else {
            SpeakerCmvn::Mean
        };
        let dims = feats.first().map_or(0, |f| f.ncols());
        self.speaker.stats = (0..n_groups)
            .map(|g| {
                let mine: Vec<ndarray::ArrayView2<'_, f32>> = feats
                    .iter()
                    .zip(groups)
                    .filter(|(_, &k)| k == g)
                    .map(|(f, _)| f.view())
                    .collect();
                let st = Stats::of(&mine, dims, mode);
                (
                    st.mean.iter().map(|&v| v as f32).collect(),
                    st.scale.iter().map(|&v| v as f32).collect(),
                )
            })
            .collect();
    }

    /// Classifier-input rows (context windows of the shaped features) of
    /// `utts` in evaluation mode, for the input standardisation fitted at
    /// step 0: per-column sums and sums of squares over every valid frame.
    pub fn input_moments(&mut self, utts: &[&Array2<f32>]) -> Option<(Vec<f64>, Vec<f64>, usize)> {
        let mut acc: Option<(Vec<f64>, Vec<f64>, usize)> = None;
        let mut rng = crate::nn::rng_from_seed(0);
        for chunk in utts.chunks(PASS) {
            let (x, lengths) = padded(chunk);
            let mut ctx = Ctx {
                lengths: Some(lengths.clone()),
                ..Ctx::eval(&mut rng)
            };
            let x = self.take_groups(x.into_dyn().view());
            let h = self.features(x.view(), &mut ctx);
            let h = self.shaping.forward(h.view(), &mut ctx);
            let h = match &mut self.norm {
                Some(n) => n.forward(h.view(), &mut ctx),
                None => h,
            };
            let Head::Frames { context, .. } = &mut self.head else {
                return None;
            };
            let c = context
                .forward(h.view(), &mut ctx)
                .into_dimensionality::<Ix3>()
                .expect("3-D");
            let w = c.shape()[2];
            let (sum, sq, n) = acc.get_or_insert_with(|| (vec![0.0; w], vec![0.0; w], 0));
            for (b, &len) in lengths.iter().enumerate() {
                for t in 0..len {
                    for (j, &v) in c.slice(ndarray::s![b, t, ..]).iter().enumerate() {
                        sum[j] += v as f64;
                        sq[j] += (v as f64) * (v as f64);
                    }
                }
                *n += len;
            }
        }
        acc
    }
}

impl LearnedModel {
    /// The front end's output (before the normalisation).
    ///
    /// # Shapes
    /// `(batch, frames, prefix_dims) -> (batch, frames, feature_dims)`
    pub fn features(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let (mut h, energy) = if self.energy {
            let d = x.shape()[2] - 1;
            (
                x.slice(ndarray::s![.., .., ..d]).to_owned().into_dyn(),
                Some(x.slice(ndarray::s![.., .., d]).to_owned()),
            )
        } else {
            (x.to_owned(), None)
        };
        for s in &mut self.front {
            h = s.layer().forward(h.view(), ctx);
        }
        if let Some(e) = energy {
            let mut h3 = h
                .view_mut()
                .into_dimensionality::<Ix3>()
                .expect("(batch, frames, dims)");
            h3.slice_mut(ndarray::s![.., .., 0]).assign(&e);
        }
        h
    }

    /// The shaping's input gradient with the energy column's zeroed (C0 was
    /// replaced by the constant log energy).
    fn energy_grad(&self, mut g: ArrayD<f32>) -> ArrayD<f32> {
        if self.energy {
            let mut g3 = g
                .view_mut()
                .into_dimensionality::<Ix3>()
                .expect("(batch, frames, dims)");
            g3.slice_mut(ndarray::s![.., .., 0]).fill(0.0);
        }
        g
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
        let norm: Vec<&Param> = self.norm.iter().flat_map(|n| n.params()).collect();
        count(norm.into_iter().chain(head))
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
        let x = self.take_groups(x);
        let h = self.features(x.view(), ctx);
        let h = self.shaping.forward(h.view(), ctx);
        let h = match &mut self.norm {
            Some(n) => n.forward(h.view(), ctx),
            None => h,
        };
        let objective = self.frame_objective;
        match &mut self.head {
            Head::Whole(net) => net.forward(h.view(), ctx),
            Head::Frames {
                context,
                net,
                lengths,
                frames,
                posteriors,
                rows: row_items,
                frame_rows,
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
                *frame_rows = objective;
                if objective {
                    *row_items = lengths
                        .iter()
                        .enumerate()
                        .flat_map(|(b, &len)| std::iter::repeat_n(b, len))
                        .collect();
                    return z.into_dyn();
                }
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
        let g = match &mut self.norm {
            Some(n) => n.backward(g.view()),
            None => g,
        };
        let g = self.shaping.backward(g.view());
        // The log energy replaced C0: C0's gradient is the energy column's.
        let g_energy = self.energy.then(|| {
            g.view()
                .into_dimensionality::<Ix3>()
                .expect("3-D")
                .slice(ndarray::s![.., .., 0])
                .to_owned()
        });
        let mut g = self.energy_grad(g);
        for s in self.front.iter_mut().rev() {
            g = s.layer().backward(g.view());
        }
        // Input columns the front end did not read: the energy (above) and
        // the speaker group (piecewise constant: zero).
        let extra = usize::from(self.energy) + usize::from(self.speaker.on);
        if extra == 0 {
            return g;
        }
        let g3 = g.into_dimensionality::<Ix3>().expect("3-D");
        let (b, t, d) = g3.dim();
        let mut out = Array3::<f32>::zeros((b, t, d + extra));
        out.slice_mut(ndarray::s![.., .., ..d]).assign(&g3);
        if let Some(e) = g_energy {
            out.slice_mut(ndarray::s![.., .., d]).assign(&e);
        }
        out.into_dyn()
    }

    /// As [`Layer::backward`] without the gradient of the input (the cached
    /// prefix, which nothing learns): the first front stage accumulates only
    /// its parameter gradients, which saves its input product (for a mel
    /// matrix, the larger half of its backward).
    fn backward_params_only(&mut self, grad_logits: ArrayViewD<'_, f32>) {
        let g = self.head.backward(grad_logits);
        let g = match &mut self.norm {
            Some(n) => n.backward(g.view()),
            None => g,
        };
        let g = self.shaping.backward(g.view());
        let mut g = self.energy_grad(g);
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
        if let Some(n) = &self.norm {
            v.extend(n.params());
        }
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
        if let Some(n) = &mut self.norm {
            v.extend(n.params_mut());
        }
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

    fn row_items(&self) -> Option<Vec<usize>> {
        match &self.head {
            Head::Frames {
                rows,
                frame_rows: true,
                ..
            } => Some(rows.clone()),
            _ => None,
        }
    }

    fn begin_epoch(&mut self, _epoch: usize) {
        if let Some((prefixes, groups)) = self.speaker.source.take() {
            let refs: Vec<&Array2<f32>> = prefixes.iter().collect();
            self.refresh_speaker_stats(&refs, &groups);
            self.speaker.source = Some((prefixes, groups));
        }
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
        if let Some(n) = &self.norm {
            v.extend(
                n.params()
                    .iter()
                    .map(|p| format!("{}.{}", n.name(), p.name)),
            );
        }
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
