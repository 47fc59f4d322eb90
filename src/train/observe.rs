//! Watching a training run epoch by epoch (progress displays, logging).
//!
//! # Design
//! [`crate::train::fit_observed`] calls an [`EpochObserver`] once after
//! every completed epoch with that epoch's [`EpochRecord`] (the same value
//! that goes into the [`crate::train::History`]) and the epoch budget. The
//! observer only reads: it gets no access to the model or the generator, so
//! watching a run cannot change its numbers. Any `FnMut(&EpochRecord,
//! usize)` closure is an observer; [`Silent`] is the one that does nothing
//! (what [`crate::train::fit()`] uses).

use crate::train::fit::EpochRecord;

/// Receives each completed epoch of a training run.
pub trait EpochObserver {
    /// Called once after epoch `record.epoch` (1-based) of at most
    /// `max_epochs` (early stopping may end the run sooner).
    fn on_epoch(&mut self, record: &EpochRecord, max_epochs: usize);
}

impl<F: FnMut(&EpochRecord, usize)> EpochObserver for F {
    fn on_epoch(&mut self, record: &EpochRecord, max_epochs: usize) {
        self(record, max_epochs)
    }
}

/// The observer that ignores every epoch.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl EpochObserver for Silent {
    fn on_epoch(&mut self, _record: &EpochRecord, _max_epochs: usize) {}
}

/// Every record an observer saw, in order (for tests and logs).
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    /// `(record, max_epochs)` per call.
    pub calls: Vec<(EpochRecord, usize)>,
}

impl EpochObserver for Recorder {
    fn on_epoch(&mut self, record: &EpochRecord, max_epochs: usize) {
        self.calls.push((record.clone(), max_epochs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: usize) -> EpochRecord {
        EpochRecord {
            epoch,
            lr: 0.1,
            train_loss: 1.0 / epoch as f64,
            train_accuracy: 0.5,
            val_loss: None,
            val_accuracy: None,
            seconds: 0.0,
        }
    }

    #[test]
    fn closures_and_recorders_see_every_call_in_order() {
        let mut seen = Vec::new();
        let mut f = |r: &EpochRecord, n: usize| seen.push((r.epoch, n));
        f.on_epoch(&record(1), 3);
        f.on_epoch(&record(2), 3);
        assert_eq!(seen, vec![(1, 3), (2, 3)]);
        let mut rec = Recorder::default();
        rec.on_epoch(&record(4), 9);
        assert_eq!(rec.calls, vec![(record(4), 9)]);
        Silent.on_epoch(&record(1), 1);
    }
}
