use ndarray::{Array2, Array3, ArrayD};
use rand::RngExt;

use super::*;
use crate::frontend::options::Cmvn;
use crate::frontend::post::{add_deltas, cmvn};
use crate::nn::gradcheck::{check_layer, CheckOptions};
use crate::nn::{rng_from_seed, Mode};

fn features(b: usize, t: usize, d: usize, seed: u64) -> ArrayD<f32> {
    let mut rng = rng_from_seed(seed);
    Array3::from_shape_fn((b, t, d), |(_, i, c)| {
        (c as f32 + 1.0) * (0.3 * i as f32).sin() + rng.random_range(-1.0f32..1.0)
    })
    .into_dyn()
}

fn forward(l: &mut dyn Layer, x: &ArrayD<f32>, lengths: Option<Vec<usize>>) -> ArrayD<f32> {
    let mut rng = rng_from_seed(0);
    let mut ctx = Ctx {
        mode: Mode::Eval,
        rng: &mut rng,
        lengths,
    };
    l.forward(x.view(), &mut ctx)
}

fn item(x: &ArrayD<f32>, b: usize, len: usize) -> Array2<f32> {
    x.slice(s![b, ..len, ..]).to_owned()
}

fn max_gap(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn deltas_equal_kaldi_add_deltas_per_item_length() {
    let x = features(2, 9, 3, 1);
    let lengths = vec![9, 5];
    let y = forward(&mut Deltas::new(2, 2), &x, Some(lengths.clone()));
    assert_eq!(y.shape(), &[2, 9, 9]);
    for (b, &len) in lengths.iter().enumerate() {
        let want = add_deltas(item(&x, b, len).view(), 2, 2);
        let gap = max_gap(&item(&y, b, len), &want);
        assert!(gap < 1e-5, "item {b}: deltas differ by {gap}");
    }
    // Padded frames stay zero.
    assert!(y.slice(s![1, 5.., ..]).iter().all(|&v| v == 0.0));
}

#[test]
fn deltas_append_and_item_affine_pass_gradient_checks() {
    let x = features(3, 7, 2, 2);
    for lengths in [None, Some(vec![7, 4, 1])] {
        let opts = CheckOptions {
            lengths: lengths.clone(),
            ..CheckOptions::default()
        };
        check_layer(&mut Deltas::new(2, 2), &x, &opts);
        check_layer(&mut AppendColumns::new(true, true), &x, &opts);
    }
    let mut a = ItemAffine {
        stats: vec![
            (vec![0.5, -1.0], vec![2.0, 0.5]),
            (vec![0.0, 3.0], vec![1.0, 1.5]),
            (vec![1.0], vec![0.25]),
        ],
        ..ItemAffine::default()
    };
    let opts = CheckOptions {
        batch_consistency: false,
        empty_batch: false,
        ..CheckOptions::default()
    };
    check_layer(&mut a, &x, &opts);
}

#[test]
fn append_columns_match_position_and_duration() {
    let x = features(2, 6, 2, 3);
    let y = forward(&mut AppendColumns::new(true, true), &x, Some(vec![6, 1]));
    assert_eq!(y.shape(), &[2, 6, 4]);
    let pos: Vec<f32> = (0..6).map(|i| y[[0, i, 2]]).collect();
    assert_eq!(pos, vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
    assert!((y[[0, 3, 3]] - (6.0f32 / 50.0).ln()).abs() < 1e-6);
    assert_eq!(y[[1, 0, 2]], 0.5);
    assert_eq!(y[[1, 3, 2]], 0.0, "padding stays zero");
}

/// The whole chain against the hand-crafted steps: CMVN then deltas, the
/// "both" views, the position column.
#[test]
fn shaping_reproduces_cmvn_deltas_both_views_and_position() {
    let x = features(2, 12, 3, 4);
    let lengths = vec![12, 8];
    // post.cmvn = mean, deltas, position.
    let mut sh = Shaping::new(3, Some(false), Some((2, 2)), SpeakerView::None, true, false);
    assert_eq!(sh.out_dims(3), 10);
    let y = forward(&mut sh, &x, Some(lengths.clone()));
    for (b, &len) in lengths.iter().enumerate() {
        let mut u = item(&x, b, len);
        cmvn(&mut u, Cmvn::Mean);
        let d = add_deltas(u.view(), 2, 2);
        let got = item(&y, b, len);
        let gap = max_gap(&got.slice(s![.., ..9]).to_owned(), &d);
        assert!(gap < 1e-4, "cmvn + deltas differ by {gap}");
    }
    // speaker "both": [utterance view | speaker view] with given stats.
    let mut sh = Shaping::new(3, None, Some((2, 2)), SpeakerView::Both, false, false);
    assert_eq!(sh.out_dims(3), 18);
    let stats: Vec<(Vec<f32>, Vec<f32>)> = (0..2)
        .map(|b| {
            (
                (0..9).map(|c| 0.1 * (b + c) as f32).collect(),
                (0..9).map(|c| 1.0 + 0.05 * c as f32).collect(),
            )
        })
        .collect();
    sh.speaker_norm.stats = stats.clone();
    let y = forward(&mut sh, &x, Some(lengths.clone()));
    for (b, &len) in lengths.iter().enumerate() {
        let raw = add_deltas(item(&x, b, len).view(), 2, 2);
        let spk = crate::experiment::speaker_norm::Stats {
            mean: stats[b].0.iter().map(|&v| v as f64).collect(),
            scale: stats[b].1.iter().map(|&v| v as f64).collect(),
        };
        let want = crate::experiment::speaker_norm::both_views(&raw, &spk, 3);
        let gap = max_gap(&item(&y, b, len), &want);
        assert!(gap < 1e-4, "both views differ by {gap}");
    }
}

#[test]
fn shaping_passes_a_gradient_check_in_every_mode() {
    let x = features(2, 8, 2, 5);
    for speaker in [SpeakerView::None, SpeakerView::Replace, SpeakerView::Both] {
        for cmvn in [None, Some(false), Some(true)] {
            if speaker == SpeakerView::Both && cmvn.is_some() {
                continue;
            }
            let mut sh = Shaping::new(2, cmvn, Some((2, 2)), speaker, true, true);
            sh.speaker_norm.stats = vec![
                (vec![0.2, -0.1, 0.0, 0.3], vec![1.5, 0.7, 1.0, 2.0]),
                (vec![-0.4, 0.1, 0.2, 0.0], vec![0.9, 1.1, 0.6, 1.0]),
            ];
            let opts = CheckOptions {
                lengths: Some(vec![8, 5]),
                batch_consistency: false,
                empty_batch: false,
                ..CheckOptions::default()
            };
            check_layer(&mut sh, &x, &opts);
        }
    }
}
