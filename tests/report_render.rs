//! End-to-end checks of the report renderers on the seeded synthetic report:
//! structure of the HTML page, Markdown tables, JSON round trip, partial and
//! NaN-laden reports.

use speechfront::report::format::pct_mean_std;
use speechfront::report::plot::COLOUR_BAR_STEPS;
use speechfront::report::summary::summary_rows;
use speechfront::report::synthetic::synthetic_report;
use speechfront::report::{html, json, markdown, write_all, Report};

/// The seed of every synthetic report in these tests.
const SEED: u64 = 11;

/// Elements that never have a closing tag in HTML.
const VOID: [&str; 6] = ["meta", "br", "img", "input", "link", "hr"];

/// Checks that every start tag is closed in the right order (SVG's `/>`
/// self-closing tags count as closed) and returns the number of tags seen.
/// Text content is escaped by the renderers, so every `<` starts a tag.
fn check_nesting(page: &str) -> Result<usize, String> {
    let mut stack: Vec<String> = Vec::new();
    let mut seen = 0;
    let mut rest = page;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').ok_or("unterminated tag")? + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        seen += 1;
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(open) if open == name.trim() => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if name.is_empty() {
            return Err(format!("bad tag <{tag}>"));
        }
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        // Raw-text elements: skip to their end tag.
        if name == "style" {
            let close = rest.find("</style>").ok_or("unclosed style")?;
            rest = &rest[close + "</style>".len()..];
            continue;
        }
        stack.push(name);
    }
    if stack.is_empty() {
        Ok(seen)
    } else {
        Err(format!("unclosed: {stack:?}"))
    }
}

/// `page` with the base64 payload of every embedded PNG removed (base64
/// text can contain any letters, e.g. "NaN").
fn without_data_uris(page: &str) -> String {
    const PREFIX: &str = "data:image/png;base64,";
    let mut out = String::with_capacity(page.len());
    let mut rest = page;
    while let Some(at) = rest.find(PREFIX) {
        out.push_str(&rest[..at + PREFIX.len()]);
        rest = &rest[at + PREFIX.len()..];
        let end = rest.find('"').unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The text of the `<section id="...">` with that id.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let open = format!("<section id=\"{id}\">");
    let start = page
        .find(&open)
        .unwrap_or_else(|| panic!("no section {id}"));
    let end = page[start..].find("</section>").expect("section end") + start;
    &page[start..end]
}

#[test]
fn html_is_well_nested_and_self_contained() {
    let report = synthetic_report(SEED);
    let page = html::render(&report);
    let tags = check_nesting(&page).expect("well-nested HTML");
    assert!(tags > 1000, "suspiciously few tags: {tags}");
    assert_eq!(page.matches("<svg").count(), page.matches("</svg>").count());
    assert!(page.matches("<svg").count() >= 20, "expected many charts");

    // No URL other than the SVG namespace, and nothing that would load a
    // resource: only in-page anchors and data: URIs.
    let stripped = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!stripped.contains("http://") && !stripped.contains("https://"));
    for attr in ["href=\"", "src=\""] {
        for (at, _) in stripped.match_indices(attr) {
            let value = &stripped[at + attr.len()..];
            assert!(
                value.starts_with('#') || value.starts_with("data:image/png;base64,"),
                "external {attr}: {}",
                &value[..value.len().min(60)]
            );
        }
    }
    for banned in ["<script", "<link", "@import", "url(", "<iframe"] {
        assert!(!page.contains(banned), "page contains {banned}");
    }
}

#[test]
fn html_contains_the_summary_numbers() {
    let report = synthetic_report(SEED);
    let page = html::render(&report);
    let summary = section(&page, "summary");
    for row in summary_rows(&report) {
        assert!(
            summary.contains(&pct_mean_std(&row.accuracy)),
            "accuracy of {} missing",
            row.name
        );
        assert!(
            summary.contains(&pct_mean_std(&row.macro_f1)),
            "macro-F1 of {} missing",
            row.name
        );
    }
    assert_eq!(summary.matches("<tr>").count(), 1 + report.configs.len());
}

#[test]
fn html_draws_one_cell_per_confusion_entry() {
    let report = synthetic_report(SEED);
    let page = html::render(&report);
    let conf = section(&page, "confusion");
    let n = report.data.classes.len();
    assert_eq!(conf.matches("<svg").count(), report.configs.len());
    // Per matrix: n x n cells, the frame, the colour bar's steps and frame.
    let per_chart = n * n + 1 + COLOUR_BAR_STEPS + 1;
    assert_eq!(
        conf.matches("<rect").count(),
        report.configs.len() * per_chart
    );
    // Every cell carries its count as text: n*n numbers per chart at least.
    assert!(conf.matches("</text>").count() >= report.configs.len() * n * n);
}

#[test]
fn names_with_markup_are_escaped_everywhere() {
    let mut report = synthetic_report(SEED);
    report.configs[0].name = "mfcc <b>bold</b> & \"q\"".into();
    report.configs[0].config_toml = "name = \"</pre><script>\"".into();
    let page = html::render(&report);
    assert!(page.contains("mfcc &lt;b&gt;bold&lt;/b&gt; &amp; &quot;q&quot;"));
    assert!(!page.contains("<b>bold"));
    assert!(!page.contains("<script>"));
    check_nesting(&page).expect("still well-nested");
    let md = markdown::render(&report);
    assert!(
        md.contains("mfcc &lt;b&gt;bold&lt;/b&gt; &amp;"),
        "Markdown did not escape"
    );
}

#[test]
fn markdown_tables_have_one_row_per_item() {
    let report = synthetic_report(SEED);
    let md = markdown::render(&report);
    let table_after = |heading: &str| -> Vec<&str> {
        let start = md.find(heading).unwrap_or_else(|| panic!("no {heading}"));
        md[start..]
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .collect()
    };
    // Header + separator + one row per item.
    assert_eq!(
        table_after("## Summary per front end").len(),
        2 + report.configs.len()
    );
    assert_eq!(table_after("## Ablation").len(), 2 + report.ablation.len());
    assert_eq!(
        table_after("## Deep versus fat").len(),
        2 + report.deep_vs_fat.len()
    );
    assert_eq!(
        table_after("## Skipped files").len(),
        2 + report.data.skipped.len()
    );
    let held_out = table_after("## Accuracy per held-out speaker");
    assert_eq!(held_out.len(), 2 + report.configs.len());
    // Front end + 5 speakers + mean + worst = 8 cells, so 9 pipes.
    assert_eq!(
        held_out[0].matches('|').count(),
        2 + report.data.speakers.len() + 2
    );
    for c in &report.configs {
        assert!(md.contains(&c.config_toml.lines().nth(1).unwrap_or_default().to_string()));
    }
}

#[test]
fn json_round_trips_to_the_same_model() {
    let report = synthetic_report(SEED);
    let text = json::to_json_string(&report).unwrap();
    assert_eq!(json::from_json_str(&text).unwrap(), report);
}

#[test]
fn empty_and_partial_reports_render() {
    let empty = Report::default();
    check_nesting(&html::render(&empty)).unwrap();
    assert!(markdown::render(&empty).contains("No configuration was run."));
    assert_eq!(
        json::from_json_str(&json::to_json_string(&empty).unwrap()).unwrap(),
        empty
    );

    // One config, one run without history or confusion, no optional sections.
    let mut partial = synthetic_report(SEED);
    partial.configs.truncate(1);
    partial.configs[0].runs.truncate(1);
    partial.configs[0].runs[0].history.clear();
    partial.configs[0].runs[0].confusion.clear();
    partial.configs[0].throughput = None;
    partial.learned.clear();
    partial.example_features.clear();
    partial.deep_vs_fat.clear();
    partial.speaker_independent.clear();
    partial.ablation.clear();
    let page = html::render(&partial);
    check_nesting(&page).unwrap();
    for absent in [
        "id=\"curves\"",
        "id=\"confusion\"",
        "id=\"learned\"",
        "id=\"ablation\"",
    ] {
        assert!(!page.contains(absent), "{absent} rendered without data");
    }
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), &partial).unwrap();
}

#[test]
fn nan_values_render_as_na() {
    let mut report = synthetic_report(SEED);
    for run in &mut report.configs[0].runs {
        run.accuracy = f64::NAN;
        run.train_seconds = f64::NAN;
        run.history[3].val_loss = f64::NAN;
    }
    report.configs[1]
        .throughput
        .as_mut()
        .unwrap()
        .utterances_per_s = f64::NAN;
    report.ablation[1].delta = f64::NAN;
    let page = html::render(&report);
    check_nesting(&page).unwrap();
    let summary = section(&page, "summary");
    let first_row = summary.split("<tr>").nth(2).expect("first data row");
    assert!(first_row.contains("<td class=\"\">n/a</td>"), "{first_row}");
    assert!(
        page.contains("data:image/png;base64,"),
        "expected embedded images"
    );
    assert!(
        !without_data_uris(&page).contains("NaN"),
        "NaN leaked into the page"
    );
    let md = markdown::render(&report);
    assert!(md
        .lines()
        .any(|l| l.starts_with("| mfcc-kaldi") && l.contains("n/a")));
    assert!(!md.contains("NaN"));
    // JSON writes null and reads NaN back.
    let text = json::to_json_string(&report).unwrap();
    let back = json::from_json_str(&text).unwrap();
    assert!(back.configs[0].runs[0].accuracy.is_nan());
    assert!(back.ablation[1].delta.is_nan());
}

#[test]
fn twins_section_shows_each_pair_with_its_finding() {
    let report = synthetic_report(SEED);
    assert!(report.twins.len() >= 3, "the synthetic report has twin rows");
    let page = html::render(&report);
    let twins = section(&page, "twins");
    // One forest-plot marker and one table row per pair, one finding each.
    assert_eq!(twins.matches("<circle").count(), report.twins.len());
    assert_eq!(twins.matches("<li>").count(), report.twins.len());
    assert_eq!(twins.matches("<tr>").count(), 1 + report.twins.len());
    for t in &report.twins {
        let verdict = speechfront::report::twins::verdict(t);
        let expected = if t.ci_low > 0.0 {
            "learned better"
        } else if t.ci_high < 0.0 {
            "learned worse"
        } else {
            "within noise"
        };
        assert_eq!(verdict, expected, "{t:?}");
        assert!(twins.contains(&format!("<code>{}</code>", t.learned.replace('&', "&amp;"))));
    }
    assert!(twins.contains(&speechfront::report::twins::overall(&report.twins)));
    let md = markdown::render(&report);
    for t in &report.twins {
        assert!(md.contains(&speechfront::report::twins::finding(t)));
    }
}
