//! Two generic charts built from the [`super::svg`] primitives: a line chart
//! (with optional markers and error bars) and a labelled heatmap with a
//! colour bar. The report's figures ([`super::figures`]) are these two charts
//! fed with the right data.
//!
//! Layout is computed, not fixed: margins grow with the estimated width of
//! tick and row labels, the legend wraps below the plot and the height grows
//! with it, and crowded axis labels are thinned to every k-th.

use super::colour::{series_colour, Palette};
use super::plot::{axes, axes_with_x_ticks, colour_bar, heatmap, legend, CellStyle, LegendEntry};
use super::scale::Scale;
use super::svg::{text_width, truncate, Anchor, Rect, Svg};

/// One line of a [`LineChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Points (x, y); non-finite ones leave gaps.
    pub points: Vec<(f64, f64)>,
    /// Stroke colour.
    pub colour: String,
    /// Stroke width in pixels.
    pub width: f64,
    /// Dash pattern, e.g. "4 3".
    pub dash: Option<String>,
    /// Stroke opacity in [0, 1].
    pub opacity: f64,
    /// Draw a dot at each point, with this tooltip prefix.
    pub markers: Option<String>,
    /// Symmetric error bar half-lengths, one per point.
    pub errors: Option<Vec<f64>>,
}

impl Series {
    /// A plain solid line.
    pub fn line(points: Vec<(f64, f64)>, colour: &str) -> Series {
        Series {
            points,
            colour: colour.to_string(),
            width: 1.5,
            dash: None,
            opacity: 1.0,
            markers: None,
            errors: None,
        }
    }
}

/// A line chart's content and look.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Total width in pixels.
    pub width: f64,
    /// Height of the plot area in pixels (the SVG adds margins and legend).
    pub plot_height: f64,
    /// Log-scaled x axis.
    pub log_x: bool,
    /// Only integer x ticks (for depths, epochs).
    pub integer_x: bool,
    /// Fixed y range; otherwise fitted to the data with 5% padding.
    pub y_range: Option<(f64, f64)>,
    /// The lines.
    pub series: Vec<Series>,
    /// Legend entries, drawn under the plot.
    pub legend: Vec<LegendEntry>,
}

impl LineChart {
    /// An empty chart with the given title and axis labels, 360 px wide.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> LineChart {
        LineChart {
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            width: 360.0,
            plot_height: 170.0,
            log_x: false,
            integer_x: false,
            y_range: None,
            series: Vec::new(),
            legend: Vec::new(),
        }
    }
}

/// Smallest and largest finite value, or None.
fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Renders a line chart as an `<svg>` element.
pub fn line_chart(c: &LineChart) -> String {
    let margin_left = 58.0;
    let margin_right = 14.0;
    let top = if c.title.is_empty() { 10.0 } else { 26.0 };
    let plot = Rect {
        x: margin_left,
        y: top,
        w: (c.width - margin_left - margin_right).max(40.0),
        h: c.plot_height,
    };
    let legend_y = plot.y + plot.h + 50.0;
    let legend_h = legend(
        &mut Svg::new(0.0, 0.0, ""),
        plot.x,
        legend_y,
        plot.w,
        &c.legend,
    );
    let height = legend_y + legend_h - 6.0;
    let mut svg = Svg::new(c.width, height.ceil(), &c.title);

    let xs_iter = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .filter(|x| !c.log_x || *x > 0.0);
    let (x0, x1) = finite_range(xs_iter).unwrap_or((0.0, 1.0));
    let y_iter = c.series.iter().flat_map(|s| {
        s.points.iter().enumerate().flat_map(move |(i, p)| {
            let e = s
                .errors
                .as_ref()
                .and_then(|e| e.get(i))
                .copied()
                .filter(|e| e.is_finite())
                .unwrap_or(0.0);
            [p.1 - e, p.1 + e]
        })
    });
    let (y0, y1) = c
        .y_range
        .or_else(|| {
            finite_range(y_iter).map(|(lo, hi)| {
                let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
                (lo - pad, hi + pad)
            })
        })
        .unwrap_or((0.0, 1.0));
    let xs = if c.log_x {
        Scale::log10((x0, x1), (plot.x, plot.x + plot.w))
    } else {
        let pad = if c.integer_x { 0.3 } else { 0.0 };
        Scale::linear((x0 - pad, x1 + pad), (plot.x, plot.x + plot.w))
    };
    let ys = Scale::linear((y0, y1), (plot.y + plot.h, plot.y));

    if !c.title.is_empty() {
        svg.text_styled(
            plot.x,
            16.0,
            &truncate(&c.title, (c.width / 7.0) as usize),
            12.0,
            Anchor::Start,
            r#" font-weight="bold""#,
        );
    }
    if c.integer_x {
        axes_integer_x(&mut svg, plot, &xs, &ys, c);
    } else {
        axes(&mut svg, plot, &xs, &ys, &c.x_label, &c.y_label);
    }
    for s in &c.series {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|&(x, y)| {
                // Clip to the plot so a fixed y range never draws outside.
                let inside = y >= y0.min(y1) && y <= y0.max(y1) && (!c.log_x || x > 0.0);
                if inside {
                    (xs.map(x), ys.map(y))
                } else {
                    (f64::NAN, f64::NAN)
                }
            })
            .collect();
        svg.polyline(&pts, &s.colour, s.width, s.dash.as_deref(), s.opacity);
        if let Some(errors) = &s.errors {
            for (&(x, y), e) in s.points.iter().zip(errors) {
                if x.is_finite() && y.is_finite() && e.is_finite() && *e > 0.0 {
                    let px = xs.map(x);
                    let (lo, hi) = (ys.map((y - e).max(y0)), ys.map((y + e).min(y1)));
                    svg.line(px, lo, px, hi, &s.colour, 1.2);
                    svg.line(px - 3.0, lo, px + 3.0, lo, &s.colour, 1.2);
                    svg.line(px - 3.0, hi, px + 3.0, hi, &s.colour, 1.2);
                }
            }
        }
        if let Some(prefix) = &s.markers {
            for &(x, y) in &s.points {
                if x.is_finite() && y.is_finite() && y >= y0 && y <= y1 {
                    svg.circle(
                        xs.map(x),
                        ys.map(y),
                        3.5,
                        &s.colour,
                        &format!("{prefix}: {y:.1}"),
                    );
                }
            }
        }
    }
    legend(&mut svg, plot.x, legend_y, plot.w, &c.legend);
    svg.finish()
}

/// Axes whose x ticks are the integers in the domain (thinned to fit).
fn axes_integer_x(svg: &mut Svg, plot: Rect, xs: &Scale, ys: &Scale, c: &LineChart) {
    let (d0, d1) = xs.domain();
    let (lo, hi) = (d0.ceil() as i64, d1.floor() as i64);
    let max_ticks = ((plot.w / 40.0).floor() as usize).max(2);
    let n = (hi - lo + 1).max(1) as usize;
    let every = n.div_ceil(max_ticks).max(1);
    let ticks: Vec<(f64, String)> = (lo..=hi)
        .step_by(every)
        .map(|k| (k as f64, k.to_string()))
        .collect();
    axes_with_x_ticks(svg, plot, xs, ys, &ticks, &c.x_label, &c.y_label);
}

/// A labelled heatmap's content and look.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapChart {
    /// Title above the plot.
    pub title: String,
    /// The values, `matrix[row][col]`.
    pub matrix: Vec<Vec<f64>>,
    /// One label per row (may be empty: rows unlabelled).
    pub row_labels: Vec<String>,
    /// One label per column (may be empty).
    pub col_labels: Vec<String>,
    /// Label under the column labels.
    pub x_label: String,
    /// Label left of the row labels.
    pub y_label: String,
    /// Colour map.
    pub palette: Palette,
    /// Value range mapped onto the palette; fitted to the data if None.
    pub range: Option<(f64, f64)>,
    /// Write each cell's value (as an integer) in it.
    pub annotate: bool,
    /// Size of the cell area in pixels (width, height).
    pub area: (f64, f64),
    /// Draw row 0 at the bottom (spectrogram style) instead of the top.
    pub row0_at_bottom: bool,
    /// Draw the cells as one embedded PNG instead of SVG rectangles (for
    /// big matrices; cell annotations still work).
    pub raster: bool,
}

/// Renders a heatmap with row/column labels and a colour bar.
pub fn heatmap_chart(c: &HeatmapChart) -> String {
    let rows = c.matrix.len();
    let cols = c.matrix.iter().map(Vec::len).max().unwrap_or(0);
    let range = c
        .range
        .or_else(|| finite_range(c.matrix.iter().flatten().copied()))
        .unwrap_or((0.0, 1.0));
    let (cell_w, cell_h) = (c.area.0 / cols.max(1) as f64, c.area.1 / rows.max(1) as f64);

    let row_labels: Vec<String> = c.row_labels.iter().map(|l| truncate(l, 12)).collect();
    let col_labels: Vec<String> = c.col_labels.iter().map(|l| truncate(l, 12)).collect();
    let row_label_w = row_labels
        .iter()
        .map(|l| text_width(l, 10.0))
        .fold(0.0, f64::max);
    let col_label_w = col_labels
        .iter()
        .map(|l| text_width(l, 10.0))
        .fold(0.0, f64::max);
    // Column labels stand upright when they are wider than a cell and few
    // (class names); many narrow columns (frames) get thinned instead.
    let rotate_cols = col_label_w > cell_w * 0.95 && col_labels.len() <= 30;
    let col_band = if col_labels.is_empty() {
        4.0
    } else if rotate_cols {
        col_label_w + 10.0
    } else {
        16.0
    };
    let y_label_band = if c.y_label.is_empty() { 0.0 } else { 18.0 };
    let left = 8.0 + y_label_band + row_label_w + 6.0;
    let top = if c.title.is_empty() { 8.0 } else { 24.0 };
    let area = Rect {
        x: left,
        y: top,
        w: c.area.0,
        h: c.area.1,
    };
    let bar = Rect {
        x: area.x + area.w + 12.0,
        y: area.y,
        w: 10.0,
        h: area.h.max(40.0),
    };
    let width = (bar.x + bar.w + 50.0).max(left + text_width(&c.title, 12.0) + 10.0);
    let x_label_band = if c.x_label.is_empty() { 0.0 } else { 16.0 };
    let height = area.y + area.h.max(bar.h) + col_band + x_label_band + 6.0;
    let mut svg = Svg::new(width.ceil(), height.ceil(), &c.title);

    if !c.title.is_empty() {
        svg.text_styled(
            8.0,
            15.0,
            &c.title,
            12.0,
            Anchor::Start,
            r#" font-weight="bold""#,
        );
    }
    let style = CellStyle {
        palette: c.palette,
        range,
        row0_at_bottom: c.row0_at_bottom,
        raster: c.raster,
    };
    heatmap(&mut svg, area, &c.matrix, &style);
    svg.rect(area, "none", r##" stroke="#333" stroke-width="0.5""##);
    if c.annotate {
        annotate_cells(&mut svg, area, c, range, (cell_w, cell_h));
    }
    // Row labels, thinned so they never overlap (12 px per label).
    let every_row = ((12.0 / cell_h).ceil() as usize).max(1);
    for (i, label) in row_labels
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every_row == 0)
    {
        let r = if c.row0_at_bottom {
            rows.saturating_sub(1 + i)
        } else {
            i
        };
        let y = area.y + (r as f64 + 0.5) * cell_h + 3.5;
        svg.text(area.x - 5.0, y, label, 10.0, Anchor::End);
    }
    // Column labels, thinned to fit their width (or 12 px when upright).
    let needed = if rotate_cols {
        12.0
    } else {
        col_label_w + 14.0
    };
    let every_col = ((needed / cell_w).ceil() as usize).max(1);
    let below = area.y + area.h;
    for (j, label) in col_labels
        .iter()
        .enumerate()
        .filter(|(j, _)| j % every_col == 0)
    {
        let x = area.x + (j as f64 + 0.5) * cell_w;
        if rotate_cols {
            svg.text_rotated(x + 3.5, below + 5.0, label, 10.0, Anchor::End, -90.0);
        } else {
            svg.text(x, below + 13.0, label, 10.0, Anchor::Middle);
        }
    }
    if !c.x_label.is_empty() {
        svg.text(
            area.x + area.w / 2.0,
            below + col_band + 12.0,
            &c.x_label,
            11.0,
            Anchor::Middle,
        );
    }
    if !c.y_label.is_empty() {
        svg.text_vertical(8.0 + 10.0, area.y + area.h / 2.0, &c.y_label, 11.0);
    }
    colour_bar(&mut svg, bar, c.palette, range);
    svg.finish()
}

/// Writes each cell's value as an integer, in black or white for contrast,
/// sized to fit the cell; skipped when cells are too small to read.
fn annotate_cells(
    svg: &mut Svg,
    area: Rect,
    c: &HeatmapChart,
    range: (f64, f64),
    (cw, ch): (f64, f64),
) {
    let rows = c.matrix.len();
    let span = if range.1 > range.0 {
        range.1 - range.0
    } else {
        1.0
    };
    let widest = c
        .matrix
        .iter()
        .flatten()
        .map(|v| format!("{v:.0}").len())
        .max()
        .unwrap_or(1) as f64;
    let size = (cw / (widest * 0.62)).min(ch * 0.6).min(11.0);
    if size < 6.0 {
        return;
    }
    for (i, row) in c.matrix.iter().enumerate() {
        let r = if c.row0_at_bottom { rows - 1 - i } else { i };
        for (j, v) in row.iter().enumerate() {
            let t = (v - range.0) / span;
            let text = if v.is_finite() {
                format!("{v:.0}")
            } else {
                "n/a".to_string()
            };
            let x = area.x + (j as f64 + 0.5) * cw;
            let y = area.y + (r as f64 + 0.5) * ch + size * 0.35;
            svg.text_styled(
                x,
                y,
                &text,
                size,
                Anchor::Middle,
                &format!(r#" fill="{}""#, c.palette.text_colour(t)),
            );
        }
    }
}

/// Legend entries for "one colour per item" charts.
pub fn colour_legend(labels: &[String]) -> Vec<LegendEntry> {
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| LegendEntry {
            label: l.clone(),
            colour: series_colour(i).to_string(),
            dash: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn balanced(svg: &str) -> bool {
        svg.matches("<svg").count() == 1 && svg.matches("</svg>").count() == 1
    }

    #[test]
    fn line_chart_draws_each_series_and_title() {
        let mut c = LineChart::new("loss <train>", "epoch", "loss");
        c.series.push(Series::line(
            vec![(1.0, 2.0), (2.0, 1.0), (3.0, 0.5)],
            "#000",
        ));
        c.series.push(Series::line(
            vec![(1.0, 2.5), (2.0, f64::NAN), (3.0, 0.7)],
            "#f00",
        ));
        c.legend = colour_legend(&["seed 1".to_string(), "seed 2".to_string()]);
        let out = line_chart(&c);
        assert!(balanced(&out));
        assert!(out.contains("loss &lt;train&gt;"));
        // One polyline for the first series, and the NaN splits the second
        // into two lone points drawn as circles; plus two legend swatches.
        assert_eq!(out.matches("<polyline").count(), 1 + 2);
        assert_eq!(out.matches("<circle").count(), 2);
    }

    #[test]
    fn empty_and_all_nan_charts_render() {
        let c = LineChart::new("", "", "");
        assert!(balanced(&line_chart(&c)));
        let mut c = LineChart::new("t", "x", "y");
        c.series
            .push(Series::line(vec![(f64::NAN, f64::NAN)], "#000"));
        c.log_x = true;
        let out = line_chart(&c);
        assert!(balanced(&out));
        assert!(!out.contains("NaN"), "NaN leaked into SVG");
    }

    #[test]
    fn integer_axis_and_error_bars() {
        let mut c = LineChart::new("d", "depth", "acc");
        c.integer_x = true;
        let mut s = Series::line(vec![(1.0, 90.0), (2.0, 92.0), (4.0, 85.0)], "#000");
        s.errors = Some(vec![1.0, 0.0, 2.0]);
        s.markers = Some("relu".into());
        c.series.push(s);
        let out = line_chart(&c);
        for k in ["&gt;1&lt;", ">1<", ">2<", ">3<", ">4<"].iter().skip(1) {
            assert!(out.contains(k), "missing tick {k}");
        }
        assert_eq!(out.matches("<circle").count(), 3);
        // Two error bars of three lines each (the zero one is skipped), on
        // top of axes lines; check the cap count through the tooltips instead.
        assert!(out.contains("relu: 92.0"));
    }

    #[test]
    fn heatmap_annotates_every_cell() {
        let c = HeatmapChart {
            title: "conf".into(),
            matrix: vec![vec![5.0, 1.0], vec![0.0, 7.0]],
            row_labels: vec!["a".into(), "b".into()],
            col_labels: vec!["a".into(), "b".into()],
            x_label: "predicted".into(),
            y_label: "true".into(),
            palette: Palette::Sequential,
            range: None,
            annotate: true,
            area: (60.0, 60.0),
            row0_at_bottom: false,
            raster: false,
        };
        let out = heatmap_chart(&c);
        assert!(balanced(&out));
        // 4 cells + frame + 32 colour-bar steps + bar frame.
        assert_eq!(out.matches("<rect").count(), 4 + 1 + 32 + 1);
        for v in [">5<", ">1<", ">0<", ">7<"] {
            assert!(out.contains(v), "missing count {v}");
        }
    }

    #[test]
    fn heatmap_of_nothing_renders() {
        let c = HeatmapChart {
            title: String::new(),
            matrix: vec![],
            row_labels: vec![],
            col_labels: vec![],
            x_label: String::new(),
            y_label: String::new(),
            palette: Palette::Diverging,
            range: None,
            annotate: true,
            area: (50.0, 50.0),
            row0_at_bottom: true,
            raster: false,
        };
        assert!(balanced(&heatmap_chart(&c)));
    }
}
