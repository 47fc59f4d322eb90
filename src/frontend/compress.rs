//! Compression of filterbank or spectrum values: natural log with a floor
//! (Kaldi) or decibels with a reference, a floor and an optional dynamic
//! range limit over the whole utterance (librosa `power_to_db`), or
//! Whisper's `(log10(max(x, amin)) + 4) / 4` with the same kind of limit.

use super::options::{CompressOptions, Compression};

/// Precomputed compression rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Compressor {
    kind: Compression,
    log_floor: f32,
    amin: f32,
    ref_db: f32,
    top_db: Option<f32>,
}

impl Compressor {
    /// From validated options.
    pub fn new(o: &CompressOptions) -> Self {
        let ref_db = 10.0 * o.db_ref.abs().max(o.db_amin).log10();
        Compressor {
            kind: o.kind,
            log_floor: o.log_floor,
            amin: o.db_amin,
            ref_db,
            top_db: o.top_db,
        }
    }

    /// Whether [`Compressor::finish`] needs the whole utterance (dB or
    /// Whisper with `top_db`), so frames cannot be finished one at a time.
    pub fn needs_utterance(&self) -> bool {
        self.kind != Compression::Log && self.top_db.is_some()
    }

    /// Elementwise: `ln(max(x, floor))`, or `10 log10(max(x, amin)) - ref_db`.
    ///
    /// # Shapes
    /// `(n,)` -> `(n,)` in place
    #[inline(always)]
    pub fn apply(&self, x: &mut [f32]) {
        match self.kind {
            Compression::Log => {
                let floor = self.log_floor;
                for v in x.iter_mut() {
                    *v = v.max(floor).ln();
                }
            }
            Compression::Db => {
                let (amin, r) = (self.amin, self.ref_db);
                for v in x.iter_mut() {
                    *v = 10.0 * v.max(amin).log10() - r;
                }
            }
            Compression::Whisper => {
                let amin = self.amin;
                for v in x.iter_mut() {
                    *v = (v.max(amin).log10() + 4.0) / 4.0;
                }
            }
        }
    }

    /// Utterance-level step after [`Compressor::apply`] on every value:
    /// `y = max(y, max(all y) - top_db)` for dB with `top_db`, `y = max(y,
    /// max(all y) - top_db / 40)` for Whisper (its `max(l, l.max() - 8)`
    /// on `l = log10(..)`, after the affine `(l + 4) / 4`); otherwise
    /// nothing.
    pub fn finish(&self, all: &mut [f32]) {
        let range = match (self.kind, self.top_db) {
            (Compression::Db, Some(top)) => Some(top),
            (Compression::Whisper, Some(top)) => Some(top / 40.0),
            _ => None,
        };
        if let Some(range) = range {
            let peak = all.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let floor = peak - range;
            for v in all.iter_mut() {
                *v = v.max(floor);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_floor_is_flt_epsilon() {
        let c = Compressor::new(&CompressOptions::default());
        let mut x = [0.0, 1.0, std::f32::consts::E];
        c.apply(&mut x);
        assert_eq!(x[0], f32::EPSILON.ln());
        assert_eq!(x[1], 0.0);
        assert!((x[2] - 1.0).abs() < 1e-6);
        assert!(!c.needs_utterance());
    }

    #[test]
    fn db_matches_power_to_db() {
        let o = CompressOptions {
            kind: Compression::Db,
            db_ref: 10.0,
            top_db: Some(30.0),
            ..Default::default()
        };
        let c = Compressor::new(&o);
        assert!(c.needs_utterance());
        // power_to_db([1e3, 1, 1e-20], ref=10, top_db=30) = [20, -10, -10]
        let mut x = [1e3, 1.0, 1e-20];
        c.apply(&mut x);
        assert!((x[0] - 20.0).abs() < 1e-5 && (x[1] + 10.0).abs() < 1e-5);
        assert!(
            (x[2] + 110.0).abs() < 1e-4,
            "amin 1e-10 floors to -100 dB, minus ref 10 dB"
        );
        c.finish(&mut x);
        assert!((x[2] + 10.0).abs() < 1e-5, "clipped to max - top_db");
    }
}
