//! End-to-end tests of `speechfront extract` through the built binary, in
//! temporary folders: a corpus of broken files next to valid ones.

#[path = "common/wavgen.rs"]
mod wavgen;

use speechfront::frontend::{Feature, Frontend, FrontendOptions, Preset};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn speechfront(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_speechfront"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, bytes).unwrap();
    p
}

fn fixture(name: &str) -> Vec<u8> {
    fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/audio")
            .join(name),
    )
    .unwrap()
}

/// The bad files, by name under `bad/`.
fn bad_corpus(dir: &Path) -> Vec<&'static str> {
    let fmt16 = wavgen::fmt_body(wavgen::PCM, 1, 16_000, 16, 16);
    let data = vec![0u8; 3200];
    let good = wavgen::pcm16(16_000, &wavgen::tone_i16(16_000, 1600));
    let random: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8)
        .collect();
    let mut nan = vec![0.1f32; 800];
    nan[400] = f32::NAN;
    let mut inf = vec![0.1f32; 800];
    inf[10] = f32::INFINITY;
    let files: Vec<(&'static str, Vec<u8>)> = vec![
        ("empty.wav", vec![]),
        (
            "text.wav",
            b"This is a text file that was renamed to .wav\n".to_vec(),
        ),
        ("riff_only.wav", b"RIFF\x04\x00\x00\x00WAVE".to_vec()),
        ("truncated_header.wav", good[..30].to_vec()),
        ("truncated_data.wav", good[..1000].to_vec()),
        (
            "zero_channels.wav",
            wavgen::wav(&wavgen::fmt_body(wavgen::PCM, 0, 16_000, 16, 16), &data),
        ),
        (
            "zero_rate.wav",
            wavgen::wav(&wavgen::fmt_body(wavgen::PCM, 1, 0, 16, 16), &data),
        ),
        (
            "adpcm.wav",
            wavgen::wav(&wavgen::fmt_body(wavgen::ADPCM, 1, 16_000, 4, 8), &data),
        ),
        (
            "bits12.wav",
            wavgen::wav(&wavgen::fmt_body(wavgen::PCM, 1, 16_000, 12, 16), &data),
        ),
        (
            "bits20.wav",
            wavgen::wav(
                &wavgen::fmt_body(wavgen::PCM, 1, 16_000, 20, 24),
                &data[..3000],
            ),
        ),
        ("random.wav", random.clone()),
        ("random_flac.flac", random.clone()),
        ("random_mp3.mp3", random),
        ("nan.wav", wavgen::float32(16_000, &nan)),
        ("inf.wav", wavgen::float32(16_000, &inf)),
        ("no_samples.wav", wavgen::wav(&fmt16, &[])),
        (
            "huge_declared.wav",
            wavgen::riff(&[
                (b"fmt ", &fmt16, None),
                (b"data", &data[..64], Some(0xFFFF_FFF0)),
            ]),
        ),
    ];
    for (name, bytes) in &files {
        put(&dir.join("bad"), name, bytes);
    }
    files.into_iter().map(|(n, _)| n).collect()
}

fn hound_wav(path: &Path, rate: u32, channels: u16, bits: u16, float: bool, frames: usize) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let tone = wavgen::tone_i16(rate, frames);
    for &s in &tone {
        for _ in 0..channels {
            match (float, bits) {
                (true, _) => w.write_sample(f32::from(s) / 32_768.0).unwrap(),
                (false, 8) => w.write_sample((s >> 8) as i8).unwrap(),
                (false, 16) => w.write_sample(s).unwrap(),
                (false, b) => w.write_sample(i32::from(s) << (b - 16)).unwrap(),
            }
        }
    }
    w.finalize().unwrap();
}

/// Valid files under `good/`: relative path -> (sample rate, samples), or
/// `None` samples for lossy files whose decoded length the test reads back.
fn good_corpus(dir: &Path) -> Vec<(&'static str, u32, Option<usize>)> {
    let g = dir.join("good");
    hound_wav(&g.join("pcm16.wav"), 16_000, 1, 16, false, 16_000);
    hound_wav(&g.join("sub/pcm24_stereo.wav"), 16_000, 2, 24, false, 8_000);
    hound_wav(&g.join("sub/float_3ch.wav"), 8_000, 3, 32, true, 4_000);
    hound_wav(&g.join("u8.wav"), 8_000, 1, 8, false, 2_000);
    hound_wav(&g.join("pcm32.wav"), 16_000, 1, 32, false, 3_000);
    put(
        &g,
        "short.wav",
        &wavgen::pcm16(16_000, &wavgen::tone_i16(16_000, 100)),
    );
    put(&g, "deep/er/tone.flac", &fixture("tone.flac"));
    put(&g, "tone_ogg.ogg", &fixture("tone.ogg"));
    put(&g, "tone_mp3.mp3", &fixture("tone.mp3"));
    vec![
        ("pcm16.wav", 16_000, Some(16_000)),
        ("sub/pcm24_stereo.wav", 16_000, Some(8_000)),
        ("sub/float_3ch.wav", 8_000, Some(4_000)),
        ("u8.wav", 8_000, Some(2_000)),
        ("pcm32.wav", 16_000, Some(3_000)),
        ("short.wav", 16_000, Some(100)),
        ("deep/er/tone.flac", 16_000, Some(8_000)),
        ("tone_ogg.ogg", 16_000, None),
        ("tone_mp3.mp3", 16_000, None),
    ]
}

/// Read a float32 C-order .npy written by the tool (a small reader written
/// for the test, independent of the crate's).
fn read_npy(path: &Path) -> (usize, usize, Vec<f32>) {
    let bytes = fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let hlen = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
    assert!(header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"));
    let shape = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let dims: Vec<usize> = shape
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let data: Vec<f32> = bytes[10 + hlen..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(data.len(), dims[0] * dims[1]);
    (dims[0], dims[1], data)
}

fn kaldi_frames(rate: u32, n: usize) -> usize {
    let fe = Frontend::new(&FrontendOptions::preset(
        Preset::Kaldi,
        Feature::Mfcc,
        rate as f32,
    ))
    .unwrap();
    fe.num_frames(n)
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bad_files_fail_alone_and_valid_ones_are_extracted() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    let bad = bad_corpus(&corpus);
    let good = good_corpus(&corpus);
    let out_dir = tmp.path().join("out");
    let out_s = out_dir.to_str().unwrap();
    let corpus_s = corpus.to_str().unwrap();
    let out = speechfront(&[
        "extract", corpus_s, "--out", out_s, "--jobs", "2", "--dither", "0",
    ]);

    assert_eq!(out.status.code(), Some(1), "non-zero when files failed");
    let lines = stderr_lines(&out);
    let all = lines.join("\n");
    assert!(
        !all.contains("panicked") && !all.contains("RUST_BACKTRACE"),
        "{all}"
    );
    assert_eq!(
        lines.len(),
        bad.len(),
        "one stderr line per bad file:\n{all}"
    );
    for name in &bad {
        let path = corpus.join("bad").join(name);
        let prefix = format!("{}: ", path.display());
        let matching: Vec<&String> = lines.iter().filter(|l| l.starts_with(&prefix)).collect();
        assert_eq!(matching.len(), 1, "{name}: {all}");
        assert!(
            matching[0].len() > prefix.len() + 5,
            "a reason follows: {}",
            matching[0]
        );
        let npy = out_dir.join("bad").join(name).with_extension("npy");
        assert!(!npy.exists(), "no output for {name}");
    }
    let reason = |name: &str| {
        let prefix = format!("{}: ", corpus.join("bad").join(name).display());
        lines.iter().find(|l| l.starts_with(&prefix)).unwrap()[prefix.len()..].to_string()
    };
    assert!(reason("empty.wav").contains("empty file"));
    assert!(reason("text.wav").contains("no RIFF tag"));
    assert!(reason("truncated_header.wav").contains("truncated WAV header"));
    assert!(reason("riff_only.wav").contains("truncated WAV header"));
    assert!(reason("truncated_data.wav").contains("truncated data"));
    assert!(reason("huge_declared.wav").contains("declares 4294967280 data bytes"));
    assert!(reason("zero_channels.wav").contains("zero channels"));
    assert!(reason("zero_rate.wav").contains("zero sample rate"));
    assert!(reason("adpcm.wav").contains("ADPCM"));
    assert!(reason("bits12.wav").contains("multiple of 8"));
    assert!(reason("nan.wav").contains("non-finite sample NaN at frame 400"));
    assert!(reason("inf.wav").contains("non-finite sample inf at frame 10"));
    assert!(reason("no_samples.wav").contains("no samples"));

    for (rel, rate, n) in &good {
        let npy = out_dir.join("good").join(rel).with_extension("npy");
        let (rows, cols, data) = read_npy(&npy);
        let n = n.unwrap_or_else(|| {
            let a = speechfront::audio::load(&corpus.join("good").join(rel), &Default::default())
                .unwrap();
            a.samples.len()
        });
        assert_eq!((rows, cols), (kaldi_frames(*rate, n), 13), "{rel}");
        assert!(data.iter().all(|x| x.is_finite()), "{rel}");
    }
    let (rows, _, _) = read_npy(&out_dir.join("good/short.npy"));
    assert_eq!(
        rows, 0,
        "shorter than a frame: documented empty (0, 13) output"
    );

    let summary = String::from_utf8_lossy(&out.stdout);
    let total = bad.len() + good.len();
    assert!(
        summary.contains(&format!(
            "extracted {} of {total}; {} failed",
            good.len(),
            bad.len()
        )),
        "{summary}"
    );

    // Manifest: header plus one row per input, statuses and errors.
    let manifest = fs::read_to_string(out_dir.join("manifest.tsv")).unwrap();
    let mut rows = manifest.lines();
    assert_eq!(
        rows.next(),
        Some(
            "input\tstatus\tframes\tdims\tseconds\terror\tkey\toutput\taction\tconfig\tsize\tmtime_ns\tblake3"
        )
    );
    let rows: HashMap<String, Vec<String>> = rows
        .map(|l| {
            let f: Vec<String> = l.split('\t').map(str::to_string).collect();
            (f[0].clone(), f)
        })
        .collect();
    assert_eq!(rows.len(), total);
    for name in &bad {
        let r = &rows[corpus.join("bad").join(name).to_str().unwrap()];
        assert_eq!(r[1], "failed", "{name}");
        assert!(!r[5].is_empty(), "{name} has its error");
    }
    let r = &rows[corpus.join("good/pcm16.wav").to_str().unwrap()];
    assert_eq!(&r[1..5], &["ok", "98", "13", "1.000"]);
    assert_eq!(r[5], "");

    // Rerun: every valid output is skipped and left untouched.
    let pcm16 = out_dir.join("good/pcm16.npy");
    let before = fs::metadata(&pcm16).unwrap().modified().unwrap();
    let again = speechfront(&[
        "extract", corpus_s, "--out", out_s, "--jobs", "2", "--dither", "0",
    ]);
    assert_eq!(again.status.code(), Some(1), "bad files still fail");
    let summary = String::from_utf8_lossy(&again.stdout);
    assert!(
        summary.contains(&format!("extracted 0 of {total}")),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("{} skipped", good.len())),
        "{summary}"
    );
    assert_eq!(fs::metadata(&pcm16).unwrap().modified().unwrap(), before);
    let manifest = fs::read_to_string(out_dir.join("manifest.tsv")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.contains("good/pcm16.wav"))
        .unwrap();
    assert_eq!(
        line.split('\t').collect::<Vec<_>>()[1..5],
        ["skipped", "98", "13", "1.000"]
    );

    // --force recomputes; same options and seed give the same bytes.
    let old_bytes = fs::read(&pcm16).unwrap();
    let forced = speechfront(&[
        "extract", corpus_s, "--out", out_s, "--dither", "0", "--force",
    ]);
    let summary = String::from_utf8_lossy(&forced.stdout);
    assert!(
        summary.contains(&format!("extracted {} of {total}", good.len())),
        "{summary}"
    );
    assert_eq!(fs::read(&pcm16).unwrap(), old_bytes);
    // No temporary files are left behind.
    for e in walk(&out_dir) {
        let name = e.file_name().unwrap().to_string_lossy().to_string();
        assert!(!name.contains(".tmp"), "leftover {name}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Read every entry of a Kaldi binary archive through its .scp (a reader
/// written for the test: `key path:offset`, then `\0B FM ` rows cols data).
fn read_scp(scp: &Path) -> Vec<(String, usize, usize, Vec<f32>)> {
    let text = fs::read_to_string(scp).unwrap();
    let mut arks: HashMap<String, Vec<u8>> = HashMap::new();
    text.lines()
        .map(|line| {
            let (key, target) = line.split_once(' ').unwrap();
            let (path, offset) = target.rsplit_once(':').unwrap();
            let ark = arks
                .entry(path.to_string())
                .or_insert_with(|| fs::read(path).unwrap());
            let o: usize = offset.parse().unwrap();
            // The key and a space precede the binary marker.
            assert_eq!(&ark[o - key.len() - 1..o], format!("{key} ").as_bytes());
            assert_eq!(&ark[o..o + 6], b"\0BFM \x04");
            let rows = i32::from_le_bytes(ark[o + 6..o + 10].try_into().unwrap()) as usize;
            assert_eq!(ark[o + 10], 4);
            let cols = i32::from_le_bytes(ark[o + 11..o + 15].try_into().unwrap()) as usize;
            let data = ark[o + 15..o + 15 + rows * cols * 4]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            (key.to_string(), rows, cols, data)
        })
        .collect()
}

#[test]
fn ark_output_matches_npy_output() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    let good = good_corpus(&corpus);
    let c = corpus.join("good");
    let (npy_dir, ark_dir) = (tmp.path().join("npy"), tmp.path().join("ark"));
    let common = ["--dither", "0", "--feature", "fbank", "--deltas"];
    let mut a = vec![
        "extract",
        c.to_str().unwrap(),
        "--out",
        npy_dir.to_str().unwrap(),
    ];
    a.extend(common);
    assert!(speechfront(&a).status.success());
    let mut a = vec![
        "extract",
        c.to_str().unwrap(),
        "--out",
        ark_dir.to_str().unwrap(),
        "--format",
        "ark",
    ];
    a.extend(common);
    let out = speechfront(&a);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries = read_scp(&ark_dir.join("feats.scp"));
    assert_eq!(entries.len(), good.len());
    for (key, rows, cols, data) in entries {
        let (r, c, d) = read_npy(&npy_dir.join(format!("{key}.npy")));
        assert_eq!((rows, cols), (r, c), "{key}");
        // fbank: 23 bins, plus deltas and delta-deltas.
        assert_eq!(cols, 69, "{key}");
        assert_eq!(data, d, "{key}: same numbers in both formats");
    }
    python_readers(&npy_dir, &ark_dir);
}

/// numpy.load and kaldiio on the outputs, when python has them.
fn python_readers(npy_dir: &Path, ark_dir: &Path) {
    let probe = Command::new("python3")
        .args(["-c", "import numpy, kaldiio"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped numpy/kaldiio cross-check: python3 with numpy and kaldiio not found");
        return;
    }
    let script = r#"
import sys, glob, os, numpy, kaldiio
npy_dir, scp = sys.argv[1], sys.argv[2]
feats = kaldiio.load_scp(scp)
n = 0
for key in feats:
    a = feats[key]
    b = numpy.load(os.path.join(npy_dir, key + ".npy"))
    assert a.dtype == numpy.float32 and b.dtype == numpy.float32, (a.dtype, b.dtype)
    assert a.shape == b.shape, (key, a.shape, b.shape)
    assert numpy.array_equal(a, b), key
    n += 1
print(n)
"#;
    let out = Command::new("python3")
        .args([
            "-c",
            script,
            npy_dir.to_str().unwrap(),
            ark_dir.join("feats.scp").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "9");
}

#[test]
fn fatal_configuration_errors_exit_2_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = put(
        tmp.path(),
        "bad.toml",
        b"[frontend]\nmel = { num_binz = 40 }\n",
    );
    let wav = put(
        tmp.path(),
        "a.wav",
        &wavgen::pcm16(16_000, &wavgen::tone_i16(16_000, 4000)),
    );
    let out_dir = tmp.path().join("out");
    let out = speechfront(&[
        "extract",
        wav.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("num_binz"), "{err}");
    assert!(!out_dir.exists(), "nothing written");
}

#[test]
fn missing_input_is_a_failed_file_not_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let wav = put(
        tmp.path(),
        "a.wav",
        &wavgen::pcm16(16_000, &wavgen::tone_i16(16_000, 4000)),
    );
    let missing = tmp.path().join("nope.wav");
    let out_dir = tmp.path().join("out");
    let out = speechfront(&[
        "extract",
        wav.to_str().unwrap(),
        missing.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_lines(&out),
        vec![format!("{}: no such file or folder", missing.display())]
    );
    assert!(out_dir.join("a.npy").exists());
}

#[test]
fn sample_rate_channel_and_config_flags_reach_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    // Stereo 8 kHz: left a tone, right silence.
    let path = tmp.path().join("st.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for s in wavgen::tone_i16(8000, 8000) {
        w.write_sample(s).unwrap();
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    let p = path.to_str().unwrap();
    let run_to = |name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let mut args = vec![
            "extract",
            p,
            "--out",
            out.to_str().unwrap(),
            "--dither",
            "0",
        ];
        args.extend(extra);
        let o = speechfront(&args);
        assert!(
            o.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        read_npy(&out.join("st.npy"))
    };
    // Own rate: 8 kHz Kaldi frames.
    let (rows, cols, _) = run_to("own", &[]);
    assert_eq!((rows, cols), (kaldi_frames(8000, 8000), 13));
    // Resampled to 16 kHz: twice the samples, 16 kHz framing.
    let (rows, _, _) = run_to("up", &["--sample-rate", "16000"]);
    assert_eq!(rows, kaldi_frames(16_000, 16_000));
    // The silent right channel alone: log energy at the floor, far below
    // the tone's. C0 (energy) column compared between the two channels.
    let (_, _, left) = run_to("left", &["--channel", "0"]);
    let (_, _, right) = run_to("right", &["--channel", "1"]);
    assert!(
        left[0] > right[0] + 10.0,
        "tone {} vs silence {}",
        left[0],
        right[0]
    );
    // A config file choosing librosa fbank; a flag overrides its feature.
    let cfg = put(
        tmp.path(),
        "c.toml",
        b"preset = \"librosa\"\n[frontend]\nfeature = \"fbank\"\n",
    );
    let c = cfg.to_str().unwrap();
    let (rows, cols, _) = run_to("cfg", &["--config", c]);
    assert_eq!(
        (rows, cols),
        (1 + 8000 / 512, 128),
        "librosa melspectrogram: 128 mels"
    );
    let (_, cols, _) = run_to("cfg_flag", &["--config", c, "--feature", "mfcc"]);
    assert_eq!(cols, 20, "librosa mfcc: 20 coefficients");
}
