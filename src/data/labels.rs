//! Where an utterance's label (and speaker, take, split) comes from.
//!
//! Four sources, chosen by [`LabelSource`] in the configuration:
//!
//! - **Folder** (Speech Commands layout `DIR/<label>/*.wav`): the label is the
//!   name of the file's *parent* directory, so `DIR/train/yes/a.wav` is "yes".
//!   Folders whose name starts with `_` are not labels (Speech Commands keeps
//!   long noise recordings in `_background_noise_`): their files are skipped.
//!   When the file stem looks like Speech Commands' `<speaker>_nohash_<take>`,
//!   speaker and take are taken from it too; otherwise they stay unknown.
//! - **FileName** (FSDD layout `{label}_{speaker}_{take}.wav`): the stem must be
//!   three `_`-separated fields, the last a non-negative integer.
//! - **Regex**: a regular expression with a named group `label` and optional
//!   groups `speaker`, `take` and `split`, searched (not anchored: add `^`/`$`
//!   yourself) in the path relative to the data root, written with `/`
//!   separators so folder parts can be captured.
//! - **Manifest**: a CSV file with a header naming the columns `path` and
//!   `label`, optionally `speaker`, `take` and `split`, in any order. Paths are
//!   relative to the manifest's directory. Fields may be double-quoted. A
//!   relative manifest path that does not exist as given is looked up in the
//!   data root (see [`Dataset::scan`](super::Dataset::scan)).
//!
//! CLI strings (`LabelSource::from_str`): `auto`, `folder`, `fsdd` (or
//! `filename`), `regex:PATTERN`, `manifest:PATH`.
//!
//! [`LabelSource::Auto`] (the default) picks FileName when *every* audio file's
//! name matches the FSDD pattern, and Folder otherwise: a folder of FSDD files
//! needs no configuration, and one odd file name falls back to the layout that
//! does not depend on names.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::DataError;

/// How labels are derived; see the module docs. Serialised with a `kind` tag,
/// e.g. `{ kind = "regex", pattern = "^(?P<label>\\w+)/(?P<speaker>\\w+)-" }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LabelSource {
    /// FSDD file names if every file matches, else sub-folder names.
    /// Default: it needs no configuration for the two common layouts.
    #[default]
    Auto,
    /// Parent directory name (Speech Commands layout).
    Folder,
    /// `{label}_{speaker}_{take}` file stem (FSDD layout).
    FileName,
    /// Named groups `label` (required), `speaker`, `take`, `split`.
    Regex {
        /// The regular expression.
        pattern: String,
    },
    /// CSV manifest `path,label[,speaker][,take][,split]` with a header line.
    Manifest {
        /// The CSV file.
        path: PathBuf,
    },
}

impl std::fmt::Display for LabelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LabelSource::Auto => write!(f, "auto"),
            LabelSource::Folder => write!(f, "folder"),
            LabelSource::FileName => write!(f, "fsdd"),
            LabelSource::Regex { pattern } => write!(f, "regex:{pattern}"),
            LabelSource::Manifest { path } => write!(f, "manifest:{}", path.display()),
        }
    }
}

impl std::str::FromStr for LabelSource {
    type Err = DataError;

    /// Parses `auto`, `folder`, `fsdd`/`filename`, `regex:PATTERN` or
    /// `manifest:PATH` (everything after the first `:` is the argument, so
    /// patterns may contain `:`).
    fn from_str(value: &str) -> Result<Self, DataError> {
        let err = |reason: &str| DataError::ParseLabels {
            value: value.to_string(),
            reason: reason.to_string(),
        };
        match value.split_once(':') {
            None => match value.trim() {
                "auto" => Ok(LabelSource::Auto),
                "folder" | "folders" => Ok(LabelSource::Folder),
                "fsdd" | "filename" | "file_name" => Ok(LabelSource::FileName),
                "regex" | "manifest" => {
                    Err(err("needs an argument: regex:PATTERN or manifest:PATH"))
                }
                _ => Err(err(
                    "expected auto, folder, fsdd, regex:PATTERN or manifest:PATH",
                )),
            },
            Some(("regex", pattern)) if !pattern.is_empty() => Ok(LabelSource::Regex {
                pattern: pattern.to_string(),
            }),
            Some(("manifest", path)) if !path.trim().is_empty() => Ok(LabelSource::Manifest {
                path: PathBuf::from(path.trim()),
            }),
            Some(("regex" | "manifest", _)) => Err(err("the argument after ':' is empty")),
            Some(_) => Err(err("only regex: and manifest: take an argument")),
        }
    }
}

/// What a label source says about one file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemLabel {
    /// The class label.
    pub label: String,
    /// The speaker, when the source names one.
    pub speaker: Option<String>,
    /// The take (recording number), when the source names one.
    pub take: Option<String>,
    /// The manifest's (or regex's) split column, e.g. "train" or "test".
    pub split: Option<String>,
}

/// A [`LabelSource`] made ready to use: regex compiled, manifest loaded.
#[derive(Debug, Clone)]
pub enum Labeler {
    /// Parent directory name.
    Folder,
    /// `{label}_{speaker}_{take}` file stem.
    FileName,
    /// A compiled regex with named groups.
    Regex(Regex),
    /// Manifest rows keyed by absolute (manifest-dir-joined) path, in file order.
    Manifest {
        /// The CSV file.
        path: PathBuf,
        /// Its rows, in file order.
        rows: Vec<(PathBuf, ItemLabel)>,
        /// Row index by absolute path.
        index: HashMap<PathBuf, usize>,
    },
}

impl Labeler {
    /// Builds a labeler. `Auto` must be resolved first (see
    /// [`resolve_auto`]); passing it here resolves to `Folder`.
    ///
    /// # Errors
    /// A regex that does not compile or lacks the `label` group; a manifest
    /// that cannot be read or parsed.
    pub fn new(source: &LabelSource) -> Result<Self, DataError> {
        match source {
            LabelSource::Auto | LabelSource::Folder => Ok(Labeler::Folder),
            LabelSource::FileName => Ok(Labeler::FileName),
            LabelSource::Regex { pattern } => {
                let re = Regex::new(pattern).map_err(|e| DataError::BadRegex {
                    pattern: pattern.clone(),
                    source: Box::new(e),
                })?;
                if !re.capture_names().any(|n| n == Some("label")) {
                    return Err(DataError::MissingGroup {
                        pattern: pattern.clone(),
                        group: "label",
                    });
                }
                Ok(Labeler::Regex(re))
            }
            LabelSource::Manifest { path } => {
                let text =
                    std::fs::read_to_string(path).map_err(|e| DataError::io(path.clone(), e))?;
                let base = path.parent().unwrap_or(Path::new("."));
                let rows = super::manifest::parse_manifest(&text, path, base)?;
                let index = rows
                    .iter()
                    .enumerate()
                    .map(|(i, (p, _))| (p.clone(), i))
                    .collect();
                Ok(Labeler::Manifest {
                    path: path.clone(),
                    rows,
                    index,
                })
            }
        }
    }

    /// Labels one file. `rel_path` is relative to the data root, `path` is the
    /// full path (used by the manifest). The error is a human-readable reason
    /// for skipping the file.
    pub fn label(&self, path: &Path, rel_path: &Path) -> Result<ItemLabel, String> {
        match self {
            Labeler::Folder => label_from_folder(rel_path),
            Labeler::FileName => label_from_file_name(rel_path),
            Labeler::Regex(re) => label_from_regex(re, rel_path),
            Labeler::Manifest { rows, index, .. } => index
                .get(path)
                .map(|&i| rows[i].1.clone())
                .ok_or_else(|| "not listed in the manifest".to_string()),
        }
    }
}

/// Resolves [`LabelSource::Auto`] for a list of relative paths: `FileName`
/// when every stem matches the FSDD pattern (and there is at least one file),
/// `Folder` otherwise. Other sources are returned unchanged.
///
/// Speech Commands stems (`0a7c2a8d_nohash_0`) also have three fields with a
/// numeric last one; a `_nohash_` stem therefore never counts as FSDD, or
/// every Speech Commands folder would be labelled by speaker hash.
pub fn resolve_auto(source: &LabelSource, rel_paths: &[PathBuf]) -> LabelSource {
    let fsdd_like =
        |p: &PathBuf| label_from_file_name(p).is_ok_and(|l| l.speaker.as_deref() != Some("nohash"));
    match source {
        LabelSource::Auto => {
            let all_fsdd = !rel_paths.is_empty() && rel_paths.iter().all(fsdd_like);
            if all_fsdd {
                LabelSource::FileName
            } else {
                LabelSource::Folder
            }
        }
        other => other.clone(),
    }
}

fn stem(rel_path: &Path) -> Result<&str, String> {
    rel_path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| "file name is not valid UTF-8".to_string())
}

/// FSDD: `{label}_{speaker}_{take}`, take a non-negative integer.
pub fn label_from_file_name(rel_path: &Path) -> Result<ItemLabel, String> {
    let stem = stem(rel_path)?;
    let parts: Vec<&str> = stem.split('_').collect();
    let bad = || format!("file name {stem:?} is not {{label}}_{{speaker}}_{{take}}");
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    if parts[2].parse::<u32>().is_err() {
        return Err(bad());
    }
    Ok(ItemLabel {
        label: parts[0].to_string(),
        speaker: Some(parts[1].to_string()),
        take: Some(parts[2].to_string()),
        split: None,
    })
}

/// Speech Commands: label = parent directory; speaker and take from a
/// `<speaker>_nohash_<take>` stem when present.
pub fn label_from_folder(rel_path: &Path) -> Result<ItemLabel, String> {
    let parent = rel_path
        .parent()
        .and_then(|p| p.file_name())
        .ok_or_else(|| "file is not inside a label folder".to_string())?;
    let label = parent
        .to_str()
        .ok_or_else(|| "folder name is not valid UTF-8".to_string())?;
    if label.starts_with('_') {
        return Err(format!(
            "folder {label:?} starts with '_' (not a label, e.g. Speech Commands' _background_noise_)"
        ));
    }
    let mut item = ItemLabel {
        label: label.to_string(),
        ..ItemLabel::default()
    };
    if let Ok(stem) = stem(rel_path) {
        if let Some((speaker, take)) = stem.split_once("_nohash_") {
            if !speaker.is_empty() && !take.is_empty() {
                item.speaker = Some(speaker.to_string());
                item.take = Some(take.to_string());
            }
        }
    }
    Ok(item)
}

/// Regex with named groups, searched in the `/`-separated relative path.
pub fn label_from_regex(re: &Regex, rel_path: &Path) -> Result<ItemLabel, String> {
    let text = slash_path(rel_path).ok_or_else(|| "path is not valid UTF-8".to_string())?;
    let caps = re
        .captures(&text)
        .ok_or_else(|| format!("path {text:?} does not match the label regex"))?;
    let group = |name: &str| caps.name(name).map(|m| m.as_str().to_string());
    let label = group("label")
        .filter(|l| !l.is_empty())
        .ok_or_else(|| format!("path {text:?}: the regex's `label` group is empty"))?;
    Ok(ItemLabel {
        label,
        speaker: group("speaker").filter(|s| !s.is_empty()),
        take: group("take").filter(|s| !s.is_empty()),
        split: group("split").filter(|s| !s.is_empty()),
    })
}

/// A relative path as a `/`-separated string (platform independent).
pub fn slash_path(rel_path: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = rel_path
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect();
    parts.map(|p| p.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsdd_names_give_label_speaker_and_take() {
        let item = label_from_file_name(Path::new("sub/7_george_12.wav")).unwrap();
        assert_eq!(item.label, "7");
        assert_eq!(item.speaker.as_deref(), Some("george"));
        assert_eq!(item.take.as_deref(), Some("12"));
        for bad in ["7_george.wav", "7_george_x.wav", "7__1.wav", "a_b_c_1.wav"] {
            assert!(label_from_file_name(Path::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn folder_label_is_the_parent_and_speech_commands_stems_give_speakers() {
        let item = label_from_folder(Path::new("train/yes/0a7c2a8d_nohash_1.wav")).unwrap();
        assert_eq!(item.label, "yes");
        assert_eq!(item.speaker.as_deref(), Some("0a7c2a8d"));
        assert_eq!(item.take.as_deref(), Some("1"));
        let plain = label_from_folder(Path::new("no/clip.wav")).unwrap();
        assert_eq!(plain.label, "no");
        assert_eq!(plain.speaker, None);
        assert!(label_from_folder(Path::new("top.wav")).is_err());
    }

    #[test]
    fn regex_groups_are_read_from_the_slash_path() {
        let source = LabelSource::Regex {
            pattern: r"^(?P<speaker>[a-z]+)/(?P<label>\w+)-(?P<take>\d+)\.wav$".into(),
        };
        let labeler = Labeler::new(&source).unwrap();
        let item = labeler
            .label(Path::new("/x/ann/yes-3.wav"), Path::new("ann/yes-3.wav"))
            .unwrap();
        assert_eq!(item.label, "yes");
        assert_eq!(item.speaker.as_deref(), Some("ann"));
        assert_eq!(item.take.as_deref(), Some("3"));
        let miss = labeler.label(Path::new("/x/a.wav"), Path::new("a.wav"));
        assert!(miss.unwrap_err().contains("does not match"));
    }

    #[test]
    fn regex_without_label_group_or_invalid_is_an_error() {
        let no_label = LabelSource::Regex {
            pattern: "(?P<speaker>x)".into(),
        };
        assert!(matches!(
            Labeler::new(&no_label),
            Err(DataError::MissingGroup { group: "label", .. })
        ));
        let invalid = LabelSource::Regex {
            pattern: "(?P<label>".into(),
        };
        assert!(matches!(
            Labeler::new(&invalid),
            Err(DataError::BadRegex { .. })
        ));
    }

    #[test]
    fn auto_picks_fsdd_only_when_every_file_matches() {
        let fsdd = vec![PathBuf::from("0_a_0.wav"), PathBuf::from("1_b_3.wav")];
        assert_eq!(
            resolve_auto(&LabelSource::Auto, &fsdd),
            LabelSource::FileName
        );
        let speech_commands = vec![PathBuf::from("yes/0a7c2a8d_nohash_0.wav")];
        assert_eq!(
            resolve_auto(&LabelSource::Auto, &speech_commands),
            LabelSource::Folder
        );
        let mixed = vec![PathBuf::from("0_a_0.wav"), PathBuf::from("yes/x.wav")];
        assert_eq!(
            resolve_auto(&LabelSource::Auto, &mixed),
            LabelSource::Folder
        );
        assert_eq!(resolve_auto(&LabelSource::Auto, &[]), LabelSource::Folder);
        assert_eq!(
            resolve_auto(&LabelSource::Folder, &fsdd),
            LabelSource::Folder
        );
    }

    #[test]
    fn cli_strings_parse_and_round_trip() {
        for text in [
            "auto",
            "folder",
            "fsdd",
            "regex:^(?P<label>\\d):x",
            "manifest:a/b.csv",
        ] {
            let source: LabelSource = text.parse().unwrap();
            assert_eq!(source.to_string(), text);
        }
        assert_eq!(
            "filename".parse::<LabelSource>().unwrap(),
            LabelSource::FileName
        );
        for bad in ["regex", "regex:", "manifest: ", "folder:x", "speakers"] {
            assert!(
                matches!(
                    bad.parse::<LabelSource>(),
                    Err(DataError::ParseLabels { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn underscore_folders_are_not_labels() {
        let err = label_from_folder(Path::new("_background_noise_/white.wav")).unwrap_err();
        assert!(err.contains("_background_noise_"), "{err}");
    }

    #[test]
    fn label_source_round_trips_through_toml() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Wrap {
            labels: LabelSource,
        }
        let original = Wrap {
            labels: LabelSource::Regex {
                pattern: "(?P<label>.)".into(),
            },
        };
        let text = toml::to_string(&original).unwrap();
        assert!(text.contains("kind = \"regex\""), "{text}");
        assert_eq!(toml::from_str::<Wrap>(&text).unwrap(), original);
    }
}
