//! AVX2 form of [`super::gauss`]: one block of 16 normals (8 Box-Muller
//! pairs) per step, the 8 pairs in the 8 lanes.
//!
//! Same numbers as the scalar path, bit for bit: the same IEEE operations
//! in the same order (no FMA), the 64-bit SplitMix64 multiplies built from
//! three 32x32 -> 64-bit multiplies (exact modulo 2^64), and the
//! quarter-turn choice as blends and sign flips instead of branches.

use std::arch::x86_64::{
    __m256, __m256i, _mm256_add_epi32, _mm256_add_epi64, _mm256_add_ps, _mm256_and_si256,
    _mm256_blendv_ps, _mm256_castps_si256, _mm256_castsi256_ps, _mm256_cvtepi32_ps,
    _mm256_loadu_ps, _mm256_mul_epu32, _mm256_mul_ps, _mm256_or_si256, _mm256_permutevar8x32_ps,
    _mm256_set1_epi32, _mm256_set1_epi64x, _mm256_set1_ps, _mm256_setr_epi64x, _mm256_shuffle_ps,
    _mm256_slli_epi32, _mm256_slli_epi64, _mm256_sqrt_ps, _mm256_srli_epi32, _mm256_srli_epi64,
    _mm256_storeu_ps, _mm256_sub_epi32, _mm256_sub_ps, _mm256_xor_ps, _mm256_xor_si256,
};

use super::gauss::{
    ANGLE_STEP, BLOCK, COS_C, GAMMA, LN2_HI, LN2_LO, LOG1P_C, MIX1, MIX2, SIN_C, TWO_M31, TWO_M32,
};
use super::gauss_ln_table::{LN_CENTRE, LN_INV, LN_OF_CENTRE};

/// Blocks interleaved per iteration of the main loop: two, not four as
/// with AVX-512, since AVX2's 16 registers spill with four (AVX2 kernel
/// on Zen 4: 26.0 ms per 24 million normals with two, 34.6 with four).
const UNROLL: usize = 2;

/// `a * c` modulo 2^64 per 64-bit lane, with `c` given as its low and
/// high 32-bit halves broadcast: `lo(a) lo(c) + (hi(a) lo(c) + lo(a)
/// hi(c)) 2^32`.
#[inline]
#[target_feature(enable = "avx2")]
fn mul64(a: __m256i, c_lo: __m256i, c_hi: __m256i) -> __m256i {
    let p0 = _mm256_mul_epu32(a, c_lo);
    let p1 = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), c_lo);
    let p2 = _mm256_mul_epu32(a, c_hi);
    _mm256_add_epi64(p0, _mm256_slli_epi64(_mm256_add_epi64(p1, p2), 32))
}

/// SplitMix64's finaliser on 4 lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn mix(z: __m256i) -> __m256i {
    let m1 = (
        _mm256_set1_epi64x(MIX1 as i64 & 0xffff_ffff),
        _mm256_set1_epi64x((MIX1 >> 32) as i64),
    );
    let m2 = (
        _mm256_set1_epi64x(MIX2 as i64 & 0xffff_ffff),
        _mm256_set1_epi64x((MIX2 >> 32) as i64),
    );
    let z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), m1.0, m1.1);
    let z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), m2.0, m2.1);
    _mm256_xor_si256(z, _mm256_srli_epi64(z, 31))
}

/// Horner's rule `c0 + z (c1 + z (c2 + z c3))`, as the scalar code.
#[inline]
#[target_feature(enable = "avx2")]
fn poly(z: __m256, c: [f32; 4]) -> __m256 {
    let mut p = _mm256_set1_ps(c[3]);
    for &ci in c[..3].iter().rev() {
        p = _mm256_add_ps(_mm256_set1_ps(ci), _mm256_mul_ps(z, p));
    }
    p
}

/// See [`super::gauss::ln`].
#[inline]
#[target_feature(enable = "avx2")]
fn ln(u: __m256) -> __m256 {
    let bits = _mm256_castps_si256(u);
    // Exponent, one more when the mantissa's top bit is set (m >= 1.5).
    let e = _mm256_cvtepi32_ps(_mm256_sub_epi32(
        _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(1 << 22)), 23),
        _mm256_set1_epi32(127),
    ));
    let m = _mm256_castsi256_ps(_mm256_or_si256(
        _mm256_and_si256(bits, _mm256_set1_epi32(0x007f_ffff)),
        _mm256_set1_epi32(0x3f80_0000),
    ));
    // Interval k = bits 18..23: `permutevar8x32` reads bits 18..21 of
    // `k` after the shift (its low 3 bits); bits 3 and 4 of k pick one of
    // four registers of 8 entries by two sign-bit blends. (Gathers gave
    // the same numbers but ran 1.2x slower than the division on Zen 4.)
    let k = _mm256_srli_epi32(bits, 18);
    let bit3 = _mm256_castsi256_ps(_mm256_slli_epi32(k, 28));
    let bit4 = _mm256_castsi256_ps(_mm256_slli_epi32(k, 27));
    let look = |t: &[f32; 32]| {
        // SAFETY: `t` holds 32 floats; four loads of 8.
        let q: [__m256; 4] =
            std::array::from_fn(|i| unsafe { _mm256_loadu_ps(t.as_ptr().add(8 * i)) });
        let p = q.map(|q| _mm256_permutevar8x32_ps(q, k));
        _mm256_blendv_ps(
            _mm256_blendv_ps(p[0], p[1], bit3),
            _mm256_blendv_ps(p[2], p[3], bit3),
            bit4,
        )
    };
    let r = _mm256_mul_ps(_mm256_sub_ps(m, look(&LN_CENTRE)), look(&LN_INV));
    let p = poly(r, LOG1P_C);
    let log1p = _mm256_add_ps(r, _mm256_mul_ps(_mm256_mul_ps(r, r), p));
    let ln_m = _mm256_add_ps(look(&LN_OF_CENTRE), log1p);
    let lo = _mm256_add_ps(_mm256_mul_ps(e, _mm256_set1_ps(LN2_LO)), ln_m);
    _mm256_add_ps(lo, _mm256_mul_ps(e, _mm256_set1_ps(LN2_HI)))
}

/// One block: `(r cos theta, r sin theta)` of the 8 draws whose high
/// 32-bit halves are `hi` and low halves `lo` (lane `l` = pair `l`).
#[inline]
#[target_feature(enable = "avx2")]
fn pairs(hi: __m256i, lo: __m256i) -> (__m256, __m256) {
    let k = _mm256_cvtepi32_ps(_mm256_srli_epi32(hi, 1));
    let u = _mm256_add_ps(
        _mm256_mul_ps(k, _mm256_set1_ps(TWO_M31)),
        _mm256_set1_ps(TWO_M32),
    );
    let r = _mm256_sqrt_ps(_mm256_mul_ps(ln(u), _mm256_set1_ps(-2.0)));
    let b = _mm256_add_epi32(lo, _mm256_set1_epi32(1 << 29));
    let res = _mm256_sub_epi32(
        _mm256_and_si256(b, _mm256_set1_epi32(0x3fff_ffff)),
        _mm256_set1_epi32(1 << 29),
    );
    let x = _mm256_mul_ps(_mm256_cvtepi32_ps(res), _mm256_set1_ps(ANGLE_STEP));
    let z = _mm256_mul_ps(x, x);
    let s = _mm256_add_ps(x, _mm256_mul_ps(_mm256_mul_ps(x, z), poly(z, SIN_C)));
    let c = _mm256_add_ps(
        _mm256_sub_ps(_mm256_set1_ps(1.0), _mm256_mul_ps(_mm256_set1_ps(0.5), z)),
        _mm256_mul_ps(_mm256_mul_ps(z, z), poly(z, COS_C)),
    );
    // Quarter turn q = b >> 30: bit 0 maps (c, s) to (-s, c) (a blend on
    // the sign bit), bit 1 negates both (a sign-bit xor).
    let sign = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MIN));
    let quarter = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_srli_epi32(b, 30), 31));
    let half = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_srli_epi32(b, 31), 31));
    let c2 = _mm256_blendv_ps(c, _mm256_xor_ps(s, sign), quarter);
    let s2 = _mm256_blendv_ps(s, c, quarter);
    (
        _mm256_mul_ps(r, _mm256_xor_ps(c2, half)),
        _mm256_mul_ps(r, _mm256_xor_ps(s2, half)),
    )
}

/// See [`super::gauss::add_keyed`].
#[target_feature(enable = "avx2")]
pub fn add(key: u64, scale: f32, out: &mut [f32]) {
    // Lanes of `a` are pairs {0, 1, 4, 5} of the block and lanes of `b`
    // pairs {2, 3, 6, 7}, so that picking the odd (high) and even (low)
    // 32-bit halves with `shuffle_ps` leaves pair l in lane l.
    let k = key as i64;
    let g = |j: i64| k.wrapping_add((GAMMA as i64).wrapping_mul(j + 1));
    let mut ca = _mm256_setr_epi64x(g(0), g(1), g(4), g(5));
    let mut cb = _mm256_setr_epi64x(g(2), g(3), g(6), g(7));
    let step = _mm256_set1_epi64x((GAMMA as i64).wrapping_mul(8));
    let sc = _mm256_set1_ps(scale);
    // UNROLL blocks per iteration while enough floats remain, so that
    // their dependency chains overlap (as in the AVX-512 path).
    let mut cs = [ca; 2 * UNROLL];
    for u in 0..UNROLL {
        let off = _mm256_set1_epi64x((GAMMA as i64).wrapping_mul(8 * u as i64));
        cs[2 * u] = _mm256_add_epi64(ca, off);
        cs[2 * u + 1] = _mm256_add_epi64(cb, off);
    }
    let stepn = _mm256_set1_epi64x((GAMMA as i64).wrapping_mul(8 * UNROLL as i64));
    let mut groups = out.chunks_exact_mut(UNROLL * BLOCK);
    for o in &mut groups {
        let z = cs.map(|c| _mm256_castsi256_ps(mix(c)));
        cs = cs.map(|c| _mm256_add_epi64(c, stepn));
        let g: [(__m256, __m256); UNROLL] = std::array::from_fn(|u| {
            let (za, zb) = (z[2 * u], z[2 * u + 1]);
            pairs(
                _mm256_castps_si256(_mm256_shuffle_ps::<0xdd>(za, zb)),
                _mm256_castps_si256(_mm256_shuffle_ps::<0x88>(za, zb)),
            )
        });
        for (u, (gc, gs)) in g.into_iter().enumerate() {
            // SAFETY: the group holds UNROLL blocks of 16 floats.
            unsafe {
                let p = o.as_mut_ptr().add(BLOCK * u);
                let v = _mm256_add_ps(_mm256_loadu_ps(p), _mm256_mul_ps(sc, gc));
                _mm256_storeu_ps(p, v);
                let v = _mm256_add_ps(_mm256_loadu_ps(p.add(8)), _mm256_mul_ps(sc, gs));
                _mm256_storeu_ps(p.add(8), v);
            }
        }
    }
    ca = cs[0];
    cb = cs[1];
    let mut blocks = groups.into_remainder().chunks_exact_mut(BLOCK);
    let mut next = || {
        let za = _mm256_castsi256_ps(mix(ca));
        let zb = _mm256_castsi256_ps(mix(cb));
        ca = _mm256_add_epi64(ca, step);
        cb = _mm256_add_epi64(cb, step);
        let hi = _mm256_castps_si256(_mm256_shuffle_ps::<0xdd>(za, zb));
        let lo = _mm256_castps_si256(_mm256_shuffle_ps::<0x88>(za, zb));
        pairs(hi, lo)
    };
    for o in &mut blocks {
        let (gc, gs) = next();
        // SAFETY: the block holds 16 floats.
        unsafe {
            let p = o.as_mut_ptr();
            let v = _mm256_add_ps(_mm256_loadu_ps(p), _mm256_mul_ps(sc, gc));
            _mm256_storeu_ps(p, v);
            let v = _mm256_add_ps(_mm256_loadu_ps(p.add(8)), _mm256_mul_ps(sc, gs));
            _mm256_storeu_ps(p.add(8), v);
        }
    }
    let rest = blocks.into_remainder();
    if !rest.is_empty() {
        let (gc, gs) = next();
        let mut g = [0.0f32; BLOCK];
        // SAFETY: `g` holds 16 floats.
        unsafe {
            _mm256_storeu_ps(g.as_mut_ptr(), gc);
            _mm256_storeu_ps(g.as_mut_ptr().add(8), gs);
        }
        for (o, g) in rest.iter_mut().zip(g) {
            *o += scale * g;
        }
    }
}
