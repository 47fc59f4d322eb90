//! WAV decoder tests: every supported encoding against hound's own sample
//! iterator (the slow oracle), and every kind of broken header.

use crate::audio::wavgen;
use crate::audio::{load, AudioErrorKind, ChannelSelect, DecodeOptions};
use std::path::{Path, PathBuf};

/// Deterministic test signal: a sweep of codes covering the full range.
fn code(i: usize, ch: usize, bits: u16) -> i32 {
    let max = (1i64 << (bits - 1)) - 1;
    let x = ((i * 7919 + ch * 104_729) % 2001) as i64 - 1000;
    (x * max / 1000) as i32
}

fn write_hound(path: &Path, channels: u16, bits: u16, float: bool, frames: usize) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: 16_000,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..frames {
        for ch in 0..usize::from(channels) {
            if float {
                w.write_sample(code(i, ch, 16) as f32 / 32_768.0).unwrap();
            } else if bits == 8 {
                w.write_sample(code(i, ch, 8) as i8).unwrap();
            } else {
                w.write_sample(code(i, ch, bits)).unwrap();
            }
        }
    }
    w.finalize().unwrap();
}

/// The oracle: hound's iterator, scaled by the container's full scale and
/// averaged over channels with the same f32 arithmetic as the decoder.
fn hound_reference(path: &Path) -> Vec<f32> {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let channels = usize::from(spec.channels);
    let values: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| s.unwrap()).collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.unwrap() as f32 * scale)
                .collect()
        }
    };
    let inv = 1.0 / channels as f32;
    values
        .chunks_exact(channels)
        .map(|f| {
            if channels == 1 {
                f[0]
            } else {
                f.iter().sum::<f32>() * inv
            }
        })
        .collect()
}

#[test]
fn every_encoding_matches_hound_iterator() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (8, false),
        (16, false),
        (24, false),
        (32, false),
        (32, true),
    ];
    for (bits, float) in cases {
        // 1 and 2 channels use the plain fmt chunk for <= 16 bits; 3 channels
        // and > 16 bits make hound write WAVE_FORMAT_EXTENSIBLE.
        for channels in [1u16, 2, 3] {
            let path = dir.path().join(format!("b{bits}_f{float}_c{channels}.wav"));
            // 70,000 frames cross several 64 KiB read blocks.
            write_hound(&path, channels, bits, float, 70_000);
            let audio = load(&path, &DecodeOptions::default()).unwrap();
            let expected = hound_reference(&path);
            assert_eq!(audio.samples.len(), 70_000, "{}", path.display());
            assert_eq!(audio.source_channels, usize::from(channels));
            assert_eq!(audio.sample_rate_hz, 16_000);
            // Same arithmetic on both sides: bit-identical.
            assert_eq!(audio.samples, expected, "{}", path.display());
            // [-1, 1], not [-1, 1): the 32-bit code i32::MAX rounds to 1.0 in f32.
            assert!(audio.samples.iter().all(|x| (-1.0..=1.0).contains(x)));
        }
    }
}

#[test]
fn unsigned_8bit_midpoint_is_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u8.wav");
    let bytes = wavgen::wav(
        &wavgen::fmt_body(wavgen::PCM, 1, 8000, 8, 8),
        &[0, 128, 255],
    );
    std::fs::write(&path, bytes).unwrap();
    let audio = load(&path, &DecodeOptions::default()).unwrap();
    assert_eq!(audio.samples, vec![-1.0, 0.0, 127.0 / 128.0]);
}

#[test]
fn extensible_20_bits_in_24_bit_containers() {
    // Valid bits are left-justified: the container's full scale applies.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ext20.wav");
    let codes: [i32; 3] = [-(1 << 23), 1 << 22, (1 << 23) - 16];
    let data: Vec<u8> = codes
        .iter()
        .flat_map(|c| c.to_le_bytes()[..3].to_vec())
        .collect();
    std::fs::write(
        &path,
        wavgen::wav(&wavgen::fmt_extensible(1, 8000, 20, 24), &data),
    )
    .unwrap();
    let audio = load(&path, &DecodeOptions::default()).unwrap();
    let scale = 1.0 / 8_388_608.0;
    let expected: Vec<f32> = codes.iter().map(|&c| c as f32 * scale).collect();
    assert_eq!(audio.samples, expected);
}

#[test]
fn channel_selection_and_missing_channel() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stereo.wav");
    let pairs: [i16; 6] = [100, -100, 200, -200, 300, -300];
    let data: Vec<u8> = pairs.iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::write(
        &path,
        wavgen::wav(&wavgen::fmt_body(wavgen::PCM, 2, 8000, 16, 16), &data),
    )
    .unwrap();
    let right = DecodeOptions {
        channel: ChannelSelect::Channel(1),
        ..Default::default()
    };
    let audio = load(&path, &right).unwrap();
    let expected: Vec<f32> = [-100.0f32, -200.0, -300.0]
        .iter()
        .map(|v| v / 32_768.0)
        .collect();
    assert_eq!(audio.samples, expected);
    let mixed = load(&path, &DecodeOptions::default()).unwrap();
    assert_eq!(mixed.samples, vec![0.0; 3]);
    let third = DecodeOptions {
        channel: ChannelSelect::Channel(2),
        ..Default::default()
    };
    let err = load(&path, &third).unwrap_err();
    assert!(
        matches!(err.kind, AudioErrorKind::NoSuchChannel { .. }),
        "{err}"
    );
}

#[test]
fn resampling_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tone.wav");
    std::fs::write(&path, wavgen::pcm16(8000, &wavgen::tone_i16(8000, 8000))).unwrap();
    let opts = DecodeOptions {
        sample_rate_hz: Some(16_000),
        ..Default::default()
    };
    let audio = load(&path, &opts).unwrap();
    assert_eq!(audio.sample_rate_hz, 16_000);
    assert_eq!(audio.source_rate_hz, 8000);
    assert!((audio.samples.len() as i64 - 16_000).abs() <= 1);
    assert!((audio.seconds() - 1.0).abs() < 1e-3);
}

/// Write `bytes` under `name` and decode it, expecting an error.
fn decode_err(dir: &Path, name: &str, bytes: &[u8]) -> (PathBuf, AudioErrorKind, String) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let err = load(&path, &DecodeOptions::default()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("{}: ", path.display())),
        "message must name the file: {message}"
    );
    (path, err.kind, message)
}

#[test]
fn broken_headers_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = wavgen::pcm16(16_000, &wavgen::tone_i16(16_000, 1600));
    let fmt16 = wavgen::fmt_body(wavgen::PCM, 1, 16_000, 16, 16);
    let data = vec![0u8; 3200];

    let (_, kind, _) = decode_err(d, "empty.wav", &[]);
    assert!(matches!(kind, AudioErrorKind::EmptyFile));
    let (_, kind, msg) = decode_err(d, "text.wav", b"hello, this is not audio\n");
    assert!(matches!(kind, AudioErrorKind::InvalidWav(_)), "{msg}");
    let (_, kind, msg) = decode_err(d, "riff_only.wav", b"RIFF\x04\x00\x00\x00WAVE");
    assert!(
        matches!(kind, AudioErrorKind::TruncatedHeader { .. }),
        "{msg}"
    );
    let (_, kind, msg) = decode_err(d, "cut_header.wav", &good[..30]);
    assert!(
        matches!(kind, AudioErrorKind::TruncatedHeader { .. }),
        "{msg}"
    );
    let (_, kind, msg) = decode_err(d, "cut_data.wav", &good[..1000]);
    assert!(
        matches!(
            kind,
            AudioErrorKind::TruncatedData {
                declared: 3200,
                available: 956
            }
        ),
        "{msg}"
    );
    let huge = wavgen::riff(&[
        (b"fmt ", &fmt16, None),
        (b"data", &data[..100], Some(0xFFFF_FFF0)),
    ]);
    let (_, kind, msg) = decode_err(d, "huge.wav", &huge);
    assert!(
        matches!(
            kind,
            AudioErrorKind::TruncatedData {
                declared: 0xFFFF_FFF0,
                ..
            }
        ),
        "{msg}"
    );
    let zero_ch = wavgen::wav(&wavgen::fmt_body(wavgen::PCM, 0, 16_000, 16, 16), &data);
    let (_, kind, msg) = decode_err(d, "zero_channels.wav", &zero_ch);
    assert!(matches!(kind, AudioErrorKind::ZeroChannels), "{msg}");
    let zero_rate = wavgen::wav(&wavgen::fmt_body(wavgen::PCM, 1, 0, 16, 16), &data);
    let (_, kind, msg) = decode_err(d, "zero_rate.wav", &zero_rate);
    assert!(matches!(kind, AudioErrorKind::ZeroSampleRate), "{msg}");
    let adpcm = wavgen::wav(&wavgen::fmt_body(wavgen::ADPCM, 1, 16_000, 4, 8), &data);
    let (_, kind, msg) = decode_err(d, "adpcm.wav", &adpcm);
    assert!(matches!(kind, AudioErrorKind::UnsupportedCodec(_)), "{msg}");
    assert!(msg.contains("ADPCM"), "{msg}");
    for bits in [12u16, 20] {
        let odd = wavgen::wav(
            &wavgen::fmt_body(wavgen::PCM, 1, 16_000, bits, 24),
            &data[..3000],
        );
        let (_, kind, msg) = decode_err(d, &format!("bits{bits}.wav"), &odd);
        assert!(matches!(kind, AudioErrorKind::InvalidWav(_)), "{msg}");
    }
    let no_samples = wavgen::wav(&fmt16, &[]);
    let (_, kind, msg) = decode_err(d, "no_samples.wav", &no_samples);
    assert!(matches!(kind, AudioErrorKind::NoSamples), "{msg}");
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (_, kind, msg) = decode_err(d, "random.wav", &random);
    assert!(matches!(kind, AudioErrorKind::InvalidWav(_)), "{msg}");
}

#[test]
fn non_finite_float_samples_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bad) in [("nan.wav", f32::NAN), ("inf.wav", f32::NEG_INFINITY)] {
        let mut x = vec![0.25f32; 100];
        x[42] = bad;
        let (_, kind, msg) = decode_err(dir.path(), name, &wavgen::float32(16_000, &x));
        assert!(
            matches!(
                kind,
                AudioErrorKind::NonFinite {
                    frame: 42,
                    channel: 0,
                    ..
                }
            ),
            "{msg}"
        );
    }
}

#[test]
fn riff_content_with_another_extension_is_read_as_wav() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("actually_wav.flac");
    std::fs::write(&path, wavgen::pcm16(8000, &[0, 16_384])).unwrap();
    let audio = load(&path, &DecodeOptions::default()).unwrap();
    assert_eq!(audio.samples, vec![0.0, 0.5]);
}

#[test]
fn blocks_from_open_concatenate_to_the_whole_decode() {
    let dir = tempfile::tempdir().unwrap();
    // Several blocks of file data (64 KiB each), stereo and mono.
    for (channels, frames) in [(1u16, 70_001usize), (2, 40_003)] {
        let path = dir.path().join(format!("long{channels}.wav"));
        write_hound(&path, channels, 16, false, frames);
        let whole = load(&path, &DecodeOptions::default()).unwrap();
        let mut s = crate::audio::open(&path, &DecodeOptions::default()).unwrap();
        assert!(s.decoded().is_none(), "a WAV at its own rate is streamed");
        assert_eq!((s.len, s.sample_rate_hz), (frames, 16_000));
        let (mut got, mut blocks) = (Vec::new(), 0);
        while s.read_block(&mut got).unwrap() > 0 {
            blocks += 1;
        }
        assert!(blocks > 1, "{channels} channel(s): one block only");
        assert_eq!(got, whole.samples);
    }
}

#[test]
fn non_finite_sample_in_a_later_block_names_its_frame() {
    let dir = tempfile::tempdir().unwrap();
    let mut x = vec![0.25f32; 50_000];
    x[40_000] = f32::NAN; // in the third 64 KiB block
    let path = dir.path().join("late_nan.wav");
    std::fs::write(&path, wavgen::float32(16_000, &x)).unwrap();
    let mut s = crate::audio::open(&path, &DecodeOptions::default()).unwrap();
    let mut out = Vec::new();
    let err = loop {
        match s.read_block(&mut out) {
            Ok(0) => panic!("NaN not reported"),
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert_eq!(err.path, path);
    assert!(
        matches!(err.kind, AudioErrorKind::NonFinite { frame: 40_000, .. }),
        "{err}"
    );
}
