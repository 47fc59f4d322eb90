//! The frozen prefix of the learned chain: the hand-crafted stages before
//! the first learned one, computed with the front end's own stage structs
//! (framer, FFT, mel banks, compressor) so that it is the classic front end
//! cut at that point.

use ndarray::Array2;

use crate::frontend::compress::Compressor;
use crate::frontend::learned::config::Stage;
use crate::frontend::spectrum::Spectrum;
use crate::frontend::{Frontend, FrontendError, FrontendOptions};
use crate::nn::rng_from_seed;

use super::super::classic::prepare_samples;
use super::super::config::InputConfig;

/// The hand-crafted stages needed to compute a prefix ending before `stage`.
pub struct PrefixComputer {
    stage: Stage,
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
        Ok(PrefixComputer {
            stage,
            spectrum: Spectrum::new(o.fft_size(), o.spectrum.kind),
            compress: Compressor::new(&o.compress),
            fe,
        })
    }

    /// The prefix of one utterance, with dither drawn from `seed` (as the
    /// classic path does).
    ///
    /// # Shapes
    /// `samples: (n,)` -> `(frames, frame_length)` (pre-emphasis or
    /// spectrum learned), `(frames, n_bins)` (mel), `(frames, n_mels)`
    /// (compression: linear energies; DCT: log-mel)
    pub fn utterance(
        &self,
        samples: &[f32],
        rate: u32,
        input: &InputConfig,
        seed: u64,
    ) -> Array2<f32> {
        let min_len = self.fe.options().frame_length();
        let s = prepare_samples(samples, rate, input, min_len);
        let (frames, _) = self.fe.frames(&s, &mut rng_from_seed(seed));
        if self.stage <= Stage::Spectrum {
            return frames;
        }
        let window = self.fe.window();
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
            return power;
        };
        if self.stage == Stage::Mel {
            return power;
        }
        let mut energies = Array2::<f32>::zeros((n, mel.num_bins()));
        for (p, mut out) in power.rows().into_iter().zip(energies.rows_mut()) {
            mel.apply(
                p.as_slice().expect("contiguous row"),
                out.as_slice_mut().expect("contiguous row"),
            );
        }
        if self.stage == Stage::Compress {
            return energies;
        }
        let all = energies.as_slice_mut().expect("standard layout");
        for row in all.chunks_mut(mel.num_bins().max(1)) {
            self.compress.apply(row);
        }
        self.compress.finish(all);
        energies
    }
}
