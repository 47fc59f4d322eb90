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
//! `epoch_after_setup`: the second epoch of a two-epoch run alone (model
//! building and padding the data set happen once per run), as the PyTorch
//! reference times its epochs.
//!
//! The recompute covers all 2500 files on rayon's threads; the training
//! itself is single-threaded. Figures and the PyTorch comparison are in
//! `docs/performance.md`.
//!
//! `LEARNED_STAGES=1 cargo bench --bench learned_epoch` instead times each
//! stage's forward and backward over a few epochs of the same loop (batch
//! copy from the cached prefix, mel, log, DCT, normalisation, MLP with its
//! pooling, loss, optimizer) and prints each one's share of the epoch.
//!
//! The PyTorch reference of the same model is
//! `benches/reference/torch_learned_epoch.py` (see its docs to run it).
//!
//! Needs /work/shared/data/fsdd (skipped with a message when absent).
//! Run: `cargo bench --bench learned_epoch`

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use ndarray::{s, Array2, Array3, Ix2};
use speechfront::data::LabelSource;
use speechfront::experiment::learned::{build_model, corpus_prefix, train_learned, Head};
use speechfront::experiment::{Corpus, ExperimentConfig};
use speechfront::nn::loss::softmax_cross_entropy;
use speechfront::nn::optim::{Optimizer, OptimizerSpec, Penalty};
use speechfront::nn::{rng_from_seed, Ctx, Layer};
use speechfront::train::split::shuffle;

const FSDD: &str = "/work/shared/data/fsdd";

fn config() -> ExperimentConfig {
    let text = "preset = \"kaldi\"\nfeature = \"mfcc\"\n[frontend.learn]\nmel = { learn = true }\ndct = { learn = true }\nnorm = { kind = \"frame\" }\n\
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
    // The epoch alone, as the PyTorch reference times it: the second epoch
    // of a two-epoch run (the first warms up; model building and padding
    // the data set happen once per run, not per epoch).
    let mut two = cfg.clone();
    two.train.epochs = 2;
    group.bench_function("epoch_after_setup", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let (_, h) = train_learned(&corpus, &two, &prefix, &train, 1).expect("epochs");
                    Duration::from_secs_f64(h.epochs[1].seconds)
                })
                .sum()
        })
    });
    group.bench_function("recomputed_prefix", |b| {
        b.iter(|| {
            let p = corpus_prefix(&corpus, &cfg, None).expect("prefix");
            train_learned(&corpus, &cfg, &p, &train, 1).expect("epoch")
        })
    });
    group.finish();
}

/// Accumulated time per named step, in first-seen order.
#[derive(Default)]
struct Timer(Vec<(String, Duration)>);

impl Timer {
    fn time<T>(&mut self, name: &str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        let d = start.elapsed();
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some((_, t)) => *t += d,
            None => self.0.push((name.to_string(), d)),
        }
        out
    }
}

/// The training loop of `fit` written out stage by stage (same batches,
/// each padded to its longest item; same Adam), timing every part.
fn stage_shares(corpus: &Corpus, cfg: &ExperimentConfig, prefix: &[Array2<f32>], train: &[usize]) {
    const EPOCHS: usize = 5;
    let targets = corpus.targets();
    let mut rng = rng_from_seed(1);
    let mut model = build_model(cfg, corpus.data.classes.len(), &mut rng).expect("model");
    let spec = OptimizerSpec::Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };
    let mut opt = Optimizer::new(spec, Penalty::default()).expect("Adam");
    let mut order = train.to_vec();
    let mut t = Timer::default();
    let start = Instant::now();
    for _ in 0..EPOCHS {
        shuffle(&mut order, &mut rng);
        for chunk in order.chunks(cfg.train.batch_size) {
            let (x, lengths) = t.time("batch copy from the cached prefix", || {
                let lengths: Vec<usize> = chunk.iter().map(|&i| prefix[i].nrows()).collect();
                let frames = lengths.iter().copied().max().unwrap_or(1);
                let mut x = Array3::<f32>::zeros((chunk.len(), frames, prefix[0].ncols()));
                for (k, &i) in chunk.iter().enumerate() {
                    x.slice_mut(s![k, ..lengths[k], ..]).assign(&prefix[i]);
                }
                (x.into_dyn(), lengths)
            });
            let labels: Vec<usize> = chunk.iter().map(|&i| targets[i]).collect();
            t.time("optimizer (zero grads)", || model.zero_grad());
            let mut ctx = Ctx {
                lengths: Some(lengths),
                ..Ctx::train(&mut rng)
            };
            let mut h = x;
            for st in &mut model.front {
                let l = st.layer();
                let name = format!("{} forward", l.name());
                h = t.time(&name, || l.forward(h.view(), &mut ctx));
            }
            let h = t.time("norm forward", || match &mut model.norm {
                Some(n) => n.forward(h.view(), &mut ctx),
                None => h,
            });
            let Head::Whole(net) = &mut model.head else {
                panic!("the bench config pools (mode = \"pool\")")
            };
            let logits = t.time("MLP (pooling + layers) forward", || {
                net.forward(h.view(), &mut ctx)
            });
            let (_, g) = t.time("loss", || {
                let z = logits.view().into_dimensionality::<Ix2>().expect("2-D");
                softmax_cross_entropy(z, &labels, None)
            });
            let g = t.time("MLP (pooling + layers) backward", || {
                net.backward(g.into_dyn().view())
            });
            let mut g = t.time("norm backward", || match &mut model.norm {
                Some(n) => n.backward(g.view()),
                None => g,
            });
            // As the training step: the first stage skips its input gradient.
            let (first, rest) = model.front.split_first_mut().expect("a learned stage");
            for st in rest.iter_mut().rev() {
                let l = st.layer();
                let name = format!("{} backward", l.name());
                g = t.time(&name, || l.backward(g.view()));
            }
            let l = first.layer();
            let name = format!("{} backward", l.name());
            t.time(&name, || l.backward_params_only(g.view()));
            t.time("optimizer (Adam step)", || {
                opt.step(&mut model.params_mut(), cfg.train.lr)
            });
        }
    }
    let total = start.elapsed().as_secs_f64() / EPOCHS as f64;
    let timed: f64 = t.0.iter().map(|(_, d)| d.as_secs_f64()).sum::<f64>() / EPOCHS as f64;
    println!(
        "learned_epoch stages: {} utterances, {:.1} ms per epoch ({:.0} utt/s), {:.1} ms timed",
        train.len(),
        total * 1e3,
        train.len() as f64 / total,
        timed * 1e3
    );
    println!("| step | ms per epoch | share |\n| --- | --- | --- |");
    for (name, d) in &t.0 {
        let ms = d.as_secs_f64() * 1e3 / EPOCHS as f64;
        println!("| {name} | {ms:.1} | {:.1} % |", 100.0 * ms / (total * 1e3));
    }
}

fn main() {
    if std::env::var_os("LEARNED_STAGES").is_some() {
        if !Path::new(FSDD).is_dir() {
            println!("learned_epoch: {FSDD} not found, skipping");
            return;
        }
        let corpus =
            Corpus::load(Path::new(FSDD), &LabelSource::FileName, 8000).expect("FSDD corpus");
        let cfg = config();
        let train: Vec<usize> = (0..corpus.data.items.len())
            .filter(|&i| take(&corpus, i) >= 5)
            .collect();
        let prefix = corpus_prefix(&corpus, &cfg, None).expect("prefix");
        stage_shares(&corpus, &cfg, &prefix, &train);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
