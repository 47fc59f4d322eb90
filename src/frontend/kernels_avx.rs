//! AVX versions of the [`super::kernels`] reductions, picked at run time.
//!
//! Why: inlined into the per-frame loop, the portable kernels' 32 partial
//! sums did not survive LLVM's vectoriser (callgrind on the 600 s CLI run
//! showed `scale_into` and `sum_sq_centred` compiled to scalar multiplies
//! with the partial sums spilled to the stack, about 2 instructions per
//! sample each). Written with intrinsics they are 8 lanes wide for sure.
//!
//! Same numbers as the portable code, bit for bit: partial sum `j` of the
//! portable kernel is lane `j % 8` of register `j / 8` here, every lane
//! sees the same multiplies and adds in the same order (no FMA), the
//! pairwise reduction tree is the same (registers added first, then the
//! last 8 lanes through the portable tree), and the tails are the same
//! scalar code.

use std::arch::x86_64::{
    __m256, _mm256_add_ps, _mm256_cmpgt_epi32, _mm256_hadd_ps, _mm256_loadu_ps, _mm256_maskload_ps,
    _mm256_mul_ps, _mm256_permute2f128_ps, _mm256_set1_epi32, _mm256_set1_ps, _mm256_setr_epi32,
    _mm256_setzero_ps, _mm256_shuffle_ps, _mm256_storeu_ps, _mm256_sub_ps, _mm256_unpackhi_ps,
    _mm256_unpacklo_ps,
};

use super::kernels::{reduce, sequential_dot};

/// The last step shared by all: 8 lanes through the portable tree.
#[inline]
#[target_feature(enable = "avx")]
fn lanes(a: __m256) -> f32 {
    let mut acc = [0.0f32; 8];
    // SAFETY: `acc` holds 8 floats.
    unsafe { _mm256_storeu_ps(acc.as_mut_ptr(), a) };
    reduce(acc)
}

/// Four registers = the portable kernels' 32 partial sums, reduced as the
/// portable tree does: `j += j + 16`, then `j += j + 8`, then 8 lanes.
#[inline]
#[target_feature(enable = "avx")]
fn reduce32(a: [__m256; 4]) -> f32 {
    let lo = _mm256_add_ps(a[0], a[2]);
    let hi = _mm256_add_ps(a[1], a[3]);
    lanes(_mm256_add_ps(lo, hi))
}

/// See [`super::kernels::dot`].
#[target_feature(enable = "avx")]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = sequential_dot(ca.remainder(), cb.remainder());
    let mut acc = _mm256_setzero_ps();
    for (x, y) in ca.zip(cb) {
        // SAFETY: each chunk holds 8 floats.
        let (x, y) = unsafe { (_mm256_loadu_ps(x.as_ptr()), _mm256_loadu_ps(y.as_ptr())) };
        acc = _mm256_add_ps(acc, _mm256_mul_ps(x, y));
    }
    lanes(acc) + tail
}

/// Bands reduced together by [`dots`] (one register of results).
const GROUP: usize = 8;

/// See [`super::kernels::dots`]. Bit for bit [`dot`] on each band (for
/// non-negative inputs, see below): the same 8-lane accumulator over whole
/// chunks of 8, the same pairwise tree, the same in-order sum of the last
/// `len % 8` products added last. What changes is how: the trees of
/// [`GROUP`] bands run together as vector adds on shuffled registers, and
/// each band's tail products come from one masked 8-wide load and
/// multiply (zeros past the tail), are transposed across the group and
/// summed in order as 8 vertical adds. In callgrind and perf the scalar
/// trees and the branchy scalar tails (a length-dependent jump per band)
/// were most of the mel stage. Adding the zero products of the padding
/// leaves each tail sum unchanged; the only difference from
/// `sequential_dot` is the sign of an empty tail (+0, not -0), which
/// changes nothing when the band's sum is >= +0 (power spectra and mel
/// weights are non-negative).
#[target_feature(enable = "avx2")]
pub fn dots(x: &[f32], starts: &[usize], offsets: &[usize], weights: &[f32], out: &mut [f32]) {
    let bands = out.len();
    let iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for g in (0..bands).step_by(GROUP) {
        let n = GROUP.min(bands - g);
        // Bands past `n` (last group) are empty: no chunks, no tail.
        let (mut w, mut s) = ([weights.as_ptr(); GROUP], [x.as_ptr(); GROUP]);
        let (mut chunks, mut rest) = ([0usize; GROUP], [0i32; GROUP]);
        for j in 0..n {
            let (lo, hi) = (offsets[g + j], offsets[g + j + 1]);
            let band = &x[starts[g + j]..starts[g + j] + (hi - lo)];
            w[j] = weights[lo..hi].as_ptr();
            s[j] = band.as_ptr();
            chunks[j] = (hi - lo) / 8;
            rest[j] = ((hi - lo) % 8) as i32;
        }
        // Every band runs the group's largest chunk count, chunks past its
        // own masked off (loading nothing, adding +0, which leaves a sum
        // >= +0 unchanged): a fixed trip count and 8 independent
        // accumulators instead of a data-dependent loop per band, whose
        // exits the branch predictor missed.
        let most = chunks.iter().copied().max().unwrap_or(0);
        let mut acc = [_mm256_setzero_ps(); GROUP];
        for k in 0..most {
            for j in 0..GROUP {
                let m = _mm256_set1_epi32(-i32::from(k < chunks[j]));
                // SAFETY: a lane is read only when its mask is set, i.e.
                // `k < chunks[j]`, so `8k + 8 <= len` of band `j`;
                // `wrapping_add` keeps the masked-off addresses defined.
                let p = unsafe {
                    _mm256_mul_ps(
                        _mm256_maskload_ps(w[j].wrapping_add(8 * k), m),
                        _mm256_maskload_ps(s[j].wrapping_add(8 * k), m),
                    )
                };
                acc[j] = _mm256_add_ps(acc[j], p);
            }
        }
        let mut tail = [_mm256_setzero_ps(); GROUP];
        for j in 0..GROUP {
            // Lanes below `len % 8` are the tail; the rest read nothing
            // and give 0.
            let m = _mm256_cmpgt_epi32(_mm256_set1_epi32(rest[j]), iota);
            let at = 8 * chunks[j];
            // SAFETY: the masked loads touch only lanes `< len % 8` past
            // the whole chunks, inside band `j` (none for empty bands).
            tail[j] = unsafe {
                _mm256_mul_ps(
                    _mm256_maskload_ps(w[j].wrapping_add(at), m),
                    _mm256_maskload_ps(s[j].wrapping_add(at), m),
                )
            };
        }
        // Lane j of column k is band j's tail product k: summed in order.
        let cols = transpose(tail);
        let mut t = cols[0];
        for c in &cols[1..] {
            t = _mm256_add_ps(t, *c);
        }
        let r = _mm256_add_ps(trees(acc), t);
        if n == GROUP {
            // SAFETY: `out[g..g + 8]` is in bounds (n == 8).
            unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(g), r) };
        } else {
            let mut all = [0.0f32; GROUP];
            // SAFETY: `all` holds 8 floats.
            unsafe { _mm256_storeu_ps(all.as_mut_ptr(), r) };
            out[g..].copy_from_slice(&all[..n]);
        }
    }
}

/// 8x8 transpose: lane `j` of result `k` is lane `k` of input `j`.
#[inline]
#[target_feature(enable = "avx")]
fn transpose(r: [__m256; GROUP]) -> [__m256; GROUP] {
    let t = [
        _mm256_unpacklo_ps(r[0], r[1]),
        _mm256_unpackhi_ps(r[0], r[1]),
        _mm256_unpacklo_ps(r[2], r[3]),
        _mm256_unpackhi_ps(r[2], r[3]),
        _mm256_unpacklo_ps(r[4], r[5]),
        _mm256_unpackhi_ps(r[4], r[5]),
        _mm256_unpacklo_ps(r[6], r[7]),
        _mm256_unpackhi_ps(r[6], r[7]),
    ];
    let u = [
        _mm256_shuffle_ps::<0x44>(t[0], t[2]),
        _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
        _mm256_shuffle_ps::<0x44>(t[1], t[3]),
        _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
        _mm256_shuffle_ps::<0x44>(t[4], t[6]),
        _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
        _mm256_shuffle_ps::<0x44>(t[5], t[7]),
        _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
    ];
    [
        _mm256_permute2f128_ps::<0x20>(u[0], u[4]),
        _mm256_permute2f128_ps::<0x20>(u[1], u[5]),
        _mm256_permute2f128_ps::<0x20>(u[2], u[6]),
        _mm256_permute2f128_ps::<0x20>(u[3], u[7]),
        _mm256_permute2f128_ps::<0x31>(u[0], u[4]),
        _mm256_permute2f128_ps::<0x31>(u[1], u[5]),
        _mm256_permute2f128_ps::<0x31>(u[2], u[6]),
        _mm256_permute2f128_ps::<0x31>(u[3], u[7]),
    ]
}

/// Lane `j` of the result is the portable tree ([`reduce`]) of register
/// `j`: `((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))`, for 8
/// registers at once. Step 1 (`l_i + l_{i+4}`) adds 128-bit halves of
/// registers `j` and `j + 4` (result: `j` low, `j + 4` high); step 2
/// (`+ 2 lanes`) adds pairs picked by shuffles; step 3 is `hadd`.
#[inline]
#[target_feature(enable = "avx")]
fn trees(a: [__m256; GROUP]) -> __m256 {
    let half = |p: __m256, q: __m256| {
        let lo = _mm256_permute2f128_ps::<0x20>(p, q);
        let hi = _mm256_permute2f128_ps::<0x31>(p, q);
        _mm256_add_ps(lo, hi)
    };
    let (s04, s15, s26, s37) = (
        half(a[0], a[4]),
        half(a[1], a[5]),
        half(a[2], a[6]),
        half(a[3], a[7]),
    );
    // [p0, p1, q0, q1] + [p2, p3, q2, q3] in each 128-bit lane.
    let quarter = |p: __m256, q: __m256| {
        let x = _mm256_shuffle_ps::<0x44>(p, q);
        let y = _mm256_shuffle_ps::<0xEE>(p, q);
        _mm256_add_ps(x, y)
    };
    _mm256_hadd_ps(quarter(s04, s15), quarter(s26, s37))
}

/// See [`super::kernels::sum`].
#[target_feature(enable = "avx")]
pub fn sum(a: &[f32]) -> f32 {
    let c = a.chunks_exact(32);
    let tail: f32 = c.remainder().iter().sum();
    let mut acc = [_mm256_setzero_ps(); 4];
    for x in c {
        for (k, r) in acc.iter_mut().enumerate() {
            // SAFETY: the chunk holds 32 floats.
            let v = unsafe { _mm256_loadu_ps(x.as_ptr().add(8 * k)) };
            *r = _mm256_add_ps(*r, v);
        }
    }
    reduce32(acc) + tail
}

/// See [`super::kernels::scale_into`].
#[target_feature(enable = "avx")]
pub fn scale_into(src: &[f32], scale: f32, dst: &mut [f32]) -> f32 {
    debug_assert_eq!(src.len(), dst.len());
    let mut d = dst.chunks_exact_mut(32);
    let s = src.chunks_exact(32);
    let (sr, mut tail) = (s.remainder(), 0.0f32);
    let sc = _mm256_set1_ps(scale);
    let mut acc = [_mm256_setzero_ps(); 4];
    for (o, x) in (&mut d).zip(s) {
        for (k, r) in acc.iter_mut().enumerate() {
            // SAFETY: both chunks hold 32 floats.
            unsafe {
                let v = _mm256_mul_ps(_mm256_loadu_ps(x.as_ptr().add(8 * k)), sc);
                _mm256_storeu_ps(o.as_mut_ptr().add(8 * k), v);
                *r = _mm256_add_ps(*r, v);
            }
        }
    }
    for (o, &x) in d.into_remainder().iter_mut().zip(sr) {
        *o = x * scale;
        tail += *o;
    }
    reduce32(acc) + tail
}

/// See [`super::kernels::sum_sq_centred`].
#[target_feature(enable = "avx")]
pub fn sum_sq_centred(a: &[f32], m: f32) -> f32 {
    let c = a.chunks_exact(32);
    let tail: f32 = c.remainder().iter().map(|&x| (x - m) * (x - m)).sum();
    let mv = _mm256_set1_ps(m);
    let mut acc = [_mm256_setzero_ps(); 4];
    for x in c {
        for (k, r) in acc.iter_mut().enumerate() {
            // SAFETY: the chunk holds 32 floats.
            let d = _mm256_sub_ps(unsafe { _mm256_loadu_ps(x.as_ptr().add(8 * k)) }, mv);
            *r = _mm256_add_ps(*r, _mm256_mul_ps(d, d));
        }
    }
    reduce32(acc) + tail
}
