//! `manifest.tsv`: one row per input of a run, with its status, shape,
//! duration and error. Columns: `input status frames dims seconds error`.
//!
//! A rerun lists skipped files too; their frames, dims and seconds are
//! carried over from the previous manifest when it has them (the output
//! itself is not re-read), and left empty otherwise.

use std::collections::HashMap;
use std::fmt::Write as _;

/// The header line.
pub const HEADER: &str = "input\tstatus\tframes\tdims\tseconds\terror";

/// What happened to one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Features written.
    Ok,
    /// Output already present; not recomputed (no `--force`).
    Skipped,
    /// Bad input or a write error; no output.
    Failed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Status> {
        match s {
            "ok" => Some(Status::Ok),
            "skipped" => Some(Status::Skipped),
            "failed" => Some(Status::Failed),
            _ => None,
        }
    }
}

/// One manifest row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Input path as given or found.
    pub input: String,
    /// Outcome.
    pub status: Status,
    /// Feature rows, when known.
    pub frames: Option<usize>,
    /// Feature columns, when known.
    pub dims: Option<usize>,
    /// Audio duration in seconds, when known.
    pub seconds: Option<f64>,
    /// Error message for failed rows, empty otherwise.
    pub error: String,
}

/// Tabs and newlines inside a field would break the TSV: make them spaces.
fn clean(field: &str) -> String {
    field.replace(['\t', '\n', '\r'], " ")
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The whole file: header, then rows sorted by input path.
pub fn render(rows: &[Row]) -> String {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by(|a, b| a.input.cmp(&b.input));
    let mut out = String::with_capacity(64 * (rows.len() + 1));
    out.push_str(HEADER);
    out.push('\n');
    for r in sorted {
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            clean(&r.input),
            r.status.as_str(),
            opt(r.frames),
            opt(r.dims),
            opt(r.seconds.map(|s| format!("{s:.3}"))),
            clean(&r.error)
        );
    }
    out
}

/// Parse a manifest written by [`render`] into rows keyed by input; lines
/// that do not parse are ignored (the manifest is informative, not state).
pub fn parse(text: &str) -> HashMap<String, Row> {
    let mut rows = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 6 {
            continue;
        }
        let Some(status) = Status::parse(f[1]) else {
            continue;
        };
        rows.insert(
            f[0].to_string(),
            Row {
                input: f[0].to_string(),
                status,
                frames: f[2].parse().ok(),
                dims: f[3].parse().ok(),
                seconds: f[4].parse().ok(),
                error: f[5].to_string(),
            },
        );
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_sorts_cleans_and_parses_back() {
        let rows = vec![
            Row {
                input: "b.wav".into(),
                status: Status::Failed,
                frames: None,
                dims: None,
                seconds: None,
                error: "bad\theader\nreally".into(),
            },
            Row {
                input: "a.wav".into(),
                status: Status::Ok,
                frames: Some(98),
                dims: Some(13),
                seconds: Some(1.0),
                error: String::new(),
            },
        ];
        let text = render(&rows);
        assert_eq!(
            text,
            "input\tstatus\tframes\tdims\tseconds\terror\n\
             a.wav\tok\t98\t13\t1.000\t\n\
             b.wav\tfailed\t\t\t\tbad header really\n"
        );
        let back = parse(&text);
        assert_eq!(back["a.wav"].frames, Some(98));
        assert_eq!(back["a.wav"].seconds, Some(1.0));
        assert_eq!(back["b.wav"].status, Status::Failed);
        assert_eq!(back["b.wav"].error, "bad header really");
    }
}
