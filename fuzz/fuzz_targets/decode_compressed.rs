//! FLAC, MP3 and OGG/Vorbis decoding through symphonia, from bytes. The
//! first byte picks the extension hint (the probe itself goes by content)
//! and the channel selection; the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use speechfront::audio::{decode_bytes, ChannelSelect, DecodeOptions};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, file)) = data.split_first() else {
        return;
    };
    let name = ["fuzz.flac", "fuzz.mp3", "fuzz.ogg", "fuzz"][usize::from(sel & 3)];
    let opts = DecodeOptions {
        channel: if sel & 4 == 0 {
            ChannelSelect::Mix
        } else {
            ChannelSelect::Channel(usize::from(sel >> 3 & 1))
        },
        sample_rate_hz: None,
    };
    if let Ok(a) = decode_bytes(file, Path::new(name), &opts) {
        assert!(a.sample_rate_hz > 0);
        assert!(a.samples.iter().all(|v| v.is_finite()));
    }
});
