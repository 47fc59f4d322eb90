//! Data sets from folders: scanning, labels, splits, length handling and the
//! on-disk feature cache.
//!
//! The flow is: [`Dataset::scan`] a folder with a [`LabelSource`], choose a
//! [`Split`] and call [`Split::folds`] for train/test index lists, compute
//! features per item through [`FeatureCache::get_or_compute`] (or for the
//! whole set, in parallel and skipping bad files, with [`cached_features`],
//! before splitting), then bring
//! them to a common length with [`length`] (after dropping silence with
//! [`speech`], and augmenting with [`augment`] when training). Nothing here
//! decodes audio: functions that need samples take them as arguments.
//!
//! ```
//! use speechfront::data::{
//!     canonical_json, Align, DataError, Dataset, FeatureCache, LabelSource, LengthPolicy, Pad,
//!     Split,
//! };
//! use speechfront::nn::rng_from_seed;
//!
//! let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("audio/digits");
//! let data = Dataset::scan(&root, &LabelSource::Auto)?; // FSDD names: auto-detected
//! assert!(data.skipped.is_empty());
//! let split: Split = "loso:5".parse()?; // 5 folds of 5 held-out voices
//! let folds = split.folds(&data, &mut rng_from_seed(0))?;
//! assert_eq!(folds.len(), 5);
//!
//! let dir = tempfile::tempdir()?;
//! let cache = FeatureCache::new(dir.path().join("features"))?;
//! let key = canonical_json(&serde_json::json!({ "feature": "mfcc", "num_ceps": 13 }))?;
//! let item = &data.items[folds[0].train[0]];
//! let features = cache.get_or_compute::<DataError, _>(&item.path, &key, || {
//!     // Decode `item.path` and run the front end here.
//!     Ok(ndarray::Array2::zeros((57, 13)))
//! })?;
//! let fixed = LengthPolicy::Fixed { frames: 100, pad: Pad::Zeros, align: Align::Centre }
//!     .apply(features.view())?;
//! assert_eq!(fixed.dim(), (100, 13));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod augment;
pub mod cache;
mod error;
pub mod features;
pub mod labels;
pub mod length;
mod manifest;
pub mod scan;
pub mod speech;
pub mod split;

pub use cache::{canonical_json, config_fingerprint, CacheStats, FeatureCache};
pub use error::DataError;
pub use features::cached_features;
pub use labels::{ItemLabel, LabelSource};
pub use length::{Align, LengthPolicy, Pad};
pub use scan::{Dataset, Item, AUDIO_EXTENSIONS};
pub use speech::SpeechDetectOptions;
pub use split::{Fold, Split};
