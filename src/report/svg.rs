//! Hand-written SVG: escaping, text-width estimates and a string builder
//! for the few elements the charts need (rect, line, polyline, circle,
//! text, embedded image).
//!
//! Design decisions:
//! - Output is inline SVG for an HTML page, so no fonts are embedded: text
//!   uses the page's sans-serif font and widths are *estimated* (0.6 em per
//!   character), which is enough to keep labels apart and truncate long ones.
//! - Coordinates are printed with one decimal: charts are a few hundred
//!   pixels wide, and shorter numbers keep pages with many charts small.
//! - Every piece of text goes through [`escape`]; nothing here emits a URL
//!   except the SVG namespace (and `data:` URIs of embedded images).
//! - Scales and ticks live in [`super::scale`], colours in
//!   [`super::colour`], axes/legend/heatmap cells in [`super::plot`].

use std::fmt::Write;

/// The SVG namespace, the one URL the report contains (never fetched).
pub const SVG_NS: &str = "http://www.w3.org/2000/svg";

/// Escapes text for XML/HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Estimated width in pixels of `text` at `size` px (0.6 em per character,
/// a fair average for sans-serif digits and lower-case letters).
pub fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.6
}

/// `text` cut to at most `max_chars` characters, ending in "…" when cut.
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let keep: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{keep}…")
}

/// An axis-aligned rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// Horizontal anchoring of a text element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Text starts at x.
    Start,
    /// Text is centred on x.
    Middle,
    /// Text ends at x.
    End,
}

impl Anchor {
    fn as_str(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// An SVG document under construction.
#[derive(Debug, Clone)]
pub struct Svg {
    width: f64,
    height: f64,
    label: String,
    body: String,
}

impl Svg {
    /// An empty drawing of `width` x `height` pixels; `label` becomes its
    /// accessible name.
    pub fn new(width: f64, height: f64, label: &str) -> Svg {
        Svg {
            width,
            height,
            label: label.to_string(),
            body: String::new(),
        }
    }

    /// A filled rectangle; `extra` is appended verbatim inside the tag
    /// (callers pass only fixed attribute text).
    pub fn rect(&mut self, r: Rect, fill: &str, extra: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}"{extra}/>"#,
            r.x, r.y, r.w, r.h
        );
    }

    /// A filled rectangle with a hover tooltip.
    pub fn rect_titled(&mut self, r: Rect, fill: &str, tooltip: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}"><title>{}</title></rect>"#,
            r.x,
            r.y,
            r.w,
            r.h,
            escape(tooltip)
        );
    }

    /// An embedded image (a `data:` URI) stretched over `r`, drawn with
    /// hard pixel edges so heatmap cells stay crisp when scaled.
    pub fn image(&mut self, r: Rect, data_uri: &str) {
        let _ = writeln!(
            self.body,
            r#"<image x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" preserveAspectRatio="none" style="image-rendering:pixelated" href="{}"/>"#,
            r.x,
            r.y,
            r.w,
            r.h,
            escape(data_uri)
        );
    }

    /// A straight line.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" stroke-width="{width}"/>"#
        );
    }

    /// A polyline through `points`; non-finite points split it into pieces
    /// so a NaN epoch leaves a gap instead of a wild line.
    pub fn polyline(
        &mut self,
        points: &[(f64, f64)],
        stroke: &str,
        width: f64,
        dash: Option<&str>,
        opacity: f64,
    ) {
        let dash_attr = dash
            .map(|d| format!(r#" stroke-dasharray="{d}""#))
            .unwrap_or_default();
        for piece in points.split(|(x, y)| !x.is_finite() || !y.is_finite()) {
            if piece.is_empty() {
                continue;
            }
            let mut pts = String::with_capacity(piece.len() * 12);
            for (x, y) in piece {
                let _ = write!(pts, "{x:.1},{y:.1} ");
            }
            if piece.len() == 1 {
                // A lone point would be invisible as a polyline.
                self.circle(piece[0].0, piece[0].1, width.max(1.5), stroke, "");
                continue;
            }
            let _ = writeln!(
                self.body,
                r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{width}" stroke-opacity="{opacity}" stroke-linejoin="round"{dash_attr}/>"#,
                pts.trim_end()
            );
        }
    }

    /// A filled circle with an optional tooltip.
    pub fn circle(&mut self, cx: f64, cy: f64, r: f64, fill: &str, tooltip: &str) {
        if tooltip.is_empty() {
            let _ = writeln!(
                self.body,
                r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r:.1}" fill="{fill}"/>"#
            );
        } else {
            let _ = writeln!(
                self.body,
                r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r:.1}" fill="{fill}"><title>{}</title></circle>"#,
                escape(tooltip)
            );
        }
    }

    /// Text at (x, y) (baseline), escaped.
    pub fn text(&mut self, x: f64, y: f64, text: &str, size: f64, anchor: Anchor) {
        self.text_styled(x, y, text, size, anchor, "");
    }

    /// Text with extra fixed attributes (e.g. `fill`, `font-weight`).
    pub fn text_styled(
        &mut self,
        x: f64,
        y: f64,
        text: &str,
        size: f64,
        anchor: Anchor,
        extra: &str,
    ) {
        let _ = writeln!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{}"{extra}>{}</text>"#,
            anchor.as_str(),
            escape(text)
        );
    }

    /// Text rotated by -90 degrees around (x, y), for vertical axis labels.
    pub fn text_vertical(&mut self, x: f64, y: f64, text: &str, size: f64) {
        self.text_rotated(x, y, text, size, Anchor::Middle, -90.0);
    }

    /// Text rotated by `degrees` around its anchor point (x, y).
    pub fn text_rotated(
        &mut self,
        x: f64,
        y: f64,
        text: &str,
        size: f64,
        anchor: Anchor,
        degrees: f64,
    ) {
        let _ = writeln!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{}" transform="rotate({degrees} {x:.1} {y:.1})">{}</text>"#,
            anchor.as_str(),
            escape(text)
        );
    }

    /// The finished `<svg>` element.
    pub fn finish(self) -> String {
        format!(
            "<svg xmlns=\"{SVG_NS}\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{label}\" font-family=\"sans-serif\">\n{body}</svg>\n",
            w = self.width,
            h = self.height,
            label = escape(&self.label),
            body = self.body
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn polyline_splits_at_nan_and_svg_is_balanced() {
        let mut svg = Svg::new(100.0, 50.0, "a <b>");
        svg.polyline(
            &[
                (0.0, 0.0),
                (1.0, 1.0),
                (f64::NAN, 2.0),
                (3.0, 3.0),
                (4.0, 4.0),
            ],
            "#000",
            1.0,
            None,
            1.0,
        );
        let out = svg.finish();
        assert_eq!(out.matches("<polyline").count(), 2);
        assert!(out.contains("aria-label=\"a &lt;b&gt;\""));
        assert_eq!(out.matches("<svg").count(), out.matches("</svg>").count());
    }

    #[test]
    fn truncate_marks_the_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
