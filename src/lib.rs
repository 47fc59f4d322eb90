//! speechfront: speech features with a neural front end.
//!
//! Two jobs in one crate:
//! 1. **Batch extraction** ([`extract`], [`frontend`]): Kaldi- and
//!    librosa-exact MFCC, log-mel filterbank and spectrogram features for
//!    whole folders, in parallel, written as `.npy` or Kaldi archives.
//! 2. **Benchmark reports** ([`experiment`], [`report`]): hand-crafted
//!    front ends against learned ones, trained end to end with an MLP
//!    ([`nn`], [`train`]) on the same data, split and seeds.
//!
//! # The front end as a library
//! ```
//! use speechfront::frontend::{Feature, Frontend, FrontendOptions, Preset};
//! use speechfront::nn::rng_from_seed;
//!
//! // Kaldi's compute-mfcc-feats defaults at 8 kHz, without dither.
//! let mut opts = FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc, 8000.0);
//! opts.frame.dither = 0.0;
//! let fe = Frontend::new(&opts).expect("valid options");
//! let tone: Vec<f32> = (0..8000).map(|i| (i as f32 * 0.3).sin() * 0.2).collect();
//! let mfcc = fe.compute(&tone, &mut rng_from_seed(0)); // (frames, 13)
//! assert_eq!(mfcc.dim(), (98, 13));
//! ```
//!
//! # Conventions
//! - Samples are mono f32 in [-1, 1); a preset scales them as its reference
//!   tool does (Kaldi: int16 scale, librosa: as is).
//! - Features are `(frames, dims)`, one row per frame in time order.
//! - Every stage of the chain (window + FFT power, mel, log, DCT) also exists
//!   as an [`nn::Layer`]; a learned stage initialised "classic" reproduces
//!   the hand-crafted output at step 0 ([`frontend::learned`]).
//! - Every random choice takes an explicit seeded [`nn::Rng`]: the same seed
//!   gives the same numbers.
//! - Library errors are typed enums naming the file or field at fault; bad
//!   input never panics.
//!
//! # Modules
//! [`audio`] decodes (WAV, FLAC, MP3, OGG) and resamples; [`frontend`] holds
//! the stages, presets and pipeline; [`nn`] the layers, losses and
//! optimizers; [`train`] the training loop, metrics and persistence;
//! [`data`] folder scanning, labels, splits, augmentation and the feature
//! cache; [`experiment`] runs configurations; [`report`] renders Markdown,
//! JSON and HTML; [`extract`] is the batch driver behind `speechfront extract`.

#![warn(missing_docs)]

pub mod audio;
pub mod data;
pub mod experiment;
pub mod extract;
pub mod frontend;
pub mod nn;
pub mod report;
pub mod train;
