//! The frozen prefix of the learned chain: the hand-crafted stages before
//! the first learned one, computed with the front end's own stage structs
//! (framer, FFT, mel banks, compressor) so that it is the classic front end
//! cut at that point.

use ndarray::Array2;

use crate::frontend::compress::Compressor;
use crate::frontend::learned::config::Stage;
use crate::frontend::mel::VtlnWarp;
use crate::frontend::spectrum::Spectrum;
use crate::frontend::{Frontend, FrontendError, FrontendOptions};
use crate::nn::rng_from_seed;

use super::super::classic::prepare_samples;
use super::super::config::InputConfig;

/// The hand-crafted stages needed to compute a prefix ending before `stage`.
pub struct PrefixComputer {
    stage: Stage,
    opts: FrontendOptions,
    /// A learned mel stage with a VTLN factor: the power spectrum's bins
    /// are moved to their warped frequencies (see [`warp_power`]).
    warp: Option<VtlnWarp>,
    /// Kaldi's `use_energy` for MFCC: the frame log energy is appended as
    /// one more prefix column (the model puts it in place of C0).
    energy: bool,
    fe: Frontend,
    spectrum: Spectrum,
    compress: Compressor,
}

impl PrefixComputer {
    /// For options `opts` (already adjusted by the caller, e.g. without
    /// energy) and the first learned `stage`. When pre-emphasis itself is
    /// learned, the frames are taken with a zero coefficient (the learned
    /// layer applies it).
    ///
    /// # Errors
    /// Invalid options.
    pub fn new(opts: &FrontendOptions, stage: Stage) -> Result<Self, FrontendError> {
        let mut o = opts.clone();
        if stage == Stage::Preemph {
            o.frame.preemph_coeff = 0.0;
        }
        let fe = Frontend::new(&o)?;
        let warp = if stage == Stage::Mel {
            VtlnWarp::new(&o)?
        } else {
            None
        };
        Ok(PrefixComputer {
            stage,
            energy: opts.energy.use_energy && opts.feature == crate::frontend::Feature::Mfcc,
            opts: opts.clone(),
            warp,
            spectrum: Spectrum::new(o.fft_size(), o.spectrum.kind),
            compress: Compressor::new(&o.compress),
            fe,
        })
    }

    /// The options it was built from (before the pre-emphasis adjustment).
    pub fn options(&self) -> &FrontendOptions {
        &self.opts
    }

    /// The first learned stage (the prefix ends before it).
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The prefix of one utterance, with dither drawn from `seed` (as the
    /// classic path does).
    ///
    /// # Shapes
    /// `samples: (n,)` -> `(frames, frame_length)` (pre-emphasis or
    /// spectrum learned), `(frames, n_bins)` (mel), `(frames, n_mels)`
    /// (compression: linear energies; DCT: log-mel), each with one more
    /// last column, the frame log energy, when [`Self::has_energy`]
    pub fn utterance(
        &self,
        samples: &[f32],
        rate: u32,
        input: &InputConfig,
        seed: u64,
    ) -> Array2<f32> {
        let (x, energies) = self.utterance_parts(samples, rate, input, seed);
        if !self.energy {
            return x;
        }
        let (n, d) = x.dim();
        let mut y = Array2::<f32>::zeros((n, d + 1));
        y.slice_mut(ndarray::s![.., ..d]).assign(&x);
        for (t, e) in energies.into_iter().enumerate() {
            y[[t, d]] = e;
        }
        y
    }

    /// Whether prefixes carry the log-energy column (last).
    pub fn has_energy(&self) -> bool {
        self.energy
    }

    /// The prefix and each frame's log energy (Kaldi's rule: raw energy
    /// before the window, or the windowed frame's, floored).
    fn utterance_parts(
        &self,
        samples: &[f32],
        rate: u32,
        input: &InputConfig,
        seed: u64,
    ) -> (Array2<f32>, Vec<f32>) {
        let min_len = self.fe.options().frame_length();
        let s = prepare_samples(samples, rate, input, min_len);
        let (frames, mut energies) = self.fe.frames(&s, &mut rng_from_seed(seed));
        let window = self.fe.window();
        if self.energy {
            let e = &self.opts.energy;
            if !e.raw_energy {
                for (t, row) in frames.rows().into_iter().enumerate() {
                    let w: Vec<f32> = row.iter().zip(window).map(|(x, w)| x * w).collect();
                    energies[t] = crate::frontend::framing::log_energy(&w);
                }
            }
            if e.energy_floor > 0.0 {
                let floor = e.energy_floor.ln();
                energies.iter_mut().for_each(|v| *v = v.max(floor));
            }
        }
        if self.stage <= Stage::Spectrum {
            return (frames, energies);
        }
        let (n, len) = frames.dim();
        let mut buf = vec![0.0f32; self.spectrum.fft_size()];
        let mut scratch = self.spectrum.scratch();
        let mut power = Array2::<f32>::zeros((n, self.spectrum.num_bins()));
        for (row, mut out) in frames.rows().into_iter().zip(power.rows_mut()) {
            for ((b, &x), &w) in buf[..len].iter_mut().zip(row.iter()).zip(window) {
                *b = x * w;
            }
            buf[len..].fill(0.0);
            self.spectrum.compute(
                &mut buf,
                out.as_slice_mut().expect("contiguous row"),
                &mut scratch,
            );
        }
        let Some(mel) = self.fe.mel_banks() else {
            return (power, energies);
        };
        if self.stage == Stage::Mel {
            if let Some(w) = &self.warp {
                let p = warp_power(
                    &power,
                    w,
                    self.opts.sample_rate_hz,
                    self.spectrum.fft_size(),
                );
                return (p, energies);
            }
            return (power, energies);
        }
        let mut mel_e = Array2::<f32>::zeros((n, mel.num_bins()));
        for (p, mut out) in power.rows().into_iter().zip(mel_e.rows_mut()) {
            mel.apply(
                p.as_slice().expect("contiguous row"),
                out.as_slice_mut().expect("contiguous row"),
            );
        }
        if self.stage == Stage::Compress {
            return (mel_e, energies);
        }
        let all = mel_e.as_slice_mut().expect("standard layout");
        for row in all.chunks_mut(mel.num_bins().max(1)) {
            self.compress.apply(row);
        }
        self.compress.finish(all);
        (mel_e, energies)
    }
}

/// VTLN before a learned mel stage. Kaldi warps the filters' corners by
/// the piecewise-linear map `w` (so a warped filter responds at `f` as the
/// plain one at `w^-1(f)`); here each bin's power moves instead to
/// `w^-1(f_k)`, split between the two nearest bins by linear
/// interpolation. A filterbank `W` applied to the result gives
/// `sum_k P(k) W(w^-1(f_k))` with `W` interpolated between bins: Kaldi's
/// warped bank when `W` is the triangles (up to that interpolation), and
/// the same warp for any learned filter shape. The total power is kept.
///
/// # Shapes
/// `(frames, n_bins)`, unchanged.
pub fn warp_power(power: &Array2<f32>, warp: &VtlnWarp, rate: f32, n_fft: usize) -> Array2<f32> {
    let (n, bins) = power.dim();
    let hz_per_bin = f64::from(rate) / n_fft as f64;
    let targets: Vec<(usize, f32)> = (0..bins)
        .map(|k| {
            let pos = inverse(warp, k as f64 * hz_per_bin) / hz_per_bin;
            let pos = pos.clamp(0.0, (bins - 1) as f64);
            let lo = pos.floor() as usize;
            (lo, (pos - lo as f64) as f32)
        })
        .collect();
    let mut out = Array2::<f32>::zeros((n, bins));
    for (src, mut dst) in power.rows().into_iter().zip(out.rows_mut()) {
        for (k, &(lo, frac)) in targets.iter().enumerate() {
            let v = src[k];
            dst[lo] += v * (1.0 - frac);
            if frac > 0.0 && lo + 1 < bins {
                dst[lo + 1] += v * frac;
            }
        }
    }
    out
}

/// `w^-1(f)` by bisection (the map is continuous and increasing).
fn inverse(w: &VtlnWarp, f: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 2.0 * f.max(1.0) + 1e5);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if w.apply(mid) < f {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::{Feature, Preset};

    #[test]
    fn warped_power_through_the_mel_triangles_is_close_to_kaldis_warped_bank() {
        let mut o = FrontendOptions::preset(Preset::Kaldi, Feature::Fbank, 8000.0);
        o.frame.dither = 0.0;
        let plain = crate::frontend::mel::MelBanks::new(&o).unwrap();
        let dense = plain.dense();
        // A smooth, broadband power spectrum.
        let bins = dense.ncols();
        let p = Array2::from_shape_fn((1, bins), |(_, k)| {
            1.0 + (0.07 * k as f32).sin().abs() * 5.0
        });
        for a in [0.9f32, 1.1] {
            o.mel.vtln_warp = a;
            let w = VtlnWarp::new(&o).unwrap().unwrap();
            let warped = warp_power(&p, &w, 8000.0, o.fft_size());
            let ours = dense.dot(&warped.row(0));
            let kaldi = crate::frontend::mel::MelBanks::new(&o)
                .unwrap()
                .dense()
                .dot(&p.row(0));
            let plain_e = dense.dot(&p.row(0));
            // Per filter: mostly within 1 %; up to ~9 % for the narrow low
            // filters and at the warp's upper knee, where interpolating
            // between bins is coarse.
            let rel: Vec<f32> = (0..ours.len())
                .map(|m| (ours[m] - kaldi[m]).abs() / kaldi[m])
                .collect();
            let mean = rel.iter().sum::<f32>() / rel.len() as f32;
            assert!(
                mean < 0.05,
                "warp {a}: mean relative error {mean} ({rel:?})"
            );
            assert!(rel.iter().all(|&r| r < 0.12), "warp {a}: {rel:?}");
            let moved: f32 = (&kaldi - &plain_e).mapv(f32::abs).sum();
            let err: f32 = (&ours - &kaldi).mapv(f32::abs).sum();
            assert!(
                err < 0.5 * moved,
                "warp {a}: error {err} against a shift of {moved}"
            );
        }
    }
}
