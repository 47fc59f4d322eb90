//! [`OnlineStream`]: features of a signal whose length is not known in
//! advance (a microphone, a network stream), frame by frame as samples
//! arrive, with the same numbers as [`Frontend::compute`] on the whole
//! signal once the input is finished. This is the shape of
//! kaldi-native-fbank's online API (`accept_waveform`, `input_finished`,
//! `num_frames_ready`, `get_frame`).
//!
//! How it relates to [`super::FrameStream`]: that stream is told the length
//! up front (a WAV header gives it) and so can compute the end frames
//! early and drop samples; here the length is unknown, so:
//! - a frame is *ready* when it reads no end-of-signal edge rule for the
//!   samples received so far: interior frames, and the start-edge frames
//!   before them (Kaldi's mirrored first frames, librosa's padded ones,
//!   which read only the first `frame_length` samples whatever follows);
//!   with `snip_edges` (Kaldi's default) that is every frame whose last
//!   sample has arrived;
//! - the frames that read past the end (Kaldi `snip_edges = false`,
//!   librosa's centring) are computed by [`OnlineStream::input_finished`];
//! - options that need the whole utterance (dB with `top_db`, CMVN,
//!   deltas) make no frame ready before the input is finished; then the
//!   whole signal goes through [`Frontend::compute`].
//!
//! Frames are computed in time order through the same per-frame driver
//! as `compute`, and dither draws follow the frame order, so any chunking
//! gives bit-identical numbers. Received samples are kept (the end frames
//! may reflect back into them), a cost of 4 bytes per sample.

use ndarray::{s, Array2};

use super::framing::Signal;
use super::pipeline::{Scratch, Sink};
use super::{Frontend, FrontendError};
use crate::nn::Rng;

/// A length no real signal reaches: a frame that is not interior for it
/// starts before sample 0 (a start-edge frame).
const UNBOUNDED: usize = usize::MAX / 4;

/// The state of one utterance of unknown length (see the module docs).
pub struct OnlineStream {
    fe: Frontend,
    rng: Rng,
    samples: Vec<f32>,
    /// Rows `0..ready` are final; the array may hold spare rows beyond.
    rows: Array2<f32>,
    ready: usize,
    /// True when frames can only be computed once the input is finished.
    whole: bool,
    finished: bool,
    scratch: Scratch,
}

impl OnlineStream {
    /// A stream over `fe` (cloned; cheap next to a signal) whose dither
    /// draws come from `rng`.
    pub fn new(fe: &Frontend, rng: Rng) -> OnlineStream {
        let o = fe.options();
        let whole = matches!(fe.sink(0), Sink::Utterance { .. })
            || o.post.deltas
            || o.post.cmvn != super::Cmvn::None;
        OnlineStream {
            fe: fe.clone(),
            rng,
            samples: Vec::new(),
            rows: Array2::zeros((0, o.static_dims())),
            ready: 0,
            whole,
            finished: false,
            scratch: fe.scratch(),
        }
    }

    /// Appends samples (mono, in [-1, 1), at the front end's rate) and
    /// computes every frame that became ready.
    ///
    /// # Errors
    /// [`FrontendError::Invalid`] (`stream.finished`) after
    /// [`OnlineStream::input_finished`].
    pub fn accept_waveform(&mut self, chunk: &[f32]) -> Result<(), FrontendError> {
        if self.finished {
            return Err(FrontendError::invalid(
                "stream.finished",
                true,
                "accept_waveform after input_finished",
            ));
        }
        self.samples.extend_from_slice(chunk);
        if !self.whole {
            let n = self.samples.len();
            let framer = self.fe.framer();
            let total = self.fe.num_frames(n);
            let (mut t, mut end) = (self.ready, self.ready);
            while t < total {
                if framer.is_interior(t, n) {
                    end = t + 1;
                } else if framer.is_interior(t, UNBOUNDED) {
                    break; // reads past the current end
                }
                t += 1;
            }
            self.compute_upto(end, n);
        }
        Ok(())
    }

    /// No more samples: computes the remaining frames (the end frames, or
    /// all of them when the options need the whole utterance). Calling it
    /// twice is harmless.
    pub fn input_finished(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.whole {
            self.rows = self.fe.compute(&self.samples, &mut self.rng);
            self.ready = self.rows.nrows();
        } else {
            let n = self.samples.len();
            self.compute_upto(self.fe.num_frames(n), n);
            self.rows = self.rows.slice(s![..self.ready, ..]).to_owned();
        }
    }

    /// True once [`OnlineStream::input_finished`] was called.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Frames that will not change any more.
    pub fn num_frames_ready(&self) -> usize {
        self.ready
    }

    /// Feature width of each row.
    pub fn dims(&self) -> usize {
        self.fe.dims()
    }

    /// Rows `start..start + n` of the ready frames, `(n, dims)`.
    ///
    /// # Errors
    /// [`FrontendError::Invalid`] (`stream.frames`) when the range goes
    /// past [`OnlineStream::num_frames_ready`].
    pub fn frames(&self, start: usize, n: usize) -> Result<Array2<f32>, FrontendError> {
        match start.checked_add(n) {
            Some(end) if end <= self.ready => Ok(self.rows.slice(s![start..end, ..]).to_owned()),
            _ => Err(FrontendError::invalid(
                "stream.frames",
                format!("{start}..{}", start.saturating_add(n)),
                format!("past the {} frames ready", self.ready),
            )),
        }
    }

    /// Computes frames `ready..end` from the `n` samples received (every
    /// one of them reads only samples below `n` under the rule for `n`).
    fn compute_upto(&mut self, end: usize, n: usize) {
        if end <= self.ready {
            return;
        }
        if end > self.rows.nrows() {
            let cap = end.max(2 * self.rows.nrows());
            let mut grown = Array2::zeros((cap, self.rows.ncols()));
            grown
                .slice_mut(s![..self.ready, ..])
                .assign(&self.rows.slice(s![..self.ready, ..]));
            self.rows = grown;
        }
        let mut sink = Sink::Rows(std::mem::take(&mut self.rows));
        self.fe.run_frames(
            Signal::whole(&self.samples[..n]),
            self.ready..end,
            &mut self.rng,
            &mut self.scratch,
            &mut sink,
        );
        let Sink::Rows(rows) = sink else {
            unreachable!("built as rows above")
        };
        self.rows = rows;
        self.ready = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::options::{Cmvn, Edges, Padding};
    use crate::frontend::{Feature, FrontendOptions, Preset};
    use crate::nn::rng_from_seed;
    use rand::RngExt;

    fn signal(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = rng_from_seed(seed);
        (0..n).map(|_| rng.random_range(-0.5f32..0.5)).collect()
    }

    fn option_sets() -> Vec<(&'static str, FrontendOptions)> {
        let kaldi = FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc, 16000.0);
        let mut kaldi_edges = kaldi.clone();
        kaldi_edges.frame.edges = Edges::Kaldi;
        let mut kaldi_cmvn = FrontendOptions::preset(Preset::Kaldi, Feature::Fbank, 8000.0);
        kaldi_cmvn.post.cmvn = Cmvn::Mean;
        let librosa = FrontendOptions::preset(Preset::Librosa, Feature::Mfcc, 16000.0);
        let mut reflect = FrontendOptions::preset(Preset::Librosa, Feature::Fbank, 16000.0);
        reflect.frame.padding = Padding::Reflect;
        reflect.compress.top_db = None;
        vec![
            ("kaldi dithered", kaldi),
            ("kaldi snip_edges=false", kaldi_edges),
            ("kaldi fbank + cmvn", kaldi_cmvn),
            ("librosa (top_db)", librosa),
            ("librosa reflect, no top_db", reflect),
        ]
    }

    #[test]
    fn any_chunking_gives_the_numbers_of_one_call() {
        for (name, opts) in option_sets() {
            let fe = Frontend::new(&opts).unwrap();
            for n in [0usize, 1, 399, 400, 401, 2049, 5000, 16_000] {
                let x = signal(n, n as u64);
                let whole = fe.compute(&x, &mut rng_from_seed(7));
                for chunk in [1usize, 160, 1000, 100_000] {
                    if chunk == 1 && n > 2049 {
                        continue;
                    }
                    let mut st = OnlineStream::new(&fe, rng_from_seed(7));
                    let mut seen = 0;
                    for c in x.chunks(chunk) {
                        st.accept_waveform(c).unwrap();
                        let r = st.num_frames_ready();
                        assert!(r >= seen, "{name}: ready went down");
                        // Ready rows are final: equal to the whole signal's.
                        if r > seen {
                            let got = st.frames(seen, r - seen).unwrap();
                            assert_eq!(got, whole.slice(s![seen..r, ..]), "{name} n={n}");
                        }
                        seen = r;
                    }
                    st.input_finished();
                    let got = st.frames(0, st.num_frames_ready()).unwrap();
                    assert_eq!(got, whole, "{name}: n={n} chunk={chunk}");
                }
            }
        }
    }

    #[test]
    fn snip_edges_frames_are_ready_as_soon_as_their_samples_arrive() {
        let mut opts = FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc, 16000.0);
        opts.frame.dither = 0.0;
        let fe = Frontend::new(&opts).unwrap();
        let mut st = OnlineStream::new(&fe, rng_from_seed(0));
        st.accept_waveform(&signal(399, 1)).unwrap();
        assert_eq!(st.num_frames_ready(), 0);
        st.accept_waveform(&signal(1, 2)).unwrap();
        assert_eq!(st.num_frames_ready(), 1);
        st.accept_waveform(&signal(160, 3)).unwrap();
        assert_eq!(st.num_frames_ready(), 2);
    }

    #[test]
    fn misuse_is_an_error_not_a_panic() {
        let opts = FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc, 16000.0);
        let fe = Frontend::new(&opts).unwrap();
        let mut st = OnlineStream::new(&fe, rng_from_seed(0));
        st.accept_waveform(&signal(1000, 1)).unwrap();
        let e = st.frames(0, 10).unwrap_err();
        assert_eq!(
            e.to_string(),
            "stream.frames (0..10) past the 4 frames ready"
        );
        assert!(st.frames(usize::MAX, 2).is_err());
        st.input_finished();
        st.input_finished();
        assert!(st.accept_waveform(&[0.0]).is_err());
    }
}
