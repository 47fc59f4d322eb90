//! WAV decoding: hound reads and validates the header; the sample data is
//! then read in large blocks and converted here.
//!
//! Why not hound's sample iterator: it costs a few nanoseconds per sample
//! (one bounds-checked `read` call each), which alone would be a third of the
//! whole-process budget on a 10-minute file. hound still decides everything
//! about the header (RIFF/WAVE tags, fmt chunk, WAVE_FORMAT_EXTENSIBLE, the
//! bit-depth rules, unsupported codecs); the tests check the block converter
//! against hound's iterator for every supported encoding.
//!
//! Conventions:
//! - unsigned 8-bit: `(x - 128) / 128`; signed 16/24/32-bit: `x / 2^(bits-1)`
//!   where `bits` is the *container* size. WAVE_FORMAT_EXTENSIBLE stores
//!   fewer valid bits (e.g. 20 in a 24-bit container) left-justified, so
//!   dividing by the container's full scale is exact for them too. A 32-bit
//!   code near `i32::MAX` rounds to exactly 1.0 in f32.
//! - 32-bit float is taken as is (it may exceed [-1, 1]); NaN and infinities
//!   are rejected with their position.
//! - The data chunk's declared length is checked against the real file size
//!   before anything is allocated, so a header declaring 4 GB in a 100-byte
//!   file is a clean `TruncatedData` error, never an allocation or a panic.

use super::mix::{check_finite, downmix};
use super::{AudioErrorKind, ChannelSelect, Decoded};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};

/// Bytes read and converted per block: large enough to amortise the read
/// call, small enough to stay in L2 cache next to its f32 conversion.
const BLOCK_BYTES: usize = 1 << 16;

/// How many header bytes to remember for error messages (the fmt tag).
const HEADER_KEEP: usize = 512;

/// The sample encodings the block converter handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    U8,
    I16,
    I24,
    I32,
    F32,
}

impl Encoding {
    fn bytes(self) -> usize {
        match self {
            Encoding::U8 => 1,
            Encoding::I16 => 2,
            Encoding::I24 => 3,
            Encoding::I32 | Encoding::F32 => 4,
        }
    }
}

/// A reader that counts the bytes hound consumes (to find where the data
/// chunk starts) and keeps the first few for error messages.
struct HeaderTap<R> {
    inner: R,
    pos: u64,
    head: Vec<u8>,
}

impl<R: Read> Read for HeaderTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let keep = n.min(HEADER_KEEP.saturating_sub(self.head.len()));
        self.head.extend_from_slice(&buf[..keep]);
        self.pos += n as u64;
        Ok(n)
    }
}

/// An open WAV file whose header has been checked: its data chunk is
/// read and converted one block at a time by [`WavStream::read_block`].
pub(crate) struct WavStream<R = File> {
    reader: BufReader<R>,
    encoding: Encoding,
    pub(crate) channels: usize,
    select: ChannelSelect,
    pub(crate) sample_rate_hz: u32,
    /// Mono samples in the file.
    pub(crate) frames: usize,
    /// Data bytes of whole frames not read yet.
    remaining: usize,
    declared: u64,
    available: u64,
    frames_done: u64,
    /// Size of a block: whole frames, at most [`BLOCK_BYTES`].
    block_bytes: usize,
    /// The block being converted (allocated on first use: a small file's
    /// data is already in the reader's buffer).
    bytes: Vec<u8>,
    /// Interleaved samples of one block (multi-channel files only).
    scratch: Vec<f32>,
}

/// Check a WAV file's header and position it at the sample data.
/// `file` is the file or any reader over its bytes (an in-memory buffer).
pub(crate) fn open<R: Read + Seek>(
    file: R,
    file_len: u64,
    select: ChannelSelect,
) -> Result<WavStream<R>, AudioErrorKind> {
    // Small files are read whole in one system call; the buffer never
    // exceeds a block (large allocations would go through mmap per file).
    let capacity = usize::try_from(file_len).map_or(BLOCK_BYTES, |n| n.min(BLOCK_BYTES));
    let mut tap = HeaderTap {
        inner: BufReader::with_capacity(capacity, file),
        pos: 0,
        head: Vec::with_capacity(HEADER_KEEP),
    };
    let (spec, n_samples) = match hound::WavReader::new(&mut tap) {
        Ok(reader) => (reader.spec(), u64::from(reader.len())),
        Err(e) => return Err(header_error(e, file_len, tap.pos, &tap.head)),
    };
    let data_start = tap.pos;
    let mut reader = tap.inner;
    // hound's last read was the data chunk's 4-byte length field; it is still
    // in the buffer, so stepping back costs no system call.
    reader.seek_relative(-4).map_err(AudioErrorKind::Io)?;
    let mut len_field = [0u8; 4];
    reader
        .read_exact(&mut len_field)
        .map_err(AudioErrorKind::Io)?;
    let declared = u64::from(u32::from_le_bytes(len_field));
    let available = file_len.saturating_sub(data_start);
    if declared > available {
        return Err(AudioErrorKind::TruncatedData {
            declared,
            available,
        });
    }
    if spec.sample_rate == 0 {
        return Err(AudioErrorKind::ZeroSampleRate);
    }
    if spec.sample_rate > super::MAX_SAMPLE_RATE_HZ {
        return Err(AudioErrorKind::SampleRateTooHigh(spec.sample_rate));
    }
    let channels = usize::from(spec.channels);
    select.check(channels)?;
    if n_samples == 0 {
        return Err(AudioErrorKind::NoSamples);
    }
    // hound checked that the data length is a whole number of samples.
    let encoding = encoding_of(spec, (declared / n_samples) as usize)?;
    let block_align = encoding.bytes() * channels;
    let frames = (declared / block_align as u64) as usize;
    let block_frames = (BLOCK_BYTES / block_align).min(frames).max(1);
    Ok(WavStream {
        reader,
        encoding,
        channels,
        select,
        sample_rate_hz: spec.sample_rate,
        frames,
        remaining: frames * block_align,
        declared,
        available,
        frames_done: 0,
        block_bytes: block_frames * block_align,
        bytes: Vec::new(),
        scratch: Vec::new(),
    })
}

impl<R: Read> WavStream<R> {
    /// Append the next block of mono samples (at most [`BLOCK_BYTES`] of
    /// file data) to `out`; returns how many, 0 at the end of the data.
    ///
    /// # Errors
    /// The file is shorter than its header says (it shrank after the size
    /// check), an I/O error, or a NaN/Inf sample in a float file.
    pub(crate) fn read_block(&mut self, out: &mut Vec<f32>) -> Result<usize, AudioErrorKind> {
        let n = self.remaining.min(self.block_bytes);
        if n == 0 {
            return Ok(0);
        }
        let in_buffer = self.reader.buffer().len() >= n;
        if !in_buffer && self.bytes.len() < n {
            self.bytes.resize(self.block_bytes, 0);
        }
        let bytes = if in_buffer {
            // Converted where the reader holds them: no copy.
            &self.reader.buffer()[..n]
        } else {
            read_block(
                &mut self.reader,
                &mut self.bytes[..n],
                self.declared,
                self.available,
            )?;
            &self.bytes[..n]
        };
        let start = out.len();
        if self.channels == 1 {
            // Mono: convert straight into the output, no intermediate copy.
            convert(self.encoding, bytes, out);
            if self.encoding == Encoding::F32 {
                check_finite(&out[start..], 1, self.frames_done)?;
            }
        } else {
            self.scratch.clear();
            convert(self.encoding, bytes, &mut self.scratch);
            if self.encoding == Encoding::F32 {
                check_finite(&self.scratch, self.channels, self.frames_done)?;
            }
            downmix(&self.scratch, self.channels, self.select, out);
        }
        if in_buffer {
            self.reader.consume(n);
        }
        let frames = out.len() - start;
        self.frames_done += frames as u64;
        self.remaining -= n;
        Ok(frames)
    }
}

/// Decode a whole WAV file (or a reader over its bytes) to mono f32 at
/// its own rate.
pub(crate) fn decode<R: Read + Seek>(
    file: R,
    file_len: u64,
    select: ChannelSelect,
) -> Result<Decoded, AudioErrorKind> {
    let mut stream = open(file, file_len, select)?;
    let mut samples = Vec::with_capacity(stream.frames);
    while stream.read_block(&mut samples)? > 0 {}
    Ok(Decoded {
        samples,
        sample_rate_hz: stream.sample_rate_hz,
        channels: stream.channels,
    })
}

/// Fill `buf` from the data chunk; a short read means the file shrank
/// between the size check and the read. What the reader has buffered is
/// taken first; the rest is read from the file straight into `buf` (through
/// `BufReader::read_exact` every byte of a long file would be copied twice,
/// because the header read leaves the buffer out of step with the blocks).
fn read_block<R: Read>(
    reader: &mut BufReader<R>,
    buf: &mut [u8],
    declared: u64,
    available: u64,
) -> Result<(), AudioErrorKind> {
    let buffered = reader.buffer().len().min(buf.len());
    buf[..buffered].copy_from_slice(&reader.buffer()[..buffered]);
    reader.consume(buffered);
    let rest = &mut buf[buffered..];
    let result = if rest.is_empty() {
        Ok(())
    } else {
        // The buffer is empty now (all of it was consumed), so reading
        // past it keeps the stream in order.
        reader.get_mut().read_exact(rest)
    };
    result.map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => AudioErrorKind::TruncatedData {
            declared,
            available,
        },
        _ => AudioErrorKind::Io(e),
    })
}

/// The encoding of the data chunk from the sample format and the container
/// size in bytes (for WAVE_FORMAT_EXTENSIBLE, `bits_per_sample` is the
/// *valid* bits, so the container size comes from the data length instead).
fn encoding_of(spec: hound::WavSpec, container_bytes: usize) -> Result<Encoding, AudioErrorKind> {
    match (spec.sample_format, container_bytes) {
        (hound::SampleFormat::Int, 1) => Ok(Encoding::U8),
        (hound::SampleFormat::Int, 2) => Ok(Encoding::I16),
        (hound::SampleFormat::Int, 3) => Ok(Encoding::I24),
        (hound::SampleFormat::Int, 4) => Ok(Encoding::I32),
        (hound::SampleFormat::Float, 4) => Ok(Encoding::F32),
        (format, bytes) => Err(AudioErrorKind::UnsupportedCodec(format!(
            "{format:?} samples of {} valid bits in {bytes}-byte containers",
            spec.bits_per_sample
        ))),
    }
}

/// Convert one block of little-endian samples to f32, appended to `out`.
///
/// # Shapes
/// `(n * bytes,)` -> `(n,)` appended, still interleaved.
fn convert(encoding: Encoding, bytes: &[u8], out: &mut Vec<f32>) {
    match encoding {
        Encoding::U8 => out.extend(bytes.iter().map(|&b| (f32::from(b) - 128.0) / 128.0)),
        Encoding::I16 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) * (1.0 / 32_768.0)),
        ),
        Encoding::I24 => out.extend(bytes.chunks_exact(3).map(|b| {
            // Place the 3 bytes in the top of an i32, then shift back down
            // arithmetically to sign-extend.
            let x = i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8;
            x as f32 * (1.0 / 8_388_608.0)
        })),
        Encoding::I32 => out.extend(bytes.chunks_exact(4).map(|b| {
            let x = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            x as f32 * (1.0 / 2_147_483_648.0)
        })),
        Encoding::F32 => out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        ),
    }
}

/// Turn hound's header error into a reason a user can act on.
/// `consumed` is how far hound read: an I/O error at the end of the file
/// (hound reports it as `Other`, "Failed to read enough bytes") is a
/// truncated header.
fn header_error(e: hound::Error, file_len: u64, consumed: u64, head: &[u8]) -> AudioErrorKind {
    match e {
        hound::Error::IoError(io)
            if io.kind() == io::ErrorKind::UnexpectedEof || consumed >= file_len =>
        {
            AudioErrorKind::TruncatedHeader { file_len }
        }
        hound::Error::IoError(io) => AudioErrorKind::Io(io),
        hound::Error::FormatError("file contains zero channels") => AudioErrorKind::ZeroChannels,
        // hound checks generic fmt fields before the format tag, so a real
        // 4-bit ADPCM file fails on "bits per sample is not a multiple of 8";
        // naming the codec is the more useful reason.
        hound::Error::FormatError(_) if !is_supported_tag(head) => {
            AudioErrorKind::UnsupportedCodec(describe_format_tag(head))
        }
        hound::Error::FormatError(msg) => AudioErrorKind::InvalidWav(msg.to_string()),
        hound::Error::Unsupported => AudioErrorKind::UnsupportedCodec(describe_format_tag(head)),
        other => AudioErrorKind::InvalidWav(other.to_string()),
    }
}

/// The fmt chunk's format tag, if it is within the first header bytes.
fn format_tag(head: &[u8]) -> Option<u16> {
    head.windows(4)
        .position(|w| w == b"fmt ")
        .and_then(|i| head.get(i + 8..i + 10))
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
}

/// True unless the header names a format tag hound cannot read (an unknown
/// or unseen tag counts as supported, so hound's own reason is kept).
fn is_supported_tag(head: &[u8]) -> bool {
    matches!(format_tag(head), None | Some(0x0001 | 0x0003 | 0xFFFE))
}

/// Name the fmt chunk's format tag, found in the first header bytes.
fn describe_format_tag(head: &[u8]) -> String {
    let tag = format_tag(head);
    let supported = "supported: PCM 8/16/24/32-bit, IEEE float 32-bit, \
                     WAVE_FORMAT_EXTENSIBLE with PCM or float";
    match tag {
        Some(tag) => {
            let name = match tag {
                0x0002 => "Microsoft ADPCM",
                0x0006 => "A-law",
                0x0007 => "mu-law",
                0x0011 => "IMA ADPCM",
                0x0031 => "GSM 6.10",
                0x0055 => "MPEG layer 3",
                0xFFFE => "WAVE_FORMAT_EXTENSIBLE with an unknown sub-format",
                _ => "unknown",
            };
            format!("WAV format tag 0x{tag:04X} ({name}); {supported}")
        }
        None => format!("WAV format not recognised; {supported}"),
    }
}

#[cfg(test)]
#[path = "wav_tests.rs"]
mod tests;
