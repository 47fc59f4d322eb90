//! Train/test splits of a [`Dataset`].
//!
//! Every split yields a list of [`Fold`]s (one for simple splits, one per
//! held-out speaker group for leave-one-speaker-out), each holding sorted
//! item indices. Index lists are sorted rather than shuffled: shuffling for
//! training belongs to the trainer, and sorted lists are easy to compare.
//!
//! CLI strings ([`Split::from_str`]):
//!
//! | string | meaning |
//! | --- | --- |
//! | `none` | everything is training data, no test set |
//! | `fsdd` | FSDD's official split: takes 0-4 are test |
//! | `random` / `random:0.2` | stratified random, that test fraction (default 0.2), seeded |
//! | `speakers:george,jackson` | the named speakers are test, the rest train |
//! | `loso` | one fold per speaker, that speaker held out |
//! | `loso:5` | 5 folds, speakers shuffled (seeded) and dealt round-robin |
//! | `manifest` | the manifest's `split` column (`train`, `test`, `valid`) |
//! | `speech_commands` | Speech Commands' `testing_list.txt` / `validation_list.txt` in the data root |

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::labels::slash_path;
use super::{DataError, Dataset};
use crate::nn::Rng;

/// How to split; see the module docs. Serialised with a `kind` tag.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Split {
    /// Train on everything (no test set). Default: the `train` command
    /// without `--split` uses the whole folder.
    #[default]
    None,
    /// FSDD's official split: takes 0-4 test.
    Fsdd,
    /// Stratified random split with this test fraction in (0, 1).
    Random {
        /// Share of each class that goes to test.
        test_fraction: f64,
    },
    /// The named speakers form the test set.
    Speakers {
        /// The speakers held out.
        test: Vec<String>,
    },
    /// Leave-one-speaker-out: one fold per speaker, or `folds` folds of
    /// speaker groups when given.
    Loso {
        /// Number of speaker folds; one per speaker when absent.
        folds: Option<usize>,
    },
    /// The manifest's split column.
    Manifest,
    /// Speech Commands' official lists: files named in
    /// `DATA/testing_list.txt` are test, in `DATA/validation_list.txt`
    /// validation, the rest training.
    SpeechCommands,
}

/// One train/test partition, as sorted item indices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fold {
    /// E.g. "fsdd", "random:0.2", "loso:george".
    pub name: String,
    /// Training items.
    pub train: Vec<usize>,
    /// Validation items named by the data (manifest `valid` rows); usually
    /// empty, and the trainer carves its own from `train`.
    pub valid: Vec<usize>,
    /// Test items.
    pub test: Vec<usize>,
    /// Speakers whose items are all in `test` (speaker splits only).
    pub test_speakers: Vec<String>,
}

/// FSDD's official split puts takes `0..=FSDD_LAST_TEST_TAKE` in the test set.
pub const FSDD_LAST_TEST_TAKE: u32 = 4;

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Split::None => write!(f, "none"),
            Split::Fsdd => write!(f, "fsdd"),
            Split::Random { test_fraction } => write!(f, "random:{test_fraction}"),
            Split::Speakers { test } => write!(f, "speakers:{}", test.join(",")),
            Split::Loso { folds: None } => write!(f, "loso"),
            Split::Loso { folds: Some(k) } => write!(f, "loso:{k}"),
            Split::Manifest => write!(f, "manifest"),
            Split::SpeechCommands => write!(f, "speech_commands"),
        }
    }
}

impl FromStr for Split {
    type Err = DataError;

    fn from_str(value: &str) -> Result<Self, DataError> {
        let err = |reason: &str| DataError::ParseSplit {
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let (kind, arg) = match value.split_once(':') {
            Some((k, a)) => (k.trim(), Some(a.trim())),
            None => (value.trim(), None),
        };
        let split = match (kind, arg) {
            ("none" | "all", None) => Split::None,
            ("fsdd", None) => Split::Fsdd,
            ("manifest", None) => Split::Manifest,
            ("speech_commands" | "speechcommands", None) => Split::SpeechCommands,
            ("random", None) => Split::Random { test_fraction: 0.2 },
            ("random", Some(a)) => {
                let test_fraction: f64 = a
                    .parse()
                    .map_err(|_| err("the test fraction is not a number"))?;
                Split::Random { test_fraction }
            }
            ("speakers", Some(a)) => {
                let test: Vec<String> = a
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                Split::Speakers { test }
            }
            ("loso", None) => Split::Loso { folds: None },
            ("loso", Some(a)) => {
                let k: usize = a
                    .parse()
                    .map_err(|_| err("the fold count is not an integer"))?;
                Split::Loso { folds: Some(k) }
            }
            ("speakers", None) => return Err(err("name the test speakers: speakers:a,b")),
            (_, Some(_))
                if ["none", "all", "fsdd", "manifest", "speech_commands"].contains(&kind) =>
            {
                return Err(err("this split takes no argument"))
            }
            _ => {
                return Err(err(
                    "expected none, fsdd, random[:FRACTION], speakers:A,B, loso[:K], manifest \
                     or speech_commands",
                ))
            }
        };
        split.validate().map_err(err)?;
        Ok(split)
    }
}

impl Split {
    /// Checks the split's own parameters (not the data).
    fn validate(&self) -> Result<(), &'static str> {
        match self {
            Split::Random { test_fraction } if !(*test_fraction > 0.0 && *test_fraction < 1.0) => {
                Err("the test fraction must be in (0, 1)")
            }
            Split::Speakers { test } if test.is_empty() => Err("no test speakers named"),
            Split::Loso { folds: Some(k) } if *k < 2 => Err("at least 2 folds are needed"),
            _ => Ok(()),
        }
    }

    /// Whether the split yields several folds (cross-validation).
    pub fn is_cross_validation(&self) -> bool {
        matches!(self, Split::Loso { .. })
    }

    /// Partitions `data` into folds. `rng` is used by `random` and `loso:K`
    /// only; the others are deterministic by construction.
    ///
    /// # Errors
    /// Invalid parameters; items lacking a field the split needs (take,
    /// speaker, split column) or with an unusable value; unknown test
    /// speakers; a train or test side that ends up empty.
    pub fn folds(&self, data: &Dataset, rng: &mut Rng) -> Result<Vec<Fold>, DataError> {
        self.validate().map_err(|reason| DataError::ParseSplit {
            value: self.to_string(),
            reason: reason.to_string(),
        })?;
        let name = self.to_string();
        let all: Vec<usize> = (0..data.items.len()).collect();
        let folds = match self {
            Split::None => vec![fold(name, all, Vec::new(), Vec::new(), Vec::new())],
            Split::Fsdd => vec![fsdd(data, name)?],
            Split::Random { test_fraction } => {
                let (train, test) = stratified_holdout(&data.targets(), *test_fraction, rng);
                vec![fold(name, train, Vec::new(), test, Vec::new())]
            }
            Split::Speakers { test } => {
                let speakers = item_speakers(data, &name)?;
                let known = data.speakers();
                let unknown: Vec<String> = test
                    .iter()
                    .filter(|s| !known.contains(s))
                    .cloned()
                    .collect();
                if !unknown.is_empty() {
                    return Err(DataError::UnknownSpeakers { unknown, known });
                }
                let held: BTreeSet<String> = test.iter().cloned().collect();
                vec![speaker_fold(name, &speakers, held)]
            }
            Split::Loso { folds } => {
                let speakers = item_speakers(data, &name)?;
                let mut known = data.speakers();
                let k = folds.unwrap_or(known.len());
                if known.len() < 2 || known.len() < k {
                    return Err(DataError::BadOption {
                        field: "loso folds",
                        value: format!("{k} folds over {} speakers", known.len()),
                        reason: "needs at least 2 speakers and no more folds than speakers",
                    });
                }
                if folds.is_some() {
                    known.shuffle(rng);
                }
                (0..k)
                    .map(|f| {
                        let held: BTreeSet<String> =
                            known.iter().skip(f).step_by(k).cloned().collect();
                        let label = held.iter().cloned().collect::<Vec<_>>().join(",");
                        speaker_fold(format!("loso:{label}"), &speakers, held)
                    })
                    .collect()
            }
            Split::Manifest => vec![manifest(data, name)?],
            Split::SpeechCommands => vec![speech_commands(data, name)?],
        };
        for f in &folds {
            if f.train.is_empty() {
                return Err(DataError::EmptySide {
                    split: f.name.clone(),
                    side: "training",
                });
            }
            if f.test.is_empty() && *self != Split::None {
                return Err(DataError::EmptySide {
                    split: f.name.clone(),
                    side: "test",
                });
            }
        }
        Ok(folds)
    }
}

fn fold(
    name: String,
    train: Vec<usize>,
    valid: Vec<usize>,
    test: Vec<usize>,
    test_speakers: Vec<String>,
) -> Fold {
    Fold {
        name,
        train,
        valid,
        test,
        test_speakers,
    }
}

/// Every item's speaker; an item without one is an error for speaker splits.
fn item_speakers<'a>(data: &'a Dataset, split: &str) -> Result<Vec<&'a str>, DataError> {
    data.items
        .iter()
        .map(|item| {
            item.speaker
                .as_deref()
                .ok_or_else(|| DataError::MissingField {
                    path: item.path.clone(),
                    split: split.to_string(),
                    field: "speaker",
                })
        })
        .collect()
}

fn speaker_fold(name: String, speakers: &[&str], held: BTreeSet<String>) -> Fold {
    let (test, train): (Vec<usize>, Vec<usize>) =
        (0..speakers.len()).partition(|&i| held.contains(speakers[i]));
    fold(name, train, Vec::new(), test, held.into_iter().collect())
}

fn fsdd(data: &Dataset, name: String) -> Result<Fold, DataError> {
    let mut train = Vec::new();
    let mut test = Vec::new();
    for (i, item) in data.items.iter().enumerate() {
        let take = item
            .take
            .as_deref()
            .ok_or_else(|| DataError::MissingField {
                path: item.path.clone(),
                split: name.clone(),
                field: "take",
            })?;
        let take: u32 = take.parse().map_err(|_| DataError::BadField {
            path: item.path.clone(),
            split: name.clone(),
            field: "take",
            value: take.to_string(),
            reason: "not a non-negative integer",
        })?;
        if take <= FSDD_LAST_TEST_TAKE {
            test.push(i);
        } else {
            train.push(i);
        }
    }
    Ok(fold(name, train, Vec::new(), test, Vec::new()))
}

fn manifest(data: &Dataset, name: String) -> Result<Fold, DataError> {
    let (mut train, mut valid, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for (i, item) in data.items.iter().enumerate() {
        let value = item
            .split
            .as_deref()
            .ok_or_else(|| DataError::MissingField {
                path: item.path.clone(),
                split: name.clone(),
                field: "split column",
            })?;
        match value.to_ascii_lowercase().as_str() {
            "train" | "training" => train.push(i),
            "valid" | "validation" | "val" | "dev" => valid.push(i),
            "test" | "testing" | "eval" => test.push(i),
            _ => {
                return Err(DataError::BadField {
                    path: item.path.clone(),
                    split: name,
                    field: "split column",
                    value: value.to_string(),
                    reason: "expected train, valid or test",
                })
            }
        }
    }
    Ok(fold(name, train, valid, test, Vec::new()))
}

/// Reads a Speech Commands list (one `/`-separated relative path a line).
fn read_list(path: &std::path::Path) -> Result<std::collections::HashSet<String>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    Ok(text
        .lines()
        .map(|l| l.trim().trim_start_matches("./").to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

fn speech_commands(data: &Dataset, name: String) -> Result<Fold, DataError> {
    let test_list = read_list(&data.root.join("testing_list.txt"))?;
    let valid_list = read_list(&data.root.join("validation_list.txt"))?;
    let (mut train, mut valid, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for (i, item) in data.items.iter().enumerate() {
        let key = slash_path(&item.rel_path).unwrap_or_default();
        if test_list.contains(&key) {
            test.push(i);
        } else if valid_list.contains(&key) {
            valid.push(i);
        } else {
            train.push(i);
        }
    }
    Ok(fold(name, train, valid, test, Vec::new()))
}

/// Stratified hold-out over all items: per class (by `targets`), shuffle
/// with `rng` and move `round(n_c * fraction)` items to the second list,
/// always leaving at least one item of each class in the first. Both lists
/// come back sorted.
///
/// The same rule as `train::split::stratified_split` on branch `nn`, which
/// carves validation sets; once both are merged this should call that one
/// (kept private here so that the swap changes no public API).
fn stratified_holdout(targets: &[usize], fraction: f64, rng: &mut Rng) -> (Vec<usize>, Vec<usize>) {
    let n_classes = targets.iter().map(|&t| t + 1).max().unwrap_or(0);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &t) in targets.iter().enumerate() {
        by_class[t].push(i);
    }
    let mut keep = Vec::new();
    let mut held = Vec::new();
    for mut members in by_class {
        members.shuffle(rng);
        let wanted = (members.len() as f64 * fraction).round() as usize;
        let n_held = wanted.min(members.len().saturating_sub(1));
        held.extend_from_slice(&members[..n_held]);
        keep.extend_from_slice(&members[n_held..]);
    }
    keep.sort_unstable();
    held.sort_unstable();
    (keep, held)
}

#[cfg(test)]
#[path = "split_tests.rs"]
mod tests;
