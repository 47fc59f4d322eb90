//! Tests of the options: derived sizes, dims, TOML merging.

use super::*;

#[test]
fn kaldi_sizes_at_16k_and_8k() {
    let mut o = FrontendOptions::default();
    assert_eq!(
        (o.frame_length(), o.frame_shift(), o.fft_size()),
        (400, 160, 512)
    );
    o.sample_rate_hz = 8000.0;
    assert_eq!(
        (o.frame_length(), o.frame_shift(), o.fft_size()),
        (200, 80, 256)
    );
    assert_eq!(o.num_fft_bins(), 129);
    assert_eq!(o.mel_high_freq_hz(), 4000.0);
    o.mel.high_freq_hz = -400.0;
    assert_eq!(o.mel_high_freq_hz(), 3600.0);
}

#[test]
fn sample_overrides_and_explicit_fft() {
    let mut o = FrontendOptions::default();
    o.frame.frame_length_samples = Some(300);
    o.frame.round_to_power_of_two = false;
    assert_eq!(o.fft_size(), 300);
    o.frame.fft_size = Some(1024);
    assert_eq!(o.fft_size(), 1024);
}

#[test]
fn dims_follow_feature_and_deltas() {
    let mut o = FrontendOptions::default();
    assert_eq!(o.dims(), 13);
    o.post.deltas = true;
    assert_eq!(o.dims(), 39);
    o.feature = Feature::Fbank;
    o.post.deltas = false;
    assert_eq!(o.dims(), 24, "23 bins + energy");
    o.feature = Feature::Spectrogram;
    assert_eq!(o.dims(), 257);
}

#[test]
fn merge_toml_changes_only_given_keys() {
    let mut o = FrontendOptions::default();
    let t: toml::Table =
        toml::from_str("sample_rate_hz = 8000\n[mel]\nnum_bins = 40\n[compress]\ntop_db = 60.0\n")
            .unwrap();
    o.merge_toml(&t).unwrap();
    assert_eq!(o.sample_rate_hz, 8000.0);
    assert_eq!(o.mel.num_bins, 40);
    assert_eq!(o.mel.low_freq_hz, 20.0, "untouched key kept");
    assert_eq!(o.compress.top_db, Some(60.0));
    assert_eq!(o.frame, FrameOptions::default());
}

#[test]
fn merge_toml_round_trips_every_preset_value() {
    let mut o = FrontendOptions::default();
    o.compress.top_db = Some(80.0);
    o.frame.fft_size = Some(2048);
    let before = o.clone();
    o.merge_toml(&toml::Table::new()).unwrap();
    assert_eq!(o, before);
}

#[test]
fn merge_toml_rejects_typos_and_bad_types() {
    let mut o = FrontendOptions::default();
    let t: toml::Table = toml::from_str("[mel]\nnum_bns = 40\n").unwrap();
    let err = o.merge_toml(&t).unwrap_err().to_string();
    assert!(err.contains("num_bns"), "{err}");
    let t: toml::Table = toml::from_str("[window]\nkind = \"triangle\"\n").unwrap();
    let err = o.merge_toml(&t).unwrap_err().to_string();
    assert!(err.contains("triangle"), "{err}");
    assert_eq!(
        o,
        FrontendOptions::default(),
        "failed merge leaves options unchanged"
    );
}
