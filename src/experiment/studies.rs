//! Extra studies run by `compare` on request: "deep versus fat" (networks
//! of equal parameter budget, one wide layer against several narrow ones,
//! sigmoid against ReLU as depth grows) and an ablation of a configuration's
//! ingredients (each removed in turn).

use rayon::prelude::*;

use crate::data::Fold;
use crate::nn::spec::Activation;
use crate::report::summary::MeanStd;
use crate::report::{AblationRow, DeepVsFatRow};

use super::config::{ExperimentConfig, InputMode};
use super::corpus::Corpus;
use super::speaker_norm::SpeakerCmvn;
use super::{classic, ExperimentError};

/// Width `w` of `depth` equal hidden layers so that an MLP from `input` to
/// `classes` has about `budget` parameters:
/// `input*w + w + (depth-1)(w*w + w) + w*classes + classes = budget`.
pub fn width_for_budget(budget: u64, input: usize, classes: usize, depth: usize) -> usize {
    let (b, d, c) = (budget as f64, input as f64, classes as f64);
    let lin = d + 1.0 + c + (depth as f64 - 1.0);
    let w = if depth <= 1 {
        (b - c) / lin
    } else {
        let a = depth as f64 - 1.0;
        (-lin + (lin * lin + 4.0 * a * (b - c)).sqrt()) / (2.0 * a)
    };
    w.round().max(1.0) as usize
}

fn params(input: usize, classes: usize, hidden: &[usize]) -> u64 {
    let mut prev = input;
    let mut n = 0u64;
    for &h in hidden.iter().chain(std::iter::once(&classes)) {
        n += (prev * h + h) as u64;
        prev = h;
    }
    n
}

/// Correct and total test utterances per speaker, summed over runs.
type SpeakerHits = std::collections::BTreeMap<String, (usize, usize)>;

fn mean_accuracy(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    fold: &Fold,
    seeds: &[u64],
) -> Result<(MeanStd, Vec<f64>, SpeakerHits), ExperimentError> {
    // Either engine: a variant of a learned configuration trains its chain.
    let learned = cfg.has_learned_stage();
    let feats = if learned {
        super::learned::corpus_prefix(corpus, cfg, None)?
    } else {
        classic::corpus_features(corpus, cfg, None)?
    };
    let mut hits = SpeakerHits::new();
    let mut accs = Vec::with_capacity(seeds.len());
    for &s in seeds {
        let o = if learned {
            super::learned::run_learned(corpus, cfg, &feats, &fold.train, &fold.test, s)?
        } else {
            classic::run_classic(corpus, cfg, &feats, &fold.train, &fold.test, s)?
        };
        for ((&i, &p), &t) in o.test_items.iter().zip(&o.predicted).zip(&o.truth) {
            if let Some(spk) = &corpus.data.items[i].speaker {
                let e = hits.entry(spk.clone()).or_default();
                e.0 += usize::from(p == t);
                e.1 += 1;
            }
        }
        accs.push(o.metrics.accuracy);
    }
    Ok((MeanStd::of(&accs), accs, hits))
}

/// Deep versus fat on `fold`: depths 1-4 at the parameter budget of `base`'s
/// classifier, each with ReLU and with sigmoid.
///
/// # Errors
/// As the runs.
pub fn deep_vs_fat(
    corpus: &Corpus,
    base: &ExperimentConfig,
    fold: &Fold,
    seeds: &[u64],
) -> Result<Vec<DeepVsFatRow>, ExperimentError> {
    let feats = classic::corpus_features(corpus, base, None)?;
    let dims = feats.first().map(|f| f.ncols()).unwrap_or(0);
    let input = match base.input.mode {
        InputMode::Context => dims * (2 * base.input.context + 1),
        InputMode::Pool => 2 * dims,
        InputMode::Fixed => dims * base.input.frames,
    };
    let classes = corpus.data.classes.len();
    let budget = params(input, classes, &base.classifier.hidden);
    let grid: Vec<(Activation, usize)> = [Activation::Relu, Activation::Sigmoid]
        .into_iter()
        .flat_map(|a| (1..=4usize).map(move |d| (a, d)))
        .collect();
    grid.par_iter()
        .map(|&(activation, depth)| {
            let width = width_for_budget(budget, input, classes, depth);
            let mut cfg = base.clone();
            cfg.classifier.hidden = vec![width; depth];
            cfg.classifier.activation = activation;
            cfg.classifier.init = None;
            // The study compares single architectures at one budget: an
            // ensemble would multiply the budget and blur the comparison.
            cfg.ensemble = 1;
            cfg.augment.copies = 0;
            let (acc, _, _) = mean_accuracy(corpus, &cfg, fold, seeds)?;
            let act = if activation == Activation::Relu {
                "relu"
            } else {
                "sigmoid"
            };
            Ok(DeepVsFatRow {
                name: format!("{act} {depth}x{width}"),
                depth: depth as u32,
                width: width as u32,
                activation: act.to_string(),
                params: params(input, classes, &cfg.classifier.hidden),
                accuracy_mean: acc.mean,
                accuracy_std: acc.std,
                n_seeds: seeds.len(),
            })
        })
        .collect()
}

/// The ingredients of `base` that can be removed, each as a modified copy.
fn ablations(base: &ExperimentConfig) -> Vec<(String, ExperimentConfig)> {
    let mut out = Vec::new();
    if base.augment.is_active() {
        let mut c = base.clone();
        c.augment.copies = 0;
        out.push(("augmentation".to_string(), c));
        // Each perturbation on its own, when there is more than one.
        let aug = &base.augment;
        let kinds = usize::from(aug.wave.speed.is_some())
            + usize::from(aug.vtln.is_some())
            + usize::from(aug.wave.noise_snr_db.is_some())
            + usize::from(aug.wave.edge_crop_ms != (0.0, 0.0));
        if kinds > 1 {
            if aug.wave.speed.is_some() {
                let mut c = base.clone();
                c.augment.wave.speed = None;
                out.push(("speed perturbation".to_string(), c));
            }
            if aug.vtln.is_some() {
                let mut c = base.clone();
                c.augment.vtln = None;
                out.push(("VTLN warping".to_string(), c));
            }
            if aug.wave.noise_snr_db.is_some() {
                let mut c = base.clone();
                c.augment.wave.noise_snr_db = None;
                out.push(("additive noise".to_string(), c));
            }
            if aug.wave.edge_crop_ms != (0.0, 0.0) {
                let mut c = base.clone();
                c.augment.wave.edge_crop_ms = (0.0, 0.0);
                out.push(("edge cropping".to_string(), c));
            }
        }
    }
    if base.ensemble > 1 {
        let mut c = base.clone();
        c.ensemble = 1;
        out.push((format!("ensemble (1 network, not {})", base.ensemble), c));
    }
    if !base.test.vtln.is_empty() {
        let mut c = base.clone();
        c.test.vtln.clear();
        out.push(("test-time VTLN averaging".to_string(), c));
    }
    if !base.test.speed.is_empty() {
        let mut c = base.clone();
        c.test.speed.clear();
        out.push(("test-time speed averaging".to_string(), c));
    }
    if base.input.position {
        let mut c = base.clone();
        c.input.position = false;
        out.push(("position in the utterance".to_string(), c));
    }
    if base.input.duration {
        let mut c = base.clone();
        c.input.duration = false;
        out.push(("utterance length".to_string(), c));
    }
    if base.input.dilation > 1 {
        let mut c = base.clone();
        c.input.dilation = 1;
        out.push((
            format!(
                "dilated context (adjacent frames, not every {})",
                base.input.dilation
            ),
            c,
        ));
    }
    if base.input.trim_silence {
        let mut c = base.clone();
        c.input.trim_silence = false;
        out.push(("silence trimming".to_string(), c));
    }
    let post = base
        .frontend
        .get("post")
        .and_then(|p| p.as_table())
        .cloned()
        .unwrap_or_default();
    let meanvar = toml::Value::String("meanvar".into());
    if base.input.speaker_cmvn != SpeakerCmvn::None {
        // Back to the per-utterance CMVN of the front end.
        let mut c = base.clone();
        c.input.speaker_cmvn = SpeakerCmvn::None;
        let mut p = post.clone();
        p.insert("cmvn".to_string(), meanvar.clone());
        c.frontend.insert("post".to_string(), toml::Value::Table(p));
        out.push((
            "speaker-level CMVN (per-utterance CMVN instead)".to_string(),
            c,
        ));
    }
    // (key, applies when the value is, value without the ingredient, label)
    let removable: [(&str, Option<&toml::Value>, toml::Value, &str); 3] = [
        (
            "cmvn",
            Some(&meanvar),
            toml::Value::String("mean".into()),
            "variance normalisation (CMN only)",
        ),
        (
            "cmvn",
            None,
            toml::Value::String("none".into()),
            "per-utterance CMN",
        ),
        ("deltas", None, toml::Value::Boolean(false), "deltas"),
    ];
    for (key, when, off, label) in removable {
        let applies = match (post.get(key), when) {
            (Some(v), Some(w)) => v == w,
            (Some(v), None) => *v != off,
            (None, _) => false,
        };
        if applies {
            let mut c = base.clone();
            let mut p = post.clone();
            p.insert(key.to_string(), off);
            c.frontend.insert("post".to_string(), toml::Value::Table(p));
            out.push((label.to_string(), c));
        }
    }
    if base.input.mode == InputMode::Context {
        let mut c = base.clone();
        c.input.mode = InputMode::Pool;
        out.push((
            "frame classification (pool mean+std instead)".to_string(),
            c,
        ));
        let mut c = base.clone();
        c.input.context = 0;
        out.push(("context window (±0 frames)".to_string(), c));
    }
    if base.classifier.dropout > 0.0 {
        let mut c = base.clone();
        c.classifier.dropout = 0.0;
        out.push(("dropout".to_string(), c));
    }
    out
}

/// Ablation of `base` (hand-crafted or learned) over every fold and seed:
/// the full configuration, then each ingredient removed.
///
/// # Errors
/// As the runs.
pub fn ablation(
    corpus: &Corpus,
    base: &ExperimentConfig,
    folds: &[Fold],
    seeds: &[u64],
) -> Result<Vec<AblationRow>, ExperimentError> {
    let mut variants = vec![("none".to_string(), base.clone())];
    variants.extend(ablations(base));
    let results: Vec<(String, Vec<f64>, Option<f64>)> = variants
        .par_iter()
        .map(|(removed, cfg)| {
            let mut accs = Vec::new();
            let mut hits = SpeakerHits::new();
            for fold in folds {
                let (_, a, h) = mean_accuracy(corpus, cfg, fold, seeds)?;
                accs.extend(a);
                for (spk, (c, n)) in h {
                    let e = hits.entry(spk).or_default();
                    e.0 += c;
                    e.1 += n;
                }
            }
            // The worst test speaker's accuracy over every run, when the
            // test utterances come from more than one named speaker.
            let worst = (hits.len() > 1).then(|| {
                hits.values()
                    .map(|&(c, n)| c as f64 / n.max(1) as f64)
                    .fold(f64::INFINITY, f64::min)
            });
            Ok((removed.clone(), accs, worst))
        })
        .collect::<Result<_, ExperimentError>>()?;
    let mut rows: Vec<AblationRow> = Vec::new();
    for (removed, accs, worst) in results {
        let m = MeanStd::of(&accs);
        let full = rows.first().map(|r| r.accuracy_mean).unwrap_or(m.mean);
        rows.push(AblationRow {
            removed,
            accuracy_mean: m.mean,
            accuracy_std: m.std,
            delta: m.mean - full,
            worst_speaker: worst,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_matches_the_budget() {
        for depth in 1..=4 {
            let w = width_for_budget(100_000, 429, 10, depth);
            let p = params(429, 10, &vec![w; depth]) as f64;
            assert!(
                (p - 100_000.0).abs() / 100_000.0 < 0.02,
                "depth {depth}: width {w} gives {p}"
            );
        }
    }

    #[test]
    fn ablations_remove_each_present_ingredient() {
        let text = "[frontend]\npost = { deltas = true, cmvn = \"mean\" }\n[input]\ntrim_silence = true\n\
                    [augment]\nwave = { noise_snr_db = [10.0, 20.0] }\n[classifier]\ndropout = 0.1\n";
        let base = ExperimentConfig::from_toml_str(text, std::path::Path::new("a.toml")).unwrap();
        let names: Vec<String> = ablations(&base).into_iter().map(|(n, _)| n).collect();
        for want in [
            "augmentation",
            "silence trimming",
            "per-utterance CMN",
            "deltas",
            "dropout",
        ] {
            assert!(
                names.iter().any(|n| n == want),
                "{want} missing from {names:?}"
            );
        }
        let no_cmn = ablations(&base)
            .into_iter()
            .find(|(n, _)| n == "per-utterance CMN")
            .unwrap()
            .1;
        assert_eq!(
            no_cmn.frontend_options().unwrap().post.cmvn,
            crate::frontend::Cmvn::None
        );
    }

    #[test]
    fn ablation_of_speaker_cmvn_restores_per_utterance_cmvn() {
        let text = "[frontend]\npost = { deltas = true, cmvn = \"none\" }\n\
                    [input]\nspeaker_cmvn = \"meanvar\"\n";
        let base = ExperimentConfig::from_toml_str(text, std::path::Path::new("a.toml")).unwrap();
        let all = ablations(&base);
        let (_, c) = all
            .iter()
            .find(|(n, _)| n.starts_with("speaker-level CMVN"))
            .expect("speaker-level CMVN ablated");
        assert_eq!(c.input.speaker_cmvn, SpeakerCmvn::None);
        assert_eq!(
            c.frontend_options().unwrap().post.cmvn,
            crate::frontend::Cmvn::MeanVar
        );
        // the front end's own CMVN was off, so no per-utterance ablation
        assert!(!all.iter().any(|(n, _)| n == "per-utterance CMN"));
    }

    #[test]
    fn ablations_split_augmentation_ensemble_and_variance_norm() {
        let text = "ensemble = 3\n[frontend]\npost = { deltas = true, cmvn = \"meanvar\" }\n\
                    [augment]\nvtln = [0.9, 1.1]\nwave = { speed = [0.9, 1.1], noise_snr_db = [10.0, 20.0], edge_crop_ms = [40.0, 0.0] }\n\
                    [input]\nposition = true\ndilation = 2\nduration = true\n\
                    [test]\nvtln = [0.9, 1.0, 1.1]\nspeed = [0.9, 1.0, 1.1]\n";
        let base = ExperimentConfig::from_toml_str(text, std::path::Path::new("a.toml")).unwrap();
        let all = ablations(&base);
        let get = |name: &str| {
            all.iter()
                .find(|(n, _)| n.starts_with(name))
                .unwrap_or_else(|| panic!("{name} missing"))
                .1
                .clone()
        };
        assert_eq!(get("speed perturbation").augment.wave.speed, None);
        assert!(get("speed perturbation").augment.vtln.is_some());
        assert_eq!(get("VTLN warping").augment.vtln, None);
        assert_eq!(get("additive noise").augment.wave.noise_snr_db, None);
        assert_eq!(get("ensemble").ensemble, 1);
        assert!(get("test-time VTLN").test.vtln.is_empty());
        assert!(get("test-time VTLN").augment.vtln.is_some());
        assert!(!get("position").input.position);
        assert_eq!(get("edge cropping").augment.wave.edge_crop_ms, (0.0, 0.0));
        assert!(get("edge cropping").augment.wave.speed.is_some());
        assert_eq!(get("dilated context").input.dilation, 1);
        assert!(!get("utterance length").input.duration);
        assert!(get("test-time speed").test.speed.is_empty());
        assert!(!get("test-time speed").test.vtln.is_empty());
        assert_eq!(
            get("variance normalisation")
                .frontend_options()
                .unwrap()
                .post
                .cmvn,
            crate::frontend::Cmvn::Mean
        );
        assert_eq!(
            get("per-utterance CMN")
                .frontend_options()
                .unwrap()
                .post
                .cmvn,
            crate::frontend::Cmvn::None
        );
    }
}
