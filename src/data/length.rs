//! Bringing utterances to a common length.
//!
//! A classifier that flattens its input needs every utterance to have the
//! same number of frames; [`LengthPolicy::Fixed`] pads (with zeros or by
//! repeating the edge frame) or crops, keeping the start, the centre or the
//! end. [`LengthPolicy::Variable`] keeps each utterance's own length for
//! models that pool over time or classify frame by frame. Dropping silence
//! first (see [`super::speech`]) makes the kept window hold the word.

use ndarray::{s, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::DataError;

/// Which part of the utterance to keep when cropping, and where to put it when
/// padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    /// Keep the beginning; pad at the end. Default: words start near the
    /// beginning of trimmed clips, and it matches the usual "pad to 1 s".
    #[default]
    Start,
    /// Keep the middle; pad equally on both sides (the odd frame at the end).
    #[serde(alias = "center")]
    Centre,
    /// Keep the end; pad at the start.
    End,
}

/// What to pad with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pad {
    /// Zeros. Default: for log features this is not silence, but it is the
    /// common convention and easy for a network to recognise as padding.
    #[default]
    Zeros,
    /// Repeat the first/last frame (zeros when the input is empty).
    Edge,
}

/// How utterance lengths are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum LengthPolicy {
    /// Each utterance keeps its own length. Default: pooling and frame
    /// classification need no padding, and nothing is cut.
    #[default]
    Variable,
    /// Pad or crop to exactly `frames` frames.
    Fixed {
        /// The length every utterance gets.
        frames: usize,
        /// How short utterances are filled.
        #[serde(default)]
        pad: Pad,
        /// Where a short utterance sits, or a long one is cut.
        #[serde(default)]
        align: Align,
    },
}

impl LengthPolicy {
    /// Applies the policy to a (frames, dims) feature matrix.
    ///
    /// # Shapes
    /// `(t, d) -> (frames, d)` when fixed, `(t, d) -> (t, d)` when variable.
    ///
    /// # Errors
    /// A fixed length of zero frames.
    pub fn apply(&self, x: ArrayView2<f32>) -> Result<Array2<f32>, DataError> {
        match *self {
            LengthPolicy::Variable => Ok(x.to_owned()),
            LengthPolicy::Fixed { frames, pad, align } => fit_frames(x, frames, pad, align),
        }
    }
}

/// Where the kept part goes: `count` items from `src_start` in the input to
/// `dst_start` in the output.
struct Placement {
    src_start: usize,
    dst_start: usize,
    count: usize,
}

fn place(len: usize, target: usize, align: Align) -> Placement {
    let count = len.min(target);
    let slack = len.max(target) - count;
    let offset = match align {
        Align::Start => 0,
        Align::Centre => slack / 2,
        Align::End => slack,
    };
    if len >= target {
        Placement {
            src_start: offset,
            dst_start: 0,
            count,
        }
    } else {
        Placement {
            src_start: 0,
            dst_start: offset,
            count,
        }
    }
}

fn check_target(target: usize, field: &'static str) -> Result<(), DataError> {
    if target == 0 {
        return Err(DataError::BadOption {
            field,
            value: "0".into(),
            reason: "the common length must be at least 1",
        });
    }
    Ok(())
}

/// Pads or crops a (frames, dims) matrix to `frames` rows.
///
/// # Shapes
/// `(t, d) -> (frames, d)`
///
/// # Errors
/// `frames == 0`.
pub fn fit_frames(
    x: ArrayView2<f32>,
    frames: usize,
    pad: Pad,
    align: Align,
) -> Result<Array2<f32>, DataError> {
    check_target(frames, "frames")?;
    let (t, d) = x.dim();
    let p = place(t, frames, align);
    let mut out = Array2::<f32>::zeros((frames, d));
    out.slice_mut(s![p.dst_start..p.dst_start + p.count, ..])
        .assign(&x.slice(s![p.src_start..p.src_start + p.count, ..]));
    if pad == Pad::Edge && t > 0 {
        let first = x.row(0);
        let last = x.row(t - 1);
        for r in 0..p.dst_start {
            out.row_mut(r).assign(&first);
        }
        for r in p.dst_start + p.count..frames {
            out.row_mut(r).assign(&last);
        }
    }
    Ok(out)
}

/// Pads or crops a waveform to `n` samples (e.g. "1 s pad/crop").
///
/// # Errors
/// `n == 0`.
pub fn fit_samples(x: &[f32], n: usize, pad: Pad, align: Align) -> Result<Vec<f32>, DataError> {
    check_target(n, "samples")?;
    let p = place(x.len(), n, align);
    let mut out = vec![0.0; n];
    out[p.dst_start..p.dst_start + p.count].copy_from_slice(&x[p.src_start..p.src_start + p.count]);
    if pad == Pad::Edge && !x.is_empty() {
        out[..p.dst_start].fill(x[0]);
        out[p.dst_start + p.count..].fill(x[x.len() - 1]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array;

    fn ramp(t: usize, d: usize) -> Array2<f32> {
        Array::from_shape_fn((t, d), |(i, j)| (i * 10 + j + 1) as f32)
    }

    #[test]
    fn crop_keeps_start_centre_or_end() {
        let x = ramp(7, 2);
        let start = fit_frames(x.view(), 3, Pad::Zeros, Align::Start).unwrap();
        assert_eq!(start, x.slice(s![0..3, ..]));
        let centre = fit_frames(x.view(), 3, Pad::Zeros, Align::Centre).unwrap();
        assert_eq!(centre, x.slice(s![2..5, ..]));
        let end = fit_frames(x.view(), 3, Pad::Zeros, Align::End).unwrap();
        assert_eq!(end, x.slice(s![4..7, ..]));
    }

    #[test]
    fn pad_places_the_input_and_fills_with_zeros_or_edges() {
        let x = ramp(2, 3);
        let centre = fit_frames(x.view(), 5, Pad::Zeros, Align::Centre).unwrap();
        assert_eq!(centre.dim(), (5, 3));
        assert_eq!(centre.slice(s![1..3, ..]), x);
        assert!(centre
            .row(0)
            .iter()
            .chain(centre.slice(s![3.., ..]).iter())
            .all(|&v| v == 0.0));
        let edge = fit_frames(x.view(), 5, Pad::Edge, Align::End).unwrap();
        for r in 0..3 {
            assert_eq!(edge.row(r), x.row(0));
        }
        assert_eq!(edge.slice(s![3.., ..]), x);
        let empty = Array2::<f32>::zeros((0, 3));
        let from_empty = fit_frames(empty.view(), 4, Pad::Edge, Align::Start).unwrap();
        assert_eq!(from_empty, Array2::<f32>::zeros((4, 3)));
    }

    #[test]
    fn equal_length_is_unchanged_and_zero_length_is_an_error() {
        let x = ramp(4, 2);
        for align in [Align::Start, Align::Centre, Align::End] {
            assert_eq!(fit_frames(x.view(), 4, Pad::Edge, align).unwrap(), x);
        }
        assert!(fit_frames(x.view(), 0, Pad::Zeros, Align::Start).is_err());
        let policy = LengthPolicy::Variable;
        assert_eq!(policy.apply(x.view()).unwrap(), x);
    }

    #[test]
    fn samples_follow_the_same_rules() {
        let x = [1.0, 2.0, 3.0];
        assert_eq!(
            fit_samples(&x, 5, Pad::Edge, Align::Centre).unwrap(),
            [1.0, 1.0, 2.0, 3.0, 3.0]
        );
        assert_eq!(
            fit_samples(&x, 2, Pad::Zeros, Align::End).unwrap(),
            [2.0, 3.0]
        );
        assert_eq!(
            fit_samples(&x, 4, Pad::Zeros, Align::Start).unwrap(),
            [1.0, 2.0, 3.0, 0.0]
        );
    }

    #[test]
    fn policy_round_trips_through_toml() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Wrap {
            length: LengthPolicy,
        }
        let text = "[length]\nmode = \"fixed\"\nframes = 100\nalign = \"center\"\n";
        let w: Wrap = toml::from_str(text).unwrap();
        assert_eq!(
            w.length,
            LengthPolicy::Fixed {
                frames: 100,
                pad: Pad::Zeros,
                align: Align::Centre
            }
        );
    }
}
