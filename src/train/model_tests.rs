//! Model-level tests: persistence, the frame-level mode and variable-length
//! sequences through the whole recipe.

use super::*;
use crate::nn::rng_from_seed;
use crate::nn::spec::MlpSpec;
use crate::nn::Layer;
use crate::train::fit::Dataset;
use crate::train::TrainConfig;
use ndarray::Array2;
use rand::RngExt;

fn blobs(n: usize, dims: usize, seed: u64) -> (Array2<f32>, Vec<usize>) {
    let mut rng = rng_from_seed(seed);
    let x = Array2::from_shape_fn((n, dims), |(i, j)| {
        let centre = if j < 2 {
            if i % 2 == 0 {
                -1.0
            } else {
                1.0
            }
        } else {
            0.0
        };
        centre + rng.random_range(-1.0f32..1.0)
    });
    (x, (0..n).map(|i| i % 2).collect())
}

fn train_small(seed: u64) -> TrainedModel {
    let (x, y) = blobs(200, 6, 2);
    let spec = MlpSpec {
        hidden: vec![8],
        dropout: 0.2,
        ..Default::default()
    };
    let cfg = TrainConfig {
        epochs: 5,
        batch_size: 16,
        seed,
        ..Default::default()
    };
    train_classifier(
        &spec,
        &cfg,
        &Dataset::new(x.view().into_dyn(), &y),
        2,
        vec!["a".into(), "b".into()],
    )
    .unwrap()
}

fn all_values(m: &TrainedModel) -> Vec<u32> {
    m.network
        .params()
        .iter()
        .flat_map(|p| p.value.iter().map(|v| v.to_bits()))
        .collect()
}

#[test]
fn save_and_load_give_bit_identical_predictions() {
    let mut m = train_small(11);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    m.save(&path).unwrap();
    let mut back = TrainedModel::load(&path).unwrap();
    assert_eq!(all_values(&m), all_values(&back));
    let (x, _) = blobs(50, 6, 99);
    let a = m.logits(x.view().into_dyn(), None);
    let b = back.logits(x.view().into_dyn(), None);
    let bits = |a: &Array2<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b));
    assert_eq!(back.class_names, vec!["a", "b"]);
    assert_eq!(back.history, m.history);
    assert_eq!(back.spec, m.spec);
    // The standardisation travelled with the model (not the identity).
    assert!(back.network.layers()[0].params()[0]
        .value
        .iter()
        .any(|&v| v != 0.0));
    std::fs::write(dir.path().join("junk.safetensors"), b"not a model").unwrap();
    let e = TrainedModel::load(&dir.path().join("junk.safetensors")).unwrap_err();
    assert!(e.to_string().contains("junk.safetensors"), "{e}");
}

#[test]
fn ensembles_round_trip_member_by_member() {
    use crate::train::persist::{load_ensemble, save_ensemble};
    use std::collections::HashMap;
    let members = vec![train_small(1), train_small(2), train_small(3)];
    assert_ne!(all_values(&members[0]), all_values(&members[1]));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ens.safetensors");
    let extra = HashMap::from([("k".to_string(), "v".to_string())]);
    save_ensemble(&members, &extra, &path).unwrap();
    let (back, meta) = load_ensemble(&path).unwrap();
    assert_eq!(meta.get("k").map(String::as_str), Some("v"));
    assert_eq!(back.len(), 3);
    for (a, b) in members.iter().zip(&back) {
        assert_eq!(all_values(a), all_values(b));
        assert_eq!(a.history, b.history);
    }
    // A single-model reader refuses an ensemble instead of taking member 0.
    let e = TrainedModel::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("ensemble of 3") && e.contains("ens.safetensors"),
        "{e}"
    );
    // A file with one member is an ordinary model file.
    save_ensemble(&members[..1], &extra, &path).unwrap();
    assert_eq!(
        all_values(&TrainedModel::load(&path).unwrap()),
        all_values(&members[0])
    );
}

#[test]
fn frame_classifier_decides_utterances() {
    // Class 0 utterances hover around -1 in feature 0, class 1 around +1;
    // individual frames are noisy (some on the wrong side), the averaged
    // log-posterior decision is not.
    let mut rng = rng_from_seed(12);
    let mut utts = Vec::new();
    let mut labels = Vec::new();
    for i in 0..40 {
        let c = i % 2;
        let len = rng.random_range(5..15usize);
        let centre = if c == 0 { -0.6 } else { 0.6 };
        utts.push(Array2::from_shape_fn((len, 2), |(_, j)| {
            if j == 0 {
                centre + rng.random_range(-1.0f32..1.0)
            } else {
                rng.random_range(-1.0f32..1.0)
            }
        }));
        labels.push(c);
    }
    let views: Vec<_> = utts.iter().map(|u| u.view()).collect();
    let spec = MlpSpec {
        hidden: vec![16],
        ..Default::default()
    };
    let cfg = TrainConfig {
        epochs: 30,
        batch_size: 32,
        lr: 0.01,
        ..Default::default()
    };
    let mut m = crate::train::frames::train_frame_classifier(
        &spec,
        &cfg,
        &views,
        &labels,
        2,
        crate::nn::context::Splice::new(1),
        vec![],
    )
    .unwrap();
    assert_eq!(m.input_dim, 6, "(2k + 1) * dims");
    let pred = m.predict_utterances(&views).unwrap();
    let acc = crate::train::metrics::accuracy(&pred, &labels);
    let frames = crate::train::frames::frames_from_utterances(
        &views,
        &labels,
        crate::nn::context::Splice::new(1),
    )
    .unwrap();
    let frame_acc = crate::train::metrics::accuracy(
        &m.predict(frames.x.view().into_dyn(), None),
        &frames.labels,
    );
    assert!(acc >= 0.95, "utterance accuracy {acc}");
    assert!(
        acc > frame_acc,
        "averaging helps: {acc} vs frames {frame_acc}"
    );
    let dir = tempfile::tempdir().unwrap();
    m.save(&dir.path().join("f.safetensors")).unwrap();
    let mut back = TrainedModel::load(&dir.path().join("f.safetensors")).unwrap();
    assert_eq!(back.predict_utterances(&views).unwrap(), pred);

    // A dilated window keeps its dilation through a save and a load: the
    // reloaded model stacks the same frames and decides the same way.
    let short = TrainConfig { epochs: 3, ..cfg };
    let splice = crate::nn::context::Splice::dilated(1, 3);
    let mut d = crate::train::frames::train_frame_classifier(
        &spec,
        &short,
        &views,
        &labels,
        2,
        splice,
        vec![],
    )
    .unwrap();
    assert_eq!((d.frame_context, d.frame_dilation), (Some(1), 3));
    let lp = d.utterance_log_posteriors(&views).unwrap();
    d.save(&dir.path().join("d.safetensors")).unwrap();
    let mut back = TrainedModel::load(&dir.path().join("d.safetensors")).unwrap();
    assert_eq!(back.frame_dilation, 3);
    assert_eq!(back.utterance_log_posteriors(&views).unwrap(), lp);
    back.frame_dilation = 1;
    assert_ne!(
        back.utterance_log_posteriors(&views).unwrap(),
        lp,
        "the dilation changes which frames are stacked"
    );
}

#[test]
fn variable_length_sequences_train_with_stats_pooling() {
    // Class = sign of the mean of feature 0; sequences of 3..12 frames,
    // zero-padded to 12. Padding must not leak into the statistics
    // (Standardize ignores it, StatsPool uses the lengths).
    let mut rng = rng_from_seed(21);
    let n = 120;
    let t_max = 12;
    let mut x = ndarray::Array3::<f32>::zeros((n, t_max, 3));
    let mut lengths = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let c = i % 2;
        let len = rng.random_range(3..=t_max);
        for t in 0..len {
            x[[i, t, 0]] = if c == 0 { -0.5 } else { 0.5 } + rng.random_range(-1.0f32..1.0);
            x[[i, t, 1]] = 5.0 + rng.random_range(-1.0f32..1.0);
            x[[i, t, 2]] = rng.random_range(-1.0f32..1.0);
        }
        lengths.push(len);
        labels.push(c);
    }
    let spec = MlpSpec {
        hidden: vec![8],
        pooling: crate::nn::spec::Pooling::MeanStd,
        ..Default::default()
    };
    let cfg = TrainConfig {
        epochs: 40,
        batch_size: 16,
        lr: 0.01,
        val_fraction: 0.0,
        ..Default::default()
    };
    let data = Dataset {
        lengths: Some(&lengths),
        ..Dataset::new(x.view().into_dyn(), &labels)
    };
    let mut m = train_classifier(&spec, &cfg, &data, 2, vec![]).unwrap();
    // Feature 1 is 5 +- 1 on valid frames: its mean is ~5 only if padding
    // was left out (with padding it would be far lower).
    let mean1 = m.network.layers()[0].params()[0].value[1];
    assert!(
        (mean1 - 5.0).abs() < 0.1,
        "standardisation mean of feature 1: {mean1}"
    );
    let acc =
        crate::train::metrics::accuracy(&m.predict(x.view().into_dyn(), Some(&lengths)), &labels);
    // Per-frame noise of 0.58 around +-0.5 averaged over >= 3 frames: the
    // sequence means are well separated; 90% leaves room for short ones.
    assert!(acc >= 0.9, "training accuracy {acc}");
}

#[test]
fn same_seed_gives_identical_weights() {
    let (a, b, c) = (train_small(7), train_small(7), train_small(8));
    assert_eq!(all_values(&a), all_values(&b));
    assert_ne!(all_values(&a), all_values(&c));
    assert_eq!(a.history, b.history.clone().with_same_times(&a.history));
}

impl crate::train::History {
    /// The same history with the wall-clock times of `other` (times are the
    /// only part that is not deterministic).
    fn with_same_times(mut self, other: &crate::train::History) -> crate::train::History {
        for (r, o) in self.epochs.iter_mut().zip(&other.epochs) {
            r.seconds = o.seconds;
        }
        self
    }
}

#[test]
fn check_input_names_the_mismatch() {
    let m = train_small(3);
    let (x, _) = blobs(4, 6, 1);
    assert!(m.check_input(x.view().into_dyn(), None).is_ok());
    let (bad, _) = blobs(4, 5, 1);
    let e = m
        .check_input(bad.view().into_dyn(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("[4, 5]") && e.contains("last axis 6"), "{e}");
    assert!(m.check_input(x.view().into_dyn(), Some(&[1, 2])).is_err());
}
