//! AVX2 form of [`super::gauss`]: one block (16 Box-Muller pairs, 32
//! normals) per step, as two halves of 8 pairs, pair `l` of a half in
//! lane `l`.
//!
//! Same numbers as the scalar path, bit for bit: the same IEEE operations
//! in the same order (no FMA), the 64-bit SplitMix64 multiplies built from
//! three 32x32 -> 64-bit multiplies (exact modulo 2^64), and the 32-entry
//! tables read with register permutes and blends instead of indexing.
//! The two halves of a step are independent dependency chains, which
//! out-of-order execution overlaps (AVX2's 16 registers spill when more
//! steps are written into one iteration).

use std::arch::x86_64::{
    __m256, __m256i, _mm256_add_epi32, _mm256_add_epi64, _mm256_add_ps, _mm256_and_ps,
    _mm256_and_si256, _mm256_blendv_ps, _mm256_castps_si256, _mm256_castsi256_ps,
    _mm256_cvtepi32_ps, _mm256_loadu_ps, _mm256_mul_epu32, _mm256_mul_ps, _mm256_or_si256,
    _mm256_permutevar8x32_ps, _mm256_set1_epi32, _mm256_set1_epi64x, _mm256_set1_ps,
    _mm256_setr_epi64x, _mm256_slli_epi32, _mm256_slli_epi64, _mm256_sqrt_ps, _mm256_srli_epi32,
    _mm256_srli_epi64, _mm256_storeu_ps, _mm256_sub_epi32, _mm256_sub_ps, _mm256_xor_ps,
    _mm256_xor_si256,
};

use super::gauss::{
    ANGLE_STEP, BLOCK, COS_C, EXP_BIAS, GAMMA, LOG1P_C, M2_LN2, MIX1, MIX2, PAIRS, SIN_C, SIN_TURN,
};
use super::gauss_ln_table::{COS_TURN, LN_CENTRE, LN_INV_M2, LN_OF_CENTRE_M2};

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

/// Horner's rule `c0 + z (c1 + z (...))`, as the scalar code.
#[inline]
#[target_feature(enable = "avx2")]
fn poly<const N: usize>(z: __m256, c: [f32; N]) -> __m256 {
    let mut p = _mm256_set1_ps(c[N - 1]);
    for &ci in c[..N - 1].iter().rev() {
        p = _mm256_add_ps(_mm256_set1_ps(ci), _mm256_mul_ps(z, p));
    }
    p
}

/// Entry `k mod 32` of a 32-float table, per lane: `permutevar8x32`
/// reads the low 3 bits of `k` in each of four registers of 8 entries,
/// and bits 3 and 4 pick one of the four by two sign-bit blends.
/// (Gathers gave the same numbers but ran slower on Zen 4.)
#[inline]
#[target_feature(enable = "avx2")]
fn look(t: &[f32; 32], k: __m256i) -> __m256 {
    let bit3 = _mm256_castsi256_ps(_mm256_slli_epi32(k, 28));
    let bit4 = _mm256_castsi256_ps(_mm256_slli_epi32(k, 27));
    // SAFETY: `t` holds 32 floats; four loads of 8.
    let q: [__m256; 4] = std::array::from_fn(|i| unsafe { _mm256_loadu_ps(t.as_ptr().add(8 * i)) });
    let p = q.map(|q| _mm256_permutevar8x32_ps(q, k));
    _mm256_blendv_ps(
        _mm256_blendv_ps(p[0], p[1], bit3),
        _mm256_blendv_ps(p[2], p[3], bit3),
        bit4,
    )
}

/// See [`super::gauss::m2_ln`].
#[inline]
#[target_feature(enable = "avx2")]
fn m2_ln(v: __m256) -> __m256 {
    let bits = _mm256_castps_si256(v);
    // Exponent, one more when the mantissa's top bit is set (m >= 1.5).
    let e = _mm256_cvtepi32_ps(_mm256_sub_epi32(
        _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(1 << 22)), 23),
        _mm256_set1_epi32(EXP_BIAS),
    ));
    let m = _mm256_castsi256_ps(_mm256_or_si256(
        _mm256_and_si256(bits, _mm256_set1_epi32(0x007f_ffff)),
        _mm256_set1_epi32(0x3f80_0000),
    ));
    let k = _mm256_srli_epi32(bits, 18);
    let s = _mm256_mul_ps(_mm256_sub_ps(m, look(&LN_CENTRE, k)), look(&LN_INV_M2, k));
    let series = _mm256_add_ps(s, _mm256_mul_ps(_mm256_mul_ps(s, s), poly(s, LOG1P_C)));
    let t = _mm256_add_ps(look(&LN_OF_CENTRE_M2, k), series);
    _mm256_add_ps(_mm256_mul_ps(e, _mm256_set1_ps(M2_LN2)), t)
}

/// `scale (r cos theta, r sin theta)` of the 8 pairs whose radius words
/// are the 32-bit lanes of `w` and angle words those of `a` (see
/// [`super::gauss::pair`]).
#[inline]
#[target_feature(enable = "avx2")]
fn pairs(w: __m256i, a: __m256i, sc: __m256) -> (__m256, __m256) {
    let v = _mm256_cvtepi32_ps(_mm256_or_si256(
        _mm256_srli_epi32(w, 1),
        _mm256_set1_epi32(1),
    ));
    let r = _mm256_mul_ps(_mm256_sqrt_ps(m2_ln(v)), sc);
    let b = _mm256_add_epi32(a, _mm256_set1_epi32(1 << 26));
    let res = _mm256_sub_epi32(
        _mm256_and_si256(b, _mm256_set1_epi32(0x07ff_ffff)),
        _mm256_set1_epi32(1 << 26),
    );
    let x = _mm256_mul_ps(_mm256_cvtepi32_ps(res), _mm256_set1_ps(ANGLE_STEP));
    let z = _mm256_mul_ps(x, x);
    let s = _mm256_add_ps(x, _mm256_mul_ps(_mm256_mul_ps(x, z), poly(z, SIN_C)));
    let c = _mm256_add_ps(_mm256_set1_ps(1.0), _mm256_mul_ps(z, poly(z, COS_C)));
    // Sector j = b >> 27 = 8 q + i: the first quadrant's cos and sin of
    // sector i (`permutevar8x32` reads the low 3 bits), then q quarter
    // turns: bit 3 of j maps (cos, sin) to (-sin, cos), bit 4 negates both.
    // The same bits as the 32-entry tables, which are built this way.
    let j = _mm256_srli_epi32(b, 27);
    // SAFETY: each table holds 32 floats; loads of the first 8.
    let (c0, s0) = unsafe {
        (
            _mm256_permutevar8x32_ps(_mm256_loadu_ps(COS_TURN.as_ptr()), j),
            _mm256_permutevar8x32_ps(_mm256_loadu_ps(SIN_TURN.as_ptr()), j),
        )
    };
    let sign = _mm256_set1_ps(-0.0);
    let quarter = _mm256_castsi256_ps(_mm256_slli_epi32(j, 28));
    let half = _mm256_and_ps(_mm256_castsi256_ps(_mm256_slli_epi32(j, 27)), sign);
    let ct = _mm256_blendv_ps(c0, _mm256_xor_ps(s0, sign), quarter);
    let st = _mm256_blendv_ps(s0, c0, quarter);
    let rc = _mm256_mul_ps(r, _mm256_xor_ps(ct, half));
    let rs = _mm256_mul_ps(r, _mm256_xor_ps(st, half));
    (
        _mm256_sub_ps(_mm256_mul_ps(rc, c), _mm256_mul_ps(rs, s)),
        _mm256_add_ps(_mm256_mul_ps(rs, c), _mm256_mul_ps(rc, s)),
    )
}

/// One block from its four counter vectors (draws 0..4, 4..8, 8..12,
/// 12..16): the 32 outputs in order.
#[inline]
#[target_feature(enable = "avx2")]
fn block(c: [__m256i; 4], sc: __m256) -> [__m256; 4] {
    let z = c.map(|c| mix(c));
    // Half h: radius words from draws 4h..4h + 4, angle words from draws
    // 8 + 4h..; its cosines are outputs 8h.., its sines 16 + 8h...
    let (c0, s0) = pairs(z[0], z[2], sc);
    let (c1, s1) = pairs(z[1], z[3], sc);
    [c0, c1, s0, s1]
}

/// See [`super::gauss::add_keyed`].
#[target_feature(enable = "avx2")]
pub fn add(key: u64, scale: f32, out: &mut [f32]) {
    let k = key as i64;
    let g = |j: i64| k.wrapping_add((GAMMA as i64).wrapping_mul(j + 1));
    let mut cs: [__m256i; 4] = std::array::from_fn(|q| {
        let j = 4 * q as i64;
        _mm256_setr_epi64x(g(j), g(j + 1), g(j + 2), g(j + 3))
    });
    let step = _mm256_set1_epi64x((GAMMA as i64).wrapping_mul(PAIRS as i64));
    let sc = _mm256_set1_ps(scale);
    let mut blocks = out.chunks_exact_mut(BLOCK);
    for o in &mut blocks {
        let g = block(cs, sc);
        cs = cs.map(|c| _mm256_add_epi64(c, step));
        for (q, g) in g.into_iter().enumerate() {
            // SAFETY: the block holds 32 floats.
            unsafe {
                let p = o.as_mut_ptr().add(8 * q);
                _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), g));
            }
        }
    }
    let rest = blocks.into_remainder();
    if !rest.is_empty() {
        let mut g = [0.0f32; BLOCK];
        for (q, v) in block(cs, sc).into_iter().enumerate() {
            // SAFETY: `g` holds 32 floats.
            unsafe { _mm256_storeu_ps(g.as_mut_ptr().add(8 * q), v) };
        }
        for (o, g) in rest.iter_mut().zip(g) {
            *o += g;
        }
    }
}
