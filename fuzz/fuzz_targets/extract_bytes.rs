//! The whole extract path of one file from its bytes: decode (any format,
//! optionally resampled), build the front end at the file's rate, compute
//! the features whole and through the block stream the batch driver uses
//! for WAV files; both must agree.
//! Byte 0 picks preset, feature, deltas and CMVN; byte 1 the resampling.
#![no_main]

use libfuzzer_sys::fuzz_target;
use speechfront::audio::{decode_bytes, DecodeOptions};
use speechfront::frontend::{Feature, Frontend, FrontendOptions, Preset};
use speechfront::nn::rng_from_seed;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let [a, b, file @ ..] = data else {
        return;
    };
    let opts = DecodeOptions {
        sample_rate_hz: match b % 4 {
            0 => Some(8_000),
            1 => Some(16_000),
            _ => None,
        },
        ..DecodeOptions::default()
    };
    let name = ["x.wav", "x.flac", "x.mp3", "x.ogg"][usize::from(b >> 2 & 3)];
    let Ok(audio) = decode_bytes(file, Path::new(name), &opts) else {
        return;
    };
    // Keep executions fast: at most 3 s of audio.
    let samples = &audio.samples[..audio.samples.len().min(3 * audio.sample_rate_hz as usize)];
    let preset = if a & 1 == 0 { Preset::Kaldi } else { Preset::Librosa };
    let feature = [Feature::Mfcc, Feature::Fbank, Feature::Spectrogram, Feature::Mfcc]
        [usize::from(a >> 1 & 3)];
    let mut fo = FrontendOptions::preset(preset, feature, audio.sample_rate_hz as f32);
    let mut table = toml::Table::new();
    let mut post = toml::Table::new();
    post.insert("deltas".into(), toml::Value::Boolean(a & 8 != 0));
    if a & 16 != 0 {
        post.insert("cmvn".into(), toml::Value::String("mean".into()));
    }
    table.insert("post".into(), toml::Value::Table(post));
    if fo.merge_toml(&table).is_err() {
        return;
    }
    // A rate the front end refuses (too low for its mel range) is an
    // error, never a panic.
    let Ok(fe) = Frontend::new(&fo) else {
        return;
    };
    let whole = fe.compute(samples, &mut rng_from_seed(7));
    assert_eq!(whole.ncols(), fe.dims());
    assert_eq!(whole.nrows(), fe.num_frames(samples.len()));
    let mut stream = fe.stream(samples.len());
    let mut rng = rng_from_seed(7);
    for block in samples.chunks(4096) {
        if !stream.wants_samples() {
            break;
        }
        stream.buffer().extend_from_slice(block);
        stream.process(&mut rng);
    }
    let streamed = stream.finish(&mut rng).expect("all samples were given");
    assert_eq!(streamed.dim(), whole.dim());
    for (x, y) in streamed.iter().zip(whole.iter()) {
        assert!(x == y || (x.is_nan() && y.is_nan()), "{x} vs {y}");
    }
});
