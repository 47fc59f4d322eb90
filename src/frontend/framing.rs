//! Framing: where frames sit, and the per-frame time-domain processing
//! (scale, dither, DC removal, raw energy, pre-emphasis, window, zero pad).
//!
//! Order within a frame follows Kaldi's `ExtractWindow` + `ProcessWindow`:
//! copy (scaled by `sample_scale`) -> dither -> remove DC -> raw log energy
//! -> pre-emphasis -> window -> zero-pad to the FFT size.

use super::gauss::add_normals;
use super::kernels::{scale_into, sum, sum_sq, sum_sq_centred};
use super::options::{Edges, FrontendOptions, Padding};
use super::window::make_window;
use crate::nn::Rng;

/// A stretch of a signal of `len` samples: `data[k]` is sample
/// `offset + k`. The whole signal is `offset = 0`, `data.len() = len`; the
/// streaming driver passes the window of samples it currently holds.
#[derive(Clone, Copy, Debug)]
pub struct Signal<'a> {
    data: &'a [f32],
    offset: usize,
    len: usize,
}

impl<'a> Signal<'a> {
    /// The whole signal.
    pub fn whole(x: &'a [f32]) -> Self {
        Signal {
            data: x,
            offset: 0,
            len: x.len(),
        }
    }

    /// Samples `offset..offset + data.len()` of a signal of `len` samples.
    pub fn window(data: &'a [f32], offset: usize, len: usize) -> Self {
        debug_assert!(offset + data.len() <= len);
        Signal { data, offset, len }
    }

    /// Sample `i` (must be in the window).
    #[inline(always)]
    fn get(&self, i: usize) -> f32 {
        self.data[i - self.offset]
    }

    /// Samples `start..start + n` (must be in the window).
    #[inline(always)]
    fn slice(&self, start: usize, n: usize) -> &'a [f32] {
        &self.data[start - self.offset..start - self.offset + n]
    }
}

/// Frame placement and time-domain processing, precomputed from options.
#[derive(Debug, Clone)]
pub struct Framer {
    length: usize,
    shift: usize,
    fft_size: usize,
    edges: Edges,
    padding: Padding,
    scale: f32,
    dither: f32,
    remove_dc: bool,
    preemph: f32,
    raw_energy: bool,
    drop_last: bool,
    window: Vec<f32>,
}

impl Framer {
    /// Builds from validated options (sizes must be positive, `fft_size >=
    /// frame_length`; [`super::Frontend::new`] checks this).
    pub fn new(opts: &FrontendOptions) -> Self {
        let length = opts.frame_length();
        Framer {
            length,
            shift: opts.frame_shift(),
            fft_size: opts.fft_size(),
            edges: opts.frame.edges,
            padding: opts.frame.padding,
            scale: opts.sample_scale,
            dither: opts.frame.dither,
            remove_dc: opts.frame.remove_dc,
            preemph: opts.frame.preemph_coeff,
            raw_energy: opts.energy.use_energy && opts.energy.raw_energy,
            drop_last: opts.frame.drop_last_frame,
            window: make_window(&opts.window, length),
        }
    }

    /// The window applied to each frame (length = frame length).
    pub fn window(&self) -> &[f32] {
        &self.window
    }

    /// Frames produced for `n` samples (see [`Edges`] for each rule), one
    /// fewer with `drop_last_frame`.
    pub fn num_frames(&self, n: usize) -> usize {
        let all = self.placed_frames(n);
        if self.drop_last {
            all.saturating_sub(1)
        } else {
            all
        }
    }

    fn placed_frames(&self, n: usize) -> usize {
        match self.edges {
            Edges::Snip if n < self.length => 0,
            Edges::Snip => 1 + (n - self.length) / self.shift,
            Edges::Kaldi => (n + self.shift / 2) / self.shift,
            Edges::Centre => {
                let padded = n + 2 * (self.fft_size / 2);
                if n == 0 || padded < self.fft_size {
                    0
                } else {
                    1 + (padded - self.fft_size) / self.shift
                }
            }
        }
    }

    /// Index in the signal of the first sample of frame `t` (may be negative).
    #[inline(always)]
    fn first_sample(&self, t: usize) -> i64 {
        let (t, shift, len) = (t as i64, self.shift as i64, self.length as i64);
        match self.edges {
            Edges::Snip => t * shift,
            Edges::Kaldi => t * shift + shift / 2 - len / 2,
            // librosa pads by fft/2 and centres a shorter window in the FFT
            // frame (`pad_center`); the offset within the FFT buffer only
            // changes the phase, not |X|.
            Edges::Centre => {
                let fft = self.fft_size as i64;
                t * shift - fft / 2 + (fft - len) / 2
            }
        }
    }

    /// Where signal index `i` (may be outside `0..n`) reads from under this
    /// framer's edge rule, for a signal of `n >= 1` samples; `None` for a
    /// zero-padded position.
    #[inline(always)]
    fn index_at(&self, n: usize, i: i64) -> Option<usize> {
        let n = n as i64;
        if (0..n).contains(&i) {
            return Some(i as usize);
        }
        match (self.edges, self.padding) {
            (Edges::Centre, Padding::Zero) => None,
            (Edges::Centre, Padding::Reflect) => {
                if n == 1 {
                    return Some(0);
                }
                // numpy "reflect": period 2(n-1), edge not repeated.
                let p = 2 * (n - 1);
                let m = i.rem_euclid(p);
                Some((if m < n { m } else { p - m }) as usize)
            }
            // Kaldi: mirror with the edge sample repeated.
            _ => {
                let mut s = i;
                while s < 0 || s >= n {
                    s = if s < 0 { -s - 1 } else { 2 * n - 1 - s };
                }
                Some(s as usize)
            }
        }
    }

    /// True when frame `t` lies inside a signal of `n` samples (no edge
    /// rule needed).
    #[inline(always)]
    pub fn is_interior(&self, t: usize, n: usize) -> bool {
        let start = self.first_sample(t);
        start >= 0 && start as usize + self.length <= n
    }

    /// The samples frame `t` of an `n`-sample signal reads, as a half-open
    /// range `lo..hi` of signal indices (empty, `lo >= hi`, when it reads
    /// only zero padding). Interior frames read `start..start + length`;
    /// edge frames are scanned through the edge rule.
    pub fn source_range(&self, t: usize, n: usize) -> (usize, usize) {
        let start = self.first_sample(t);
        if self.is_interior(t, n) {
            return (start as usize, start as usize + self.length);
        }
        (0..self.length as i64)
            .filter_map(|k| self.index_at(n, start + k))
            .fold((usize::MAX, 0), |(lo, hi), i| (lo.min(i), hi.max(i + 1)))
    }

    /// Fills `stage[..frame length]` with frame `t` of `x` after scaling and
    /// dither. Returns the frame mean to remove (0 without DC removal) and
    /// the raw log energy of the DC-free frame when raw energy is in use
    /// (else 0). The mean is not subtracted here: [`Framer::frame`] folds it
    /// into the pre-emphasis pass, saving a read-write pass.
    #[inline(always)]
    fn prepare(&self, x: Signal<'_>, t: usize, stage: &mut [f32], rng: &mut Rng) -> (f32, f32) {
        let len = self.length;
        let stage = &mut stage[..len];
        let start = self.first_sample(t);
        let scale = self.scale;
        let mut total = None;
        if self.is_interior(t, x.len) {
            let src = x.slice(start as usize, len);
            total = Some(scale_into(src, scale, stage));
        } else {
            for (k, o) in stage.iter_mut().enumerate() {
                let v = self
                    .index_at(x.len, start + k as i64)
                    .map_or(0.0, |i| x.get(i));
                *o = v * scale;
            }
        }
        if self.dither != 0.0 {
            total = None;
            // One independent draw per frame sample, frames in order.
            add_normals(rng, self.dither, stage);
        }
        let mean = match (self.remove_dc, total) {
            (false, _) => 0.0,
            (true, Some(total)) => total / len as f32,
            (true, None) => sum(stage) / len as f32,
        };
        let energy = if self.raw_energy {
            sum_sq_centred(stage, mean).max(f32::EPSILON).ln()
        } else {
            0.0
        };
        (mean, energy)
    }

    /// Fills `out` (length = FFT size) with processed frame `t` of `x` and
    /// returns its raw log energy when raw energy is in use (else 0).
    /// `stage` (length >= frame length) is scratch.
    ///
    /// `x` must be non-empty and `t < num_frames(x.len())`.
    #[inline(always)]
    pub fn frame(
        &self,
        x: &[f32],
        t: usize,
        out: &mut [f32],
        stage: &mut [f32],
        rng: &mut Rng,
    ) -> f32 {
        self.frame_of(Signal::whole(x), t, out, stage, rng)
    }

    /// [`Framer::frame`] on a window of the signal: `x` must hold every
    /// sample in [`Framer::source_range`] of frame `t`.
    #[inline(always)]
    pub fn frame_of(
        &self,
        x: Signal<'_>,
        t: usize,
        out: &mut [f32],
        stage: &mut [f32],
        rng: &mut Rng,
    ) -> f32 {
        debug_assert_eq!(out.len(), self.fft_size);
        let len = self.length;
        let (mean, log_energy) = self.prepare(x, t, stage, rng);
        let stage = &stage[..len];
        // DC removal, pre-emphasis and window in one pass from `stage` into
        // `out`, with v = x - mean: y[i] = (v[i] - c v[i-1]) w[i],
        // y[0] = (v[0] - c v[0]) w[0]. (Expanding to x[i] - c x[i-1] -
        // (1 - c) mean rounds differently and moved Kaldi parity by 4e-4.)
        let (frame, tail) = out.split_at_mut(len);
        let (c, w) = (self.preemph, &self.window);
        let v0 = stage[0] - mean;
        frame[0] = (v0 - c * v0) * w[0];
        let pairs = stage[1..].iter().zip(&stage[..len - 1]);
        for ((o, &wi), (&cur, &prev)) in frame[1..].iter_mut().zip(&w[1..]).zip(pairs) {
            *o = ((cur - mean) - c * (prev - mean)) * wi;
        }
        tail.fill(0.0);
        log_energy
    }

    /// Frame `t` pre-emphasised but not windowed nor padded, into `out`
    /// (length = frame length): the input of the layer form, whose DFT
    /// basis holds the window. Returns the raw log energy (or 0).
    pub fn unwindowed(&self, x: &[f32], t: usize, out: &mut [f32], rng: &mut Rng) -> f32 {
        let (mean, e) = self.prepare(Signal::whole(x), t, out, rng);
        let out = &mut out[..self.length];
        out.iter_mut().for_each(|v| *v -= mean);
        let c = self.preemph;
        for i in (1..self.length).rev() {
            out[i] -= c * out[i - 1];
        }
        out[0] -= c * out[0];
        e
    }
}

/// `ln(max(sum x^2, FLT_EPSILON))`, Kaldi's log energy of a frame.
pub fn log_energy(frame: &[f32]) -> f32 {
    sum_sq(frame).max(f32::EPSILON).ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::options::{Feature, Preset};
    use crate::nn::rng_from_seed;

    fn opts(edges: Edges) -> FrontendOptions {
        let mut o = FrontendOptions::default();
        o.frame.frame_length_samples = Some(4);
        o.frame.frame_shift_samples = Some(2);
        o.frame.edges = edges;
        o.frame.dither = 0.0;
        o.frame.remove_dc = false;
        o.frame.preemph_coeff = 0.0;
        o.window.kind = crate::frontend::options::WindowKind::Rectangular;
        o.sample_scale = 1.0;
        o
    }

    #[test]
    fn frame_counts_match_kaldi_and_librosa() {
        let f = Framer::new(&FrontendOptions::default()); // 400 / 160
        assert_eq!(f.num_frames(399), 0);
        assert_eq!(f.num_frames(400), 1);
        assert_eq!(f.num_frames(16000), 98);
        let mut o = FrontendOptions::default();
        o.frame.edges = Edges::Kaldi;
        assert_eq!(Framer::new(&o).num_frames(16000), 100);
        assert_eq!(Framer::new(&o).num_frames(79), 0);
        let l = Framer::new(&FrontendOptions::preset(
            Preset::Librosa,
            Feature::Mfcc,
            16000.0,
        ));
        assert_eq!(l.num_frames(22050), 1 + 22050 / 512);
        assert_eq!(
            l.num_frames(1),
            1,
            "librosa pads any non-empty signal to one frame"
        );
        assert_eq!(l.num_frames(0), 0);
    }

    #[test]
    fn edge_rules() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let mut rng = rng_from_seed(1);
        let mut out = vec![0.0; 4];
        // Kaldi snip_edges=false: frame 0 starts at 0 + 1 - 2 = -1 -> mirrors x[0].
        Framer::new(&opts(Edges::Kaldi)).frame(&x, 0, &mut out, &mut [0.0; 8], &mut rng);
        assert_eq!(out, [1.0, 1.0, 2.0, 3.0]);
        // Centre with zeros: start = -2.
        Framer::new(&opts(Edges::Centre)).frame(&x, 0, &mut out, &mut [0.0; 8], &mut rng);
        assert_eq!(out, [0.0, 0.0, 1.0, 2.0]);
        let mut o = opts(Edges::Centre);
        o.frame.padding = Padding::Reflect;
        let f = Framer::new(&o);
        f.frame(&x, 0, &mut out, &mut [0.0; 8], &mut rng);
        assert_eq!(out, [3.0, 2.0, 1.0, 2.0], "numpy reflect");
        f.frame(&x, 3, &mut out, &mut [0.0; 8], &mut rng); // start 4: 5, then 4, 3, 2
        assert_eq!(out, [5.0, 4.0, 3.0, 2.0]);
    }

    #[test]
    fn dc_energy_preemphasis_in_kaldi_order() {
        let mut o = opts(Edges::Snip);
        o.frame.remove_dc = true;
        o.frame.preemph_coeff = 0.5;
        o.frame.fft_size = Some(8);
        let x = [1.0, 3.0, 1.0, 3.0];
        let mut out = vec![9.0; 8];
        let e = Framer::new(&o).frame(&x, 0, &mut out, &mut [0.0; 8], &mut rng_from_seed(1));
        // after DC removal: [-1, 1, -1, 1], energy 4
        assert!((e - 4.0f32.ln()).abs() < 1e-6);
        // pre-emphasis: x0 - .5 x0 = -0.5; 1 + 0.5 = 1.5; -1 - 0.5 = -1.5; 1.5
        assert_eq!(out, [-0.5, 1.5, -1.5, 1.5, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn dither_is_seeded_and_scaled() {
        let mut o = opts(Edges::Snip);
        o.frame.dither = 1.0;
        o.frame.frame_length_samples = Some(4000);
        let x = vec![0.0; 4000];
        let f = Framer::new(&o);
        let (mut a, mut b) = (vec![0.0; 4096], vec![0.0; 4096]);
        f.frame(&x, 0, &mut a, &mut vec![0.0; 4000], &mut rng_from_seed(3));
        f.frame(&x, 0, &mut b, &mut vec![0.0; 4000], &mut rng_from_seed(3));
        assert_eq!(a, b, "same seed, same dither");
        let var = a[..4000].iter().map(|v| v * v).sum::<f32>() / 4000.0;
        // Sample variance of 4000 N(0,1) draws: std error ~0.022, so 0.1 is > 4 sigma.
        assert!((var - 1.0).abs() < 0.1, "variance {var}");
    }

    #[test]
    fn silence_energy_is_floored() {
        assert_eq!(log_energy(&[0.0; 10]), f32::EPSILON.ln());
    }
}
