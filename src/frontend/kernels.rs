//! Small numeric kernels shared by the stages.
//!
//! Float reductions written as one running sum cannot be vectorised (the
//! compiler must keep the order of the adds), so each costs one add latency
//! per element. These keep eight independent partial sums, which the
//! compiler maps to one SIMD register; the result differs from a
//! sequential sum only by reassociation round-off.

const LANES: usize = 8;

/// `sum_i a_i b_i`.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for j in 0..LANES {
            acc[j] += x[j] * y[j];
        }
    }
    reduce(acc) + tail
}

/// `sum_i a_i`.
pub fn sum(a: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let c = a.chunks_exact(LANES);
    let tail: f32 = c.remainder().iter().sum();
    for x in c {
        for j in 0..LANES {
            acc[j] += x[j];
        }
    }
    reduce(acc) + tail
}

/// `sum_i a_i^2`.
pub fn sum_sq(a: &[f32]) -> f32 {
    dot(a, a)
}

fn reduce(acc: [f32; LANES]) -> f32 {
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(sum_sq(&a) >= 0.0);
        }
    }
}
