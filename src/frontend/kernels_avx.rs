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
    __m256, _mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps,
    _mm256_storeu_ps, _mm256_sub_ps,
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
