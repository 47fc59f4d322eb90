//! Typed decode errors: every error carries the file it came from, and its
//! message reads `path: reason`, the form the batch driver prints.

use std::path::PathBuf;

/// Why a file could not be turned into samples. The `Display` of an
/// [`AudioError`] prefixes this reason with the path.
#[derive(Debug, thiserror::Error)]
pub enum AudioErrorKind {
    /// The file could not be opened or read.
    #[error("cannot read: {0}")]
    Io(std::io::Error),
    /// The file has zero bytes.
    #[error("empty file (0 bytes)")]
    EmptyFile,
    /// A WAV header that hound rejects (not RIFF/WAVE, bad fmt chunk, odd bit depth...).
    #[error("not a valid WAV file: {0}")]
    InvalidWav(String),
    /// The header ends before its fmt and data chunks are complete.
    #[error("truncated WAV header: the file ends after {file_len} bytes, before the sample data")]
    TruncatedHeader {
        /// Size of the whole file in bytes.
        file_len: u64,
    },
    /// The data chunk declares more bytes than the file holds (a truncated
    /// file, or a corrupt or hostile length field). Nothing of that size is
    /// ever allocated: the length is checked against the real file size first.
    #[error(
        "truncated data: the header declares {declared} data bytes but only {available} follow"
    )]
    TruncatedData {
        /// Data bytes the header declares.
        declared: u64,
        /// Data bytes actually present after the header.
        available: u64,
    },
    /// A codec or sample encoding that is not supported (ADPCM, A-law, 64-bit float...).
    #[error("unsupported encoding: {0}")]
    UnsupportedCodec(String),
    /// A container that none of the decoders recognises (random bytes, text...).
    #[error("unrecognised audio format: {0}")]
    UnrecognisedFormat(String),
    /// The stream could not be decoded (corrupt packet, truncated compressed stream).
    #[error("decode error: {0}")]
    Decode(String),
    /// The header declares zero channels.
    #[error("zero channels")]
    ZeroChannels,
    /// The header declares a sample rate of 0 Hz.
    #[error("zero sample rate")]
    ZeroSampleRate,
    /// A sample rate above [`super::MAX_SAMPLE_RATE_HZ`]: a corrupt header
    /// (a front end at such a rate would need frames of millions of
    /// samples).
    #[error("sample rate {0} Hz is above the {max} Hz this tool reads (corrupt header?)", max = super::MAX_SAMPLE_RATE_HZ)]
    SampleRateTooHigh(u32),
    /// The header is valid but the file holds no samples.
    #[error("no samples (the data chunk is empty)")]
    NoSamples,
    /// A floating-point sample is NaN or infinite.
    #[error("non-finite sample {value} at frame {frame}, channel {channel}")]
    NonFinite {
        /// The offending value (NaN, inf or -inf).
        value: f32,
        /// Frame index (sample index per channel).
        frame: u64,
        /// Channel index.
        channel: u32,
    },
    /// `--channel N` asked for a channel the file does not have.
    #[error("channel {requested} requested but the file has {channels} channel(s)")]
    NoSuchChannel {
        /// The channel index asked for (0-based).
        requested: usize,
        /// The number of channels in the file.
        channels: usize,
    },
    /// The channel count or rate changed in the middle of a compressed stream.
    #[error("stream changes format mid-way: {0}")]
    FormatChange(String),
    /// The resampler could not be built or run.
    #[error("resampling from {from_hz} Hz to {to_hz} Hz failed: {reason}")]
    Resample {
        /// Source rate.
        from_hz: u32,
        /// Requested rate.
        to_hz: u32,
        /// The resampler's message.
        reason: String,
    },
}

/// A decode error naming the file: displays as `path: reason`.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct AudioError {
    /// The file that failed.
    pub path: PathBuf,
    /// Why it failed (not marked as `source`: the message already shows it).
    pub kind: AudioErrorKind,
}

impl AudioError {
    /// Attach a path to a reason.
    pub fn new(path: impl Into<PathBuf>, kind: AudioErrorKind) -> Self {
        AudioError {
            path: path.into(),
            kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_path_colon_reason() {
        let e = AudioError::new(
            "a/b.wav",
            AudioErrorKind::TruncatedData {
                declared: 4_000_000_000,
                available: 10,
            },
        );
        assert_eq!(
            e.to_string(),
            "a/b.wav: truncated data: the header declares 4000000000 data bytes but only 10 follow"
        );
    }
}
