//! Training-loop tests: learning, regularisation, determinism, early
//! stopping, the NaN guard and persistence.

use super::*;
use crate::nn::activation::{Activation, ActivationFn};
use crate::nn::init::Init;
use crate::nn::linear::Linear;
use crate::nn::loss::mean_squared_error;
use crate::nn::maxout::Maxout;
use crate::nn::optim::{Optimizer, OptimizerSpec, Penalty};
use crate::nn::spec::MlpSpec;
use crate::nn::{rng_from_seed, Layer, Param, Sequential};
use crate::train::model::train_classifier;
use ndarray::{Array2, ArrayD};
use rand::RngExt;

/// Two Gaussian-ish classes in `dims` dimensions where only the first two
/// features carry the class.
fn blobs(n: usize, dims: usize, seed: u64) -> (Array2<f32>, Vec<usize>) {
    let mut rng = rng_from_seed(seed);
    let mut x = Array2::<f32>::zeros((n, dims));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 2;
        for j in 0..dims {
            let centre = if j < 2 {
                if c == 0 {
                    -1.0
                } else {
                    1.0
                }
            } else {
                0.0
            };
            x[[i, j]] = centre + rng.random_range(-1.0f32..1.0);
        }
        y.push(c);
    }
    (x, y)
}

fn sigmoid(z: f32) -> f32 {
    ActivationFn::Sigmoid.apply(z)
}

#[test]
fn xor_is_learned_by_a_2_2_1_sigmoid_network() {
    let mut rng = rng_from_seed(3);
    let mut net = Sequential::new();
    net.push(Linear::new(2, 2, Init::XavierUniform, &mut rng));
    net.push(Activation::new(ActivationFn::Sigmoid).unwrap());
    net.push(Linear::new(2, 1, Init::XavierUniform, &mut rng));
    let x = ndarray::array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]].into_dyn();
    let t: [f32; 4] = [0.0, 1.0, 1.0, 0.0];
    let spec = OptimizerSpec::Momentum {
        momentum: 0.9,
        nesterov: false,
    };
    let mut opt = Optimizer::new(spec, Penalty::default()).unwrap();
    let mut loss = f32::INFINITY;
    for _ in 0..3000 {
        let z = net.forward(x.view(), &mut crate::nn::Ctx::train(&mut rng));
        // Sigmoid output with binary cross-entropy: d loss / d z = (p - t) / B.
        let p: Vec<f32> = z.iter().map(|&v| sigmoid(v)).collect();
        loss = p
            .iter()
            .zip(&t)
            .map(|(&p, &t): (&f32, &f32)| {
                -(t * p.max(1e-7).ln() + (1.0 - t) * (1.0 - p).max(1e-7).ln())
            })
            .sum::<f32>()
            / 4.0;
        let g = ArrayD::from_shape_vec(
            z.raw_dim(),
            p.iter().zip(&t).map(|(p, t)| (p - t) / 4.0).collect(),
        )
        .unwrap();
        net.backward_params_only(g.view());
        opt.step(&mut Layer::params_mut(&mut net), 0.5);
    }
    let z = net.forward(x.view(), &mut crate::nn::Ctx::eval(&mut rng));
    let pred: Vec<f32> = z
        .iter()
        .map(|&v| if sigmoid(v) > 0.5 { 1.0 } else { 0.0 })
        .collect();
    assert_eq!(pred, t.to_vec(), "XOR truth table");
    assert!(loss < 0.05, "final loss {loss}");
}

#[test]
fn maxout_fits_a_piecewise_linear_function() {
    // f(x) = |x| - 2 max(x - 1, 0): slopes -1, 1, -1 with kinks at 0 and 1.
    let f = |x: f32| x.abs() - 2.0 * (x - 1.0).max(0.0);
    let n = 200;
    let x = Array2::from_shape_fn((n, 1), |(i, _)| -2.0 + 4.0 * i as f32 / (n - 1) as f32);
    let t = x.mapv(f);
    let mut rng = rng_from_seed(5);
    let mut net = Sequential::new();
    net.push(Maxout::new(1, 4, 3, Init::XavierUniform, &mut rng));
    net.push(Linear::new(4, 1, Init::XavierUniform, &mut rng));
    // With zero biases every piece boundary starts at x = 0 and training
    // stalls in a fit with a single kink; spreading the biases over the
    // input range places initial kinks across [-2, 2].
    net.layers_mut()[0].params_mut()[1]
        .value
        .mapv_inplace(|_| rng.random_range(-2.0f32..2.0));
    let mut opt = Optimizer::new(OptimizerSpec::default(), Penalty::default()).unwrap();
    let mut mse = f32::INFINITY;
    for step in 0..4000 {
        let y = net.forward(x.view().into_dyn(), &mut crate::nn::Ctx::train(&mut rng));
        let y = y.into_dimensionality::<ndarray::Ix2>().unwrap();
        let (l, g) = mean_squared_error(y.view(), t.view());
        mse = l;
        net.backward_params_only(g.into_dyn().view());
        // Step decay 0.03 -> 0.003 -> 0.0003 to settle on the exact fit.
        let lr = 0.03 * 0.1f32.powi(step / 1500);
        opt.step(&mut Layer::params_mut(&mut net), lr);
    }
    // Target variance is about 0.3; a maxout net can represent f exactly,
    // so the residual must be tiny (1e-3 is 0.3% of the variance).
    assert!(mse < 1e-3, "mse {mse}");
}

fn first_weights(m: &mut crate::train::TrainedModel) -> Vec<f32> {
    let l = m
        .network
        .layers()
        .iter()
        .position(|l| l.name().starts_with("linear"))
        .unwrap();
    m.network.layers()[l].params()[0]
        .value
        .iter()
        .copied()
        .collect()
}

#[test]
fn l1_zeroes_weights_where_l2_does_not() {
    let (x, y) = blobs(400, 20, 1);
    let spec = MlpSpec {
        hidden: vec![],
        ..Default::default()
    };
    let base = TrainConfig {
        optimizer: OptimizerSpec::Sgd,
        lr: 0.1,
        epochs: 60,
        batch_size: 100,
        patience: 0,
        val_fraction: 0.0,
        ..Default::default()
    };
    let data = Dataset::new(x.view().into_dyn(), &y);
    let l1 = TrainConfig {
        l1: 0.05,
        ..base.clone()
    };
    let l2 = TrainConfig { l2: 0.05, ..base };
    let mut m1 = train_classifier(&spec, &l1, &data, 2, vec![]).unwrap();
    let mut m2 = train_classifier(&spec, &l2, &data, 2, vec![]).unwrap();
    let w1 = first_weights(&mut m1);
    let w2 = first_weights(&mut m2);
    let zeros = |w: &[f32]| w.iter().filter(|&&v| v == 0.0).count();
    // 40 weights, 36 of them on the 18 noise features. With batch 100 the
    // gradient noise moves a noise weight by about lr * 0.03 = 0.003 per
    // step, below the L1 threshold lr * l1 = 0.005: the proximal step must
    // zero most of them exactly; L2 only shrinks them.
    assert!(zeros(&w1) >= 30, "L1 zeros: {} of {}", zeros(&w1), w1.len());
    assert_eq!(zeros(&w2), 0, "L2 zeros");
    // The informative weights survive L1.
    assert!(
        w1[0] != 0.0 && w1[1] != 0.0 && w1[2] != 0.0 && w1[3] != 0.0,
        "{:?}",
        &w1[..4]
    );
    assert_eq!(m1.predict(x.view().into_dyn(), None).len(), 400);
}

fn train_small(seed: u64) -> crate::train::TrainedModel {
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

fn all_values(m: &crate::train::TrainedModel) -> Vec<u32> {
    m.network
        .params()
        .iter()
        .flat_map(|p| p.value.iter().map(|v| v.to_bits()))
        .collect()
}

#[test]
fn same_seed_gives_identical_weights() {
    let (a, b, c) = (train_small(7), train_small(7), train_small(8));
    assert_eq!(all_values(&a), all_values(&b));
    assert_ne!(all_values(&a), all_values(&c));
    assert_eq!(a.history, b.history.clone().with_same_times(&a.history));
}

impl History {
    /// The same history with the wall-clock times of `other` (times are the
    /// only part that is not deterministic).
    fn with_same_times(mut self, other: &History) -> History {
        for (r, o) in self.epochs.iter_mut().zip(&other.epochs) {
            r.seconds = o.seconds;
        }
        self
    }
}

#[test]
fn early_stopping_restores_the_best_weights() {
    // Random labels: the validation loss can only get worse as the network
    // memorises the training set.
    let mut rng = rng_from_seed(9);
    let x = Array2::from_shape_fn((120, 10), |_| rng.random_range(-1.0f32..1.0));
    let y: Vec<usize> = (0..120).map(|_| rng.random_range(0..3usize)).collect();
    let spec = MlpSpec {
        hidden: vec![64],
        ..Default::default()
    };
    let cfg = TrainConfig {
        epochs: 300,
        batch_size: 8,
        lr: 0.01,
        patience: 3,
        val_fraction: 0.25,
        ..Default::default()
    };
    let mut m = train_classifier(
        &spec,
        &cfg,
        &Dataset::new(x.view().into_dyn(), &y),
        3,
        vec![],
    )
    .unwrap();
    let h = m.history.clone();
    assert!(h.stopped_early, "stopped after {} epochs", h.epochs.len());
    assert_eq!(
        h.epochs.len(),
        h.best_epoch + 3,
        "patience 3 after the best epoch"
    );
    let best = h.epochs[h.best_epoch - 1].val_loss.unwrap();
    assert!(h.epochs.iter().all(|r| r.val_loss.unwrap() >= best));
    // Recompute the validation loss of the restored model: the split is
    // reproduced from the seed, and must give exactly the best epoch's loss.
    let (_, va) = crate::train::split::stratified_split(&y, 0.25, &mut rng_from_seed(cfg.seed));
    let mut vx = ArrayD::zeros(ndarray::IxDyn(&[0]));
    gather(&x.view().into_dyn(), &va, &mut vx);
    let vy: Vec<usize> = va.iter().map(|&i| y[i]).collect();
    let (loss, _) = evaluate(
        &mut m.network,
        &Dataset::new(vx.view(), &vy),
        cfg.batch_size,
        &mut rng_from_seed(0),
    );
    assert_eq!(loss, best);
}

/// A model that injects a NaN into one gradient from a given step on.
struct Poisoned {
    net: Sequential,
    steps: usize,
    from: usize,
}

impl TrainModel for Poisoned {
    fn forward_logits(
        &mut self,
        x: ndarray::ArrayViewD<'_, f32>,
        ctx: &mut crate::nn::Ctx<'_>,
    ) -> ArrayD<f32> {
        self.net.forward_logits(x, ctx)
    }
    fn backward_logits(&mut self, g: ndarray::ArrayViewD<'_, f32>) {
        self.net.backward_logits(g);
        self.steps += 1;
        if self.steps >= self.from {
            self.net.layers_mut()[2].params_mut()[0].grad[[0, 0]] = f32::NAN;
        }
    }
    fn parameters(&self) -> Vec<&Param> {
        self.net.params()
    }
    fn parameters_mut(&mut self) -> Vec<&mut Param> {
        self.net.params_mut()
    }
    fn param_labels(&self) -> Vec<String> {
        self.net.param_labels()
    }
}

#[test]
fn nan_gradient_guard_names_epoch_and_layer() {
    let (x, y) = blobs(40, 3, 3);
    let spec = MlpSpec {
        hidden: vec![4],
        input_norm: false,
        ..Default::default()
    };
    let net = crate::nn::spec::build(&spec, 3, 2, &mut rng_from_seed(0)).unwrap();
    // 40 samples, batch 10: 4 steps per epoch; step 6 is epoch 2, batch 2.
    let mut m = Poisoned {
        net,
        steps: 0,
        from: 6,
    };
    let cfg = TrainConfig {
        batch_size: 10,
        epochs: 5,
        ..Default::default()
    };
    let e = fit(
        &mut m,
        &Dataset::new(x.view().into_dyn(), &y),
        None,
        2,
        &cfg,
        &mut rng_from_seed(1),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert_eq!(
        msg,
        "epoch 2, batch 2: gradient of layer 2 linear(4->2).weight is not finite"
    );
}

#[test]
fn nan_loss_guard_through_fit() {
    let (x, y) = blobs(20, 3, 3);
    let spec = MlpSpec {
        hidden: vec![4],
        input_norm: false,
        ..Default::default()
    };
    let mut net = crate::nn::spec::build(&spec, 3, 2, &mut rng_from_seed(0)).unwrap();
    net.layers_mut()[2].params_mut()[1].value[0] = f32::INFINITY;
    let e = fit(
        &mut net,
        &Dataset::new(x.view().into_dyn(), &y),
        None,
        2,
        &TrainConfig::default(),
        &mut rng_from_seed(1),
    );
    let msg = e.unwrap_err().to_string();
    assert!(msg.starts_with("epoch 1, batch 1: loss is"), "{msg}");
    assert!(msg.contains("layer 2 linear(4->2)"), "{msg}");
}

#[test]
fn bad_data_is_a_typed_error() {
    let (x, mut y) = blobs(10, 2, 0);
    y[3] = 5;
    let e = train_classifier(
        &MlpSpec::default(),
        &TrainConfig::default(),
        &Dataset::new(x.view().into_dyn(), &y),
        2,
        vec![],
    );
    assert!(e.unwrap_err().to_string().contains("label 5 of sample 3"));
}

#[test]
fn save_and_load_give_bit_identical_predictions() {
    let mut m = train_small(11);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    m.save(&path).unwrap();
    let mut back = crate::train::TrainedModel::load(&path).unwrap();
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
    let e = crate::train::TrainedModel::load(&dir.path().join("junk.safetensors")).unwrap_err();
    assert!(e.to_string().contains("junk.safetensors"), "{e}");
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
    let mut m =
        crate::train::frames::train_frame_classifier(&spec, &cfg, &views, &labels, 2, 1, vec![])
            .unwrap();
    assert_eq!(m.input_dim, 6, "(2k + 1) * dims");
    let pred = m.predict_utterances(&views).unwrap();
    let acc = crate::train::metrics::accuracy(&pred, &labels);
    let frames = crate::train::frames::frames_from_utterances(&views, &labels, 1).unwrap();
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
    let mut back = crate::train::TrainedModel::load(&dir.path().join("f.safetensors")).unwrap();
    assert_eq!(back.predict_utterances(&views).unwrap(), pred);
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
