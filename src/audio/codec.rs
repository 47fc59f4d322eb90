//! FLAC, MP3 and OGG/Vorbis through symphonia 0.6.
//!
//! Policy: any demux or decode error fails the file. Skipping corrupt
//! packets (symphonia's examples do) would silently shorten the signal and
//! shift every later frame; for feature extraction a clear error is better.
//! A chained OGG stream (`ResetRequired`) ends at its first logical stream.

use super::mix::{check_finite, downmix};
use super::{AudioErrorKind, ChannelSelect, Decoded};
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

/// Decode a whole compressed file to mono f32 at its own rate.
/// `source` is the open file or an in-memory copy of its bytes;
/// `extension` (lower case, no dot) is a hint for the format probe.
pub(crate) fn decode(
    source: Box<dyn MediaSource>,
    extension: &str,
    select: ChannelSelect,
) -> Result<Decoded, AudioErrorKind> {
    let stream = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    hint.with_extension(extension);
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            stream,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| AudioErrorKind::UnrecognisedFormat(e.to_string()))?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| AudioErrorKind::UnrecognisedFormat("no audio track".into()))?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| AudioErrorKind::UnsupportedCodec("track without audio parameters".into()))?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| AudioErrorKind::UnsupportedCodec(e.to_string()))?;

    let mut samples = Vec::new();
    let mut scratch: Vec<f32> = Vec::new();
    let mut layout: Option<(u32, usize)> = None;
    let mut frames_done = 0u64;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) | Err(SymError::ResetRequired) => break,
            Err(e) => return Err(stream_error(e)),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buffer = decoder.decode(&packet).map_err(stream_error)?;
        let rate = buffer.spec().rate();
        let channels = buffer.spec().channels().count();
        match layout {
            None => {
                if channels == 0 {
                    return Err(AudioErrorKind::ZeroChannels);
                }
                if rate == 0 {
                    return Err(AudioErrorKind::ZeroSampleRate);
                }
                select.check(channels)?;
                layout = Some((rate, channels));
            }
            Some(first) if first != (rate, channels) => {
                return Err(AudioErrorKind::FormatChange(format!(
                    "{} Hz x {} channels, then {rate} Hz x {channels} channels",
                    first.0, first.1
                )));
            }
            Some(_) => {}
        }
        buffer.copy_to_vec_interleaved(&mut scratch);
        check_finite(&scratch, channels, frames_done)?;
        downmix(&scratch, channels, select, &mut samples);
        frames_done += buffer.frames() as u64;
    }
    match layout {
        Some((sample_rate_hz, channels)) if !samples.is_empty() => Ok(Decoded {
            samples,
            sample_rate_hz,
            channels,
        }),
        _ => Err(AudioErrorKind::NoSamples),
    }
}

/// Map a symphonia error met while reading packets.
fn stream_error(e: SymError) -> AudioErrorKind {
    match e {
        SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            AudioErrorKind::Decode("truncated stream (unexpected end of file)".into())
        }
        SymError::Unsupported(what) => AudioErrorKind::UnsupportedCodec(what.to_string()),
        other => AudioErrorKind::Decode(other.to_string()),
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
