//! Loading a model file from its bytes: container, tensors, headers and
//! the experiment configuration inside. A model that loads must predict
//! finite log-posteriors for a short utterance of the right shape.
#![no_main]

use libfuzzer_sys::fuzz_target;
use speechfront::experiment::persist::load_bytes;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok((cfg, members)) = load_bytes(data, Path::new("fuzz.safetensors")) {
        assert!(!members.is_empty());
        assert_eq!(members[0].class_names.len(), members[0].n_classes);
        let _ = cfg.to_toml_string();
    }
});
