//! Orthonormal DCT-II with the cepstral lifter folded into its rows.
//!
//! `c_i = s_i l_i sum_n x_n cos(pi i (n + 1/2) / N)`, `s_0 = sqrt(1/N)`,
//! `s_i = sqrt(2/N)` (Kaldi's `ComputeDctMatrix`, scipy `dct(type=2,
//! norm="ortho")`), keeping `i < num_ceps`. The lifter `l_i` is
//! `1 + (L/2) sin(pi i / L)` in Kaldi's convention and `1 + (L/2) sin(pi
//! (i+1) / L)` in librosa's; `L = 0` means `l_i = 1`.

use ndarray::Array2;

use super::options::{DctOptions, LifterStyle};

/// Outputs computed together by [`Dct::apply`] (one AVX register).
const BLOCK: usize = 8;

/// A precomputed `(num_ceps, num_in)` DCT matrix (lifter included).
#[derive(Debug, Clone, PartialEq)]
pub struct Dct {
    num_ceps: usize,
    num_in: usize,
    /// Columns padded to `stride` (a multiple of [`BLOCK`]) with zeros:
    /// `columns[j * stride + i] = M[i, j]`, so applying the matrix is a sum
    /// of scaled columns over fixed-width blocks of outputs (independent
    /// SIMD lanes; a plain 13-wide loop does not vectorise).
    columns: Vec<f32>,
    stride: usize,
}

/// The lifter coefficients `l_i`, `i = 0..num_ceps`.
pub fn lifter_coeffs(o: &DctOptions) -> Vec<f64> {
    let l = f64::from(o.lifter);
    let shift = match o.lifter_style {
        LifterStyle::Kaldi => 0.0,
        LifterStyle::Librosa => 1.0,
    };
    (0..o.num_ceps)
        .map(|i| {
            if l == 0.0 {
                1.0
            } else {
                1.0 + 0.5 * l * (std::f64::consts::PI * (i as f64 + shift) / l).sin()
            }
        })
        .collect()
}

impl Dct {
    /// DCT of `num_in` inputs to `o.num_ceps` outputs (`num_ceps <= num_in`,
    /// checked by [`super::Frontend::new`]).
    pub fn new(o: &DctOptions, num_in: usize) -> Self {
        let lift = lifter_coeffs(o);
        let n = num_in as f64;
        let stride = o.num_ceps.div_ceil(BLOCK) * BLOCK;
        let mut columns = vec![0.0; stride * num_in];
        for j in 0..num_in {
            for (i, l) in lift.iter().enumerate() {
                let s = if i == 0 {
                    (1.0 / n).sqrt()
                } else {
                    (2.0 / n).sqrt()
                };
                let c = (std::f64::consts::PI / n * (j as f64 + 0.5) * i as f64).cos();
                columns[j * stride + i] = (s * l * c) as f32;
            }
        }
        Dct {
            num_ceps: o.num_ceps,
            num_in,
            columns,
            stride,
        }
    }

    /// `out = M x`.
    ///
    /// # Shapes
    /// `x: (num_in,)` -> `out: (num_ceps,)`
    #[inline(always)]
    pub fn apply(&self, x: &[f32], out: &mut [f32]) {
        for (b, out_block) in out[..self.num_ceps].chunks_mut(BLOCK).enumerate() {
            let mut acc = [0.0f32; BLOCK];
            for (j, &xj) in x[..self.num_in].iter().enumerate() {
                let at = j * self.stride + b * BLOCK;
                let col: &[f32; BLOCK] = self.columns[at..at + BLOCK].try_into().expect("padded");
                for l in 0..BLOCK {
                    acc[l] += col[l] * xj;
                }
            }
            out_block.copy_from_slice(&acc[..out_block.len()]);
        }
    }

    /// The matrix as `(num_ceps, num_in)`.
    pub fn matrix(&self) -> Array2<f32> {
        Array2::from_shape_fn((self.num_ceps, self.num_in), |(i, j)| {
            self.columns[j * self.stride + i]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(num_ceps: usize, lifter: f32, lifter_style: LifterStyle) -> DctOptions {
        DctOptions {
            num_ceps,
            lifter,
            lifter_style,
        }
    }

    #[test]
    fn full_dct_without_lifter_is_orthonormal() {
        let m = Dct::new(&opts(23, 0.0, LifterStyle::Kaldi), 23).matrix();
        let g = m.dot(&m.t());
        for i in 0..23 {
            for j in 0..23 {
                let want = if i == j { 1.0 } else { 0.0 };
                // f32 entries, 23-term sums: 1e-5.
                assert!((g[[i, j]] - want).abs() < 1e-5, "({i},{j}) = {}", g[[i, j]]);
            }
        }
    }

    #[test]
    fn matches_scipy_dct_ortho_on_a_ramp() {
        // scipy.fft.dct([0,1,2,3], type=2, norm='ortho') = [3, -2.2304425, 0, -0.15851267]
        let d = Dct::new(&opts(4, 0.0, LifterStyle::Kaldi), 4);
        let mut out = [0.0; 4];
        d.apply(&[0.0, 1.0, 2.0, 3.0], &mut out);
        let want = [3.0, -2.230_442_5, 0.0, -0.158_512_67];
        for (a, b) in out.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn lifter_conventions() {
        let k = lifter_coeffs(&opts(13, 22.0, LifterStyle::Kaldi));
        assert_eq!(k[0], 1.0, "Kaldi leaves C0 alone");
        assert!((k[11] - (1.0 + 11.0 * (std::f64::consts::PI / 2.0).sin())).abs() < 1e-12);
        let l = lifter_coeffs(&opts(13, 22.0, LifterStyle::Librosa));
        assert!(
            (l[0] - k[1]).abs() < 1e-12,
            "librosa's index is shifted by one"
        );
        assert!(lifter_coeffs(&opts(5, 0.0, LifterStyle::Librosa))
            .iter()
            .all(|&v| v == 1.0));
    }
}
