//! Front-end configuration: a `[frontend]` TOML table merged over each
//! preset, validated by building the front end; an accepted one must run
//! on a short signal and give its declared shape. Byte 0 picks the preset,
//! feature and rate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use speechfront::frontend::{Feature, Frontend, FrontendOptions, Preset};
use speechfront::nn::rng_from_seed;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return;
    };
    let preset = if sel & 1 == 0 { Preset::Kaldi } else { Preset::Librosa };
    let feature = [Feature::Mfcc, Feature::Fbank, Feature::Spectrogram, Feature::Mfcc]
        [usize::from(sel >> 1 & 3)];
    let rate = [8_000.0, 16_000.0, 22_050.0, 44_100.0][usize::from(sel >> 3 & 3)];
    let mut opts = FrontendOptions::preset(preset, feature, rate);
    if opts.merge_toml(&table).is_err() {
        return;
    }
    let Ok(fe) = Frontend::new(&opts) else {
        return;
    };
    let n = (rate as usize) / 4;
    let x: Vec<f32> = (0..n).map(|i| ((i * 7919) % 200) as f32 / 100.0 - 1.0).collect();
    let y = fe.compute(&x, &mut rng_from_seed(1));
    assert_eq!(y.ncols(), fe.dims());
    assert_eq!(y.nrows(), fe.num_frames(n));
});
