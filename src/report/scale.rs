//! Scales (data to pixels, linear or log10) and "nice" tick positions and
//! labels for chart axes.
//!
//! Ticks are multiples of 1, 2 or 5 times a power of ten, computed by
//! multiplying an integer by the step (never by accumulation) so labels do
//! not pick up float noise; log axes tick at decades.

/// A map from data values to pixels, linear or base-10 logarithmic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
    log: bool,
}

impl Scale {
    /// A linear map sending `domain` onto `range`. A degenerate domain
    /// (lo == hi, or non-finite) is widened so the map stays finite.
    pub fn linear(domain: (f64, f64), range: (f64, f64)) -> Scale {
        let (d0, d1) = widen(domain);
        Scale {
            d0,
            d1,
            r0: range.0,
            r1: range.1,
            log: false,
        }
    }

    /// A log10 map; the domain is clamped to positive values.
    pub fn log10(domain: (f64, f64), range: (f64, f64)) -> Scale {
        let lo = if domain.0 > 0.0 { domain.0 } else { 1e-12 };
        let hi = if domain.1 > lo { domain.1 } else { lo * 10.0 };
        Scale {
            d0: lo.log10(),
            d1: hi.log10(),
            r0: range.0,
            r1: range.1,
            log: true,
        }
    }

    /// True for a log10 scale.
    pub fn is_log(&self) -> bool {
        self.log
    }

    /// Pixel position of `v`.
    pub fn map(&self, v: f64) -> f64 {
        let t = if self.log { v.max(1e-300).log10() } else { v };
        self.r0 + (t - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }

    /// The data domain (in data units, not log units).
    pub fn domain(&self) -> (f64, f64) {
        if self.log {
            (10f64.powf(self.d0), 10f64.powf(self.d1))
        } else {
            (self.d0, self.d1)
        }
    }

    /// Tick positions: about `max_ticks` nice numbers, or decades on a log
    /// scale.
    pub fn ticks(&self, max_ticks: usize) -> Vec<f64> {
        if self.log {
            let lo = self.d0.ceil() as i32;
            let hi = self.d1.floor() as i32;
            let every = (((hi - lo + 1) as usize).div_ceil(max_ticks.max(1))).max(1);
            (lo..=hi).step_by(every).map(|e| 10f64.powi(e)).collect()
        } else {
            nice_ticks(self.d0, self.d1, max_ticks)
        }
    }
}

/// Makes a domain usable: finite, lo < hi.
fn widen((lo, hi): (f64, f64)) -> (f64, f64) {
    match (lo.is_finite(), hi.is_finite()) {
        (true, true) if hi > lo => (lo, hi),
        (true, true) => (lo - 0.5, lo + 0.5),
        (true, false) => (lo - 0.5, lo + 0.5),
        (false, true) => (hi - 0.5, hi + 0.5),
        (false, false) => (0.0, 1.0),
    }
}

/// A "nice" step (1, 2 or 5 times a power of ten) giving about
/// `max_ticks` ticks over `span`.
pub fn nice_step(span: f64, max_ticks: usize) -> f64 {
    let raw = span.abs() / max_ticks.max(1) as f64;
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    // Round to the nearest nice value (geometric midpoints), so the count
    // stays close to `max_ticks` rather than always below it.
    let nice = if norm < 1.5 {
        1.0
    } else if norm < 3.0 {
        2.0
    } else if norm < 7.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Ticks at multiples of a nice step inside [lo, hi].
pub fn nice_ticks(lo: f64, hi: f64, max_ticks: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return vec![];
    }
    let step = nice_step(hi - lo, max_ticks);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    if last < first || last - first > 1000 {
        return vec![];
    }
    // Multiply rather than accumulate so 0.1 * 3 does not print 0.30000000000000004.
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A tick label with just enough decimals for the step; big and tiny
/// numbers in compact exponent form.
pub fn tick_label(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let e = a.log10().floor() as i32;
        let m = v / 10f64.powi(e);
        return if (m.round() - m).abs() < 1e-9 {
            format!("{}e{e}", m.round())
        } else {
            format!("{m:.1}e{e}")
        };
    }
    let decimals = if step >= 1.0 || !step.is_finite() || step <= 0.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    format!("{v:.decimals$}")
}

/// A label for a power of ten: "0.01", "1", "100", or "1e-4" / "1e5" when
/// the plain form would be long.
pub fn decade_label(v: f64) -> String {
    let e = v.log10().round() as i32;
    match e {
        -3..=-1 => format!("{v:.prec$}", prec = (-e) as usize),
        0..=4 => format!("{v:.0}"),
        _ => format!("1e{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_map_ends_and_survive_degenerate_domains() {
        let s = Scale::linear((0.0, 10.0), (100.0, 0.0));
        assert_eq!(s.map(0.0), 100.0);
        assert_eq!(s.map(10.0), 0.0);
        let d = Scale::linear((3.0, 3.0), (0.0, 1.0));
        assert!(d.map(3.0).is_finite());
        let n = Scale::linear((f64::NAN, f64::NAN), (0.0, 1.0));
        assert_eq!(n.map(0.5), 0.5);
        let l = Scale::log10((1e-3, 1e3), (0.0, 60.0));
        // 1e-9: log10 of exact powers of ten.
        assert!((l.map(1.0) - 30.0).abs() < 1e-9);
        assert_eq!(l.ticks(10).len(), 7);
    }

    #[test]
    fn ticks_are_nice_and_inside() {
        assert_eq!(
            nice_ticks(0.0, 1.0, 5),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        let t = nice_ticks(-3.2, 47.0, 5);
        assert_eq!(t, vec![0.0, 10.0, 20.0, 30.0, 40.0]);
        assert_eq!(tick_label(0.6000000000000001, 0.2), "0.6");
        assert_eq!(tick_label(4000.0, 1000.0), "4000");
        assert_eq!(tick_label(1e-6, 1e-6), "1e-6");
        assert!(nice_ticks(0.0, f64::NAN, 5).is_empty());
        let labels: Vec<String> = [1e-4, 1e-2, 1.0, 100.0, 1e5]
            .iter()
            .map(|&v| decade_label(v))
            .collect();
        assert_eq!(labels, vec!["1e-4", "0.01", "1", "100", "1e5"]);
    }
}
