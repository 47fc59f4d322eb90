//! AVX-512 form of [`super::gauss`]: one block (16 Box-Muller pairs, 32
//! normals) per step, pair `l` in lane `l`.
//!
//! Why a third path: with 16 lanes and a native 64-bit multiply
//! (`vpmullq`), a step costs about a third of the AVX2 path's instructions
//! per normal (SplitMix64's multiplies are three 32-bit multiplies each on
//! AVX2), and the 32-entry tables are one `vpermt2ps` each. Same numbers
//! as the scalar path, bit for bit, for the same reasons as
//! [`super::gauss_avx`]: the same IEEE operations in the same order, no
//! FMA, masked loads and stores instead of scalar tails.
//!
//! Why four steps per iteration: a step is one long dependency chain
//! (SplitMix64 multiplies, the `ln` polynomial, `sqrt`, the rotation) so
//! out-of-order execution alone overlaps only about two steps; with four
//! written into one iteration (and unmasked loads and stores while 128
//! floats remain) their chains interleave (1.15x faster on AMD Zen 4 for
//! the previous form of the step).

use std::arch::x86_64::{
    __m512, __m512i, __mmask16, _mm512_add_epi32, _mm512_add_epi64, _mm512_add_ps,
    _mm512_and_si512, _mm512_castps_si512, _mm512_castsi512_ps, _mm512_cvtepi32_ps,
    _mm512_loadu_ps, _mm512_mask_loadu_ps, _mm512_mask_storeu_ps, _mm512_mul_ps,
    _mm512_mullo_epi64, _mm512_or_si512, _mm512_permutex2var_ps, _mm512_set1_epi32,
    _mm512_set1_epi64, _mm512_set1_ps, _mm512_setr_epi64, _mm512_sqrt_ps, _mm512_srli_epi32,
    _mm512_srli_epi64, _mm512_storeu_ps, _mm512_sub_epi32, _mm512_sub_ps, _mm512_xor_si512,
};

use super::gauss::{
    ANGLE_STEP, BLOCK, COS_C, EXP_TERM, GAMMA, LOG1P_C, MIX1, MIX2, PAIRS, SIN_C, SIN_TURN,
};
use super::gauss_ln_table::{COS_TURN, LN_CENTRE, LN_INV_M2, LN_OF_CENTRE_M2};

/// Steps interleaved per iteration of the main loop.
const UNROLL: usize = 4;

/// SplitMix64's finaliser on 8 lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn mix(z: __m512i) -> __m512i {
    let m1 = _mm512_set1_epi64(MIX1 as i64);
    let m2 = _mm512_set1_epi64(MIX2 as i64);
    let z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), m1);
    let z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), m2);
    _mm512_xor_si512(z, _mm512_srli_epi64(z, 31))
}

/// Horner's rule `c0 + z (c1 + z (...))`, as the scalar code.
#[inline]
#[target_feature(enable = "avx512f")]
fn poly<const N: usize>(z: __m512, c: [f32; N]) -> __m512 {
    let mut p = _mm512_set1_ps(c[N - 1]);
    for &ci in c[..N - 1].iter().rev() {
        p = _mm512_add_ps(_mm512_set1_ps(ci), _mm512_mul_ps(z, p));
    }
    p
}

/// Entry `k mod 32` of a 32-float table, per lane (`vpermt2ps`).
#[inline]
#[target_feature(enable = "avx512f")]
fn look(t: &[f32; 32], k: __m512i) -> __m512 {
    // SAFETY: `t` holds 32 floats; two loads of 16.
    unsafe {
        _mm512_permutex2var_ps(
            _mm512_loadu_ps(t.as_ptr()),
            k,
            _mm512_loadu_ps(t.as_ptr().add(16)),
        )
    }
}

/// See [`super::gauss::m2_ln`].
#[inline]
#[target_feature(enable = "avx512f")]
fn m2_ln(v: __m512) -> __m512 {
    let bits = _mm512_castps_si512(v);
    // Exponent, one more when the mantissa's top bit is set (m >= 1.5).
    // Its term `E (-2 ln 2)` from a table on the exponent's low 5 bits.
    let e = _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(1 << 22)), 23);
    let m = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_and_si512(bits, _mm512_set1_epi32(0x007f_ffff)),
        _mm512_set1_epi32(0x3f80_0000),
    ));
    let k = _mm512_srli_epi32(bits, 18);
    let s = _mm512_mul_ps(_mm512_sub_ps(m, look(&LN_CENTRE, k)), look(&LN_INV_M2, k));
    let series = _mm512_add_ps(s, _mm512_mul_ps(_mm512_mul_ps(s, s), poly(s, LOG1P_C)));
    let t = _mm512_add_ps(look(&LN_OF_CENTRE_M2, k), series);
    _mm512_add_ps(look(&EXP_TERM, e), t)
}

/// `scale (r cos theta, r sin theta)` of the 16 pairs whose radius words
/// are the 32-bit lanes of `w` and angle words those of `a` (see
/// [`super::gauss::pair`]).
#[inline]
#[target_feature(enable = "avx512f")]
fn pairs(w: __m512i, a: __m512i, sc: __m512) -> (__m512, __m512) {
    let v = _mm512_cvtepi32_ps(_mm512_or_si512(
        _mm512_srli_epi32(w, 1),
        _mm512_set1_epi32(1),
    ));
    let r = _mm512_mul_ps(_mm512_sqrt_ps(m2_ln(v)), sc);
    let b = _mm512_add_epi32(a, _mm512_set1_epi32(1 << 26));
    let res = _mm512_sub_epi32(
        _mm512_and_si512(b, _mm512_set1_epi32(0x07ff_ffff)),
        _mm512_set1_epi32(1 << 26),
    );
    let x = _mm512_mul_ps(_mm512_cvtepi32_ps(res), _mm512_set1_ps(ANGLE_STEP));
    let z = _mm512_mul_ps(x, x);
    let s = _mm512_add_ps(x, _mm512_mul_ps(_mm512_mul_ps(x, z), poly(z, SIN_C)));
    let c = _mm512_add_ps(_mm512_set1_ps(1.0), _mm512_mul_ps(z, poly(z, COS_C)));
    let j = _mm512_srli_epi32(b, 27);
    let rc = _mm512_mul_ps(r, look(&COS_TURN, j));
    let rs = _mm512_mul_ps(r, look(&SIN_TURN, j));
    (
        _mm512_sub_ps(_mm512_mul_ps(rc, c), _mm512_mul_ps(rs, s)),
        _mm512_add_ps(_mm512_mul_ps(rs, c), _mm512_mul_ps(rc, s)),
    )
}

/// `o += g` for the first `n` (<= 16) floats at `p`.
///
/// # Safety
/// `p` must be valid for reads and writes of `n` floats.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn add_to(p: *mut f32, n: usize, g: __m512) {
    let k: __mmask16 = if n >= 16 { !0 } else { (1u16 << n) - 1 };
    // SAFETY: the caller guarantees the first `n` floats; masked-off lanes
    // are neither read nor written.
    unsafe {
        let v = _mm512_add_ps(_mm512_mask_loadu_ps(g, k, p), g);
        _mm512_mask_storeu_ps(p, k, v);
    }
}

/// See [`super::gauss::add_keyed`].
#[target_feature(enable = "avx512f,avx512dq")]
pub fn add(key: u64, scale: f32, out: &mut [f32]) {
    // Counters of a step: `cs[2u]` holds draws 0..8 of step u (the
    // radius words), `cs[2u + 1]` draws 8..16 (the angle words).
    let k = key as i64;
    let g = |j: i64| k.wrapping_add((GAMMA as i64).wrapping_mul(j + 1));
    let ca = _mm512_setr_epi64(g(0), g(1), g(2), g(3), g(4), g(5), g(6), g(7));
    let cb = _mm512_setr_epi64(g(8), g(9), g(10), g(11), g(12), g(13), g(14), g(15));
    let sc = _mm512_set1_ps(scale);
    let n = out.len();
    let p = out.as_mut_ptr();
    let mut i = 0;
    let mut cs: [__m512i; 2 * UNROLL] = [ca; 2 * UNROLL];
    for u in 0..UNROLL {
        let off = _mm512_set1_epi64((GAMMA as i64).wrapping_mul((PAIRS * u) as i64));
        cs[2 * u] = _mm512_add_epi64(ca, off);
        cs[2 * u + 1] = _mm512_add_epi64(cb, off);
    }
    // UNROLL steps per iteration while enough floats remain: their
    // dependency chains interleave.
    let stepn = _mm512_set1_epi64((GAMMA as i64).wrapping_mul((PAIRS * UNROLL) as i64));
    // (Plain loops, not `map` or `from_fn`: their closures were compiled
    // as calls without the AVX-512 target features.)
    while n - i >= UNROLL * BLOCK {
        let mut z = cs;
        for z in &mut z {
            *z = mix(*z);
        }
        for c in &mut cs {
            *c = _mm512_add_epi64(*c, stepn);
        }
        for u in 0..UNROLL {
            let (gc, gs) = pairs(z[2 * u], z[2 * u + 1], sc);
            for (h, v) in [(0, gc), (PAIRS, gs)] {
                // SAFETY: floats `i .. i + BLOCK UNROLL` of `out` exist.
                unsafe {
                    let o = p.add(i + BLOCK * u + h);
                    _mm512_storeu_ps(o, _mm512_add_ps(_mm512_loadu_ps(o), v));
                }
            }
        }
        i += UNROLL * BLOCK;
    }
    // The rest, one step at a time, from the next unused counters.
    let step = _mm512_set1_epi64((GAMMA as i64).wrapping_mul(PAIRS as i64));
    let (mut ca, mut cb) = (cs[0], cs[1]);
    while i < n {
        let (gc, gs) = pairs(mix(ca), mix(cb), sc);
        ca = _mm512_add_epi64(ca, step);
        cb = _mm512_add_epi64(cb, step);
        // SAFETY: `i < n`; each call touches at most `n - i` (resp. `n - i
        // - 16`) floats from `p + i` (resp. `p + i + 16`).
        unsafe {
            add_to(p.add(i), n - i, gc);
            if n - i > PAIRS {
                add_to(p.add(i + PAIRS), n - i - PAIRS, gs);
            }
        }
        i += BLOCK;
    }
}
