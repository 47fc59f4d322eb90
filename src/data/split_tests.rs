//! Tests of `split.rs`: disjointness, stratification, seeding, errors.

use super::*;
use crate::data::{Item, LabelSource};
use crate::nn::rng_from_seed;
use std::path::PathBuf;

const SEED: u64 = 7;

/// 3 speakers x 4 labels x 6 takes, FSDD-style.
fn toy() -> Dataset {
    let mut items = Vec::new();
    for speaker in ["ann", "bob", "cyd"] {
        for label in 0..4 {
            for take in 0..6 {
                let name = format!("{label}_{speaker}_{take}.wav");
                items.push(Item {
                    path: PathBuf::from("/d").join(&name),
                    rel_path: PathBuf::from(&name),
                    label: label.to_string(),
                    speaker: Some(speaker.into()),
                    take: Some(take.to_string()),
                    split: Some(if take == 5 { "test" } else { "train" }.into()),
                });
            }
        }
    }
    Dataset {
        root: PathBuf::from("/d"),
        label_source: LabelSource::FileName,
        items,
        classes: (0..4).map(|l| l.to_string()).collect(),
        skipped: Vec::new(),
    }
}

fn assert_partition(data: &Dataset, f: &Fold) {
    let mut all: Vec<usize> = f
        .train
        .iter()
        .chain(&f.valid)
        .chain(&f.test)
        .copied()
        .collect();
    all.sort_unstable();
    let expected: Vec<usize> = (0..data.items.len()).collect();
    assert_eq!(
        all, expected,
        "{}: sides must be disjoint and cover all",
        f.name
    );
}

#[test]
fn cli_strings_parse_and_round_trip() {
    for s in [
        "none",
        "fsdd",
        "random:0.25",
        "speakers:ann,bob",
        "loso",
        "loso:3",
        "manifest",
        "speech_commands",
    ] {
        let split: Split = s.parse().unwrap();
        assert_eq!(split.to_string(), s);
    }
    assert_eq!(
        "random".parse::<Split>().unwrap(),
        Split::Random { test_fraction: 0.2 }
    );
    for bad in [
        "random:1.5",
        "random:x",
        "speakers:",
        "speakers",
        "loso:1",
        "fsdd:2",
        "kfold",
    ] {
        assert!(
            matches!(bad.parse::<Split>(), Err(DataError::ParseSplit { .. })),
            "{bad}"
        );
    }
}

#[test]
fn fsdd_puts_takes_zero_to_four_in_test() {
    let data = toy();
    let folds = Split::Fsdd.folds(&data, &mut rng_from_seed(SEED)).unwrap();
    assert_eq!(folds.len(), 1);
    assert_partition(&data, &folds[0]);
    for &i in &folds[0].test {
        let take: u32 = data.items[i].take.as_ref().unwrap().parse().unwrap();
        assert!(take <= 4);
    }
    assert_eq!(
        folds[0].train.len(),
        12,
        "one take (5) per speaker and label"
    );
}

#[test]
fn fsdd_rejects_non_numeric_takes() {
    let mut data = toy();
    data.items[3].take = Some("x".into());
    let err = Split::Fsdd
        .folds(&data, &mut rng_from_seed(SEED))
        .unwrap_err();
    assert!(
        matches!(err, DataError::BadField { field: "take", .. }),
        "{err}"
    );
}

#[test]
fn random_split_is_stratified_disjoint_and_seeded() {
    let data = toy();
    let split = Split::Random {
        test_fraction: 0.25,
    };
    let a = split.folds(&data, &mut rng_from_seed(SEED)).unwrap();
    let b = split.folds(&data, &mut rng_from_seed(SEED)).unwrap();
    let c = split.folds(&data, &mut rng_from_seed(SEED + 1)).unwrap();
    assert_eq!(a, b, "same seed, same split");
    assert_ne!(a[0].test, c[0].test, "another seed draws another split");
    assert_partition(&data, &a[0]);
    let targets = data.targets();
    for class in 0..4 {
        let n_test = a[0].test.iter().filter(|&&i| targets[i] == class).count();
        // 18 items per class x 0.25 = 4.5, rounded half away from zero.
        assert_eq!(n_test, 5, "class {class}");
    }
}

#[test]
fn holdout_keeps_singleton_classes_in_training() {
    let targets = [0, 1, 1];
    let (keep, held) = stratified_holdout(&targets, 0.9, &mut rng_from_seed(SEED));
    assert!(keep.contains(&0));
    assert_eq!(held.len(), 1, "class 1 keeps one of its two items");
}

#[test]
fn named_speakers_are_held_out_and_unknown_ones_rejected() {
    let data = toy();
    let split: Split = "speakers:bob".parse().unwrap();
    let folds = split.folds(&data, &mut rng_from_seed(SEED)).unwrap();
    assert_partition(&data, &folds[0]);
    assert!(folds[0]
        .test
        .iter()
        .all(|&i| data.items[i].speaker.as_deref() == Some("bob")));
    assert!(folds[0]
        .train
        .iter()
        .all(|&i| data.items[i].speaker.as_deref() != Some("bob")));
    assert_eq!(folds[0].test_speakers, ["bob"]);
    let bad: Split = "speakers:bob,zed".parse().unwrap();
    match bad.folds(&data, &mut rng_from_seed(SEED)) {
        Err(DataError::UnknownSpeakers { unknown, known }) => {
            assert_eq!(unknown, ["zed"]);
            assert_eq!(known, ["ann", "bob", "cyd"]);
        }
        other => panic!("expected UnknownSpeakers, got {other:?}"),
    }
    let all: Split = "speakers:ann,bob,cyd".parse().unwrap();
    assert!(matches!(
        all.folds(&data, &mut rng_from_seed(SEED)),
        Err(DataError::EmptySide {
            side: "training",
            ..
        })
    ));
}

#[test]
fn loso_gives_one_fold_per_speaker() {
    let data = toy();
    let folds = Split::Loso { folds: None }
        .folds(&data, &mut rng_from_seed(SEED))
        .unwrap();
    assert_eq!(folds.len(), 3);
    for (f, speaker) in folds.iter().zip(["ann", "bob", "cyd"]) {
        assert_partition(&data, f);
        assert_eq!(f.test_speakers, [speaker]);
        assert_eq!(f.name, format!("loso:{speaker}"));
        assert!(f
            .train
            .iter()
            .all(|&i| data.items[i].speaker.as_deref() != Some(speaker)));
    }
}

#[test]
fn grouped_loso_covers_every_speaker_once() {
    let data = toy();
    let folds = Split::Loso { folds: Some(2) }
        .folds(&data, &mut rng_from_seed(SEED))
        .unwrap();
    assert_eq!(folds.len(), 2);
    let mut held: Vec<String> = folds.iter().flat_map(|f| f.test_speakers.clone()).collect();
    held.sort();
    assert_eq!(held, ["ann", "bob", "cyd"]);
    let too_many = Split::Loso { folds: Some(4) };
    assert!(too_many.folds(&data, &mut rng_from_seed(SEED)).is_err());
}

#[test]
fn speaker_splits_need_speakers() {
    let mut data = toy();
    data.items[0].speaker = None;
    let err = Split::Loso { folds: None }
        .folds(&data, &mut rng_from_seed(SEED))
        .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::MissingField {
                field: "speaker",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn manifest_column_decides_and_bad_values_are_errors() {
    let mut data = toy();
    data.items[0].split = Some("valid".into());
    let folds = Split::Manifest
        .folds(&data, &mut rng_from_seed(SEED))
        .unwrap();
    assert_partition(&data, &folds[0]);
    assert_eq!(folds[0].valid, [0]);
    assert_eq!(folds[0].test.len(), 12);
    data.items[1].split = Some("later".into());
    let err = Split::Manifest
        .folds(&data, &mut rng_from_seed(SEED))
        .unwrap_err();
    assert!(err.to_string().contains("later"), "{err}");
}

#[test]
fn speech_commands_lists_pick_test_and_validation() {
    let dir = tempfile::tempdir().unwrap();
    for rel in [
        "yes/a_nohash_0.wav",
        "yes/b_nohash_0.wav",
        "no/a_nohash_1.wav",
        "no/c_nohash_0.wav",
    ] {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"x").unwrap();
    }
    let data = Dataset::scan(dir.path(), &LabelSource::Auto).unwrap();
    let split: Split = "speech_commands".parse().unwrap();
    let missing = split.folds(&data, &mut rng_from_seed(SEED));
    assert!(
        matches!(missing, Err(DataError::Io { .. })),
        "lists are required"
    );
    std::fs::write(dir.path().join("testing_list.txt"), "yes/b_nohash_0.wav\n").unwrap();
    std::fs::write(
        dir.path().join("validation_list.txt"),
        "no/c_nohash_0.wav\n",
    )
    .unwrap();
    let f = &split.folds(&data, &mut rng_from_seed(SEED)).unwrap()[0];
    assert_partition(&data, f);
    let names = |ix: &[usize]| -> Vec<String> {
        ix.iter()
            .map(|&i| slash_path(&data.items[i].rel_path).unwrap())
            .collect()
    };
    assert_eq!(names(&f.test), ["yes/b_nohash_0.wav"]);
    assert_eq!(names(&f.valid), ["no/c_nohash_0.wav"]);
    assert_eq!(f.train.len(), 2);
}

#[test]
fn none_trains_on_everything() {
    let data = toy();
    let folds = Split::None.folds(&data, &mut rng_from_seed(SEED)).unwrap();
    assert_eq!(folds[0].train.len(), data.items.len());
    assert!(folds[0].test.is_empty());
}

#[test]
fn split_round_trips_through_toml() {
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Wrap {
        split: Split,
    }
    let original = Wrap {
        split: Split::Speakers {
            test: vec!["ann".into()],
        },
    };
    let text = toml::to_string(&original).unwrap();
    assert_eq!(toml::from_str::<Wrap>(&text).unwrap(), original);
}
