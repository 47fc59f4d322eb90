//! The learned path: the frozen prefix cached once, the learned stages and
//! the classifier trained end to end.
//!
//! # Design
//! - **Split at the first learned stage.** [`corpus_prefix`] computes, once
//!   per utterance and through the on-disk cache, the hand-crafted chain up
//!   to the first learned stage (see [`prefix::PrefixComputer`]); every run
//!   then trains only the stages from there on ([`model::LearnedModel`]).
//! - **Options the layer chain does not carry.** Kaldi's `use_energy`
//!   (replacing C0 with the frame log energy) is turned off: the energy is a
//!   function of the raw frame, not of the learned stages, so it cannot be
//!   kept consistently once the DCT or an earlier stage is learned. The
//!   post-processing (CMVN, deltas) and librosa's `top_db` clipping are not
//!   applied after learned stages either: [`FeatureNorm`] takes CMVN's place
//!   (differentiable, see `frontend::learned::norm`). The learned
//!   pre-emphasis follows Kaldi's per-frame first-sample rule.
//! - **Normalisation.** A [`FeatureNorm`] sits between the front end and
//!   the classifier (the `[frontend.learn.norm]` table; per-frame by
//!   default), so standardisation follows the learned stages (the layer
//!   author's remedy for the random-init collapse); the classifier's own
//!   fixed input standardisation is then switched off. A second one may
//!   sit right after the compression (`[frontend.learn.compress_norm]`):
//!   a random DCT needs it (see `frontend::learned`'s design notes).
//! - **Validation** is carved from the training items (stratified, seeded by
//!   the run seed) with `train.val_fraction`; early stopping follows
//!   `train.patience` through [`crate::train::fit`].

pub mod model;
pub mod prefix;

use std::time::Instant;

use ndarray::{Array2, Axis};
use rayon::prelude::*;

use crate::data::FeatureCache;
use crate::frontend::learned::compress::LogCompress;
use crate::frontend::learned::config::{CompressKind, MelKind, NormConfig, Stage};
use crate::frontend::learned::dct::LearnedDct;
use crate::frontend::learned::dft::{SpectrumKind as LearnedSpectrumKind, TimeFilterbank};
use crate::frontend::learned::melbank::{MelMatrix, MelMatrixOptions};
use crate::frontend::learned::melbank_param::{ParametricMel, ParametricMelOptions};
use crate::frontend::learned::norm::{FeatureNorm, NormKind, DEFAULT_EPS, DEFAULT_MOMENTUM};
use crate::frontend::learned::pcen::{Pcen, PcenConstants};
use crate::frontend::learned::preemph::Preemph;
use crate::frontend::learned::{LearnConfig, StageConfig};
use crate::frontend::options::{Compression, SpectrumKind};
use crate::frontend::{Frontend, FrontendOptions, Preset};
use crate::nn::context::ContextWindow;
use crate::nn::spec::{build, Pooling};
use crate::nn::{rng_from_seed, Ctx, Layer, Rng};
use crate::report::StageData;
use crate::train::fit::{fit, Dataset};
use crate::train::split::stratified_split;
use crate::train::{History, Metrics};

use super::config::{ExperimentConfig, InputMode};
use super::corpus::Corpus;
use super::{item_seed, ExperimentError, RunOutput};

pub use model::{FrontStage, Head, LearnedModel};
pub use prefix::PrefixComputer;

/// Batch size of inference passes.
const EVAL_BATCH: usize = 256;

fn other(cfg: &ExperimentConfig, e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Other(format!("{}: {e}", cfg.name))
}

/// The configuration's learn tables and first learned stage.
fn learn_split(cfg: &ExperimentConfig) -> Result<(LearnConfig, Stage), ExperimentError> {
    let learn = cfg
        .learn()
        .map_err(|e| other(cfg, format!("[frontend.learn] {e}")))?;
    let first = learn
        .first_learned()
        .ok_or_else(|| other(cfg, "no front-end stage is learned (use the classic path)"))?;
    Ok((learn, first))
}

/// The hand-crafted options the learned chain reproduces: the
/// configuration's, without `use_energy` (see the module docs).
///
/// # Errors
/// Invalid front-end options.
pub fn chain_options(cfg: &ExperimentConfig) -> Result<FrontendOptions, ExperimentError> {
    let mut o = cfg.frontend_options()?;
    o.energy.use_energy = false;
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
        let kind = match opts.spectrum.kind {
            SpectrumKind::Power => LearnedSpectrumKind::Power,
            SpectrumKind::Magnitude => LearnedSpectrumKind::Magnitude,
        };
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
            MelKind::Matrix => FrontStage::Mel(
                MelMatrix::new(
                    dense.view(),
                    c.learn,
                    c.init(rng),
                    MelMatrixOptions::default(),
                )
                .map_err(e)?,
                dense.clone(),
            ),
            MelKind::Parametric => {
                let bank = match cfg.preset {
                    Preset::Kaldi => ParametricMelOptions::kaldi,
                    Preset::Librosa => ParametricMelOptions::librosa,
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
            out.push(FrontStage::Dct(
                LearnedDct::from_matrix(m.view(), false, c.learn, c.init(rng)).map_err(e)?,
                m,
            ));
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
    let norm = norm_layer(cfg, dims, learn.norm)?;
    let mut spec = cfg.classifier.clone();
    spec.input_norm = false;
    let head = match cfg.input.mode {
        InputMode::Pool => {
            spec.pooling = Pooling::MeanStd;
            Head::Whole(build(&spec, dims, n_classes, rng)?)
        }
        InputMode::Fixed => {
            spec.pooling = Pooling::Flatten {
                frames: cfg.input.frames,
            };
            Head::Whole(build(&spec, dims, n_classes, rng)?)
        }
        InputMode::Context => {
            spec.pooling = Pooling::None;
            let k = cfg.input.context;
            Head::Frames {
                context: ContextWindow::new(k),
                net: build(&spec, (2 * k + 1) * dims, n_classes, rng)?,
                lengths: Vec::new(),
                frames: 0,
                posteriors: Array2::zeros((0, 0)),
            }
        }
    };
    Ok(LearnedModel { front, norm, head })
}

/// Predicted class of each item of `x` (evaluation mode).
pub fn predict(model: &mut LearnedModel, utts: &[&Array2<f32>]) -> Vec<usize> {
    use crate::train::TrainModel;
    let mut out = Vec::with_capacity(utts.len());
    let mut rng = rng_from_seed(0);
    for chunk in utts.chunks(EVAL_BATCH) {
        let (x, lengths) = model::padded(chunk);
        let mut ctx = Ctx {
            lengths: Some(lengths),
            ..Ctx::eval(&mut rng)
        };
        let logits = model.forward_logits(x.into_dyn().view(), &mut ctx);
        let l2 = logits
            .into_dimensionality::<ndarray::Ix2>()
            .expect("(batch, classes)");
        out.extend(crate::nn::loss::argmax_rows(l2.view()));
    }
    out
}

/// Front-end output (before normalisation) of each utterance's prefix, in
/// evaluation mode: at classic init, the hand-crafted features of
/// [`chain_options`].
pub fn front_features(model: &mut LearnedModel, prefix: &[&Array2<f32>]) -> Vec<Array2<f32>> {
    let mut rng = rng_from_seed(0);
    prefix
        .iter()
        .map(|p| {
            let x = p.view().insert_axis(Axis(0)).into_dyn();
            let mut ctx = Ctx {
                lengths: Some(vec![p.nrows()]),
                ..Ctx::eval(&mut rng)
            };
            let y = model.features(x, &mut ctx);
            y.index_axis(Axis(0), 0)
                .into_dimensionality::<ndarray::Ix2>()
                .expect("2-D")
                .to_owned()
        })
        .collect()
}

/// Trains a fresh model of `cfg` on `train` items' prefixes with `seed`.
///
/// # Errors
/// Invalid configuration, empty data, a diverged training.
pub fn train_learned(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    prefix: &[Array2<f32>],
    train: &[usize],
    seed: u64,
) -> Result<(LearnedModel, History), ExperimentError> {
    if prefix.len() != corpus.data.items.len() {
        return Err(other(
            cfg,
            format!(
                "{} prefixes for {} items",
                prefix.len(),
                corpus.data.items.len()
            ),
        ));
    }
    let n_classes = corpus.data.classes.len();
    let targets = corpus.targets();
    let mut rng = rng_from_seed(seed);
    let mut model = build_model(cfg, n_classes, &mut rng)?;
    let labels: Vec<usize> = train.iter().map(|&i| targets[i]).collect();
    let (tr, va) = if cfg.train.val_fraction > 0.0 {
        stratified_split(&labels, cfg.train.val_fraction, &mut rng)
    } else {
        ((0..train.len()).collect(), Vec::new())
    };
    let set = |idx: &[usize]| {
        let utts: Vec<&Array2<f32>> = idx.iter().map(|&k| &prefix[train[k]]).collect();
        let (x, len) = model::padded(&utts);
        (
            x,
            len,
            idx.iter().map(|&k| labels[k]).collect::<Vec<usize>>(),
        )
    };
    let (xt, lt, yt) = set(&tr);
    let (xv, lv, yv) = set(&va);
    let mut dt = Dataset::new(xt.view().into_dyn(), &yt);
    dt.lengths = Some(&lt);
    let mut dv = Dataset::new(xv.view().into_dyn(), &yv);
    dv.lengths = Some(&lv);
    let mut tcfg = cfg.train.clone();
    tcfg.seed = seed;
    let history = fit(
        &mut model,
        &dt,
        (!va.is_empty()).then_some(&dv),
        n_classes,
        &tcfg,
        &mut rng,
    )?;
    Ok((model, history))
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

/// One run of the learned path: trains on `train`, tests on `test`.
///
/// # Errors
/// As [`train_learned`].
pub fn run_learned(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    prefix: &[Array2<f32>],
    train: &[usize],
    test: &[usize],
    seed: u64,
) -> Result<RunOutput, ExperimentError> {
    let start = Instant::now();
    let (mut model, history) = train_learned(corpus, cfg, prefix, train, seed)?;
    let train_seconds = start.elapsed().as_secs_f64();
    let utts: Vec<&Array2<f32>> = test.iter().map(|&i| &prefix[i]).collect();
    let predicted = predict(&mut model, &utts);
    let targets = corpus.targets();
    let truth: Vec<usize> = test.iter().map(|&i| targets[i]).collect();
    let metrics = Metrics::compute(&predicted, &truth, corpus.data.classes.len());
    Ok(RunOutput {
        test_items: test.to_vec(),
        predicted,
        truth,
        metrics,
        history,
        train_seconds,
        frontend_params: model.frontend_params(),
        classifier_params: model.classifier_params(),
        learned: stage_data(&model, cfg.sample_rate_hz as f32),
    })
}
