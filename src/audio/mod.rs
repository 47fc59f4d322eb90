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

/// The highest sample rate a file may declare (768 kHz, the top of
/// professional PCM rates); above it the header is taken as corrupt.
pub const MAX_SAMPLE_RATE_HZ: u32 = 768_000;

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
/// unrecognised or unsupported format, truncated, zero channels, a zero
/// rate or one above [`MAX_SAMPLE_RATE_HZ`], no
/// samples, NaN/Inf samples, a missing channel, a zero target rate.
pub fn load(path: &Path, opts: &DecodeOptions) -> Result<Audio, AudioError> {
    open(path, opts)?.into_audio()
}

/// Open `path` for reading in blocks: a WAV file read at its own rate is
/// only checked here (header, sizes) and decoded block by block by
/// [`AudioStream::read_block`], so a caller that consumes blocks never
/// holds the whole signal; anything else (compressed formats, resampling)
/// is decoded whole here and handed over from memory.
///
/// # Errors
/// As [`load`]; errors in the sample data of a WAV file (NaN/Inf, a file
/// that shrank) come from [`AudioStream::read_block`] instead.
pub fn open(path: &Path, opts: &DecodeOptions) -> Result<AudioStream, AudioError> {
    open_inner(path, opts).map_err(|kind| AudioError::new(path, kind))
}

/// A file being read (see [`open`]).
pub struct AudioStream {
    path: std::path::PathBuf,
    /// Rate of the samples handed over.
    pub sample_rate_hz: u32,
    /// Rate stored in the file.
    pub source_rate_hz: u32,
    /// Channel count stored in the file.
    pub source_channels: usize,
    /// Mono samples in the whole signal.
    pub len: usize,
    inner: StreamInner,
}

enum StreamInner {
    Wav(wav::WavStream),
    Decoded(Vec<f32>),
}

impl AudioStream {
    /// The whole signal, when it was decoded at [`open`] (no block reading
    /// needed).
    pub fn decoded(&self) -> Option<&[f32]> {
        match &self.inner {
            StreamInner::Decoded(x) => Some(x),
            StreamInner::Wav(_) => None,
        }
    }

    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.len as f64 / f64::from(self.sample_rate_hz)
    }

    /// Append the next block of mono samples to `out`; returns how many,
    /// 0 once all [`AudioStream::len`] samples have been handed over.
    ///
    /// # Errors
    /// An [`AudioError`] naming the file: NaN/Inf samples, a file shorter
    /// than its header says, an I/O error.
    pub fn read_block(&mut self, out: &mut Vec<f32>) -> Result<usize, AudioError> {
        match &mut self.inner {
            StreamInner::Wav(w) => w
                .read_block(out)
                .map_err(|kind| AudioError::new(&self.path, kind)),
            StreamInner::Decoded(x) => {
                let n = x.len();
                out.append(x);
                Ok(n)
            }
        }
    }

    /// Read everything left into one [`Audio`].
    ///
    /// # Errors
    /// As [`AudioStream::read_block`].
    pub fn into_audio(mut self) -> Result<Audio, AudioError> {
        let samples = match &mut self.inner {
            StreamInner::Decoded(x) => std::mem::take(x),
            StreamInner::Wav(_) => {
                let mut samples = Vec::with_capacity(self.len);
                while self.read_block(&mut samples)? > 0 {}
                samples
            }
        };
        Ok(Audio {
            samples,
            sample_rate_hz: self.sample_rate_hz,
            source_rate_hz: self.source_rate_hz,
            source_channels: self.source_channels,
        })
    }
}

fn open_inner(path: &Path, opts: &DecodeOptions) -> Result<AudioStream, AudioErrorKind> {
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
    let path = path.to_path_buf();
    if is_wav && opts.sample_rate_hz.is_none() {
        let w = wav::open(file, file_len, opts.channel)?;
        return Ok(AudioStream {
            path,
            sample_rate_hz: w.sample_rate_hz,
            source_rate_hz: w.sample_rate_hz,
            source_channels: w.channels,
            len: w.frames,
            inner: StreamInner::Wav(w),
        });
    }
    let decoded = if is_wav {
        wav::decode(file, file_len, opts.channel)?
    } else {
        codec::decode(Box::new(file), &extension, opts.channel)?
    };
    from_decoded(path, decoded, opts)
}

/// Decode the bytes of a whole audio file already in memory, exactly as
/// [`load`] decodes a file with these bytes: the decoder is chosen by
/// content, `origin`'s extension is the format hint, and `origin` names
/// the file in errors (it is never opened). For callers that hold the
/// bytes (an archive, a network request, a fuzzer).
///
/// # Errors
/// As [`load`].
pub fn decode_bytes(
    bytes: &[u8],
    origin: &Path,
    opts: &DecodeOptions,
) -> Result<Audio, AudioError> {
    decode_bytes_inner(bytes, origin, opts).map_err(|kind| AudioError::new(origin, kind))
}

fn decode_bytes_inner(
    bytes: &[u8],
    origin: &Path,
    opts: &DecodeOptions,
) -> Result<Audio, AudioErrorKind> {
    if opts.sample_rate_hz == Some(0) {
        return Err(AudioErrorKind::ZeroSampleRate);
    }
    if bytes.is_empty() {
        return Err(AudioErrorKind::EmptyFile);
    }
    let extension = origin
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_wav = extension == "wav" || extension == "wave" || bytes.starts_with(b"RIFF");
    let decoded = if is_wav {
        wav::decode(
            std::io::Cursor::new(bytes),
            bytes.len() as u64,
            opts.channel,
        )?
    } else {
        codec::decode(
            Box::new(std::io::Cursor::new(bytes.to_vec())),
            &extension,
            opts.channel,
        )?
    };
    from_decoded(origin.to_path_buf(), decoded, opts)?.into_audio_kind()
}

/// A stream over a whole decoded signal, resampled when `opts` asks.
fn from_decoded(
    path: std::path::PathBuf,
    decoded: Decoded,
    opts: &DecodeOptions,
) -> Result<AudioStream, AudioErrorKind> {
    let source_rate_hz = decoded.sample_rate_hz;
    if source_rate_hz > MAX_SAMPLE_RATE_HZ {
        return Err(AudioErrorKind::SampleRateTooHigh(source_rate_hz));
    }
    let (samples, sample_rate_hz) = match opts.sample_rate_hz {
        Some(to) => (resample::resample(decoded.samples, source_rate_hz, to)?, to),
        None => (decoded.samples, source_rate_hz),
    };
    Ok(AudioStream {
        path,
        sample_rate_hz,
        source_rate_hz,
        source_channels: decoded.channels,
        len: samples.len(),
        inner: StreamInner::Decoded(samples),
    })
}

impl AudioStream {
    /// [`AudioStream::into_audio`] for a stream decoded whole (no reading
    /// left that could fail with a path).
    fn into_audio_kind(self) -> Result<Audio, AudioErrorKind> {
        self.into_audio().map_err(|e| e.kind)
    }
}

/// Peek at the first four bytes, then rewind for the decoder.
fn starts_with_riff(file: &mut File) -> Result<bool, AudioErrorKind> {
    let mut magic = [0u8; 4];
    let n = file.read(&mut magic).map_err(AudioErrorKind::Io)?;
    std::io::Seek::rewind(file).map_err(AudioErrorKind::Io)?;
    Ok(n == 4 && &magic == b"RIFF")
}
