//! `train` and `compare` killed with SIGKILL at several moments through a
//! real child process: whatever the moment, every output file that exists
//! afterwards is whole and holds what an uninterrupted run writes (the
//! model's weights, the report's figures, each cache entry's features),
//! and a rerun finishes the job with the same numbers. Only temporary
//! files (hidden or `.tmp` names, never read as outputs) may be left by
//! the killed process.
//!
//! The kill moments are fractions of a reference run's duration on the
//! same machine, from early (still decoding) to late (writing), first into
//! an empty folder and then over a complete earlier output.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_speechfront");

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
context = 2
trim_silence = true
[classifier]
hidden = [32]
[train]
epochs = 16
batch_size = 256
lr = 3e-3
patience = 0
"#;

/// Kill moments, as fractions of the reference run's wall time.
const FRACTIONS: [f64; 6] = [0.1, 0.3, 0.5, 0.7, 0.85, 0.97];

fn corpus(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("audio/digits");
    for digit in 0..10 {
        for spk in ["usm3", "gbf2", "scm4"] {
            for take in 0..2 {
                let name = format!("{digit}_{spk}_{take}.wav");
                std::fs::copy(src.join(&name), data.join(&name)).unwrap();
            }
        }
    }
    std::fs::write(dir.join("tiny.toml"), CONFIG).unwrap();
    data
}

/// Runs to the end: asserts success, returns the wall time.
fn run_ok(args: &[String]) -> Duration {
    let t = Instant::now();
    let out = Command::new(BIN).args(args).output().expect("binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    t.elapsed()
}

/// Starts the command, SIGKILLs it after `after` (if still running).
/// Returns true when it was killed, false when it had already finished.
fn run_killed(args: &[String], after: Duration) -> bool {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    std::thread::sleep(after);
    // std's kill is SIGKILL on Unix: no handler, no clean-up runs.
    let _ = child.kill();
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    // Either killed, or it had finished successfully just before.
    let killed = status.signal() == Some(libc_sigkill());
    assert!(killed || status.success(), "{status:?}");
    killed
}

fn libc_sigkill() -> i32 {
    9
}

/// A temporary name a writer uses before its rename.
fn is_temporary(name: &str) -> bool {
    name.starts_with('.') || name.contains(".tmp")
}

/// Every non-temporary file under `dir`, by path relative to it.
fn outputs(dir: &Path) -> BTreeMap<PathBuf, PathBuf> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if !is_temporary(&p.file_name().unwrap().to_string_lossy()) {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), p);
            }
        }
    }
    out
}

/// The model's tensors (name -> bytes): the weights, without the history's
/// timings.
fn tensors(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .unwrap_or_else(|e| panic!("{}: not a whole model: {e}", path.display()));
    st.tensors()
        .into_iter()
        .map(|(n, t)| (n, t.data().to_vec()))
        .collect()
}

#[test]
fn train_killed_at_any_moment_leaves_no_half_written_model_and_reruns() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(dir.path());
    let args = |model: &Path| -> Vec<String> {
        vec![
            "train".into(),
            "--data".into(),
            data.display().to_string(),
            "--config".into(),
            dir.path().join("tiny.toml").display().to_string(),
            "--seed".into(),
            "3".into(),
            "--model-out".into(),
            model.display().to_string(),
        ]
    };
    let reference = dir.path().join("ref.safetensors");
    let full = run_ok(&args(&reference));
    let want = tensors(&reference);

    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let model = out.join("model.safetensors");
    let check = |when: &str| {
        for (rel, p) in outputs(&out) {
            assert_eq!(
                rel,
                Path::new("model.safetensors"),
                "{when}: unexpected output"
            );
            assert_eq!(
                tensors(&p),
                want,
                "{when}: the model differs from the reference"
            );
            speechfront::experiment::persist::load(&p)
                .unwrap_or_else(|e| panic!("{when}: the model does not load: {e}"));
        }
    };
    let mut killed = 0;
    // Into an empty folder, then over the complete model of a finished run.
    for round in ["fresh", "over a finished model"] {
        if round != "fresh" {
            run_ok(&args(&model));
            check("after a full run");
            assert!(model.is_file());
        }
        for f in FRACTIONS {
            if run_killed(&args(&model), full.mul_f64(f)) {
                killed += 1;
            }
            check(&format!("{round}, killed at {f} of {full:?}"));
            if round != "fresh" {
                assert!(model.is_file(), "the earlier model must survive");
            }
        }
    }
    assert!(
        killed >= 6,
        "only {killed} runs were still going when killed"
    );
    run_ok(&args(&model));
    check("after the rerun");
    assert_eq!(tensors(&model), want);
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        ["model.safetensors"],
        "the rerun leaves only the model"
    );
}

/// `report.json`'s accuracies per (configuration, run).
fn accuracies(path: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not whole JSON: {e}", path.display()));
    v["report"]["configs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["runs"].as_array().unwrap().iter())
        .map(|r| r["accuracy"].as_f64().unwrap())
        .collect()
}

#[test]
fn compare_killed_at_any_moment_leaves_whole_reports_and_cache_entries() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(dir.path());
    let args = |out: &Path, cache: &Path| -> Vec<String> {
        [
            "compare",
            "--data",
            data.to_str().unwrap(),
            "--configs",
            dir.path().join("tiny.toml").to_str().unwrap(),
            "--seeds",
            "1",
            "--split",
            "speakers:scm4",
            "--cache",
            cache.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let (ref_out, ref_cache) = (dir.path().join("ref"), dir.path().join("ref_cache"));
    let full = run_ok(&args(&ref_out, &ref_cache));
    let want_acc = accuracies(&ref_out.join("report.json"));
    let want_cache = outputs(&ref_cache);
    assert_eq!(
        want_cache
            .values()
            .filter(|p| p.extension().is_some_and(|e| e == "npy"))
            .count(),
        60
    );

    let (out, cache) = (dir.path().join("out"), dir.path().join("cache"));
    let check = |when: &str| {
        for (rel, p) in outputs(&cache) {
            let twin = want_cache
                .get(&rel)
                .unwrap_or_else(|| panic!("{when}: unexpected cache file {}", rel.display()));
            assert_eq!(
                std::fs::read(&p).unwrap(),
                std::fs::read(twin).unwrap(),
                "{when}: cache entry {} is not whole",
                rel.display()
            );
        }
        for (rel, p) in outputs(&out) {
            let name = rel.to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            match name.as_str() {
                "report.json" => assert_eq!(accuracies(&p), want_acc, "{when}"),
                "report.html" => assert!(text.trim_end().ends_with("</html>"), "{when}: html cut"),
                "report.md" => {
                    let whole = std::fs::read_to_string(ref_out.join("report.md")).unwrap();
                    // Same sections as the reference (timings may differ).
                    assert_eq!(
                        text.lines().count(),
                        whole.lines().count(),
                        "{when}: md cut"
                    );
                }
                other => panic!("{when}: unexpected output {other}"),
            }
        }
    };
    let mut killed = 0;
    for round in ["fresh", "over a finished run"] {
        if round != "fresh" {
            run_ok(&args(&out, &cache));
            check("after a full run");
        }
        for f in FRACTIONS {
            if round != "fresh" {
                // Over finished reports, with the cache entries being
                // written again.
                std::fs::remove_dir_all(&cache).unwrap();
            }
            if run_killed(&args(&out, &cache), full.mul_f64(f)) {
                killed += 1;
            }
            check(&format!("{round}, killed at {f} of {full:?}"));
            if round != "fresh" {
                for f in ["report.json", "report.md", "report.html"] {
                    assert!(
                        out.join(f).is_file(),
                        "{f} of the finished run must survive"
                    );
                }
            }
        }
    }
    assert!(
        killed >= 6,
        "only {killed} runs were still going when killed"
    );
    run_ok(&args(&out, &cache));
    check("after the rerun");
    assert_eq!(accuracies(&out.join("report.json")), want_acc);
    assert_eq!(
        outputs(&cache).keys().collect::<Vec<_>>(),
        want_cache.keys().collect::<Vec<_>>()
    );
    // The killed runs' report temporaries are gone after the rerun.
    let mut left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["report.html", "report.json", "report.md"]);
}
