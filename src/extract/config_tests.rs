//! Resolution of flags, config file and preset.

use super::*;
use crate::frontend::{Cmvn, Feature, Preset};
use std::io::Write;

fn flags() -> ExtractFlags {
    ExtractFlags {
        inputs: vec![PathBuf::from("in")],
        out_dir: PathBuf::from("out"),
        ..Default::default()
    }
}

fn with_config(text: &str) -> (tempfile::NamedTempFile, ExtractFlags) {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    let mut fl = flags();
    fl.config = Some(f.path().to_path_buf());
    (f, fl)
}

#[test]
fn defaults_are_kaldi_mfcc_at_each_files_rate() {
    let cfg = flags().resolve().unwrap();
    assert_eq!(cfg.frontend.preset, Preset::Kaldi);
    assert_eq!(cfg.frontend.feature, Feature::Mfcc);
    assert_eq!(cfg.decode.sample_rate_hz, None);
    assert_eq!(cfg.decode.channel, ChannelSelect::Mix);
    let at8k = cfg.frontend.options_at(8000).unwrap();
    assert_eq!(
        at8k,
        FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc, 8000.0)
    );
}

#[test]
fn flags_beat_config_beat_preset() {
    let (_f, mut fl) = with_config(
        "preset = \"librosa\"\n\
         [audio]\nsample_rate_hz = 22050\nchannel = 1\n\
         [frontend]\nfeature = \"fbank\"\nframe = { dither = 0.5 }\nmel = { num_bins = 40 }\n",
    );
    let cfg = fl.clone().resolve().unwrap();
    assert_eq!(
        cfg.frontend.preset,
        Preset::Librosa,
        "config over default preset"
    );
    assert_eq!(
        cfg.frontend.feature,
        Feature::Fbank,
        "config over default feature"
    );
    assert_eq!(cfg.decode.sample_rate_hz, Some(22_050));
    assert_eq!(cfg.decode.channel, ChannelSelect::Channel(1));
    let o = cfg.frontend.options_at(22_050).unwrap();
    assert_eq!(o.frame.dither, 0.5, "config over preset dither");
    assert_eq!(o.mel.num_bins, 40);
    assert_eq!(
        o.sample_scale, 1.0,
        "librosa scale kept where the config is silent"
    );

    fl.preset = Some(Preset::Kaldi);
    fl.feature = Some(Feature::Mfcc);
    fl.dither = Some(0.0);
    fl.sample_rate = Some(16_000);
    fl.channel = Some(0);
    fl.deltas = true;
    fl.cmvn = true;
    let cfg = fl.resolve().unwrap();
    assert_eq!(cfg.frontend.preset, Preset::Kaldi);
    assert_eq!(cfg.decode.sample_rate_hz, Some(16_000));
    assert_eq!(cfg.decode.channel, ChannelSelect::Channel(0));
    let o = cfg.frontend.options_at(16_000).unwrap();
    assert_eq!(o.feature, Feature::Mfcc);
    assert_eq!(o.frame.dither, 0.0);
    assert_eq!(
        o.mel.num_bins, 40,
        "config still applies where no flag speaks"
    );
    assert!(o.post.deltas);
    assert_eq!(o.post.cmvn, Cmvn::Mean);
    assert_eq!(o.sample_scale, 32_768.0, "kaldi preset scale");
}

#[test]
fn frontend_sample_rate_in_config_is_a_fixed_rate() {
    let (_f, fl) = with_config("[frontend]\nsample_rate_hz = 8000.0\n");
    let cfg = fl.resolve().unwrap();
    assert_eq!(cfg.decode.sample_rate_hz, Some(8000));
}

#[test]
fn bad_configs_name_the_problem() {
    let cases = [
        ("colour = 3\n", "unknown key `colour`"),
        ("[audio]\nrate = 8000\n", "[audio]"),
        ("[frontend]\nmel = { num_binz = 40 }\n", "num_binz"),
        ("[frontend]\nfeature = \"mfccc\"\n", "feature"),
        (
            "[frontend]\nmel = { num_bins = 10 }\ndct = { num_ceps = 13 }\n",
            "num_ceps",
        ),
        ("this is = not toml =", ""),
    ];
    for (text, needle) in cases {
        let (_f, fl) = with_config(text);
        let err = fl.resolve().unwrap_err().to_string();
        assert!(err.contains(needle), "{text:?} gave {err}");
    }
    let mut fl = flags();
    fl.dither = Some(-1.0);
    assert!(fl.resolve().unwrap_err().to_string().contains("--dither"));
    let mut fl = flags();
    fl.sample_rate = Some(0);
    assert!(fl.resolve().is_err());
    let mut fl = flags();
    fl.config = Some(PathBuf::from("/definitely/not/here.toml"));
    assert!(fl
        .resolve()
        .unwrap_err()
        .to_string()
        .contains("cannot read config"));
}
