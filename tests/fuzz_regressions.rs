//! Inputs the fuzz targets (fuzz/, docs/fuzzing.md) found troublesome, kept
//! as regression tests of the normal suite. Each file under
//! tests/fixtures/fuzz/ is named after its target; its first bytes are the
//! target's option selectors, as in fuzz/fuzz_targets/.

use std::path::Path;

use speechfront::audio::{decode_bytes, AudioErrorKind, DecodeOptions, MAX_SAMPLE_RATE_HZ};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fuzz")
            .join(name),
    )
    .unwrap()
}

/// extract_bytes found an MP3 whose frame headers give 248,913,728 Hz:
/// the front end at that rate planned an FFT of millions of points (15 s
/// per 2 KB file, a libFuzzer timeout). Now the decoder refuses the rate.
#[test]
fn an_mp3_declaring_a_248_mhz_rate_is_refused_by_the_decoder() {
    let data = fixture("extract_bytes_mp3_rate_248913728.bin");
    // Selectors: byte 0 = 2 (Kaldi fbank), byte 1 = 10 (own rate, "x.mp3").
    assert_eq!(&data[..2], &[2, 10]);
    let e = decode_bytes(&data[2..], Path::new("x.mp3"), &DecodeOptions::default()).unwrap_err();
    assert!(
        matches!(e.kind, AudioErrorKind::SampleRateTooHigh(248_913_728)),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "x.mp3: sample rate 248913728 Hz is above the 768000 Hz this tool reads (corrupt header?)"
    );
}

/// The same bound for WAV headers, streamed or decoded whole.
#[test]
fn a_wav_declaring_a_rate_above_the_bound_is_refused() {
    let mut wav = Vec::new();
    let data = [0u8; 8];
    let rate = MAX_SAMPLE_RATE_HZ + 1;
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data.len() as u32).to_le_bytes());
    wav.extend_from_slice(&data);
    let e = decode_bytes(&wav, Path::new("x.wav"), &DecodeOptions::default()).unwrap_err();
    assert!(
        matches!(e.kind, AudioErrorKind::SampleRateTooHigh(r) if r == rate),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("high.wav");
    std::fs::write(&file, &wav).unwrap();
    let e = speechfront::audio::open(&file, &DecodeOptions::default())
        .err()
        .expect("refused when opened for streaming too");
    assert!(
        matches!(e.kind, AudioErrorKind::SampleRateTooHigh(_)),
        "{e}"
    );
    // At the bound itself the file decodes.
    wav[24..28].copy_from_slice(&MAX_SAMPLE_RATE_HZ.to_le_bytes());
    wav[28..32].copy_from_slice(&(MAX_SAMPLE_RATE_HZ * 2).to_le_bytes());
    let a = decode_bytes(&wav, Path::new("x.wav"), &DecodeOptions::default()).unwrap();
    assert_eq!((a.sample_rate_hz, a.samples.len()), (MAX_SAMPLE_RATE_HZ, 4));
}

/// frontend_config found `[post] delta_order = 457` (and 915): accepted,
/// it made ~6000-column features at a quadratic cost (a timeout). Huge
/// frame lengths and FFT sizes had the same effect, and a frame length
/// near `usize::MAX` overflowed rounding to a power of two. Now each is
/// refused by the front end's validation, naming the field.
#[test]
fn huge_delta_orders_windows_and_frames_are_refused() {
    use speechfront::frontend::{Feature, Frontend, FrontendOptions, Preset};
    let fixture_text = fixture("frontend_config_delta_order_457.bin");
    let text = std::str::from_utf8(&fixture_text[1..]).unwrap();
    let cases = [
        (text, "post.delta_order (457) must be <= 8"),
        ("post = { deltas = true, delta_window = 51 }", "post.delta_window (51) must be <= 50"),
        ("frame = { fft_size = 65537 }", "frame.fft_size (65537) must be <= 65536"),
        (
            "frame = { frame_length_ms = 1e30 }",
            "frame.frame_length_ms (1000000000000000000000000000000) gives 18446744073709551615 samples at 16000 Hz, more than 65536",
        ),
        (
            "frame = { frame_length_samples = 70000 }",
            "frame.frame_length_samples (70000) gives 70000 samples at 16000 Hz, more than 65536",
        ),
    ];
    for (toml_text, want) in cases {
        let table: toml::Table = toml_text.parse().unwrap();
        let mut o = FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc, 16_000.0);
        o.merge_toml(&table).unwrap();
        let e = Frontend::new(&o).err().expect("refused");
        assert!(e.to_string().contains(want), "{toml_text}: {e}");
    }
    // The bounds themselves are accepted.
    let table: toml::Table = "post = { deltas = true, delta_order = 8, delta_window = 50 }\nframe = { fft_size = 65536 }"
        .parse()
        .unwrap();
    let mut o = FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc, 16_000.0);
    o.merge_toml(&table).unwrap();
    assert!(Frontend::new(&o).is_ok());
}
