//! End-to-end tests of `train`, `evaluate` and `compare` through the built
//! binary, on a small subset of the embedded corpus (audio/digits) copied
//! into a temporary folder together with one broken file.

use speechfront::nn::Layer;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_speechfront");
const SPEAKERS: [&str; 4] = ["usm3", "gbf2", "scm4", "cak3"];

/// A tiny but real recipe: small MLP, few epochs, so the test stays quick.
const CONFIG: &str = r#"
name = "tiny"
preset = "kaldi"
feature = "mfcc"
sample_rate_hz = 8000
[frontend]
frame = { dither = 0.0 }
post = { deltas = true, cmvn = "mean" }
[input]
mode = "context"
context = 3
trim_silence = true
[classifier]
hidden = [64]
[train]
epochs = 8
batch_size = 128
lr = 3e-3
patience = 3
"#;

fn corpus(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("audio/digits");
    for digit in 0..10 {
        for spk in SPEAKERS {
            for take in 0..3 {
                let name = format!("{digit}_{spk}_{take}.wav");
                std::fs::copy(src.join(&name), data.join(&name)).unwrap();
            }
        }
    }
    // A broken file with a valid-looking name: must be skipped, not fatal.
    std::fs::write(data.join("3_usm3_9.wav"), b"RIFF\x10\x00\x00\x00WAVEjunk").unwrap();
    std::fs::write(dir.join("tiny.toml"), CONFIG).unwrap();
    data
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().expect("binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    (out.status.success(), stdout, stderr)
}

/// `speechfront train` on `data` with `cfg`, saving to `model`.
fn train(data: &Path, cfg: &Path, model: &Path, split: Option<&str>) -> (bool, String, String) {
    let mut args = vec![
        "train",
        "--data",
        data.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--model-out",
        model.to_str().unwrap(),
    ];
    if let Some(s) = split {
        args.extend(["--split", s]);
    }
    run(&args)
}

fn report_accuracies(path: &Path) -> Vec<f64> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["report"]["configs"][0]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["accuracy"].as_f64().unwrap())
        .collect()
}

#[test]
fn compare_writes_reports_reuses_cache_and_repeats_with_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(dir.path());
    let cfg = dir.path().join("tiny.toml");
    let cache = dir.path().join("cache");
    let args = |out: &str| {
        vec![
            "compare".to_string(),
            "--data".into(),
            data.display().to_string(),
            "--configs".into(),
            cfg.display().to_string(),
            "--seeds".into(),
            "1".into(),
            "--split".into(),
            "speakers:scm4".into(),
            "--cache".into(),
            cache.display().to_string(),
            "--out".into(),
            dir.path().join(out).display().to_string(),
        ]
    };
    let a1 = args("r1");
    let (ok, stdout, stderr) = run(&a1.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    assert!(ok, "compare failed: {stderr}");
    assert!(
        stdout.contains("tiny") && stdout.contains("report:"),
        "{stdout}"
    );
    for f in ["report.html", "report.md", "report.json"] {
        assert!(dir.path().join("r1").join(f).is_file(), "{f} missing");
    }
    let md = std::fs::read_to_string(dir.path().join("r1/report.md")).unwrap();
    assert!(
        md.contains("3_usm3_9.wav"),
        "the broken file must be listed as skipped"
    );
    let acc1 = report_accuracies(&dir.path().join("r1/report.json"));
    // 10 classes: chance is 10 %; a held-out voice well above it shows real learning.
    assert!(acc1[0] > 0.4, "held-out accuracy {acc1:?}");
    let cached = walk_count(&cache);
    assert_eq!(cached, 120, "one cache entry per decodable file");
    // Each test utterance's log-posteriors are in the JSON, and their
    // argmax reproduces the run's accuracy.
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r1/report.json")).unwrap())
            .unwrap();
    let run0 = &v["report"]["configs"][0]["runs"][0];
    let post = &run0["posteriors"];
    let items = post["items"].as_array().unwrap();
    let rows = post["log_posteriors"].as_array().unwrap();
    assert_eq!(items.len(), rows.len());
    assert!(items.iter().all(|i| i.as_str().unwrap().contains("scm4")));
    let classes = v["report"]["data"]["classes"].as_array().unwrap();
    let mut correct = 0;
    for (item, row) in items.iter().zip(rows) {
        let row: Vec<f64> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(row.len(), classes.len());
        let best = (0..row.len()).fold(0, |b, c| if row[c] > row[b] { c } else { b });
        let name = item.as_str().unwrap().rsplit('/').next().unwrap();
        correct += usize::from(name.starts_with(classes[best].as_str().unwrap()));
    }
    let acc = correct as f64 / items.len() as f64;
    assert!((acc - acc1[0]).abs() < 1e-9, "{acc} vs {}", acc1[0]);

    // Second run: same seed, same numbers, no new cache entries.
    let a2 = args("r2");
    let (ok, _, stderr) = run(&a2.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    assert!(ok, "{stderr}");
    assert_eq!(report_accuracies(&dir.path().join("r2/report.json")), acc1);
    assert_eq!(walk_count(&cache), cached);
}

fn walk_count(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            n += walk_count(&p);
        } else if p.extension().is_some_and(|x| x == "npy") {
            n += 1;
        }
    }
    n
}

#[test]
fn train_then_evaluate_prints_json_on_the_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(dir.path());
    let cfg = dir.path().join("tiny.toml");
    let model = dir.path().join("m.safetensors");
    let (ok, stdout, stderr) = train(&data, &cfg, &model, Some("speakers:gbf2"));
    assert!(ok, "train failed: {stderr}");
    assert!(
        stderr.contains("3_usm3_9.wav"),
        "skipped file reported: {stderr}"
    );
    assert!(stdout.contains("accuracy"), "{stdout}");
    assert!(model.is_file());
    let (ok, stdout, stderr) = run(&[
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "evaluate failed: {stderr}");
    let last = stdout.lines().last().unwrap();
    let v: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(v["n"].as_u64(), Some(120));
    let acc = v["accuracy"].as_f64().unwrap();
    assert!(acc > 0.5 && acc <= 1.0, "accuracy {acc}");
}

#[test]
fn a_bad_config_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(dir.path());
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[input]\ncontxt = 3\n").unwrap();
    let (ok, _, stderr) = run(&[
        "compare",
        "--data",
        data.to_str().unwrap(),
        "--configs",
        bad.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("contxt"),
        "{stderr}"
    );
}

#[test]
fn an_ensemble_is_trained_saved_and_evaluated_as_one_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(dir.path());
    let cfg = dir.path().join("ens.toml");
    std::fs::write(&cfg, format!("ensemble = 2\n{CONFIG}")).unwrap();
    let model = dir.path().join("e.safetensors");
    let (ok, _, stderr) = train(&data, &cfg, &model, None);
    assert!(ok, "train failed: {stderr}");
    let (members, _) = speechfront::train::persist::load_ensemble(&model).unwrap();
    assert_eq!(members.len(), 2);
    let weights = |i: usize| -> Vec<f32> {
        members[i]
            .network
            .params()
            .iter()
            .flat_map(|p| p.value.iter().copied())
            .collect()
    };
    assert_ne!(weights(0), weights(1), "members must differ (own seeds)");
    let (ok, stdout, stderr) = run(&[
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "evaluate failed: {stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let acc = v["accuracy"].as_f64().unwrap();
    // Evaluated on its own training voices: an ensemble that averaged
    // garbage (e.g. mismatched members) would sit near chance (0.1).
    assert!(acc > 0.7, "accuracy {acc}");
}

#[test]
fn position_and_test_time_vtln_travel_with_the_saved_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(dir.path());
    let cfg = dir.path().join("pos.toml");
    std::fs::write(
        &cfg,
        CONFIG.replace(
            "trim_silence = true",
            "trim_silence = true\nposition = true\n[test]\nvtln = [0.92, 1.0, 1.08]",
        ),
    )
    .unwrap();
    let model = dir.path().join("p.safetensors");
    let (ok, train_out, stderr) = train(&data, &cfg, &model, Some("speakers:gbf2"));
    assert!(ok, "train failed: {stderr}");
    let (members, _) = speechfront::train::persist::load_ensemble(&model).unwrap();
    // 13 cepstra + deltas + delta-deltas, plus the position column, over
    // ±3 frames.
    assert_eq!(members[0].input_dim, 7 * (39 + 1));
    // The held-out voice alone, evaluated from the file: the same decision
    // rule (position column, three warps) must give the same figure as the
    // one `train` printed for that split.
    let held = dir.path().join("held");
    std::fs::create_dir_all(&held).unwrap();
    for e in std::fs::read_dir(&data).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains("_gbf2_") {
            std::fs::copy(&p, held.join(&name)).unwrap();
        }
    }
    let (ok, eval_out, stderr) = run(&[
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        "--data",
        held.to_str().unwrap(),
    ]);
    assert!(ok, "evaluate failed: {stderr}");
    let line = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("accuracy"))
            .unwrap_or_else(|| panic!("no accuracy line in {s}"))
            .to_string()
    };
    assert_eq!(line(&train_out), line(&eval_out));
    assert!(line(&eval_out).contains("(30 utterances)"), "{eval_out}");
}

#[test]
fn speaker_cmvn_travels_with_the_saved_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(dir.path());
    let cfg = dir.path().join("spk.toml");
    std::fs::write(
        &cfg,
        CONFIG
            .replace("cmvn = \"mean\"", "cmvn = \"none\"")
            .replace(
                "trim_silence = true",
                "trim_silence = true\nposition = true\nspeaker_cmvn = \"both\"",
            ),
    )
    .unwrap();
    let model = dir.path().join("s.safetensors");
    let (ok, train_out, stderr) = train(&data, &cfg, &model, Some("speakers:gbf2"));
    assert!(ok, "train failed: {stderr}");
    let (members, _) = speechfront::train::persist::load_ensemble(&model).unwrap();
    // Two views of the 39 coefficients (per utterance, per speaker) plus
    // the position column, over ±3 frames.
    assert_eq!(members[0].input_dim, 7 * (2 * 39 + 1));
    // The held-out voice alone: `evaluate` gathers the speaker's statistics
    // from the same 30 utterances `train` tested on, so the figure is the
    // same.
    let held = dir.path().join("held");
    std::fs::create_dir_all(&held).unwrap();
    for e in std::fs::read_dir(&data).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains("_gbf2_") {
            std::fs::copy(&p, held.join(&name)).unwrap();
        }
    }
    let evaluate = |extra: &[&str]| {
        let mut args = vec![
            "evaluate",
            "--model",
            model.to_str().unwrap(),
            "--data",
            held.to_str().unwrap(),
            "--json",
        ];
        args.extend_from_slice(extra);
        let (ok, out, stderr) = run(&args);
        assert!(ok, "evaluate failed: {stderr}");
        out
    };
    let line = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("accuracy"))
            .unwrap_or_else(|| panic!("no accuracy line in {s}"))
            .to_string()
    };
    let all = evaluate(&[]);
    assert_eq!(line(&train_out), line(&all));
    // Capping the statistics at the whole speaker is the same figure; at
    // one utterance each it is per-utterance normalisation, a valid run.
    assert_eq!(line(&evaluate(&["--speaker-utterances", "30"])), line(&all));
    assert!(line(&evaluate(&["--speaker-utterances", "1"])).contains("(30 utterances)"));
}

/// A configuration with a learned stage goes through the same commands as
/// a hand-crafted one: `train` saves it, `evaluate` reproduces the held-out
/// figure from the file, `extract --model` writes the trained front end's
/// features. The recipe keeps deltas, speaker CMVN, position, test-time
/// VTLN and a 2-network ensemble.
#[test]
fn a_learned_configuration_trains_evaluates_and_extracts_from_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(dir.path());
    let cfg = dir.path().join("lmel.toml");
    std::fs::write(
        &cfg,
        CONFIG
            .replace("name = \"tiny\"", "name = \"tiny-mel\"\nensemble = 2")
            .replace("cmvn = \"mean\"", "cmvn = \"none\"")
            .replace(
                "trim_silence = true",
                "trim_silence = true\nposition = true\nspeaker_cmvn = \"both\"",
            )
            .replace("epochs = 8", "epochs = 3")
            .replace(
                "[input]",
                "[frontend.learn]\nmel = { learn = true, init = \"classic\" }\n[input]",
            )
            + "[test]\nvtln = [0.95, 1.0]\n",
    )
    .unwrap();
    let model = dir.path().join("lmel.safetensors");
    let (ok, train_out, stderr) = train(&data, &cfg, &model, Some("speakers:gbf2"));
    assert!(ok, "train failed: {stderr}");
    let held = dir.path().join("held");
    std::fs::create_dir_all(&held).unwrap();
    for e in std::fs::read_dir(&data).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains("_gbf2_") {
            std::fs::copy(&p, held.join(&name)).unwrap();
        }
    }
    let (ok, eval_out, stderr) = run(&[
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        "--data",
        held.to_str().unwrap(),
    ]);
    assert!(ok, "evaluate failed: {stderr}");
    let line = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("accuracy"))
            .unwrap_or_else(|| panic!("no accuracy line in {s}"))
            .to_string()
    };
    assert_eq!(line(&train_out), line(&eval_out));
    assert!(line(&eval_out).contains("(30 utterances)"), "{eval_out}");

    let feats = dir.path().join("feats");
    let (ok, out, stderr) = run(&[
        "extract",
        "--model",
        model.to_str().unwrap(),
        held.to_str().unwrap(),
        "--out",
        feats.to_str().unwrap(),
    ]);
    assert!(ok, "extract --model failed: {stderr}");
    assert!(out.contains("extracted 30 of 30"), "{out}");
    let mut loaded = speechfront::experiment::TrainedExperiment::load(&model).unwrap();
    let name = "4_gbf2_1";
    let mut f = std::fs::File::open(feats.join(format!("{name}.npy"))).unwrap();
    let (rows, cols) = speechfront::extract::npy::read_shape(&mut f).expect("an npy header");
    // 13 cepstra of the trained front end (energy in C0), one row per frame.
    assert_eq!(cols, 13);
    let audio = speechfront::audio::load(
        &held.join(format!("{name}.wav")),
        &speechfront::audio::DecodeOptions {
            sample_rate_hz: Some(8000),
            ..Default::default()
        },
    )
    .unwrap();
    let want = loaded.features(&audio.samples, Path::new(name)).unwrap();
    assert_eq!((rows, cols), want.dim());
    // A bad model file is a clear error naming it.
    let bad = dir.path().join("bad.safetensors");
    std::fs::write(&bad, b"not a model").unwrap();
    let (ok, _, stderr) = run(&[
        "extract",
        "--model",
        bad.to_str().unwrap(),
        held.to_str().unwrap(),
        "--out",
        feats.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("bad.safetensors"), "{stderr}");
}
