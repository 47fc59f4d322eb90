//! The natural logarithm as an f32 polynomial, scalar and 8 lanes wide,
//! with the same bits on both: used by the dither's Box-Muller radius
//! ([`super::gauss`]) and by Kaldi's log compression.
//!
//! Why not `f32::ln`: libm's `logf` is a call per value (~33 instructions
//! each; 8 % of the Kaldi MFCC run's instructions went to the 24 logs per
//! frame) and cannot be vectorised. Here `u = 2^e m` with `m` in
//! `[sqrt(1/2), sqrt(2))`, `ln m = 2 atanh(s)`, `s = (m - 1)/(m + 1)`, the
//! series truncated after `s^9` (truncation error < 1e-9 relative), and
//! `ln u = (e LN2_LO + ln m) + e LN2_HI`. The result is within 2 ulp of the
//! exact logarithm over all positive normal floats (tested against f64),
//! where libm is within 1 ulp: for log-mel values that is < 4e-6
//! absolute, far inside the Kaldi parity tolerance (1e-3).
//!
//! Zero, subnormal, negative, infinite and NaN inputs go to `f32::ln`
//! (a whole 8-lane group when any lane needs it), so special values keep
//! their usual logarithms and every CPU gives the same bits.

/// `ln 2 = LN2_HI + LN2_LO`, `LN2_HI = 355/512` with 9 significant bits
/// so that `e LN2_HI` is exact for every float exponent `|e| <= 128`.
pub(super) const LN2_HI: f32 = 355.0 / 512.0;
pub(super) const LN2_LO: f32 = (std::f64::consts::LN_2 - 355.0 / 512.0) as f32;
/// Series of `atanh(s)/s - 1 = s^2/3 + s^4/5 + ...`, doubled: coefficients
/// of `t = s^2` in `(ln m - 2s) / s^3`.
pub(super) const LN_C: [f32; 4] = [2.0 / 3.0, 2.0 / 5.0, 2.0 / 7.0, 2.0 / 9.0];

/// `ln u` for a positive normal finite `u` (other inputs give garbage).
#[inline(always)]
pub(super) fn ln_normal(u: f32) -> f32 {
    let bits = u.to_bits();
    let mut e = ((bits >> 23) as i32 - 127) as f32;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    if m > std::f32::consts::SQRT_2 {
        m *= 0.5;
        e += 1.0;
    }
    let s = (m - 1.0) / (m + 1.0);
    let t = s * s;
    let p = LN_C[0] + t * (LN_C[1] + t * (LN_C[2] + t * LN_C[3]));
    let ln_m = (s + s) + (s * t) * p;
    (e * LN2_LO + ln_m) + e * LN2_HI
}

/// True for positive normal finite `u`, the domain of [`ln_normal`].
#[inline(always)]
pub(super) fn is_normal_positive(u: f32) -> bool {
    u.to_bits().wrapping_sub(0x0080_0000) < 0x7f80_0000 - 0x0080_0000
}

/// `ln u`: [`ln_normal`] on positive normal floats, `f32::ln` otherwise.
#[inline(always)]
pub fn ln(u: f32) -> f32 {
    if is_normal_positive(u) {
        ln_normal(u)
    } else {
        u.ln()
    }
}

/// `x_i = ln(max(x_i, floor))`, 8 lanes at a time when the CPU has AVX2
/// (same bits as the scalar loop).
///
/// # Shapes
/// `(n,)` -> `(n,)` in place
#[inline(always)]
pub fn ln_floored(x: &mut [f32], floor: f32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        unsafe { super::kernels_avx::ln_floored(x, floor) };
        return;
    }
    ln_floored_portable(x, floor);
}

#[inline(always)]
pub(super) fn ln_floored_portable(x: &mut [f32], floor: f32) {
    for v in x.iter_mut() {
        *v = ln(v.max(floor));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance of `got` from `want` in ulps of `want` (as an f32).
    fn ulps(got: f32, want: f64) -> f64 {
        let w = (want.abs() as f32).max(f32::MIN_POSITIVE);
        let ulp = (f32::from_bits(w.to_bits() + 1) - w) as f64;
        (got as f64 - want).abs() / ulp
    }

    #[test]
    fn within_two_ulp_of_f64_over_all_normal_floats() {
        // Log-spaced over the whole normal range, plus a dense stretch
        // around 1 where ln u -> 0.
        let mut worst = 0.0f64;
        let (lo, hi) = ((f32::MIN_POSITIVE as f64).ln(), (f32::MAX as f64).ln());
        for i in 0..=400_000 {
            let u = (lo + (hi - lo) * i as f64 / 400_000.0).exp() as f32;
            let v = 1.0 + (i as f32 - 200_000.0) * 1e-7;
            for u in [u, v] {
                if is_normal_positive(u) {
                    worst = worst.max(ulps(ln(u), (u as f64).ln()));
                }
            }
        }
        assert_eq!(ln(1.0), 0.0, "ln 1 exactly");
        // Each f32 operation rounds by half an ulp; the division and the
        // final sums stay within 2 ulp of the exact logarithm.
        assert!(worst <= 2.0, "ln off by {worst} ulp");
    }

    #[test]
    fn special_values_keep_their_logarithms() {
        assert_eq!(ln(0.0), f32::NEG_INFINITY);
        assert_eq!(ln(f32::INFINITY), f32::INFINITY);
        assert!(ln(-1.0).is_nan() && ln(f32::NAN).is_nan());
        let sub = f32::MIN_POSITIVE / 4.0;
        assert_eq!(ln(sub), sub.ln(), "subnormals go to libm");
        assert!(!is_normal_positive(f32::MAX * 2.0) && is_normal_positive(f32::MAX));
        assert!(!is_normal_positive(sub) && is_normal_positive(f32::MIN_POSITIVE));
    }

    #[test]
    fn vector_and_scalar_paths_give_the_same_bits() {
        for n in [0usize, 1, 7, 8, 9, 23, 40, 257] {
            let mut x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.7).exp() * 1e-3).collect();
            if n > 20 {
                // A group with a special value goes to f32::ln as a whole.
                x[3] = 0.0;
                x[12] = f32::INFINITY;
                x[17] = f32::NAN;
            }
            let (mut a, mut b) = (x.clone(), x.clone());
            ln_floored(&mut a, 1e-30);
            ln_floored_portable(&mut b, 1e-30);
            let same = a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits());
            assert!(same, "n={n}: {a:?} vs {b:?}");
            let (mut c, mut d) = (x.clone(), x);
            ln_floored(&mut c, 0.0);
            ln_floored_portable(&mut d, 0.0);
            let same = c.iter().zip(&d).all(|(p, q)| p.to_bits() == q.to_bits());
            assert!(same, "n={n}, floor 0");
        }
    }

    #[test]
    fn floor_applies_before_the_log() {
        let mut x = [0.0, 1e-20, 1.0, std::f32::consts::E];
        ln_floored(&mut x, f32::EPSILON);
        assert_eq!(x[0], f32::EPSILON.ln());
        assert_eq!(x[1], f32::EPSILON.ln());
        assert_eq!(x[2], 0.0);
        assert!((x[3] - 1.0).abs() <= 1.2e-7, "ln e = {}", x[3]);
    }
}
