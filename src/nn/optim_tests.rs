//! Optimizer tests: the first three updates of each optimizer against values
//! computed by hand (independently, in f64, with the textbook/PyTorch update
//! rules), plus penalties, frozen parameters and clipping.

use super::*;
use ndarray::arr1;

/// Gradients fed at steps 1, 2, 3 (varying, so momentum and moment
/// estimates matter).
const GRADS: [[f32; 2]; 3] = [[0.5, -1.0], [-0.2, 0.4], [1.0, 0.1]];

fn weight() -> Param {
    Param::new("weight", arr1(&[1.0f32, -2.0]).into_dyn(), true)
}

fn run(spec: OptimizerSpec, penalty: Penalty) -> Vec<[f32; 2]> {
    let mut p = weight();
    let mut opt = Optimizer::new(spec, penalty).unwrap();
    let mut out = Vec::new();
    for g in GRADS {
        p.grad = arr1(&g).into_dyn();
        opt.step(&mut [&mut p], 0.1);
        assert!(
            p.grad.iter().all(|&v| v == 0.0),
            "step must consume the gradient"
        );
        out.push([p.value[0], p.value[1]]);
    }
    out
}

fn assert_steps(spec: OptimizerSpec, penalty: Penalty, want: [[f32; 2]; 3]) {
    let got = run(spec, penalty);
    for (s, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        for k in 0..2 {
            // Expected values are f64 results rounded to 7 decimals (f32 literals); f32
            // arithmetic over three steps adds at most a few ulps (~2e-7 at 2).
            assert!(
                (g[k] - w[k]).abs() < 2e-6,
                "{spec:?} step {}: {:?} vs {:?}",
                s + 1,
                g,
                w
            );
        }
    }
}

#[test]
fn sgd_first_steps() {
    assert_steps(
        OptimizerSpec::Sgd,
        Penalty::default(),
        [[0.95, -1.9], [0.97, -1.94], [0.87, -1.95]],
    );
}

#[test]
fn sgd_with_l2_first_steps() {
    let pen = Penalty {
        l2: 0.5,
        ..Default::default()
    };
    assert_steps(
        OptimizerSpec::Sgd,
        pen,
        [[0.9, -1.8], [0.875, -1.75], [0.73125, -1.6725]],
    );
}

#[test]
fn momentum_first_steps() {
    let spec = OptimizerSpec::Momentum {
        momentum: 0.9,
        nesterov: false,
    };
    assert_steps(
        spec,
        Penalty::default(),
        [[0.95, -1.9], [0.925, -1.85], [0.8025, -1.815]],
    );
}

#[test]
fn nesterov_first_steps() {
    let spec = OptimizerSpec::Momentum {
        momentum: 0.9,
        nesterov: true,
    };
    assert_steps(
        spec,
        Penalty::default(),
        [[0.905, -1.81], [0.9025, -1.805], [0.69225, -1.7835]],
    );
}

#[test]
fn adagrad_first_steps() {
    let spec = OptimizerSpec::Adagrad { eps: 1e-10 };
    assert_steps(
        spec,
        Penalty::default(),
        [[0.9, -1.9], [0.9371391, -1.9371391], [0.849094, -1.9463841]],
    );
}

#[test]
fn rmsprop_first_steps() {
    let spec = OptimizerSpec::RmsProp {
        rho: 0.9,
        eps: 1e-8,
    };
    assert_steps(
        spec,
        Penalty::default(),
        [
            [0.6837723, -1.6837722],
            [0.8066313, -1.8066313],
            [0.522_478_4, -1.838_839],
        ],
    );
}

#[test]
fn adam_first_steps() {
    assert_steps(
        OptimizerSpec::default(),
        Penalty::default(),
        [
            [0.9, -1.9],
            [0.8654394, -1.8654394],
            [0.7965256, -1.8447499],
        ],
    );
}

#[test]
fn adamw_first_steps() {
    let spec = OptimizerSpec::AdamW {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.1,
    };
    assert_steps(
        spec,
        Penalty::default(),
        [
            [0.89, -1.88],
            [0.8465394, -1.8266394],
            [0.7691602, -1.7876835],
        ],
    );
}

#[test]
fn l1_proximal_step_sets_small_weights_to_exactly_zero() {
    let mut p = Param::new("weight", arr1(&[0.03f32, -2.0, -0.04]).into_dyn(), true);
    let mut opt = Optimizer::new(
        OptimizerSpec::Sgd,
        Penalty {
            l1: 0.5,
            ..Default::default()
        },
    )
    .unwrap();
    opt.step(&mut [&mut p], 0.1);
    // threshold lr * l1 = 0.05: |0.03|, |-0.04| -> 0; -2 -> -1.95.
    assert_eq!(p.value.as_slice().unwrap(), &[0.0, -1.95, 0.0]);
}

#[test]
fn biases_frozen_and_decay_flags_are_respected() {
    let pen = Penalty {
        l1: 0.1,
        l2: 1.0,
        decay_biases: false,
    };
    let mut b = Param::new("bias", arr1(&[1.0f32]).into_dyn(), false);
    let mut f = Param::frozen("mel", arr1(&[3.0f32]).into_dyn());
    f.grad.fill(5.0);
    let mut opt = Optimizer::new(OptimizerSpec::Sgd, pen).unwrap();
    opt.step(&mut [&mut b, &mut f], 0.1);
    assert_eq!(b.value[0], 1.0, "zero gradient and no penalty on a bias");
    assert_eq!(f.value[0], 3.0, "frozen parameter untouched");
    let mut opt = Optimizer::new(
        OptimizerSpec::Sgd,
        Penalty {
            decay_biases: true,
            ..pen
        },
    )
    .unwrap();
    opt.step(&mut [&mut b], 0.1);
    // g = l2 w = 1, w = 1 - 0.1 = 0.9, then soft threshold 0.01 -> 0.89.
    assert!((b.value[0] - 0.89).abs() < 1e-6);
}

#[test]
fn clipping_by_global_norm() {
    let mut a = Param::new("a", arr1(&[3.0f32]).into_dyn(), true);
    let mut b = Param::new("b", arr1(&[0.0f32]).into_dyn(), true);
    a.grad = arr1(&[3.0]).into_dyn();
    b.grad = arr1(&[4.0]).into_dyn();
    let n = clip_grad_norm(&mut [&mut a, &mut b], 1.0);
    assert_eq!(n, 5.0);
    assert!((a.grad[0] - 0.6).abs() < 1e-6 && (b.grad[0] - 0.8).abs() < 1e-6);
    let n = clip_grad_norm(&mut [&mut a, &mut b], 10.0);
    assert!((n - 1.0).abs() < 1e-6);
    assert!(
        (a.grad[0] - 0.6).abs() < 1e-6,
        "below the threshold nothing changes"
    );
}

#[test]
fn invalid_hyper_parameters_are_named() {
    let e = Optimizer::new(
        OptimizerSpec::Adam {
            beta1: 1.0,
            beta2: 0.999,
            eps: 1e-8,
        },
        Penalty::default(),
    );
    assert!(e.unwrap_err().to_string().contains("beta1"));
    let e = Optimizer::new(
        OptimizerSpec::Sgd,
        Penalty {
            l2: -1.0,
            ..Default::default()
        },
    );
    assert!(e.unwrap_err().to_string().contains("l2"));
}

#[test]
fn spec_parses_from_toml_with_defaults() {
    let s: OptimizerSpec = toml::from_str("kind = \"momentum\"\nnesterov = true").unwrap();
    assert_eq!(
        s,
        OptimizerSpec::Momentum {
            momentum: 0.9,
            nesterov: true
        }
    );
    let s: OptimizerSpec = toml::from_str("kind = \"adam_w\"").unwrap();
    assert!(matches!(s, OptimizerSpec::AdamW { weight_decay, .. } if weight_decay == 0.01));
    assert!(toml::from_str::<OptimizerSpec>("kind = \"adam\"\nbeta3 = 1").is_err());
}
