//! Hand-written SVG primitives: a string builder, linear and log scales with
//! "nice" ticks, axes, colour maps, heatmap cells, a colour bar and a legend.
//!
//! Design decisions:
//! - Output is inline SVG for an HTML page, so no fonts are embedded: text
//!   uses the page's sans-serif font and widths are *estimated* (0.6 em per
//!   character), which is enough to keep labels apart and truncate long ones.
//! - Coordinates are printed with one decimal: charts are a few hundred
//!   pixels wide, and shorter numbers keep pages with many charts small.
//! - Every piece of text goes through [`escape`]; nothing here emits a URL
//!   except the SVG namespace.
//! - Colour maps are piecewise-linear interpolations of a few anchor colours
//!   (viridis for magnitudes, blue-white-red for signed values), written
//!   here rather than pulled from a crate.

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

/// Draws grid, frame, ticks, tick labels and axis labels around `plot`,
/// with ticks chosen by the scales.
pub fn axes(svg: &mut Svg, plot: Rect, xs: &Scale, ys: &Scale, x_label: &str, y_label: &str) {
    let max_x_ticks = ((plot.w / 55.0).floor() as usize).clamp(2, 10);
    let (xd0, xd1) = xs.domain();
    let x_step = nice_step(xd1 - xd0, max_x_ticks);
    let x_ticks: Vec<(f64, String)> = xs
        .ticks(max_x_ticks)
        .into_iter()
        .map(|v| {
            (
                v,
                if xs.log {
                    decade_label(v)
                } else {
                    tick_label(v, x_step)
                },
            )
        })
        .collect();
    axes_with_x_ticks(svg, plot, xs, ys, &x_ticks, x_label, y_label);
}

/// Like [`axes`], with the x ticks given as (data value, label).
pub fn axes_with_x_ticks(
    svg: &mut Svg,
    plot: Rect,
    xs: &Scale,
    ys: &Scale,
    x_ticks: &[(f64, String)],
    x_label: &str,
    y_label: &str,
) {
    let max_y_ticks = ((plot.h / 30.0).floor() as usize).clamp(2, 8);
    let bottom = plot.y + plot.h;
    for (v, label) in x_ticks {
        let px = xs.map(*v);
        svg.line(px, plot.y, px, bottom, "#e6e6e6", 1.0);
        svg.line(px, bottom, px, bottom + 4.0, "#333", 1.0);
        svg.text(px, bottom + 15.0, label, 10.0, Anchor::Middle);
    }
    let (yd0, yd1) = ys.domain();
    let y_step = nice_step(yd1 - yd0, max_y_ticks);
    for v in ys.ticks(max_y_ticks) {
        let py = ys.map(v);
        svg.line(plot.x, py, plot.x + plot.w, py, "#e6e6e6", 1.0);
        svg.line(plot.x - 4.0, py, plot.x, py, "#333", 1.0);
        svg.text(
            plot.x - 6.0,
            py + 3.5,
            &tick_label(v, y_step),
            10.0,
            Anchor::End,
        );
    }
    svg.rect(plot, "none", r##" stroke="#333" stroke-width="1""##);
    if !x_label.is_empty() {
        svg.text(
            plot.x + plot.w / 2.0,
            bottom + 32.0,
            x_label,
            11.0,
            Anchor::Middle,
        );
    }
    if !y_label.is_empty() {
        svg.text_vertical(plot.x - 40.0, plot.y + plot.h / 2.0, y_label, 11.0);
    }
}

/// One legend entry: a label and its line style.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    /// Text.
    pub label: String,
    /// Stroke colour.
    pub colour: String,
    /// Dash pattern, if any.
    pub dash: Option<String>,
}

/// Draws legend entries left to right from (x, y), wrapping at `max_width`;
/// returns the height used.
pub fn legend(svg: &mut Svg, x: f64, y: f64, max_width: f64, entries: &[LegendEntry]) -> f64 {
    let mut cx = x;
    let mut cy = y;
    for e in entries {
        let label = truncate(&e.label, 40);
        let w = 24.0 + text_width(&label, 10.0) + 12.0;
        if cx > x && cx + w > x + max_width {
            cx = x;
            cy += 15.0;
        }
        svg.polyline(
            &[(cx, cy - 3.5), (cx + 18.0, cy - 3.5)],
            &e.colour,
            2.0,
            e.dash.as_deref(),
            1.0,
        );
        svg.text(cx + 22.0, cy, &label, 10.0, Anchor::Start);
        cx += w;
    }
    if entries.is_empty() {
        0.0
    } else {
        cy - y + 15.0
    }
}

/// Draws `matrix` as coloured cells filling `area` (row 0 at the top, or at
/// the bottom with `row0_at_bottom`), values mapped from `range` onto
/// `palette`. Ragged rows leave the missing cells empty; NaN cells are grey.
pub fn heatmap_cells(
    svg: &mut Svg,
    area: Rect,
    matrix: &[Vec<f64>],
    palette: Palette,
    range: (f64, f64),
    row0_at_bottom: bool,
) {
    let rows = matrix.len();
    let cols = matrix.iter().map(Vec::len).max().unwrap_or(0);
    if rows == 0 || cols == 0 {
        return;
    }
    let (cw, ch) = (area.w / cols as f64, area.h / rows as f64);
    let span = if range.1 > range.0 {
        range.1 - range.0
    } else {
        1.0
    };
    for (i, row) in matrix.iter().enumerate() {
        let r = if row0_at_bottom { rows - 1 - i } else { i };
        for (j, &v) in row.iter().enumerate() {
            let cell = Rect {
                x: area.x + j as f64 * cw,
                y: area.y + r as f64 * ch,
                w: cw + 0.05,
                h: ch + 0.05,
            };
            // The 0.05 px overlap hides hairline seams between cells.
            svg.rect(cell, &palette.hex((v - range.0) / span), "");
        }
    }
}

/// Like [`heatmap_cells`], but as one embedded PNG with a pixel per cell:
/// far smaller for big matrices. Ragged rows are padded with NaN (grey).
pub fn heatmap_image(
    svg: &mut Svg,
    area: Rect,
    matrix: &[Vec<f64>],
    palette: Palette,
    range: (f64, f64),
    row0_at_bottom: bool,
) {
    let rows = matrix.len();
    let cols = matrix.iter().map(Vec::len).max().unwrap_or(0);
    if rows == 0 || cols == 0 {
        return;
    }
    let span = if range.1 > range.0 {
        range.1 - range.0
    } else {
        1.0
    };
    let mut rgb = Vec::with_capacity(rows * cols * 3);
    for r in 0..rows {
        let row = &matrix[if row0_at_bottom { rows - 1 - r } else { r }];
        for j in 0..cols {
            let v = row.get(j).copied().unwrap_or(f64::NAN);
            let (red, green, blue) = palette.rgb((v - range.0) / span);
            rgb.extend_from_slice(&[red, green, blue]);
        }
    }
    svg.image(area, &super::png::data_uri(cols as u32, rows as u32, &rgb));
}

/// Colour steps (rectangles) in a [`colour_bar`].
pub const COLOUR_BAR_STEPS: usize = 32;

/// A vertical colour bar for `range` in `area`, labelled at its ends and
/// middle.
pub fn colour_bar(svg: &mut Svg, area: Rect, palette: Palette, range: (f64, f64)) {
    const STEPS: usize = COLOUR_BAR_STEPS;
    let h = area.h / STEPS as f64;
    for k in 0..STEPS {
        let t = (k as f64 + 0.5) / STEPS as f64;
        let cell = Rect {
            x: area.x,
            y: area.y + area.h - (k + 1) as f64 * h,
            w: area.w,
            h: h + 0.05,
        };
        svg.rect(cell, &palette.hex(t), "");
    }
    svg.rect(area, "none", r##" stroke="#333" stroke-width="0.5""##);
    let step = nice_step(range.1 - range.0, 4);
    let mid = (range.0 + range.1) / 2.0;
    for (v, y) in [
        (range.1, area.y),
        (mid, area.y + area.h / 2.0),
        (range.0, area.y + area.h),
    ] {
        svg.text(
            area.x + area.w + 3.0,
            y + 3.5,
            &tick_label(v, step / 10.0),
            9.0,
            Anchor::Start,
        );
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

    #[test]
    fn palettes_hit_their_anchors_and_grey_nan() {
        assert_eq!(Palette::Sequential.hex(0.0), "#440154");
        assert_eq!(Palette::Sequential.hex(1.0), "#fde725");
        assert_eq!(Palette::Diverging.hex(0.5), "#f7f7f7");
        assert_eq!(Palette::Diverging.rgb(f64::NAN), (160, 160, 160));
        assert_eq!(Palette::Sequential.text_colour(0.0), "#fff");
        assert_eq!(Palette::Sequential.text_colour(1.0), "#000");
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
    fn heatmap_draws_one_rect_per_cell_even_when_ragged() {
        let mut svg = Svg::new(10.0, 10.0, "h");
        let m = vec![vec![0.0, 1.0, 2.0], vec![3.0]];
        heatmap_cells(
            &mut svg,
            Rect {
                x: 0.0,
                y: 0.0,
                w: 9.0,
                h: 6.0,
            },
            &m,
            Palette::Sequential,
            (0.0, 3.0),
            false,
        );
        assert_eq!(svg.finish().matches("<rect").count(), 4);
    }

    #[test]
    fn heatmap_image_is_one_embedded_png() {
        let mut svg = Svg::new(10.0, 10.0, "h");
        let m = vec![vec![0.0, 1.0], vec![2.0]];
        heatmap_image(
            &mut svg,
            Rect {
                x: 0.0,
                y: 0.0,
                w: 8.0,
                h: 8.0,
            },
            &m,
            Palette::Blues,
            (0.0, 2.0),
            true,
        );
        let out = svg.finish();
        assert_eq!(out.matches("<image").count(), 1);
        assert!(
            out.contains("href=\"data:image/png;base64,iVBORw0KGgo"),
            "{out}"
        );
        assert!(!out.contains("<rect"));
    }

    #[test]
    fn truncate_marks_the_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
