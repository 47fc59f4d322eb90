//! On-disk feature cache, so that a second run (or a restarted one) does not
//! recompute features.
//!
//! An entry's key is the BLAKE3 hash of
//!
//! ```text
//! "speechfront-feature-cache-v4\0" ++ crate version ++ "\0"
//!   ++ len(config) as u64 LE ++ config ++ file contents
//! ```
//!
//! where `config` is the front end's configuration as canonical JSON (object
//! keys sorted, no spaces: [`canonical_json`]). Hashing the *contents* rather
//! than the path or modification time means a renamed or touched file still
//! hits, and an edited one misses. The crate version is part of the key
//! because a new release may compute the same configuration differently.
//!
//! The part of the key before the file contents is the *configuration
//! fingerprint* ([`config_fingerprint`]); `speechfront extract` records it in
//! each output folder (`extract.json`, key `config_key`) and in every
//! manifest row, so an extraction folder and a cache entry made by the same
//! configuration and build carry the same fingerprint, and a change of
//! domain tag (numbers computed differently) invalidates both at once.
//!
//! What a hit proves: the entry was stored under the same fingerprint and
//! the same file contents (a renamed or touched file still hits, an edited
//! one misses), and it parses as a complete f32 matrix. Unlike an
//! extraction folder, one cache directory serves many configurations side
//! by side (every configuration of `compare` shares it), so a different
//! configuration is not refused: it has other keys. Callers whose features
//! depend on more than the configuration and the contents (a dither seed
//! drawn from the file's *name*, say) must put that into `config_key`.
//!
//! Entries are f32 `.npy` files at `DIR/<first 2 hex digits>/<hash>.npy` (the
//! fan-out keeps directories small). They are written to a unique temporary
//! name and renamed, so an interrupted run never leaves a half-written entry
//! under the real name; an entry that fails to parse anyway (disk trouble,
//! manual edits) is recomputed and overwritten. The cache is `Sync`: rayon
//! workers can share one `&FeatureCache`. Two workers asking for the same
//! missing key at once both compute it and the last rename wins, which is
//! harmless because both wrote the same values.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use ndarray::Array2;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use serde::Serialize;
use serde_json::Value;

use super::DataError;

/// The tag's version changes when the same configuration computes
/// different numbers: v2 when dither moved from `rand_distr`'s
/// `StandardNormal` to `frontend::gauss` (same distribution, other draws),
/// so no v1 dithered entry is served; v3 when `frontend::gauss`'s `ln`
/// became a table and series without a division (dithered numbers differ
/// in the last bits); v4 when the Box-Muller step changed its bit layout
/// and angle reduction (other dithered numbers, same distribution).
const KEY_DOMAIN: &[u8] = b"speechfront-feature-cache-v4\0";

/// Counts of what the cache did, for progress lines and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CacheStats {
    /// Entries read from disk.
    pub hits: usize,
    /// Entries computed (including the recomputed corrupt ones).
    pub misses: usize,
    /// Entries that existed but could not be read, and were recomputed.
    pub corrupt: usize,
}

/// A feature cache rooted at a directory.
#[derive(Debug)]
pub struct FeatureCache {
    dir: PathBuf,
    hits: AtomicUsize,
    misses: AtomicUsize,
    corrupt: AtomicUsize,
    temp_counter: AtomicU64,
}

impl FeatureCache {
    /// A cache under `dir` (created when missing).
    ///
    /// # Errors
    /// `dir` cannot be created.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, DataError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
        Ok(FeatureCache {
            dir,
            hits: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
            corrupt: AtomicUsize::new(0),
            temp_counter: AtomicU64::new(0),
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the cache has done so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            corrupt: self.corrupt.load(Ordering::Relaxed),
        }
    }

    /// The key of `path`'s features under `config_key` (see the module docs).
    ///
    /// # Errors
    /// `path` cannot be read.
    pub fn key(&self, path: &Path, config_key: &str) -> Result<blake3::Hash, DataError> {
        let mut hasher = key_prefix(config_key);
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        hasher
            .update_reader(file)
            .map_err(|e| DataError::io(path, e))?;
        Ok(hasher.finalize())
    }

    /// Where the entry for `key` lives.
    pub fn entry_path(&self, key: &blake3::Hash) -> PathBuf {
        let hex = key.to_hex();
        self.dir.join(&hex[..2]).join(format!("{hex}.npy"))
    }

    /// The cached features of `path` under `config_key`, or `compute()`'s
    /// result, which is then stored.
    ///
    /// # Errors
    /// Whatever `compute` returns; `path` unreadable; the entry cannot be
    /// written (the cache directory is broken, which the caller should hear
    /// about rather than silently recompute forever).
    pub fn get_or_compute<E, F>(
        &self,
        path: &Path,
        config_key: &str,
        compute: F,
    ) -> Result<Array2<f32>, E>
    where
        E: From<DataError>,
        F: FnOnce() -> Result<Array2<f32>, E>,
    {
        let key = self.key(path, config_key)?;
        let entry = self.entry_path(&key);
        if entry.is_file() {
            match read_entry(&entry) {
                Some(features) => {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(features);
                }
                None => {
                    self.corrupt.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let features = compute()?;
        self.write_entry(&entry, &features)?;
        self.misses.fetch_add(1, Ordering::Relaxed);
        Ok(features)
    }

    /// Writes to a unique temporary name in the entry's directory, then
    /// renames (atomic on one file system).
    fn write_entry(&self, entry: &Path, features: &Array2<f32>) -> Result<(), DataError> {
        let parent = entry.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(parent).map_err(|e| DataError::io(parent, e))?;
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let temp = entry.with_extension(format!("npy.tmp-{}-{n}", std::process::id()));
        let result = (|| {
            let file = File::create(&temp).map_err(|e| DataError::io(&temp, e))?;
            let mut writer = BufWriter::new(file);
            features
                .write_npy(&mut writer)
                .map_err(|source| DataError::CacheWrite {
                    path: temp.clone(),
                    source,
                })?;
            writer.flush().map_err(|e| DataError::io(&temp, e))?;
            drop(writer);
            std::fs::rename(&temp, entry).map_err(|e| DataError::io(entry, e))
        })();
        if result.is_err() {
            // Best effort: a stray temp file is harmless, the error matters.
            let _ = std::fs::remove_file(&temp);
        }
        result
    }
}

/// The hasher after the domain tag, crate version and configuration: the
/// common prefix of every key made under `config_key`.
fn key_prefix(config_key: &str) -> blake3::Hasher {
    let mut hasher = blake3::Hasher::new();
    hasher.update(KEY_DOMAIN);
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(b"\0");
    hasher.update(&(config_key.len() as u64).to_le_bytes());
    hasher.update(config_key.as_bytes());
    hasher
}

/// The fingerprint of a configuration: BLAKE3 of the key's prefix (domain
/// tag, crate version, length-prefixed `config_key`) without file contents.
/// Equal fingerprints mean the same configuration computed by a build that
/// computes it the same way.
pub fn config_fingerprint(config_key: &str) -> blake3::Hash {
    key_prefix(config_key).finalize()
}

/// Reads an entry; `None` when it is unreadable or malformed.
fn read_entry(entry: &Path) -> Option<Array2<f32>> {
    // One read of the whole (small) file, then parsing from memory. Most of
    // a hit's time (about 150 us for a (60, 39) entry, benches/data.rs) goes
    // to ndarray-npy's header parser (pest-based); a hand-written header
    // reader would be faster, but a hit is already cheaper than decoding
    // plus feature extraction, and the format stays the standard one.
    let bytes = std::fs::read(entry).ok()?;
    Array2::<f32>::read_npy(bytes.as_slice()).ok()
}

/// `value` as canonical JSON: object keys sorted, no whitespace, so the same
/// configuration always gives the same string whatever the field order or
/// serde_json's features.
///
/// # Errors
/// `value` cannot be represented as JSON (e.g. a map with non-string keys).
pub fn canonical_json<T: Serialize>(value: &T) -> Result<String, DataError> {
    let value = serde_json::to_value(value).map_err(|source| DataError::ConfigJson { source })?;
    let mut out = String::new();
    write_canonical(&value, &mut out);
    Ok(out)
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;
    use std::collections::BTreeMap;

    fn features(seed: f32) -> Array2<f32> {
        Array2::from_shape_fn((5, 3), |(i, j)| seed + i as f32 * 0.5 - j as f32)
    }

    fn setup() -> (tempfile::TempDir, FeatureCache, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let cache = FeatureCache::new(dir.path().join("cache/features")).unwrap();
        let audio = dir.path().join("a.wav");
        std::fs::write(&audio, b"RIFF fake audio bytes").unwrap();
        (dir, cache, audio)
    }

    #[test]
    fn second_call_reads_instead_of_computing() {
        let (_dir, cache, audio) = setup();
        let mut calls = 0;
        for _ in 0..3 {
            let got = cache
                .get_or_compute::<DataError, _>(&audio, "{\"n_mels\":23}", || {
                    calls += 1;
                    Ok(features(1.0))
                })
                .unwrap();
            assert_eq!(got, features(1.0));
        }
        assert_eq!(calls, 1);
        assert_eq!(
            cache.stats(),
            CacheStats {
                hits: 2,
                misses: 1,
                corrupt: 0
            }
        );
        let key = cache.key(&audio, "{\"n_mels\":23}").unwrap();
        let entry = cache.entry_path(&key);
        assert!(entry.is_file());
        assert!(entry.starts_with(cache.dir().join(&key.to_hex()[..2])));
    }

    #[test]
    fn key_is_the_documented_v4_hash_and_no_v3_entry_is_served() {
        let (_dir, cache, audio) = setup();
        let layout = |domain: &[u8]| {
            let mut h = blake3::Hasher::new();
            h.update(domain);
            h.update(env!("CARGO_PKG_VERSION").as_bytes());
            h.update(b"\0");
            h.update(&1u64.to_le_bytes());
            h.update(b"a");
            h.update(b"RIFF fake audio bytes");
            h.finalize()
        };
        let key = cache.key(&audio, "a").unwrap();
        // v4: the dither stream of `frontend::gauss` changed again.
        assert_eq!(key, layout(b"speechfront-feature-cache-v4\0"));
        assert_ne!(key, layout(b"speechfront-feature-cache-v3\0"));
    }

    #[test]
    fn fingerprint_is_the_key_prefix_without_contents() {
        let (_dir, cache, audio) = setup();
        std::fs::write(&audio, b"").unwrap();
        // An empty file adds nothing after the prefix.
        assert_eq!(cache.key(&audio, "cfg").unwrap(), config_fingerprint("cfg"));
        assert_ne!(config_fingerprint("cfg"), config_fingerprint("cfh"));
    }

    #[test]
    fn config_or_content_changes_change_the_key() {
        let (dir, cache, audio) = setup();
        let k1 = cache.key(&audio, "a").unwrap();
        assert_eq!(k1, cache.key(&audio, "a").unwrap(), "keys are stable");
        assert_ne!(k1, cache.key(&audio, "b").unwrap());
        // Same bytes under another name: same key (content addressed).
        let copy = dir.path().join("copy.wav");
        std::fs::copy(&audio, &copy).unwrap();
        assert_eq!(k1, cache.key(&copy, "a").unwrap());
        std::fs::write(&audio, b"RIFF other audio bytes").unwrap();
        assert_ne!(k1, cache.key(&audio, "a").unwrap());
        // The config length prefix keeps (config, content) splits apart.
        std::fs::write(&audio, b"xy").unwrap();
        std::fs::write(&copy, b"y").unwrap();
        assert_ne!(
            cache.key(&audio, "").unwrap(),
            cache.key(&copy, "x").unwrap()
        );
    }

    #[test]
    fn corrupt_entries_are_recomputed_and_repaired() {
        let (_dir, cache, audio) = setup();
        let compute = || Ok::<_, DataError>(features(2.0));
        cache.get_or_compute(&audio, "c", compute).unwrap();
        let entry = cache.entry_path(&cache.key(&audio, "c").unwrap());
        let bytes = std::fs::read(&entry).unwrap();
        std::fs::write(&entry, &bytes[..bytes.len() / 2]).unwrap();
        let mut calls = 0;
        let got = cache
            .get_or_compute::<DataError, _>(&audio, "c", || {
                calls += 1;
                Ok(features(2.0))
            })
            .unwrap();
        assert_eq!((calls, got), (1, features(2.0)));
        assert_eq!(cache.stats().corrupt, 1);
        assert_eq!(
            std::fs::read(&entry).unwrap(),
            bytes,
            "entry rewritten in full"
        );
    }

    #[test]
    fn errors_pass_through_and_nothing_is_stored() {
        let (_dir, cache, audio) = setup();
        let err = cache
            .get_or_compute(&audio, "c", || {
                Err(DataError::BadOption {
                    field: "x",
                    value: "1".into(),
                    reason: "test",
                })
            })
            .unwrap_err();
        assert!(matches!(err, DataError::BadOption { field: "x", .. }));
        assert!(!cache.entry_path(&cache.key(&audio, "c").unwrap()).exists());
        let missing = cache.get_or_compute(Path::new("/no/such.wav"), "c", || Ok(features(0.0)));
        assert!(matches!(missing, Err(DataError::Io { .. })));
    }

    #[test]
    fn parallel_workers_share_one_cache() {
        let (dir, cache, _) = setup();
        let files: Vec<PathBuf> = (0..16)
            .map(|i| {
                let p = dir.path().join(format!("{i}.wav"));
                std::fs::write(&p, format!("audio {i}")).unwrap();
                p
            })
            .collect();
        let calls = AtomicUsize::new(0);
        for _ in 0..2 {
            let results: Vec<Array2<f32>> = files
                .par_iter()
                .enumerate()
                .map(|(i, f)| {
                    cache
                        .get_or_compute::<DataError, _>(f, "k", || {
                            calls.fetch_add(1, Ordering::Relaxed);
                            Ok(features(i as f32))
                        })
                        .unwrap()
                })
                .collect();
            for (i, r) in results.iter().enumerate() {
                assert_eq!(r, features(i as f32));
            }
        }
        assert_eq!(calls.load(Ordering::Relaxed), 16);
        assert_eq!(cache.stats().hits, 16);
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        #[derive(Serialize)]
        struct Config {
            zeta: u32,
            alpha: BTreeMap<String, f32>,
            list: Vec<Inner>,
        }
        #[derive(Serialize)]
        struct Inner {
            b: bool,
            a: &'static str,
        }
        let config = Config {
            zeta: 1,
            alpha: [("y".to_string(), 0.5), ("x".to_string(), 2.0)].into(),
            list: vec![Inner { b: true, a: "q\"" }],
        };
        assert_eq!(
            canonical_json(&config).unwrap(),
            r#"{"alpha":{"x":2.0,"y":0.5},"list":[{"a":"q\"","b":true}],"zeta":1}"#
        );
    }
}
