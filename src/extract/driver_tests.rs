//! Driver tests through the library: determinism across job counts, the
//! per-rate front-end cache, short files, ark writing and appending.

use super::*;
use crate::audio::wavgen;
use crate::extract::{ExtractFlags, OutputFormat};
use crate::frontend::Preset;
use std::sync::Mutex;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&p, bytes).unwrap();
    p
}

fn config(inputs: Vec<PathBuf>, out: &Path) -> ExtractFlags {
    ExtractFlags {
        inputs,
        out_dir: out.to_path_buf(),
        ..Default::default()
    }
}

/// Run and collect the callback's view too.
fn run_collect(cfg: &ExtractConfig) -> (Summary, Vec<(PathBuf, FileResult)>) {
    let seen = Mutex::new(Vec::new());
    let summary = run(cfg, &|p: &Path, r: &FileResult| {
        seen.lock().unwrap().push((p.to_path_buf(), r.clone()))
    })
    .unwrap();
    (summary, seen.into_inner().unwrap())
}

fn read_npy(path: &Path) -> (usize, usize, Vec<f32>) {
    let bytes = fs::read(path).unwrap();
    let (rows, cols) = npy::read_shape(&mut bytes.as_slice()).unwrap();
    let start = npy::header_f32(rows, cols).len();
    let data = bytes[start..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (rows, cols, data)
}

#[test]
fn file_seed_is_stable_and_key_specific() {
    assert_eq!(file_seed(7, "a/b"), file_seed(7, "a/b"));
    assert_ne!(file_seed(7, "a/b"), file_seed(7, "a/c"));
    assert_ne!(file_seed(7, "a/b"), file_seed(8, "a/b"));
}

#[test]
fn dithered_output_does_not_depend_on_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    for i in 0..6 {
        let tone = wavgen::tone_i16(16_000, 4000 + 700 * i);
        write(
            &corpus,
            &format!("s{}/u{i}.wav", i % 2),
            &wavgen::pcm16(16_000, &tone),
        );
    }
    let mut outputs = Vec::new();
    for jobs in [1, 2] {
        let out = dir.path().join(format!("out{jobs}"));
        let mut flags = config(vec![corpus.clone()], &out);
        flags.jobs = jobs;
        flags.dither = Some(1.0);
        flags.seed = 42;
        let (summary, _) = run_collect(&flags.resolve().unwrap());
        assert_eq!(summary.extracted, 6);
        outputs.push(out);
    }
    for i in 0..6 {
        let rel = format!("s{}/u{i}.npy", i % 2);
        let a = fs::read(outputs[0].join(&rel)).unwrap();
        let b = fs::read(outputs[1].join(&rel)).unwrap();
        assert_eq!(a, b, "{rel} differs between --jobs 1 and 2");
    }
    // And the dither is really on: a different seed changes the numbers.
    let out = dir.path().join("seed43");
    let mut flags = config(vec![corpus.clone()], &out);
    flags.dither = Some(1.0);
    flags.seed = 43;
    run_collect(&flags.resolve().unwrap());
    assert_ne!(
        fs::read(out.join("s0/u0.npy")).unwrap(),
        fs::read(outputs[0].join("s0/u0.npy")).unwrap()
    );
}

#[test]
fn librosa_runs_each_file_at_its_own_rate() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a8k.wav",
        &wavgen::pcm16(8000, &wavgen::tone_i16(8000, 8000)),
    );
    let b = write(
        dir.path(),
        "b22k.wav",
        &wavgen::pcm16(22_050, &wavgen::tone_i16(22_050, 22_050)),
    );
    let out = dir.path().join("out");
    let mut flags = config(vec![a, b], &out);
    flags.preset = Some(Preset::Librosa);
    let (summary, _) = run_collect(&flags.resolve().unwrap());
    assert_eq!(summary.extracted, 2);
    // librosa: centred frames, hop 512 at any rate: 1 + n / 512 frames, 20 MFCCs.
    let (r8, c8, _) = read_npy(&out.join("a8k.npy"));
    let (r22, c22, _) = read_npy(&out.join("b22k.npy"));
    assert_eq!((r8, c8), (1 + 8000 / 512, 20));
    assert_eq!((r22, c22), (1 + 22_050 / 512, 20));
    assert!((summary.audio_seconds - 2.0).abs() < 1e-9);
}

#[test]
fn shorter_than_a_frame_gives_an_empty_matrix() {
    let dir = tempfile::tempdir().unwrap();
    // 100 samples at 16 kHz: under Kaldi's 400-sample frame.
    let short = write(
        dir.path(),
        "short.wav",
        &wavgen::pcm16(16_000, &[1000; 100]),
    );
    let out = dir.path().join("out");
    let (summary, seen) = run_collect(&config(vec![short], &out).resolve().unwrap());
    assert_eq!(summary.extracted, 1);
    assert!(matches!(
        seen[0].1,
        FileResult::Extracted {
            frames: 0,
            dims: 13,
            ..
        }
    ));
    let (rows, cols, data) = read_npy(&out.join("short.npy"));
    assert_eq!((rows, cols, data.len()), (0, 13, 0));
}

/// Minimal Kaldi ark reader for the test: the entry at `offset`.
fn read_ark_entry(ark: &[u8], offset: usize) -> (usize, usize, Vec<f32>) {
    assert_eq!(&ark[offset..offset + 6], b"\0BFM \x04");
    let i32_at = |o: usize| i32::from_le_bytes(ark[o..o + 4].try_into().unwrap()) as usize;
    let rows = i32_at(offset + 6);
    assert_eq!(ark[offset + 10], 4);
    let cols = i32_at(offset + 11);
    let start = offset + 15;
    let data = ark[start..start + rows * cols * 4]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    (rows, cols, data)
}

#[test]
fn ark_matches_npy_and_appends_on_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    for (i, n) in [3000usize, 5000, 7000].iter().enumerate() {
        write(
            &corpus,
            &format!("d/u{i}.wav"),
            &wavgen::pcm16(16_000, &wavgen::tone_i16(16_000, *n)),
        );
    }
    let npy_out = dir.path().join("npy");
    let mut flags = config(vec![corpus.clone()], &npy_out);
    flags.dither = Some(0.0);
    run_collect(&flags.clone().resolve().unwrap());
    let ark_out = dir.path().join("ark");
    flags.out_dir = ark_out.clone();
    flags.format = OutputFormat::Ark;
    // First run on two files only, then the folder: the third is appended.
    flags.inputs = vec![corpus.join("d/u0.wav"), corpus.join("d/u1.wav")];
    run_collect(&flags.clone().resolve().unwrap());
    flags.inputs = vec![corpus.join("d")];
    let (summary, _) = run_collect(&flags.clone().resolve().unwrap());
    assert_eq!((summary.skipped, summary.extracted), (2, 1));
    let ark = fs::read(ark_out.join(ARK_NAME)).unwrap();
    let scp = fs::read_to_string(ark_out.join(SCP_NAME)).unwrap();
    let keys: Vec<&str> = scp
        .lines()
        .map(|l| ark::parse_scp_line(l).unwrap().0)
        .collect();
    assert_eq!(keys, vec!["u0", "u1", "u2"]);
    for line in scp.lines() {
        let (key, path, offset) = ark::parse_scp_line(line).unwrap();
        assert!(Path::new(path).is_absolute());
        let from_ark = read_ark_entry(&ark, offset as usize);
        let from_npy = read_npy(&npy_out.join(format!("d/{key}.npy")));
        assert_eq!(from_ark, from_npy, "{key}");
    }
    // --force writes a fresh archive with the folder's three entries only.
    flags.force = true;
    let (summary, _) = run_collect(&flags.resolve().unwrap());
    assert_eq!(summary.extracted, 3);
    let fresh = fs::read(ark_out.join(ARK_NAME)).unwrap();
    // Same entries in the same order: the appended archive and the fresh
    // one are byte-identical (no stale or duplicated entries).
    assert_eq!(fresh, ark);
    assert_eq!(
        fs::read_to_string(ark_out.join(SCP_NAME))
            .unwrap()
            .lines()
            .count(),
        3
    );
}

#[test]
fn a_rate_the_front_end_refuses_fails_those_files_only() {
    let dir = tempfile::tempdir().unwrap();
    // A mel band up to 6 kHz is valid at 16 kHz and refused at 8 kHz
    // (above Nyquist): only the 8 kHz file fails.
    let low = write(
        dir.path(),
        "low.wav",
        &wavgen::pcm16(8000, &wavgen::tone_i16(8000, 4000)),
    );
    let ok = write(
        dir.path(),
        "ok.wav",
        &wavgen::pcm16(16_000, &wavgen::tone_i16(16_000, 4000)),
    );
    let out = dir.path().join("out");
    let cfg_path = write(
        dir.path(),
        "c.toml",
        b"[frontend]\nmel = { high_freq_hz = 6000.0 }\n",
    );
    let mut flags = config(vec![low, ok], &out);
    flags.config = Some(cfg_path);
    let (summary, seen) = run_collect(&flags.resolve().unwrap());
    assert_eq!((summary.extracted, summary.failed), (1, 1));
    let failed: Vec<&FileResult> = seen
        .iter()
        .map(|(_, r)| r)
        .filter(|r| matches!(r, FileResult::Failed(_)))
        .collect();
    match failed[0] {
        FileResult::Failed(reason) => assert!(reason.contains("front end at 8000 Hz"), "{reason}"),
        _ => unreachable!(),
    }
    assert!(!out.join("low.npy").exists());
    let manifest = fs::read_to_string(out.join(MANIFEST_NAME)).unwrap();
    assert!(manifest.contains("low.wav\tfailed"), "{manifest}");
}
