//! JSON rendering: the whole model plus the summary numbers.
//!
//! The document is `{ "format": 1, "summary": [...], "held_out_speakers":
//! {...}, "report": {...} }`. `report` is the model exactly, so
//! [`from_json_str`] gives back the same [`Report`]; the summary parts are
//! derived and only there so that scripts need not recompute mean ± std.
//! Non-finite numbers are written as `null` and read back as NaN.

use serde::{Deserialize, Serialize};

use super::model::Report;
use super::summary::{held_out_table, summary_rows, SpeakerTable, SummaryRow};
use super::ReportError;

/// Version of the document layout, bumped when a field changes meaning.
pub const FORMAT_VERSION: u32 = 1;

/// The JSON document written as `report.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JsonDocument {
    /// [`FORMAT_VERSION`] at writing time.
    pub format: u32,
    /// One row per configuration: accuracy, macro-F1 mean ± std, etc.
    pub summary: Vec<SummaryRow>,
    /// Accuracy per held-out speaker per configuration (empty when the split
    /// was not by speaker).
    pub held_out_speakers: SpeakerTable,
    /// The full model.
    pub report: Report,
}

/// The report as pretty-printed JSON with its summary numbers.
///
/// # Errors
/// [`ReportError::Json`] if serialization fails (it does not for this model;
/// the signature keeps serde_json's contract).
pub fn to_json_string(report: &Report) -> Result<String, ReportError> {
    let doc = JsonDocument {
        format: FORMAT_VERSION,
        summary: summary_rows(report),
        held_out_speakers: held_out_table(report),
        report: report.clone(),
    };
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    Ok(text)
}

/// Reads the [`Report`] back from a document written by [`to_json_string`].
///
/// # Errors
/// [`ReportError::Json`] with serde_json's line and column on malformed input.
pub fn from_json_str(text: &str) -> Result<Report, ReportError> {
    #[derive(Deserialize)]
    struct ReportOnly {
        report: Report,
    }
    Ok(serde_json::from_str::<ReportOnly>(text)?.report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{ConfigResult, RunResult};

    #[test]
    fn summary_and_report_are_both_present() {
        let mut report = Report {
            title: "t".into(),
            ..Report::default()
        };
        report.configs.push(ConfigResult {
            name: "mfcc".into(),
            runs: vec![
                RunResult {
                    seed: 1,
                    accuracy: 0.5,
                    ..RunResult::default()
                },
                RunResult {
                    seed: 2,
                    accuracy: 1.0,
                    ..RunResult::default()
                },
            ],
            ..ConfigResult::default()
        });
        let text = to_json_string(&report).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["format"], 1);
        assert_eq!(value["summary"][0]["accuracy"]["mean"], 0.75);
        assert_eq!(value["report"]["title"], "t");
        assert_eq!(from_json_str(&text).unwrap(), report);
    }

    #[test]
    fn malformed_json_is_an_error() {
        assert!(matches!(
            from_json_str("{\"report\": 3}"),
            Err(ReportError::Json(_))
        ));
    }
}
