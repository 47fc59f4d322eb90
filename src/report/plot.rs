//! Chart building blocks drawn onto an [`Svg`]: axes with grid, ticks and
//! labels; a wrapping legend; heatmap cells (as rectangles or as one
//! embedded PNG); and a colour bar.

use super::colour::Palette;
use super::scale::{decade_label, nice_step, tick_label, Scale};
use super::svg::{text_width, truncate, Anchor, Rect, Svg};

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
                if xs.is_log() {
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

/// How a heatmap's values become colours and where row 0 goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellStyle {
    /// Colour map.
    pub palette: Palette,
    /// Values mapped onto the palette's ends.
    pub range: (f64, f64),
    /// Row 0 at the bottom (spectrogram style) instead of the top.
    pub row0_at_bottom: bool,
    /// One embedded PNG with a pixel per cell instead of one SVG rectangle
    /// per cell: far smaller for big matrices.
    pub raster: bool,
}

/// Draws `matrix` as coloured cells filling `area`, values mapped from
/// `style.range` onto `style.palette`; NaN cells are grey. Ragged rows leave
/// the missing cells empty (as rectangles) or grey (as an image).
pub fn heatmap(svg: &mut Svg, area: Rect, matrix: &[Vec<f64>], style: &CellStyle) {
    let rows = matrix.len();
    let cols = matrix.iter().map(Vec::len).max().unwrap_or(0);
    if rows == 0 || cols == 0 {
        return;
    }
    let (lo, hi) = style.range;
    let span = if hi > lo { hi - lo } else { 1.0 };
    // Display row r shows matrix row `source(r)`.
    let source = |r: usize| {
        if style.row0_at_bottom {
            rows - 1 - r
        } else {
            r
        }
    };
    if style.raster {
        let mut rgb = Vec::with_capacity(rows * cols * 3);
        for r in 0..rows {
            let row = &matrix[source(r)];
            for j in 0..cols {
                let v = row.get(j).copied().unwrap_or(f64::NAN);
                let (red, green, blue) = style.palette.rgb((v - lo) / span);
                rgb.extend_from_slice(&[red, green, blue]);
            }
        }
        svg.image(area, &super::png::data_uri(cols as u32, rows as u32, &rgb));
        return;
    }
    let (cw, ch) = (area.w / cols as f64, area.h / rows as f64);
    for r in 0..rows {
        for (j, &v) in matrix[source(r)].iter().enumerate() {
            // The 0.05 px overlap hides hairline seams between cells.
            let cell = Rect {
                x: area.x + j as f64 * cw,
                y: area.y + r as f64 * ch,
                w: cw + 0.05,
                h: ch + 0.05,
            };
            svg.rect(cell, &style.palette.hex((v - lo) / span), "");
        }
    }
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
    fn heatmap_draws_one_rect_per_cell_even_when_ragged() {
        let mut svg = Svg::new(10.0, 10.0, "h");
        let m = vec![vec![0.0, 1.0, 2.0], vec![3.0]];
        let style = CellStyle {
            palette: Palette::Sequential,
            range: (0.0, 3.0),
            row0_at_bottom: false,
            raster: false,
        };
        heatmap(
            &mut svg,
            Rect {
                x: 0.0,
                y: 0.0,
                w: 9.0,
                h: 6.0,
            },
            &m,
            &style,
        );
        assert_eq!(svg.finish().matches("<rect").count(), 4);
    }

    #[test]
    fn heatmap_image_is_one_embedded_png() {
        let mut svg = Svg::new(10.0, 10.0, "h");
        let m = vec![vec![0.0, 1.0], vec![2.0]];
        let style = CellStyle {
            palette: Palette::Blues,
            range: (0.0, 2.0),
            row0_at_bottom: true,
            raster: true,
        };
        heatmap(
            &mut svg,
            Rect {
                x: 0.0,
                y: 0.0,
                w: 8.0,
                h: 8.0,
            },
            &m,
            &style,
        );
        let out = svg.finish();
        assert_eq!(out.matches("<image").count(), 1);
        assert!(
            out.contains("href=\"data:image/png;base64,iVBORw0KGgo"),
            "{out}"
        );
        assert!(!out.contains("<rect"));
    }
}
