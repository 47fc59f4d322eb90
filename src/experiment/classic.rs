//! The hand-crafted path: features computed once per utterance (and cached
//! on disk), then only the classifier is trained.

use std::time::Instant;

use ndarray::{Array2, Array3, ArrayView2, Axis};
use rayon::prelude::*;

use crate::data::{length, FeatureCache, Pad};
use crate::frontend::Frontend;
use crate::nn::spec::Pooling;
use crate::nn::{rng_from_seed, Layer};
use crate::train::{
    train_classifier_observed, Dataset as TrainSet, EpochObserver, Metrics, Silent, TrainedModel,
};

use super::augment::training_copies;
use super::config::{ExperimentConfig, InputConfig, InputMode};
use super::corpus::Corpus;
use super::speaker_norm::{group_stats, normalise, speaker_groups, split_groups, SpeakerCmvn};
use super::{item_seed, ExperimentError, RunOutput};

/// Samples of one utterance after optional silence trimming, zero-padded
/// to at least `min_len` so that every utterance yields a frame.
pub fn prepare_samples(
    samples: &[f32],
    rate: u32,
    input: &InputConfig,
    min_len: usize,
) -> Vec<f32> {
    let kept = if input.trim_silence {
        match crate::data::speech::speech_samples(samples, rate, &input.speech) {
            Ok(r) if !r.is_empty() => &samples[r],
            _ => samples,
        }
    } else {
        samples
    };
    let mut v = kept.to_vec();
    if v.len() < min_len {
        v.resize(min_len, 0.0);
    }
    v
}

/// Features of one utterance through the hand-crafted front end.
pub fn utterance_features(
    fe: &Frontend,
    samples: &[f32],
    rate: u32,
    input: &InputConfig,
    seed: u64,
) -> Array2<f32> {
    let min_len = fe.options().frame_length();
    let s = prepare_samples(samples, rate, input, min_len);
    let x = fe.compute(&s, &mut rng_from_seed(seed));
    let x = if input.position { with_position(x) } else { x };
    if input.duration {
        with_duration(x)
    } else {
        x
    }
}

/// `x` with one more column holding the utterance's length in frames `T`
/// as `ln(T / 50)` (0 for a half-second word at a 10 ms shift). See
/// `InputConfig::duration`.
///
/// # Shapes
/// `(T, d) -> (T, d + 1)`
pub fn with_duration(x: Array2<f32>) -> Array2<f32> {
    let (t, d) = x.dim();
    let mut y = Array2::zeros((t, d + 1));
    y.slice_mut(ndarray::s![.., ..d]).assign(&x);
    y.column_mut(d).fill((t.max(1) as f32 / 50.0).ln());
    y
}

/// `x` with one more column: each frame's relative position `t / (T - 1)`
/// (0.5 for a single frame). See `InputConfig::position`.
///
/// # Shapes
/// `(T, d) -> (T, d + 1)`
pub fn with_position(x: Array2<f32>) -> Array2<f32> {
    let (t, d) = x.dim();
    let mut y = Array2::zeros((t, d + 1));
    y.slice_mut(ndarray::s![.., ..d]).assign(&x);
    for (i, v) in y.column_mut(d).iter_mut().enumerate() {
        *v = if t > 1 {
            i as f32 / (t - 1) as f32
        } else {
            0.5
        };
    }
    y
}

/// Features of every utterance of the corpus (no augmentation), through the
/// on-disk cache when one is given. The cache key covers the front-end
/// options, the input trimming settings and the file contents.
///
/// # Errors
/// Invalid front-end options; a cache that cannot be written.
pub fn corpus_features(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    cache: Option<&FeatureCache>,
) -> Result<Vec<Array2<f32>>, ExperimentError> {
    let opts = cfg.frontend_options()?;
    let fe = Frontend::new(&opts)?;
    let key = crate::data::canonical_json(&(
        &opts,
        cfg.input.trim_silence,
        &cfg.input.speech,
        cfg.sample_rate_hz,
        cfg.input.position,
        cfg.input.duration,
    ))?;
    corpus
        .data
        .items
        .par_iter()
        .zip(corpus.audio.par_iter())
        .map(|(item, samples)| {
            let seed = item_seed(0, &item.rel_path);
            let compute = || {
                Ok::<_, ExperimentError>(utterance_features(
                    &fe,
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

/// Training utterances: the originals plus `augment.copies` perturbed copies
/// of each, drawn from generators seeded by (run seed, item, copy) (see
/// [`super::augment`]).
fn training_utterances(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    feats: &[Array2<f32>],
    train: &[usize],
    seed: u64,
) -> Result<TrainingUtterances, ExperimentError> {
    let targets = corpus.targets();
    let mut utts: Vec<Array2<f32>> = train.iter().map(|&i| feats[i].clone()).collect();
    let mut labels: Vec<usize> = train.iter().map(|&i| targets[i]).collect();
    let mut groups: Vec<usize> = (0..train.len()).collect();
    if cfg.augment.is_active() {
        let fe = Frontend::new(&cfg.frontend_options()?)?;
        let extra = training_copies(
            corpus,
            &cfg.augment,
            feats,
            train,
            seed,
            |wave, dither_seed, warp| {
                let warped = warp.map(|w| warped_frontend(cfg, w));
                let fe = match &warped {
                    Some(Ok(w)) => w,
                    // Validated at load: both ends of the range build.
                    _ => &fe,
                };
                utterance_features(fe, wave, corpus.sample_rate_hz, &cfg.input, dither_seed)
            },
        );
        labels.extend(
            train
                .iter()
                .flat_map(|&i| std::iter::repeat_n(targets[i], cfg.augment.copies)),
        );
        groups.extend((0..train.len()).flat_map(|j| std::iter::repeat_n(j, cfg.augment.copies)));
        utts.extend(extra);
    }
    Ok(TrainingUtterances {
        utts,
        labels,
        groups,
    })
}

/// Training utterances with their labels and groups: an original and its
/// perturbed copies form one group, so they fall on the same side of the
/// validation split.
struct TrainingUtterances {
    utts: Vec<Array2<f32>>,
    labels: Vec<usize>,
    groups: Vec<usize>,
}

/// The front end of `cfg` with its mel filterbank warped by `warp` (see
/// `AugmentConfig::vtln`).
fn warped_frontend(cfg: &ExperimentConfig, warp: f32) -> Result<Frontend, ExperimentError> {
    let mut opts = cfg.frontend_options()?;
    opts.mel.vtln_warp = warp;
    Ok(Frontend::new(&opts)?)
}

/// Speaker of each of the corpus items `items` (`None` when unknown).
pub fn item_speakers<'a>(corpus: &'a Corpus, items: &[usize]) -> Vec<Option<&'a str>> {
    items
        .iter()
        .map(|&i| corpus.data.items[i].speaker.as_deref())
        .collect()
}

/// Leading feature columns that speaker normalisation touches: all but the
/// appended position and duration columns.
pub fn normalised_dims(input: &InputConfig, cols: usize) -> usize {
    cols.saturating_sub(input.position as usize + input.duration as usize)
}

/// Equal column blocks of the front end's output: 1 plus the delta order
/// when deltas are on (see [`super::speaker_norm::both_views`]).
pub fn delta_blocks(cfg: &ExperimentConfig) -> Result<usize, ExperimentError> {
    let post = cfg.frontend_options()?.post;
    Ok(if post.deltas { post.delta_order + 1 } else { 1 })
}

/// Pads utterances into `(n, max_frames, dims)` with their lengths.
fn padded(utts: &[ArrayView2<'_, f32>], dims: usize) -> (Array3<f32>, Vec<usize>) {
    let max = utts.iter().map(|u| u.nrows()).max().unwrap_or(0).max(1);
    let mut x = Array3::zeros((utts.len(), max, dims));
    for (mut slot, u) in x.outer_iter_mut().zip(utts) {
        slot.slice_mut(ndarray::s![..u.nrows(), ..]).assign(u);
    }
    (x, utts.iter().map(|u| u.nrows().max(1)).collect())
}

/// Flattened fixed-length inputs `(n, frames * dims)`.
fn fixed(utts: &[ArrayView2<'_, f32>], cfg: &InputConfig) -> Result<Array2<f32>, ExperimentError> {
    let rows: Vec<Array2<f32>> = utts
        .iter()
        .map(|u| length::fit_frames(*u, cfg.frames, Pad::Zeros, cfg.align))
        .collect::<Result<_, _>>()?;
    let dims = rows.first().map(|r| r.len()).unwrap_or(0);
    let mut x = Array2::zeros((rows.len(), dims));
    for (mut row, r) in x.outer_iter_mut().zip(&rows) {
        row.assign(&ndarray::ArrayView1::from(
            r.as_slice().expect("standard layout"),
        ));
    }
    Ok(x)
}

/// A trained classifier (one network, or an ensemble) plus how its inputs
/// are shaped.
pub struct ClassicModel {
    /// The networks with their standardisation: one unless the
    /// configuration's `ensemble` is larger. Member 0 is trained with the run
    /// seed itself, so an ensemble of one is the plain model.
    pub members: Vec<TrainedModel>,
    /// Input shaping used in training.
    pub input: InputConfig,
}

/// Seed of ensemble member `k` of a run with `seed`: the seed itself for
/// member 0, well-mixed distinct seeds for the others (never seed + k,
/// which is another run's seed in `compare`).
pub fn member_seed(seed: u64, k: usize) -> u64 {
    if k == 0 {
        seed
    } else {
        let mut z = seed ^ (k as u64).wrapping_mul(0xd1b5_4a32_d192_ed03);
        z = (z ^ (z >> 31)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 29)
    }
}

impl ClassicModel {
    /// Per-utterance log-posteriors averaged over the members.
    ///
    /// # Shapes
    /// utterances `(frames_i, dims)` -> `(utterances, n_classes)`
    ///
    /// # Errors
    /// Malformed features for this model.
    pub fn log_posteriors(
        &mut self,
        utts: &[ArrayView2<'_, f32>],
    ) -> Result<Array2<f32>, ExperimentError> {
        let mut sum: Option<Array2<f32>> = None;
        let n = self.members.len();
        for m in &mut self.members {
            let lp = member_log_posteriors(m, &self.input, utts)?;
            match &mut sum {
                Some(acc) => *acc += &lp,
                None => sum = Some(lp),
            }
        }
        let classes = self.members.first().map_or(0, |m| m.n_classes);
        Ok(sum.map_or_else(|| Array2::zeros((utts.len(), classes)), |s| s / n as f32))
    }

    /// Predicted class of each utterance's features.
    ///
    /// # Errors
    /// Malformed features for this model.
    pub fn predict(&mut self, utts: &[ArrayView2<'_, f32>]) -> Result<Vec<usize>, ExperimentError> {
        if utts.is_empty() {
            return Ok(Vec::new());
        }
        Ok(crate::nn::loss::argmax_rows(
            self.log_posteriors(utts)?.view(),
        ))
    }

    /// Trainable classifier parameters over all members.
    pub fn num_params(&self) -> u64 {
        self.members
            .iter()
            .flat_map(|m| m.network.params())
            .filter(|p| p.trainable)
            .map(|p| p.len() as u64)
            .sum()
    }
}

/// Per-utterance log-posteriors of the corpus items `items`, averaged over
/// the members and over every (speed, warp) pair of `cfg.test.speed` and
/// `cfg.test.vtln` (an empty list stands for 1.0 alone). The original
/// features come from `feats`; the others are computed from the audio
/// with the same per-file dither seed.
///
/// # Shapes
/// `items.len()` utterances -> `(items.len(), n_classes)`
///
/// # Errors
/// Invalid warped front end; malformed features for this model.
pub fn test_log_posteriors(
    model: &mut ClassicModel,
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    feats: &[Array2<f32>],
    items: &[usize],
) -> Result<Array2<f32>, ExperimentError> {
    let plain: Vec<ArrayView2<'_, f32>> = items.iter().map(|&i| feats[i].view()).collect();
    // Speaker-level normalisation: each test speaker's statistics from
    // their own unwarped utterances, applied to every variant of them.
    let spk = (cfg.input.speaker_cmvn != SpeakerCmvn::None).then(|| {
        let keys: Vec<u64> = items
            .iter()
            .map(|&i| item_seed(0, &corpus.data.items[i].rel_path))
            .collect();
        let groups = split_groups(
            &speaker_groups(&item_speakers(corpus, items)),
            &keys,
            cfg.test.speaker_utterances,
        );
        let dims = normalised_dims(&cfg.input, plain.first().map_or(0, |u| u.ncols()));
        let stats = group_stats(&plain, &groups, dims, cfg.input.speaker_cmvn);
        (groups, stats)
    });
    let blocks = delta_blocks(cfg)?;
    let normalise_all = |utts: &mut [Array2<f32>]| {
        if let Some((groups, stats)) = &spk {
            for (u, &g) in utts.iter_mut().zip(groups) {
                normalise(u, &stats[g], cfg.input.speaker_cmvn, blocks);
            }
        }
    };
    let plain_owned: Option<Vec<Array2<f32>>> = spk.as_ref().map(|_| {
        let mut v: Vec<Array2<f32>> = plain.iter().map(|u| u.to_owned()).collect();
        normalise_all(&mut v);
        v
    });
    let plain: Vec<ArrayView2<'_, f32>> = match &plain_owned {
        Some(v) => v.iter().map(|u| u.view()).collect(),
        None => plain,
    };
    if cfg.test.vtln.is_empty() && cfg.test.speed.is_empty() {
        return model.log_posteriors(&plain);
    }
    let or_one = |v: &[f32]| if v.is_empty() { vec![1.0] } else { v.to_vec() };
    let (speeds, warps) = (or_one(&cfg.test.speed), or_one(&cfg.test.vtln));
    let mut sum: Option<Array2<f32>> = None;
    for &speed in &speeds {
        for &warp in &warps {
            let lp = if speed == 1.0 && warp == 1.0 {
                model.log_posteriors(&plain)?
            } else {
                let fe = warped_frontend(cfg, warp)?;
                let mut other: Vec<Array2<f32>> = items
                    .par_iter()
                    .map(|&i| {
                        let seed = item_seed(0, &corpus.data.items[i].rel_path);
                        let samples = corpus.audio_at_speed(i, speed);
                        utterance_features(&fe, &samples, corpus.sample_rate_hz, &cfg.input, seed)
                    })
                    .collect();
                normalise_all(&mut other);
                let views: Vec<ArrayView2<'_, f32>> = other.iter().map(|a| a.view()).collect();
                model.log_posteriors(&views)?
            };
            match &mut sum {
                Some(acc) => *acc += &lp,
                None => sum = Some(lp),
            }
        }
    }
    let n = (speeds.len() * warps.len()) as f32;
    Ok(sum.expect("at least one (speed, warp) pair") / n)
}

/// Predicted class of each of the corpus items `items` (see
/// [`test_log_posteriors`]).
///
/// # Errors
/// As [`test_log_posteriors`].
pub fn test_predict(
    model: &mut ClassicModel,
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    feats: &[Array2<f32>],
    items: &[usize],
) -> Result<Vec<usize>, ExperimentError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let lp = test_log_posteriors(model, corpus, cfg, feats, items)?;
    Ok(crate::nn::loss::argmax_rows(lp.view()))
}

/// Checks that `members` (loaded from a file) take what the hand-crafted
/// front end of `cfg` produces and give finite log-posteriors: one second
/// of silence goes through the same input path as a test utterance. This
/// catches a model whose metadata disagrees with its configuration (an
/// edited feature count, input mode, context or class list) before it
/// meets real data.
///
/// # Errors
/// What disagrees, in words.
pub fn check_members(cfg: &ExperimentConfig, members: &mut [TrainedModel]) -> Result<(), String> {
    let Some(first) = members.first() else {
        return Err("no network in the file".into());
    };
    if first.class_names.len() != first.n_classes {
        return Err(format!(
            "the network has {} classes but the file names {}",
            first.n_classes,
            first.class_names.len()
        ));
    }
    if cfg.input.speaker_cmvn != SpeakerCmvn::None {
        // Speaker-level views change the feature count per speaker group;
        // the tensor checks of the loader still hold, the probe does not
        // apply.
        return Ok(());
    }
    let fe = Frontend::new(&cfg.frontend_options().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let silence = vec![0.0f32; cfg.sample_rate_hz as usize];
    let x = utterance_features(&fe, &silence, cfg.sample_rate_hz, &cfg.input, 0);
    for (k, m) in members.iter_mut().enumerate() {
        let lp = member_log_posteriors(m, &cfg.input, &[x.view()]).map_err(|e| {
            format!(
                "network {k} does not fit its configuration ({} features per frame, input mode {:?}): {e}",
                x.ncols(),
                cfg.input.mode
            )
        })?;
        if lp.iter().any(|v| !v.is_finite()) {
            return Err(format!("network {k} gives non-finite outputs"));
        }
    }
    Ok(())
}

/// One network's per-utterance log-posteriors.
fn member_log_posteriors(
    model: &mut TrainedModel,
    input: &InputConfig,
    utts: &[ArrayView2<'_, f32>],
) -> Result<Array2<f32>, ExperimentError> {
    if utts.is_empty() {
        return Ok(Array2::zeros((0, model.n_classes)));
    }
    let dims = utts[0].ncols();
    let logits = match input.mode {
        InputMode::Context => return Ok(model.utterance_log_posteriors(utts)?),
        InputMode::Pool => {
            let (x, lengths) = padded(utts, dims);
            model.check_input(x.view().into_dyn(), Some(&lengths))?;
            let mut out = Array2::zeros((utts.len(), model.n_classes));
            let mut row = 0;
            for (chunk, lens) in x.axis_chunks_iter(Axis(0), 256).zip(lengths.chunks(256)) {
                let l = model.logits(chunk.into_dyn(), Some(lens));
                out.slice_mut(ndarray::s![row..row + l.nrows(), ..])
                    .assign(&l);
                row += l.nrows();
            }
            out
        }
        InputMode::Fixed => {
            let x = fixed(utts, input)?;
            model.check_input(x.view().into_dyn(), None)?;
            model.logits(x.view().into_dyn(), None)
        }
    };
    Ok(crate::nn::loss::log_softmax(logits.view()))
}

/// Trains the classifier of `cfg` on `train` items' features with `seed`:
/// `cfg.ensemble` networks on the same (augmented) training utterances.
///
/// # Errors
/// Invalid configuration, empty data, a diverged training.
pub fn train_classic(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    feats: &[Array2<f32>],
    train: &[usize],
    seed: u64,
) -> Result<ClassicModel, ExperimentError> {
    train_classic_observed(corpus, cfg, feats, train, seed, &mut Silent)
}

/// [`train_classic`], reporting each epoch to `observer` (the members of
/// an ensemble one after the other, each from epoch 1).
///
/// # Errors
/// As [`train_classic`].
pub fn train_classic_observed(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    feats: &[Array2<f32>],
    train: &[usize],
    seed: u64,
    observer: &mut dyn EpochObserver,
) -> Result<ClassicModel, ExperimentError> {
    let mut t = training_utterances(corpus, cfg, feats, train, seed)?;
    if cfg.input.speaker_cmvn != SpeakerCmvn::None {
        // Statistics from each training speaker's original utterances
        // (the first `train.len()`), applied to the copies too.
        let groups = speaker_groups(&item_speakers(corpus, train));
        let dims = normalised_dims(&cfg.input, t.utts.first().map_or(0, |u| u.ncols()));
        let originals: Vec<ArrayView2<'_, f32>> =
            t.utts[..train.len()].iter().map(|u| u.view()).collect();
        let stats = group_stats(&originals, &groups, dims, cfg.input.speaker_cmvn);
        let blocks = delta_blocks(cfg)?;
        for (u, &j) in t.utts.iter_mut().zip(&t.groups) {
            normalise(u, &stats[groups[j]], cfg.input.speaker_cmvn, blocks);
        }
    }
    let views: Vec<ArrayView2<'_, f32>> = t.utts.iter().map(|u| u.view()).collect();
    let members = (0..cfg.ensemble.max(1))
        .map(|k| {
            let s = member_seed(seed, k);
            train_member(corpus, cfg, &views, &t.labels, &t.groups, s, &mut *observer)
        })
        .collect::<Result<_, _>>()?;
    Ok(ClassicModel {
        members,
        input: cfg.input.clone(),
    })
}

/// Trains one network on prepared training utterances.
fn train_member(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    views: &[ArrayView2<'_, f32>],
    labels: &[usize],
    groups: &[usize],
    seed: u64,
    observer: &mut dyn EpochObserver,
) -> Result<TrainedModel, ExperimentError> {
    let n_classes = corpus.data.classes.len();
    let classes = corpus.data.classes.clone();
    let mut tcfg = cfg.train.clone();
    tcfg.seed = seed;
    let mut spec = cfg.classifier.clone();
    Ok(match cfg.input.mode {
        InputMode::Context => {
            spec.pooling = Pooling::None;
            crate::train::frames::train_frame_classifier_observed(
                &spec,
                &tcfg,
                views,
                labels,
                Some(groups),
                n_classes,
                crate::nn::context::Splice::dilated(cfg.input.context, cfg.input.dilation),
                classes,
                observer,
            )?
        }
        InputMode::Pool => {
            spec.pooling = Pooling::MeanStd;
            let dims = views.first().map(|v| v.ncols()).unwrap_or(0);
            let (x, lengths) = padded(views, dims);
            let mut set = TrainSet::new(x.view().into_dyn(), labels);
            set.lengths = Some(&lengths);
            set.groups = Some(groups);
            train_classifier_observed(&spec, &tcfg, &set, n_classes, classes, observer)?
        }
        InputMode::Fixed => {
            spec.pooling = Pooling::None;
            let x = fixed(views, &cfg.input)?;
            train_classifier_observed(
                &spec,
                &tcfg,
                &TrainSet {
                    groups: Some(groups),
                    ..TrainSet::new(x.view().into_dyn(), labels)
                },
                n_classes,
                classes,
                observer,
            )?
        }
    })
}

/// Trains on `train`, tests on `test`: one run of the hand-crafted path.
///
/// # Errors
/// As [`train_classic`].
pub fn run_classic(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    feats: &[Array2<f32>],
    train: &[usize],
    test: &[usize],
    seed: u64,
) -> Result<RunOutput, ExperimentError> {
    run_classic_observed(corpus, cfg, feats, train, test, seed, &mut Silent)
}

/// [`run_classic`], reporting each training epoch to `observer`.
///
/// # Errors
/// As [`train_classic`].
pub fn run_classic_observed(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    feats: &[Array2<f32>],
    train: &[usize],
    test: &[usize],
    seed: u64,
    observer: &mut dyn EpochObserver,
) -> Result<RunOutput, ExperimentError> {
    let start = Instant::now();
    let mut m = train_classic_observed(corpus, cfg, feats, train, seed, observer)?;
    let train_seconds = start.elapsed().as_secs_f64();
    let lp = test_log_posteriors(&mut m, corpus, cfg, feats, test)?;
    let predicted = crate::nn::loss::argmax_rows(lp.view());
    let targets = corpus.targets();
    let truth: Vec<usize> = test.iter().map(|&i| targets[i]).collect();
    let metrics = Metrics::compute(&predicted, &truth, corpus.data.classes.len());
    let classifier_params = m.num_params();
    Ok(RunOutput {
        test_items: test.to_vec(),
        predicted,
        truth,
        metrics,
        history: m.members[0].history.clone(),
        train_seconds,
        frontend_params: 0,
        classifier_params,
        learned: Vec::new(),
        example_features: None,
        log_posteriors: Some(lp),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn tone() -> Vec<f32> {
        (0..4000)
            .map(|i| {
                let t = i as f32 / 8000.0;
                (2.0 * std::f32::consts::PI * 700.0 * t).sin()
                    + 0.5 * (2.0 * std::f32::consts::PI * 1900.0 * t).sin()
            })
            .collect()
    }

    #[test]
    fn vtln_copies_are_seeded_and_change_the_features() {
        let cfg = ExperimentConfig::from_toml_str(
            "[frontend]\nframe = { dither = 0.0 }\n[augment]\nvtln = [0.85, 1.15]\n",
            Path::new("x.toml"),
        )
        .unwrap();
        let plain = Frontend::new(&cfg.frontend_options().unwrap()).unwrap();
        let x = tone();
        let base = plain.compute(&x, &mut rng_from_seed(0));
        let aug = &cfg.augment;
        // The warp each copy used, recorded by the compute function.
        let copy = |seed: u64| {
            let used = std::sync::Mutex::new(None);
            let y = super::super::augment::perturbed_copy(
                &aug.wave,
                &aug.feature,
                aug.vtln,
                &x,
                8000,
                &base,
                seed,
                |w, _dither, warp| {
                    *used.lock().unwrap() = warp;
                    warped_frontend(&cfg, warp.unwrap())
                        .unwrap()
                        .compute(w, &mut rng_from_seed(0))
                },
            );
            (y, used.into_inner().unwrap().expect("a warp was drawn"))
        };
        let (y3, w3) = copy(3);
        let (y3b, w3b) = copy(3);
        assert_eq!((y3.clone(), w3), (y3b, w3b), "same seed, same copy");
        let warps: Vec<f32> = (0..20).map(|s| copy(s).1).collect();
        assert!(warps.iter().all(|w| (0.85..=1.15).contains(w)), "{warps:?}");
        assert!(warps.iter().any(|&w| w < 0.97) && warps.iter().any(|&w| w > 1.03));
        assert_eq!(y3.dim(), base.dim());
        let moved = y3
            .iter()
            .zip(&base)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(moved > 0.1, "warp {w3} moved features by only {moved}");
    }

    /// A two-word corpus of vowel-like tones (two formants each) in
    /// `DIR/<label>/*.wav`.
    fn tone_corpus() -> (tempfile::TempDir, Corpus) {
        let dir = tempfile::tempdir().unwrap();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        for (label, f1, f2) in [("a", 700.0f32, 1200.0f32), ("i", 300.0, 2300.0)] {
            std::fs::create_dir_all(dir.path().join(label)).unwrap();
            for take in 0..4 {
                let shift = 1.0 + 0.03 * take as f32;
                let path = dir.path().join(label).join(format!("{take}.wav"));
                let mut w = hound::WavWriter::create(path, spec).unwrap();
                for n in 0..3200 {
                    let t = n as f32 / 8000.0;
                    let v = (2.0 * std::f32::consts::PI * f1 * shift * t).sin()
                        + 0.5 * (2.0 * std::f32::consts::PI * f2 * shift * t).sin();
                    w.write_sample((v * 8000.0) as i16).unwrap();
                }
                w.finalize().unwrap();
            }
        }
        let corpus = Corpus::load(dir.path(), &crate::data::LabelSource::Folder, 8000).unwrap();
        (dir, corpus)
    }

    #[test]
    fn test_time_vtln_averages_the_log_posteriors_of_each_warp() {
        let (_dir, corpus) = tone_corpus();
        let text = "[frontend]\nframe = { dither = 0.0 }\npost = { cmvn = \"mean\" }\n\
                    [input]\nmode = \"context\"\ncontext = 1\n\
                    [classifier]\nhidden = [8]\n[train]\nepochs = 3\nval_fraction = 0.0\n";
        let mut cfg = ExperimentConfig::from_toml_str(text, Path::new("t.toml")).unwrap();
        let feats = corpus_features(&corpus, &cfg, None).unwrap();
        let all: Vec<usize> = (0..corpus.audio.len()).collect();
        let mut m = train_classic(&corpus, &cfg, &feats, &all, 1).unwrap();
        let plain = test_log_posteriors(&mut m, &corpus, &cfg, &feats, &all).unwrap();

        // The unwarped factor alone is the plain decision, bit for bit.
        cfg.test.vtln = vec![1.0];
        let one = test_log_posteriors(&mut m, &corpus, &cfg, &feats, &all).unwrap();
        assert_eq!(one, plain);

        // Two warps: the mean of what each warped front end gives alone.
        cfg.test.vtln = vec![0.9, 1.1];
        let both = test_log_posteriors(&mut m, &corpus, &cfg, &feats, &all).unwrap();
        let mut alone = |warp: f32| {
            let fe = warped_frontend(&cfg, warp).unwrap();
            let f: Vec<Array2<f32>> = all
                .iter()
                .map(|&i| {
                    let seed = item_seed(0, &corpus.data.items[i].rel_path);
                    utterance_features(&fe, &corpus.audio[i], 8000, &cfg.input, seed)
                })
                .collect();
            let v: Vec<ArrayView2<'_, f32>> = f.iter().map(|a| a.view()).collect();
            m.log_posteriors(&v).unwrap()
        };
        let (lo, hi) = (alone(0.9), alone(1.1));
        let mean = (lo + hi) / 2.0;
        let gap = both
            .iter()
            .zip(&mean)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        // Same sums in the same order up to the division: float rounding only.
        assert!(gap < 1e-6, "averaged log-posteriors differ by {gap}");
        let moved = both
            .iter()
            .zip(&plain)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(moved > 1e-3, "warping changed nothing ({moved})");
        let pred = test_predict(&mut m, &corpus, &cfg, &feats, &all).unwrap();
        assert_eq!(pred, crate::nn::loss::argmax_rows(both.view()));
    }

    #[test]
    fn test_time_speed_averages_over_every_speed_and_warp() {
        let (_dir, corpus) = tone_corpus();
        let text = "[frontend]\nframe = { dither = 0.0 }\npost = { cmvn = \"mean\" }\n\
                    [input]\nmode = \"context\"\ncontext = 1\n\
                    [classifier]\nhidden = [8]\n[train]\nepochs = 3\nval_fraction = 0.0\n";
        let mut cfg = ExperimentConfig::from_toml_str(text, Path::new("t.toml")).unwrap();
        let feats = corpus_features(&corpus, &cfg, None).unwrap();
        let all: Vec<usize> = (0..corpus.audio.len()).collect();
        let mut m = train_classic(&corpus, &cfg, &feats, &all, 1).unwrap();
        let plain = test_log_posteriors(&mut m, &corpus, &cfg, &feats, &all).unwrap();
        cfg.test.speed = vec![1.0];
        assert_eq!(
            test_log_posteriors(&mut m, &corpus, &cfg, &feats, &all).unwrap(),
            plain,
            "speed 1.0 alone is the plain decision"
        );
        // Speeds {0.9, 1.0} x warps {1.0, 1.1}: the mean of four passes.
        cfg.test.speed = vec![0.9, 1.0];
        cfg.test.vtln = vec![1.0, 1.1];
        let grid = test_log_posteriors(&mut m, &corpus, &cfg, &feats, &all).unwrap();
        let mut pass = |speed: f32, warp: f32| {
            let fe = warped_frontend(&cfg, warp).unwrap();
            let f: Vec<Array2<f32>> = all
                .iter()
                .map(|&i| {
                    let seed = item_seed(0, &corpus.data.items[i].rel_path);
                    let a = crate::data::augment::wave::speed_perturb(&corpus.audio[i], speed);
                    utterance_features(&fe, &a, 8000, &cfg.input, seed)
                })
                .collect();
            let v: Vec<ArrayView2<'_, f32>> = f.iter().map(|a| a.view()).collect();
            m.log_posteriors(&v).unwrap()
        };
        let mean = (pass(0.9, 1.0) + pass(0.9, 1.1) + pass(1.0, 1.0) + pass(1.0, 1.1)) / 4.0;
        let gap = grid
            .iter()
            .zip(&mean)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        // Same terms, summed in another order: float rounding only.
        assert!(gap < 1e-5, "grid average differs by {gap}");
        let crop = ExperimentConfig::from_toml_str(
            "[augment]\nwave = { edge_crop_ms = [-5.0, 0.0] }\n",
            Path::new("t.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(crop.contains("edge_crop_ms [-5, 0]"), "{crop}");
        let bad = ExperimentConfig::from_toml_str("[test]\nspeed = [0.1]\n", Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(bad.contains("test.speed") && bad.contains("0.1"), "{bad}");
    }

    #[test]
    fn test_vtln_is_validated() {
        let bad = |t: &str| ExperimentConfig::from_toml_str(t, Path::new("t.toml")).unwrap_err();
        let e = bad("[test]\nvtln = [0.0]\n").to_string();
        assert!(e.contains("test.vtln") && e.contains('0'), "{e}");
        let e = bad("[test]\nvtln = [0.9]\n[frontend.learn]\nspectrum = { learn = true, init = \"classic\" }\n")
            .to_string();
        assert!(e.contains("test.vtln") && e.contains("test.speed"), "{e}");
        let ok =
            ExperimentConfig::from_toml_str("[test]\nvtln = [0.9, 1.0]\n", Path::new("t.toml"));
        assert_eq!(ok.unwrap().test.vtln, vec![0.9, 1.0]);
    }

    #[test]
    fn position_column_runs_from_zero_to_one() {
        let x = Array2::from_shape_fn((5, 2), |(i, j)| (i * 10 + j) as f32);
        let y = with_position(x.clone());
        assert_eq!(y.dim(), (5, 3));
        assert_eq!(y.slice(ndarray::s![.., ..2]), x);
        assert_eq!(y.column(2).to_vec(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(with_position(Array2::zeros((1, 2)))[[0, 2]], 0.5);
        assert_eq!(with_position(Array2::zeros((0, 2))).dim(), (0, 3));
    }

    #[test]
    fn duration_column_is_the_log_length() {
        let x = Array2::from_shape_fn((100, 2), |(i, j)| (i * 10 + j) as f32);
        let y = with_duration(x.clone());
        assert_eq!(y.dim(), (100, 3));
        assert_eq!(y.slice(ndarray::s![.., ..2]), x);
        // ln(100 / 50) = ln 2 on every frame.
        assert!(y.column(2).iter().all(|&v| (v - 2f32.ln()).abs() < 1e-6));
        assert_eq!(with_duration(Array2::zeros((50, 1)))[[7, 1]], 0.0);
        assert_eq!(with_duration(Array2::zeros((0, 2))).dim(), (0, 3));
    }

    #[test]
    fn speaker_cmvn_uses_each_test_speakers_own_unwarped_statistics() {
        let (_dir, mut corpus) = tone_corpus();
        for (i, item) in corpus.data.items.iter_mut().enumerate() {
            item.speaker = Some(if i % 2 == 0 { "s1" } else { "s2" }.to_string());
        }
        let text = "[frontend]\nframe = { dither = 0.0 }\npost = { deltas = true, cmvn = \"none\" }\n\
                    [input]\nmode = \"context\"\ncontext = 1\nposition = true\nspeaker_cmvn = \"meanvar\"\n\
                    [classifier]\nhidden = [8]\n[train]\nepochs = 2\nval_fraction = 0.0\n\
                    [test]\nvtln = [0.9, 1.0]\n";
        let cfg = ExperimentConfig::from_toml_str(text, Path::new("t.toml")).unwrap();
        let feats = corpus_features(&corpus, &cfg, None).unwrap();
        let all: Vec<usize> = (0..corpus.audio.len()).collect();
        let mut m = train_classic(&corpus, &cfg, &feats, &all, 1).unwrap();
        let got = test_log_posteriors(&mut m, &corpus, &cfg, &feats, &all).unwrap();

        // By hand: statistics of each speaker's unwarped features (all
        // columns but the position), applied to both warps' features.
        let groups = speaker_groups(&item_speakers(&corpus, &all));
        assert_eq!(groups, (0..all.len()).map(|i| i % 2).collect::<Vec<_>>());
        let dims = feats[0].ncols() - 1;
        let views: Vec<ArrayView2<'_, f32>> = feats.iter().map(|f| f.view()).collect();
        let stats = group_stats(&views, &groups, dims, SpeakerCmvn::MeanVar);
        assert_ne!(stats[0], stats[1]);
        let mut want = Array2::<f32>::zeros(got.dim());
        for warp in [0.9f32, 1.0] {
            let fe = warped_frontend(&cfg, warp).unwrap();
            let f: Vec<Array2<f32>> = all
                .iter()
                .map(|&i| {
                    let seed = item_seed(0, &corpus.data.items[i].rel_path);
                    let mut x = utterance_features(&fe, &corpus.audio[i], 8000, &cfg.input, seed);
                    stats[groups[i]].apply(&mut x);
                    x
                })
                .collect();
            let v: Vec<ArrayView2<'_, f32>> = f.iter().map(|a| a.view()).collect();
            want += &(m.log_posteriors(&v).unwrap() / 2.0);
        }
        let gap = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            gap < 1e-5,
            "speaker-normalised log-posteriors differ by {gap}"
        );

        // Without speakers every utterance is its own group: a different
        // normalisation, so different log-posteriors.
        for item in &mut corpus.data.items {
            item.speaker = None;
        }
        let alone = test_log_posteriors(&mut m, &corpus, &cfg, &feats, &all).unwrap();
        let moved = alone
            .iter()
            .zip(&got)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            moved > 1e-3,
            "per-utterance groups changed nothing ({moved})"
        );
    }

    #[test]
    fn speaker_cmvn_is_checked() {
        let bad = |s: &str| {
            ExperimentConfig::from_toml_str(s, Path::new("t.toml"))
                .unwrap_err()
                .to_string()
        };
        let e = bad("[frontend]\npost = { cmvn = \"mean\" }\n[input]\nspeaker_cmvn = \"both\"\n");
        assert!(e.contains("post.cmvn"), "{e}");
        let ok = ExperimentConfig::from_toml_str(
            "[frontend]\npost = { cmvn = \"none\" }\n[input]\nspeaker_cmvn = \"both\"\n",
            Path::new("t.toml"),
        );
        assert_eq!(ok.unwrap().input.speaker_cmvn, SpeakerCmvn::Both);
    }

    #[test]
    fn dilation_is_checked() {
        let bad = |s: &str| {
            ExperimentConfig::from_toml_str(s, Path::new("t.toml"))
                .unwrap_err()
                .to_string()
        };
        assert!(bad("[input]\ndilation = 0\n").contains("input.dilation (0)"));
        // Every input option also works after a learned stage.
        ExperimentConfig::from_toml_str("[input]\ndilation = 2\nduration = true\nposition = true\nspeaker_cmvn = \"mean\"\n[frontend.learn]\nmel = { learn = true, init = \"classic\", kind = \"matrix\" }\n", Path::new("t.toml")).unwrap();
        let ok = ExperimentConfig::from_toml_str("[input]\ndilation = 2\n", Path::new("t.toml"));
        assert_eq!(ok.unwrap().input.dilation, 2);
    }
}
