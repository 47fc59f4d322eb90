//! Scanning a folder (or a manifest) into a labelled [`Dataset`].
//!
//! The walk is recursive and sorted, so the same folder always gives the same
//! item order (and so the same seeded splits). Only audio extensions are
//! considered ([`AUDIO_EXTENSIONS`], case-insensitive); other files, such as a
//! README, are ignored silently, and hidden files and folders (a leading `.`)
//! are not entered. An audio file whose label cannot be derived is *skipped*
//! with a reason rather than failing the scan, so a folder with a few bad
//! files still trains on the rest and the report can list what was left out.
//! Decoding is not done here: a file that later fails to decode can be moved
//! to `skipped` with [`Dataset::drop_items`].

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::labels::{resolve_auto, LabelSource, Labeler};
use super::DataError;

/// File extensions treated as audio (compared case-insensitively).
pub const AUDIO_EXTENSIONS: [&str; 4] = ["wav", "flac", "mp3", "ogg"];

/// One labelled utterance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    /// Full path, usable to open the file.
    pub path: PathBuf,
    /// Path relative to the data root (or, for manifest entries outside the
    /// root, the path as written in the manifest).
    pub rel_path: PathBuf,
    /// The class label.
    pub label: String,
    /// The speaker, when the label source names one.
    pub speaker: Option<String>,
    /// The take (recording number), when the label source names one.
    pub take: Option<String>,
    /// A split named by the manifest or regex (`train`, `test`, ...).
    pub split: Option<String>,
}

/// A labelled set of audio files.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Dataset {
    /// The data folder that was scanned.
    pub root: PathBuf,
    /// The label source actually used (`Auto` resolved).
    pub label_source: LabelSource,
    /// Sorted by `rel_path`.
    pub items: Vec<Item>,
    /// Distinct labels, sorted; class index = position here.
    pub classes: Vec<String>,
    /// Files left out, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

fn is_hidden(entry: &walkdir::DirEntry) -> bool {
    entry.depth() > 0
        && entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with('.'))
}

/// Lists audio files under `root`, sorted, as (full path, relative path);
/// walk errors (unreadable folders) are returned as skipped entries.
#[allow(clippy::type_complexity)]
fn list_audio(root: &Path) -> (Vec<(PathBuf, PathBuf)>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    // Links are followed (data folders are often assembled from symlinks);
    // walkdir reports a loop as an error, which lands in `skipped`.
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !is_hidden(e));
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() && is_audio(e.path()) => {
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .unwrap_or(e.path())
                    .to_path_buf();
                files.push((e.path().to_path_buf(), rel));
            }
            Ok(_) => {}
            Err(err) => {
                let path = err.path().unwrap_or(root).to_path_buf();
                skipped.push((path, format!("cannot read: {err}")));
            }
        }
    }
    (files, skipped)
}

/// A relative manifest path that does not exist as given (relative to the
/// working directory) is taken relative to the data root, so a configuration
/// can say `manifest:list.csv` for `DATA/list.csv`.
fn resolve_manifest(root: &Path, path: &Path) -> PathBuf {
    if path.is_relative() && !path.exists() && root.join(path).exists() {
        root.join(path)
    } else {
        path.to_path_buf()
    }
}

impl Dataset {
    /// Scans `root` and labels every audio file with `source`.
    ///
    /// With a manifest source the items are the manifest's rows (a listed
    /// file that does not exist is skipped); otherwise the folder is walked.
    ///
    /// # Errors
    /// `root` is not a directory, the label source is invalid (bad regex,
    /// unreadable manifest), or no file could be labelled at all.
    pub fn scan(root: &Path, source: &LabelSource) -> Result<Dataset, DataError> {
        if !root.is_dir() {
            return Err(DataError::NotADirectory {
                path: root.to_path_buf(),
            });
        }
        let (files, mut skipped) = match source {
            LabelSource::Manifest { .. } => (Vec::new(), Vec::new()),
            _ => list_audio(root),
        };
        let rel_paths: Vec<PathBuf> = files.iter().map(|(_, r)| r.clone()).collect();
        let resolved = match resolve_auto(source, &rel_paths) {
            LabelSource::Manifest { path } => LabelSource::Manifest {
                path: resolve_manifest(root, &path),
            },
            other => other,
        };
        let labeler = Labeler::new(&resolved)?;

        let mut items = Vec::new();
        let mut push = |path: PathBuf, rel: PathBuf, label: super::labels::ItemLabel| {
            items.push(Item {
                path,
                rel_path: rel,
                label: label.label,
                speaker: label.speaker,
                take: label.take,
                split: label.split,
            })
        };
        if let Labeler::Manifest { rows, .. } = &labeler {
            for (path, label) in rows {
                let rel = path.strip_prefix(root).unwrap_or(path).to_path_buf();
                if path.is_file() {
                    push(path.clone(), rel, label.clone());
                } else {
                    skipped.push((path.clone(), "listed in the manifest but missing".into()));
                }
            }
        } else {
            for (path, rel) in files {
                match labeler.label(&path, &rel) {
                    Ok(label) => push(path, rel, label),
                    Err(reason) => skipped.push((path, reason)),
                }
            }
        }
        items.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
        if items.is_empty() {
            return Err(DataError::NoItems {
                root: root.to_path_buf(),
                skipped: skipped.len(),
            });
        }
        let mut dataset = Dataset {
            root: root.to_path_buf(),
            label_source: resolved,
            items,
            classes: Vec::new(),
            skipped,
        };
        dataset.refresh_classes();
        Ok(dataset)
    }

    fn refresh_classes(&mut self) {
        let set: BTreeSet<&str> = self.items.iter().map(|i| i.label.as_str()).collect();
        self.classes = set.into_iter().map(String::from).collect();
    }

    /// Class index of every item (position of its label in `classes`).
    pub fn targets(&self) -> Vec<usize> {
        let index: HashMap<&str, usize> = self
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        self.items.iter().map(|i| index[i.label.as_str()]).collect()
    }

    /// Distinct known speakers, sorted.
    pub fn speakers(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self
            .items
            .iter()
            .filter_map(|i| i.speaker.as_deref())
            .collect();
        set.into_iter().map(String::from).collect()
    }

    /// Number of items per class, in `classes` order.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for t in self.targets() {
            counts[t] += 1;
        }
        counts
    }

    /// Moves the items at the given indices to `skipped` with their reasons
    /// (e.g. files that failed to decode) and recomputes `classes`. Indices
    /// refer to the current `items`; out-of-range ones are ignored. Call this
    /// before computing splits, since it renumbers the items.
    pub fn drop_items(&mut self, failed: &[(usize, String)]) {
        let reasons: HashMap<usize, &String> = failed.iter().map(|(i, r)| (*i, r)).collect();
        let items = std::mem::take(&mut self.items);
        for (i, item) in items.into_iter().enumerate() {
            match reasons.get(&i) {
                Some(reason) => self.skipped.push((item.path, (*reason).clone())),
                None => self.items.push(item),
            }
        }
        self.refresh_classes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, rel: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"not really audio").unwrap();
    }

    #[test]
    fn fsdd_folder_is_auto_detected_and_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["1_bob_0.wav", "0_ann_10.wav", "0_ann_2.WAV", "README.md"] {
            touch(dir.path(), name);
        }
        let ds = Dataset::scan(dir.path(), &LabelSource::Auto).unwrap();
        assert_eq!(ds.label_source, LabelSource::FileName);
        let names: Vec<_> = ds
            .items
            .iter()
            .map(|i| i.rel_path.to_str().unwrap())
            .collect();
        assert_eq!(names, ["0_ann_10.wav", "0_ann_2.WAV", "1_bob_0.wav"]);
        assert_eq!(ds.classes, ["0", "1"]);
        assert_eq!(ds.targets(), [0, 0, 1]);
        assert_eq!(ds.speakers(), ["ann", "bob"]);
        assert!(
            ds.skipped.is_empty(),
            "README is not audio: {:?}",
            ds.skipped
        );
    }

    #[test]
    fn folder_layout_skips_unlabelled_files_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "yes/a.wav",
            "no/b.flac",
            "loose.mp3",
            ".hidden/x.wav",
            "no/.y.ogg",
        ] {
            touch(dir.path(), name);
        }
        let ds = Dataset::scan(dir.path(), &LabelSource::Auto).unwrap();
        assert_eq!(ds.label_source, LabelSource::Folder);
        assert_eq!(ds.classes, ["no", "yes"]);
        assert_eq!(ds.items.len(), 2);
        assert_eq!(ds.skipped.len(), 1);
        assert!(ds.skipped[0].0.ends_with("loose.mp3"));
        assert!(
            ds.skipped[0].1.contains("label folder"),
            "{}",
            ds.skipped[0].1
        );
    }

    #[test]
    fn manifest_lists_items_and_missing_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "clips/a.wav");
        touch(dir.path(), "clips/unlisted.wav");
        let manifest = dir.path().join("clips/list.csv");
        std::fs::write(
            &manifest,
            "path,label,speaker,split\na.wav,up,s1,train\ngone.wav,down,s2,test\n",
        )
        .unwrap();
        let ds = Dataset::scan(dir.path(), &LabelSource::Manifest { path: manifest }).unwrap();
        let relative = LabelSource::Manifest {
            path: PathBuf::from("clips/list.csv"),
        };
        let ds_relative = Dataset::scan(dir.path(), &relative).unwrap();
        assert_eq!(ds_relative.items, ds.items, "relative to the data root");
        assert_eq!(ds.items.len(), 1);
        assert_eq!(ds.items[0].rel_path, Path::new("clips/a.wav"));
        assert_eq!(ds.items[0].split.as_deref(), Some("train"));
        assert_eq!(ds.skipped.len(), 1);
        assert!(ds.skipped[0].1.contains("missing"));
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_files_are_followed_and_loops_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        touch(elsewhere.path(), "real.wav");
        touch(dir.path(), "yes/a.wav");
        std::os::unix::fs::symlink(
            elsewhere.path().join("real.wav"),
            dir.path().join("yes/b.wav"),
        )
        .unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("yes/loop")).unwrap();
        let ds = Dataset::scan(dir.path(), &LabelSource::Folder).unwrap();
        assert_eq!(ds.items.len(), 2, "{:?}", ds.items);
        assert_eq!(ds.skipped.len(), 1, "{:?}", ds.skipped);
        assert!(ds.skipped[0].1.contains("cannot read"), "{:?}", ds.skipped);
    }

    #[test]
    fn empty_or_missing_roots_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "notes.txt");
        assert!(matches!(
            Dataset::scan(dir.path(), &LabelSource::Auto),
            Err(DataError::NoItems { .. })
        ));
        assert!(matches!(
            Dataset::scan(&dir.path().join("absent"), &LabelSource::Auto),
            Err(DataError::NotADirectory { .. })
        ));
    }

    #[test]
    fn drop_items_moves_failures_to_skipped_and_updates_classes() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a/1.wav", "b/2.wav", "b/3.wav"] {
            touch(dir.path(), name);
        }
        let mut ds = Dataset::scan(dir.path(), &LabelSource::Folder).unwrap();
        ds.drop_items(&[(0, "cannot decode".into())]);
        assert_eq!(ds.classes, ["b"]);
        assert_eq!(ds.items.len(), 2);
        assert_eq!(
            ds.skipped,
            [(dir.path().join("a/1.wav"), "cannot decode".to_string())]
        );
        assert_eq!(ds.class_counts(), [2]);
    }

    #[test]
    fn dataset_serialises_for_reports() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "yes/a.wav");
        touch(dir.path(), "loose.wav");
        let ds = Dataset::scan(dir.path(), &LabelSource::Folder).unwrap();
        let json = serde_json::to_value(&ds).unwrap();
        assert_eq!(json["classes"], serde_json::json!(["yes"]));
        assert_eq!(json["label_source"]["kind"], "folder");
        assert!(json["skipped"][0][1]
            .as_str()
            .unwrap()
            .contains("label folder"));
    }

    #[test]
    fn embedded_corpus_scans_as_fsdd() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("audio/digits");
        if !root.is_dir() {
            eprintln!("skipping: {} is absent", root.display());
            return;
        }
        let ds = Dataset::scan(&root, &LabelSource::Auto).unwrap();
        assert_eq!(ds.label_source, LabelSource::FileName);
        assert_eq!(ds.classes.len(), 10);
        assert!(ds.skipped.is_empty(), "{:?}", ds.skipped);
        assert!(ds.speakers().len() >= 20, "{:?}", ds.speakers());
    }
}
