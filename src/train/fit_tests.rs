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

#[test]
fn the_observer_sees_each_epoch_once_and_changes_nothing() {
    // Random labels with patience 2: the run stops early, so the observer
    // must follow the epochs actually run, not the budget.
    let mut rng = rng_from_seed(4);
    let x = Array2::from_shape_fn((90, 6), |_| rng.random_range(-1.0f32..1.0));
    let y: Vec<usize> = (0..90).map(|_| rng.random_range(0..3usize)).collect();
    let spec = MlpSpec {
        hidden: vec![32],
        ..Default::default()
    };
    let cfg = TrainConfig {
        epochs: 200,
        batch_size: 8,
        lr: 0.01,
        patience: 2,
        val_fraction: 0.25,
        ..Default::default()
    };
    let data = Dataset::new(x.view().into_dyn(), &y);
    let mut rec = crate::train::observe::Recorder::default();
    let mut watched =
        crate::train::train_classifier_observed(&spec, &cfg, &data, 3, vec![], &mut rec).unwrap();
    let mut quiet = train_classifier(&spec, &cfg, &data, 3, vec![]).unwrap();
    let h = &watched.history;
    assert!(h.stopped_early && h.epochs.len() < cfg.epochs);
    assert_eq!(rec.calls.len(), h.epochs.len(), "one call per epoch run");
    for (k, ((r, max), e)) in rec.calls.iter().zip(&h.epochs).enumerate() {
        assert_eq!(r.epoch, k + 1);
        assert_eq!(*max, cfg.epochs);
        assert_eq!(r, e, "the observer sees the history's record");
        assert!(r.val_accuracy.is_some() && r.val_loss.is_some());
    }
    // Watching is read-only: same weights and figures (wall time aside).
    assert_eq!(first_weights(&mut watched), first_weights(&mut quiet));
    let strip = |h: &History| -> Vec<(f64, f64, Option<f64>)> {
        h.epochs
            .iter()
            .map(|e| (e.train_loss, e.train_accuracy, e.val_loss))
            .collect()
    };
    assert_eq!(strip(&watched.history), strip(&quiet.history));
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
fn a_batch_is_padded_to_its_own_longest_item() {
    // 3 items of up to 4 frames x 2 dims; value = 100 item + 10 frame + dim.
    let x = ndarray::Array3::from_shape_fn((3, 4, 2), |(i, t, d)| (100 * i + 10 * t + d) as f32)
        .into_dyn();
    let lengths = [4, 2, 1];
    let mut buf = ArrayD::zeros(ndarray::IxDyn(&[0]));
    gather_batch(&x.view(), &[2, 1], Some(&lengths), &mut buf);
    assert_eq!(buf.shape(), &[2, 2, 2], "longest of items 2 and 1 is 2");
    assert_eq!(buf[[0, 0, 1]], 201.0);
    assert_eq!(buf[[1, 1, 0]], 110.0);
    // With the longest item in the batch, or without lengths: every frame.
    gather_batch(&x.view(), &[1, 0], Some(&lengths), &mut buf);
    assert_eq!(buf.shape(), &[2, 4, 2]);
    assert_eq!(buf[[1, 3, 1]], 31.0);
    gather_batch(&x.view(), &[2], None, &mut buf);
    assert_eq!(buf.shape(), &[1, 4, 2]);
    // A non-contiguous input takes the same frames.
    let wide =
        ndarray::Array3::from_shape_fn((3, 4, 4), |(i, t, d)| (100 * i + 10 * t + d / 2) as f32);
    let strided = wide.slice(ndarray::s![.., .., ..;2]).into_dyn();
    assert!(strided.as_slice().is_none());
    gather_batch(&strided, &[2, 1], Some(&lengths), &mut buf);
    assert_eq!(buf.shape(), &[2, 2, 2]);
    assert_eq!(buf[[1, 1, 0]], 110.0);
}
