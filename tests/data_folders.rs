//! The data module on the two real folders: the embedded corpus (always
//! present in the repository) and FSDD (skipped with a message when absent;
//! set `FSDD_DIR` to point elsewhere than /work/shared/data/fsdd).

use std::path::{Path, PathBuf};

use speechfront::data::{Dataset, LabelSource, Split};
use speechfront::nn::rng_from_seed;

const SEED: u64 = 42;

fn fsdd_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FSDD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/data/fsdd"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: FSDD not found at {}", dir.display());
        None
    }
}

#[test]
fn embedded_corpus_supports_speaker_and_random_splits_but_not_fsdd() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("audio/digits");
    let data = Dataset::scan(&root, &LabelSource::Auto).unwrap();
    assert_eq!(data.items.len(), 750);
    assert_eq!(data.class_counts(), vec![75; 10]);
    assert_eq!(data.speakers().len(), 25);

    let loso = Split::Loso { folds: None }
        .folds(&data, &mut rng_from_seed(SEED))
        .unwrap();
    assert_eq!(loso.len(), 25);
    assert!(loso
        .iter()
        .all(|f| f.test.len() == 30 && f.train.len() == 720));

    let random: Split = "random:0.2".parse().unwrap();
    let fold = &random.folds(&data, &mut rng_from_seed(SEED)).unwrap()[0];
    assert_eq!(fold.test.len(), 150, "15 of 75 per class");

    // Takes are 0-2 only, so FSDD's rule (takes 0-4 test) leaves no training data.
    assert!(Split::Fsdd.folds(&data, &mut rng_from_seed(SEED)).is_err());
}

#[test]
fn fsdd_official_split_and_loso() {
    let Some(root) = fsdd_dir() else { return };
    let data = Dataset::scan(&root, &LabelSource::Auto).unwrap();
    assert_eq!(data.label_source, LabelSource::FileName);
    assert_eq!(data.classes.len(), 10);
    let n_speakers = data.speakers().len();
    let fold = &Split::Fsdd.folds(&data, &mut rng_from_seed(SEED)).unwrap()[0];
    // FSDD has 50 takes per speaker and digit; takes 0-4 are a tenth of them.
    assert_eq!(fold.test.len(), 10 * 5 * n_speakers);
    assert_eq!(fold.train.len() + fold.test.len(), data.items.len());
    let loso = Split::Loso { folds: None }
        .folds(&data, &mut rng_from_seed(SEED))
        .unwrap();
    assert_eq!(loso.len(), n_speakers);
}

/// Mono f32 samples in [-1, 1) of a 16-bit WAV (both corpora are 16-bit mono).
fn read_wav(path: &Path) -> (Vec<f32>, u32) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let rate = reader.spec().sample_rate;
    let samples = reader
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    (samples, rate)
}

/// Pads each file with 0.3 s of faint noise (60 dB under the file's peak
/// sample: the detector's threshold is relative, and some FSDD files peak at
/// -40 dBFS) on both sides and runs the
/// default detector; returns, over all files, the largest excess of the kept
/// span over the original clip and the shortest kept span, in seconds.
fn padded_trim_stats(paths: &[PathBuf]) -> (f64, f64) {
    let opts = speechfront::data::SpeechDetectOptions::default();
    let mut worst_excess = f64::NEG_INFINITY;
    let mut shortest = f64::INFINITY;
    let mut state = 12345u32;
    for path in paths {
        let (x, rate) = read_wav(path);
        let pad = (0.3 * f64::from(rate)) as usize;
        // Hiss from a fixed LCG, so the padding is not digital zero.
        let level = x.iter().fold(0f32, |m, v| m.max(v.abs())) * 2e-3;
        let mut hiss = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (f64::from(state >> 8) / f64::from(1u32 << 24) - 0.5) as f32 * level
        };
        let mut padded: Vec<f32> = (0..pad).map(|_| hiss()).collect();
        padded.extend(x.iter().map(|v| v + hiss()));
        padded.extend((0..pad).map(|_| hiss()));
        let keep = speechfront::data::speech::speech_samples(&padded, rate, &opts).unwrap();
        let rate = f64::from(rate);
        worst_excess = worst_excess.max((keep.len() as f64 - x.len() as f64) / rate);
        shortest = shortest.min(keep.len() as f64 / rate);
    }
    (worst_excess, shortest)
}

/// Runs [`padded_trim_stats`] on every `step`-th file of `root` and checks
/// that the padding is gone and no word shrank below `min_kept_s`.
fn check_padded_trim(root: &Path, step: usize, min_kept_s: f64) {
    let data = Dataset::scan(root, &LabelSource::Auto).unwrap();
    let paths: Vec<PathBuf> = data
        .items
        .iter()
        .step_by(step)
        .map(|i| i.path.clone())
        .collect();
    let (worst_excess, shortest) = padded_trim_stats(&paths);
    eprintln!(
        "{}: worst excess {worst_excess:.3} s, shortest kept {shortest:.3} s",
        root.display()
    );
    // Kept span <= clip + 2 x (5-frame margin + one 25 ms frame) = clip + 0.15 s:
    // the 0.6 s of padding is gone in every file.
    assert!(
        worst_excess <= 0.15,
        "kept up to {worst_excess:.3} s beyond the clip"
    );
    assert!(shortest > min_kept_s, "shortest kept span {shortest:.3} s");
}

#[test]
fn speech_detection_on_padded_fsdd_removes_the_padding_but_keeps_words() {
    let Some(root) = fsdd_dir() else { return };
    // Every 5th file (500, all speakers and digits) keeps the test quick; no
    // word may shrink below a syllable (the shortest digits last ~0.15 s).
    check_padded_trim(&root, 5, 0.1);
}

#[test]
fn speech_detection_on_the_padded_corpus_removes_the_padding() {
    // The corpus' own noise (10-30 dB SNR) is kept as sound, the faint
    // padding is not; its words last at least 0.28 s with margins.
    check_padded_trim(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("audio/digits"),
        3,
        0.2,
    );
}
