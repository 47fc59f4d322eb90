//! A synthetic, fully populated report for demos and tests.
//!
//! Every section of the model gets plausible data (ten digit classes, five
//! speakers, eight front ends, three seeds, learned stages that drift from
//! their mel / log / DCT initial forms, example features, a deep-versus-fat
//! grid, leave-one-speaker-out results and an ablation), drawn from one
//! seeded generator: the same seed gives the same report. The numbers are
//! invented; they only exercise the renderers. Regenerate the demo page
//! with `cargo run --example report_demo`.

use std::collections::BTreeMap;
use std::f64::consts::PI;

use rand::RngExt;

use super::model::{
    AblationRow, ConfigResult, DataSummary, DeepVsFatRow, EpochRecord, ExampleFeatures,
    FeatureScaling, HeldOutResult, LearnedStage, Machine, Report, RunResult, SkippedFile,
    StageData, Throughput, TwinRow,
};
use crate::nn::{rng_from_seed, Rng};

/// Classes of the synthetic data set.
const CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
/// Speakers of the synthetic data set.
const SPEAKERS: [&str; 5] = ["george", "jackson", "lucas", "nicolas", "theo"];
/// Test utterances per class and speaker.
const TEST_PER_CLASS_SPEAKER: usize = 5;
/// Seeds per configuration.
const SEEDS: [u64; 3] = [1, 2, 3];

/// (name, mean accuracy, front-end params) of the synthetic configurations.
const CONFIGS: [(&str, f64, u64); 8] = [
    ("mfcc-kaldi + mlp", 0.962, 0),
    ("log-mel + mlp", 0.951, 0),
    ("learned filterbank (mel init)", 0.968, 10_280),
    ("learned filterbank (random init)", 0.931, 10_280),
    ("learned compression (PCEN)", 0.958, 160),
    ("learned DCT", 0.960, 520),
    ("waveform, classic init", 0.944, 51_712),
    ("waveform, random init", 0.872, 51_712),
];

/// A standard normal draw (Box-Muller).
fn gauss(rng: &mut Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
}

/// A complete synthetic report; the same `seed` gives the same report.
pub fn synthetic_report(seed: u64) -> Report {
    let mut rng = rng_from_seed(seed);
    let configs: Vec<ConfigResult> = CONFIGS
        .iter()
        .map(|&(name, acc, fe_params)| config(&mut rng, name, acc, fe_params))
        .collect();
    let speaker_independent = CONFIGS
        .iter()
        .flat_map(|&(name, acc, _)| {
            SPEAKERS
                .iter()
                .enumerate()
                .flat_map(move |(k, s)| SEEDS.iter().map(move |&seed| (name, acc, k, *s, seed)))
        })
        .map(|(name, acc, k, speaker, seed)| HeldOutResult {
            config: name.to_string(),
            speaker: speaker.to_string(),
            seed,
            // Held-out speakers are much harder, and some voices more so.
            accuracy: (acc - 0.12 - 0.03 * k as f64 + 0.02 * gauss(&mut rng)).clamp(0.0, 1.0),
        })
        .collect();
    Report {
        title: "speechfront compare: synthetic demo".into(),
        created: "2026-11-27T04:00:00Z".into(),
        crate_version: env!("CARGO_PKG_VERSION").into(),
        machine: Machine { cpu_model: "Synthetic CPU @ 3.0GHz".into(), cores: 2, os: "Debian GNU/Linux 12 (linux x86_64)".into() },
        command_line: "speechfront compare --data audio/digits --configs models/*.toml --seeds 3 --out reports/demo".into(),
        data: DataSummary {
            path: "audio/digits".into(),
            n_files: 1500,
            n_classes: CLASSES.len(),
            classes: CLASSES.iter().map(|c| c.to_string()).collect(),
            speakers: SPEAKERS.iter().map(|s| s.to_string()).collect(),
            skipped: vec![
                SkippedFile { path: "audio/digits/3_theo_49.wav".into(), reason: "not a WAV file: missing RIFF header".into() },
                SkippedFile { path: "audio/digits/empty.wav".into(), reason: "no samples (0 frames)".into() },
            ],
        },
        split: "FSDD official (takes 0-4 test)".into(),
        configs,
        learned: learned_stages(&mut rng),
        example_features: example_features(&mut rng),
        deep_vs_fat: deep_vs_fat(&mut rng),
        speaker_independent,
        ablation: ablation(&mut rng),
        twins: twins(),
    }
}

/// Twin rows of the learned configurations against "mfcc-kaldi + mlp":
/// one better, one worse, the rest within noise.
fn twins() -> Vec<TwinRow> {
    let pairs = CLASSES.len() * SPEAKERS.len() * TEST_PER_CLASS_SPEAKER * SEEDS.len();
    let base = CONFIGS[0].1;
    [
        (CONFIGS[2], "mel (matrix, classic init)", 0.002, 0.012),
        (CONFIGS[4], "compression (pcen, classic init)", -0.011, 0.006),
        (CONFIGS[5], "DCT (linear, classic init)", -0.008, 0.005),
        (CONFIGS[6], "spectrum (linear, classic init)", -0.029, -0.007),
    ]
    .into_iter()
    .map(|((name, acc, _), stage, lo, hi)| {
        let d = acc - base;
        TwinRow {
            learned: name.to_string(),
            twin: CONFIGS[0].0.to_string(),
            stages: vec![stage.to_string()],
            pairs,
            learned_accuracy: acc,
            twin_accuracy: base,
            difference: d,
            ci_low: d + lo - 0.5 * (lo + hi),
            ci_high: d + hi - 0.5 * (lo + hi),
            learned_only: ((pairs as f64) * (0.03 + d.max(0.0))) as usize,
            twin_only: ((pairs as f64) * (0.03 - d.min(0.0))) as usize,
        }
    })
    .collect()
}

fn config(rng: &mut Rng, name: &str, acc: f64, fe_params: u64) -> ConfigResult {
    let toml = format!(
        "# {name}\n[frontend]\npreset = \"kaldi\"\nfeature = \"mfcc\"\nlearned = {}\n\n[classifier]\nhidden = [256, 256]\nactivation = \"relu\"\ndropout = 0.2\n\n[train]\nepochs = 30\nbatch = 32\nlr = 0.001\n",
        fe_params > 0
    );
    ConfigResult {
        name: name.to_string(),
        config_toml: toml,
        frontend_params: fe_params,
        classifier_params: 136_714,
        runs: SEEDS.iter().map(|&seed| run(rng, seed, acc)).collect(),
        throughput: Some(Throughput {
            utterances_per_s: 2500.0 / (1.0 + fe_params as f64 / 5000.0)
                * (1.0 + 0.05 * gauss(rng)),
            x_real_time: 1100.0 / (1.0 + fe_params as f64 / 5000.0),
        }),
    }
}

fn run(rng: &mut Rng, seed: u64, acc: f64) -> RunResult {
    let p = (acc + 0.01 * gauss(rng)).clamp(0.0, 1.0);
    let n = CLASSES.len();
    let mut confusion = vec![vec![0u32; n]; n];
    let mut per_speaker_hits = vec![(0usize, 0usize); SPEAKERS.len()];
    for (true_class, row) in confusion.iter_mut().enumerate() {
        for (k, hits) in per_speaker_hits.iter_mut().enumerate() {
            // Later speakers are a little harder.
            let p_k = (p - 0.01 * k as f64).clamp(0.0, 1.0);
            for _ in 0..TEST_PER_CLASS_SPEAKER {
                let predicted = if rng.random::<f64>() < p_k {
                    true_class
                } else if rng.random::<f64>() < 0.6 {
                    // A confusable neighbour, as digits with similar vowels are.
                    (true_class + 1) % n
                } else {
                    rng.random_range(0..n)
                };
                row[predicted] += 1;
                hits.1 += 1;
                hits.0 += usize::from(predicted == true_class);
            }
        }
    }
    let total: u32 = confusion.iter().flatten().sum();
    let correct: u32 = (0..n).map(|i| confusion[i][i]).sum();
    let per_speaker: BTreeMap<String, f64> = SPEAKERS
        .iter()
        .zip(&per_speaker_hits)
        .map(|(s, &(h, t))| (s.to_string(), h as f64 / t as f64))
        .collect();
    let epochs = 30;
    let speed = 0.15 + 0.05 * rng.random::<f64>();
    let history = (1..=epochs)
        .map(|e| {
            let t = e as f64;
            let fit = 1.0 - (-speed * t).exp();
            EpochRecord {
                epoch: e,
                train_loss: 2.3 * (-speed * t).exp() + 0.02 + 0.01 * gauss(rng).abs(),
                train_acc: (0.1 + 0.9 * fit).min(1.0),
                val_loss: 2.3 * (-speed * t).exp() + 0.12 + 0.002 * t + 0.02 * gauss(rng).abs(),
                val_acc: (0.1 + (p - 0.1 + 0.01) * fit + 0.01 * gauss(rng)).clamp(0.0, 1.0),
            }
        })
        .collect();
    RunResult {
        seed,
        fold: None,
        held_out_speaker: None,
        accuracy: correct as f64 / total as f64,
        macro_f1: macro_f1(&confusion),
        confusion,
        per_speaker,
        train_seconds: 12.0 + 3.0 * rng.random::<f64>(),
        history,
        posteriors: None,
    }
}

/// Macro-averaged F1 of a confusion matrix (`[true][predicted]`); a class
/// with no true and no predicted items counts as F1 = 0.
fn macro_f1(c: &[Vec<u32>]) -> f64 {
    let n = c.len();
    if n == 0 {
        return f64::NAN;
    }
    let f1: f64 = (0..n)
        .map(|k| {
            let tp = c[k][k] as f64;
            let actual: f64 = c[k].iter().map(|&v| v as f64).sum();
            let predicted: f64 = c
                .iter()
                .map(|row| row.get(k).copied().unwrap_or(0) as f64)
                .sum();
            if actual + predicted == 0.0 {
                0.0
            } else {
                2.0 * tp / (actual + predicted)
            }
        })
        .sum();
    f1 / n as f64
}

/// HTK mel scale.
fn mel(hz: f64) -> f64 {
    1127.0 * (1.0 + hz / 700.0).ln()
}

/// Triangular mel filters `(n_filters, n_bins)` between `lo` and `hi` Hz,
/// with the bin centres at `bin_hz(b)`; `shift` moves each filter's centre
/// by that fraction of its half-width (0 for the classic triangles).
fn triangles(n_filters: usize, n_bins: usize, sr: f64, shift: &[f64]) -> Vec<Vec<f32>> {
    let (lo, hi) = (mel(20.0), mel(sr / 2.0));
    let edge = |i: usize| lo + (hi - lo) * i as f64 / (n_filters + 1) as f64;
    (0..n_filters)
        .map(|f| {
            let (l, c0, r) = (edge(f), edge(f + 1), edge(f + 2));
            let c = c0 + shift.get(f).copied().unwrap_or(0.0) * (r - c0) * 0.5;
            (0..n_bins)
                .map(|b| {
                    let m = mel(b as f64 * sr / (2.0 * (n_bins - 1) as f64));
                    let w = if m > l && m <= c {
                        (m - l) / (c - l)
                    } else if m > c && m < r {
                        (r - m) / (r - c)
                    } else {
                        0.0
                    };
                    w.max(0.0) as f32
                })
                .collect()
        })
        .collect()
}

/// Orthonormal DCT-II matrix `(n_ceps, n_filters)`.
fn dct(n_ceps: usize, n_filters: usize) -> Vec<Vec<f32>> {
    (0..n_ceps)
        .map(|k| {
            let scale = if k == 0 {
                (1.0 / n_filters as f64).sqrt()
            } else {
                (2.0 / n_filters as f64).sqrt()
            };
            (0..n_filters)
                .map(|j| {
                    (scale * (PI * k as f64 * (j as f64 + 0.5) / n_filters as f64).cos()) as f32
                })
                .collect()
        })
        .collect()
}

fn learned_stages(rng: &mut Rng) -> Vec<LearnedStage> {
    let (n_filters, n_bins, sr) = (23, 129, 8000.0);
    let initial = triangles(n_filters, n_bins, sr, &[]);
    let shift: Vec<f64> = (0..n_filters).map(|_| 0.4 * gauss(rng)).collect();
    let learned: Vec<Vec<f32>> = triangles(n_filters, n_bins, sr, &shift)
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|w| (w * (1.0 + 0.15 * gauss(rng) as f32)).max(0.0))
                .collect()
        })
        .collect();
    let x: Vec<f32> = (0..40)
        .map(|i| 10f32.powf(-4.0 + 7.0 * i as f32 / 39.0))
        .collect();
    let log_curve: Vec<f32> = x.iter().map(|v| (v + 1e-6).ln()).collect();
    let learned_curves: Vec<Vec<f32>> = (0..n_filters)
        .map(|_| {
            let (a, b) = (
                0.9 + 0.1 * gauss(rng),
                10f64.powf(-3.0 + rng.random::<f64>() * 2.0),
            );
            x.iter()
                .map(|&v| (a * (v as f64 + b).ln()) as f32)
                .collect()
        })
        .collect();
    let d = dct(13, n_filters);
    let d_learned: Vec<Vec<f32>> = d
        .iter()
        .map(|row| row.iter().map(|&v| v + 0.06 * gauss(rng) as f32).collect())
        .collect();
    let frame = 64;
    let basis: Vec<Vec<f32>> = (0..24)
        .map(|k| {
            (0..frame)
                .map(|t| (2.0 * PI * k as f64 * t as f64 / frame as f64).cos() as f32)
                .collect()
        })
        .collect();
    let basis_learned: Vec<Vec<f32>> = basis
        .iter()
        .map(|row| {
            row.iter()
                .map(|&v| 0.8 * v + 0.25 * gauss(rng) as f32)
                .collect()
        })
        .collect();
    vec![
        LearnedStage {
            config: "learned filterbank (mel init)".into(),
            seed: Some(1),
            stage: StageData::Filterbank {
                sample_rate_hz: sr as f32,
                initial,
                learned,
            },
        },
        LearnedStage {
            config: "learned compression (PCEN)".into(),
            seed: Some(1),
            stage: StageData::Compression {
                x,
                log_x: true,
                initial: vec![log_curve],
                learned: learned_curves,
            },
        },
        LearnedStage {
            config: "learned DCT".into(),
            seed: Some(1),
            stage: StageData::Dct {
                initial: d,
                learned: d_learned,
            },
        },
        LearnedStage {
            config: "waveform, classic init".into(),
            seed: Some(1),
            stage: StageData::Matrix {
                name: "waveform filterbank (cos rows)".into(),
                x_label: "sample in frame".into(),
                y_label: "filter".into(),
                initial: basis,
                learned: basis_learned,
            },
        },
    ]
}

fn example_features(rng: &mut Rng) -> Vec<ExampleFeatures> {
    let frames = 98;
    // Log-mel of a made-up word: two formant tracks under an energy envelope.
    let logmel: Vec<Vec<f32>> = (0..frames)
        .map(|t| {
            let tt = t as f64 / frames as f64;
            let env = (-((tt - 0.45) / 0.18).powi(2)).exp();
            let f1 = 6.0 + 4.0 * tt;
            let f2 = 16.0 - 5.0 * tt;
            (0..23)
                .map(|m| {
                    let m = m as f64;
                    let band =
                        (-((m - f1) / 1.5).powi(2)).exp() + 0.7 * (-((m - f2) / 2.0).powi(2)).exp();
                    (-8.0 + 10.0 * env * (0.3 + band) + 0.4 * gauss(rng)) as f32
                })
                .collect()
        })
        .collect();
    let d = dct(13, 23);
    let mfcc: Vec<Vec<f32>> = logmel
        .iter()
        .map(|f| {
            d.iter()
                .map(|row| row.iter().zip(f).map(|(a, b)| a * b).sum())
                .collect()
        })
        .collect();
    let utterance = "audio/digits/7_theo_3.wav (class 7)".to_string();
    vec![
        ExampleFeatures {
            label: "MFCC (kaldi)".into(),
            utterance: utterance.clone(),
            features: mfcc,
            scaling: FeatureScaling::PerDim,
        },
        ExampleFeatures {
            label: "log-mel".into(),
            utterance: utterance.clone(),
            features: logmel.clone(),
            scaling: FeatureScaling::Global,
        },
        ExampleFeatures {
            label: "learned filterbank (mel init)".into(),
            utterance,
            features: logmel
                .iter()
                .map(|f| {
                    f.iter()
                        .map(|v| v * 0.9 + 0.3 * gauss(rng) as f32)
                        .collect()
                })
                .collect(),
            scaling: FeatureScaling::Global,
        },
    ]
}

fn deep_vs_fat(rng: &mut Rng) -> Vec<DeepVsFatRow> {
    let (inputs, outputs, budget) = (26.0 * 98.0, 10.0, 200_000.0);
    let mut rows = Vec::new();
    for activation in ["relu", "sigmoid"] {
        for depth in [1u32, 2, 3, 4, 6] {
            // Solve (in+1)w + (d-1)(w+1)w + (w+1)out = budget for w.
            let d = depth as f64;
            let (a, b, c) = (
                d - 1.0,
                inputs + 1.0 + (d - 1.0) + outputs,
                outputs - budget,
            );
            let w = if a == 0.0 {
                -c / b
            } else {
                (-b + (b * b - 4.0 * a * c).sqrt()) / (2.0 * a)
            };
            let width = w.floor().max(1.0) as u32;
            let wf = width as f64;
            let params =
                ((inputs + 1.0) * wf + (d - 1.0) * (wf + 1.0) * wf + (wf + 1.0) * outputs) as u64;
            let acc = match activation {
                "relu" => 0.955 + 0.004 * (d - 1.0).min(2.0) - 0.002 * (d - 3.0).max(0.0),
                _ => 0.95 - 0.06 * (d - 1.0).powf(1.3),
            };
            rows.push(DeepVsFatRow {
                name: format!("{depth}x{width} {activation}"),
                depth,
                width,
                activation: activation.into(),
                params,
                accuracy_mean: (acc + 0.003 * gauss(rng)).clamp(0.0, 1.0),
                accuracy_std: 0.004 + 0.01 * rng.random::<f64>() * d / 3.0,
                n_seeds: SEEDS.len(),
            });
        }
    }
    rows
}

fn ablation(rng: &mut Rng) -> Vec<AblationRow> {
    let full = 0.905;
    [
        ("none (full default)", 0.0),
        ("per-utterance CMVN", -0.061),
        ("deltas", -0.018),
        ("context-window frame classification", -0.142),
        ("speech detection", -0.034),
        ("noise augmentation", -0.012),
        ("seed ensembling", -0.007),
    ]
    .into_iter()
    .map(|(removed, delta)| {
        let mean = full
            + delta
            + if delta == 0.0 {
                0.0
            } else {
                0.003 * gauss(rng)
            };
        AblationRow {
            removed: removed.into(),
            accuracy_mean: mean,
            accuracy_std: 0.01 + 0.01 * rng.random::<f64>(),
            delta: mean - full,
            worst_speaker: Some(mean - 0.05 - 0.02 * rng.random::<f64>()),
        }
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_report_other_seed_other_numbers() {
        assert_eq!(synthetic_report(5), synthetic_report(5));
        assert_ne!(
            synthetic_report(5).configs[0].runs[0].accuracy,
            synthetic_report(6).configs[0].runs[0].accuracy
        );
    }

    #[test]
    fn every_section_is_filled_and_consistent() {
        let r = synthetic_report(1);
        assert_eq!(r.configs.len(), CONFIGS.len());
        assert!(!r.learned.is_empty() && !r.example_features.is_empty());
        assert!(
            !r.deep_vs_fat.is_empty()
                && !r.speaker_independent.is_empty()
                && !r.ablation.is_empty()
        );
        for c in &r.configs {
            for run in &c.runs {
                let total: u32 = run.confusion.iter().flatten().sum();
                assert_eq!(
                    total as usize,
                    CLASSES.len() * SPEAKERS.len() * TEST_PER_CLASS_SPEAKER
                );
                assert!(
                    run.accuracy > 0.5 && run.accuracy <= 1.0,
                    "{}",
                    run.accuracy
                );
            }
        }
    }

    #[test]
    fn macro_f1_of_perfect_and_hand_checked_matrices() {
        assert_eq!(macro_f1(&[vec![3, 0], vec![0, 2]]), 1.0);
        // class 0: tp 1, actual 2, predicted 1 -> 2/3; class 1: tp 2, actual 2, predicted 3 -> 4/5.
        let f = macro_f1(&[vec![1, 1], vec![0, 2]]);
        // 1e-12: a handful of float divisions.
        assert!((f - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn mel_triangles_peak_at_one_and_dct_is_orthonormal() {
        let t = triangles(10, 129, 8000.0, &[]);
        for row in &t {
            let peak = row.iter().copied().fold(0.0f32, f32::max);
            // Bins are discrete, so a peak lands up to one bin off the centre.
            assert!(peak > 0.5 && peak <= 1.0, "{peak}");
        }
        let d = dct(5, 12);
        for a in 0..5 {
            for b in 0..5 {
                let dot: f32 = d[a].iter().zip(&d[b]).map(|(x, y)| x * y).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                // 1e-5: f32 sums of 12 products.
                assert!((dot - want).abs() < 1e-5, "{a} {b} {dot}");
            }
        }
    }
}
