//! [`FrameStream`]: the features of a signal that arrives in blocks, with
//! the same numbers as [`Frontend::compute`] on the whole signal.
//!
//! Why: a decoder that hands over blocks lets the driver keep only a window
//! of samples (about one block plus one frame) instead of the whole decoded
//! signal. On a 10-minute 16 kHz file that is 38 MB less memory touched:
//! the kernel's first-touch page faults on that buffer cost about as much
//! as decoding it, and the window stays in the L2 cache between decode and
//! framing.
//!
//! How: the caller announces the signal length up front (a WAV header
//! gives it), appends samples to [`FrameStream::buffer`] and calls
//! [`FrameStream::process`], which computes every frame whose samples have
//! all arrived, in time order (dither draws follow the frame order, so any
//! block sizes give the same numbers), then drops the samples no later
//! frame reads. Frames at the edges (Kaldi's mirrored first and last
//! frames, librosa's reflect padding) read samples away from their own
//! span; [`super::framing::Framer::source_range`] says exactly which, and the samples the
//! last frames read are kept from the start of the stream's tail.

use ndarray::Array2;

use super::framing::Signal;
use super::pipeline::{Scratch, Sink};
use super::{Frontend, FrontendError};
use crate::nn::Rng;

/// The state of one utterance arriving in blocks (see the module docs).
pub struct FrameStream<'a> {
    fe: &'a Frontend,
    /// Samples announced.
    n_samples: usize,
    /// Samples `base..base + buf.len()` of the signal.
    buf: Vec<f32>,
    base: usize,
    /// Next frame to compute.
    next: usize,
    n_frames: usize,
    /// First frame that reads no edge rule at the start; frames before it
    /// may read any sample from 0 on, so nothing is dropped until it.
    first_interior: usize,
    /// First of the frames at the end that read through the edge rule
    /// (`n_frames` if none).
    tail_start: usize,
    /// Lowest sample those end frames read.
    tail_lo: usize,
    sink: Sink,
    scratch: Scratch,
}

impl Frontend {
    /// A stream for a signal of `n_samples` samples (mono, in [-1, 1), at
    /// `options().sample_rate_hz`, as for [`Frontend::compute`]).
    pub fn stream(&self, n_samples: usize) -> FrameStream<'_> {
        let framer = self.framer();
        let n_frames = self.num_frames(n_samples);
        let first_interior = (0..n_frames)
            .find(|&t| framer.is_interior(t, n_samples))
            .unwrap_or(n_frames);
        let tail_start = (first_interior..n_frames)
            .rev()
            .find(|&t| framer.is_interior(t, n_samples))
            .map_or(n_frames, |t| t + 1);
        let tail_lo = (tail_start..n_frames)
            .map(|t| framer.source_range(t, n_samples).0)
            .min()
            .unwrap_or(usize::MAX);
        FrameStream {
            fe: self,
            n_samples,
            buf: Vec::new(),
            base: 0,
            next: 0,
            n_frames,
            first_interior,
            tail_start,
            tail_lo,
            sink: self.sink(n_frames),
            scratch: self.scratch(),
        }
    }
}

impl FrameStream<'_> {
    /// Where the next samples go: append (only) to it, then call
    /// [`FrameStream::process`].
    pub fn buffer(&mut self) -> &mut Vec<f32> {
        &mut self.buf
    }

    /// True until all announced samples have been appended.
    pub fn wants_samples(&self) -> bool {
        self.base + self.buf.len() < self.n_samples
    }

    /// Compute every frame whose samples have all arrived, then drop the
    /// samples no later frame reads.
    pub fn process(&mut self, rng: &mut Rng) {
        let framer = self.fe.framer();
        let arrived = (self.base + self.buf.len()).min(self.n_samples);
        let first = self.next;
        while self.next < self.n_frames
            && framer.source_range(self.next, self.n_samples).1 <= arrived
        {
            self.next += 1;
        }
        if self.next > first {
            let x = Signal::window(&self.buf[..arrived - self.base], self.base, self.n_samples);
            self.fe
                .run_frames(x, first..self.next, rng, &mut self.scratch, &mut self.sink);
        }
        let keep_from = if self.next < self.first_interior {
            0
        } else if self.next < self.tail_start {
            framer
                .source_range(self.next, self.n_samples)
                .0
                .min(self.tail_lo)
        } else {
            self.tail_lo
        };
        // Drop only when at least half the buffer goes, so the samples
        // moved down stay few next to those computed.
        let drop = keep_from.saturating_sub(self.base).min(self.buf.len());
        if drop > 0 && 2 * drop >= self.buf.len() {
            self.buf.drain(..drop);
            self.base += drop;
        }
    }

    /// The features `(frames, dims)`, the same as [`Frontend::compute`]
    /// on the whole signal.
    ///
    /// # Errors
    /// [`FrontendError::Invalid`] (`stream.samples`) when the samples
    /// appended are not exactly the number announced.
    pub fn finish(mut self, rng: &mut Rng) -> Result<Array2<f32>, FrontendError> {
        self.process(rng);
        let received = self.base + self.buf.len();
        if received != self.n_samples || self.next != self.n_frames {
            return Err(FrontendError::invalid(
                "stream.samples",
                received,
                format!("appended, {} announced", self.n_samples),
            ));
        }
        Ok(self.fe.finish(self.sink))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::options::{Edges, Padding};
    use crate::frontend::{Feature, FrontendOptions, Preset};
    use crate::nn::rng_from_seed;
    use rand::RngExt;

    fn signal(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = rng_from_seed(seed);
        (0..n).map(|_| rng.random_range(-0.5f32..0.5)).collect()
    }

    /// Stream `x` in blocks of `block` samples.
    fn streamed(fe: &Frontend, x: &[f32], block: usize, seed: u64) -> Array2<f32> {
        let mut rng = rng_from_seed(seed);
        let mut st = fe.stream(x.len());
        for chunk in x.chunks(block) {
            st.buffer().extend_from_slice(chunk);
            st.process(&mut rng);
        }
        st.finish(&mut rng).unwrap()
    }

    fn option_sets() -> Vec<(&'static str, FrontendOptions)> {
        let kaldi = FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc, 16000.0);
        let mut kaldi_edges = kaldi.clone();
        kaldi_edges.frame.edges = Edges::Kaldi;
        let mut kaldi_fbank = FrontendOptions::preset(Preset::Kaldi, Feature::Fbank, 8000.0);
        kaldi_fbank.post.deltas = true;
        let librosa = FrontendOptions::preset(Preset::Librosa, Feature::Mfcc, 16000.0);
        let mut reflect = librosa.clone();
        reflect.frame.padding = Padding::Reflect;
        vec![
            ("kaldi dithered", kaldi),
            ("kaldi snip_edges=false", kaldi_edges),
            ("kaldi fbank + deltas", kaldi_fbank),
            ("librosa (top_db)", librosa),
            ("librosa reflect", reflect),
        ]
    }

    #[test]
    fn any_block_sizes_give_the_numbers_of_one_call() {
        for (name, opts) in option_sets() {
            let fe = Frontend::new(&opts).unwrap();
            for n in [0usize, 1, 150, 399, 400, 401, 2047, 5000, 16_000] {
                let x = signal(n, n as u64);
                let whole = fe.compute(&x, &mut rng_from_seed(7));
                for block in [1usize, 7, 160, 1000, 4096, 100_000] {
                    if block == 1 && n > 5000 {
                        continue; // slow and adds nothing over n = 5000
                    }
                    let got = streamed(&fe, &x, block, 7);
                    // Bit-identical: same frames, same order of dither draws.
                    assert_eq!(got, whole, "{name}: n={n} block={block}");
                }
            }
        }
    }

    #[test]
    fn window_stays_near_one_block() {
        let opts = FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc, 16000.0);
        let fe = Frontend::new(&opts).unwrap();
        let x = signal(100_000, 3);
        let mut rng = rng_from_seed(1);
        let mut st = fe.stream(x.len());
        let mut longest = 0;
        for chunk in x.chunks(4096) {
            st.buffer().extend_from_slice(chunk);
            longest = longest.max(st.buffer().len());
            st.process(&mut rng);
        }
        // At most one block plus what one frame still needs, doubled by
        // the drop-at-half rule.
        assert!(longest <= 2 * (4096 + 400), "window grew to {longest}");
        assert!(!st.wants_samples());
        assert_eq!(st.finish(&mut rng).unwrap().nrows(), fe.num_frames(100_000));
    }

    #[test]
    fn wrong_sample_count_is_an_error() {
        let opts = FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc, 16000.0);
        let fe = Frontend::new(&opts).unwrap();
        let mut rng = rng_from_seed(1);
        let mut st = fe.stream(1000);
        st.buffer().extend_from_slice(&signal(999, 1));
        assert!(st.wants_samples());
        let e = st.finish(&mut rng).unwrap_err();
        assert_eq!(
            e.to_string(),
            "stream.samples (999) appended, 1000 announced"
        );
        let mut st = fe.stream(10);
        st.buffer().extend_from_slice(&signal(11, 1));
        assert!(st.finish(&mut rng).is_err());
    }
}
