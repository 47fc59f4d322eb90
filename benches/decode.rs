//! WAV decoding throughput: `speechfront::audio::load` on a 600 s 16 kHz
//! 16-bit file, next to two references measured in the same run: reading
//! the file's bytes (`std::fs::read`, the floor) and hound's own sample
//! iterator converting to f32 (what the block converter replaces).
//!
//! Run: `cargo bench --bench decode`
//! Real-time factor = throughput (elements/s) / 16000.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use speechfront::audio::{load, DecodeOptions};

const RATE: u32 = 16_000;
const SECONDS: usize = 600;

fn decode(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let n = RATE as usize * SECONDS;
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for i in 0..n {
        // A deterministic full-range pattern (the values do not matter).
        w.write_sample(((i * 7919) % 65_536) as i32 as i16).unwrap();
    }
    w.finalize().unwrap();

    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(20);
    g.bench_function("wav_16k_600s", |b| {
        b.iter(|| black_box(load(&path, &DecodeOptions::default()).unwrap()))
    });
    g.bench_function("ref_fs_read_600s", |b| {
        b.iter(|| black_box(std::fs::read(&path).unwrap()))
    });
    g.bench_function("ref_hound_iter_600s", |b| {
        b.iter(|| {
            let mut r = hound::WavReader::open(&path).unwrap();
            let x: Vec<f32> = r
                .samples::<i16>()
                .map(|s| f32::from(s.unwrap()) / 32_768.0)
                .collect();
            black_box(x)
        })
    });
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
