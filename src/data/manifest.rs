//! CSV manifests: `path,label[,speaker][,take][,split]` with a header line.
//!
//! Columns are found by their header name (case-insensitive, any order);
//! `path` and `label` are required. Fields may be double-quoted (`""` is a
//! literal quote inside quotes); blank lines are ignored; a leading UTF-8 BOM
//! is accepted. Paths are relative to the manifest's directory. Every
//! problem is an error naming the manifest and the line: a manifest is
//! written by a person or a script, and a silent fix would hide their
//! mistake.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::labels::ItemLabel;
use super::DataError;

/// Splits one CSV line into fields; `"` quotes a field, `""` inside quotes is
/// a literal quote. Returns `None` for an unterminated quote.
fn split_csv_line(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, _) => field.push(c),
            (false, '"') if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, _) => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    fields.push(field);
    Some(fields.into_iter().map(|f| f.trim().to_string()).collect())
}

/// Parses manifest text. Rows are keyed by `base.join(path)`.
pub(crate) fn parse_manifest(
    text: &str,
    manifest: &Path,
    base: &Path,
) -> Result<Vec<(PathBuf, ItemLabel)>, DataError> {
    let err = |line: usize, reason: String| DataError::Manifest {
        path: manifest.to_path_buf(),
        line,
        reason,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let (header_no, header) = lines
        .next()
        .ok_or_else(|| err(1, "empty manifest (a header line is required)".into()))?;
    let header = split_csv_line(header.trim_start_matches('\u{feff}'))
        .ok_or_else(|| err(header_no, "unterminated quote".into()))?;
    let column = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let path_col = column("path")
        .ok_or_else(|| err(header_no, format!("header {header:?} has no `path` column")))?;
    let label_col = column("label").ok_or_else(|| {
        err(
            header_no,
            format!("header {header:?} has no `label` column"),
        )
    })?;
    let (speaker_col, take_col, split_col) = (column("speaker"), column("take"), column("split"));

    let mut rows = Vec::new();
    let mut seen: HashMap<PathBuf, usize> = HashMap::new();
    for (no, line) in lines {
        let fields = split_csv_line(line).ok_or_else(|| err(no, "unterminated quote".into()))?;
        if fields.len() != header.len() {
            return Err(err(
                no,
                format!("{} fields, the header has {}", fields.len(), header.len()),
            ));
        }
        let optional = |col: Option<usize>| {
            col.map(|c| fields[c].clone())
                .filter(|value| !value.is_empty())
        };
        if fields[path_col].is_empty() {
            return Err(err(no, "empty path".into()));
        }
        if fields[label_col].is_empty() {
            return Err(err(no, format!("empty label for {:?}", fields[path_col])));
        }
        let path = base.join(&fields[path_col]);
        if let Some(first) = seen.insert(path.clone(), no) {
            return Err(err(
                no,
                format!("{:?} already listed on line {first}", fields[path_col]),
            ));
        }
        rows.push((
            path,
            ItemLabel {
                label: fields[label_col].clone(),
                speaker: optional(speaker_col),
                take: optional(take_col),
                split: optional(split_col),
            },
        ));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use crate::data::labels::{LabelSource, Labeler};
    use crate::data::DataError;
    use std::path::Path;

    #[test]
    fn manifest_columns_in_any_order_with_quotes() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("list.csv");
        std::fs::write(
            &manifest,
            "split,label,path,speaker\ntest,yes,\"a, b.wav\",ann\ntrain,\"no\",c/d.wav,\n",
        )
        .unwrap();
        let labeler = Labeler::new(&LabelSource::Manifest {
            path: manifest.clone(),
        })
        .unwrap();
        let full = dir.path().join("a, b.wav");
        let item = labeler.label(&full, Path::new("a, b.wav")).unwrap();
        assert_eq!(item.label, "yes");
        assert_eq!(item.speaker.as_deref(), Some("ann"));
        assert_eq!(item.split.as_deref(), Some("test"));
        let second = labeler
            .label(&dir.path().join("c/d.wav"), Path::new("c/d.wav"))
            .unwrap();
        assert_eq!(second.speaker, None, "an empty speaker field is unknown");
        assert!(labeler
            .label(&dir.path().join("other.wav"), Path::new("other.wav"))
            .is_err());
    }

    #[test]
    fn malformed_manifests_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("path,speaker\na.wav,x\n", 1, "label"),
            ("path,label\na.wav\n", 2, "fields"),
            ("path,label\na.wav,yes\n\na.wav,no\n", 4, "already listed"),
            ("path,label\n\"a.wav,yes\n", 2, "quote"),
            ("", 1, "empty"),
        ];
        for (text, line_no, needle) in cases {
            let manifest = dir.path().join("m.csv");
            std::fs::write(&manifest, text).unwrap();
            match Labeler::new(&LabelSource::Manifest { path: manifest }) {
                Err(DataError::Manifest { line, reason, .. }) => {
                    assert_eq!(line, line_no, "{text:?}: {reason}");
                    assert!(reason.contains(needle), "{text:?}: {reason}");
                }
                other => panic!("{text:?}: expected a manifest error, got {other:?}"),
            }
        }
    }
}
