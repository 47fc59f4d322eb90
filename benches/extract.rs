//! Front-end throughput: Kaldi-exact MFCC over 600 s of 16 kHz audio, next
//! to the bare 512-point real FFT over the same number of frames (the
//! reference the README's ratio is taken against, measured in the same run).
//!
//! Run: `cargo bench --bench extract -- frontend`
//! Real-time factor = throughput (elements/s) / 16000.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::RngExt;
use realfft::RealFftPlanner;
use speechfront::frontend::{Feature, Frontend, FrontendOptions, Preset};
use speechfront::nn::{rng_from_seed, Rng};

const RATE: usize = 16000;
const SECONDS: usize = 600;

/// Speech-like test signal: a gliding harmonic source (f0 90-250 Hz, 1/k
/// harmonic amplitudes), syllable-rate amplitude modulation and noise.
fn speech_like(n: usize, rng: &mut Rng) -> Vec<f32> {
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE as f64;
            let f0 = 170.0 + 80.0 * (2.0 * std::f64::consts::PI * 0.3 * t).sin();
            phase += 2.0 * std::f64::consts::PI * f0 / RATE as f64;
            let voiced: f64 = (1..=12).map(|k| (k as f64 * phase).sin() / k as f64).sum();
            let env = 0.5 + 0.5 * (2.0 * std::f64::consts::PI * 4.0 * t).sin();
            let noise = rng.random_range(-1.0f64..1.0);
            (0.2 * env * voiced + 0.02 * noise) as f32
        })
        .collect()
}

fn frontend(c: &mut Criterion) {
    let x = speech_like(RATE * SECONDS, &mut rng_from_seed(1));
    let mut opts = FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc, RATE as f32);
    opts.frame.dither = 0.0;
    let fe = Frontend::new(&opts).unwrap();
    let n_frames = fe.num_frames(x.len());
    let shift = opts.frame_shift();

    let mut g = c.benchmark_group("frontend");
    g.sample_size(10);
    g.throughput(Throughput::Elements(x.len() as u64));

    g.bench_function("kaldi_mfcc_16k", |b| {
        let mut rng = rng_from_seed(2);
        b.iter(|| black_box(fe.compute(black_box(&x), &mut rng)))
    });

    opts.frame.dither = 1.0;
    let dithered = Frontend::new(&opts).unwrap();
    g.bench_function("kaldi_mfcc_16k_dither1", |b| {
        let mut rng = rng_from_seed(2);
        b.iter(|| black_box(dithered.compute(black_box(&x), &mut rng)))
    });

    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(512);
    g.bench_function("realfft_512_per_frame", |b| {
        let mut input = fft.make_input_vec();
        let mut spec = fft.make_output_vec();
        let mut scratch = fft.make_scratch_vec();
        b.iter(|| {
            for t in 0..n_frames {
                input[..400].copy_from_slice(&x[t * shift..t * shift + 400]);
                input[400..].fill(0.0);
                fft.process_with_scratch(&mut input, &mut spec, &mut scratch)
                    .unwrap();
                black_box(&spec);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, frontend);
criterion_main!(benches);
