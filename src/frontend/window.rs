//! Analysis windows: povey, hann, hamming, blackman, rectangular, each
//! symmetric (Kaldi, denominator `N - 1`) or periodic (librosa/scipy
//! `fftbins=True`, denominator `N`). Computed in f64 like Kaldi, stored f32.

use super::options::{WindowKind, WindowOptions};

/// The window of `len` samples.
///
/// `w[i] = f(2 pi i / D)` with `D = len` when periodic and `len - 1`
/// otherwise; a symmetric window of length 1 is `[1.0]` (as scipy).
pub fn make_window(opts: &WindowOptions, len: usize) -> Vec<f32> {
    let denom = if opts.periodic {
        len
    } else {
        len.saturating_sub(1)
    };
    if denom == 0 {
        return vec![1.0; len];
    }
    let a = 2.0 * std::f64::consts::PI / denom as f64;
    let b = f64::from(opts.blackman_coeff);
    (0..len)
        .map(|i| {
            let x = a * i as f64;
            let w = match opts.kind {
                WindowKind::Povey => (0.5 - 0.5 * x.cos()).powf(0.85),
                WindowKind::Hann => 0.5 - 0.5 * x.cos(),
                WindowKind::Hamming => 0.54 - 0.46 * x.cos(),
                WindowKind::Blackman => b - 0.5 * x.cos() + (0.5 - b) * (2.0 * x).cos(),
                WindowKind::Rectangular => 1.0,
            };
            w as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(kind: WindowKind, periodic: bool, len: usize) -> Vec<f32> {
        make_window(
            &WindowOptions {
                kind,
                periodic,
                blackman_coeff: 0.42,
            },
            len,
        )
    }

    #[test]
    fn symmetric_windows_are_symmetric_and_peak_in_the_middle() {
        for kind in [
            WindowKind::Povey,
            WindowKind::Hann,
            WindowKind::Hamming,
            WindowKind::Blackman,
        ] {
            let v = w(kind, false, 401);
            for i in 0..401 {
                // f64 -> f32 rounding of cos at mirrored angles: a few ulps.
                assert!((v[i] - v[400 - i]).abs() < 1e-6, "{kind:?} at {i}");
            }
            assert!((v[200] - 1.0).abs() < 1e-6, "{kind:?} peak {}", v[200]);
        }
    }

    #[test]
    fn known_values() {
        // scipy.signal.get_window('hann', 8) (periodic): 0, .1464, .5, .8536, 1, ...
        let h = w(WindowKind::Hann, true, 8);
        let expect = [
            0.0,
            0.146_446_6,
            0.5,
            0.853_553_4,
            1.0,
            0.853_553_4,
            0.5,
            0.146_446_6,
        ];
        for (a, b) in h.iter().zip(expect) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        // Hamming endpoints are 0.08; Blackman endpoints are 0 (to rounding).
        assert!((w(WindowKind::Hamming, false, 10)[0] - 0.08).abs() < 1e-7);
        assert!(w(WindowKind::Blackman, false, 10)[9].abs() < 1e-7);
        // Povey = hann^0.85.
        let (p, h) = (
            w(WindowKind::Povey, false, 50),
            w(WindowKind::Hann, false, 50),
        );
        for (a, b) in p.iter().zip(&h) {
            assert!((a - b.powf(0.85)).abs() < 1e-6);
        }
        assert!(w(WindowKind::Rectangular, false, 5)
            .iter()
            .all(|&x| x == 1.0));
    }

    #[test]
    fn degenerate_lengths() {
        assert_eq!(w(WindowKind::Hann, false, 1), vec![1.0]);
        assert!(w(WindowKind::Hann, true, 0).is_empty());
    }
}
