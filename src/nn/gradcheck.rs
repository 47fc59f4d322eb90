//! One shared layer check that every layer's tests call.
//!
//! [`check_layer`] verifies the [`Layer`] contract on a given input:
//! 1. analytic input and parameter gradients against central finite
//!    differences of a random linear functional of the output, accumulated in
//!    f64 (`L = sum(w * y)`, `w` uniform in [-1, 1));
//! 2. `backward` *adds* into a dirty gradient buffer, and `zero_grad` clears it;
//! 3. batch versus one-item-at-a-time consistency (evaluation mode);
//! 4. an empty batch runs and gives an empty batch.
//!
//! # Tolerance, and why
//! Layers compute in f32 (relative round-off about 6e-8). With the default
//! step `h = 1e-2` (scaled by `max(1, |x|)`), the central difference has a
//! truncation error of order `h^2 |f'''|` (about 1e-4 for smooth O(1)
//! functions) and a round-off error of order `eps |y| sqrt(n) / h` (about 1e-4
//! for a few hundred O(1) outputs). The default test
//! `|a - n| <= atol + rtol * max(|a|, |n|)` with `rtol = 1e-2`, `atol = 1e-3`
//! leaves a margin of ten over both while any wrong formula (a missing
//! factor, a transposed matrix, a dropped term) is off by O(1) relative.
//! Layers with kinks (ReLU, max) should be checked on inputs away from the
//! kink; [`CheckOptions::allowed_mismatches`] exists for the rare sample that
//! straddles one.

use ndarray::{ArrayD, Axis, IxDyn, Slice};
use rand::RngExt;

use crate::nn::{rng_from_seed, Ctx, Layer, Mode};

/// Settings of [`check_layer`]. `Default` gives the documented tolerances.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Finite-difference step, relative to `max(1, |value|)`. Default: 1e-2.
    pub step: f64,
    /// Relative tolerance. Default: 1e-2.
    pub rtol: f64,
    /// Absolute tolerance. Default: 1e-3.
    pub atol: f64,
    /// At most this many elements are probed per tensor (input and each
    /// parameter), spread evenly; 0 means all. Default: 64.
    pub max_probes: usize,
    /// Mode of the gradient passes. `Train` checks the training path (dropout
    /// uses the same seed for every pass, so the mask is fixed). Default: Train.
    pub mode: Mode,
    /// Seed of the forward passes' generator. Default: 7.
    pub seed: u64,
    /// Valid lengths along axis 1 handed to the layer in [`Ctx::lengths`].
    pub lengths: Option<Vec<usize>>,
    /// Check batch-versus-single consistency. Default: true.
    pub batch_consistency: bool,
    /// Check that an empty batch gives an empty batch. Default: true.
    pub empty_batch: bool,
    /// Number of probes allowed to fail (for kinks). Default: 0.
    pub allowed_mismatches: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            step: 1e-2,
            rtol: 1e-2,
            atol: 1e-3,
            max_probes: 64,
            mode: Mode::Train,
            seed: 7,
            lengths: None,
            batch_consistency: true,
            empty_batch: true,
            allowed_mismatches: 0,
        }
    }
}

/// What [`check_layer`] compared: (tensor name, worst |analytic - numeric|,
/// scale of the gradients) per tensor.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// One row per checked tensor.
    pub rows: Vec<(String, f64, f64)>,
}

fn run(layer: &mut dyn Layer, x: &ArrayD<f32>, opts: &CheckOptions) -> ArrayD<f32> {
    let mut rng = rng_from_seed(opts.seed);
    let mut ctx = Ctx {
        mode: opts.mode,
        rng: &mut rng,
        lengths: opts.lengths.clone(),
    };
    layer.forward(x.view(), &mut ctx)
}

fn functional(y: &ArrayD<f32>, w: &ArrayD<f32>) -> f64 {
    y.iter()
        .zip(w.iter())
        .map(|(&a, &b)| a as f64 * b as f64)
        .sum()
}

fn probes(n: usize, max: usize) -> Vec<usize> {
    if max == 0 || n <= max {
        return (0..n).collect();
    }
    (0..max)
        .map(|k| k * n / max + (k * 7919) % (n / max).max(1))
        .collect()
}

fn close(a: f64, n: f64, opts: &CheckOptions) -> bool {
    (a - n).abs() <= opts.atol + opts.rtol * a.abs().max(n.abs())
}

/// Checks `layer` on input `x` (first axis = batch) and panics with a
/// precise message on the first violated property.
///
/// # Panics
/// On any mismatch: that is the point of a check.
pub fn check_layer(layer: &mut dyn Layer, x: &ArrayD<f32>, opts: &CheckOptions) -> CheckReport {
    let name = layer.name();
    let mut report = CheckReport::default();
    let y = run(layer, x, opts);
    let mut wrng = rng_from_seed(opts.seed ^ 0x9e37_79b9);
    let w = ArrayD::from_shape_fn(y.raw_dim(), |_| wrng.random_range(-1.0f32..1.0));

    // Dirty buffers: backward must add, not overwrite.
    const DIRT: f32 = 0.375;
    for p in layer.params_mut() {
        p.grad.fill(DIRT);
    }
    let dx = layer.backward(w.view());
    assert_eq!(dx.shape(), x.shape(), "{name}: input gradient shape");
    let analytic: Vec<ArrayD<f32>> = layer
        .params()
        .iter()
        .map(|p| p.grad.mapv(|g| g - DIRT))
        .collect();
    layer.zero_grad();
    for p in layer.params() {
        assert!(
            p.grad.iter().all(|&g| g == 0.0),
            "{name}: zero_grad left {} dirty",
            p.name
        );
    }

    // Input gradient by central differences.
    let mut failures = Vec::new();
    let mut worst = 0.0f64;
    for i in probes(x.len(), opts.max_probes) {
        let x0 = x
            .as_slice_memory_order()
            .map(|s| s[i])
            .unwrap_or_else(|| *x.iter().nth(i).unwrap());
        let h = opts.step * (x0.abs() as f64).max(1.0);
        let mut xp = x.as_standard_layout().into_owned();
        xp.as_slice_mut().unwrap()[i] = (x0 as f64 + h) as f32;
        let lp = functional(&run(layer, &xp, opts), &w);
        xp.as_slice_mut().unwrap()[i] = (x0 as f64 - h) as f32;
        let lm = functional(&run(layer, &xp, opts), &w);
        let hp = (x0 as f64 + h) as f32 as f64 - (x0 as f64 - h) as f32 as f64;
        let num = (lp - lm) / hp;
        let a = dx.as_standard_layout().as_slice().unwrap()[i] as f64;
        worst = worst.max((a - num).abs());
        if !close(a, num, opts) {
            failures.push(format!("input[{i}]: analytic {a:.6e}, numeric {num:.6e}"));
        }
    }
    report.rows.push((
        "input".into(),
        worst,
        dx.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64)),
    ));

    // Parameter gradients by central differences.
    let n_params = layer.params().len();
    // The index addresses `analytic` and the layer's parameters, which are
    // re-borrowed mutably inside the loop: an iterator cannot hold both.
    #[allow(clippy::needless_range_loop)]
    for k in 0..n_params {
        let (pname, trainable, len) = {
            let p = &layer.params()[k];
            (p.name.clone(), p.trainable, p.len())
        };
        if !trainable {
            continue;
        }
        let mut worst = 0.0f64;
        for i in probes(len, opts.max_probes) {
            let v0 = layer.params()[k].value.as_slice_memory_order().unwrap()[i];
            let h = opts.step * (v0.abs() as f64).max(1.0);
            layer.params_mut()[k]
                .value
                .as_slice_memory_order_mut()
                .unwrap()[i] = (v0 as f64 + h) as f32;
            let lp = functional(&run(layer, x, opts), &w);
            layer.params_mut()[k]
                .value
                .as_slice_memory_order_mut()
                .unwrap()[i] = (v0 as f64 - h) as f32;
            let lm = functional(&run(layer, x, opts), &w);
            layer.params_mut()[k]
                .value
                .as_slice_memory_order_mut()
                .unwrap()[i] = v0;
            let hp = (v0 as f64 + h) as f32 as f64 - (v0 as f64 - h) as f32 as f64;
            let num = (lp - lm) / hp;
            let a = analytic[k].as_slice_memory_order().unwrap()[i] as f64;
            worst = worst.max((a - num).abs());
            if !close(a, num, opts) {
                failures.push(format!("{pname}[{i}]: analytic {a:.6e}, numeric {num:.6e}"));
            }
        }
        let scale = analytic[k]
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs() as f64));
        report.rows.push((pname, worst, scale));
    }
    assert!(
        failures.len() <= opts.allowed_mismatches,
        "{name}: {} gradient mismatches (allowed {}):\n{}",
        failures.len(),
        opts.allowed_mismatches,
        failures.join("\n")
    );

    let batch = x.shape().first().copied().unwrap_or(0);
    if opts.batch_consistency && batch > 1 {
        let eval = CheckOptions {
            mode: Mode::Eval,
            ..opts.clone()
        };
        let full = run(layer, x, &eval);
        for b in 0..batch {
            let xb = x.slice_axis(Axis(0), Slice::from(b..b + 1)).to_owned();
            let one = CheckOptions {
                lengths: opts.lengths.as_ref().map(|l| vec![l[b]]),
                ..eval.clone()
            };
            let yb = run(layer, &xb, &one);
            let fb = full.slice_axis(Axis(0), Slice::from(b..b + 1));
            // Padded frames beyond an item's own length may legitimately differ.
            let (yb, fb) = match (&opts.lengths, yb.ndim() >= 3) {
                (Some(l), true) => {
                    let n = l[b].min(yb.shape()[1]);
                    (
                        yb.slice_axis(Axis(1), Slice::from(0..n)).to_owned(),
                        fb.slice_axis(Axis(1), Slice::from(0..n)).to_owned(),
                    )
                }
                _ => (yb, fb.to_owned()),
            };
            assert_eq!(
                yb.shape(),
                fb.shape(),
                "{name}: item {b} alone has another shape"
            );
            for (u, v) in yb.iter().zip(fb.iter()) {
                let tol = 1e-5 * (1.0 + u.abs().max(v.abs()));
                assert!(
                    (u - v).abs() <= tol,
                    "{name}: item {b} alone gives {u}, in the batch {v}"
                );
            }
        }
    }

    if opts.empty_batch && x.ndim() >= 1 {
        let mut shape = x.shape().to_vec();
        shape[0] = 0;
        let empty = ArrayD::<f32>::zeros(IxDyn(&shape));
        let opts0 = CheckOptions {
            lengths: opts.lengths.as_ref().map(|_| Vec::new()),
            ..opts.clone()
        };
        let y0 = run(layer, &empty, &opts0);
        assert_eq!(
            y0.shape().first().copied(),
            Some(0),
            "{name}: empty batch gave {:?}",
            y0.shape()
        );
        let g0 = layer.backward(ArrayD::<f32>::zeros(y0.raw_dim()).view());
        assert_eq!(
            g0.shape(),
            empty.shape(),
            "{name}: empty batch input gradient shape"
        );
        layer.zero_grad();
    }
    report
}
