//! Audio input: decoding (WAV via hound; FLAC, MP3, OGG/Vorbis via
//! symphonia), downmixing, resampling. Knows nothing of features or networks.
//!
//! [`load`] turns one file into mono `f32` samples in [-1, 1) (float WAV may
//! exceed it) at the file's own rate, or at a requested rate through a
//! band-limited resampler. Scaling to a front end's working range (Kaldi's
//! int16 scale) is the front end's business, not this module's.
//!
//! Design decisions:
//! - The decoder is chosen by content, not by name: a file starting with
//!   `RIFF` goes to the WAV reader whatever its extension, a `.wav` that does
//!   not start with `RIFF` still goes to the WAV reader (so a text file named
//!   `.wav` gets "no RIFF tag found", not a vague probe error), anything else
//!   goes to symphonia with its extension as a hint.
//! - Bad input never panics and never allocates what a header merely claims:
//!   every failure is an [`AudioError`] naming the file and the reason.
//! - A file whose header is valid but holds no samples is an error
//!   ([`AudioErrorKind::NoSamples`]): there is nothing to extract and it
//!   usually marks a broken recording. A file with samples but shorter than
//!   one analysis frame decodes fine; what it yields is the front end's call
//!   (an empty `(0, dims)` feature matrix).

mod codec;
mod error;
mod mix;
mod resample;
mod wav;

#[cfg(test)]
#[path = "../../tests/common/wavgen.rs"]
pub(crate) mod wavgen;

pub use error::{AudioError, AudioErrorKind};
pub use mix::ChannelSelect;

use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// File extensions (lower case) the batch driver picks up.
pub const EXTENSIONS: &[&str] = &["wav", "flac", "mp3", "ogg"];

/// True when `path` has one of the [`EXTENSIONS`] (case-insensitive).
pub fn has_audio_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// How to turn a file into one mono signal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecodeOptions {
    /// Average the channels or keep one. Default: average.
    pub channel: ChannelSelect,
    /// Resample to this rate (Hz) when set. Default: none, every file keeps
    /// its own rate (resampling changes the signal, so it is opt-in).
    pub sample_rate_hz: Option<u32>,
}

/// One decoded file.
#[derive(Clone, Debug, PartialEq)]
pub struct Audio {
    /// Mono samples at `sample_rate_hz`.
    pub samples: Vec<f32>,
    /// Rate of `samples` (the target rate when resampled).
    pub sample_rate_hz: u32,
    /// Rate stored in the file.
    pub source_rate_hz: u32,
    /// Channel count stored in the file.
    pub source_channels: usize,
}

impl Audio {
    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate_hz)
    }
}

/// What a decoder hands back before optional resampling.
pub(crate) struct Decoded {
    samples: Vec<f32>,
    sample_rate_hz: u32,
    channels: usize,
}

/// Decode `path` to mono f32, resampled when `opts.sample_rate_hz` asks.
///
/// # Errors
/// An [`AudioError`] naming `path` and the reason: unreadable, empty,
/// unrecognised or unsupported format, truncated, zero channels or rate, no
/// samples, NaN/Inf samples, a missing channel, a zero target rate.
pub fn load(path: &Path, opts: &DecodeOptions) -> Result<Audio, AudioError> {
    load_inner(path, opts).map_err(|kind| AudioError::new(path, kind))
}

fn load_inner(path: &Path, opts: &DecodeOptions) -> Result<Audio, AudioErrorKind> {
    if opts.sample_rate_hz == Some(0) {
        return Err(AudioErrorKind::ZeroSampleRate);
    }
    let mut file = File::open(path).map_err(AudioErrorKind::Io)?;
    let file_len = file.metadata().map_err(AudioErrorKind::Io)?.len();
    if file_len == 0 {
        return Err(AudioErrorKind::EmptyFile);
    }
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    // A `.wav` goes straight to the WAV reader (no extra system calls on
    // the common path); other names are sniffed for a RIFF header.
    let is_wav = extension == "wav" || extension == "wave" || starts_with_riff(&mut file)?;
    let decoded = if is_wav {
        wav::decode(file, file_len, opts.channel)?
    } else {
        codec::decode(file, &extension, opts.channel)?
    };
    let source_rate_hz = decoded.sample_rate_hz;
    let (samples, sample_rate_hz) = match opts.sample_rate_hz {
        Some(to) => (resample::resample(decoded.samples, source_rate_hz, to)?, to),
        None => (decoded.samples, source_rate_hz),
    };
    Ok(Audio {
        samples,
        sample_rate_hz,
        source_rate_hz,
        source_channels: decoded.channels,
    })
}

/// Peek at the first four bytes, then rewind for the decoder.
fn starts_with_riff(file: &mut File) -> Result<bool, AudioErrorKind> {
    let mut magic = [0u8; 4];
    let n = file.read(&mut magic).map_err(AudioErrorKind::Io)?;
    std::io::Seek::rewind(file).map_err(AudioErrorKind::Io)?;
    Ok(n == 4 && &magic == b"RIFF")
}
