//! Seeded shuffling and the stratified validation split.

use rand::RngExt;

use crate::nn::Rng;

/// Fisher-Yates shuffle drawing from `rng`.
pub fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

/// Splits sample indices into (train, validation) so that each class keeps
/// (to rounding) the same share in both: per class, `round(fraction * n_c)`
/// shuffled samples go to validation, but at least one stays in training.
/// Both lists are sorted.
pub fn stratified_split(
    labels: &[usize],
    fraction: f32,
    rng: &mut Rng,
) -> (Vec<usize>, Vec<usize>) {
    let n_classes = labels.iter().copied().max().map_or(0, |m| m + 1);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &c) in labels.iter().enumerate() {
        by_class[c].push(i);
    }
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for mut idx in by_class {
        shuffle(&mut idx, rng);
        let n_val = ((fraction as f64 * idx.len() as f64).round() as usize)
            .min(idx.len().saturating_sub(1));
        val.extend_from_slice(&idx[..n_val]);
        train.extend_from_slice(&idx[n_val..]);
    }
    train.sort_unstable();
    val.sort_unstable();
    (train, val)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::rng_from_seed;

    #[test]
    fn stratified_keeps_class_shares_and_is_seeded() {
        let labels: Vec<usize> = (0..100).map(|i| if i < 80 { 0 } else { 1 }).collect();
        let (tr, va) = stratified_split(&labels, 0.25, &mut rng_from_seed(1));
        assert_eq!(va.len(), 25);
        assert_eq!(va.iter().filter(|&&i| labels[i] == 1).count(), 5);
        assert_eq!(tr.len() + va.len(), 100);
        let mut all: Vec<usize> = tr.iter().chain(&va).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(stratified_split(&labels, 0.25, &mut rng_from_seed(1)).1, va);
        assert_ne!(stratified_split(&labels, 0.25, &mut rng_from_seed(2)).1, va);
    }

    #[test]
    fn a_single_sample_class_stays_in_training() {
        let (tr, va) = stratified_split(&[0, 0, 0, 0, 1], 0.5, &mut rng_from_seed(0));
        assert!(tr.contains(&4));
        assert_eq!(va.len(), 2);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v: Vec<usize> = (0..50).collect();
        shuffle(&mut v, &mut rng_from_seed(3));
        assert_ne!(v, (0..50).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..50).collect::<Vec<_>>());
    }
}
