//! Batch feature extraction: the library side of `speechfront extract`.
//!
//! [`ExtractFlags::resolve`] turns flags, a TOML config and a preset into a
//! validated [`ExtractConfig`]; [`run`] walks the inputs, extracts every file
//! on a rayon pool and writes `.npy` files (or one Kaldi archive) plus
//! `manifest.tsv`. A bad file never stops the run: it is reported through
//! the callback, listed as failed in the manifest and counted in the
//! [`Summary`]; only a run-level failure (output not writable) is an error.
//!
//! Outcomes by input (see also [`crate::audio`]):
//! - decodable with at least one frame: features `(frames, dims)`;
//! - decodable but shorter than one frame: an empty `(0, dims)` array is
//!   written (status ok, 0 frames), so downstream code sees every utterance;
//! - no samples, or any decode error: failed, no output.

pub mod ark;
mod config;
mod driver;
pub mod inputs;
pub mod manifest;
pub mod merge;
pub mod names;
pub mod npy;
pub mod record;
pub mod shard;

pub use config::{ConfigError, ExtractConfig, ExtractFlags, FrontendPlan, OutputFormat};
pub use driver::{
    file_seed, run, write_atomic, ExtractError, FileResult, Summary, ARK_NAME, HASH_LIMIT,
    MANIFEST_NAME, SCP_NAME,
};
pub use merge::{merge, MergeReport};
pub use shard::Shard;
