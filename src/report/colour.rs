//! Colour maps and line colours.
//!
//! Colour maps are piecewise-linear interpolations of a few anchor colours
//! (viridis for magnitudes, ColorBrewer blue-white-red for signed values and
//! Blues for counts), written here rather than pulled from a crate. Text
//! drawn on a coloured cell picks black or white from the cell's luminance.

/// Colours for pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    /// Viridis-like, dark purple (low) to yellow (high): magnitudes.
    Sequential,
    /// Blue (negative), white (0), red (positive): signed values.
    Diverging,
    /// White (low) to dark blue (high): counts, where most cells are 0.
    Blues,
}

impl Palette {
    /// The colour at `t` in [0, 1] (clamped); NaN gives mid grey.
    pub fn rgb(self, t: f64) -> (u8, u8, u8) {
        if t.is_nan() {
            return (160, 160, 160);
        }
        let anchors: &[(u8, u8, u8)] = match self {
            // Viridis at 0, 0.25, 0.5, 0.75, 1.
            Palette::Sequential => &[
                (68, 1, 84),
                (59, 82, 139),
                (33, 145, 140),
                (94, 201, 98),
                (253, 231, 37),
            ],
            // ColorBrewer RdBu end points through white.
            Palette::Diverging => &[
                (33, 102, 172),
                (146, 197, 222),
                (247, 247, 247),
                (244, 165, 130),
                (178, 24, 43),
            ],
            // ColorBrewer Blues.
            Palette::Blues => &[
                (247, 251, 255),
                (198, 219, 239),
                (107, 174, 214),
                (33, 113, 181),
                (8, 48, 107),
            ],
        };
        let t = t.clamp(0.0, 1.0) * (anchors.len() - 1) as f64;
        let i = (t.floor() as usize).min(anchors.len() - 2);
        let f = t - i as f64;
        let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
        let (a, b) = (anchors[i], anchors[i + 1]);
        (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// `#rrggbb` at `t`.
    pub fn hex(self, t: f64) -> String {
        let (r, g, b) = self.rgb(t);
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// Black or white, whichever reads better on the colour at `t`.
    pub fn text_colour(self, t: f64) -> &'static str {
        let (r, g, b) = self.rgb(t);
        // Relative luminance with sRGB weights, on the 0-255 scale.
        let lum = 0.2126 * r as f64 + 0.7152 * g as f64 + 0.0722 * b as f64;
        if lum > 140.0 {
            "#000"
        } else {
            "#fff"
        }
    }
}

/// Ten distinguishable line colours (the Tableau 10 set), cycled by index.
pub fn series_colour(i: usize) -> &'static str {
    const COLOURS: [&str; 10] = [
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
        "#9c755f", "#bab0ac",
    ];
    COLOURS[i % COLOURS.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palettes_hit_their_anchors_and_grey_nan() {
        assert_eq!(Palette::Sequential.hex(0.0), "#440154");
        assert_eq!(Palette::Sequential.hex(1.0), "#fde725");
        assert_eq!(Palette::Diverging.hex(0.5), "#f7f7f7");
        assert_eq!(Palette::Diverging.rgb(f64::NAN), (160, 160, 160));
        assert_eq!(Palette::Sequential.text_colour(0.0), "#fff");
        assert_eq!(Palette::Sequential.text_colour(1.0), "#000");
    }
}
