//! The one matrix product every layer uses: faer's GEMM on one thread.
//!
//! Why faer rather than ndarray's own `dot` (matrixmultiply): measured in
//! one run on the project's 2-core AMD EPYC (Zen 4, AVX-512), the eight
//! matmuls of a 1287-256-256-10 training step ran at 87 / 92 / 92 GFLOP/s
//! with faer 0.24 against 65 / 82 / 83 with matrixmultiply and 64 / 77 /
//! 89 with the `gemm` crate 0.19 (batch 32 / 128 / 1024); faer picks its
//! AVX-512 kernels at run time and builds from crates.io alone, where a
//! BLAS would need a system library. Figures and the full comparison:
//! docs/performance.md.
//!
//! Determinism: every product runs with `Par::Seq` (never a thread pool,
//! so nothing stacks on rayon workers), and faer's blocking depends only on
//! the shapes and the CPU's kernel choice, so the same build on the same
//! machine gives the same bits whatever the thread count of the caller.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// `c = alpha * a b + beta * c`, like `ndarray::linalg::general_mat_mul`.
///
/// With `beta == 0` the old contents of `c` are not read (NaNs in `c` do
/// not leak into the result), as for a BLAS.
///
/// # Shapes
/// `a (m, k)`, `b (k, n)`, `c (m, n)`; any strides, views included.
///
/// # Panics
/// If the shapes do not agree.
pub fn gemm(
    alpha: f32,
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    beta: f32,
    c: &mut ArrayViewMut2<'_, f32>,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert_eq!(k, k2, "matmul: inner dimensions {k} vs {k2}");
    assert_eq!(
        c.dim(),
        (m, n),
        "matmul: output shape {:?} vs ({m}, {n})",
        c.dim()
    );
    if m == 0 || n == 0 {
        return;
    }
    let accum = if beta == 0.0 {
        faer::Accum::Replace
    } else {
        if beta != 1.0 {
            c.mapv_inplace(|v| v * beta);
        }
        faer::Accum::Add
    };
    if k == 0 {
        if beta == 0.0 {
            c.fill(0.0);
        }
        return;
    }
    let (as0, as1) = (a.strides()[0], a.strides()[1]);
    let (bs0, bs1) = (b.strides()[0], b.strides()[1]);
    let (cs0, cs1) = (c.strides()[0], c.strides()[1]);
    // SAFETY: each pointer is the address of element (0, 0) of its view,
    // and with the view's own dimensions and element strides it addresses
    // only that view's elements, which live as long as this call. `c` is a
    // unique borrow, so it aliases neither `a` nor `b`.
    unsafe {
        let fa = faer::MatRef::from_raw_parts(a.as_ptr(), m, k, as0, as1);
        let fb = faer::MatRef::from_raw_parts(b.as_ptr(), k, n, bs0, bs1);
        let fc = faer::MatMut::from_raw_parts_mut(c.as_mut_ptr(), m, n, cs0, cs1);
        faer::linalg::matmul::matmul(fc, accum, fa, fb, alpha, faer::Par::Seq);
    }
}

/// `a b` into a new row-major matrix.
///
/// # Shapes
/// `(m, k) x (k, n) -> (m, n)`
pub fn matmul(a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>) -> Array2<f32> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    gemm(1.0, a, b, 0.0, &mut c.view_mut());
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::rng_from_seed;
    use ndarray::s;
    use rand::RngExt;

    fn naive(a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>) -> Array2<f64> {
        Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
            (0..a.ncols())
                .map(|p| a[[i, p]] as f64 * b[[p, j]] as f64)
                .sum()
        })
    }

    fn random(r: usize, c: usize, seed: u64) -> Array2<f32> {
        let mut rng = rng_from_seed(seed);
        Array2::from_shape_fn((r, c), |_| rng.random_range(-1.0f32..1.0))
    }

    fn max_diff(x: &Array2<f32>, y: &Array2<f64>) -> f64 {
        x.iter()
            .zip(y.iter())
            .map(|(&a, &b)| (a as f64 - b).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn matches_naive_product_over_shapes_and_layouts() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 2),
            (32, 1287, 256),
            (17, 256, 10),
            (129, 23, 13),
        ] {
            let a = random(m, k, 1);
            let b = random(k, n, 2);
            let want = naive(a.view(), b.view());
            let tol = 1e-5 * k as f64;
            assert!(
                max_diff(&matmul(a.view(), b.view()), &want) < tol,
                "{m}x{k}x{n}"
            );
            // Transposed views (column-major operands), as backward passes use.
            let at = a.t().to_owned();
            let bt = b.t().to_owned();
            assert!(
                max_diff(&matmul(at.t(), bt.t()), &want) < tol,
                "{m}x{k}x{n} transposed"
            );
        }
    }

    #[test]
    fn alpha_beta_and_strided_output() {
        let a = random(6, 4, 3);
        let b = random(4, 5, 4);
        let ab = naive(a.view(), b.view());
        let mut big = Array2::from_elem((12, 10), 2.0f32);
        {
            let mut c = big.slice_mut(s![..;2, ..;2]);
            gemm(0.5, a.view(), b.view(), 3.0, &mut c);
        }
        for i in 0..6 {
            for j in 0..5 {
                let want = 0.5 * ab[[i, j]] + 6.0;
                assert!((big[[2 * i, 2 * j]] as f64 - want).abs() < 1e-5);
                assert_eq!(big[[2 * i + 1, 2 * j]], 2.0, "rows between untouched");
            }
        }
        // beta = 1 accumulates.
        let mut c = matmul(a.view(), b.view());
        gemm(1.0, a.view(), b.view(), 1.0, &mut c.view_mut());
        assert!(max_diff(&c, &ab.mapv(|v| 2.0 * v)) < 1e-5);
    }

    #[test]
    fn beta_zero_ignores_nan_and_empty_inner_dimension_zeroes() {
        let a = random(3, 4, 5);
        let b = random(4, 2, 6);
        let mut c = Array2::from_elem((3, 2), f32::NAN);
        gemm(1.0, a.view(), b.view(), 0.0, &mut c.view_mut());
        assert!(c.iter().all(|v| v.is_finite()));
        let e = Array2::<f32>::zeros((3, 0));
        let f = Array2::<f32>::zeros((0, 2));
        let mut c = Array2::from_elem((3, 2), 7.0f32);
        gemm(1.0, e.view(), f.view(), 0.0, &mut c.view_mut());
        assert!(c.iter().all(|&v| v == 0.0));
        assert_eq!(
            matmul(Array2::<f32>::zeros((0, 3)).view(), random(3, 4, 7).view()).dim(),
            (0, 4)
        );
    }

    #[test]
    fn same_inputs_same_bits() {
        let a = random(200, 300, 8);
        let b = random(300, 70, 9);
        let first = matmul(a.view(), b.view());
        let again = std::thread::spawn(move || matmul(a.view(), b.view()))
            .join()
            .unwrap();
        assert_eq!(first, again);
    }
}
