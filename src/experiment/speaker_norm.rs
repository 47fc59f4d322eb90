//! Speaker-level mean (and variance) normalisation of features.
//!
//! Per-utterance CMVN removes each dimension's mean over one word, and with
//! it whatever that mean says about the word: "two" and "four" are each
//! mostly one vowel, and after per-utterance mean subtraction what is left
//! of that vowel is only how it moves. Normalising by statistics gathered
//! over *all* of a speaker's utterances (Kaldi's `apply-cmvn --utt2spk`)
//! removes what is constant for the speaker and the channel (microphone,
//! vocal-tract length to first order) and keeps what differs between words.
//!
//! The statistics use no label: at test time they come from the held-out
//! speaker's own (unlabelled) utterances, the way a recogniser adapts to a
//! caller after a few words. An utterance without a speaker is its own
//! group, which is per-utterance CMVN.

use std::collections::HashMap;

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// Speaker-level normalisation mode (`[input] speaker_cmvn`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpeakerCmvn {
    /// Off (default).
    #[default]
    None,
    /// Subtract each dimension's mean over all of the speaker's frames.
    Mean,
    /// Subtract the speaker's mean and divide by the speaker's standard
    /// deviation.
    MeanVar,
    /// Two views side by side: per-utterance mean and variance
    /// normalisation (applied to the static coefficients, their deltas
    /// scaled alike, as `apply-cmvn | add-deltas` does) followed by the
    /// speaker-level `MeanVar` view. The front end's own `cmvn` must be off.
    Both,
}

/// Per-dimension shift and scale of one speaker.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Mean of each normalised dimension.
    pub mean: Vec<f64>,
    /// `1 / std` of each normalised dimension (1 without variance
    /// normalisation).
    pub scale: Vec<f64>,
}

impl Stats {
    /// Statistics of the first `dims` columns over every frame of `utts`.
    /// Empty input gives the identity.
    pub fn of(utts: &[ArrayView2<'_, f32>], dims: usize, mode: SpeakerCmvn) -> Stats {
        let mut sum = vec![0.0f64; dims];
        let mut sq = vec![0.0f64; dims];
        let mut n = 0usize;
        for u in utts {
            for row in u.axis_iter(Axis(0)) {
                for (j, &v) in row.iter().take(dims).enumerate() {
                    let v = v as f64;
                    sum[j] += v;
                    sq[j] += v * v;
                }
                n += 1;
            }
        }
        if n == 0 || mode == SpeakerCmvn::None {
            return Stats {
                mean: vec![0.0; dims],
                scale: vec![1.0; dims],
            };
        }
        let nf = n as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / nf).collect();
        let scale = if matches!(mode, SpeakerCmvn::MeanVar | SpeakerCmvn::Both) {
            sq.iter()
                .zip(&mean)
                .map(|(q, m)| 1.0 / (q / nf - m * m).max(1e-20).sqrt())
                .collect()
        } else {
            vec![1.0; dims]
        };
        Stats { mean, scale }
    }

    /// Normalises the first `mean.len()` columns of `x` in place; the other
    /// columns (position, duration) are left alone.
    pub fn apply(&self, x: &mut Array2<f32>) {
        let dims = self.mean.len().min(x.ncols());
        for mut row in x.axis_iter_mut(Axis(0)) {
            for j in 0..dims {
                row[j] = ((row[j] as f64 - self.mean[j]) * self.scale[j]) as f32;
            }
        }
    }
}

/// `[utterance view | speaker view | other columns]` of `x` for
/// [`SpeakerCmvn::Both`]. The first `spk.mean.len()` columns are `blocks`
/// equal blocks (statics, then each delta order); the utterance view
/// subtracts each static coefficient's mean over `x` and divides that
/// coefficient and its deltas by its standard deviation over `x`, which is
/// what per-utterance CMVN before deltas gives (deltas ignore a constant
/// offset and scale with their coefficient).
///
/// # Shapes
/// `(T, nd + e) -> (T, 2 nd + e)` for `nd = spk.mean.len()`
pub fn both_views(x: &Array2<f32>, spk: &Stats, blocks: usize) -> Array2<f32> {
    let (t, cols) = x.dim();
    let nd = spk.mean.len().min(cols);
    let statics = nd / blocks.max(1);
    let own = Stats::of(
        &[x.slice(ndarray::s![.., ..statics])],
        statics,
        SpeakerCmvn::MeanVar,
    );
    let mut y = Array2::zeros((t, cols + nd));
    for (src, mut dst) in x.axis_iter(Axis(0)).zip(y.axis_iter_mut(Axis(0))) {
        for c in 0..nd {
            let j = c % statics.max(1);
            let shift = if c < statics { own.mean[j] } else { 0.0 };
            let v = src[c] as f64;
            dst[c] = ((v - shift) * own.scale[j]) as f32;
            dst[nd + c] = ((v - spk.mean[c]) * spk.scale[c]) as f32;
        }
        for c in nd..cols {
            dst[nd + c] = src[c];
        }
    }
    y
}

/// Normalises `x` with its speaker's statistics `st` in the way `mode`
/// says (`blocks` as in [`both_views`]).
pub fn normalise(x: &mut Array2<f32>, st: &Stats, mode: SpeakerCmvn, blocks: usize) {
    match mode {
        SpeakerCmvn::None => {}
        SpeakerCmvn::Both => *x = both_views(x, st, blocks),
        _ => st.apply(x),
    }
}

/// Group index of each utterance: utterances with the same `Some` speaker
/// share a group; each `None` is a group of its own. Groups are numbered
/// in order of first appearance.
pub fn speaker_groups(speakers: &[Option<&str>]) -> Vec<usize> {
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut next = 0;
    speakers
        .iter()
        .map(|s| match s {
            Some(name) => *ids.entry(name).or_insert_with(|| {
                next += 1;
                next - 1
            }),
            None => {
                next += 1;
                next - 1
            }
        })
        .collect()
}

/// `groups` with each group cut into `ceil(len / max)` parts of nearly
/// equal size (none over `max`), its members ordered by `keys` first.
/// Parts are numbered anew from 0. `max = 0` leaves the groups whole.
pub fn split_groups(groups: &[usize], keys: &[u64], max: usize) -> Vec<usize> {
    if max == 0 {
        return groups.to_vec();
    }
    let n_groups = groups.iter().map(|&g| g + 1).max().unwrap_or(0);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_groups];
    for (i, &g) in groups.iter().enumerate() {
        members[g].push(i);
    }
    let mut out = vec![0; groups.len()];
    let mut next = 0;
    for mut m in members {
        m.sort_by_key(|&i| (keys[i], i));
        let parts = m.len().div_ceil(max);
        for p in 0..parts {
            for &i in &m[p * m.len() / parts..(p + 1) * m.len() / parts] {
                out[i] = next;
            }
            next += 1;
        }
    }
    out
}

/// Statistics per group, from the utterances `reference[i]` of group
/// `groups[i]`.
pub fn group_stats(
    reference: &[ArrayView2<'_, f32>],
    groups: &[usize],
    dims: usize,
    mode: SpeakerCmvn,
) -> Vec<Stats> {
    let n_groups = groups.iter().map(|&g| g + 1).max().unwrap_or(0);
    let mut members: Vec<Vec<ArrayView2<'_, f32>>> = vec![Vec::new(); n_groups];
    for (u, &g) in reference.iter().zip(groups) {
        members[g].push(u.view());
    }
    members.iter().map(|m| Stats::of(m, dims, mode)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn groups_share_speakers_and_isolate_unknowns() {
        let g = speaker_groups(&[Some("a"), None, Some("b"), Some("a"), None]);
        assert_eq!(g, vec![0, 1, 2, 0, 3]);
    }

    #[test]
    fn stats_pool_frames_of_all_utterances() {
        let a = array![[1.0f32, 10.0, 0.0], [3.0, 10.0, 1.0]];
        let b = array![[5.0f32, 20.0, 0.5]];
        let s = Stats::of(&[a.view(), b.view()], 2, SpeakerCmvn::MeanVar);
        assert!((s.mean[0] - 3.0).abs() < 1e-12);
        assert!((s.mean[1] - 40.0 / 3.0).abs() < 1e-12);
        // population variance of 1, 3, 5 is 8/3
        assert!((s.scale[0] - (3.0f64 / 8.0).sqrt()).abs() < 1e-12);
        let mut x = b.clone();
        s.apply(&mut x);
        assert!((x[[0, 0]] as f64 - 2.0 * (3.0f64 / 8.0).sqrt()).abs() < 1e-6);
        // columns past `dims` (position) are untouched
        assert_eq!(x[[0, 2]], 0.5);
    }

    #[test]
    fn normalised_speaker_has_zero_mean_unit_variance() {
        let a = array![[1.0f32, -2.0], [2.0, 0.0], [7.0, 4.0]];
        let b = array![[0.0f32, 1.0], [4.0, 9.0]];
        let s = Stats::of(&[a.view(), b.view()], 2, SpeakerCmvn::MeanVar);
        let (mut a2, mut b2) = (a.clone(), b.clone());
        s.apply(&mut a2);
        s.apply(&mut b2);
        for j in 0..2 {
            let v: Vec<f64> = a2
                .column(j)
                .iter()
                .chain(b2.column(j).iter())
                .map(|&v| v as f64)
                .collect();
            let m = v.iter().sum::<f64>() / 5.0;
            let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 5.0;
            assert!(m.abs() < 1e-6, "mean {m}");
            assert!((var - 1.0).abs() < 1e-5, "var {var}");
        }
        // the mean alone keeps the spread
        let s = Stats::of(&[a.view(), b.view()], 2, SpeakerCmvn::Mean);
        assert_eq!(s.scale, vec![1.0, 1.0]);
    }

    #[test]
    fn one_utterance_groups_equal_per_utterance_cmvn() {
        let a = array![[1.0f32, 5.0], [2.0, 7.0], [6.0, 3.0]];
        let groups = speaker_groups(&[None]);
        let st = group_stats(&[a.view()], &groups, 2, SpeakerCmvn::MeanVar);
        let mut x = a.clone();
        st[groups[0]].apply(&mut x);
        let mut y = a.clone();
        crate::frontend::post::cmvn(&mut y, crate::frontend::Cmvn::MeanVar);
        for (p, q) in x.iter().zip(y.iter()) {
            assert!((p - q).abs() < 1e-5);
        }
    }

    #[test]
    fn utterance_view_matches_cmvn_before_deltas() {
        // statics + one delta order, plus a position column
        let raw = array![
            [1.0f32, 4.0, 0.0],
            [2.0, 1.0, 0.25],
            [4.0, 3.0, 0.5],
            [3.0, 8.0, 0.75],
            [0.5, 2.0, 1.0]
        ];
        let statics = raw.slice(ndarray::s![.., ..2]).to_owned();
        let with_d = crate::frontend::post::add_deltas(statics.view(), 1, 2);
        let mut x = Array2::zeros((5, 5));
        x.slice_mut(ndarray::s![.., ..4]).assign(&with_d);
        x.column_mut(4).assign(&raw.column(2));
        // reference: CMVN on the statics, then deltas
        let mut norm = statics.clone();
        crate::frontend::post::cmvn(&mut norm, crate::frontend::Cmvn::MeanVar);
        let want = crate::frontend::post::add_deltas(norm.view(), 1, 2);
        let spk = Stats::of(&[x.view()], 4, SpeakerCmvn::Both);
        let y = both_views(&x, &spk, 2);
        assert_eq!(y.dim(), (5, 9));
        for t in 0..5 {
            for c in 0..4 {
                assert!((y[[t, c]] - want[[t, c]]).abs() < 1e-5, "{t} {c}");
            }
            assert_eq!(y[[t, 8]], x[[t, 4]]);
        }
        // the speaker view of a one-utterance speaker: zero-mean columns
        for c in 4..8 {
            let m: f32 = y.column(c).sum() / 5.0;
            assert!(m.abs() < 1e-5);
        }
    }

    #[test]
    fn split_groups_caps_sizes_and_keeps_speakers_apart() {
        let groups = vec![0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1];
        let keys: Vec<u64> = (0..12).map(|i| (i * 7919 % 13) as u64).collect();
        assert_eq!(split_groups(&groups, &keys, 0), groups);
        let parts = split_groups(&groups, &keys, 4);
        // speaker 0 (9 utterances) -> 3 parts of 3; speaker 1 (3) -> 1 part
        let mut sizes = std::collections::HashMap::new();
        for (&p, &g) in parts.iter().zip(&groups) {
            let e = sizes.entry(p).or_insert((g, 0));
            assert_eq!(e.0, g, "part {p} mixes speakers");
            e.1 += 1;
        }
        let mut counts: Vec<usize> = sizes.values().map(|v| v.1).collect();
        counts.sort();
        assert_eq!(counts, vec![3, 3, 3, 3]);
        // size 1: every utterance alone
        let alone = split_groups(&groups, &keys, 1);
        let mut u = alone.clone();
        u.sort();
        u.dedup();
        assert_eq!(u.len(), 12);
    }

    #[test]
    fn off_is_identity() {
        let a = array![[1.0f32, 5.0], [2.0, 7.0]];
        let s = Stats::of(&[a.view()], 2, SpeakerCmvn::None);
        let mut x = a.clone();
        s.apply(&mut x);
        assert_eq!(x, a);
    }
}
