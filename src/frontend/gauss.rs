//! Gaussian dither noise: a block Box-Muller generator of standard normal
//! `f32`s.
//!
//! Kaldi dithers every frame sample independently, so with overlapping
//! frames the dither needs ~2.5 normal draws per input sample. Drawn one at
//! a time from `rand_distr::StandardNormal` (an f64 ziggurat) that cost
//! ~2.7 ns per draw, more than the whole rest of the Kaldi MFCC chain. This
//! module fills a frame's worth of normals at once, 8 (AVX2) or 16
//! (AVX-512) Box-Muller pairs wide.
//!
//! # The numbers
//! Each frame draws **one** `u64` key from the caller's [`Rng`]; draw `j`
//! of the frame is the 64 bits `z_j = mix(key + (j + 1) GAMMA)`, output
//! `j` of a SplitMix64 generator seeded with the key (Steele, Lea & Flood
//! 2014, the seeding generator of the xoshiro family; counter-based, so
//! the lanes compute in parallel). Frames stay independent and in frame
//! order, so streaming and whole-signal extraction give the same numbers.
//!
//! Block `i` (32 outputs, 16 pairs) uses draws `16i .. 16i + 16`, read as
//! 32-bit words in little-endian order, as a 512-bit register holds them:
//! pair `l` takes its radius word `w` from word `l` of draws `16i .. 16i +
//! 8` and its angle word `a` from word `l` of draws `16i + 8 .. 16i + 16`.
//! Output `32i + l` is `r cos theta` of pair `l` and `32i + 16 + l` its
//! `r sin theta`. A frame length that is not a multiple of 32 discards the
//! rest of its last block.
//! - radius `r = sqrt(-2 ln u)`, `u = v 2^-31`, `v = 2 floor(w/4) + 1`
//!   rounded to f32 (so `u` is in `[2^-31, 1]`, never 0): the largest
//!   radius is `sqrt(62 ln 2) = 6.555`, and a standard normal exceeds it
//!   with probability 5.6e-11 (the only truncation of the distribution);
//! - angle `theta = 2 pi a 2^-32`, as one of 32 sectors `j` (the top 5
//!   bits of `a + 2^26`) plus a residual `x` in `[-pi/32, pi/32)`;
//! - `r cos theta = (r C_j) cos x - (r S_j) sin x` and `r sin theta = (r
//!   S_j) cos x + (r C_j) sin x`, with the sector's cosine and sine `C_j`,
//!   `S_j` from a table and `sin x`, `cos x` by Taylor series to `x^5` and
//!   `x^4` (truncation < 2e-11 and 1.2e-9: the short sector makes these
//!   two short). The dither scale multiplies `r` before the rotation.
//!
//! `-2 ln u = E (-2 ln 2) - 2 ln c_k - 2 log1p(r)` (`m2_ln`): `u`'s
//! exponent `E`, the top 5 mantissa bits pick one of 32 intervals of `[1,
//! 2)` with centre `c_k` (midpoints, and 1 and 2 at the ends), `s = (m -
//! c_k)(-2/c_k)` with `|s| <= 1/16`, and `-2 log1p` by its series in `s`
//! to `s^4` (truncation < 1.3e-8 absolute where `|E| >= 1`, < 1.2e-8
//! relative near `u = 1`). The `-2` is folded into the tables
//! (`gauss_ln_table`, made by `tools/ln_table.py`; scaling by -2
//! is exact), and intervals from `m = 1.5` fold to `m/2`, `E + 1`, so that
//! near `u = 1` the table term is 0 and the result keeps its relative
//! precision. The tables are read with register permutes (AVX-512:
//! `vpermt2ps`, 32 entries in two registers, also for `E (-2 ln 2)` and
//! the sectors; AVX2: four `vpermps` and three blends per `ln` table, and
//! the sectors from the first quadrant's 8 entries by a quarter-turn
//! rotation).
//!
//! Tests: `-2 ln u` within 2 ulp of f64 over the whole range and on every
//! 16th mantissa of two binades, the sector series within 2^-24, each pair
//! within 4 ulp of `r` of its f64 polar form; the draws' moments, a
//! Kolmogorov-Smirnov distance, a chi-square over bins out to 4.5 sigma;
//! serial correlations (lags 1-4 within frames, across frame boundaries,
//! same positions of consecutive frames, and of the squares, which a
//! shared radius would show) and each frame's sum of squares against
//! chi-square(400) (mean, variance, both 1 % tails), which a generator
//! mixing a fixed pool of normals (Wallace's method without its
//! correction) fails.
//!
//! # Same numbers on every CPU
//! The AVX-512 path (`gauss_avx512`), the AVX2 path
//! (`gauss_avx`), picked at run time, and the scalar path do the
//! same IEEE operations in the same order: no FMA, integer-to-float
//! conversions rounding to nearest even on all three, IEEE `sqrt`, the
//! same table entries (`E (-2 ln 2)` is tabled as the f32 product the
//! AVX2 path computes, and the sector table is built by the quarter-turn
//! symmetry the AVX2 path applies to the first quadrant), and selects instead of branches. The tests
//! compare them bit for bit.
//!
//! # Speed
//! On AMD Zen 4 (512-bit operations double-pumped on four 256-bit pipes)
//! the step is bound by the number of vector operations, not by latency
//! or one unit: without `sqrt` it ran 2 % faster, without SplitMix64's
//! multiplies 10 %. So this form cuts operations: the earlier step
//! (quarter turn by blends, `sin`/`cos` series to `x^9`/`x^10` on the
//! octant, `ln` with a two-part `ln 2` and a separate `* -2`, a
//! permute pair to split each draw into radius and angle halves, the
//! scale applied to each output) took ~100 vector operations per 32
//! normals; this one ~75 (sector table and short series, tabled
//! exponent term, `-2` in the tables, words used where they lie, scale
//! on the radius). The AVX-512 loop also writes four steps per iteration
//! without closures (`map`/`from_fn` closures there were compiled as
//! calls without the AVX-512 features). Timings, and the variants tried
//! and dropped (a vectorised ziggurat, Estrin's scheme, tail-first order),
//! are in `docs/performance.md`.

use rand::Rng as _;

use super::gauss_ln_table::{COS_TURN, LN_CENTRE, LN_INV_M2, LN_OF_CENTRE_M2};
use crate::nn::Rng;

/// Normals per block: 16 Box-Muller pairs from 16 SplitMix64 outputs.
pub const BLOCK: usize = 32;
/// Pairs per block (one per AVX-512 lane).
pub(super) const PAIRS: usize = BLOCK / 2;

/// SplitMix64's increment (2^64 / golden ratio, odd).
pub(super) const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
/// SplitMix64's two finaliser multipliers.
pub(super) const MIX1: u64 = 0xbf58_476d_1ce4_e5b9;
pub(super) const MIX2: u64 = 0x94d0_49bb_1331_11eb;

/// The biased f32 exponent of `v = u 2^31` less this is the exponent of
/// `u` (127 + 31).
pub(super) const EXP_BIAS: i32 = 158;
/// `-2 ln 2`, rounded.
pub(super) const M2_LN2: f32 = (-2.0 * std::f64::consts::LN_2) as f32;
/// `E (-2 ln 2)` for the 32 exponents `E = -31 ..= 0` of `u`, at index
/// `(E + 158) mod 32` (the low 5 bits of `v`'s biased exponent): the
/// products as f32 arithmetic rounds them, so that a table lookup (the
/// AVX-512 path) and the multiply (the others) give the same bits.
pub(super) const EXP_TERM: [f32; 32] = {
    let mut t = [0.0f32; 32];
    let mut i = 0;
    while i < 32 {
        let biased = if i == 31 { 127 } else { 128 + i as i32 };
        t[i] = (biased - EXP_BIAS) as f32 * M2_LN2;
        i += 1;
    }
    t
};
/// With `s = -2 r`: `(-2 log1p(r) - s) / s^2 = 1/4 + s/12 + s^2/32 +
/// ...`, truncated (powers of two times `log1p`'s `1/n`).
pub(super) const LOG1P_C: [f32; 3] = [0.25, 1.0 / 12.0, 1.0 / 32.0];
/// `sin(2 pi j / 32)`: [`COS_TURN`] a quarter turn back.
pub(super) const SIN_TURN: [f32; 32] = {
    let mut t = [0.0f32; 32];
    let mut j = 0;
    while j < 32 {
        t[j] = COS_TURN[(j + 24) % 32];
        j += 1;
    }
    t
};
/// Taylor coefficients of `(sin x - x)/x^3` in `z = x^2`, to `x^5`.
pub(super) const SIN_C: [f32; 2] = [-1.0 / 6.0, 1.0 / 120.0];
/// Taylor coefficients of `(cos x - 1)/x^2` in `z = x^2`, to `x^4`.
pub(super) const COS_C: [f32; 2] = [-0.5, 1.0 / 24.0];
/// A full turn is `2^32` steps of the 32-bit angle: radians per step.
pub(super) const ANGLE_STEP: f32 = (std::f64::consts::TAU / 4_294_967_296.0) as f32;

/// SplitMix64's finaliser.
#[inline(always)]
fn mix(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(MIX1);
    let z = (z ^ (z >> 27)).wrapping_mul(MIX2);
    z ^ (z >> 31)
}

/// `-2 ln(v 2^-31)` for `v` in `[1, 2^31]`, without a division: `v =
/// 2^(E + 31) m` with `m` in `[1, 2)` in one of 32 intervals `k` (the top
/// 5 mantissa bits) with centre `c_k` (`gauss_ln_table`), and
/// `-2 ln m = -2 ln c_k - 2 log1p(r)` with `r = (m - c_k) / c_k`. The
/// series runs in `s = -2 r`, computed as `(m - c_k) (-2/c_k)` (the
/// difference is exact; `|s| <= 1/32`, `1/16` for `k = 0`): `-2 log1p(r)
/// = s + s^2 (1/4 + s/12 + s^2/32)`, truncated after `s^4` (the next term,
/// `s^5/80`, is < 1.3e-8 absolute, and < 1.2e-8 relative near `u = 1`).
/// Intervals from `m = 1.5` are folded to `m/2` with `E + 1`, so that near
/// `u = 1` (`E = 0`, `k = 31`, `c_k = 2`) the table term is 0 and the
/// result keeps its relative precision. `E (-2 ln 2)` is [`EXP_TERM`].
#[inline(always)]
pub(super) fn m2_ln(v: f32) -> f32 {
    let bits = v.to_bits();
    let exp_term = EXP_TERM[(bits.wrapping_add(1 << 22) >> 23) as usize & 31];
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let k = ((bits >> 18) & 31) as usize;
    let s = (m - LN_CENTRE[k]) * LN_INV_M2[k];
    let p = LOG1P_C[0] + s * (LOG1P_C[1] + s * LOG1P_C[2]);
    exp_term + (LN_OF_CENTRE_M2[k] + (s + (s * s) * p))
}

/// The angle of a 32-bit word `a` (`theta = 2 pi a 2^-32`) as sector `j
/// = round(32 theta / 2 pi) mod 32` and `(sin x, cos x)` of the residual
/// `x = theta - 2 pi j / 32` in `[-pi/32, pi/32)`, by Taylor series to
/// `x^5` and `x^4` (truncation errors < 2e-11 and 1.2e-9).
#[inline(always)]
pub(super) fn sector(a: u32) -> (usize, f32, f32) {
    let b = a.wrapping_add(1 << 26);
    let x = ((b & 0x07ff_ffff) as i32 - (1 << 26)) as f32 * ANGLE_STEP;
    let z = x * x;
    let s = x + (x * z) * (SIN_C[0] + z * SIN_C[1]);
    let c = 1.0 + z * (COS_C[0] + z * COS_C[1]);
    ((b >> 27) as usize, s, c)
}

/// `scale (r cos theta, r sin theta)` of the radius word `w` and the
/// angle word `a`: `r = sqrt(-2 ln u)`, `u = (2 floor(w/4) + 1) 2^-31`,
/// and `theta` as in [`sector`], rotated from the sector's tabled cosine
/// and sine.
#[inline(always)]
pub(super) fn pair(w: u32, a: u32, scale: f32) -> (f32, f32) {
    let v = ((w >> 1) | 1) as i32 as f32;
    let r = m2_ln(v).sqrt() * scale;
    let (j, s, c) = sector(a);
    let rc = r * COS_TURN[j];
    let rs = r * SIN_TURN[j];
    (rc * c - rs * s, rs * c + rc * s)
}

/// The counter of draw `j` of the stream keyed by `key`.
#[inline(always)]
fn counter(key: u64, j: u64) -> u64 {
    key.wrapping_add(GAMMA.wrapping_mul(j + 1))
}

/// `scale` times block `i` of the stream keyed by `key` (see the module
/// docs).
pub(super) fn block_portable(key: u64, i: u64, scale: f32) -> [f32; BLOCK] {
    let z: [u64; PAIRS] = std::array::from_fn(|d| mix(counter(key, PAIRS as u64 * i + d as u64)));
    // Little-endian 32-bit words, as the SIMD paths view their lanes.
    let word = |z: &[u64], l: usize| (z[l / 2] >> (32 * (l % 2))) as u32;
    let mut out = [0.0; BLOCK];
    for l in 0..PAIRS {
        let (c, s) = pair(word(&z[..8], l), word(&z[8..], l), scale);
        out[l] = c;
        out[PAIRS + l] = s;
    }
    out
}

/// `out_i += scale g_i` with the normals `g` of the stream keyed by `key`.
fn add_portable(key: u64, scale: f32, out: &mut [f32]) {
    for (i, o) in out.chunks_mut(BLOCK).enumerate() {
        let g = block_portable(key, i as u64, scale);
        for (o, g) in o.iter_mut().zip(g) {
            *o += g;
        }
    }
}

/// `out_i += scale g_i` with the normals of the stream keyed by `key`:
/// the AVX-512 kernel when the CPU has AVX-512 F and DQ, else the AVX2
/// one when it has AVX2, else the scalar one (same numbers on all three).
pub fn add_keyed(key: u64, scale: f32, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512dq")
    {
        // SAFETY: the CPU supports AVX-512 F and DQ (checked just above).
        unsafe { super::gauss_avx512::add(key, scale, out) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        unsafe { super::gauss_avx::add(key, scale, out) };
        return;
    }
    add_portable(key, scale, out);
}

/// Adds `scale` times independent standard normal draws to each element
/// of `out`, in order, drawing one `u64` key from `rng` (see the module
/// docs for the stream).
pub fn add_normals(rng: &mut Rng, scale: f32, out: &mut [f32]) {
    add_keyed(rng.next_u64(), scale, out);
}

#[cfg(test)]
#[path = "gauss_tests.rs"]
mod tests;
