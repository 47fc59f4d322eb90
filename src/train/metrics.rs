//! Classification metrics: accuracy, confusion matrix, macro-F1.

use serde::{Deserialize, Serialize};

/// Accuracy, macro-F1 and the confusion matrix of a set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Fraction of correct predictions (0 for no sample).
    pub accuracy: f64,
    /// Unweighted mean over classes of F1 = 2PR / (P + R); a class with no
    /// true and no predicted sample is left out of the mean, a class with
    /// either but no hit counts as F1 = 0.
    pub macro_f1: f64,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
}

impl Metrics {
    /// Computes every metric.
    ///
    /// # Panics
    /// If the slices differ in length or a class is `>= n_classes`.
    pub fn compute(predicted: &[usize], truth: &[usize], n_classes: usize) -> Self {
        let confusion = confusion(predicted, truth, n_classes);
        Metrics {
            accuracy: accuracy(predicted, truth),
            macro_f1: macro_f1(&confusion),
            confusion,
        }
    }
}

/// Fraction of equal entries (0 for empty input).
pub fn accuracy(predicted: &[usize], truth: &[usize]) -> f64 {
    assert_eq!(predicted.len(), truth.len(), "accuracy: lengths differ");
    if truth.is_empty() {
        return 0.0;
    }
    predicted.iter().zip(truth).filter(|(p, t)| p == t).count() as f64 / truth.len() as f64
}

/// `m[true][predicted]` counts.
pub fn confusion(predicted: &[usize], truth: &[usize], n_classes: usize) -> Vec<Vec<usize>> {
    assert_eq!(predicted.len(), truth.len(), "confusion: lengths differ");
    let mut m = vec![vec![0usize; n_classes]; n_classes];
    for (&p, &t) in predicted.iter().zip(truth) {
        m[t][p] += 1;
    }
    m
}

/// Macro-averaged F1 from a confusion matrix (see [`Metrics::macro_f1`]).
pub fn macro_f1(conf: &[Vec<usize>]) -> f64 {
    let n = conf.len();
    let mut sum = 0.0;
    let mut counted = 0;
    for c in 0..n {
        let tp = conf[c][c] as f64;
        let actual: usize = conf[c].iter().sum();
        let predicted: usize = conf.iter().map(|row| row[c]).sum();
        if actual == 0 && predicted == 0 {
            continue;
        }
        counted += 1;
        if tp > 0.0 {
            sum += 2.0 * tp / (actual as f64 + predicted as f64);
        }
    }
    if counted == 0 {
        0.0
    } else {
        sum / counted as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_metrics() {
        // truth:     0 0 0 1 1 2
        // predicted: 0 0 1 1 2 2
        let m = Metrics::compute(&[0, 0, 1, 1, 2, 2], &[0, 0, 0, 1, 1, 2], 3);
        assert_eq!(
            m.confusion,
            vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
        );
        assert!((m.accuracy - 4.0 / 6.0).abs() < 1e-12);
        // F1: class 0: 2*2/(3+2) = 0.8; class 1: 2*1/(2+2) = 0.5;
        // class 2: 2*1/(1+2) = 2/3.
        let want = (0.8 + 0.5 + 2.0 / 3.0) / 3.0;
        assert!((m.macro_f1 - want).abs() < 1e-12);
    }

    #[test]
    fn absent_classes_and_empty_input() {
        assert_eq!(macro_f1(&confusion(&[0, 0], &[0, 0], 3)), 1.0);
        assert_eq!(accuracy(&[], &[]), 0.0);
    }
}
