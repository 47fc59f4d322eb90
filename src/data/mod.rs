//! Data sets from folders: scanning, labels, splits, length handling and the
//! on-disk feature cache.
//!
//! The flow is: [`Dataset::scan`] a folder with a [`LabelSource`], choose a
//! [`Split`] and call [`Split::folds`] for train/test index lists, compute
//! features per item through [`FeatureCache::get_or_compute`], then bring
//! them to a common length with [`length`]. Nothing here decodes audio:
//! functions that need samples take them as arguments.

pub mod augment;
pub mod cache;
mod error;
pub mod labels;
pub mod length;
mod manifest;
pub mod scan;
pub mod speech;
pub mod split;

pub use cache::{canonical_json, CacheStats, FeatureCache};
pub use error::DataError;
pub use labels::{ItemLabel, LabelSource};
pub use length::{Align, LengthPolicy, Pad};
pub use scan::{Dataset, Item, AUDIO_EXTENSIONS};
pub use speech::SpeechDetectOptions;
pub use split::{stratified_holdout, Fold, Split};
