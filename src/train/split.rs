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

/// [`stratified_split`] over *groups* of samples that must stay together:
/// `groups[i]` names sample `i`'s group (all members share one label, e.g.
/// an utterance and its augmented copies). Groups are stratified by label in
/// order of first appearance and then expanded to their members, so with
/// one group per sample this is exactly [`stratified_split`] (same draws,
/// same result). `None` is [`stratified_split`].
///
/// Without it, the perturbed copies of a validation utterance sit in the
/// training part and early stopping watches a score the network has
/// partly memorised.
pub fn grouped_stratified_split(
    labels: &[usize],
    groups: Option<&[usize]>,
    fraction: f32,
    rng: &mut Rng,
) -> (Vec<usize>, Vec<usize>) {
    let Some(groups) = groups else {
        return stratified_split(labels, fraction, rng);
    };
    // Dense group index in order of first appearance, with its label.
    let mut dense = std::collections::HashMap::new();
    let mut group_labels = Vec::new();
    let member_group: Vec<usize> = groups
        .iter()
        .zip(labels)
        .map(|(&g, &c)| {
            *dense.entry(g).or_insert_with(|| {
                group_labels.push(c);
                group_labels.len() - 1
            })
        })
        .collect();
    let (_, val_groups) = stratified_split(&group_labels, fraction, rng);
    let mut is_val = vec![false; group_labels.len()];
    for g in val_groups {
        is_val[g] = true;
    }
    (0..labels.len()).partition(|&i| !is_val[member_group[i]])
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

    #[test]
    fn groups_stay_together_and_singletons_reduce_to_the_plain_split() {
        let labels: Vec<usize> = (0..40).map(|i| i % 4).collect();
        let ones: Vec<usize> = (0..40).collect();
        let plain = stratified_split(&labels, 0.25, &mut rng_from_seed(5));
        let single = grouped_stratified_split(&labels, Some(&ones), 0.25, &mut rng_from_seed(5));
        assert_eq!(plain, single);
        // 10 originals (labels 0..4 cycling) followed by 3 copies each,
        // copy-major as the augmentation lays them out.
        let orig: Vec<usize> = (0..10).map(|i| i % 2).collect();
        let mut lab = orig.clone();
        let mut grp: Vec<usize> = (0..10).collect();
        for (i, &c) in orig.iter().enumerate() {
            for _ in 0..3 {
                lab.push(c);
                grp.push(i);
            }
        }
        let (tr, va) = grouped_stratified_split(&lab, Some(&grp), 0.2, &mut rng_from_seed(1));
        assert_eq!(tr.len() + va.len(), lab.len());
        let val_groups: std::collections::BTreeSet<usize> = va.iter().map(|&i| grp[i]).collect();
        assert_eq!(val_groups.len(), 2, "20 % of 10 utterances");
        assert_eq!(va.len(), 8, "each validation utterance with its 3 copies");
        assert!(
            tr.iter().all(|&i| !val_groups.contains(&grp[i])),
            "a copy leaked into training"
        );
        let classes: std::collections::BTreeSet<usize> = va.iter().map(|&i| lab[i]).collect();
        assert_eq!(classes.len(), 2, "stratified: one utterance of each class");
    }
}
