//! Data-module costs on the embedded corpus (750 files, 8 kHz), each next to
//! a reference measured in the same run:
//! - scanning and labelling the folder vs merely listing it (`read_dir`);
//! - a feature-cache hit (hash the file + read a (60, 39) npy) vs decoding
//!   the same WAV with hound, the floor of any cache miss;
//! - computing the cache key alone (BLAKE3 over the file).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use speechfront::data::{DataError, Dataset, FeatureCache, LabelSource};

fn corpus() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("audio/digits")
}

fn scan(c: &mut Criterion) {
    let root = corpus();
    let mut group = c.benchmark_group("scan_750_files");
    group.bench_function("read_dir_reference", |b| {
        b.iter(|| black_box(std::fs::read_dir(&root).unwrap().count()))
    });
    group.bench_function("dataset_scan", |b| {
        b.iter(|| black_box(Dataset::scan(&root, &LabelSource::Auto).unwrap()))
    });
    group.finish();
}

fn cache(c: &mut Criterion) {
    let file = corpus().join("7_usm3_1.wav");
    let dir = tempfile::tempdir().unwrap();
    let cache = FeatureCache::new(dir.path()).unwrap();
    let features = Array2::<f32>::from_elem((60, 39), 0.5);
    cache
        .get_or_compute::<DataError, _>(&file, "bench", || Ok(features.clone()))
        .unwrap();
    let mut group = c.benchmark_group("one_file");
    group.bench_function("hound_decode_reference", |b| {
        b.iter(|| {
            let mut reader = hound::WavReader::open(&file).unwrap();
            let samples: Vec<f32> = reader
                .samples::<i16>()
                .map(|s| f32::from(s.unwrap()) / 32768.0)
                .collect();
            black_box(samples)
        })
    });
    group.bench_function("cache_key", |b| {
        b.iter(|| black_box(cache.key(&file, "bench").unwrap()))
    });
    group.bench_function("cache_hit", |b| {
        b.iter(|| {
            black_box(
                cache
                    .get_or_compute::<DataError, _>(&file, "bench", || unreachable!())
                    .unwrap(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, scan, cache);
criterion_main!(benches);
