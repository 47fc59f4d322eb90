//! A labelled audio folder decoded once into memory at one sample rate.

use std::path::Path;

use rayon::prelude::*;

use crate::audio::{self, DecodeOptions};
use crate::data::{Dataset, LabelSource};

use super::ExperimentError;

/// Every readable file of a data folder, decoded to mono f32 at one rate,
/// in the order of `data.items`. Files that fail to decode are moved to
/// `data.skipped` with the reason.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Items, classes and skipped files.
    pub data: Dataset,
    /// Samples of each item, in [-1, 1).
    pub audio: Vec<Vec<f32>>,
    /// Rate of every entry of `audio`.
    pub sample_rate_hz: u32,
}

impl Corpus {
    /// Item `i`'s samples played `speed` times faster (test-time speed
    /// averaging); borrowed as they are at speed 1.
    pub fn audio_at_speed(&self, i: usize, speed: f32) -> std::borrow::Cow<'_, [f32]> {
        let audio = &self.audio[i];
        if speed == 1.0 {
            std::borrow::Cow::Borrowed(audio.as_slice())
        } else {
            std::borrow::Cow::Owned(crate::data::augment::wave::speed_perturb(audio, speed))
        }
    }

    /// Scans `root` with `labels`, then decodes (and resamples to
    /// `sample_rate_hz`) every file in parallel.
    ///
    /// # Errors
    /// An unreadable root, or no decodable file at all.
    pub fn load(
        root: &Path,
        labels: &LabelSource,
        sample_rate_hz: u32,
    ) -> Result<Corpus, ExperimentError> {
        let mut data = Dataset::scan(root, labels)?;
        let opts = DecodeOptions {
            sample_rate_hz: Some(sample_rate_hz),
            ..DecodeOptions::default()
        };
        let decoded: Vec<Result<Vec<f32>, String>> = data
            .items
            .par_iter()
            .map(|item| {
                audio::load(&item.path, &opts)
                    .map(|a| a.samples)
                    .map_err(|e| e.kind.to_string())
            })
            .collect();
        let mut failed = Vec::new();
        let mut audio = Vec::with_capacity(decoded.len());
        for (i, r) in decoded.into_iter().enumerate() {
            match r {
                Ok(s) if s.is_empty() => failed.push((i, "no samples".to_string())),
                Ok(s) => audio.push(s),
                Err(reason) => failed.push((i, reason)),
            }
        }
        data.drop_items(&failed);
        if data.items.is_empty() {
            return Err(ExperimentError::NoData {
                path: root.to_path_buf(),
            });
        }
        Ok(Corpus {
            data,
            audio,
            sample_rate_hz,
        })
    }

    /// Total duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.audio.iter().map(|a| a.len() as f64).sum::<f64>() / self.sample_rate_hz as f64
    }

    /// Class index of every item.
    pub fn targets(&self) -> Vec<usize> {
        self.data.targets()
    }
}
