//! Front-end throughput: Kaldi-exact MFCC over 600 s of 16 kHz audio, next
//! to the bare 512-point real FFT over the same number of frames (the
//! reference the README's ratio is taken against, measured in the same run).
//!
//! Benchmarks (group `frontend`, `Throughput::Elements(samples)`):
//! - `kaldi_mfcc_16k`: the Kaldi preset with dither 0 (the deterministic
//!   setting the parity tests use);
//! - `kaldi_mfcc_16k_dither1`: the same with Kaldi's default dither 1.0
//!   (one Gaussian draw per frame sample, ~2.5 per input sample, from
//!   `frontend::gauss`);
//! - `dither_normals_per_frame`: the dither alone, 400 Gaussian draws
//!   added to a frame buffer per frame (`frontend::gauss::add_normals`),
//!   as many frames as the MFCC runs;
//! - `realfft_512_per_frame`: copy each 400-sample frame into a zero-padded
//!   512-point buffer and transform it, nothing else.
//!
//! Run: `cargo bench --bench extract -- frontend`
//! Real-time factor = throughput (elements/s) / 16000.
//!
//! On a shared, loaded machine wall time overstates the cost; with
//! `SPEECHFRONT_CPUTIME=1 cargo bench --bench extract` the same workloads
//! are instead timed by the thread's own CPU time (Linux
//! `/proc/thread-self/schedstat`, nanoseconds), best of 15 runs, and printed.

use std::hint::black_box;

use criterion::{criterion_group, Criterion, Throughput};
use rand::RngExt;
use realfft::RealFftPlanner;
use speechfront::frontend::gauss::add_normals;
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

/// The bare FFT reference: copy each 400-sample frame into a zero-padded
/// 512-point buffer and transform it; nothing else.
fn bare_fft(x: &[f32], n_frames: usize, shift: usize) -> impl FnMut() {
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(512);
    let mut input = fft.make_input_vec();
    let mut spec = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    let x = x.to_vec();
    move || {
        for t in 0..n_frames {
            input[..400].copy_from_slice(&x[t * shift..t * shift + 400]);
            input[400..].fill(0.0);
            fft.process_with_scratch(&mut input, &mut spec, &mut scratch)
                .unwrap();
            black_box(&spec);
        }
    }
}

/// The dither alone: `n_frames` frames of 400 draws into one buffer.
fn dither_only(n_frames: usize) -> impl FnMut() {
    let mut rng = rng_from_seed(3);
    let mut frame = vec![0.0f32; 400];
    move || {
        for _ in 0..n_frames {
            add_normals(&mut rng, 1.0, &mut frame);
            black_box(&frame);
        }
    }
}

fn kaldi_frontend(dither: f32) -> Frontend {
    let mut opts = FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc, RATE as f32);
    opts.frame.dither = dither;
    Frontend::new(&opts).unwrap()
}

/// CPU time of this thread in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").expect("Linux schedstat");
    s.split_whitespace().next().unwrap().parse().unwrap()
}

fn best_cpu_seconds(mut f: impl FnMut()) -> f64 {
    (0..15)
        .map(|_| {
            let t0 = thread_cpu_ns();
            f();
            (thread_cpu_ns() - t0) as f64 * 1e-9
        })
        .fold(f64::INFINITY, f64::min)
}

fn cputime_report() {
    let x = speech_like(RATE * SECONDS, &mut rng_from_seed(1));
    let fe = kaldi_frontend(0.0);
    let n_frames = fe.num_frames(x.len());
    let mut rng = rng_from_seed(2);
    let mfcc = best_cpu_seconds(|| {
        black_box(fe.compute(black_box(&x), &mut rng));
    });
    let dithered = kaldi_frontend(1.0);
    let mfcc_dither = best_cpu_seconds(|| {
        black_box(dithered.compute(black_box(&x), &mut rng));
    });
    let dither = best_cpu_seconds(dither_only(n_frames));
    let fft = best_cpu_seconds(bare_fft(&x, n_frames, fe.options().frame_shift()));
    let audio = SECONDS as f64;
    println!("thread CPU time, best of 15, {SECONDS} s at {RATE} Hz ({n_frames} frames):");
    for (name, t) in [
        ("kaldi_mfcc_16k", mfcc),
        ("kaldi_mfcc_16k_dither1", mfcc_dither),
        ("dither_normals_per_frame", dither),
    ] {
        println!(
            "  {name:<24} {:8.2} ms  {:8.0}x real time",
            t * 1e3,
            audio / t
        );
    }
    println!(
        "  realfft_512_per_frame    {:8.2} ms  {:8.0}x real time",
        fft * 1e3,
        audio / fft
    );
    println!("  ratio mfcc / fft         {:8.2}", mfcc / fft);
}

fn frontend(c: &mut Criterion) {
    let x = speech_like(RATE * SECONDS, &mut rng_from_seed(1));
    let fe = kaldi_frontend(0.0);
    let n_frames = fe.num_frames(x.len());
    let shift = fe.options().frame_shift();

    let mut g = c.benchmark_group("frontend");
    g.sample_size(10);
    g.throughput(Throughput::Elements(x.len() as u64));

    g.bench_function("kaldi_mfcc_16k", |b| {
        let mut rng = rng_from_seed(2);
        b.iter(|| black_box(fe.compute(black_box(&x), &mut rng)))
    });

    let dithered = kaldi_frontend(1.0);
    g.bench_function("kaldi_mfcc_16k_dither1", |b| {
        let mut rng = rng_from_seed(2);
        b.iter(|| black_box(dithered.compute(black_box(&x), &mut rng)))
    });

    g.bench_function("dither_normals_per_frame", |b| {
        let mut run = dither_only(n_frames);
        b.iter(&mut run)
    });

    g.bench_function("realfft_512_per_frame", |b| {
        let mut run = bare_fft(&x, n_frames, shift);
        b.iter(&mut run)
    });
    g.finish();
}

criterion_group!(benches, frontend);

fn main() {
    if std::env::var_os("SPEECHFRONT_CPUTIME").is_some() {
        cputime_report();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
