//! The learnable chain at classic init against the hand-crafted front end
//! (`speechfront::frontend::Frontend`) of the same preset: time-domain
//! filterbank -> mel matrix -> log/dB -> DCT, fed with the front end's own
//! pre-window frames, window, mel matrix, floor and DCT matrix, must give the
//! front end's features. Also the parametric mel bank against the front end's
//! triangles. Synthetic signal: runs without any data set.

use ndarray::{Array2, Axis};
use rand::RngExt;
use speechfront::frontend::framing::Framer;
use speechfront::frontend::learned::compress::LogCompress;
use speechfront::frontend::learned::dct::LearnedDct;
use speechfront::frontend::learned::dft::{SpectrumKind, TimeFilterbank};
use speechfront::frontend::learned::melbank::{MelMatrix, MelMatrixOptions};
use speechfront::frontend::learned::melbank_param::{ParametricMel, ParametricMelOptions};
use speechfront::frontend::learned::Init;
use speechfront::frontend::options::{Compression, WindowKind};
use speechfront::frontend::{Feature, Frontend, FrontendOptions, Preset};
use speechfront::nn::{rng_from_seed, Ctx, Layer};

/// One second of a rising chirp, a steady tone and a little noise, in [-1, 1).
fn signal(sample_rate: f32) -> Vec<f32> {
    let mut rng = rng_from_seed(3);
    (0..sample_rate as usize)
        .map(|i| {
            let t = i as f32 / sample_rate;
            let chirp = 0.3 * (std::f32::consts::TAU * (200.0 + 800.0 * t) * t).sin();
            let tone = 0.1 * (std::f32::consts::TAU * 1200.0 * t).sin();
            chirp + tone + 0.02 * rng.random_range(-1.0f32..1.0)
        })
        .collect()
}

fn options(preset: Preset, feature: Feature, sample_rate: f32) -> FrontendOptions {
    let mut o = FrontendOptions::preset(preset, feature, sample_rate);
    o.frame.dither = 0.0;
    // Not part of the layer chain: the pipeline applies them around it.
    o.energy.use_energy = false;
    o.compress.top_db = None;
    o
}

/// The front end's frames after scaling, DC removal and pre-emphasis but
/// before the window (which the time-domain filterbank holds): the same
/// framer with a rectangular window. `(frames, frame_length)`.
fn prewindow_frames(o: &FrontendOptions, x: &[f32]) -> Array2<f32> {
    let mut rect = o.clone();
    rect.window.kind = WindowKind::Rectangular;
    let framer = Framer::new(&rect);
    let (len, n) = (o.frame_length(), framer.num_frames(x.len()));
    let (mut out, mut stage) = (vec![0.0f32; o.fft_size()], vec![0.0f32; len]);
    let mut rng = rng_from_seed(0); // dither is 0: unused
    let mut frames = Array2::zeros((n, len));
    for (t, mut row) in frames.rows_mut().into_iter().enumerate() {
        framer.frame(x, t, &mut out, &mut stage, &mut rng);
        row.assign(&ndarray::ArrayView1::from(&out[..len]));
    }
    frames
}

/// The learnable stages at classic init, built from `fe`'s own values.
fn learned_chain(fe: &Frontend) -> Vec<Box<dyn Layer>> {
    let o = fe.options();
    let tfb = TimeFilterbank::new(
        fe.window(),
        o.fft_size(),
        SpectrumKind::Power,
        true,
        Init::Classic,
    );
    let mel = fe.mel_banks().expect("mel front end").dense();
    let mel_layer = MelMatrix::new(mel.view(), true, Init::Classic, MelMatrixOptions::default());
    let (floor, scale) = match o.compress.kind {
        Compression::Log => (o.compress.log_floor, 1.0),
        Compression::Db => (o.compress.db_amin, 10.0 / std::f32::consts::LN_10),
        Compression::Whisper => panic!("Whisper's (log10 + 4) / 4 has no LogCompress form"),
    };
    let log = LogCompress::new(mel.nrows(), false, floor, scale, true, Init::Classic);
    let mut layers: Vec<Box<dyn Layer>> = vec![
        Box::new(tfb.expect("valid window")),
        Box::new(mel_layer.expect("valid mel matrix")),
        Box::new(log.expect("valid floor")),
    ];
    if let Some(dct) = fe.dct() {
        let layer = LearnedDct::from_matrix(dct.matrix().view(), false, true, Init::Classic);
        layers.push(Box::new(layer.expect("valid DCT matrix")));
    }
    layers
}

#[test]
fn learnable_chain_at_classic_init_reproduces_the_presets() {
    for preset in [Preset::Kaldi, Preset::Librosa] {
        for feature in [Feature::Fbank, Feature::Mfcc] {
            for sample_rate in [8000.0f32, 16000.0] {
                let fe =
                    Frontend::new(&options(preset, feature, sample_rate)).expect("valid options");
                let x = signal(sample_rate);
                let mut rng = rng_from_seed(0);
                let reference = fe.compute(&x, &mut rng);
                let frames = prewindow_frames(fe.options(), &x);
                let mut h = frames.insert_axis(Axis(0)).into_dyn();
                for layer in &mut learned_chain(&fe) {
                    h = layer.forward(h.view(), &mut Ctx::eval(&mut rng));
                }
                let got = h.index_axis(Axis(0), 0).to_owned();
                assert_eq!(got.shape(), reference.shape());
                // The two paths differ only in f32 rounding (real FFT versus a
                // dense DFT product, sparse versus dense mel sums): ~1e-6
                // relative on the energies, more on the weakest edge bands.
                // Tolerance 1e-5 of the feature range plus 1e-4; observed
                // when written: <= 2.2e-4 on Kaldi MFCC (range 96), <= 7.1e-5
                // on log-mels.
                let range = reference.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                let tol = 1e-5 * range + 1e-4;
                let worst = got
                    .iter()
                    .zip(reference.iter())
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    worst <= tol,
                    "{preset:?} {feature:?} {sample_rate}: max diff {worst:e} > {tol:e}"
                );
            }
        }
    }
}

fn assert_banks_equal(ours: &Array2<f32>, theirs: &Array2<f32>, what: &str) {
    assert_eq!(ours.shape(), theirs.shape(), "{what}");
    let peak = theirs.iter().fold(0.0f32, |m, v| m.max(*v));
    for ((idx, a), b) in ours.indexed_iter().zip(theirs.iter()) {
        // Both evaluate the same triangles in f64 and round to f32; the
        // mel formulas may differ in the last f64 bits: 1e-6 of the peak.
        assert!((a - b).abs() <= 1e-6 * peak, "{what} {idx:?}: {a} vs {b}");
    }
}

#[test]
fn parametric_bank_at_classic_init_is_the_presets_mel_matrix() {
    type Bank = fn(usize, usize, f32) -> ParametricMelOptions;
    let presets: [(Preset, Bank); 2] = [
        (Preset::Kaldi, ParametricMelOptions::kaldi),
        (Preset::Librosa, ParametricMelOptions::librosa),
    ];
    for sample_rate in [8000.0f32, 16000.0] {
        for (preset, bank) in presets {
            let o = options(preset, Feature::Fbank, sample_rate);
            let fe = Frontend::new(&o).expect("valid options");
            let theirs = fe.mel_banks().expect("mel").dense();
            let opts = bank(theirs.nrows(), o.fft_size(), sample_rate);
            let ours = ParametricMel::new(opts, true, Init::Classic)
                .expect("valid")
                .filters();
            assert_banks_equal(&ours, &theirs, &format!("{preset:?} {sample_rate}"));
        }
    }
}
