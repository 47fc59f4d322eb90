//! Small numeric kernels shared by the stages.
//!
//! Float reductions written as one running sum cannot be vectorised (the
//! compiler must keep the order of the adds), so each costs one add latency
//! per element. These keep independent partial sums: 8 for [`dot`] (mel
//! bands are short), 32 for the frame-long reductions (four AVX registers,
//! so the add latency is hidden); the result differs from a sequential sum
//! only by reassociation round-off, and is the same on every SIMD width.

const LANES: usize = 8;
const WIDE: usize = 32;

/// `sum_i a_i b_i`.
#[inline(always)]
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail = sequential_dot(ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..LANES {
            acc[j] += x[j] * y[j];
        }
    }
    reduce(acc) + tail
}

/// `sum_i a_i`.
#[inline(always)]
fn sum_portable(a: &[f32]) -> f32 {
    let mut acc = [0.0f32; WIDE];
    let c = a.chunks_exact(WIDE);
    let tail: f32 = c.remainder().iter().sum();
    for x in c {
        for j in 0..WIDE {
            acc[j] += x[j];
        }
    }
    reduce(acc) + tail
}

/// `sum_i a_i^2`.
pub fn sum_sq(a: &[f32]) -> f32 {
    dot(a, a)
}

/// True when the AVX kernels can run (asked once; the answer is cached by
/// the standard library, so each call is one load and a branch).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_avx() -> bool {
    std::arch::is_x86_feature_detected!("avx")
}

/// Call the AVX kernel `$name` when the CPU has AVX, else the portable one
/// (same numbers either way, see `kernels_avx`).
macro_rules! dispatch {
    ($name:ident, $portable:ident ($($arg:expr),*)) => {{
        #[cfg(target_arch = "x86_64")]
        if has_avx() {
            // SAFETY: the CPU supports AVX (checked just above).
            return unsafe { super::kernels_avx::$name($($arg),*) };
        }
        $portable($($arg),*)
    }};
}

/// `sum_i a_i b_i` (8 partial sums).
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dispatch!(dot, dot_portable(a, b))
}

/// `sum_i a_i` (32 partial sums).
#[inline(always)]
pub fn sum(a: &[f32]) -> f32 {
    dispatch!(sum, sum_portable(a))
}

/// `dst_i = src_i * scale`, returning `sum_i dst_i` (one pass, 32
/// partial sums).
#[inline(always)]
pub fn scale_into(src: &[f32], scale: f32, dst: &mut [f32]) -> f32 {
    dispatch!(scale_into, scale_into_portable(src, scale, dst))
}

/// `sum_i (a_i - m)^2` (32 partial sums).
#[inline(always)]
pub fn sum_sq_centred(a: &[f32], m: f32) -> f32 {
    dispatch!(sum_sq_centred, sum_sq_centred_portable(a, m))
}

/// `dst_i = src_i * scale`, returning `sum_i dst_i` (one pass).
#[inline(always)]
fn scale_into_portable(src: &[f32], scale: f32, dst: &mut [f32]) -> f32 {
    debug_assert_eq!(src.len(), dst.len());
    let mut acc = [0.0f32; WIDE];
    let mut d = dst.chunks_exact_mut(WIDE);
    let s = src.chunks_exact(WIDE);
    let (sr, mut tail) = (s.remainder(), 0.0f32);
    for (o, x) in (&mut d).zip(s) {
        for j in 0..WIDE {
            o[j] = x[j] * scale;
            acc[j] += o[j];
        }
    }
    for (o, &x) in d.into_remainder().iter_mut().zip(sr) {
        *o = x * scale;
        tail += *o;
    }
    reduce(acc) + tail
}

/// `sum_i (a_i - m)^2`.
#[inline(always)]
fn sum_sq_centred_portable(a: &[f32], m: f32) -> f32 {
    let mut acc = [0.0f32; WIDE];
    let c = a.chunks_exact(WIDE);
    let tail: f32 = c.remainder().iter().map(|&x| (x - m) * (x - m)).sum();
    for x in c {
        for j in 0..WIDE {
            let d = x[j] - m;
            acc[j] += d * d;
        }
    }
    reduce(acc) + tail
}

/// `sum_i a_i b_i` added in order: the tails of the chunked kernels
/// (shared so the AVX and portable kernels round the same way).
#[inline(always)]
pub(super) fn sequential_dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[inline(always)]
pub(super) fn reduce<const N: usize>(mut acc: [f32; N]) -> f32 {
    // Pairwise tree: halves added lane by lane.
    let mut n = N;
    while n > 1 {
        n /= 2;
        for j in 0..n {
            acc[j] += acc[j + n];
        }
    }
    acc[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatched_kernels_equal_the_portable_ones_bit_for_bit() {
        for n in [0usize, 1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 400, 401, 512] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 1e3).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let bits = |x: f32| x.to_bits();
            assert_eq!(bits(dot(&a, &b)), bits(dot_portable(&a, &b)), "dot n={n}");
            assert_eq!(bits(sum(&a)), bits(sum_portable(&a)), "sum n={n}");
            let m = 0.3;
            let c = (sum_sq_centred(&a, m), sum_sq_centred_portable(&a, m));
            assert_eq!(bits(c.0), bits(c.1), "centred n={n}");
            let (mut d1, mut d2) = (vec![0.0; n], vec![0.0; n]);
            let t1 = scale_into(&a, 32768.0, &mut d1);
            let t2 = scale_into_portable(&a, 32768.0, &mut d2);
            assert_eq!((bits(t1), &d1), (bits(t2), &d2), "scale_into n={n}");
        }
    }

    #[test]
    fn match_sequential_sums_on_awkward_lengths() {
        for n in [0usize, 1, 7, 8, 9, 23, 400] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let d: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            let s: f64 = a.iter().map(|&x| x as f64).sum();
            // Reassociated f32 sums of <= 400 O(1) terms: within 1e-4.
            assert!((dot(&a, &b) as f64 - d).abs() < 1e-4, "dot n={n}");
            assert!((sum(&a) as f64 - s).abs() < 1e-4, "sum n={n}");
            let mut scaled = vec![0.0; n];
            let t = scale_into(&a, 2.0, &mut scaled);
            assert!((t as f64 - 2.0 * s).abs() < 2e-4, "scale_into n={n}");
            assert!(scaled.iter().zip(&a).all(|(y, x)| *y == 2.0 * x));
            let c: f64 = a.iter().map(|&x| (x as f64 - 0.5).powi(2)).sum();
            assert!(
                (sum_sq_centred(&a, 0.5) as f64 - c).abs() < 1e-4,
                "centred n={n}"
            );
            assert!(sum_sq(&a) >= 0.0);
        }
    }
}
