//! Compressed formats: committed fixtures (made by
//! tests/fixtures/audio/make_fixtures.py) and, when sox is installed, files
//! written at run time from a hound WAV.

use crate::audio::{load, AudioErrorKind, ChannelSelect, DecodeOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/audio")
        .join(name)
}

/// The fixtures' left channel: a 440 Hz tone, 0.5 of full scale.
fn tone(i: usize) -> f32 {
    (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 16_000.0).sin() as f32 * 0.5
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
}

#[test]
fn flac_fixture_is_lossless() {
    let left = DecodeOptions {
        channel: ChannelSelect::Channel(0),
        ..Default::default()
    };
    let audio = load(&fixture("tone.flac"), &left).unwrap();
    assert_eq!(audio.sample_rate_hz, 16_000);
    assert_eq!(audio.source_channels, 2);
    assert_eq!(audio.samples.len(), 8000);
    // Lossless: each sample is the int16 code the script wrote, truncated
    // towards zero from the tone, so within one code (1/32768) of it.
    for (i, x) in audio.samples.iter().enumerate() {
        assert!(
            (x - tone(i)).abs() <= 1.0 / 32_768.0 + 1e-7,
            "sample {i}: {x}"
        );
    }
    // Mixed: (L + L/2) / 2 = 0.75 L, up to the int16 rounding of L/2.
    let mixed = load(&fixture("tone.flac"), &DecodeOptions::default()).unwrap();
    for i in 0..8000 {
        assert!((mixed.samples[i] - 0.75 * tone(i)).abs() < 2.0 / 32_768.0);
    }
}

#[test]
fn lossy_fixtures_decode_to_the_tone() {
    for name in ["tone.ogg", "tone.mp3"] {
        let audio = load(&fixture(name), &DecodeOptions::default()).unwrap();
        assert_eq!(audio.sample_rate_hz, 16_000, "{name}");
        assert_eq!(audio.source_channels, 2, "{name}");
        // Encoders pad the start and end (MP3 frames of 1152 samples), so
        // the length is the 8000 written plus at most two frames.
        let n = audio.samples.len();
        assert!((8000..=8000 + 2 * 1152).contains(&n), "{name}: {n} samples");
        // Mixed tone amplitude 0.375: RMS 0.265. Lossy coding at 64 kb/s
        // keeps a pure tone's energy within a few percent.
        let r = rms(&audio.samples[2000..6000]);
        assert!((r - 0.375 / 2f32.sqrt()).abs() < 0.02, "{name}: rms {r}");
    }
}

#[test]
fn truncated_and_garbage_compressed_files_fail() {
    let dir = tempfile::tempdir().unwrap();
    let flac = std::fs::read(fixture("tone.flac")).unwrap();
    let cut = dir.path().join("cut.flac");
    std::fs::write(&cut, &flac[..flac.len() / 2]).unwrap();
    let err = load(&cut, &DecodeOptions::default());
    // A FLAC stream cut mid-frame either fails, or (when cut exactly on a
    // frame boundary) yields fewer samples than its STREAMINFO promises;
    // half-way through a 7 kB file is mid-frame.
    assert!(
        err.is_err(),
        "truncated FLAC decoded: {:?}",
        err.map(|a| a.samples.len())
    );
    let garbage = dir.path().join("noise.mp3");
    let bytes: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::write(&garbage, bytes).unwrap();
    let err = load(&garbage, &DecodeOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with(&garbage.display().to_string()));
    let text = dir.path().join("notes.ogg");
    std::fs::write(&text, "just some text\n").unwrap();
    let err = load(&text, &DecodeOptions::default()).unwrap_err();
    assert!(
        matches!(err.kind, AudioErrorKind::UnrecognisedFormat(_)),
        "{err}"
    );
}

fn have_sox() -> bool {
    Command::new("sox")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn sox_written_flac_and_ogg_match_their_wav() {
    if !have_sox() {
        eprintln!("skipped: sox is not installed (the committed fixtures still run)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("src.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 22_050,
        bits_per_sample: 24,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    for i in 0..22_050i32 {
        w.write_sample((i * 977) % 8_000_000 - 4_000_000).unwrap();
        w.write_sample(-(i * 31) % 4_000_000).unwrap();
    }
    w.finalize().unwrap();
    let reference = load(&wav, &DecodeOptions::default()).unwrap();
    for ext in ["flac", "ogg"] {
        let out = dir.path().join(format!("out.{ext}"));
        let status = Command::new("sox").arg(&wav).arg(&out).status().unwrap();
        assert!(status.success(), "sox failed for {ext}");
        let audio = load(&out, &DecodeOptions::default()).unwrap();
        assert_eq!(audio.sample_rate_hz, 22_050, "{ext}");
        assert_eq!(audio.source_channels, 2, "{ext}");
        if ext == "flac" {
            // Lossless 24-bit: identical samples.
            assert_eq!(audio.samples, reference.samples);
        } else {
            let n = audio.samples.len();
            assert!((22_050..=22_050 + 2048).contains(&n), "ogg length {n}");
        }
    }
}
