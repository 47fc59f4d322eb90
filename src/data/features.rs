//! Features for a whole [`Dataset`], through the cache, in parallel, going
//! on after bad files.
//!
//! [`cached_features`] runs the caller's `compute` (decode + front end) for
//! every item on rayon's pool, through a [`FeatureCache`], and moves every
//! item whose computation fails to `Dataset::skipped` with the error as the
//! reason, so a folder with a few broken files trains on the rest and the
//! report can say what was left out. The returned features stay aligned with
//! the dataset's (updated) items. Splits must be computed *after* this call,
//! since dropping items renumbers them.

use std::fmt::Display;

use ndarray::Array2;
use rayon::prelude::*;

use super::{DataError, Dataset, FeatureCache, Item};

/// A per-item failure: the cache's own (unreadable file, unwritable entry)
/// or the caller's computation.
enum ItemError<E> {
    Cache(DataError),
    Compute(E),
}

impl<E> From<DataError> for ItemError<E> {
    fn from(e: DataError) -> Self {
        ItemError::Cache(e)
    }
}

/// Features of every item of `data` under `config_key` (see
/// [`FeatureCache`]), computing missing ones with `compute`. Items whose
/// features cannot be had are moved to `data.skipped` with the reason;
/// `progress` is called once per item (e.g. to advance a progress bar).
///
/// # Errors
/// [`DataError::NoItems`] when no item is left.
pub fn cached_features<E, F, P>(
    data: &mut Dataset,
    cache: &FeatureCache,
    config_key: &str,
    compute: F,
    progress: P,
) -> Result<Vec<Array2<f32>>, DataError>
where
    E: Display,
    F: Fn(&Item) -> Result<Array2<f32>, E> + Sync,
    P: Fn() + Sync,
{
    let results: Vec<Result<Array2<f32>, String>> = data
        .items
        .par_iter()
        .map(|item| {
            let result = cache
                .get_or_compute::<ItemError<E>, _>(&item.path, config_key, || {
                    compute(item).map_err(ItemError::Compute)
                })
                .map_err(|e| match e {
                    ItemError::Cache(e) => e.to_string(),
                    ItemError::Compute(e) => e.to_string(),
                });
            progress();
            result
        })
        .collect();
    let mut features = Vec::with_capacity(results.len());
    let mut failed = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(f) => features.push(f),
            Err(reason) => failed.push((i, reason)),
        }
    }
    data.drop_items(&failed);
    if data.items.is_empty() {
        return Err(DataError::NoItems {
            root: data.root.clone(),
            skipped: data.skipped.len(),
        });
    }
    Ok(features)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::LabelSource;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn folder(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, format!("content of {name}")).unwrap();
        }
        dir
    }

    /// Pretend front end: fails on files named `bad*`, else one row per byte.
    fn compute(item: &Item) -> Result<Array2<f32>, String> {
        let name = item.rel_path.to_string_lossy().to_string();
        if name.contains("bad") {
            return Err(format!("cannot decode {name}"));
        }
        let bytes = std::fs::read(&item.path).map_err(|e| e.to_string())?;
        Ok(Array2::from_shape_fn((bytes.len(), 2), |(i, j)| {
            f32::from(bytes[i]) + j as f32
        }))
    }

    #[test]
    fn bad_items_are_skipped_and_features_stay_aligned() {
        let dir = folder(&["a/1.wav", "a/bad.wav", "b/2.wav", "c/bad2.wav"]);
        let cache = FeatureCache::new(dir.path().join(".cache")).unwrap();
        let mut data = Dataset::scan(dir.path(), &LabelSource::Folder).unwrap();
        let calls = AtomicUsize::new(0);
        let feats = cached_features(&mut data, &cache, "k", compute, || {
            calls.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(
            calls.load(Ordering::Relaxed),
            4,
            "progress ticks once per item"
        );
        assert_eq!(data.items.len(), 2);
        assert_eq!(data.classes, ["a", "b"], "class c had only a bad file");
        assert_eq!(feats.len(), 2);
        for (item, f) in data.items.iter().zip(&feats) {
            assert_eq!(f, &compute(item).unwrap());
        }
        let reasons: Vec<&str> = data.skipped.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(
            reasons,
            ["cannot decode a/bad.wav", "cannot decode c/bad2.wav"]
        );
    }

    #[test]
    fn second_pass_hits_the_cache() {
        let dir = folder(&["a/1.wav", "b/2.wav", "b/3.wav"]);
        let cache = FeatureCache::new(dir.path().join(".cache")).unwrap();
        let mut first = Dataset::scan(dir.path(), &LabelSource::Folder).unwrap();
        let a = cached_features(&mut first, &cache, "k", compute, || ()).unwrap();
        let mut second = Dataset::scan(dir.path(), &LabelSource::Folder).unwrap();
        let b = cached_features(
            &mut second,
            &cache,
            "k",
            |_: &Item| Err::<Array2<f32>, _>("must not be called"),
            || (),
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(cache.stats().hits, 3);
    }

    #[test]
    fn all_items_failing_is_an_error() {
        let dir = folder(&["a/bad.wav"]);
        let cache = FeatureCache::new(dir.path().join(".cache")).unwrap();
        let mut data = Dataset::scan(dir.path(), &LabelSource::Folder).unwrap();
        let err = cached_features(&mut data, &cache, "k", compute, || ()).unwrap_err();
        assert!(
            matches!(err, DataError::NoItems { skipped: 1, .. }),
            "{err}"
        );
    }
}
