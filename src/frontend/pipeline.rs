//! [`Frontend`]: the validated, precomputed pipeline and its per-utterance
//! driver.
//!
//! The fast path works one frame at a time through reused scratch buffers
//! (frame, spectrum, mel energies), writing each output row in place: no
//! allocation per frame and no full-spectrogram intermediate. Only dB
//! compression with `top_db` needs the utterance's maximum, so there the
//! compressed mel (or spectrum) rows are kept until the maximum is known.

use ndarray::Array2;

use super::compress::Compressor;
use super::dct::Dct;
use super::framing::{log_energy, Framer};
use super::mel::MelBanks;
use super::options::{Edges, Feature, FrontendOptions};
use super::post::{add_deltas, cmvn};
use super::spectrum::{Spectrum, SpectrumScratch};
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
struct Scratch {
    stage: Vec<f32>,
    frame: Vec<f32>,
    power: Vec<f32>,
    mel: Vec<f32>,
    fft: SpectrumScratch,
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

    /// The analysis window.
    pub fn window(&self) -> &[f32] {
        self.framer.window()
    }

    /// Features of one utterance. `samples` are mono in [-1, 1) at
    /// `options().sample_rate_hz` (scaled internally by `sample_scale`).
    /// `rng` drives dither only (untouched when dither is 0).
    /// Returns `(frames, dims)`; a signal shorter than one frame gives
    /// `(0, dims)`.
    pub fn compute(&self, samples: &[f32], rng: &mut Rng) -> Array2<f32> {
        let n_frames = self.num_frames(samples.len());
        let mut out = Array2::zeros((n_frames, self.opts.static_dims()));
        if n_frames > 0 {
            let mut s = self.scratch();
            if self.compress.needs_utterance() {
                self.compute_whole_utterance(samples, rng, &mut s, &mut out);
            } else {
                self.streamed_frames(samples, rng, &mut s, &mut out);
            }
        }
        self.post(out)
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

    /// The fast path: each frame straight into its output row. On x86-64
    /// with AVX2 (checked at run time) the same code is compiled for AVX2
    /// (8-wide instead of SSE2's 4-wide lanes). No FMA is enabled and every
    /// reduction has a fixed lane layout, so both builds give the same
    /// numbers.
    fn streamed_frames(&self, x: &[f32], rng: &mut Rng, s: &mut Scratch, out: &mut Array2<f32>) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { self.streamed_frames_avx2(x, rng, s, out) };
            return;
        }
        self.streamed_frames_body(x, rng, s, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn streamed_frames_avx2(
        &self,
        x: &[f32],
        rng: &mut Rng,
        s: &mut Scratch,
        out: &mut Array2<f32>,
    ) {
        self.streamed_frames_body(x, rng, s, out);
    }

    #[inline(always)]
    fn streamed_frames_body(
        &self,
        x: &[f32],
        rng: &mut Rng,
        s: &mut Scratch,
        out: &mut Array2<f32>,
    ) {
        for (t, mut row) in out.rows_mut().into_iter().enumerate() {
            let e = self.compressed_frame(x, t, rng, s);
            let comp = if self.mel.is_some() { &s.mel } else { &s.power };
            let row = row
                .as_slice_mut()
                .expect("rows of a standard array are contiguous");
            self.assemble(comp, e, row);
        }
    }

    fn scratch(&self) -> Scratch {
        Scratch {
            stage: vec![0.0; self.opts.frame_length()],
            frame: vec![0.0; self.spectrum.fft_size()],
            power: vec![0.0; self.spectrum.num_bins()],
            mel: vec![0.0; self.mel.as_ref().map_or(0, MelBanks::num_bins)],
            fft: self.spectrum.scratch(),
        }
    }

    /// Frame `t` through framing, spectrum, mel and elementwise
    /// compression, leaving the compressed values in `s.mel` (or `s.power`
    /// for a spectrogram). Returns the frame's log energy (0 when unused).
    #[inline(always)]
    fn compressed_frame(&self, x: &[f32], t: usize, rng: &mut Rng, s: &mut Scratch) -> f32 {
        let mut e = self.framer.frame(x, t, &mut s.frame, &mut s.stage, rng);
        let energy = &self.opts.energy;
        if energy.use_energy && !energy.raw_energy {
            e = log_energy(&s.frame);
        }
        if let Some(floor) = self.log_energy_floor {
            e = e.max(floor);
        }
        self.spectrum
            .compute(&mut s.frame, &mut s.power, &mut s.fft);
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

    /// dB with `top_db`: keep every frame's compressed values, clip them to
    /// the utterance maximum minus `top_db`, then assemble the rows.
    fn compute_whole_utterance(
        &self,
        x: &[f32],
        rng: &mut Rng,
        s: &mut Scratch,
        out: &mut Array2<f32>,
    ) {
        let n = out.nrows();
        let width = if self.mel.is_some() {
            s.mel.len()
        } else {
            s.power.len()
        };
        let mut comp = Array2::<f32>::zeros((n, width));
        let mut energies = vec![0.0f32; n];
        for (t, e) in energies.iter_mut().enumerate() {
            *e = self.compressed_frame(x, t, rng, s);
            let src = if self.mel.is_some() { &s.mel } else { &s.power };
            comp.row_mut(t)
                .as_slice_mut()
                .expect("contiguous")
                .copy_from_slice(src);
        }
        self.compress
            .finish(comp.as_slice_mut().expect("standard layout"));
        for (t, mut row) in out.rows_mut().into_iter().enumerate() {
            let c = comp.row(t);
            self.assemble(
                c.as_slice().expect("contiguous"),
                energies[t],
                row.as_slice_mut().expect("contiguous"),
            );
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

fn positive(field: &'static str, v: f32) -> Result<(), FrontendError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(FrontendError::invalid(field, v, "must be finite and > 0"))
    }
}

fn non_negative(field: &'static str, v: f32) -> Result<(), FrontendError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(FrontendError::invalid(field, v, "must be finite and >= 0"))
    }
}

/// A derived frame size must be at least one sample; the error names the
/// field that set it (`frame.<what>_samples` or `frame.<what>_ms`).
fn check_samples(
    n: usize,
    samples: Option<usize>,
    what: &'static str,
    ms: f32,
    rate: f32,
) -> Result<(), FrontendError> {
    if n > 0 {
        return Ok(());
    }
    let (field, v) = match (samples, what) {
        (Some(s), "frame_length") => ("frame.frame_length_samples", s.to_string()),
        (Some(s), _) => ("frame.frame_shift_samples", s.to_string()),
        (None, "frame_length") => ("frame.frame_length_ms", ms.to_string()),
        (None, _) => ("frame.frame_shift_ms", ms.to_string()),
    };
    Err(FrontendError::invalid(
        field,
        v,
        format!("gives no samples at {rate} Hz"),
    ))
}

/// Every check that does not need a built stage (the mel bank checks its
/// own frequencies and coverage).
fn validate(o: &FrontendOptions) -> Result<(), FrontendError> {
    positive("sample_rate_hz", o.sample_rate_hz)?;
    positive("sample_scale", o.sample_scale)?;
    let f = &o.frame;
    let rate = o.sample_rate_hz;
    check_samples(
        o.frame_length(),
        f.frame_length_samples,
        "frame_length",
        f.frame_length_ms,
        rate,
    )?;
    check_samples(
        o.frame_shift(),
        f.frame_shift_samples,
        "frame_shift",
        f.frame_shift_ms,
        rate,
    )?;
    if o.fft_size() < o.frame_length() {
        return Err(FrontendError::invalid(
            "frame.fft_size",
            o.fft_size(),
            format!("< frame length ({} samples)", o.frame_length()),
        ));
    }
    if f.edges == Edges::Centre && o.fft_size() < 2 {
        return Err(FrontendError::invalid(
            "frame.fft_size",
            o.fft_size(),
            "must be >= 2 for centred frames",
        ));
    }
    non_negative("frame.dither", f.dither)?;
    if !(f.preemph_coeff.is_finite() && (0.0..=1.0).contains(&f.preemph_coeff)) {
        return Err(FrontendError::invalid(
            "frame.preemph_coeff",
            f.preemph_coeff,
            "must be in [0, 1]",
        ));
    }
    if !o.window.blackman_coeff.is_finite() {
        return Err(FrontendError::invalid(
            "window.blackman_coeff",
            o.window.blackman_coeff,
            "must be finite",
        ));
    }
    non_negative("energy.energy_floor", o.energy.energy_floor)?;
    let c = &o.compress;
    positive("compress.log_floor", c.log_floor)?;
    positive("compress.db_amin", c.db_amin)?;
    positive("compress.db_ref", c.db_ref)?;
    if let Some(top) = c.top_db {
        non_negative("compress.top_db", top)?;
    }
    if o.feature == Feature::Mfcc {
        let d = &o.dct;
        if d.num_ceps == 0 {
            return Err(FrontendError::invalid(
                "dct.num_ceps",
                0,
                "must be at least 1",
            ));
        }
        if d.num_ceps > o.mel.num_bins {
            return Err(FrontendError::invalid(
                "dct.num_ceps",
                d.num_ceps,
                format!("> mel.num_bins ({})", o.mel.num_bins),
            ));
        }
        non_negative("dct.lifter", d.lifter)?;
    }
    if o.post.deltas && o.post.delta_window == 0 {
        return Err(FrontendError::invalid(
            "post.delta_window",
            0,
            "must be at least 1 when deltas are on",
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
