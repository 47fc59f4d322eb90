//! One end-to-end training epoch of the learned path (learned mel matrix
//! and DCT, frozen log, FeatureNorm, stats pooling + MLP) over the FSDD
//! training takes (5-49), in utterances per second.
//!
//! `cached_prefix`: the power-spectrum prefix computed once (as
//! experiments do) and the epoch trains from it.
//! `recomputed_prefix`: the prefix recomputed from audio before the epoch,
//! as without the split at the first learned stage. The ratio of the two is
//! the prefix cache's speed-up.
//!
//! Measured 2026-11-27 on the shared 2-core machine (release, 2250
//! training utterances): cached 468 ms/epoch (4.8k utt/s), recomputed
//! 655 ms (3.4k utt/s): the cache saves 1.40x per epoch. The recompute
//! covers all 2500 files on rayon's 2 threads; the training itself is
//! single-threaded.
//!
//! Needs /work/shared/data/fsdd (skipped with a message when absent).
//! Run: `cargo bench --bench learned_epoch`

use std::path::Path;

use criterion::{Criterion, Throughput};
use speechfront::data::LabelSource;
use speechfront::experiment::learned::{corpus_prefix, train_learned};
use speechfront::experiment::{Corpus, ExperimentConfig};

const FSDD: &str = "/work/shared/data/fsdd";

fn config() -> ExperimentConfig {
    let text = "preset = \"kaldi\"\nfeature = \"mfcc\"\n[frontend.learn]\nmel = { learn = true }\ndct = { learn = true }\n\
                [input]\nmode = \"pool\"\n[classifier]\nhidden = [128]\nactivation = \"leaky_relu\"\n\
                [train]\nepochs = 1\nbatch_size = 32\nval_fraction = 0.0\npatience = 0\n";
    ExperimentConfig::from_toml_str(text, Path::new("benches/learned_epoch.toml"))
        .expect("valid config")
}

fn take(c: &Corpus, i: usize) -> usize {
    let stem = c.data.items[i]
        .rel_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    stem.rsplit('_')
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

fn bench(c: &mut Criterion) {
    if !Path::new(FSDD).is_dir() {
        println!("learned_epoch: {FSDD} not found, skipping");
        return;
    }
    let corpus = Corpus::load(Path::new(FSDD), &LabelSource::FileName, 8000).expect("FSDD corpus");
    let cfg = config();
    let train: Vec<usize> = (0..corpus.data.items.len())
        .filter(|&i| take(&corpus, i) >= 5)
        .collect();
    let prefix = corpus_prefix(&corpus, &cfg, None).expect("prefix");
    let mut group = c.benchmark_group("learned_epoch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(train.len() as u64));
    group.bench_function("cached_prefix", |b| {
        b.iter(|| train_learned(&corpus, &cfg, &prefix, &train, 1).expect("epoch"))
    });
    group.bench_function("recomputed_prefix", |b| {
        b.iter(|| {
            let p = corpus_prefix(&corpus, &cfg, None).expect("prefix");
            train_learned(&corpus, &cfg, &p, &train, 1).expect("epoch")
        })
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
