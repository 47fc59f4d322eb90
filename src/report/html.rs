//! HTML rendering: one self-contained page.
//!
//! Inline CSS, inline SVG, no script, no external resource of any kind: the
//! page opens offline and prints. The only links are in-page anchors of the
//! table of contents. All free text (config names, paths, TOML, skip
//! reasons) is escaped with [`escape`]. Sections without data are left out
//! (and out of the table of contents), so partial reports stay tidy.

use std::fmt::Write;

use super::colour::Palette;
use super::figures;
use super::format::{count, delta_pp, num_mean_std, pct, pct_mean_std, pct_pm, rate, NA};
use super::model::{Report, StageData};
use super::summary::{
    all_seeds, held_out_table, summary_row, summary_rows, test_speaker_table, MeanStd, SpeakerTable,
};
use super::svg::escape;

/// The page's style sheet (inline; nothing is fetched).
const CSS: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #222; background: #fff; margin: 0; }
main { max-width: 1240px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.6em; margin: 0.4em 0 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 1.8em; }
h3 { font-size: 1.02em; margin: 1.2em 0 0.4em; }
p.meta { color: #555; margin: 0.2em 0; }
nav { margin: 0.8em 0; font-size: 0.92em; }
nav a { margin-right: 0.9em; color: #1f5fa8; text-decoration: none; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid #d4d4d4; padding: 4px 8px; }
th { background: #f3f5f8; text-align: center; }
td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name, th.name { text-align: left; white-space: normal; min-width: 9em; max-width: 320px; overflow-wrap: break-word; }
td.best { font-weight: bold; }
td.text { text-align: left; white-space: normal; min-width: 6em; overflow-wrap: break-word; }
.wrap { overflow-x: auto; max-width: 100%; }
.grid { display: flex; flex-wrap: wrap; gap: 10px 18px; align-items: flex-start; }
figure { margin: 0; }
figcaption { font-size: 0.9em; font-weight: 600; margin: 4px 0; overflow-wrap: anywhere; max-width: 540px; }
.card { border: 1px solid #e3e3e3; border-radius: 6px; padding: 6px 8px; }
.note { color: #555; font-size: 0.9em; max-width: 900px; }
svg { display: block; max-width: 100%; height: auto; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; padding: 8px 10px; overflow-x: auto; font-size: 0.85em; max-width: 100%; }
details { margin: 0.4em 0; }
summary { cursor: pointer; font-weight: 600; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 14px; font-size: 0.95em; }
dt { color: #555; }
dd { margin: 0; overflow-wrap: anywhere; }
"#;

/// The report as one HTML document.
pub fn render(report: &Report) -> String {
    let title = if report.title.is_empty() {
        "speechfront report"
    } else {
        &report.title
    };
    let sections: Vec<(&str, &str, String)> = vec![
        ("summary", "Summary", summary(report)),
        ("speakers", "Per speaker", speakers(report)),
        ("twins", "Learned stages against their twins", twins(report)),
        ("ablation", "Ablation", ablation(report)),
        ("curves", "Learning curves", curves(report)),
        ("confusion", "Confusion matrices", confusions(report)),
        ("learned", "Learned stages", learned(report)),
        ("features", "Example features", features(report)),
        ("deep-vs-fat", "Deep versus fat", deep_vs_fat(report)),
        ("data", "Data", data(report)),
        ("reproduce", "Reproduction", reproduction(report)),
    ];
    let mut out = String::with_capacity(1 << 16);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
    let m = &report.machine;
    let _ = writeln!(
        out,
        "<p class=\"meta\">{} · speechfront {} · {} ({} cores) · {}</p>",
        escape(&report.created),
        escape(&report.crate_version),
        escape(&m.cpu_model),
        m.cores,
        escape(&m.os)
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">Data <code>{}</code>: {} files, {} classes, {} speakers; split: {}</p>",
        escape(&report.data.path),
        report.data.n_files,
        report.data.n_classes,
        report.data.speakers.len(),
        escape(&report.split)
    );
    out.push_str("<nav>");
    for (id, name, body) in &sections {
        if !body.is_empty() {
            let _ = write!(out, "<a href=\"#{id}\">{name}</a>");
        }
    }
    out.push_str("</nav>\n");
    for (id, name, body) in &sections {
        if !body.is_empty() {
            let _ = write!(
                out,
                "<section id=\"{id}\">\n<h2>{name}</h2>\n{body}</section>\n"
            );
        }
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// A table from a header and rows of already-escaped cell HTML
/// (`<td ...>...</td>` each), wrapped for horizontal scrolling.
fn table(head: &[String], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<div class=\"wrap\"><table>\n<thead><tr>");
    for (i, h) in head.iter().enumerate() {
        let class = if i == 0 { " class=\"name\"" } else { "" };
        let _ = write!(out, "<th{class}>{h}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        let _ = writeln!(out, "<tr>{}</tr>", row.concat());
    }
    out.push_str("</tbody></table></div>\n");
    out
}

fn td(text: &str) -> String {
    format!("<td>{}</td>", escape(text))
}

fn td_class(class: &str, text: &str) -> String {
    format!("<td class=\"{class}\">{}</td>", escape(text))
}

fn heads(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| escape(n)).collect()
}

fn summary(r: &Report) -> String {
    let rows = summary_rows(r);
    if rows.is_empty() {
        return "<p>No configuration was run.</p>\n".to_string();
    }
    let best = rows
        .iter()
        .map(|s| s.accuracy.mean)
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|s| {
            let acc_class = if s.accuracy.mean == best { "best" } else { "" };
            let (ups, xrt) = match &s.throughput {
                Some(t) => (
                    rate(t.utterances_per_s),
                    format!("{}×", rate(t.x_real_time)),
                ),
                None => (NA.to_string(), NA.to_string()),
            };
            vec![
                td_class("name", &s.name),
                td_class(acc_class, &pct_mean_std(&s.accuracy)),
                td(&pct_mean_std(&s.macro_f1)),
                td(&s.accuracy.n.to_string()),
                td(&count(s.frontend_params)),
                td(&count(s.classifier_params)),
                td(&num_mean_std(&s.train_seconds, 1)),
                td(&ups),
                td(&xrt),
            ]
        })
        .collect();
    let head = heads(&[
        "Front end",
        "Test accuracy",
        "Macro-F1",
        "Runs",
        "Front-end params",
        "Classifier params",
        "Train time (s)",
        "Extraction (utt/s)",
        "Real time",
    ]);
    let mut out = String::from(
        "<p class=\"note\">Test accuracy and macro-F1: mean ± sample standard deviation over runs (seeds, and folds when cross-validating). Best mean accuracy in bold.</p>\n",
    );
    out.push_str(&table(&head, &body));
    out
}

fn speaker_table(title: &str, note: &str, t: &SpeakerTable) -> String {
    if t.is_empty() {
        return String::new();
    }
    let mut head = vec![escape("Front end")];
    head.extend(t.speakers.iter().map(|s| escape(s)));
    head.push("Mean".into());
    head.push("Worst".into());
    let means = t
        .rows
        .iter()
        .flat_map(|r| r.cells.iter())
        .filter(|c| c.n > 0)
        .map(|c| c.mean);
    let finite: Vec<f64> = means.filter(|v| v.is_finite()).collect();
    let range = (
        finite.iter().copied().fold(f64::INFINITY, f64::min),
        finite.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let body: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![td_class("name", &row.config)];
            cells.extend(row.cells.iter().map(|c| shaded_cell(c, range)));
            cells.push(td_class("best", &pct(row.mean)));
            cells.push(td(&pct(row.worst)));
            cells
        })
        .collect();
    format!(
        "<h3>{}</h3>\n<p class=\"note\">{}</p>\n{}",
        escape(title),
        escape(note),
        table(&head, &body)
    )
}

/// A percentage cell tinted by where its value lies in the table's range
/// `lo..hi`: the worst cell white, the best a light blue, so differences
/// show while the text stays dark and readable.
fn shaded_cell(c: &MeanStd, (lo, hi): (f64, f64)) -> String {
    if c.n == 0 {
        return td("–");
    }
    let t = if !c.mean.is_finite() {
        f64::NAN
    } else if hi > lo {
        (c.mean - lo) / (hi - lo) * 0.45
    } else {
        0.2
    };
    let bg = Palette::Blues.hex(t);
    format!(
        "<td style=\"background:{bg}\">{}</td>",
        escape(&pct_mean_std(c))
    )
}

fn speakers(r: &Report) -> String {
    let mut out = speaker_table(
        "Accuracy per held-out speaker",
        "Leave-one-speaker-out: each speaker tested by a model that never heard them. Cells: mean ± std over seeds.",
        &held_out_table(r),
    );
    out.push_str(&speaker_table(
        "Test accuracy per speaker",
        "Accuracy on each speaker's test utterances, mean ± std over runs.",
        &test_speaker_table(r),
    ));
    out
}

/// `text` escaped, with each `` `name` `` span as `<code>name</code>`.
fn code_spans(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", escape(part))
            } else {
                escape(part)
            }
        })
        .collect()
}

fn twins(r: &Report) -> String {
    if r.twins.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<p class=\"note\">Each learned configuration beside the hand-crafted configuration that \
         differs from it only in <code>[frontend.learn]</code>, decided on the same test \
         utterances, folds and seeds. Δ: accuracy difference (learned − twin) with its 95 % \
         paired-bootstrap interval (2000 resamples of the paired decisions); within noise when \
         the interval holds 0.</p>\n<p>{}</p>\n",
        escape(&super::twins::overall(&r.twins))
    );
    out.push_str(&format!(
        "<figure class=\"card\">{}</figure>\n",
        super::twins::forest(&r.twins)
    ));
    let body: Vec<Vec<String>> = r
        .twins
        .iter()
        .map(|t| {
            vec![
                td_class("name", &t.learned),
                td(&t.twin),
                td(&t.stages.join("; ")),
                td(&t.pairs.to_string()),
                td(&pct(t.learned_accuracy)),
                td(&pct(t.twin_accuracy)),
                td(&format!(
                    "{} [{:+.2}, {:+.2}]",
                    delta_pp(t.difference),
                    100.0 * t.ci_low,
                    100.0 * t.ci_high
                )),
                td(&format!("{} / {}", t.learned_only, t.twin_only)),
                td(super::twins::verdict(t)),
            ]
        })
        .collect();
    out.push_str(&table(
        &heads(&[
            "Learned",
            "Twin",
            "Learned stages",
            "Pairs",
            "Learned acc.",
            "Twin acc.",
            "Δ [95 % CI] (pp)",
            "Only learned / only twin right",
            "Finding",
        ]),
        &body,
    ));
    out.push_str("<ul class=\"note\">\n");
    for t in &r.twins {
        let _ = writeln!(out, "<li>{}</li>", code_spans(&super::twins::finding(t)));
    }
    out.push_str("</ul>\n");
    out
}

fn ablation(r: &Report) -> String {
    if r.ablation.is_empty() {
        return String::new();
    }
    let body: Vec<Vec<String>> = r
        .ablation
        .iter()
        .map(|a| {
            vec![
                td_class("name", &a.removed),
                td(&pct_pm(a.accuracy_mean, a.accuracy_std)),
                td(&delta_pp(a.delta)),
                td(&a.worst_speaker.map(pct).unwrap_or_else(|| NA.to_string())),
            ]
        })
        .collect();
    let mut out = String::from("<p class=\"note\">The default configuration with one ingredient removed; Δ is the change in mean accuracy (percentage points).</p>\n");
    out.push_str(&table(
        &heads(&["Removed", "Accuracy", "Δ vs full", "Worst speaker"]),
        &body,
    ));
    out
}

fn curves(r: &Report) -> String {
    let with_history: Vec<_> = r
        .configs
        .iter()
        .filter(|c| c.runs.iter().any(|run| !run.history.is_empty()))
        .collect();
    if with_history.is_empty() {
        return String::new();
    }
    let mut out = String::from("<p class=\"note\">Per epoch; one colour per run, solid = training, dashed = validation.</p>\n<div class=\"grid\">\n");
    for c in with_history {
        let (loss, acc) = figures::learning_curves(c);
        let _ = writeln!(out, "<figure class=\"card\"><figcaption>{}</figcaption><div class=\"grid\">{loss}{acc}</div></figure>", escape(&c.name));
    }
    out.push_str("</div>\n");
    out
}

fn confusions(r: &Report) -> String {
    let with: Vec<_> = r
        .configs
        .iter()
        .filter(|c| c.runs.iter().any(|run| !run.confusion.is_empty()))
        .collect();
    if with.is_empty() {
        return String::new();
    }
    let mut out = String::from("<p class=\"note\">Counts summed over runs; rows = true class, columns = predicted.</p>\n<div class=\"grid\">\n");
    for c in with {
        out.push_str(&figures::confusion(c, &r.data.classes));
    }
    out.push_str("</div>\n");
    out
}

fn learned(r: &Report) -> String {
    let mut out = String::new();
    for s in &r.learned {
        let seed = s.seed.map(|v| format!(", seed {v}")).unwrap_or_default();
        let caption = format!("{}: {}{seed}", s.stage.kind_name(), s.config);
        let _ = write!(out, "<h3>{}</h3>\n<div class=\"grid\">", escape(&caption));
        match &s.stage {
            StageData::Filterbank {
                sample_rate_hz,
                initial,
                learned,
            } => {
                out.push_str(&figures::filterbank(
                    "learned filters over the initial ones",
                    *sample_rate_hz,
                    initial,
                    learned,
                ));
            }
            StageData::Compression {
                x,
                log_x,
                initial,
                learned,
            } => {
                out.push_str(&figures::compression(
                    "compression curve",
                    x,
                    *log_x,
                    initial,
                    learned,
                ));
            }
            StageData::Dct { initial, learned } => {
                let (a, b) = figures::matrix_pair(initial, learned, "filter", "coefficient");
                out.push_str(&a);
                out.push_str(&b);
            }
            StageData::Matrix {
                x_label,
                y_label,
                initial,
                learned,
                ..
            } => {
                let (a, b) = figures::matrix_pair(initial, learned, x_label, y_label);
                out.push_str(&a);
                out.push_str(&b);
            }
        }
        out.push_str("</div>\n");
    }
    out
}

fn features(r: &Report) -> String {
    if r.example_features.is_empty() {
        return String::new();
    }
    let mut out = String::from("<p class=\"note\">Time runs left to right, feature dimension 0 at the bottom; colours span each image's 1st to 99th percentile. Hand-crafted front ends show their features; learned ones (“trained front end”) the output of their front end after training (first fold, first seed), before the feature normalisation.</p>\n");
    // One group per utterance, in order of first appearance.
    let mut utterances: Vec<&str> = Vec::new();
    for e in &r.example_features {
        if !utterances.contains(&e.utterance.as_str()) {
            utterances.push(&e.utterance);
        }
    }
    for u in utterances {
        if !u.is_empty() {
            let _ = writeln!(out, "<h3>{}</h3>", escape(u));
        }
        out.push_str("<div class=\"grid\">\n");
        for e in r.example_features.iter().filter(|e| e.utterance == u) {
            out.push_str(&figures::features(e));
        }
        out.push_str("</div>\n");
    }
    out
}

fn deep_vs_fat(r: &Report) -> String {
    if r.deep_vs_fat.is_empty() {
        return String::new();
    }
    let body: Vec<Vec<String>> = r
        .deep_vs_fat
        .iter()
        .map(|d| {
            vec![
                td_class("name", &d.name),
                td(&d.depth.to_string()),
                td(&d.width.to_string()),
                td_class("text", &d.activation),
                td(&count(d.params)),
                td(&pct_pm(d.accuracy_mean, d.accuracy_std)),
            ]
        })
        .collect();
    let mut out = String::from("<p class=\"note\">Networks with about the same number of parameters: one wide hidden layer against several narrow ones, per activation. Error bars: ± one standard deviation over seeds.</p>\n<div class=\"grid\">");
    out.push_str(&figures::deep_vs_fat(&r.deep_vs_fat));
    out.push_str(&table(
        &heads(&[
            "Network",
            "Depth",
            "Width",
            "Activation",
            "Params",
            "Accuracy",
        ]),
        &body,
    ));
    out.push_str("</div>\n");
    out
}

fn data(r: &Report) -> String {
    let d = &r.data;
    let mut out = String::from("<dl>");
    let mut item = |k: &str, v: &str| {
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
    };
    item("Path", &d.path);
    item("Files used", &d.n_files.to_string());
    item(
        "Classes",
        &format!("{}: {}", d.n_classes, d.classes.join(", ")),
    );
    item(
        "Speakers",
        &format!("{}: {}", d.speakers.len(), d.speakers.join(", ")),
    );
    item("Split", &r.split);
    item("Skipped files", &d.skipped.len().to_string());
    out.push_str("</dl>\n");
    if !d.skipped.is_empty() {
        let body: Vec<Vec<String>> = d
            .skipped
            .iter()
            .map(|s| vec![td_class("name", &s.path), td_class("text", &s.reason)])
            .collect();
        out.push_str(&table(&heads(&["Skipped file", "Reason"]), &body));
    }
    out
}

fn reproduction(r: &Report) -> String {
    let m = &r.machine;
    let seeds: Vec<String> = all_seeds(r).iter().map(u64::to_string).collect();
    let mut out = String::from("<dl>");
    let mut item = |k: &str, v: &str| {
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
    };
    item("Created", &r.created);
    item("speechfront version", &r.crate_version);
    item("CPU", &format!("{} ({} cores)", m.cpu_model, m.cores));
    item("OS", &m.os);
    item(
        "Seeds",
        &if seeds.is_empty() {
            NA.to_string()
        } else {
            seeds.join(", ")
        },
    );
    out.push_str("</dl>\n");
    let _ = write!(
        out,
        "<h3>Command line</h3>\n<pre>{}</pre>\n",
        escape(&r.command_line)
    );
    if !r.configs.is_empty() {
        out.push_str("<h3>Configurations</h3>\n");
    }
    for c in &r.configs {
        let seeds: Vec<String> = summary_row(c).seeds.iter().map(u64::to_string).collect();
        let _ = write!(
            out,
            "<details><summary>{} (seeds {})</summary>\n<pre>{}</pre>\n</details>\n",
            escape(&c.name),
            escape(&seeds.join(", ")),
            escape(&c.config_toml)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_report_is_a_complete_page_without_optional_sections() {
        let page = render(&Report::default());
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.trim_end().ends_with("</html>"));
        assert!(page.contains("No configuration was run."));
        assert!(!page.contains("id=\"curves\""));
        assert!(!page.contains("id=\"deep-vs-fat\""));
        assert!(!page.contains("<svg"));
    }

    #[test]
    fn free_text_is_escaped() {
        let mut r = Report {
            title: "<b>t</b>".into(),
            ..Report::default()
        };
        r.data.skipped.push(super::super::model::SkippedFile {
            path: "a&b.wav".into(),
            reason: "<bad>".into(),
        });
        let page = render(&r);
        assert!(page.contains("&lt;b&gt;t&lt;/b&gt;"));
        assert!(page.contains("a&amp;b.wav"));
        assert!(page.contains("&lt;bad&gt;"));
        assert!(!page.contains("<bad>"));
    }
}
