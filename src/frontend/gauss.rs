//! Gaussian dither noise: a block Box-Muller generator of standard normal
//! `f32`s.
//!
//! Kaldi dithers every frame sample independently, so with overlapping
//! frames the dither needs ~2.5 normal draws per input sample. Drawn one at
//! a time from `rand_distr::StandardNormal` (an f64 ziggurat) that cost
//! ~2.7 ns per draw, more than the whole rest of the Kaldi MFCC chain. This
//! module fills a frame's worth of normals at once, 8 (AVX2) or 16
//! (AVX-512) lanes wide.
//!
//! # The numbers
//! Each frame draws **one** `u64` key from the caller's [`Rng`]; normal
//! pair `j` of the frame comes from the 64 bits `z_j = mix(key + (j + 1)
//! GAMMA)`, output `j` of a SplitMix64 generator seeded with the key
//! (Steele, Lea & Flood 2014, the seeding generator of the xoshiro family;
//! counter-based, so the lanes compute in parallel). Frames stay independent
//! and in frame order, so streaming and whole-signal extraction give the
//! same numbers, as before.
//!
//! Each `z_j` gives two normals by the Box-Muller transform:
//! - radius `r = sqrt(-2 ln u)`, with `u = k 2^-31 + 2^-32` and `k` the top
//!   31 bits of `z_j` (so `u` is in `[2^-32, 1]`, never 0): the largest
//!   radius is `sqrt(64 ln 2) = 6.66`, and a standard normal exceeds 6.66
//!   with probability 2.7e-11 (the only truncation of the distribution);
//! - angle `theta = 2 pi b 2^-32`, with `b` the low 32 bits of `z_j`, as
//!   a quarter turn `q` (exact, from the top bits of `b + 2^29`) plus a
//!   residual `x` in `[-pi/4, pi/4)`.
//!
//! Block `i` of 16 outputs holds pairs `8i .. 8i + 8`: outputs `16i + l`
//! are `r cos theta` and `16i + 8 + l` are `r sin theta` of pair `8i + l`.
//! A frame length that is not a multiple of 16 discards the rest of its
//! last block.
//!
//! `ln`, `sin` and `cos` are f32 polynomials. `ln u = e ln 2 + ln c_k +
//! log1p(r)`: the top 5 mantissa bits pick one of 32 intervals of `[1, 2)`
//! with centre `c_k` (midpoints, and 1 and 2 at the ends), `r = (m - c_k)
//! (1/c_k)` with `|r| <= 1/32`, `log1p` by its series to `r^5`
//! (truncation < 1.5e-10); the tables ([`super::gauss_ln_table`], made by
//! `tools/ln_table.py`) are looked up with register permutes (AVX-512:
//! `vpermt2ps`, 32 entries in two registers; AVX2: four `vpermps` and two
//! blends, as gathers were slower than the old division there), and
//! intervals from `m = 1.5` fold to `m/2`, `e + 1`, so that near `u = 1`
//! the table term is 0 and `ln u` keeps its relative precision. This
//! replaced a `2 atanh((m - 1)/(m + 1))` series whose division sat in the
//! middle of the step's dependency chain (numbers changed then, so the
//! feature cache's key moved to v3). `sin x` and `cos x` on `|x| <= pi/4`
//! are Taylor series up to `x^9` and `x^10` (truncation errors < 2e-9 and
//! 2e-10, below half an f32 ulp). The tests bound each to 2 ulp against
//! f64 and check the draws' moments, a Kolmogorov-Smirnov distance and a
//! chi-square over bins out to 4.5 sigma.
//!
//! # Same numbers on every CPU
//! The AVX-512 path ([`super::gauss_avx512`]), the AVX2 path
//! ([`super::gauss_avx`]), picked at run time, and the scalar path do the
//! same IEEE operations in the same order: no FMA, integer-to-float
//! conversions rounding to nearest even on all three, IEEE `sqrt`, the
//! same table entries, and selects instead of branches. The tests compare
//! them bit for bit.
//!
//! # Speed
//! ~0.6 ns per normal with AVX-512 on this AMD Zen 4 (512-bit operations
//! double-pumped): a Box-Muller step (32 normals) is ~150 instructions in
//! one long dependency chain (SplitMix64 multiplies, `ln`, `sqrt`), so the
//! AVX-512 loop writes four steps per iteration to let them overlap (the
//! AVX2 loop two: its 16 registers spill with four). A
//! vectorised 64-layer ziggurat was tried and dropped: its fast path
//! alone (~26 instructions per 16 normals, 95 % of draws) cost 11.6 ms
//! per 24 million normals, and finishing the other 5 % (compaction, wedge
//! `exp`, tail) brought it to 28 ms against 17.7 ms for this generator.

use rand::Rng as _;

use super::gauss_ln_table::{LN_CENTRE, LN_INV, LN_OF_CENTRE};
use crate::nn::Rng;

/// Normals per block: 8 pairs, one per AVX2 lane.
pub const BLOCK: usize = 16;

/// SplitMix64's increment (2^64 / golden ratio, odd).
pub(super) const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
/// SplitMix64's two finaliser multipliers.
pub(super) const MIX1: u64 = 0xbf58_476d_1ce4_e5b9;
pub(super) const MIX2: u64 = 0x94d0_49bb_1331_11eb;

/// `2^-31` and `2^-32` (exact in f32).
pub(super) const TWO_M31: f32 = 1.0 / 2_147_483_648.0;
pub(super) const TWO_M32: f32 = 1.0 / 4_294_967_296.0;
/// `ln 2 = LN2_HI + LN2_LO`, `LN2_HI = 355/512` with 9 significant bits
/// so that `e LN2_HI` is exact for every exponent `|e| <= 32` seen here.
pub(super) const LN2_HI: f32 = 355.0 / 512.0;
pub(super) const LN2_LO: f32 = (std::f64::consts::LN_2 - 355.0 / 512.0) as f32;
/// `(log1p(r) - r) / r^2 = -1/2 + r/3 - r^2/4 + r^3/5 - ...`, truncated.
pub(super) const LOG1P_C: [f32; 4] = [-0.5, 1.0 / 3.0, -0.25, 0.2];
/// Taylor coefficients of `(sin x - x)/x^3` in `z = x^2`.
pub(super) const SIN_C: [f32; 4] = [-1.0 / 6.0, 1.0 / 120.0, -1.0 / 5040.0, 1.0 / 362_880.0];
/// Taylor coefficients of `(cos x - 1 + x^2/2)/x^4` in `z = x^2`.
pub(super) const COS_C: [f32; 4] = [1.0 / 24.0, -1.0 / 720.0, 1.0 / 40_320.0, -1.0 / 3_628_800.0];
/// A quarter turn is `2^30` steps of the 32-bit angle: radians per step.
pub(super) const ANGLE_STEP: f32 = (std::f64::consts::FRAC_PI_2 / 1_073_741_824.0) as f32;

/// SplitMix64's finaliser.
#[inline(always)]
fn mix(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(MIX1);
    let z = (z ^ (z >> 27)).wrapping_mul(MIX2);
    z ^ (z >> 31)
}

/// `ln u` for a positive normal `u <= 1`, without a division: `u = 2^e
/// m`, `m` in `[1, 2)` in one of 32 intervals `k` (the top 5 mantissa
/// bits) with centre `c_k` ([`super::gauss_ln_table`]); `ln m = ln c_k +
/// log1p(r)`, `r = (m - c_k) / c_k` computed as `(m - c_k) (1/c_k)` (the
/// difference is exact), `|r| <= 1/32`, `log1p` by its series to `r^5`
/// (truncation < `r^6/6` = 1.5e-10). Intervals from `m = 1.5` are folded
/// to `m/2`, `e + 1`, so that `|ln u|` is never the difference of two
/// large terms: near `u = 1` the table term is 0 (centres 1 and 2).
#[inline(always)]
pub(super) fn ln(u: f32) -> f32 {
    let bits = u.to_bits();
    let e = ((bits.wrapping_add(1 << 22) >> 23) as i32 - 127) as f32;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let k = ((bits >> 18) & 31) as usize;
    let r = (m - LN_CENTRE[k]) * LN_INV[k];
    let p = LOG1P_C[0] + r * (LOG1P_C[1] + r * (LOG1P_C[2] + r * LOG1P_C[3]));
    let ln_m = LN_OF_CENTRE[k] + (r + (r * r) * p);
    (e * LN2_LO + ln_m) + e * LN2_HI
}

/// `(sin x, cos x)` for `|x| <= pi/4`.
#[inline(always)]
pub(super) fn sin_cos(x: f32) -> (f32, f32) {
    let z = x * x;
    let ps = SIN_C[0] + z * (SIN_C[1] + z * (SIN_C[2] + z * SIN_C[3]));
    let pc = COS_C[0] + z * (COS_C[1] + z * (COS_C[2] + z * COS_C[3]));
    (x + (x * z) * ps, (1.0 - 0.5 * z) + (z * z) * pc)
}

/// The two normals `(r cos theta, r sin theta)` of one 64-bit draw.
#[inline(always)]
pub(super) fn pair(z: u64) -> (f32, f32) {
    let k = (z >> 33) as i32;
    let u = k as f32 * TWO_M31 + TWO_M32;
    let r = (ln(u) * -2.0).sqrt();
    let b = (z as u32).wrapping_add(1 << 29);
    let q = b >> 30;
    let x = ((b & 0x3fff_ffff) as i32 - (1 << 29)) as f32 * ANGLE_STEP;
    let (s, c) = sin_cos(x);
    // A quarter turn maps (cos, sin) to (-sin, cos); a half turn negates.
    let (c, s) = if q & 1 == 1 { (-s, c) } else { (c, s) };
    let (c, s) = if q & 2 == 2 { (-c, -s) } else { (c, s) };
    (r * c, r * s)
}

/// The counter of pair `j` of the stream keyed by `key`.
#[inline(always)]
fn counter(key: u64, j: u64) -> u64 {
    key.wrapping_add(GAMMA.wrapping_mul(j + 1))
}

/// Block `i` of the stream keyed by `key` (see the module docs).
fn block_portable(key: u64, i: u64) -> [f32; BLOCK] {
    let mut out = [0.0; BLOCK];
    for l in 0..8 {
        let (c, s) = pair(mix(counter(key, 8 * i + l as u64)));
        out[l] = c;
        out[8 + l] = s;
    }
    out
}

/// `out_i += scale g_i` with the normals `g` of the stream keyed by `key`.
fn add_portable(key: u64, scale: f32, out: &mut [f32]) {
    for (i, o) in out.chunks_mut(BLOCK).enumerate() {
        let g = block_portable(key, i as u64);
        for (o, g) in o.iter_mut().zip(g) {
            *o += scale * g;
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
