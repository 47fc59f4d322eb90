//! Element-wise update kernels of the optimizers in [`crate::nn::optim`]:
//! each applies the coupled L2 term, the update, the proximal L1 step and
//! the gradient reset in one pass over a parameter's scalars.

/// `sign(w) max(|w| - t, 0)`, branch-free (vectorisable).
#[inline(always)]
fn soft_threshold(w: f32, t: f32) -> f32 {
    (w.abs() - t).max(0.0).copysign(w)
}

pub(crate) fn sgd(w: &mut [f32], g: &mut [f32], lr: f32, l2: f32, l1: f32) {
    for (w, g) in w.iter_mut().zip(g.iter_mut()) {
        let ge = *g + l2 * *w;
        *w -= lr * ge;
        *g = 0.0;
    }
    if l1 > 0.0 {
        w.iter_mut().for_each(|w| *w = soft_threshold(*w, lr * l1));
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn heavy_ball(
    w: &mut [f32],
    g: &mut [f32],
    v: &mut [f32],
    lr: f32,
    l2: f32,
    l1: f32,
    mu: f32,
    nesterov: bool,
) {
    for ((w, g), v) in w.iter_mut().zip(g.iter_mut()).zip(v.iter_mut()) {
        let ge = *g + l2 * *w;
        *v = mu * *v + ge;
        let d = if nesterov { ge + mu * *v } else { *v };
        *w -= lr * d;
        *g = 0.0;
    }
    if l1 > 0.0 {
        w.iter_mut().for_each(|w| *w = soft_threshold(*w, lr * l1));
    }
}

/// Adagrad (`rho = None`) or RMSProp (`rho = Some`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn adaptive(
    w: &mut [f32],
    g: &mut [f32],
    s2: &mut [f32],
    lr: f32,
    l2: f32,
    l1: f32,
    eps: f32,
    rho: Option<f32>,
) {
    let (keep, add) = match rho {
        Some(r) => (r, 1.0 - r),
        None => (1.0, 1.0),
    };
    for ((w, g), s2) in w.iter_mut().zip(g.iter_mut()).zip(s2.iter_mut()) {
        let ge = *g + l2 * *w;
        *s2 = keep * *s2 + add * ge * ge;
        let step = lr / (s2.sqrt() + eps);
        let nw = *w - step * ge;
        *w = if l1 > 0.0 {
            soft_threshold(nw, step * l1)
        } else {
            nw
        };
        *g = 0.0;
    }
}

/// Scalars of one Adam/AdamW update.
pub(crate) struct AdamStep {
    lr: f32,
    /// Coupled L2 strength (0 when not penalised).
    l2: f32,
    /// Proximal L1 strength (0 when not penalised).
    l1: f32,
    /// AdamW decoupled decay (0 for Adam or when not penalised).
    wd: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    /// `1 / (1 - beta1^t)`
    c1: f32,
    /// `1 / (1 - beta2^t)`
    c2: f32,
}

impl AdamStep {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        beta1: f32,
        beta2: f32,
        eps: f32,
        t: i32,
        lr: f32,
        l2: f32,
        l1: f32,
        wd: f32,
    ) -> Self {
        let c1 = 1.0 / (1.0 - (beta1 as f64).powi(t)) as f32;
        let c2 = 1.0 / (1.0 - (beta2 as f64).powi(t)) as f32;
        AdamStep {
            lr,
            l2,
            l1,
            wd,
            beta1,
            beta2,
            eps,
            c1,
            c2,
        }
    }
}

/// Adam / AdamW (`wd > 0`): one fused pass per parameter.
///
/// The loop is written element-wise without cross-lane dependencies so the
/// compiler vectorises it; on x86-64 CPUs with AVX2 a copy compiled for AVX2
/// (8 lanes instead of SSE2's 4) is picked at run time. Rust never fuses a
/// multiply and an add on its own, and `sqrt` and `/` are correctly rounded
/// in every instruction set, so both copies give bit-identical results.
pub(crate) fn adam(w: &mut [f32], g: &mut [f32], m: &mut [f32], v: &mut [f32], k: &AdamStep) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above), the only
            // requirement of a `target_feature(enable = "avx2")` function.
            unsafe { adam_avx2(w, g, m, v, k) };
            return;
        }
    }
    adam_dispatch_l1(w, g, m, v, k);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn adam_avx2(w: &mut [f32], g: &mut [f32], m: &mut [f32], v: &mut [f32], k: &AdamStep) {
    adam_dispatch_l1(w, g, m, v, k);
}

#[inline(always)]
fn adam_dispatch_l1(w: &mut [f32], g: &mut [f32], m: &mut [f32], v: &mut [f32], k: &AdamStep) {
    if k.l1 > 0.0 {
        adam_body::<true>(w, g, m, v, k);
    } else {
        adam_body::<false>(w, g, m, v, k);
    }
}

/// The element-wise update; `L1` selects (at compile time) the loop with
/// the proximal step, so the common loop carries no extra work.
#[inline(always)]
fn adam_body<const L1: bool>(
    w: &mut [f32],
    g: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    k: &AdamStep,
) {
    let (b1, b2, eps, c1, c2, lr, l2) = (k.beta1, k.beta2, k.eps, k.c1, k.c2, k.lr, k.l2);
    let (nb1, nb2) = (1.0 - b1, 1.0 - b2);
    let decay = 1.0 - lr * k.wd;
    for (((w, g), m), v) in w
        .iter_mut()
        .zip(g.iter_mut())
        .zip(m.iter_mut())
        .zip(v.iter_mut())
    {
        let ge = *g + l2 * *w;
        let mi = b1 * *m + nb1 * ge;
        let vi = b2 * *v + nb2 * ge * ge;
        let step = lr / ((vi * c2).sqrt() + eps);
        let nw = *w * decay - step * (mi * c1);
        (*m, *v, *g) = (mi, vi, 0.0);
        *w = if L1 {
            soft_threshold(nw, step * k.l1)
        } else {
            nw
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_threshold_values() {
        assert_eq!(soft_threshold(0.75, 0.25), 0.5);
        assert_eq!(soft_threshold(-0.75, 0.25), -0.5);
        assert_eq!(soft_threshold(0.05, 0.1), 0.0);
        assert_eq!(soft_threshold(-0.05, 0.1), 0.0);
    }

    #[test]
    fn dispatched_adam_equals_the_portable_loop_bit_for_bit() {
        let n = 1003; // not a multiple of 8: exercises the vector tail
        let init = |k: usize| ((k * 7919) % 1000) as f32 / 500.0 - 1.0;
        for l1 in [0.0f32, 0.3] {
            let k = AdamStep::new(0.9, 0.999, 1e-8, 3, 0.01, 0.1, l1, 0.01);
            let (mut w1, mut g1, mut m1, mut v1) = (
                (0..n).map(init).collect::<Vec<_>>(),
                (0..n).map(|i| init(i + 1)).collect::<Vec<_>>(),
                (0..n).map(|i| init(i + 2) * 0.1).collect::<Vec<_>>(),
                (0..n).map(|i| init(i + 3).abs() * 0.01).collect::<Vec<_>>(),
            );
            let (mut w2, mut g2, mut m2, mut v2) = (w1.clone(), g1.clone(), m1.clone(), v1.clone());
            adam(&mut w1, &mut g1, &mut m1, &mut v1, &k);
            adam_dispatch_l1(&mut w2, &mut g2, &mut m2, &mut v2, &k);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&w1), bits(&w2));
            assert_eq!(bits(&m1), bits(&m2));
            assert_eq!(bits(&v1), bits(&v2));
            assert!(g1.iter().all(|&x| x == 0.0));
        }
    }
}
