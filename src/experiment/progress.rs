//! What a comparison reports while it runs: one event per run started,
//! per training epoch and per run finished, plus free-form notes.
//!
//! # Design
//! [`super::compare_with`] drives a [`Progress`] from its worker threads
//! (runs of one configuration train in parallel), so implementations are
//! `Sync` and take `&self`. The library ships the plain one ([`Lines`]: one
//! line per finished run, for logs and pipes); the binary adds a terminal
//! display with a bar per running run (see `src/cmd/progress.rs`). Progress
//! only reads the records it is given, so it cannot change any number.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::train::EpochRecord;

use super::{ExperimentError, RunOutput};

/// Which run an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTag {
    /// Configuration name.
    pub config: String,
    /// Fold, 1-based.
    pub fold: usize,
    /// Number of folds.
    pub n_folds: usize,
    /// The fold's name (e.g. the held-out speaker).
    pub fold_name: String,
    /// The run's seed.
    pub seed: u64,
    /// The configuration's epoch budget (`train.epochs`).
    pub max_epochs: usize,
}

impl std::fmt::Display for RunTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // One fold (a fixed split) needs no fold in the name.
        if self.n_folds == 1 {
            return write!(f, "{} seed {}", self.config, self.seed);
        }
        write!(
            f,
            "{} fold {}/{} ({}) seed {}",
            self.config, self.fold, self.n_folds, self.fold_name, self.seed
        )
    }
}

/// Receives the events of a comparison.
pub trait Progress: Sync {
    /// The comparison will train `total_runs` runs. Default: ignored.
    fn begin(&self, _total_runs: usize) {}

    /// A message that is not about one run (features being prepared, a
    /// failed configuration, a study starting).
    fn note(&self, message: &str);

    /// A run starts training. Default: ignored.
    fn run_started(&self, _run: &RunTag) {}

    /// A run finished epoch `record.epoch` of at most `max_epochs`.
    /// Default: ignored.
    fn epoch(&self, _run: &RunTag, _record: &EpochRecord, _max_epochs: usize) {}

    /// A run ended, with its output or its error.
    fn run_finished(&self, run: &RunTag, result: Result<&RunOutput, &ExperimentError>);

    /// Every run ended. Default: nothing.
    fn end(&self) {}
}

/// One line of text for a finished run, as [`Lines`] prints it.
pub fn run_line(
    n: usize,
    total: usize,
    run: &RunTag,
    result: Result<&RunOutput, &ExperimentError>,
) -> String {
    match result {
        Ok(o) => format!(
            "[{n}/{total}] {run}: accuracy {:.2}% in {:.1} s ({} epochs)",
            100.0 * o.metrics.accuracy,
            o.train_seconds,
            o.history.epochs.len()
        ),
        Err(e) => format!("[{n}/{total}] {run}: failed: {e}"),
    }
}

/// Plain progress on stderr: notes, and one line per finished run when
/// `runs` is set; nothing per epoch (right when stderr is a file or pipe).
#[derive(Debug, Default)]
pub struct Lines {
    runs: bool,
    total: AtomicUsize,
    done: AtomicUsize,
}

impl Lines {
    /// Notes always; a line per finished run only with `runs`.
    pub fn new(runs: bool) -> Self {
        Lines {
            runs,
            ..Lines::default()
        }
    }
}

impl Progress for Lines {
    fn begin(&self, total_runs: usize) {
        self.total.store(total_runs, Ordering::Relaxed);
    }

    fn note(&self, message: &str) {
        eprintln!("{message}");
    }

    fn run_finished(&self, run: &RunTag, result: Result<&RunOutput, &ExperimentError>) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if self.runs {
            let total = self.total.load(Ordering::Relaxed);
            eprintln!("{}", run_line(n, total, run, result));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_lines_name_the_run() {
        let tag = RunTag {
            config: "mfcc".into(),
            fold: 2,
            n_folds: 5,
            fold_name: "spk3".into(),
            seed: 7,
            max_epochs: 20,
        };
        assert_eq!(tag.to_string(), "mfcc fold 2/5 (spk3) seed 7");
        let single = RunTag {
            fold: 1,
            n_folds: 1,
            ..tag.clone()
        };
        assert_eq!(single.to_string(), "mfcc seed 7");
        let e = ExperimentError::Other("diverged".into());
        assert_eq!(
            run_line(3, 10, &tag, Err(&e)),
            "[3/10] mfcc fold 2/5 (spk3) seed 7: failed: diverged"
        );
    }
}
