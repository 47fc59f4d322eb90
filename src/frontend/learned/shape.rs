//! Input shaping as layers: the recipe steps that sit between the front
//! end's last stage and the classifier (per-utterance CMVN, deltas,
//! speaker-level CMVN, the position and duration columns), written so that
//! gradients flow through them to a learned stage before them.
//!
//! # Order (the same as the hand-crafted path)
//! ```text
//! x (batch, frames, d) -> CMVN per utterance (statics)   [post.cmvn]
//!                      -> deltas (Kaldi add-deltas)      [post.deltas]
//!                      -> speaker CMVN                   [input.speaker_cmvn]
//!                           "both": [utterance view | speaker view]
//!                      -> position, duration columns     [input.position, input.duration]
//! ```
//! The hand-crafted path computes the same steps with
//! [`crate::frontend::post`] and `experiment::speaker_norm`; at classic
//! init the chain reproduces them (to float rounding; CMVN here floors the
//! variance with a tiny `eps` added, Kaldi with `max(var, 1e-20)`).
//!
//! # What is differentiated
//! - Deltas are linear in their input: backward is the transposed
//!   convolution, edges clamped at each item's own length.
//! - Per-utterance CMVN is [`FeatureNorm`] (utterance mean or mean+var),
//!   its statistics differentiated through.
//! - Speaker-level statistics cover *all* of a speaker's utterances, which
//!   no mini-batch holds, so they are constants here (stop-gradient): the
//!   model refreshes them from its current front end before every epoch
//!   (see `experiment::learned::model`); the layer applies
//!   `(x - mean_b) * scale_b` with one `(mean, scale)` per batch item.
//! - Position and duration are functions of the length only: their columns
//!   carry no gradient.

use ndarray::{s, Array3, ArrayD, ArrayViewD, Ix3};

use super::norm::{FeatureNorm, NormKind};
use crate::frontend::post::delta_scales;
use crate::nn::{Ctx, Layer, Param};

/// Kaldi's deltas (`add-deltas`) as a layer: `[static, delta, ...]` blocks,
/// frames beyond an item's valid length treated as its last frame.
pub struct Deltas {
    scales: Vec<Vec<f32>>,
    dims: usize,
    lengths: Vec<usize>,
    frames: usize,
}

impl Deltas {
    /// Deltas up to `order` with half-window `window` (Kaldi: 2, 2).
    pub fn new(order: usize, window: usize) -> Self {
        Deltas {
            scales: delta_scales(order, window),
            dims: 0,
            lengths: Vec::new(),
            frames: 0,
        }
    }

    /// Output blocks: `order + 1`.
    pub fn blocks(&self) -> usize {
        self.scales.len()
    }
}

fn lengths_of(ctx: &Ctx<'_>, batch: usize, t: usize) -> Vec<usize> {
    match &ctx.lengths {
        Some(l) => l.iter().map(|&v| v.min(t)).collect(),
        None => vec![t; batch],
    }
}

fn view3<'a>(x: &'a ArrayViewD<'_, f32>, who: &str) -> ndarray::ArrayView3<'a, f32> {
    x.view()
        .into_dimensionality::<Ix3>()
        .unwrap_or_else(|_| panic!("{who}: expected (batch, frames, dims), got {:?}", x.shape()))
}

impl Layer for Deltas {
    fn name(&self) -> String {
        format!("deltas(order {})", self.scales.len() - 1)
    }

    /// `y[b, t, k d + c] = sum_j scales[k][j] x[b, clamp(t + j - o_k, 0, L_b - 1), c]`.
    ///
    /// # Shapes
    /// `(batch, T, d) -> (batch, T, d (order + 1))`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let x3 = view3(&x, "deltas");
        let (batch, t, d) = x3.dim();
        let lengths = lengths_of(ctx, batch, t);
        let mut y = Array3::<f32>::zeros((batch, t, d * self.scales.len()));
        for (b, &len) in lengths.iter().enumerate() {
            for (k, sc) in self.scales.iter().enumerate() {
                let off = (sc.len() as i64 - 1) / 2;
                for tt in 0..len {
                    for (j, &c) in sc.iter().enumerate() {
                        if c == 0.0 {
                            continue;
                        }
                        let src = (tt as i64 + j as i64 - off).clamp(0, len as i64 - 1) as usize;
                        for i in 0..d {
                            y[[b, tt, k * d + i]] += c * x3[[b, src, i]];
                        }
                    }
                }
            }
        }
        (self.dims, self.lengths, self.frames) = (d, lengths, t);
        y.into_dyn()
    }

    /// The transposed convolution: each output's gradient goes back to the
    /// frames it read.
    fn backward(&mut self, g: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g3 = view3(&g, "deltas backward");
        let d = self.dims;
        let mut dx = Array3::<f32>::zeros((self.lengths.len(), self.frames, d));
        for (b, &len) in self.lengths.iter().enumerate() {
            for (k, sc) in self.scales.iter().enumerate() {
                let off = (sc.len() as i64 - 1) / 2;
                for tt in 0..len {
                    for (j, &c) in sc.iter().enumerate() {
                        if c == 0.0 {
                            continue;
                        }
                        let src = (tt as i64 + j as i64 - off).clamp(0, len as i64 - 1) as usize;
                        for i in 0..d {
                            dx[[b, src, i]] += c * g3[[b, tt, k * d + i]];
                        }
                    }
                }
            }
        }
        dx.into_dyn()
    }
}

/// Appends each frame's relative position `t / (L - 1)` (0.5 for one
/// frame) and/or the length column `ln(L / 50)`, as the hand-crafted path's
/// `with_position` / `with_duration` do. The columns carry no gradient.
pub struct AppendColumns {
    position: bool,
    duration: bool,
    dims: usize,
}

impl AppendColumns {
    /// Which columns to append.
    pub fn new(position: bool, duration: bool) -> Self {
        AppendColumns {
            position,
            duration,
            dims: 0,
        }
    }

    /// Columns appended.
    pub fn extra(&self) -> usize {
        self.position as usize + self.duration as usize
    }
}

impl Layer for AppendColumns {
    fn name(&self) -> String {
        "append_columns".into()
    }

    /// # Shapes
    /// `(batch, T, d) -> (batch, T, d + extra)`; padded frames stay 0.
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let x3 = view3(&x, "append_columns");
        let (batch, t, d) = x3.dim();
        let lengths = lengths_of(ctx, batch, t);
        let mut y = Array3::<f32>::zeros((batch, t, d + self.extra()));
        y.slice_mut(s![.., .., ..d]).assign(&x3);
        for (b, &len) in lengths.iter().enumerate() {
            let mut col = d;
            if self.position {
                for i in 0..len {
                    y[[b, i, col]] = if len > 1 {
                        i as f32 / (len - 1) as f32
                    } else {
                        0.5
                    };
                }
                col += 1;
            }
            if self.duration {
                let v = (len.max(1) as f32 / 50.0).ln();
                for i in 0..len {
                    y[[b, i, col]] = v;
                }
            }
        }
        self.dims = d;
        y.into_dyn()
    }

    fn backward(&mut self, g: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g3 = view3(&g, "append_columns backward");
        g3.slice(s![.., .., ..self.dims]).to_owned().into_dyn()
    }
}

/// Per-item affine map of the leading columns with constant statistics:
/// `y[b, t, c] = (x[b, t, c] - mean[b][c]) * scale[b][c]` for
/// `c < mean[b].len()`, other columns unchanged (speaker-level CMVN with
/// statistics gathered outside the batch).
#[derive(Default)]
pub struct ItemAffine {
    /// One `(mean, scale)` per batch item of the next forward.
    pub stats: Vec<(Vec<f32>, Vec<f32>)>,
    used: Vec<(Vec<f32>, Vec<f32>)>,
}

impl Layer for ItemAffine {
    fn name(&self) -> String {
        "item_affine".into()
    }

    /// # Shapes
    /// `(batch, T, d)`, unchanged. Items without statistics pass through.
    fn forward(&mut self, x: ArrayViewD<'_, f32>, _ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let mut y = view3(&x, "item_affine").to_owned();
        for (b, mut item) in y.outer_iter_mut().enumerate() {
            let Some((mean, scale)) = self.stats.get(b) else {
                continue;
            };
            for mut row in item.outer_iter_mut() {
                for (c, v) in row.iter_mut().enumerate().take(mean.len()) {
                    *v = (*v - mean[c]) * scale[c];
                }
            }
        }
        self.used = self.stats.clone();
        y.into_dyn()
    }

    fn backward(&mut self, g: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let mut dx = view3(&g, "item_affine backward").to_owned();
        for (b, mut item) in dx.outer_iter_mut().enumerate() {
            let Some((_, scale)) = self.used.get(b) else {
                continue;
            };
            for mut row in item.outer_iter_mut() {
                for (c, v) in row.iter_mut().enumerate().take(scale.len()) {
                    *v *= scale[c];
                }
            }
        }
        dx.into_dyn()
    }
}

/// Speaker-level normalisation mode, as `[input] speaker_cmvn` (the
/// experiment layer's enum maps onto this one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeakerView {
    /// Off.
    None,
    /// `(x - mean_speaker) * scale_speaker` (scale 1 for mean only).
    Replace,
    /// `[utterance CMVN view | speaker view]` side by side.
    Both,
}

/// The whole shaping chain between the front end and the context window;
/// see the module docs for its order.
pub struct Shaping {
    /// Per-utterance CMVN of the statics (`post.cmvn`).
    pub cmvn: Option<FeatureNorm>,
    /// Deltas (`post.deltas`).
    pub deltas: Option<Deltas>,
    /// Speaker-level view.
    pub speaker: SpeakerView,
    /// The speaker view's statistics (one per batch item, set before each
    /// forward by the model).
    pub speaker_norm: ItemAffine,
    /// `Both`: the utterance view's CMVN (mean + variance of the statics).
    pub both_cmvn: Option<FeatureNorm>,
    /// `Both`: the utterance view's deltas.
    pub both_deltas: Option<Deltas>,
    /// Position / duration columns.
    pub append: AppendColumns,
    main_dims: usize,
}

fn apply(l: &mut Option<impl Layer>, x: ArrayD<f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
    match l {
        Some(l) => l.forward(x.view(), ctx),
        None => x,
    }
}

fn back(l: &mut Option<impl Layer>, g: ArrayD<f32>) -> ArrayD<f32> {
    match l {
        Some(l) => l.backward(g.view()),
        None => g,
    }
}

impl Shaping {
    /// The chain for `dims` front-end outputs. `cmvn`: `None`, or
    /// `Some(variance)` for utterance mean (+ variance) normalisation;
    /// `deltas`: `Some((order, window))`.
    pub fn new(
        dims: usize,
        cmvn: Option<bool>,
        deltas: Option<(usize, usize)>,
        speaker: SpeakerView,
        position: bool,
        duration: bool,
    ) -> Self {
        // A tiny offset: CMVN of real features matches Kaldi's
        // `max(var, 1e-20)` to float rounding.
        let norm = |var: bool| {
            let kind = if var {
                NormKind::UtteranceMeanVar
            } else {
                NormKind::UtteranceMean
            };
            FeatureNorm::new(
                dims,
                kind,
                1e-10,
                super::norm::DEFAULT_MOMENTUM,
                false,
                true,
            )
            .expect("valid norm")
        };
        let both = speaker == SpeakerView::Both;
        Shaping {
            cmvn: cmvn.map(norm),
            deltas: deltas.map(|(o, w)| Deltas::new(o, w)),
            speaker,
            speaker_norm: ItemAffine::default(),
            both_cmvn: both.then(|| norm(true)),
            both_deltas: if both {
                deltas.map(|(o, w)| Deltas::new(o, w))
            } else {
                None
            },
            append: AppendColumns::new(position, duration),
            main_dims: 0,
        }
    }

    /// Output width for `dims` front-end outputs.
    pub fn out_dims(&self, dims: usize) -> usize {
        let main = dims * self.deltas.as_ref().map_or(1, |d| d.blocks());
        let views = if self.speaker == SpeakerView::Both {
            2
        } else {
            1
        };
        main * views + self.append.extra()
    }

    /// Width of the features the speaker statistics cover (front end plus
    /// deltas, before the views and appended columns).
    pub fn stats_dims(&self, dims: usize) -> usize {
        dims * self.deltas.as_ref().map_or(1, |d| d.blocks())
    }

    /// The features speaker statistics are gathered over: CMVN and deltas.
    ///
    /// # Shapes
    /// `(batch, T, d) -> (batch, T, stats_dims(d))`
    pub fn stats_features(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let h = apply(&mut self.cmvn, x.to_owned(), ctx);
        apply(&mut self.deltas, h, ctx)
    }
}

impl Layer for Shaping {
    fn name(&self) -> String {
        "shaping".into()
    }

    /// # Shapes
    /// `(batch, T, d) -> (batch, T, out_dims(d))`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let main = self.stats_features(x.view(), ctx);
        self.main_dims = main.shape()[2];
        let out = match self.speaker {
            SpeakerView::None => main,
            SpeakerView::Replace => self.speaker_norm.forward(main.view(), ctx),
            SpeakerView::Both => {
                let spk = self.speaker_norm.forward(main.view(), ctx);
                let u = apply(&mut self.both_cmvn, x.to_owned(), ctx);
                let u = apply(&mut self.both_deltas, u, ctx);
                ndarray::concatenate(ndarray::Axis(2), &[u.view(), spk.view()])
                    .expect("same batch and frames")
            }
        };
        if self.append.extra() == 0 {
            out
        } else {
            self.append.forward(out.view(), ctx)
        }
    }

    fn backward(&mut self, g: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g = if self.append.extra() == 0 {
            g.to_owned()
        } else {
            self.append.backward(g)
        };
        let (g_main, g_utt) = match self.speaker {
            SpeakerView::None => (g, None),
            SpeakerView::Replace => (self.speaker_norm.backward(g.view()), None),
            SpeakerView::Both => {
                let m = self.main_dims;
                let gu = g.slice(s![.., .., ..m]).to_owned().into_dyn();
                let gs = g.slice(s![.., .., m..]).to_owned().into_dyn();
                (self.speaker_norm.backward(gs.view()), Some(gu))
            }
        };
        let gx = back(&mut self.deltas, g_main);
        let mut gx = back(&mut self.cmvn, gx);
        if let Some(gu) = g_utt {
            let gu = back(&mut self.both_deltas, gu);
            gx += &back(&mut self.both_cmvn, gu);
        }
        gx
    }

    fn params(&self) -> Vec<&Param> {
        Vec::new()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        Vec::new()
    }
}

#[cfg(test)]
#[path = "shape_tests.rs"]
mod tests;
