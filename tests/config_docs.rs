//! `docs/configuration.md` against the typed configuration: every key the
//! code reads is documented, and every documented key is one the code
//! reads.
//!
//! Keys from the code are the dotted paths of the parsed configurations
//! serialised back to TOML: the default configuration, every file in
//! `models/`, and every ```toml block of the page itself (so a key that is
//! only present when set, an `Option` or an enum variant's field, is
//! covered by the page's own examples, which must parse). Front-end keys
//! come from the resolved `FrontendOptions` and `LearnConfig`, not from the
//! text, so a documented key the front end does not know fails too.
//! Documented keys are the first cell of each table row written as
//! `` `dotted.key` ``.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use speechfront::experiment::ExperimentConfig;
use speechfront::frontend::{Feature, FrontendOptions, Preset};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Dotted leaf paths of a TOML value with the leaf's value as text. Arrays
/// are leaves (`classifier.hidden`), tables are walked.
fn flatten(prefix: &str, v: &toml::Value, out: &mut BTreeMap<String, String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

fn to_value<T: serde::Serialize>(x: &T) -> toml::Value {
    toml::Value::try_from(x).expect("configuration serialises to TOML")
}

/// Every key of one parsed experiment configuration.
fn experiment_keys(cfg: &ExperimentConfig, out: &mut BTreeMap<String, String>) {
    let mut v = to_value(cfg);
    // The front end as the code resolves it, not as the text spelled it.
    if let toml::Value::Table(t) = &mut v {
        t.remove("frontend");
    }
    flatten("", &v, out);
    let fe = cfg.frontend_options().expect("front-end options resolve");
    flatten("frontend", &to_value(&fe), out);
    let learn = cfg.learn().expect("learn table parses");
    flatten("frontend.learn", &to_value(&learn), out);
}

/// The ```toml blocks of a Markdown page, with the heading they sit under.
fn toml_blocks(md: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut heading = String::new();
    let mut current: Option<String> = None;
    for line in md.lines() {
        if let Some(buf) = current.as_mut() {
            if line.trim_start().starts_with("```") {
                blocks.push((heading.clone(), current.take().unwrap()));
            } else {
                buf.push_str(line);
                buf.push('\n');
            }
        } else if line.trim_start().starts_with("```toml") {
            current = Some(String::new());
        } else if line.starts_with('#') {
            heading = line.trim_start_matches('#').trim().to_string();
        }
    }
    blocks
}

/// Documented keys: `` `a.b` `` in the first cell of a table row, per
/// section (`## ...` heading).
fn documented_keys(md: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut section = String::new();
    for line in md.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            section = h.trim().to_string();
            continue;
        }
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        if let Some(end) = rest.find('`') {
            out.entry(section.clone())
                .or_default()
                .insert(rest[..end].to_string());
        }
    }
    out
}

const EXPERIMENT: &str = "Experiment configuration";
const EXTRACT: &str = "Extraction configuration";

fn page() -> String {
    std::fs::read_to_string(root().join("docs/configuration.md"))
        .expect("docs/configuration.md exists")
}

/// Keys of the experiment TOML, from the code.
fn code_experiment_keys(md: &str) -> BTreeMap<String, String> {
    let mut keys = BTreeMap::new();
    let default = ExperimentConfig::from_toml_str("", Path::new("default.toml")).unwrap();
    experiment_keys(&default, &mut keys);
    let mut models: Vec<PathBuf> = std::fs::read_dir(root().join("models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    models.sort();
    for path in models {
        let cfg = ExperimentConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
        experiment_keys(&cfg, &mut keys);
    }
    for (heading, text) in toml_blocks(md) {
        if heading.starts_with(EXTRACT) {
            continue;
        }
        let cfg = ExperimentConfig::from_toml_str(&text, Path::new("docs/configuration.md"))
            .unwrap_or_else(|e| panic!("example under `{heading}` does not parse: {e}"));
        experiment_keys(&cfg, &mut keys);
    }
    // Identity keys every file sets for itself.
    keys
}

/// Keys of the `extract --config` TOML: preset, `[audio]`, `[frontend]`.
fn code_extract_keys() -> BTreeSet<String> {
    let mut keys = BTreeMap::new();
    for preset in [Preset::Kaldi, Preset::Librosa] {
        for feature in [Feature::Mfcc, Feature::Fbank, Feature::Spectrogram] {
            let fe = FrontendOptions::preset(preset, feature, 16000.0);
            flatten("frontend", &to_value(&fe), &mut keys);
        }
    }
    let mut out: BTreeSet<String> = keys.into_keys().collect();
    out.extend(
        ["preset", "audio.sample_rate_hz", "audio.channel"]
            .iter()
            .map(|s| s.to_string()),
    );
    out
}

fn diff_message(
    what: &str,
    code: &BTreeMap<String, String>,
    docs: &BTreeSet<String>,
) -> Option<String> {
    let missing: Vec<String> = code
        .iter()
        .filter(|(k, _)| !docs.contains(*k))
        .map(|(k, v)| format!("  `{k}` (e.g. {v})"))
        .collect();
    let extra: Vec<&String> = docs.iter().filter(|k| !code.contains_key(*k)).collect();
    if missing.is_empty() && extra.is_empty() {
        return None;
    }
    Some(format!(
        "{what}:\nin the code, not in docs/configuration.md:\n{}\ndocumented, not in the code: {extra:?}",
        missing.join("\n")
    ))
}

#[test]
fn every_experiment_key_is_documented_and_every_documented_key_exists() {
    let md = page();
    let code = code_experiment_keys(&md);
    let docs = documented_keys(&md);
    let documented = docs.get(EXPERIMENT).cloned().unwrap_or_default();
    if let Some(msg) = diff_message("experiment TOML", &code, &documented) {
        panic!("{msg}");
    }
}

#[test]
fn every_extract_key_is_documented_and_every_documented_key_exists() {
    let md = page();
    let docs = documented_keys(&md);
    let code: BTreeMap<String, String> = code_extract_keys()
        .into_iter()
        .map(|k| (k, String::new()))
        .collect();
    let documented = docs.get(EXTRACT).cloned().unwrap_or_default();
    // The extraction page documents its own keys and refers to the
    // experiment section for `frontend.*`; both together must be exact.
    let experiment = docs.get(EXPERIMENT).cloned().unwrap_or_default();
    let mut both: BTreeSet<String> = documented.clone();
    both.extend(
        experiment
            .iter()
            .filter(|k| k.starts_with("frontend.") && !k.starts_with("frontend.learn"))
            .cloned(),
    );
    let missing: Vec<&String> = code.keys().filter(|k| !both.contains(*k)).collect();
    let extra: Vec<&String> = documented
        .iter()
        .filter(|k| !code.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "extract TOML: undocumented {missing:?}; documented but unknown {extra:?}"
    );
}

#[test]
fn the_page_examples_parse_and_extract_examples_load() {
    let md = page();
    let blocks = toml_blocks(&md);
    assert!(
        blocks.len() >= 2,
        "docs/configuration.md needs an experiment and an extraction example"
    );
    for (heading, text) in blocks {
        if heading.starts_with(EXTRACT) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x.toml");
            std::fs::write(&path, &text).unwrap();
            let flags = speechfront::extract::ExtractFlags {
                inputs: vec![dir.path().to_path_buf()],
                out_dir: dir.path().join("out"),
                config: Some(path.clone()),
                ..Default::default()
            };
            flags
                .resolve()
                .unwrap_or_else(|e| panic!("extraction example under `{heading}`: {e}"));
        }
    }
}
