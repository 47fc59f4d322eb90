//! One-sided spectrum of a real frame: power `|X|^2` or magnitude `|X|`,
//! `fft_size / 2 + 1` bins. Unnormalised forward DFT,
//! `X_k = sum_n x_n e^{-2 pi i k n / N}` (Kaldi, numpy).
//!
//! Odd sizes go through realfft. Even sizes (every preset) use the same
//! packing realfft uses, written here so the last step can be fused with
//! the power and vectorised: the `N/2`-point complex FFT (rustfft) of
//! `z_n = x_{2n} + i x_{2n+1}` gives, with `b_k = conj(Z_{N/2-k})`,
//! `X_k = ((Z_k + b_k) - i W^k (Z_k - b_k)) / 2`, `W = e^{-2 pi i / N}`,
//! and only `|X_k|^2` is written. realfft's own post-processing is a
//! scalar loop that cost as much as the complex FFT itself in profiles; the
//! fused loop here runs on straight slices (forward and reversed), which the
//! compiler vectorises.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};

use super::options::SpectrumKind;

/// A planned real FFT plus the power/magnitude rule. Send + Sync.
#[derive(Clone)]
pub struct Spectrum {
    n: usize,
    kind: SpectrumKind,
    plan: Plan,
}

#[derive(Clone)]
enum Plan {
    /// Even sizes: a complex FFT of `N/2` points and the fused split;
    /// `cos[k]`, `sin[k]` are `cos(2 pi k / N)`, `sin(2 pi k / N)`.
    Packed {
        fft: Arc<dyn Fft<f32>>,
        cos: Vec<f32>,
        sin: Vec<f32>,
    },
    /// Odd sizes.
    Real(Arc<dyn RealToComplex<f32>>),
}

impl std::fmt::Debug for Spectrum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spectrum({}, {:?})", self.n, self.kind)
    }
}

/// Per-thread buffers for [`Spectrum::compute`], made once per utterance.
pub struct SpectrumScratch {
    /// Real input of odd sizes (empty for even sizes, whose input is
    /// `spec` seen as floats).
    input: Vec<f32>,
    spec: Vec<Complex<f32>>,
    /// Output of the complex FFT of even sizes (out of place: in place,
    /// rustfft transforms into its scratch and copies back).
    out: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

impl Spectrum {
    /// Plans an FFT of `fft_size` (> 0) points.
    pub fn new(fft_size: usize, kind: SpectrumKind) -> Self {
        let plan = if fft_size.is_multiple_of(2) {
            let m = fft_size / 2;
            let fft = FftPlanner::<f32>::new().plan_fft_forward(m);
            let angle = |k: usize| 2.0 * std::f64::consts::PI * k as f64 / fft_size as f64;
            let cos = (0..m).map(|k| angle(k).cos() as f32).collect();
            let sin = (0..m).map(|k| angle(k).sin() as f32).collect();
            Plan::Packed { fft, cos, sin }
        } else {
            Plan::Real(RealFftPlanner::<f32>::new().plan_fft_forward(fft_size))
        };
        Spectrum {
            n: fft_size,
            kind,
            plan,
        }
    }

    /// FFT size.
    pub fn fft_size(&self) -> usize {
        self.n
    }

    /// Number of output bins, `fft_size / 2 + 1`.
    pub fn num_bins(&self) -> usize {
        self.n / 2 + 1
    }

    /// Buffers for [`Spectrum::compute`].
    pub fn scratch(&self) -> SpectrumScratch {
        match &self.plan {
            Plan::Packed { fft, .. } => SpectrumScratch {
                input: Vec::new(),
                spec: vec![Complex::default(); self.n / 2],
                out: vec![Complex::default(); self.n / 2],
                scratch: vec![Complex::default(); fft.get_outofplace_scratch_len()],
            },
            Plan::Real(fft) => SpectrumScratch {
                input: fft.make_input_vec(),
                spec: fft.make_output_vec(),
                out: Vec::new(),
                scratch: fft.make_scratch_vec(),
            },
        }
    }

    /// The input buffer (`fft_size` values) of [`Spectrum::compute_input`]:
    /// a frame written here goes to the FFT without another copy. For even
    /// sizes it is the complex FFT buffer itself, seen as interleaved
    /// floats, which is exactly the packing `z_n = x_{2n} + i x_{2n+1}`.
    #[inline(always)]
    pub fn input<'s>(&self, s: &'s mut SpectrumScratch) -> &'s mut [f32] {
        match &self.plan {
            Plan::Packed { .. } => as_floats(&mut s.spec),
            Plan::Real(_) => &mut s.input,
        }
    }

    /// Writes the power (or magnitude) spectrum of `frame` into `out`.
    /// `frame` may be used as FFT scratch and is left unspecified.
    ///
    /// # Shapes
    /// `frame: (fft_size,)` -> `out: (fft_size / 2 + 1,)`
    pub fn compute(&self, frame: &mut [f32], out: &mut [f32], s: &mut SpectrumScratch) {
        self.input(s).copy_from_slice(frame);
        self.compute_input(out, s);
    }

    /// Writes the power (or magnitude) spectrum of the frame in
    /// [`Spectrum::input`] into `out`; the input is left unspecified.
    ///
    /// # Shapes
    /// `input: (fft_size,)` -> `out: (fft_size / 2 + 1,)`
    #[inline(always)]
    pub fn compute_input(&self, out: &mut [f32], s: &mut SpectrumScratch) {
        match &self.plan {
            Plan::Packed { fft, cos, sin } => {
                fft.process_outofplace_with_scratch(&mut s.spec, &mut s.out, &mut s.scratch);
                split_power(&s.out, cos, sin, out);
            }
            Plan::Real(fft) => {
                fft.process_with_scratch(&mut s.input, &mut s.spec, &mut s.scratch)
                    .expect("buffer sizes come from the same plan");
                for (o, c) in out.iter_mut().zip(&s.spec) {
                    *o = c.re * c.re + c.im * c.im;
                }
            }
        }
        if self.kind == SpectrumKind::Magnitude {
            out.iter_mut().for_each(|v| *v = v.sqrt());
        }
    }
}

/// Complex values as their interleaved `re, im` floats.
#[inline(always)]
fn as_floats(z: &mut [Complex<f32>]) -> &mut [f32] {
    // SAFETY: `Complex<f32>` is `#[repr(C)] { re: f32, im: f32 }` (size 8,
    // align 4, no padding), so `z.len()` complex values are `2 * z.len()`
    // consecutive f32, every bit pattern is valid for both types, and the
    // result borrows `z` mutably for its whole life.
    unsafe { std::slice::from_raw_parts_mut(z.as_mut_ptr().cast::<f32>(), 2 * z.len()) }
}

/// `|X_k|^2` for `k = 0..=M` from `Z` = the `M`-point FFT of the packed
/// frame (see the module docs). With `a = Z_k`, `b = conj(Z_{M-k})`,
/// `2 X_k = (a + b) - i W^k (a - b)`, `W^k = cos - i sin`.
#[inline(always)]
fn split_power(z: &[Complex<f32>], cos: &[f32], sin: &[f32], out: &mut [f32]) {
    let m = z.len();
    let z0 = z[0];
    out[0] = (z0.re + z0.im) * (z0.re + z0.im);
    out[m] = (z0.re - z0.im) * (z0.re - z0.im);
    let fwd = z[1..].iter();
    let rev = z[1..].iter().rev();
    let tw = cos[1..].iter().zip(&sin[1..]);
    for ((o, (a, b)), (&c, &s)) in out[1..m].iter_mut().zip(fwd.zip(rev)).zip(tw) {
        // b = conj(Z_{M-k}): (b.re, -b.im)
        let (sum_re, sum_im) = (a.re + b.re, a.im - b.im);
        let (dif_re, dif_im) = (a.re - b.re, a.im + b.im);
        // -i W^k d, W^k = (c, -s): W^k d = (c dr + s di, c di - s dr); times -i swaps.
        let (wd_re, wd_im) = (c * dif_re + s * dif_im, c * dif_im - s * dif_re);
        let (x_re, x_im) = (sum_re + wd_im, sum_im - wd_re);
        *o = 0.25 * (x_re * x_re + x_im * x_im);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::rng_from_seed;
    use rand::RngExt;

    /// Slow oracle: the DFT by its definition, in f64.
    fn naive_power(x: &[f32]) -> Vec<f64> {
        let n = x.len();
        (0..n / 2 + 1)
            .map(|k| {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for (t, &v) in x.iter().enumerate() {
                    let a = -2.0 * std::f64::consts::PI * (k * t) as f64 / n as f64;
                    re += v as f64 * a.cos();
                    im += v as f64 * a.sin();
                }
                re * re + im * im
            })
            .collect()
    }

    #[test]
    fn matches_naive_dft_for_even_odd_and_power_of_two_sizes() {
        let mut rng = rng_from_seed(11);
        for n in [8usize, 400, 512, 75] {
            let x: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            let sp = Spectrum::new(n, SpectrumKind::Power);
            let mut s = sp.scratch();
            let mut buf = x.clone();
            let mut out = vec![0.0; sp.num_bins()];
            sp.compute(&mut buf, &mut out, &mut s);
            let want = naive_power(&x);
            let scale = want.iter().cloned().fold(0.0, f64::max);
            for (k, (a, b)) in out.iter().zip(&want).enumerate() {
                // f32 FFT round-off ~ eps * log2(n) * sum|x|^2; 1e-5 of the peak is ample.
                assert!(
                    (*a as f64 - b).abs() <= 1e-5 * scale,
                    "n={n} k={k}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn packed_even_path_matches_realfft() {
        let mut rng = rng_from_seed(12);
        for n in [2usize, 4, 256, 400, 512, 2048] {
            let x: Vec<f32> = (0..n)
                .map(|_| rng.random_range(-3000.0f32..3000.0))
                .collect();
            let sp = Spectrum::new(n, SpectrumKind::Power);
            let mut ours = vec![0.0; sp.num_bins()];
            sp.compute(&mut x.clone(), &mut ours, &mut sp.scratch());
            let rf = RealFftPlanner::<f32>::new().plan_fft_forward(n);
            let mut spec = rf.make_output_vec();
            rf.process(&mut x.clone(), &mut spec).unwrap();
            let peak = spec.iter().map(|c| c.norm_sqr()).fold(0.0f32, f32::max);
            for (k, (a, c)) in ours.iter().zip(&spec).enumerate() {
                // The same packing algebra as realfft (bitwise equal on
                // this machine); 1e-6 of the peak allows another rounding.
                assert!(
                    (a - c.norm_sqr()).abs() <= 1e-6 * peak,
                    "n={n} k={k}: {a} vs {}",
                    c.norm_sqr()
                );
            }
        }
    }

    #[test]
    fn magnitude_is_sqrt_of_power() {
        let x: Vec<f32> = (0..64).map(|i| ((i * 7) % 5) as f32 - 2.0).collect();
        let (p, m) = (
            Spectrum::new(64, SpectrumKind::Power),
            Spectrum::new(64, SpectrumKind::Magnitude),
        );
        let (mut op, mut om) = (vec![0.0; 33], vec![0.0; 33]);
        p.compute(&mut x.clone(), &mut op, &mut p.scratch());
        m.compute(&mut x.clone(), &mut om, &mut m.scratch());
        for (a, b) in op.iter().zip(&om) {
            assert!((a.sqrt() - b).abs() <= 1e-5 * (1.0 + b));
        }
        // DC bin of a known signal: sum = 64 * mean.
        let dc: f32 = x.iter().sum();
        assert!((om[0] - dc.abs()).abs() < 1e-4);
    }
}
