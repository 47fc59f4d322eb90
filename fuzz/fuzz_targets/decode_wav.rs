//! WAV decoding (hound header checks + the block converter) from bytes.
//! The first byte picks the channel selection; the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use speechfront::audio::{decode_bytes, ChannelSelect, DecodeOptions};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, file)) = data.split_first() else {
        return;
    };
    let opts = DecodeOptions {
        channel: match sel % 3 {
            0 => ChannelSelect::Mix,
            c => ChannelSelect::Channel(usize::from(c - 1)),
        },
        sample_rate_hz: None,
    };
    if let Ok(a) = decode_bytes(file, Path::new("fuzz.wav"), &opts) {
        assert!(a.sample_rate_hz > 0);
        assert!(!a.samples.is_empty());
        assert!(a.samples.iter().all(|v| v.is_finite()));
    }
});
