//! `extract.json`: what made an output folder.
//!
//! Written (temporary name, rename) before the first output, it holds the
//! crate version, the configuration fingerprint (`config_key`, the feature
//! cache's [`crate::data::config_fingerprint`] of the canonical JSON of
//! `config`) and `config` itself: the output format, the dither seed, the
//! decoding options, the preset, feature, `[frontend]` table and flags as
//! given, and every front-end option after they are merged (at the fixed
//! rate, or at 16 kHz when each file keeps its own rate: the table and flags
//! beside them decide the options at any other rate). `--jobs`, `--force`
//! and `--shard` change no number, so they are not part of it.
//!
//! A run into a folder whose record has another fingerprint stops with one
//! line naming both configurations and their first difference, unless
//! `--force`; every manifest row also carries the fingerprint that made its
//! output, so a row is only trusted under the configuration that wrote it.

use super::config::ExtractConfig;
use super::driver::{write_atomic, ExtractError};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

/// Name of the record in the output folder.
pub const RECORD_NAME: &str = "extract.json";

/// Hex digits of the fingerprint kept in manifest rows.
pub const ROW_KEY_LEN: usize = 16;

/// The folder record of a configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Full fingerprint, hex.
    pub config_key: String,
    /// Crate version that wrote it.
    pub version: String,
    /// The configuration (see the module docs).
    pub config: Value,
}

impl Record {
    /// The record `cfg` writes.
    ///
    /// # Errors
    /// Front-end options that cannot be built or serialised (already
    /// checked by [`super::ExtractFlags::resolve`]).
    pub fn of(cfg: &ExtractConfig) -> Result<Record, String> {
        let rate = cfg.decode.sample_rate_hz;
        let plan = &cfg.frontend;
        let options = plan
            .options_at(rate.unwrap_or(16_000))
            .map_err(|e| e.to_string())?;
        let config = json!({
            "format": format!("{:?}", cfg.format).to_lowercase(),
            "seed": cfg.seed,
            "decode": cfg.decode,
            "sample_rate": match rate {
                Some(r) => json!(r),
                None => json!("each file's own"),
            },
            "preset": plan.preset,
            "feature": plan.feature,
            "frontend_table": plan.table,
            "flags": { "dither": plan.dither, "deltas": plan.deltas, "cmvn": plan.cmvn },
            "frontend": options,
        });
        let canonical = crate::data::canonical_json(&config).map_err(|e| e.to_string())?;
        Ok(Record {
            config_key: crate::data::config_fingerprint(&canonical)
                .to_hex()
                .to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            config,
        })
    }

    /// The fingerprint prefix manifest rows carry.
    pub fn row_key(&self) -> &str {
        &self.config_key[..ROW_KEY_LEN]
    }

    fn to_json(&self) -> String {
        let v = json!({
            "tool": "speechfront extract",
            "version": self.version,
            "config_key": self.config_key,
            "config": self.config,
        });
        let mut text = serde_json::to_string_pretty(&v).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The record in `dir`, if there is a readable one.
    pub fn load(dir: &Path) -> Option<Record> {
        let text = std::fs::read_to_string(dir.join(RECORD_NAME)).ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        Some(Record {
            config_key: v.get("config_key")?.as_str()?.to_string(),
            version: v.get("version")?.as_str()?.to_string(),
            config: v.get("config")?.clone(),
        })
    }

    /// Write the record into `dir` (temporary name, rename). Shards of one
    /// run write the same bytes, so concurrent writers agree.
    ///
    /// # Errors
    /// The folder is not writable.
    pub fn store(&self, dir: &Path) -> Result<(), ExtractError> {
        let path = dir.join(RECORD_NAME);
        let text = self.to_json();
        if std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
            return Ok(());
        }
        write_atomic(&path, text.len(), |w| w.write_all(text.as_bytes())).map_err(|source| {
            ExtractError::Io {
                path: path.clone(),
                source,
            }
        })
    }

    /// A short description: preset, feature, format and fingerprint.
    pub fn describe(&self) -> String {
        let s = |k: &str| {
            self.config
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        };
        format!(
            "{} {} {}, key {}, speechfront {}",
            s("preset"),
            s("feature"),
            s("format"),
            &self.config_key[..self.config_key.len().min(12)],
            self.version
        )
    }
}

/// The first place where `old` and `new` differ, as `path: old -> new`.
pub fn first_difference(old: &Value, new: &Value) -> Option<String> {
    fn walk(path: &str, a: &Value, b: &Value) -> Option<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                keys.into_iter().find_map(|k| {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(
                        &p,
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                    )
                })
            }
            _ if a == b => None,
            _ => Some(format!("{path}: {a} -> {b}")),
        }
    }
    walk("", old, new)
}

/// Check `dir`'s record against `want` and write `want` when it may go on.
///
/// # Errors
/// [`ExtractError::OtherConfiguration`] when the folder was made by another
/// configuration and `force` is off; I/O errors writing the record.
pub fn claim(dir: &Path, want: &Record, force: bool) -> Result<(), ExtractError> {
    if let Some(old) = Record::load(dir) {
        if old.config_key != want.config_key && !force {
            let diff = first_difference(&old.config, &want.config)
                .map(|d| format!("; first difference: {d}"))
                .unwrap_or_else(|| format!("; builds differ: {} -> {}", old.version, want.version));
            return Err(ExtractError::OtherConfiguration {
                dir: dir.to_path_buf(),
                old: old.describe(),
                new: want.describe(),
                diff,
            });
        }
    }
    want.store(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_path() {
        let a = json!({"preset": "kaldi", "frontend": {"mel": {"num_bins": 23}}});
        let b = json!({"preset": "kaldi", "frontend": {"mel": {"num_bins": 40}}});
        assert_eq!(
            first_difference(&a, &b).unwrap(),
            "frontend.mel.num_bins: 23 -> 40"
        );
        assert_eq!(first_difference(&a, &a), None);
        let c = json!({"preset": "kaldi"});
        assert_eq!(
            first_difference(&c, &a).unwrap(),
            "frontend: null -> {\"mel\":{\"num_bins\":23}}"
        );
    }
}
