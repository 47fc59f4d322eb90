//! Markdown rendering: the report's tables and its reproduction info.
//!
//! Plots do not exist in Markdown; the learned stages are listed with their
//! shapes and the HTML page is referenced for the pictures. Table cells are
//! escaped (`|`, `<`, `>`, `&`, newlines) so free-text names cannot break a
//! table or inject HTML into a renderer; configurations go into fenced code
//! blocks whose fence is longer than any backtick run they contain.

use std::fmt::Write;

use super::format::{count, delta_pp, num_mean_std, pct, pct_mean_std, pct_pm, rate, NA};
use super::model::{Report, StageData};
use super::summary::{all_seeds, held_out_table, summary_rows, test_speaker_table, SpeakerTable};

/// The report as one Markdown document.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let title = if report.title.is_empty() {
        "speechfront report"
    } else {
        &report.title
    };
    // Writing into a String cannot fail; `let _ =` keeps that explicit.
    let _ = writeln!(out, "# {}\n", inline(title));
    header(&mut out, report);
    summary(&mut out, report);
    speaker_section(
        &mut out,
        "Accuracy per held-out speaker",
        "Leave-one-speaker-out: each speaker tested by a model that never heard them. \
         Each cell: mean ± std over seeds.",
        &held_out_table(report),
    );
    speaker_section(
        &mut out,
        "Test accuracy per speaker",
        "Accuracy on each speaker's test utterances. Each cell: mean ± std over runs.",
        &test_speaker_table(report),
    );
    twins(&mut out, report);
    ablation(&mut out, report);
    deep_vs_fat(&mut out, report);
    learned(&mut out, report);
    skipped(&mut out, report);
    reproduction(&mut out, report);
    out
}

/// Escapes text for a table cell or a heading.
pub fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// Writes a table: a header row, the separator, then the rows.
fn table(out: &mut String, head: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let sep: Vec<&str> = head
        .iter()
        .enumerate()
        .map(|(i, _)| if i == 0 { "---" } else { "---:" })
        .collect();
    let _ = writeln!(out, "| {} |", sep.join(" | "));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

fn header(out: &mut String, r: &Report) {
    let m = &r.machine;
    let _ = writeln!(out, "- Created: {}", inline(&r.created));
    let _ = writeln!(out, "- speechfront version: {}", inline(&r.crate_version));
    let _ = writeln!(
        out,
        "- Machine: {}, {} cores, {}",
        inline(&m.cpu_model),
        m.cores,
        inline(&m.os)
    );
    let d = &r.data;
    let _ = writeln!(
        out,
        "- Data: `{}`: {} files, {} classes, {} speakers, {} skipped",
        d.path.replace('`', "'"),
        d.n_files,
        d.n_classes,
        d.speakers.len(),
        d.skipped.len()
    );
    if !d.classes.is_empty() {
        let _ = writeln!(out, "- Classes: {}", inline(&d.classes.join(", ")));
    }
    if !d.speakers.is_empty() {
        let _ = writeln!(out, "- Speakers: {}", inline(&d.speakers.join(", ")));
    }
    let _ = writeln!(out, "- Split: {}", inline(&r.split));
    let seeds: Vec<String> = all_seeds(r).iter().map(u64::to_string).collect();
    let _ = writeln!(
        out,
        "- Seeds: {}\n",
        if seeds.is_empty() {
            NA.to_string()
        } else {
            seeds.join(", ")
        }
    );
    out.push_str("The HTML page next to this file (`report.html`) has the plots.\n\n");
}

fn summary(out: &mut String, r: &Report) {
    out.push_str("## Summary per front end\n\n");
    let rows = summary_rows(r);
    if rows.is_empty() {
        out.push_str("No configuration was run.\n\n");
        return;
    }
    out.push_str(
        "Accuracy and macro-F1 on the test set: mean ± sample std over runs (seeds and folds).\n\n",
    );
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|s| {
            let (ups, xrt) = match &s.throughput {
                Some(t) => (
                    rate(t.utterances_per_s),
                    format!("{}×", rate(t.x_real_time)),
                ),
                None => (NA.to_string(), NA.to_string()),
            };
            vec![
                inline(&s.name),
                pct_mean_std(&s.accuracy),
                pct_mean_std(&s.macro_f1),
                s.accuracy.n.to_string(),
                count(s.frontend_params),
                count(s.classifier_params),
                num_mean_std(&s.train_seconds, 1),
                ups,
                xrt,
            ]
        })
        .collect();
    table(
        out,
        &[
            "Front end",
            "Accuracy",
            "Macro-F1",
            "Runs",
            "Front-end params",
            "Classifier params",
            "Train time (s)",
            "Extraction (utt/s)",
            "Real time",
        ],
        &body,
    );
}

fn speaker_section(out: &mut String, title: &str, note: &str, t: &SpeakerTable) {
    if t.is_empty() {
        return;
    }
    let _ = writeln!(out, "## {title}\n\n{note}\n");
    let mut head: Vec<String> = vec!["Front end".into()];
    head.extend(t.speakers.iter().map(|s| inline(s)));
    head.push("Mean".into());
    head.push("Worst".into());
    let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
    let body: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![inline(&row.config)];
            cells.extend(row.cells.iter().map(|c| {
                if c.n == 0 {
                    "–".to_string()
                } else {
                    pct_mean_std(c)
                }
            }));
            cells.push(pct(row.mean));
            cells.push(pct(row.worst));
            cells
        })
        .collect();
    table(out, &head_refs, &body);
}

fn twins(out: &mut String, r: &Report) {
    if r.twins.is_empty() {
        return;
    }
    out.push_str(
        "## Learned stages against their hand-crafted twins\n\n\
         Each learned configuration beside the configuration that differs from it only in \
         `[frontend.learn]`, on the same test utterances, folds and seeds. Δ: accuracy \
         difference (learned - twin) with its 95 % paired-bootstrap interval (2000 \
         resamples of the paired decisions); \"within noise\" when the interval holds 0.\n\n",
    );
    out.push_str(&super::twins::overall(&r.twins));
    out.push_str("\n\n");
    let body: Vec<Vec<String>> = r
        .twins
        .iter()
        .map(|t| {
            vec![
                inline(&t.learned),
                inline(&t.twin),
                t.stages.join("; "),
                t.pairs.to_string(),
                pct(t.learned_accuracy),
                pct(t.twin_accuracy),
                format!(
                    "{} [{:+.2}, {:+.2}]",
                    delta_pp(t.difference),
                    100.0 * t.ci_low,
                    100.0 * t.ci_high
                ),
                format!("{} / {}", t.learned_only, t.twin_only),
                super::twins::verdict(t).to_string(),
            ]
        })
        .collect();
    table(
        out,
        &[
            "Learned",
            "Twin",
            "Learned stages",
            "Pairs",
            "Learned acc.",
            "Twin acc.",
            "Δ [95 % CI] (pp)",
            "Only learned / only twin right",
            "Finding",
        ],
        &body,
    );
    for t in &r.twins {
        out.push_str("- ");
        out.push_str(&super::twins::finding(t));
        out.push('\n');
    }
    out.push('\n');
}

fn ablation(out: &mut String, r: &Report) {
    if r.ablation.is_empty() {
        return;
    }
    out.push_str("## Ablation\n\nThe default configuration with one ingredient removed.\n\n");
    let body: Vec<Vec<String>> = r
        .ablation
        .iter()
        .map(|a| {
            vec![
                inline(&a.removed),
                pct_pm(a.accuracy_mean, a.accuracy_std),
                delta_pp(a.delta),
                a.worst_speaker.map(pct).unwrap_or_else(|| NA.to_string()),
            ]
        })
        .collect();
    table(
        out,
        &["Removed", "Accuracy", "Δ vs full", "Worst speaker"],
        &body,
    );
}

fn deep_vs_fat(out: &mut String, r: &Report) {
    if r.deep_vs_fat.is_empty() {
        return;
    }
    out.push_str("## Deep versus fat\n\nNetworks of about the same parameter budget.\n\n");
    let body: Vec<Vec<String>> = r
        .deep_vs_fat
        .iter()
        .map(|d| {
            vec![
                inline(&d.name),
                d.depth.to_string(),
                d.width.to_string(),
                inline(&d.activation),
                count(d.params),
                pct_pm(d.accuracy_mean, d.accuracy_std),
            ]
        })
        .collect();
    table(
        out,
        &[
            "Network",
            "Depth",
            "Width",
            "Activation",
            "Params",
            "Accuracy",
        ],
        &body,
    );
}

fn learned(out: &mut String, r: &Report) {
    if r.learned.is_empty() && r.example_features.is_empty() {
        return;
    }
    out.push_str("## Learned stages and example features\n\nSee `report.html` for the plots.\n\n");
    for s in &r.learned {
        let (rows, cols) = match &s.stage {
            StageData::Filterbank { learned, .. }
            | StageData::Dct { learned, .. }
            | StageData::Matrix { learned, .. } => shape(learned),
            StageData::Compression { x, learned, .. } => (learned.len(), x.len()),
        };
        let seed = s.seed.map(|v| format!(", seed {v}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "- {} ({}{}): {rows} × {cols}",
            inline(s.stage.kind_name()),
            inline(&s.config),
            seed
        );
    }
    for e in &r.example_features {
        let (frames, dims) = shape(&e.features);
        let _ = writeln!(
            out,
            "- Features of {}: {}: {frames} frames × {dims} dims",
            inline(&e.utterance),
            inline(&e.label)
        );
    }
    out.push('\n');
}

fn shape(m: &[Vec<f32>]) -> (usize, usize) {
    (m.len(), m.iter().map(Vec::len).max().unwrap_or(0))
}

fn skipped(out: &mut String, r: &Report) {
    if r.data.skipped.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Skipped files ({})\n", r.data.skipped.len());
    let body: Vec<Vec<String>> = r
        .data
        .skipped
        .iter()
        .map(|s| vec![inline(&s.path), inline(&s.reason)])
        .collect();
    table(out, &["File", "Reason"], &body);
}

fn reproduction(out: &mut String, r: &Report) {
    out.push_str("## Reproduction\n\n");
    let _ = writeln!(out, "Command line:\n\n{}", fenced(&r.command_line, "sh"));
    for c in &r.configs {
        let seeds: Vec<String> = super::summary::summary_row(c)
            .seeds
            .iter()
            .map(u64::to_string)
            .collect();
        let _ = writeln!(
            out,
            "### {}\n\nSeeds: {}\n",
            inline(&c.name),
            if seeds.is_empty() {
                NA.into()
            } else {
                seeds.join(", ")
            }
        );
        let _ = writeln!(out, "{}", fenced(&c.config_toml, "toml"));
    }
    out.push_str("Numbers are rounded for display; exact values are in `report.json`.\n");
}

/// A fenced code block whose fence is longer than any backtick run inside.
fn fenced(text: &str, lang: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for ch in text.chars() {
        run = if ch == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    let body = text.trim_end_matches('\n');
    format!("{fence}{lang}\n{body}\n{fence}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_escaped() {
        assert_eq!(inline("a|b<c>&\nd"), "a\\|b&lt;c&gt;&amp; d");
    }

    #[test]
    fn fences_outgrow_backticks() {
        let f = fenced("x ```` y", "toml");
        assert!(f.starts_with("`````toml\n"), "{f}");
        assert!(f.ends_with("\n`````\n"), "{f}");
        assert!(fenced("plain", "").starts_with("```\n"));
    }

    #[test]
    fn empty_report_renders_headings_only() {
        let md = render(&Report::default());
        assert!(md.starts_with("# speechfront report"));
        assert!(md.contains("No configuration was run."));
        assert!(!md.contains("## Ablation"));
        assert!(!md.contains("## Skipped files"));
    }
}
