//! Experiment configuration (TOML) parsing and validation from a string;
//! an accepted configuration must give a front end that runs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use speechfront::experiment::ExperimentConfig;
use speechfront::frontend::Frontend;
use speechfront::nn::rng_from_seed;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cfg) = ExperimentConfig::from_toml_str(text, Path::new("fuzz.toml")) else {
        return;
    };
    // Validation accepted it: every later step must work.
    let opts = cfg.frontend_options().expect("validated");
    let fe = Frontend::new(&opts).expect("validated");
    let n = (cfg.sample_rate_hz as usize / 2).min(48_000);
    let x: Vec<f32> = (0..n).map(|i| ((i * 7919) % 200) as f32 / 100.0 - 1.0).collect();
    let y = fe.compute(&x, &mut rng_from_seed(1));
    assert_eq!(y.ncols(), fe.dims());
    // The configuration round-trips through the text saved in a model.
    let again = ExperimentConfig::from_toml_str(&cfg.to_toml_string(), Path::new("again.toml"))
        .expect("a saved configuration reloads");
    assert_eq!(again.to_toml_string(), cfg.to_toml_string());
});
