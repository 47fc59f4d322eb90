//! Pairing each learned configuration with its hand-crafted twin and the
//! paired interval of their accuracy difference (the report's twin table).
//!
//! # Twins
//! The twin of a configuration with learned stages is the hand-crafted
//! configuration that is equal to it once both lose their name,
//! description and `[frontend.learn]` table ([`twin_key`]): the same
//! recipe, the stage learned or not. `models/twins/*.toml` are written that
//! way against `models/default.toml`.
//!
//! # The interval
//! Both configurations decide the same test utterances in the same folds
//! with the same seeds, so decisions pair up by (fold, seed, utterance).
//! The difference of accuracies is the mean of the per-pair differences
//! `d = [learned right] - [twin right]`; its 95 % interval comes from a
//! paired bootstrap: 2000 resamples of the pairs with replacement (a fixed
//! seed, so the same report gives the same interval), 2.5 and 97.5
//! percentiles. Resampling pairs rather than each side keeps what the two
//! share (the hard utterances both miss), which is what makes a paired
//! interval narrower than two separate ones. Within noise: the interval
//! holds 0.

use std::collections::BTreeMap;

use rand::RngExt;

use super::config::ExperimentConfig;
use crate::frontend::learned::StageConfig;
use crate::report::TwinRow;

/// The learned stages of `cfg` in processing order, each with its kind
/// and start, e.g. `mel (matrix, classic init)`.
pub fn learned_stages(cfg: &ExperimentConfig) -> Vec<String> {
    fn name<K: serde::Serialize>(stage: &str, c: &Option<StageConfig<K>>) -> Option<String> {
        let c = c.as_ref().filter(|c| c.learn)?;
        let word = |v: serde_json::Value| v.as_str().map(str::to_string).unwrap_or_default();
        let kind = word(serde_json::to_value(&c.kind).unwrap_or_default());
        let init = word(serde_json::to_value(c.init).unwrap_or_default());
        Some(format!("{stage} ({kind}, {init} init)"))
    }
    let Ok(l) = cfg.learn() else {
        return Vec::new();
    };
    [
        name("pre-emphasis", &l.preemph),
        name("spectrum", &l.spectrum),
        name("mel", &l.mel),
        name("compression", &l.compress),
        name("DCT", &l.dct),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The configuration without what a twin may differ in: name,
/// description, `[frontend.learn]`.
pub fn twin_key(cfg: &ExperimentConfig) -> String {
    let mut c = cfg.clone();
    c.name.clear();
    c.description.clear();
    c.frontend.remove("learn");
    c.to_toml_string()
}

/// One test decision: (fold, seed, corpus item) -> right or wrong.
pub type Decisions = BTreeMap<(usize, u64, usize), bool>;

/// Mean of `d` and its 95 % percentile-bootstrap interval over
/// `resamples` draws seeded by `seed`.
pub fn paired_bootstrap(d: &[f64], resamples: usize, seed: u64) -> (f64, f64, f64) {
    let n = d.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mean = d.iter().sum::<f64>() / n as f64;
    let mut rng = crate::nn::rng_from_seed(seed);
    let mut means: Vec<f64> = (0..resamples.max(1))
        .map(|_| (0..n).map(|_| d[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let at = |q: f64| means[((q * (means.len() - 1) as f64).round() as usize).min(means.len() - 1)];
    (mean, at(0.025), at(0.975))
}

/// The twin row of `learned` against `twin` from their decisions.
pub fn twin_row(
    learned: &str,
    twin: &str,
    stages: Vec<String>,
    a: &Decisions,
    b: &Decisions,
) -> Option<TwinRow> {
    let pairs: Vec<(bool, bool)> = a
        .iter()
        .filter_map(|(k, &x)| b.get(k).map(|&y| (x, y)))
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let d: Vec<f64> = pairs
        .iter()
        .map(|&(x, y)| f64::from(u8::from(x)) - f64::from(u8::from(y)))
        .collect();
    let (diff, lo, hi) = paired_bootstrap(&d, 2000, 0x7717);
    let n = pairs.len() as f64;
    Some(TwinRow {
        learned: learned.to_string(),
        twin: twin.to_string(),
        stages,
        pairs: pairs.len(),
        learned_accuracy: pairs.iter().filter(|p| p.0).count() as f64 / n,
        twin_accuracy: pairs.iter().filter(|p| p.1).count() as f64 / n,
        difference: diff,
        ci_low: lo,
        ci_high: hi,
        learned_only: pairs.iter().filter(|p| p.0 && !p.1).count(),
        twin_only: pairs.iter().filter(|p| !p.0 && p.1).count(),
    })
}

/// Every (learned, twin) row of the configurations `cfgs` with their
/// decisions (same order); configurations without a twin are left out.
pub fn twin_rows(cfgs: &[&ExperimentConfig], decisions: &[Decisions]) -> Vec<TwinRow> {
    let keys: Vec<String> = cfgs.iter().map(|c| twin_key(c)).collect();
    let mut rows = Vec::new();
    for (i, c) in cfgs.iter().enumerate() {
        if !c.has_learned_stage() {
            continue;
        }
        let twin = (0..cfgs.len()).find(|&j| !cfgs[j].has_learned_stage() && keys[j] == keys[i]);
        if let Some(j) = twin {
            let stages = learned_stages(c);
            if let Some(r) = twin_row(&c.name, &cfgs[j].name, stages, &decisions[i], &decisions[j])
            {
                rows.push(r);
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(t: &str) -> ExperimentConfig {
        ExperimentConfig::from_toml_str(t, Path::new("x.toml")).unwrap()
    }

    #[test]
    fn twins_differ_only_in_the_learn_table() {
        let base = "[input]\ncontext = 3\n[frontend]\npost = { deltas = true }\n";
        let hand = parse(&format!("name = \"a\"\n{base}"));
        let learned = parse(&format!(
            "name = \"b\"\ndescription = \"x\"\n{base}[frontend.learn]\nmel = {{ learn = true }}\n"
        ));
        let other = parse("[input]\ncontext = 4\n[frontend.learn]\nmel = { learn = true }\n");
        assert_eq!(twin_key(&hand), twin_key(&learned));
        assert_ne!(twin_key(&hand), twin_key(&other));
        let mut a = Decisions::new();
        let mut b = Decisions::new();
        for i in 0..100 {
            a.insert((0, 0, i), i % 10 != 0); // 90 %
            b.insert((0, 0, i), i % 5 != 0); // 80 %
        }
        let rows = twin_rows(&[&hand, &learned, &other], &[b.clone(), a.clone(), a]);
        assert_eq!(rows.len(), 1, "the other configuration has no twin");
        let r = &rows[0];
        assert_eq!(
            (r.learned.as_str(), r.twin.as_str(), r.pairs),
            ("b", "a", 100)
        );
        assert!((r.difference - 0.1).abs() < 1e-12);
        // Every item the learned one misses, the twin misses too: 10 pairs
        // favour the learned one, none the twin.
        assert_eq!((r.learned_only, r.twin_only), (10, 0));
        assert!(
            r.ci_low > 0.0 && r.ci_high <= 0.2 && !r.within_noise(),
            "{r:?}"
        );
    }

    #[test]
    fn every_learned_twin_in_models_has_its_hand_crafted_twin() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        let paths = crate::experiment::config::config_paths(&[root.clone(), root.join("twins")])
            .unwrap();
        let cfgs: Vec<ExperimentConfig> = paths
            .iter()
            .map(|p| ExperimentConfig::load(p).unwrap())
            .collect();
        let hand: Vec<String> = cfgs
            .iter()
            .filter(|c| !c.has_learned_stage())
            .map(twin_key)
            .collect();
        let mut paired = 0;
        for (c, p) in cfgs.iter().zip(&paths) {
            if c.has_learned_stage() && p.parent().is_some_and(|d| d.ends_with("twins")) {
                assert!(
                    hand.contains(&twin_key(c)),
                    "{} has no hand-crafted twin in models/ or models/twins/",
                    p.display()
                );
                assert!(!learned_stages(c).is_empty());
                paired += 1;
            }
        }
        assert!(paired >= 7, "{paired} twins");
    }

    #[test]
    fn a_tiny_difference_is_within_noise_and_the_interval_is_seeded() {
        let d: Vec<f64> = (0..200)
            .map(|i| match i % 40 {
                0 => 1.0,
                1 | 2 => -1.0,
                _ => 0.0,
            })
            .collect();
        let (m, lo, hi) = paired_bootstrap(&d, 2000, 1);
        assert!((m + 0.025).abs() < 1e-12);
        assert!(lo < 0.0 && hi > 0.0, "[{lo}, {hi}]");
        assert_eq!(paired_bootstrap(&d, 2000, 1), (m, lo, hi));
    }
}
