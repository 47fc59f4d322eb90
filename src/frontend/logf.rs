//! Natural log of many f32 values at once, for log compression.
//!
//! Why: with 23 mel bands the per-value call to libm's `logf` was ~5 % of
//! the instructions of the 600 s CLI run (callgrind: ~34 instructions per
//! value plus the call), the largest single cost after the FFT and the
//! dither. Here 8 values go through one AVX2 evaluation.
//!
//! Method, for a normal positive `x = 2^e m` with `m` in `[sqrt(1/2),
//! sqrt(2))` (exponent and mantissa split on the bits, exact):
//! `ln x = e ln 2 + 2 atanh(f)`, `f = (m - 1) / (m + 1)`, `|f| <= 0.1716`,
//! `2 atanh(f) = 2 f sum_{n=0..9} f^{2n} / (2n + 1)`, all in f64 and rounded
//! to f32 once at the end. The truncation error is below `f^20 / 21 <
//! 1e-17` relative and the f64 round-off about `1e-16`, so the f32 result is
//! the correctly rounded `ln x` except when `ln x` lies within ~1e-16 of a
//! rounding midpoint. glibc's `logf` is not correctly rounded (its stated
//! bound is 0.82 ULP), so a few values differ from `f32::ln` in the last
//! bit; this is the more accurate of the two.
//!
//! The AVX2 and portable versions run the same f64 operations in the same
//! order (no FMA), so they give the same bits. Zero, subnormals, infinities
//! and NaN go to `f32::ln` (a group of 8 with any of them goes whole).

/// `1 / (2n + 1)`, `n = 0..=9`: the atanh series in `s = f^2`.
const C: [f64; 10] = [
    1.0,
    1.0 / 3.0,
    1.0 / 5.0,
    1.0 / 7.0,
    1.0 / 9.0,
    1.0 / 11.0,
    1.0 / 13.0,
    1.0 / 15.0,
    1.0 / 17.0,
    1.0 / 19.0,
];

/// Mantissa bits of `sqrt(2)` rounded up: mantissas at or above it are
/// halved (and the exponent raised) so `m < sqrt(2)`.
const SQRT2_MANT: u32 = 0x0035_04f3;
const MANT: u32 = 0x007f_ffff;
const ONE: u32 = 0x3f80_0000;
const HALF_STEP: u32 = 0x0080_0000;

/// `x_i = ln(x_i)` for every value.
///
/// # Shapes
/// `(n,)` -> `(n,)` in place
#[inline(always)]
pub fn ln_in_place(x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        unsafe { avx2::ln_in_place(x) };
        return;
    }
    x.iter_mut().for_each(|v| *v = ln(*v));
}

/// `ln(x)` by the method of the module docs (any `x`; non-normal values go
/// to `f32::ln`).
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    if !(HALF_STEP..0x7f80_0000).contains(&bits) {
        return x.ln();
    }
    let mant = bits & MANT;
    let big = mant >= SQRT2_MANT;
    let e = (bits >> 23) as i32 - 127 + i32::from(big);
    let m = f32::from_bits(mant | if big { ONE - HALF_STEP } else { ONE });
    let m = f64::from(m);
    let f = (m - 1.0) / (m + 1.0);
    let s = f * f;
    let mut q = C[9];
    for c in C[..9].iter().rev() {
        q = q * s + c;
    }
    (f64::from(e) * std::f64::consts::LN_2 + (f + f) * q) as f32
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{
        __m256, __m256d, _mm256_add_pd, _mm256_and_si256, _mm256_castps128_ps256,
        _mm256_castps256_ps128, _mm256_castps_si256, _mm256_castsi256_ps, _mm256_castsi256_si128,
        _mm256_cmpgt_epi32, _mm256_cvtepi32_pd, _mm256_cvtpd_ps, _mm256_cvtps_pd, _mm256_div_pd,
        _mm256_extractf128_ps, _mm256_extracti128_si256, _mm256_insertf128_ps, _mm256_loadu_ps,
        _mm256_movemask_ps, _mm256_mul_pd, _mm256_or_si256, _mm256_set1_epi32, _mm256_set1_pd,
        _mm256_srli_epi32, _mm256_storeu_ps, _mm256_sub_epi32, _mm256_sub_pd,
    };

    use super::{C, HALF_STEP, MANT, ONE, SQRT2_MANT};

    /// See [`super::ln_in_place`].
    #[target_feature(enable = "avx2")]
    pub(super) fn ln_in_place(x: &mut [f32]) {
        let mut c = x.chunks_exact_mut(8);
        for v in &mut c {
            // SAFETY: the chunk holds 8 floats.
            let r = ln8(unsafe { _mm256_loadu_ps(v.as_ptr()) });
            match r {
                // SAFETY: as above.
                Some(r) => unsafe { _mm256_storeu_ps(v.as_mut_ptr(), r) },
                None => v.iter_mut().for_each(|y| *y = super::ln(*y)),
            }
        }
        let rest = c.into_remainder();
        if !rest.is_empty() {
            // Padded with 1.0 (a normal value) so the tail takes the same
            // vector path.
            let mut buf = [1.0f32; 8];
            buf[..rest.len()].copy_from_slice(rest);
            // SAFETY: `buf` holds 8 floats.
            match ln8(unsafe { _mm256_loadu_ps(buf.as_ptr()) }) {
                Some(r) => {
                    // SAFETY: as above.
                    unsafe { _mm256_storeu_ps(buf.as_mut_ptr(), r) };
                    rest.copy_from_slice(&buf[..rest.len()]);
                }
                None => rest.iter_mut().for_each(|y| *y = super::ln(*y)),
            }
        }
    }

    /// Eight logs, or `None` when a lane is not a normal positive number.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn ln8(x: __m256) -> Option<__m256> {
        let bits = _mm256_castps_si256(x);
        // Normal positive: HALF_STEP <= bits < 0x7f80_0000 (as i32, so
        // negative numbers, whose sign bit makes them negative, fail too).
        let ok_lo = _mm256_cmpgt_epi32(bits, _mm256_set1_epi32(HALF_STEP as i32 - 1));
        let ok_hi = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x7f80_0000), bits);
        let ok = _mm256_and_si256(ok_lo, ok_hi);
        if _mm256_movemask_ps(_mm256_castsi256_ps(ok)) != 0xff {
            return None;
        }
        let mant = _mm256_and_si256(bits, _mm256_set1_epi32(MANT as i32));
        // All ones where the mantissa is at or above sqrt(2)'s.
        let big = _mm256_cmpgt_epi32(mant, _mm256_set1_epi32(SQRT2_MANT as i32 - 1));
        // e = exponent - 127 + big (big is -1 where set).
        let e = _mm256_sub_epi32(
            _mm256_sub_epi32(_mm256_srli_epi32::<23>(bits), _mm256_set1_epi32(127)),
            big,
        );
        let m_bits = _mm256_or_si256(
            mant,
            _mm256_sub_epi32(
                _mm256_set1_epi32(ONE as i32),
                _mm256_and_si256(big, _mm256_set1_epi32(HALF_STEP as i32)),
            ),
        );
        let m = _mm256_castsi256_ps(m_bits);
        let lo = half(
            _mm256_cvtps_pd(_mm256_castps256_ps128(m)),
            _mm256_cvtepi32_pd(_mm256_castsi256_si128(e)),
        );
        let hi = half(
            _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(m)),
            _mm256_cvtepi32_pd(_mm256_extracti128_si256::<1>(e)),
        );
        Some(_mm256_insertf128_ps::<1>(
            _mm256_castps128_ps256(_mm256_cvtpd_ps(lo)),
            _mm256_cvtpd_ps(hi),
        ))
    }

    /// Four lanes of [`super::ln`] in f64: `e ln 2 + 2 f q(f^2)`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn half(m: __m256d, e: __m256d) -> __m256d {
        let one = _mm256_set1_pd(1.0);
        let f = _mm256_div_pd(_mm256_sub_pd(m, one), _mm256_add_pd(m, one));
        let s = _mm256_mul_pd(f, f);
        let mut q = _mm256_set1_pd(C[9]);
        for &c in C[..9].iter().rev() {
            q = _mm256_add_pd(_mm256_mul_pd(q, s), _mm256_set1_pd(c));
        }
        let ln2 = _mm256_set1_pd(std::f64::consts::LN_2);
        _mm256_add_pd(_mm256_mul_pd(e, ln2), _mm256_mul_pd(_mm256_add_pd(f, f), q))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values spread over every binade of normal floats, plus awkward ones.
    fn inputs() -> Vec<f32> {
        let mut v = vec![
            1.0,
            f32::EPSILON,
            f32::MIN_POSITIVE,
            f32::MAX,
            std::f32::consts::SQRT_2,
            f32::from_bits(0x3fb5_04f2),
            f32::from_bits(0x3fb5_04f3),
            0.999_999_9,
            1.000_000_1,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let bits = (state >> 33) as u32 & 0x7fff_ffff;
            let x = f32::from_bits(bits);
            if x.is_normal() {
                v.push(x);
            }
        }
        v
    }

    #[test]
    fn vector_path_equals_scalar_bit_for_bit() {
        let x = inputs();
        let mut y = x.clone();
        ln_in_place(&mut y);
        for (a, b) in x.iter().zip(&y) {
            assert_eq!(ln(*a).to_bits(), b.to_bits(), "x = {a:e}");
        }
    }

    #[test]
    fn correctly_rounded_on_normal_inputs() {
        // The exact ln (f64, ~1e-16 relative) rounded to f32 must be our
        // result: the method's error (~1e-16) is far below half an f32 ULP
        // (~6e-8 relative) except within ~1e-16 of a midpoint, which 200k
        // random inputs do not hit.
        let x = inputs();
        let mut y = x.clone();
        ln_in_place(&mut y);
        for (a, b) in x.iter().zip(&y) {
            assert_eq!(*b, f64::from(*a).ln() as f32, "x = {a:e}");
        }
    }

    #[test]
    fn special_values_go_to_std() {
        let mut x = [
            0.0,
            -1.0,
            f32::INFINITY,
            f32::NAN,
            1e-40,
            2.0,
            3.0,
            4.0,
            0.5,
        ];
        let want: Vec<f32> = x.iter().map(|v| v.ln()).collect();
        ln_in_place(&mut x);
        assert_eq!(x[0], f32::NEG_INFINITY);
        assert!(x[1].is_nan() && x[3].is_nan());
        assert_eq!(x[2], f32::INFINITY);
        assert_eq!(x[4], want[4], "subnormal via f32::ln");
        assert_eq!(x[5], 2.0f64.ln() as f32);
    }
}
