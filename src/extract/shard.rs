//! `--shard I/N`: which inputs one of N jobs extracts, and the names of its
//! own files in a shared output folder.
//!
//! An input belongs to shard `h mod N`, where `h` is the first 8 bytes
//! (little-endian) of `BLAKE3("speechfront shard v1\0" ++ key)` and the
//! key is the input's path relative to its input root without extension
//! (the folder walk's key; the utterance id of a `wav.scp`; the stem of a
//! file given alone; see [`super::inputs`]). It does not depend on list
//! position, machine or run, so adding files never moves others between
//! shards, and two inputs that would write the same output meet in the same
//! shard, where the collision is reported.
//!
//! Files of shard I of N (N > 1): `manifest.I-of-N.tsv`, and in ark mode
//! `feats.I-of-N.ark` with `feats.I-of-N.scp` (`cat feats.*.scp` works as
//! in Kaldi recipes). N = 1 (or no `--shard`) keeps the plain names
//! `manifest.tsv`, `feats.ark`, `feats.scp`. The `.npy` files of all shards
//! sit in the one mirrored tree: each is written by the one shard that owns
//! its key, so N processes share the folder without touching each other's
//! files. `speechfront merge` joins the shard files.

use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index, below `count`.
    pub index: u32,
    /// Number of shards, at least 1.
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl Shard {
    /// The shard a key belongs to among `count`.
    pub fn of_key(key: &str, count: u32) -> u32 {
        let mut h = blake3::Hasher::new();
        h.update(b"speechfront shard v1\0");
        h.update(key.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&h.finalize().as_bytes()[..8]);
        (u64::from_le_bytes(first) % u64::from(count.max(1))) as u32
    }

    /// Whether `key` is this shard's.
    pub fn owns(&self, key: &str) -> bool {
        self.count <= 1 || Self::of_key(key, self.count) == self.index
    }

    /// `base.ext` for an unsharded run, `base.I-of-N.ext` for a shard.
    pub fn file_name(&self, base: &str, ext: &str) -> String {
        if self.count <= 1 {
            format!("{base}.{ext}")
        } else {
            format!("{base}.{}-of-{}.{ext}", self.index, self.count)
        }
    }

    /// The shard whose file `name` is (`base.I-of-N.ext`), if it is one.
    pub fn from_file_name(name: &str, base: &str, ext: &str) -> Option<Shard> {
        let mid = name
            .strip_prefix(base)?
            .strip_prefix('.')?
            .strip_suffix(ext)?
            .strip_suffix('.')?;
        let (i, n) = mid.split_once("-of-")?;
        let s = Shard {
            index: i.parse().ok()?,
            count: n.parse().ok()?,
        };
        (s.count > 1 && s.index < s.count && s.file_name(base, ext) == name).then_some(s)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N` with `0 <= I < N`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}`: expected I/N with 0 <= I < N (0-based shard I of N)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_names() {
        let s: Shard = "2/7".parse().unwrap();
        assert_eq!(s, Shard { index: 2, count: 7 });
        assert_eq!(s.to_string(), "2/7");
        for bad in ["7/7", "1/0", "x/3", "3", "-1/3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(s.file_name("manifest", "tsv"), "manifest.2-of-7.tsv");
        assert_eq!(Shard::default().file_name("feats", "ark"), "feats.ark");
        assert_eq!(
            Shard::from_file_name("manifest.2-of-7.tsv", "manifest", "tsv"),
            Some(s)
        );
        for other in [
            "manifest.tsv",
            "manifest.7-of-7.tsv",
            "manifest.02-of-7.tsv",
            "feats.1-of-2.tsv",
        ] {
            assert_eq!(
                Shard::from_file_name(other, "manifest", "tsv"),
                None,
                "{other}"
            );
        }
    }

    #[test]
    fn every_key_in_exactly_one_shard_and_the_hash_is_pinned() {
        let keys: Vec<String> = (0..500).map(|i| format!("spk{}/utt{i}", i % 7)).collect();
        for n in [1u32, 3, 7] {
            let mut sizes = vec![0usize; n as usize];
            for k in &keys {
                let owners: Vec<u32> = (0..n)
                    .filter(|&i| Shard { index: i, count: n }.owns(k))
                    .collect();
                assert_eq!(owners.len(), 1, "{k} in {n} shards");
                sizes[owners[0] as usize] += 1;
            }
            // Roughly balanced: each shard within 40 % of the mean.
            let mean = keys.len() as f64 / f64::from(n);
            assert!(
                sizes.iter().all(|&s| (s as f64 - mean).abs() < 0.4 * mean),
                "{sizes:?}"
            );
        }
        // The hash is part of the on-disk contract (shards of one run may
        // be computed by different builds): pin one value.
        let mut h = blake3::Hasher::new();
        h.update(b"speechfront shard v1\0a/b");
        let want = u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().unwrap()) % 7;
        assert_eq!(u64::from(Shard::of_key("a/b", 7)), want);
    }
}
