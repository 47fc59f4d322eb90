//! Interleaved multi-channel samples to one mono signal: the average of all
//! channels, or one chosen channel. Shared by the WAV and compressed decoders,
//! which both hand over blocks of interleaved `f32` frames.

use super::AudioErrorKind;
use serde::{Deserialize, Serialize};

/// Which channel(s) become the mono signal.
///
/// Default: [`ChannelSelect::Mix`], the plain average, as Kaldi's
/// `--channel=-1` on mono input and librosa's `to_mono` do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelSelect {
    /// Average all channels (sum times 1/channels, in f32).
    #[default]
    Mix,
    /// Keep only this channel (0-based); a file with fewer channels is an error.
    Channel(usize),
}

impl ChannelSelect {
    /// Check that this selection exists in a file with `channels` channels.
    pub(crate) fn check(self, channels: usize) -> Result<(), AudioErrorKind> {
        match self {
            ChannelSelect::Channel(requested) if requested >= channels => {
                Err(AudioErrorKind::NoSuchChannel {
                    requested,
                    channels,
                })
            }
            _ => Ok(()),
        }
    }
}

/// Append the mono signal of the interleaved frames in `interleaved` to `out`.
///
/// `interleaved.len()` must be a multiple of `channels` (the decoders only
/// pass whole frames) and a `Channel(k)` selection must satisfy
/// `k < channels` (checked by [`ChannelSelect::check`]).
///
/// # Shapes
/// `(frames * channels,)` interleaved -> `(frames,)` appended.
pub(crate) fn downmix(
    interleaved: &[f32],
    channels: usize,
    select: ChannelSelect,
    out: &mut Vec<f32>,
) {
    debug_assert_eq!(interleaved.len() % channels, 0);
    match select {
        ChannelSelect::Mix if channels == 1 => out.extend_from_slice(interleaved),
        ChannelSelect::Mix => {
            let scale = 1.0 / channels as f32;
            out.extend(
                interleaved
                    .chunks_exact(channels)
                    .map(|frame| frame.iter().sum::<f32>() * scale),
            );
        }
        ChannelSelect::Channel(k) => {
            out.extend(interleaved.chunks_exact(channels).map(|frame| frame[k]));
        }
    }
}

/// Reject NaN and infinite samples; `first_frame` is the index of the block's
/// first frame in the whole file, so the error points at the real position.
pub(crate) fn check_finite(
    interleaved: &[f32],
    channels: usize,
    first_frame: u64,
) -> Result<(), AudioErrorKind> {
    match interleaved.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(i) => Err(AudioErrorKind::NonFinite {
            value: interleaved[i],
            frame: first_frame + (i / channels) as u64,
            channel: (i % channels) as u32,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_averages_channels() {
        let mut out = vec![9.0];
        downmix(&[0.5, -0.5, 1.0, 0.0], 2, ChannelSelect::Mix, &mut out);
        assert_eq!(out, vec![9.0, 0.0, 0.5]);
    }

    #[test]
    fn mono_mix_is_identity() {
        let mut out = Vec::new();
        downmix(&[0.1, 0.2, 0.3], 1, ChannelSelect::Mix, &mut out);
        assert_eq!(out, vec![0.1, 0.2, 0.3]);
    }

    #[test]
    fn channel_picks_one() {
        let mut out = Vec::new();
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        downmix(&x, 3, ChannelSelect::Channel(2), &mut out);
        assert_eq!(out, vec![3.0, 6.0]);
    }

    #[test]
    fn missing_channel_is_an_error() {
        assert!(ChannelSelect::Channel(1).check(2).is_ok());
        let err = ChannelSelect::Channel(2).check(2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "channel 2 requested but the file has 2 channel(s)"
        );
    }

    #[test]
    fn non_finite_found_with_position() {
        assert!(check_finite(&[0.0, 1.0], 2, 0).is_ok());
        let err = check_finite(&[0.0, 1.0, 0.5, f32::INFINITY], 2, 10).unwrap_err();
        match err {
            AudioErrorKind::NonFinite { frame, channel, .. } => {
                assert_eq!((frame, channel), (11, 1))
            }
            other => panic!("expected NonFinite, got {other:?}"),
        }
        assert!(check_finite(&[f32::NAN], 1, 0).is_err());
    }
}
