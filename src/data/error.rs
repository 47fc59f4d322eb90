//! The error type of the `data` module.

use std::path::PathBuf;

/// Everything that can go wrong while building a data set, a split or a cache
/// entry. Each variant names the file, field or value at fault.
///
/// Files that merely cannot be labelled are *not* errors: they land in
/// [`Dataset::skipped`](super::Dataset::skipped) with a reason.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The data root is missing or not a directory.
    #[error("{path}: not a directory")]
    NotADirectory {
        /// The path given as the data root.
        path: PathBuf,
    },
    /// An I/O operation on `path` failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder at fault.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// No audio file under the root could be labelled.
    #[error("{root}: no labelled audio files ({skipped} skipped)")]
    NoItems {
        /// The data root.
        root: PathBuf,
        /// Files found but not labelled.
        skipped: usize,
    },
    /// A label regex does not compile.
    #[error("label regex {pattern:?}: {source}")]
    BadRegex {
        /// The pattern as given.
        pattern: String,
        /// The regex compiler's error.
        #[source]
        source: Box<regex::Error>,
    },
    /// A label regex lacks a required named group.
    #[error("label regex {pattern:?} has no named group `{group}`")]
    MissingGroup {
        /// The pattern as given.
        pattern: String,
        /// The missing group's name.
        group: &'static str,
    },
    /// A manifest line is malformed.
    #[error("{path}:{line}: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
    /// A split description (CLI string) cannot be parsed.
    #[error("split {value:?}: {reason}")]
    ParseSplit {
        /// The string as given.
        value: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A label-source description (CLI string) cannot be parsed.
    #[error("labels {value:?}: {reason}")]
    ParseLabels {
        /// The string as given.
        value: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A split needs a field (speaker, take, split column) that an item lacks.
    #[error("{path}: split `{split}` needs a {field}, the item has none")]
    MissingField {
        /// The item's file.
        path: PathBuf,
        /// The split's name.
        split: String,
        /// The field it needs.
        field: &'static str,
    },
    /// A field value cannot be used by the split.
    #[error("{path}: split `{split}`: bad {field} {value:?} ({reason})")]
    BadField {
        /// The item's file.
        path: PathBuf,
        /// The split's name.
        split: String,
        /// The field at fault.
        field: &'static str,
        /// Its value.
        value: String,
        /// Why the split cannot use it.
        reason: &'static str,
    },
    /// Speakers named for the test set do not occur in the data.
    #[error("unknown speakers {unknown:?}; the data has {known:?}")]
    UnknownSpeakers {
        /// Named speakers that have no item.
        unknown: Vec<String>,
        /// The speakers the data has.
        known: Vec<String>,
    },
    /// A split leaves its training or its test side empty.
    #[error("split `{split}` leaves the {side} set empty")]
    EmptySide {
        /// The split's name.
        split: String,
        /// `"training"` or `"test"`.
        side: &'static str,
    },
    /// A cache entry could not be written.
    #[error("{path}: writing cached features: {source}")]
    CacheWrite {
        /// The cache file being written.
        path: PathBuf,
        /// The npy writer's error.
        #[source]
        source: ndarray_npy::WriteNpyError,
    },
    /// A configuration could not be turned into JSON for the cache key.
    #[error("configuration to JSON: {source}")]
    ConfigJson {
        /// The JSON encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// A numeric option is out of range.
    #[error("{field} = {value}: {reason}")]
    BadOption {
        /// The option's name.
        field: &'static str,
        /// Its value.
        value: String,
        /// The range it must lie in.
        reason: &'static str,
    },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_and_the_value() {
        let err = DataError::BadField {
            path: PathBuf::from("a/7_x_y.wav"),
            split: "fsdd".into(),
            field: "take",
            value: "y".into(),
            reason: "not an integer",
        };
        let text = err.to_string();
        assert!(text.contains("a/7_x_y.wav"), "{text}");
        assert!(text.contains("\"y\""), "{text}");
        assert!(text.contains("fsdd"), "{text}");
    }
}
