//! Band-limited resampling of a whole mono clip with rubato's synchronous
//! FFT resampler (`Fft` + `process_all`: the recommended choice for a fixed
//! ratio offline, with the anti-aliasing filter and the startup delay
//! trimmed so the output lines up with the input).

use super::AudioErrorKind;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Chunk size in frames handed to rubato: its README suggests ~1024 for
/// whole clips; the exact value only trades latency, irrelevant here.
const CHUNK_FRAMES: usize = 1024;

/// Resample `samples` from `from_hz` to `to_hz`. Equal rates return the
/// input untouched (no filtering at all).
///
/// # Shapes
/// `(n,)` -> `(round(n * to_hz / from_hz),)` (within a sample).
pub(crate) fn resample(
    samples: Vec<f32>,
    from_hz: u32,
    to_hz: u32,
) -> Result<Vec<f32>, AudioErrorKind> {
    if from_hz == to_hz {
        return Ok(samples);
    }
    let fail = |reason: String| AudioErrorKind::Resample {
        from_hz,
        to_hz,
        reason,
    };
    let mut resampler = Fft::<f32>::new(
        from_hz as usize,
        to_hz as usize,
        CHUNK_FRAMES,
        1,
        FixedSync::Both,
    )
    .map_err(|e| fail(e.to_string()))?;
    let input =
        InterleavedSlice::new(&samples, 1, samples.len()).map_err(|e| fail(e.to_string()))?;
    let output = resampler
        .process_all(&input, samples.len(), None)
        .map_err(|e| fail(e.to_string()))?;
    Ok(output.take_data())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::PI;

    fn sine(freq: f32, rate: u32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (2.0 * PI * freq * i as f32 / rate as f32).sin() * 0.5)
            .collect()
    }

    #[test]
    fn same_rate_is_identity() {
        let x = sine(440.0, 16_000, 1000);
        assert_eq!(resample(x.clone(), 16_000, 16_000).unwrap(), x);
    }

    #[test]
    fn downsampling_keeps_a_tone_and_length() {
        let x = sine(440.0, 44_100, 44_100);
        let y = resample(x, 44_100, 16_000).unwrap();
        assert!((y.len() as i64 - 16_000).abs() <= 1, "len {}", y.len());
        // Fit y = a sin + b cos at 440 Hz away from the edges (filter
        // ramp-up). The fit absorbs the sub-sample lag rubato leaves after
        // trimming its delay; what must hold is the amplitude (passband
        // ripple well under 1%) and a clean tone (tiny residual).
        let w = 2.0 * PI * 440.0 / 16_000.0;
        let range = 500..15_500;
        let (mut ss, mut sc, mut cc, mut ys, mut yc) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for i in range.clone() {
            let (s, c) = ((w * i as f32).sin() as f64, (w * i as f32).cos() as f64);
            ss += s * s;
            sc += s * c;
            cc += c * c;
            ys += y[i] as f64 * s;
            yc += y[i] as f64 * c;
        }
        let det = ss * cc - sc * sc;
        let a = (ys * cc - yc * sc) / det;
        let b = (yc * ss - ys * sc) / det;
        let amplitude = (a * a + b * b).sqrt();
        assert!((amplitude - 0.5).abs() < 5e-3, "amplitude {amplitude}");
        let residual = range
            .clone()
            .map(|i| {
                let fit = a * (w * i as f32).sin() as f64 + b * (w * i as f32).cos() as f64;
                (y[i] as f64 - fit).powi(2)
            })
            .sum::<f64>()
            / range.len() as f64;
        // -60 dB relative to the tone's power (0.125).
        assert!(residual.sqrt() < 1e-3, "residual rms {}", residual.sqrt());
    }

    #[test]
    fn tone_above_new_nyquist_is_removed() {
        // 7 kHz at 44.1 kHz, resampled to 8 kHz (Nyquist 4 kHz): a
        // band-limited resampler must filter it out instead of aliasing it
        // to 1 kHz.
        let x = sine(7_000.0, 44_100, 44_100);
        let y = resample(x, 44_100, 8_000).unwrap();
        let rms = (y[500..7_500].iter().map(|v| v * v).sum::<f32>() / 7_000.0).sqrt();
        // Input RMS is 0.354; anything under 1% of it means >40 dB rejection.
        assert!(rms < 3.5e-3, "rms {rms}");
    }
}
