//! The learned path: the frozen prefix cached once, the learned stages and
//! the classifier trained end to end.
//!
//! # Design
//! - **Split at the first learned stage.** [`corpus_prefix`] computes, once
//!   per utterance and through the on-disk cache, the hand-crafted chain up
//!   to the first learned stage (see [`prefix::PrefixComputer`]); every run
//!   then trains only the stages from there on ([`model::LearnedModel`]).
//! - **Kaldi's `use_energy`** (C0 replaced by the frame log energy, MFCC)
//!   is kept: the energy is a function of the raw frame, so the frozen
//!   prefix carries it as one more column and the model writes it over the
//!   front end's first output, with no gradient (see `model`). For fbank it
//!   is turned off (the layer chain has no energy column there).
//!   Librosa's `top_db` clipping is not applied after learned stages. The
//!   learned pre-emphasis follows Kaldi's per-frame first-sample rule.
//! - **The same recipe.** The post-processing (per-utterance CMVN, deltas)
//!   and the input shaping (speaker CMVN, position, duration, dilated
//!   context) are layers after the front end ([`shaping`],
//!   `frontend::learned::shape`), so every recipe option of the
//!   hand-crafted path applies and passes gradients back.
//! - **Normalisation.** Without a `[frontend.learn.norm]` table the
//!   classifier keeps its own input standardisation, fitted once at step 0
//!   on the training frames, as the hand-crafted path does. With the table
//!   a differentiable [`FeatureNorm`] sits between the shaping and the
//!   classifier instead, so standardisation follows the learned stages (the
//!   remedy for the random-init collapse; the random-init configurations
//!   use it). A second one may sit right after the compression
//!   (`[frontend.learn.compress_norm]`): a random DCT needs it (see
//!   `frontend::learned`'s design notes).
//! - **Validation** is carved from the training items (stratified, seeded by
//!   the run seed) with `train.val_fraction`; early stopping follows
//!   `train.patience` through [`crate::train::fit()`].
//! - **Augmentation** (`[augment]`) adds perturbed copies of the training
//!   part's prefixes (never of the validation part); see [`augment`] for
//!   what applies before which learned stage.

pub mod augment;
pub mod model;
pub mod prefix;
pub mod run;

use ndarray::Array2;
use rayon::prelude::*;

use super::speaker_norm::SpeakerCmvn;
use crate::data::FeatureCache;
use crate::frontend::learned::compress::LogCompress;
use crate::frontend::learned::config::{CompressKind, MelKind, NormConfig, Stage};
use crate::frontend::learned::dct::LearnedDct;
use crate::frontend::learned::dft::TimeFilterbank;
use crate::frontend::learned::melbank::{MelMatrix, MelMatrixOptions};
use crate::frontend::learned::melbank_param::{ParametricMel, ParametricMelOptions};
use crate::frontend::learned::norm::{FeatureNorm, NormKind, DEFAULT_EPS, DEFAULT_MOMENTUM};
use crate::frontend::learned::pcen::{Pcen, PcenConstants};
use crate::frontend::learned::preemph::Preemph;
use crate::frontend::learned::shape::{Shaping, SpeakerView};
use crate::frontend::learned::{LearnConfig, StageConfig};
use crate::frontend::options::Compression;
use crate::frontend::Cmvn;
use crate::frontend::{Frontend, FrontendOptions, Preset};
use crate::nn::context::ContextWindow;
use crate::nn::spec::{build, Pooling};
use crate::nn::{Layer, Rng};
use crate::report::StageData;

use super::config::{ExperimentConfig, InputMode};
use super::corpus::Corpus;
use super::{item_seed, ExperimentError};

pub use model::{FrontStage, Head, LearnedModel};
pub use prefix::PrefixComputer;
pub use run::{
    front_features, predict, run_learned, run_learned_observed, shaped_features, train_chain,
    train_learned, train_learned_observed, ChainModel,
};

fn other(cfg: &ExperimentConfig, e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Other(format!("{}: {e}", cfg.name))
}

/// The configuration's learn tables and first learned stage.
///
/// # Errors
/// Invalid tables, or no learned stage.
pub fn learn_split(cfg: &ExperimentConfig) -> Result<(LearnConfig, Stage), ExperimentError> {
    let learn = cfg
        .learn()
        .map_err(|e| other(cfg, format!("[frontend.learn] {e}")))?;
    let first = learn
        .first_learned()
        .ok_or_else(|| other(cfg, "no front-end stage is learned (use the classic path)"))?;
    Ok((learn, first))
}

/// The hand-crafted options the learned chain reproduces: the
/// configuration's (`use_energy` kept for MFCC only, see the module docs).
///
/// # Errors
/// Invalid front-end options.
pub fn chain_options(cfg: &ExperimentConfig) -> Result<FrontendOptions, ExperimentError> {
    let mut o = cfg.frontend_options()?;
    // The log energy replaces C0 of an MFCC; other features have no
    // energy column in the chain.
    if o.feature != crate::frontend::Feature::Mfcc {
        o.energy.use_energy = false;
    }
    Ok(o)
}

/// The frozen prefix of every utterance (everything before the first
/// learned stage), through the on-disk cache when one is given. Dither is
/// seeded per file exactly as in [`super::classic::corpus_features`].
///
/// # Errors
/// No learned stage, invalid options, a cache that cannot be written.
pub fn corpus_prefix(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    cache: Option<&FeatureCache>,
) -> Result<Vec<Array2<f32>>, ExperimentError> {
    let (learn, first) = learn_split(cfg)?;
    let opts = chain_options(cfg)?;
    let pc = PrefixComputer::new(&opts, first)?;
    let key = crate::data::canonical_json(&(
        "prefix",
        format!("{first:?}"),
        &opts,
        &learn,
        cfg.input.trim_silence,
        &cfg.input.speech,
        cfg.sample_rate_hz,
    ))?;
    corpus
        .data
        .items
        .par_iter()
        .zip(corpus.audio.par_iter())
        .map(|(item, samples)| {
            let seed = item_seed(0, &item.rel_path);
            let compute = || {
                Ok::<_, ExperimentError>(pc.utterance(
                    samples,
                    corpus.sample_rate_hz,
                    &cfg.input,
                    seed,
                ))
            };
            match cache {
                Some(c) => c.get_or_compute(&item.path, &key, compute),
                None => compute(),
            }
        })
        .collect()
}

fn stage_or_frozen<K: Default + Copy>(c: Option<StageConfig<K>>) -> StageConfig<K> {
    c.unwrap_or_default()
}

/// The front-end stages from `first` on, built from the hand-crafted front
/// end of `opts` and the learn tables, with random init drawn from `rng`.
///
/// # Errors
/// A chain that the configuration does not allow (e.g. a learned DCT on a
/// filterbank feature, a learned mel stage on a spectrogram) or invalid
/// initial values.
pub fn build_front(
    cfg: &ExperimentConfig,
    opts: &FrontendOptions,
    learn: &LearnConfig,
    first: Stage,
    rng: &mut Rng,
) -> Result<Vec<FrontStage>, ExperimentError> {
    let fe = Frontend::new(opts)?;
    let e = |x: crate::frontend::learned::LearnedError| other(cfg, x);
    let mut out = Vec::new();
    if first <= Stage::Preemph {
        let c = stage_or_frozen(learn.preemph);
        out.push(FrontStage::Preemph(
            Preemph::new(
                opts.frame_length(),
                opts.frame.preemph_coeff,
                c.learn,
                c.init(rng),
            )
            .map_err(e)?,
        ));
    }
    if first <= Stage::Spectrum {
        let c = stage_or_frozen(learn.spectrum);
        let kind = opts.spectrum.kind;
        let t = TimeFilterbank::new(fe.window(), opts.fft_size(), kind, c.learn, c.init(rng))
            .map_err(e)?;
        let init = first_matrix(&t).unwrap_or_default();
        out.push(FrontStage::Spectrum(t, init));
    }
    let Some(banks) = fe.mel_banks() else {
        if first <= Stage::Spectrum
            && learn.mel.is_none()
            && learn.compress.is_none()
            && learn.dct.is_none()
        {
            return Err(other(
                cfg,
                "a learned spectrogram front end is not supported (no mel stage to follow)",
            ));
        }
        return Err(other(
            cfg,
            "learned mel, compression or DCT stages need a mel feature (mfcc or fbank)",
        ));
    };
    let dense = banks.dense();
    let n_mels = dense.nrows();
    if first <= Stage::Mel {
        let c = stage_or_frozen(learn.mel);
        out.push(match c.kind {
            MelKind::Matrix => {
                let m = MelMatrix::new(
                    dense.view(),
                    c.learn,
                    c.init(rng),
                    MelMatrixOptions::default(),
                )
                .map_err(e)?;
                // The values it starts from: the triangles at classic
                // init, the random draw at random init (for the report).
                let initial = m.filters();
                FrontStage::Mel(m, initial)
            }
            MelKind::Parametric => {
                let bank = match cfg.preset {
                    Preset::Kaldi => ParametricMelOptions::kaldi,
                    Preset::Librosa | Preset::Whisper => ParametricMelOptions::librosa,
                };
                let pm = ParametricMel::new(
                    bank(n_mels, opts.fft_size(), opts.sample_rate_hz),
                    c.learn,
                    c.init(rng),
                )
                .map_err(e)?;
                let initial = pm.filters();
                FrontStage::ParamMel(pm, initial)
            }
        });
    }
    if first <= Stage::Compress {
        let c = stage_or_frozen(learn.compress);
        let (floor, scale) = match opts.compress.kind {
            Compression::Log => (opts.compress.log_floor, 1.0),
            Compression::Db => (opts.compress.db_amin, 10.0 / std::f32::consts::LN_10),
            // Its `+ 1` offset has no place in the log layer (scale * ln).
            Compression::Whisper => {
                return Err(other(
                    cfg,
                    "compress.kind = \"whisper\" has no learned compression stage yet",
                ))
            }
        };
        out.push(match c.kind {
            CompressKind::Log => FrontStage::Log(
                LogCompress::new(n_mels, false, floor, scale, c.learn, c.init(rng)).map_err(e)?,
                floor,
                scale,
            ),
            CompressKind::Pcen => FrontStage::Pcen(
                Pcen::new(n_mels, PcenConstants::default(), c.learn, c.init(rng)).map_err(e)?,
            ),
        });
    }
    if let Some(n) = learn.compress_norm {
        out.push(FrontStage::Norm(norm_layer(cfg, n_mels, Some(n))?));
    }
    match fe.dct() {
        Some(dct) => {
            let c = stage_or_frozen(learn.dct);
            let m = dct.matrix();
            let d = LearnedDct::from_matrix(m.view(), false, c.learn, c.init(rng)).map_err(e)?;
            let initial = d.weight().to_owned();
            out.push(FrontStage::Dct(d, initial));
        }
        None if learn.dct.is_some_and(|c| c.learn) => {
            return Err(other(cfg, "a learned DCT needs feature = \"mfcc\""));
        }
        None => {}
    }
    Ok(out)
}

/// A [`FeatureNorm`] over `dims` channels as the table `c` says (per frame,
/// no affine when absent).
fn norm_layer(
    cfg: &ExperimentConfig,
    dims: usize,
    c: Option<NormConfig>,
) -> Result<FeatureNorm, ExperimentError> {
    let (kind, affine, learn) = match c {
        Some(n) => (n.kind, n.affine, n.learn),
        None => (NormKind::default(), false, true),
    };
    FeatureNorm::new(dims, kind, DEFAULT_EPS, DEFAULT_MOMENTUM, affine, learn)
        .map_err(|e| other(cfg, e))
}

/// The first parameter of a layer as a matrix (a basis or weight matrix).
fn first_matrix(l: &dyn Layer) -> Option<Array2<f32>> {
    let ps = l.params();
    let p = ps.first()?;
    p.value
        .view()
        .into_dimensionality::<ndarray::Ix2>()
        .ok()
        .map(|v| v.to_owned())
}

/// Output dimension of the front end of `opts`.
fn feature_dims(opts: &FrontendOptions) -> Result<usize, ExperimentError> {
    let fe = Frontend::new(opts)?;
    Ok(match (fe.dct(), fe.mel_banks()) {
        (Some(d), _) => d.matrix().nrows(),
        (None, Some(m)) => m.num_bins(),
        (None, None) => fe.dims(),
    })
}

/// The whole model of `cfg` for `n_classes`, seeded by `rng`.
///
/// # Errors
/// As [`build_front`]; an invalid classifier.
pub fn build_model(
    cfg: &ExperimentConfig,
    n_classes: usize,
    rng: &mut Rng,
) -> Result<LearnedModel, ExperimentError> {
    let (learn, first) = learn_split(cfg)?;
    let opts = chain_options(cfg)?;
    let front = build_front(cfg, &opts, &learn, first, rng)?;
    let dims = feature_dims(&opts)?;
    let shaping = shaping(cfg, dims)?;
    let shaped = shaping.out_dims(dims);
    let norm = match learn.norm {
        Some(n) => Some(norm_layer(cfg, shaped, Some(n))?),
        None => None,
    };
    let mut spec = cfg.classifier.clone();
    // Without a differentiable norm the classifier keeps its own input
    // standardisation, fitted at step 0 like the hand-crafted path's
    // (context mode; see `run::train_learned`).
    spec.input_norm = norm.is_none() && cfg.input.mode == InputMode::Context && spec.input_norm;
    let head = match cfg.input.mode {
        InputMode::Pool => {
            spec.pooling = Pooling::MeanStd;
            Head::Whole(build(&spec, shaped, n_classes, rng)?)
        }
        InputMode::Fixed => {
            spec.pooling = Pooling::Flatten {
                frames: cfg.input.frames,
            };
            Head::Whole(build(&spec, shaped, n_classes, rng)?)
        }
        InputMode::Context => {
            spec.pooling = Pooling::None;
            let k = cfg.input.context;
            Head::Frames {
                context: ContextWindow::dilated(k, cfg.input.dilation),
                net: build(&spec, (2 * k + 1) * shaped, n_classes, rng)?,
                lengths: Vec::new(),
                frames: 0,
                posteriors: Array2::zeros((0, 0)),
                rows: Vec::new(),
                frame_rows: false,
            }
        }
    };
    let speaker = model::SpeakerState {
        on: cfg.input.speaker_cmvn != SpeakerCmvn::None,
        variance: cfg.input.speaker_cmvn != SpeakerCmvn::Mean,
        ..Default::default()
    };
    Ok(LearnedModel {
        front,
        shaping,
        norm,
        head,
        speaker,
        frame_objective: false,
        energy: opts.energy.use_energy && opts.feature == crate::frontend::Feature::Mfcc,
    })
}

/// The recipe's input shaping after a front end of `dims` outputs: the
/// configuration's `post` (CMVN, deltas) and `[input]` (speaker CMVN,
/// position, duration), see [`crate::frontend::learned::shape`].
///
/// # Errors
/// An option with no differentiable form (feature warping).
pub fn shaping(cfg: &ExperimentConfig, dims: usize) -> Result<Shaping, ExperimentError> {
    let post = cfg.frontend_options()?.post;
    let cmvn = match post.cmvn {
        Cmvn::None => None,
        Cmvn::Mean => Some(false),
        Cmvn::MeanVar => Some(true),
        Cmvn::Warp => {
            return Err(other(
                cfg,
                "post.cmvn = \"warp\" (feature warping) is a rank transform with zero \
                 gradient almost everywhere: it cannot follow a learned stage; use \"meanvar\"",
            ))
        }
    };
    let deltas = post.deltas.then_some((post.delta_order, post.delta_window));
    let speaker = match cfg.input.speaker_cmvn {
        SpeakerCmvn::None => SpeakerView::None,
        SpeakerCmvn::Mean | SpeakerCmvn::MeanVar => SpeakerView::Replace,
        SpeakerCmvn::Both => SpeakerView::Both,
    };
    Ok(Shaping::new(
        dims,
        cmvn,
        deltas,
        speaker,
        cfg.input.position,
        cfg.input.duration,
    ))
}

/// Learned stages next to their initial values, for the report.
pub fn stage_data(model: &LearnedModel, sample_rate_hz: f32) -> Vec<StageData> {
    let rows = |m: &Array2<f32>| m.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
    let mut out = Vec::new();
    for s in &model.front {
        if !s.layer_ref().params().iter().any(|p| p.trainable) {
            continue;
        }
        match s {
            FrontStage::Mel(m, init) => out.push(StageData::Filterbank {
                sample_rate_hz,
                initial: rows(init),
                learned: rows(&m.filters()),
            }),
            FrontStage::ParamMel(m, init) => out.push(StageData::Filterbank {
                sample_rate_hz,
                initial: rows(init),
                learned: rows(&m.filters()),
            }),
            FrontStage::Log(l, floor, scale) => {
                // Energies from 1e-8 to 1e8 (power spectra at int16 scale
                // span that range), 65 points on a log axis.
                let x: Vec<f32> = (0..65)
                    .map(|i| 10f32.powf(-8.0 + 0.25 * i as f32))
                    .collect();
                let initial = vec![x.iter().map(|v| scale * v.max(*floor).ln()).collect()];
                let learned = l
                    .delta()
                    .iter()
                    .map(|d| x.iter().map(|v| scale * (v + d).ln()).collect())
                    .collect();
                out.push(StageData::Compression {
                    x,
                    log_x: true,
                    initial,
                    learned,
                });
            }
            FrontStage::Dct(d, init) => out.push(StageData::Dct {
                initial: rows(init),
                learned: rows(&d.weight().to_owned()),
            }),
            FrontStage::Spectrum(t, init) => {
                if let Some(m) = first_matrix(t) {
                    out.push(StageData::Matrix {
                        name: "time-domain filterbank".into(),
                        x_label: "sample".into(),
                        y_label: "basis row".into(),
                        initial: rows(init),
                        learned: rows(&m),
                    });
                }
            }
            FrontStage::Preemph(_) | FrontStage::Pcen(_) | FrontStage::Norm(_) => {}
        }
    }
    out
}
