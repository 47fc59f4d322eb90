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
