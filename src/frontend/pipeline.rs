//! [`Frontend`]: the validated, precomputed pipeline and its per-utterance
//! driver.
//!
//! The fast path works one frame at a time through reused scratch buffers
//! (frame, spectrum, mel energies), writing each output row in place: no
//! allocation per frame and no full-spectrogram intermediate. Only dB
//! compression with `top_db` needs the utterance's maximum, so there the
//! compressed mel (or spectrum) rows are kept until the maximum is known.

use ndarray::Array2;
use std::ops::Range;

use super::compress::Compressor;
use super::dct::Dct;
use super::framing::{log_energy, Framer, Signal};
use super::mel::MelBanks;
use super::options::{Feature, FrontendOptions};
use super::post::{add_deltas, cmvn};
use super::spectrum::{Spectrum, SpectrumScratch};
use super::validate::validate;
use super::FrontendError;
use crate::nn::Rng;

/// A built, validated front end: precomputed window, FFT plan, mel bands,
/// DCT. Send + Sync: one instance is shared by rayon workers.
#[derive(Debug, Clone)]
pub struct Frontend {
    opts: FrontendOptions,
    framer: Framer,
    spectrum: Spectrum,
    mel: Option<MelBanks>,
    compress: Compressor,
    dct: Option<Dct>,
    /// `ln(energy_floor)` when the floor is on.
    log_energy_floor: Option<f32>,
}

/// Per-utterance buffers, reused by every frame.
pub(super) struct Scratch {
    stage: Vec<f32>,
    power: Vec<f32>,
    mel: Vec<f32>,
    fft: SpectrumScratch,
}

/// Computed frames of one utterance (see [`Frontend::sink`]).
pub(super) enum Sink {
    /// Final rows `(frames, static dims)`.
    Rows(Array2<f32>),
    /// Compressed mel (or spectrum) rows and log energies.
    Utterance {
        comp: Array2<f32>,
        energies: Vec<f32>,
    },
}

impl Frontend {
    /// Validates `opts` once and precomputes every stage.
    ///
    /// # Errors
    /// [`FrontendError::Invalid`] naming the first bad field and its value,
    /// e.g. `dct.num_ceps (40) > mel.num_bins (23)`.
    pub fn new(opts: &FrontendOptions) -> Result<Frontend, FrontendError> {
        validate(opts)?;
        let uses_mel = matches!(opts.feature, Feature::Mfcc | Feature::Fbank);
        let mel = if uses_mel {
            Some(MelBanks::new(opts)?)
        } else {
            None
        };
        let dct = match opts.feature {
            Feature::Mfcc => Some(Dct::new(&opts.dct, opts.mel.num_bins)),
            _ => None,
        };
        let floor = opts.energy.energy_floor;
        Ok(Frontend {
            opts: opts.clone(),
            framer: Framer::new(opts),
            spectrum: Spectrum::new(opts.fft_size(), opts.spectrum.kind),
            mel,
            compress: Compressor::new(&opts.compress),
            dct,
            log_energy_floor: (floor > 0.0).then(|| floor.ln()),
        })
    }

    /// The options this front end was built from.
    pub fn options(&self) -> &FrontendOptions {
        &self.opts
    }

    /// Feature dimension of each output row (includes deltas when on).
    pub fn dims(&self) -> usize {
        self.opts.dims()
    }

    /// Frames produced for `n_samples` input samples.
    pub fn num_frames(&self, n_samples: usize) -> usize {
        self.framer.num_frames(n_samples)
    }

    /// The precomputed mel filterbank (MFCC and fbank only).
    pub fn mel_banks(&self) -> Option<&MelBanks> {
        self.mel.as_ref()
    }

    /// The precomputed DCT (MFCC only).
    pub fn dct(&self) -> Option<&Dct> {
        self.dct.as_ref()
    }

    /// Frame placement (for the streaming driver).
    pub(super) fn framer(&self) -> &Framer {
        &self.framer
    }

    /// The analysis window.
    pub fn window(&self) -> &[f32] {
        self.framer.window()
    }

    /// Features of one utterance. `samples` are mono in [-1, 1) at
    /// `options().sample_rate_hz` (scaled internally by `sample_scale`).
    /// `rng` drives dither only (untouched when dither is 0).
    /// Returns `(frames, dims)`; a signal shorter than one frame gives
    /// `(0, dims)`. [`Frontend::stream`] gives the same numbers from a
    /// signal that arrives in blocks.
    pub fn compute(&self, samples: &[f32], rng: &mut Rng) -> Array2<f32> {
        let n_frames = self.num_frames(samples.len());
        let mut sink = self.sink(n_frames);
        if n_frames > 0 {
            let mut s = self.scratch();
            self.run_frames(Signal::whole(samples), 0..n_frames, rng, &mut s, &mut sink);
        }
        self.finish(sink)
    }

    /// The frozen prefix of the layer form: frames after scaling, dither,
    /// DC removal and pre-emphasis, before the window (which the layer
    /// form's DFT basis holds), plus each frame's raw log energy (0 when
    /// raw energy is off).
    ///
    /// # Shapes
    /// `samples: (n,)` -> `((num_frames(n), frame_length), (num_frames(n),))`
    pub fn frames(&self, samples: &[f32], rng: &mut Rng) -> (Array2<f32>, Vec<f32>) {
        let n = self.num_frames(samples.len());
        let mut out = Array2::zeros((n, self.opts.frame_length()));
        let mut energies = vec![0.0; n];
        for (t, mut row) in out.rows_mut().into_iter().enumerate() {
            let row = row
                .as_slice_mut()
                .expect("rows of a standard array are contiguous");
            energies[t] = self.framer.unwindowed(samples, t, row, rng);
        }
        (out, energies)
    }

    /// Where computed frames go: straight into output rows, or (dB with
    /// `top_db`) compressed rows and energies kept until the utterance
    /// maximum is known.
    pub(super) fn sink(&self, n_frames: usize) -> Sink {
        if self.compress.needs_utterance() {
            let width = self
                .mel
                .as_ref()
                .map_or(self.spectrum.num_bins(), MelBanks::num_bins);
            Sink::Utterance {
                comp: Array2::zeros((n_frames, width)),
                energies: vec![0.0; n_frames],
            }
        } else {
            Sink::Rows(Array2::zeros((n_frames, self.opts.static_dims())))
        }
    }

    /// Frames `frames` of `x` into `sink`, in time order (dither draws
    /// follow the frame order, so blocks give the same numbers as one
    /// call). `x` must hold every sample these frames read. On x86-64 with
    /// AVX2 (checked at run time) the same code is compiled for AVX2 (8-wide
    /// instead of SSE2's 4-wide lanes). No FMA is enabled and every
    /// reduction has a fixed lane layout, so both builds give the same
    /// numbers.
    pub(super) fn run_frames(
        &self,
        x: Signal<'_>,
        frames: Range<usize>,
        rng: &mut Rng,
        s: &mut Scratch,
        sink: &mut Sink,
    ) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { self.run_frames_avx2(x, frames, rng, s, sink) };
            return;
        }
        self.run_frames_body(x, frames, rng, s, sink);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_frames_avx2(
        &self,
        x: Signal<'_>,
        frames: Range<usize>,
        rng: &mut Rng,
        s: &mut Scratch,
        sink: &mut Sink,
    ) {
        self.run_frames_body(x, frames, rng, s, sink);
    }

    #[inline(always)]
    fn run_frames_body(
        &self,
        x: Signal<'_>,
        frames: Range<usize>,
        rng: &mut Rng,
        s: &mut Scratch,
        sink: &mut Sink,
    ) {
        for t in frames {
            let e = self.compressed_frame(x, t, rng, s);
            let comp = if self.mel.is_some() { &s.mel } else { &s.power };
            match sink {
                Sink::Rows(out) => {
                    let mut row = out.row_mut(t);
                    let row = row
                        .as_slice_mut()
                        .expect("rows of a standard array are contiguous");
                    self.assemble(comp, e, row);
                }
                Sink::Utterance {
                    comp: all,
                    energies,
                } => {
                    energies[t] = e;
                    all.row_mut(t)
                        .as_slice_mut()
                        .expect("contiguous")
                        .copy_from_slice(comp);
                }
            }
        }
    }

    /// The features from a filled sink: the utterance-level compression
    /// step when there is one, then CMVN and deltas.
    pub(super) fn finish(&self, sink: Sink) -> Array2<f32> {
        let out = match sink {
            Sink::Rows(out) => out,
            Sink::Utterance { mut comp, energies } => {
                self.compress
                    .finish(comp.as_slice_mut().expect("standard layout"));
                let mut out = Array2::zeros((comp.nrows(), self.opts.static_dims()));
                for (t, mut row) in out.rows_mut().into_iter().enumerate() {
                    let c = comp.row(t);
                    self.assemble(
                        c.as_slice().expect("contiguous"),
                        energies[t],
                        row.as_slice_mut().expect("contiguous"),
                    );
                }
                out
            }
        };
        self.post(out)
    }

    pub(super) fn scratch(&self) -> Scratch {
        Scratch {
            stage: vec![0.0; self.opts.frame_length()],
            power: vec![0.0; self.spectrum.num_bins()],
            mel: vec![0.0; self.mel.as_ref().map_or(0, MelBanks::num_bins)],
            fft: self.spectrum.scratch(),
        }
    }

    /// Frame `t` through framing, spectrum, mel and elementwise
    /// compression, leaving the compressed values in `s.mel` (or `s.power`
    /// for a spectrogram). Returns the frame's log energy (0 when unused).
    #[inline(always)]
    fn compressed_frame(&self, x: Signal<'_>, t: usize, rng: &mut Rng, s: &mut Scratch) -> f32 {
        let frame = self.spectrum.input(&mut s.fft);
        let mut e = self.framer.frame_of(x, t, frame, &mut s.stage, rng);
        let energy = &self.opts.energy;
        if energy.use_energy && !energy.raw_energy {
            e = log_energy(frame);
        }
        if let Some(floor) = self.log_energy_floor {
            e = e.max(floor);
        }
        self.spectrum.compute_input(&mut s.power, &mut s.fft);
        match &self.mel {
            Some(mel) => {
                mel.apply(&s.power, &mut s.mel);
                self.compress.apply(&mut s.mel);
            }
            None => self.compress.apply(&mut s.power),
        }
        e
    }

    /// One output row from compressed values and the log energy.
    #[inline(always)]
    fn assemble(&self, comp: &[f32], energy: f32, row: &mut [f32]) {
        let use_energy = self.opts.energy.use_energy;
        match self.opts.feature {
            Feature::Mfcc => {
                self.dct.as_ref().expect("MFCC has a DCT").apply(comp, row);
                if use_energy {
                    row[0] = energy;
                }
            }
            Feature::Fbank if use_energy => {
                row[0] = energy;
                row[1..].copy_from_slice(comp);
            }
            Feature::Fbank => row.copy_from_slice(comp),
            Feature::Spectrogram => {
                row.copy_from_slice(comp);
                if use_energy {
                    row[0] = energy;
                }
            }
        }
    }

    /// CMVN on the static features, then deltas.
    fn post(&self, mut x: Array2<f32>) -> Array2<f32> {
        let p = &self.opts.post;
        cmvn(&mut x, p.cmvn);
        if p.deltas {
            if x.nrows() == 0 {
                return Array2::zeros((0, self.dims()));
            }
            return add_deltas(x.view(), p.delta_order, p.delta_window);
        }
        x
    }
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
