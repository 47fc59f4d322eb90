//! Mel filterbank stored as sparse bands: for each filter, the first FFT bin
//! it touches and its non-zero weights.
//!
//! Two scales ([`MelScale::Htk`]: `1127 ln(1 + f/700)`, as Kaldi;
//! [`MelScale::Slaney`]: linear to 1 kHz then log, as librosa's default) and
//! two triangle shapes ([`Triangles::Mel`]: linear in mel, Kaldi;
//! [`Triangles::Hz`]: linear in Hz between mel-spaced corners, librosa).
//! Corners: `num_bins + 2` points equally spaced in mel between the low and
//! high frequency. Kaldi looks only at bins `0..fft_size/2` (the Nyquist bin
//! is never in a filter, `include_nyquist = false`) and keeps a bin only when
//! strictly inside the triangle; librosa covers all `fft_size/2 + 1` bins.
//! Weights are computed in f64 and stored as f32.

use ndarray::Array2;

use super::kernels::dot;
use super::options::{FrontendOptions, MelNorm, MelScale, Triangles};
use super::FrontendError;

/// Hz -> mel on `scale` ([`MelScale::mel`], the one definition).
pub fn hz_to_mel(f: f64, scale: MelScale) -> f64 {
    scale.mel(f)
}

/// mel -> Hz on `scale` (inverse of [`hz_to_mel`]).
pub fn mel_to_hz(m: f64, scale: MelScale) -> f64 {
    scale.hz(m)
}

/// Kaldi's piecewise-linear vocal-tract-length warp of a frequency in Hz.
///
/// With `a` the warp factor, `l = low_cut * max(1, a)` and
/// `h = high_cut * min(1, a)`: `f -> f / a` on `[l, h]`, and straight lines
/// from `(low, low)` to `(l, l / a)` and from `(h, h / a)` to `(high, high)`,
/// so the filterbank's edges stay put and the map is continuous and
/// monotone. Frequencies outside `[low, high]` are returned unchanged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VtlnWarp {
    low: f64,
    high: f64,
    l: f64,
    h: f64,
    scale: f64,
    scale_left: f64,
    scale_right: f64,
}

impl VtlnWarp {
    /// The warp of `opts.mel`, or `None` for a factor of exactly 1.
    ///
    /// # Errors
    /// A factor that is not positive and finite, or cut-offs that do not
    /// satisfy `low < l` and `h < high` (Kaldi's own requirement).
    pub fn new(opts: &FrontendOptions) -> Result<Option<Self>, FrontendError> {
        let m = &opts.mel;
        let a = f64::from(m.vtln_warp);
        if !(a.is_finite() && a > 0.0) {
            return Err(FrontendError::invalid(
                "mel.vtln_warp",
                m.vtln_warp,
                "must be positive and finite",
            ));
        }
        if a == 1.0 {
            return Ok(None);
        }
        let nyquist = 0.5 * f64::from(opts.sample_rate_hz);
        let low = f64::from(m.low_freq_hz);
        let high = f64::from(opts.mel_high_freq_hz());
        let high_cut = if m.vtln_high_hz > 0.0 {
            f64::from(m.vtln_high_hz)
        } else {
            nyquist + f64::from(m.vtln_high_hz)
        };
        let l = f64::from(m.vtln_low_hz) * a.max(1.0);
        let h = high_cut * a.min(1.0);
        if l <= low || l.is_nan() {
            return Err(FrontendError::invalid(
                "mel.vtln_low_hz",
                m.vtln_low_hz,
                format!("times max(1, warp) gives {l} Hz, not above mel.low_freq_hz {low}"),
            ));
        }
        if !(h < high && h > l) {
            return Err(FrontendError::invalid(
                "mel.vtln_high_hz",
                m.vtln_high_hz,
                format!("times min(1, warp) gives {h} Hz, not in ({l}, {high}) Hz"),
            ));
        }
        let scale = 1.0 / a;
        Ok(Some(VtlnWarp {
            low,
            high,
            l,
            h,
            scale,
            scale_left: (scale * l - low) / (l - low),
            scale_right: (high - scale * h) / (high - h),
        }))
    }

    /// The warped frequency of `f` Hz.
    pub fn apply(&self, f: f64) -> f64 {
        if f < self.low || f > self.high {
            f
        } else if f < self.l {
            self.low + self.scale_left * (f - self.low)
        } else if f < self.h {
            self.scale * f
        } else {
            self.high + self.scale_right * (f - self.high)
        }
    }
}

/// Triangular filters as (start bin, weights) bands over the one-sided
/// spectrum of `fft_size / 2 + 1` bins.
#[derive(Debug, Clone, PartialEq)]
pub struct MelBanks {
    num_fft_bins: usize,
    starts: Vec<usize>,
    /// `offsets[m]..offsets[m + 1]` indexes `weights` for filter `m`.
    offsets: Vec<usize>,
    weights: Vec<f32>,
    centres_hz: Vec<f64>,
}

impl MelBanks {
    /// Builds the filters of `opts.mel` for `opts.fft_size()` at
    /// `opts.sample_rate_hz`.
    ///
    /// # Errors
    /// A frequency outside `0 <= low < high <= Nyquist`, zero filters, or a
    /// filter that covers no FFT bin (too many filters for the FFT size).
    pub fn new(opts: &FrontendOptions) -> Result<Self, FrontendError> {
        let m = &opts.mel;
        let rate = f64::from(opts.sample_rate_hz);
        let nyquist = 0.5 * rate;
        let low = f64::from(m.low_freq_hz);
        let high = f64::from(opts.mel_high_freq_hz());
        if m.num_bins == 0 {
            return Err(FrontendError::invalid(
                "mel.num_bins",
                0,
                "must be at least 1",
            ));
        }
        if !(0.0..nyquist).contains(&low) {
            return Err(FrontendError::invalid(
                "mel.low_freq_hz",
                low,
                format!("outside [0, Nyquist {nyquist})"),
            ));
        }
        if !(high > low && high <= nyquist) {
            return Err(FrontendError::invalid(
                "mel.high_freq_hz",
                m.high_freq_hz,
                format!("gives {high} Hz, not in (low_freq_hz {low}, Nyquist {nyquist}]"),
            ));
        }
        let fft_size = opts.fft_size();
        let num_fft_bins = fft_size / 2 + 1;
        let considered = if m.include_nyquist {
            num_fft_bins
        } else {
            fft_size / 2
        };
        let bin_hz = rate / fft_size as f64;
        let (mel_low, mel_high) = (hz_to_mel(low, m.scale), hz_to_mel(high, m.scale));
        let delta = (mel_high - mel_low) / (m.num_bins + 1) as f64;
        let warp = VtlnWarp::new(opts)?;
        let mut banks = MelBanks {
            num_fft_bins,
            starts: Vec::with_capacity(m.num_bins),
            offsets: vec![0],
            weights: Vec::new(),
            centres_hz: Vec::with_capacity(m.num_bins),
        };
        for b in 0..m.num_bins {
            let mut corners_mel = [0, 1, 2].map(|k| mel_low + (b + k) as f64 * delta);
            if let Some(w) = &warp {
                corners_mel =
                    corners_mel.map(|x| hz_to_mel(w.apply(mel_to_hz(x, m.scale)), m.scale));
            }
            let [l, c, r] = corners_mel;
            let [lh, ch, rh] = corners_mel.map(|x| mel_to_hz(x, m.scale));
            let area = match m.norm {
                MelNorm::None => 1.0,
                MelNorm::Slaney => 2.0 / (rh - lh),
            };
            let mut first = None;
            for i in 0..considered {
                let f = bin_hz * i as f64;
                let w = match m.triangles {
                    Triangles::Mel => {
                        let x = hz_to_mel(f, m.scale);
                        if x > l && x < r {
                            if x <= c {
                                (x - l) / (c - l)
                            } else {
                                (r - x) / (r - c)
                            }
                        } else {
                            0.0
                        }
                    }
                    Triangles::Hz => ((f - lh) / (ch - lh)).min((rh - f) / (rh - ch)).max(0.0),
                };
                if w > 0.0 {
                    let start = *first.get_or_insert(i);
                    // Fill any interior zero so the band stays contiguous.
                    let have = banks.weights.len() - banks.offsets[b];
                    banks
                        .weights
                        .extend(std::iter::repeat_n(0.0, i - start - have));
                    banks.weights.push((w * area) as f32);
                }
            }
            let Some(start) = first else {
                return Err(FrontendError::invalid(
                    "mel.num_bins",
                    m.num_bins,
                    format!("too many for fft_size {fft_size}: filter {b} covers no FFT bin"),
                ));
            };
            banks.starts.push(start);
            banks.offsets.push(banks.weights.len());
            banks.centres_hz.push(ch);
        }
        Ok(banks)
    }

    /// Number of filters.
    pub fn num_bins(&self) -> usize {
        self.starts.len()
    }

    /// Input length: one-sided spectrum bins.
    pub fn num_fft_bins(&self) -> usize {
        self.num_fft_bins
    }

    /// Filter `m` as (first FFT bin, weights).
    pub fn band(&self, m: usize) -> (usize, &[f32]) {
        (
            self.starts[m],
            &self.weights[self.offsets[m]..self.offsets[m + 1]],
        )
    }

    /// Centre frequency of each filter in Hz.
    pub fn centres_hz(&self) -> &[f64] {
        &self.centres_hz
    }

    /// `out[m] = sum_k w_m[k] spec[start_m + k]`.
    ///
    /// # Shapes
    /// `spec: (num_fft_bins,)` -> `out: (num_bins,)`
    #[inline(always)]
    pub fn apply(&self, spec: &[f32], out: &mut [f32]) {
        for (m, o) in out.iter_mut().enumerate() {
            let (start, w) = self.band(m);
            let s = &spec[start..start + w.len()];
            *o = dot(w, s);
        }
    }

    /// The filters as a dense `(num_bins, num_fft_bins)` matrix (for the
    /// layer form and for tests).
    pub fn dense(&self) -> Array2<f32> {
        let mut d = Array2::zeros((self.num_bins(), self.num_fft_bins));
        for m in 0..self.num_bins() {
            let (start, w) = self.band(m);
            for (k, &v) in w.iter().enumerate() {
                d[[m, start + k]] = v;
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::options::{Feature, Preset};

    fn kaldi16() -> FrontendOptions {
        FrontendOptions::default()
    }

    fn librosa(sr: f32) -> FrontendOptions {
        FrontendOptions::preset(Preset::Librosa, Feature::Mfcc, sr)
    }

    #[test]
    fn scales_invert_and_match_known_points() {
        for scale in [MelScale::Htk, MelScale::Slaney] {
            for f in [0.0, 123.0, 999.0, 1000.0, 4000.0, 11025.0] {
                assert!((mel_to_hz(hz_to_mel(f, scale), scale) - f).abs() < 1e-9 * (1.0 + f));
            }
        }
        // HTK: 1000 Hz ~ 1000 mel; Slaney: 1000 Hz = 15 mel exactly.
        assert!((hz_to_mel(1000.0, MelScale::Htk) - 999.99).abs() < 0.1);
        assert!((hz_to_mel(1000.0, MelScale::Slaney) - 15.0).abs() < 1e-12);
        // librosa.hz_to_mel(4000) = 35.16376031
        assert!((hz_to_mel(4000.0, MelScale::Slaney) - 35.163_760_3).abs() < 1e-6);
    }

    #[test]
    fn sparse_apply_equals_dense_oracle() {
        for o in [kaldi16(), librosa(8000.0)] {
            let banks = MelBanks::new(&o).unwrap();
            let n = banks.num_fft_bins();
            let spec: Vec<f32> = (0..n).map(|i| ((i * 37) % 11) as f32 + 0.5).collect();
            let mut out = vec![0.0; banks.num_bins()];
            banks.apply(&spec, &mut out);
            let d = banks.dense();
            for m in 0..banks.num_bins() {
                let want: f64 = (0..n).map(|k| d[[m, k]] as f64 * spec[k] as f64).sum();
                // f32 sums of < 100 positive terms: relative error < 1e-5.
                assert!(
                    (out[m] as f64 - want).abs() <= 1e-5 * want.abs(),
                    "{m}: {} vs {want}",
                    out[m]
                );
            }
        }
    }

    #[test]
    fn kaldi_filters_exclude_nyquist_and_peak_near_centres() {
        let banks = MelBanks::new(&kaldi16()).unwrap();
        let d = banks.dense();
        assert_eq!(d.dim(), (23, 257));
        assert!(
            d.column(256).iter().all(|&v| v == 0.0),
            "Nyquist bin unused"
        );
        assert!(d.iter().all(|&v| (0.0..=1.0).contains(&v)));
        for m in 0..23 {
            let row = d.row(m);
            let peak = row
                .iter()
                .enumerate()
                .fold((0, 0.0f32), |a, (i, &v)| if v > a.1 { (i, v) } else { a })
                .0;
            let centre_bin = banks.centres_hz()[m] / (16000.0 / 512.0);
            assert!(
                (peak as f64 - centre_bin).abs() <= 1.0,
                "filter {m}: peak {peak} centre {centre_bin}"
            );
        }
        // First filter starts above 20 Hz: bin 1 = 31.25 Hz.
        assert!(banks.band(0).0 >= 1);
    }

    #[test]
    fn slaney_area_norm_gives_equal_areas_in_hz() {
        let o = librosa(16000.0);
        let banks = MelBanks::new(&o).unwrap();
        let bin_hz = 16000.0 / 2048.0;
        // Area (in Hz) of each normalised triangle is 1; the discrete
        // Riemann sum is within one bin width's worth of error.
        for m in 20..128 {
            let (_, w) = banks.band(m);
            let area: f64 = w.iter().map(|&v| v as f64).sum::<f64>() * bin_hz;
            assert!((area - 1.0).abs() < 0.05, "filter {m}: area {area}");
        }
    }

    #[test]
    fn vtln_warp_is_continuous_monotone_and_keeps_the_edges() {
        for a in [0.85f32, 0.95, 1.05, 1.2] {
            let mut o = kaldi16();
            o.mel.vtln_warp = a;
            let w = VtlnWarp::new(&o).unwrap().expect("warp != 1");
            let (low, high) = (20.0, 8000.0);
            assert!((w.apply(low) - low).abs() < 1e-9, "low edge moved at {a}");
            assert!(
                (w.apply(high) - high).abs() < 1e-9,
                "high edge moved at {a}"
            );
            // f / a in the middle band.
            assert!((w.apply(2000.0) - 2000.0 / f64::from(a)).abs() < 1e-9);
            let mut prev = w.apply(low);
            for i in 1..=8000 {
                let f = low + (high - low) * f64::from(i) / 8000.0;
                let y = w.apply(f);
                assert!(y > prev, "not increasing at {f} Hz, warp {a}");
                // A step of ~1 Hz never jumps: continuity at both knees
                // (the steepest segment has slope below 4 for these factors).
                assert!(y - prev < 4.0, "jump at {f} Hz, warp {a}");
                prev = y;
            }
        }
    }

    #[test]
    fn vtln_warp_moves_filter_centres_by_the_factor_and_one_is_identity() {
        let base = MelBanks::new(&kaldi16()).unwrap();
        let mut o = kaldi16();
        o.mel.vtln_warp = 1.0;
        assert_eq!(MelBanks::new(&o).unwrap(), base, "warp 1 must be a no-op");
        o.mel.vtln_warp = 1.1;
        let warped = MelBanks::new(&o).unwrap();
        let mut in_band = 0;
        for (c0, c1) in base.centres_hz().iter().zip(warped.centres_hz()) {
            if *c0 > 110.0 && *c0 < 7500.0 * 1.0 {
                assert!(
                    (c1 - c0 / 1.1).abs() < 1e-3,
                    "centre {c0} -> {c1} ({})",
                    c0 / 1.1
                );
                in_band += 1;
            }
        }
        assert!(in_band > 15, "only {in_band} centres in the linear part");
        assert_ne!(warped.dense(), base.dense());
        for bad in [0.0f32, -1.0, f32::NAN] {
            o.mel.vtln_warp = bad;
            let e = MelBanks::new(&o).unwrap_err().to_string();
            assert!(e.contains("mel.vtln_warp"), "{e}");
        }
        o.mel.vtln_warp = 1.1;
        o.mel.vtln_low_hz = 10.0; // 11 Hz is below low_freq_hz (20 Hz)
        let e = MelBanks::new(&o).unwrap_err().to_string();
        assert!(e.contains("mel.vtln_low_hz"), "{e}");
    }

    #[test]
    fn degenerate_configs_error_with_field_names() {
        let mut o = kaldi16();
        o.mel.num_bins = 200;
        let e = MelBanks::new(&o).unwrap_err().to_string();
        assert!(e.starts_with("mel.num_bins (200)"), "{e}");
        let mut o = kaldi16();
        o.mel.high_freq_hz = 9000.0;
        assert!(MelBanks::new(&o)
            .unwrap_err()
            .to_string()
            .starts_with("mel.high_freq_hz (9000)"));
        let mut o = kaldi16();
        o.mel.low_freq_hz = 8000.0;
        assert!(MelBanks::new(&o)
            .unwrap_err()
            .to_string()
            .starts_with("mel.low_freq_hz (8000)"));
    }
}
