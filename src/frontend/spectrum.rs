//! One-sided spectrum of a real frame through realfft: power `|X|^2` or
//! magnitude `|X|`, `fft_size / 2 + 1` bins. Unnormalised forward DFT,
//! `X_k = sum_n x_n e^{-2 pi i k n / N}` (Kaldi, numpy).

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::options::SpectrumKind;

/// A planned real FFT plus the power/magnitude rule. Send + Sync.
#[derive(Clone)]
pub struct Spectrum {
    fft: Arc<dyn RealToComplex<f32>>,
    kind: SpectrumKind,
}

impl std::fmt::Debug for Spectrum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spectrum({}, {:?})", self.fft.len(), self.kind)
    }
}

/// Per-thread buffers for [`Spectrum::compute`], made once per utterance.
pub struct SpectrumScratch {
    spec: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

impl Spectrum {
    /// Plans an FFT of `fft_size` (> 0) points.
    pub fn new(fft_size: usize, kind: SpectrumKind) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(fft_size);
        Spectrum { fft, kind }
    }

    /// FFT size.
    pub fn fft_size(&self) -> usize {
        self.fft.len()
    }

    /// Number of output bins, `fft_size / 2 + 1`.
    pub fn num_bins(&self) -> usize {
        self.fft.len() / 2 + 1
    }

    /// Buffers for [`Spectrum::compute`].
    pub fn scratch(&self) -> SpectrumScratch {
        SpectrumScratch {
            spec: self.fft.make_output_vec(),
            scratch: self.fft.make_scratch_vec(),
        }
    }

    /// Writes the power (or magnitude) spectrum of `frame` into `out`.
    /// `frame` is used as FFT scratch and left unspecified.
    ///
    /// # Shapes
    /// `frame: (fft_size,)` -> `out: (fft_size / 2 + 1,)`
    #[inline(always)]
    pub fn compute(&self, frame: &mut [f32], out: &mut [f32], s: &mut SpectrumScratch) {
        self.fft
            .process_with_scratch(frame, &mut s.spec, &mut s.scratch)
            .expect("buffer sizes come from the same plan");
        match self.kind {
            SpectrumKind::Power => {
                for (o, c) in out.iter_mut().zip(&s.spec) {
                    *o = c.re * c.re + c.im * c.im;
                }
            }
            SpectrumKind::Magnitude => {
                for (o, c) in out.iter_mut().zip(&s.spec) {
                    *o = (c.re * c.re + c.im * c.im).sqrt();
                }
            }
        }
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
