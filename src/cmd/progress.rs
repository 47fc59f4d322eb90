//! Terminal progress for `compare` and `train` (indicatif): a bar over all
//! runs, and one bar per running run showing its epoch and current losses.
//! Used only when stderr is a terminal; otherwise the library's plain
//! [`Lines`] (one line per run) is used, so logs stay readable.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use speechfront::experiment::progress::run_line;
use speechfront::experiment::RunOutput;
use speechfront::experiment::{ExperimentError, Lines, Progress, RunTag};
use speechfront::train::EpochRecord;

/// Whether to draw bars: stderr is a terminal.
pub fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// The progress to use for `compare`: bars on a terminal, lines otherwise.
pub fn for_compare() -> Box<dyn Progress> {
    if on_terminal() {
        Box::new(Bars::new())
    } else {
        Box::new(Lines::new(true))
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// The losses of one epoch, e.g. "loss 0.412 acc 88.1% | val loss 0.520 acc 84.0%".
pub fn epoch_message(r: &EpochRecord) -> String {
    let mut s = format!(
        "loss {:.3} acc {:.1}%",
        r.train_loss,
        100.0 * r.train_accuracy
    );
    if let (Some(l), Some(a)) = (r.val_loss, r.val_accuracy) {
        s += &format!(" | val loss {l:.3} acc {:.1}%", 100.0 * a);
    }
    s
}

/// A bar for one training run: `prefix [=====>    ] epoch k/N losses`.
pub fn epoch_bar(prefix: String, max_epochs: usize) -> ProgressBar {
    let bar = ProgressBar::new(max_epochs as u64);
    bar.set_style(style(
        "{prefix} [{bar:20}] epoch {pos}/{len} {msg} ({elapsed})",
    ));
    bar.set_prefix(prefix);
    bar
}

/// Advances `bar` to the epoch of `r` (out of `max_epochs`).
pub fn show_epoch(bar: &ProgressBar, r: &EpochRecord, max_epochs: usize) {
    bar.set_message(epoch_message(r));
    bar.set_length(max_epochs as u64);
    bar.set_position(r.epoch as u64);
}

/// indicatif bars: one over all runs, one per running run.
pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    runs: Mutex<HashMap<(String, usize, u64), ProgressBar>>,
}

impl Bars {
    fn new() -> Self {
        let multi = MultiProgress::new();
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(style(
            "runs [{bar:30}] {pos}/{len} {elapsed_precise} (eta {eta}) {msg}",
        ));
        Bars {
            multi,
            overall,
            runs: Mutex::new(HashMap::new()),
        }
    }

    fn key(run: &RunTag) -> (String, usize, u64) {
        (run.config.clone(), run.fold, run.seed)
    }
}

impl Progress for Bars {
    fn begin(&self, total_runs: usize) {
        self.overall.set_length(total_runs as u64);
    }

    fn note(&self, message: &str) {
        self.overall.set_message(message.to_string());
        // println fails only when the terminal is gone; nothing to do then.
        let _ = self.multi.println(message);
    }

    fn run_started(&self, run: &RunTag) {
        let bar = self.multi.add(epoch_bar(run.to_string(), run.max_epochs));
        if let Ok(mut m) = self.runs.lock() {
            m.insert(Self::key(run), bar);
        }
    }

    fn epoch(&self, run: &RunTag, record: &EpochRecord, max_epochs: usize) {
        if let Ok(m) = self.runs.lock() {
            if let Some(bar) = m.get(&Self::key(run)) {
                show_epoch(bar, record, max_epochs);
            }
        }
    }

    fn run_finished(&self, run: &RunTag, result: Result<&RunOutput, &ExperimentError>) {
        if let Some(bar) = self
            .runs
            .lock()
            .ok()
            .and_then(|mut m| m.remove(&Self::key(run)))
        {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.overall.inc(1);
        let n = self.overall.position() as usize;
        let total = self.overall.length().unwrap_or(0) as usize;
        let _ = self.multi.println(run_line(n, total, run, result));
    }

    fn end(&self) {
        self.overall.finish_and_clear();
    }
}
