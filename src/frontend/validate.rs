//! Option checks that need no built stage, run once by
//! [`super::Frontend::new`]. Each error names the field and its value.

use super::options::{Edges, Feature, FrontendOptions};
use super::FrontendError;

/// The longest frame and FFT accepted, in samples (4 s at 16 kHz, 1.4 s
/// at 48 kHz: far beyond any speech analysis window). Larger values come
/// from a typo or a corrupt rate and would plan FFTs of millions of points.
pub const MAX_FRAME_SAMPLES: usize = 1 << 16;

/// The highest delta order accepted (Kaldi's `add-deltas` default is 2).
pub const MAX_DELTA_ORDER: usize = 8;

/// The widest delta regression half-width accepted, in frames.
pub const MAX_DELTA_WINDOW: usize = 50;

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
pub(crate) fn validate(o: &FrontendOptions) -> Result<(), FrontendError> {
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
    if o.frame_length() > MAX_FRAME_SAMPLES {
        let (field, v) = match f.frame_length_samples {
            Some(n) => ("frame.frame_length_samples", n.to_string()),
            None => ("frame.frame_length_ms", f.frame_length_ms.to_string()),
        };
        return Err(FrontendError::invalid(
            field,
            v,
            format!(
                "gives {} samples at {rate} Hz, more than {MAX_FRAME_SAMPLES}",
                o.frame_length()
            ),
        ));
    }
    if o.fft_size() > MAX_FRAME_SAMPLES {
        return Err(FrontendError::invalid(
            "frame.fft_size",
            o.fft_size(),
            format!("must be <= {MAX_FRAME_SAMPLES}"),
        ));
    }
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
    if o.post.deltas && o.post.delta_window > MAX_DELTA_WINDOW {
        return Err(FrontendError::invalid(
            "post.delta_window",
            o.post.delta_window,
            format!("must be <= {MAX_DELTA_WINDOW}"),
        ));
    }
    if o.post.deltas && o.post.delta_order > MAX_DELTA_ORDER {
        return Err(FrontendError::invalid(
            "post.delta_order",
            o.post.delta_order,
            format!("must be <= {MAX_DELTA_ORDER}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::options::Preset;

    fn kaldi_opts(feature: Feature) -> FrontendOptions {
        FrontendOptions::preset(Preset::Kaldi, feature, 16000.0)
    }

    #[test]
    fn validation_names_field_and_value() {
        let mut o = kaldi_opts(Feature::Mfcc);
        o.dct.num_ceps = 40;
        assert_eq!(
            validate(&o).unwrap_err().to_string(),
            "dct.num_ceps (40) > mel.num_bins (23)"
        );
        let mut o = kaldi_opts(Feature::Mfcc);
        o.frame.frame_length_ms = 0.01;
        assert!(validate(&o)
            .unwrap_err()
            .to_string()
            .starts_with("frame.frame_length_ms (0.01)"));
        let mut o = kaldi_opts(Feature::Mfcc);
        o.frame.fft_size = Some(256);
        assert!(validate(&o)
            .unwrap_err()
            .to_string()
            .starts_with("frame.fft_size (256) < frame length (400"));
        let mut o = kaldi_opts(Feature::Mfcc);
        o.frame.dither = f32::NAN;
        assert!(validate(&o)
            .unwrap_err()
            .to_string()
            .starts_with("frame.dither (NaN)"));
        let mut o = kaldi_opts(Feature::Mfcc);
        o.sample_rate_hz = 0.0;
        assert!(validate(&o)
            .unwrap_err()
            .to_string()
            .starts_with("sample_rate_hz (0)"));
        // A spectrogram needs no mel bank, so mel settings do not matter there.
        let mut o = kaldi_opts(Feature::Spectrogram);
        o.mel.num_bins = 0;
        assert!(validate(&o).is_ok());
    }

    #[test]
    fn every_preset_is_valid() {
        for preset in [Preset::Kaldi, Preset::Librosa] {
            for feature in [Feature::Mfcc, Feature::Fbank, Feature::Spectrogram] {
                for rate in [8000.0, 16000.0, 44100.0] {
                    assert!(validate(&FrontendOptions::preset(preset, feature, rate)).is_ok());
                }
            }
        }
    }
}
