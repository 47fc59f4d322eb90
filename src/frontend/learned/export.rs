//! Writing learned parameters and their classic starting values as `.npy`
//! files, for the report's plots.
//!
//! For each stage and each exported tensor two files are written:
//! `DIR/<stage>.<name>.npy` (current value) and
//! `DIR/<stage>.<name>.classic.npy` (the hand-crafted value it corresponds
//! to). Values are the *effective* ones a plot wants (the mel matrix `V^2`,
//! the log offset `exp(theta)`), not the raw parameters.

use std::path::{Path, PathBuf};

use ndarray::ArrayD;

use super::{LearnedError, LearnedStage};

/// One exported tensor: current effective value and its classic counterpart.
#[derive(Debug, Clone)]
pub struct Exported {
    /// Tensor name within the stage, e.g. `"filters"`.
    pub name: String,
    /// Current effective value.
    pub current: ArrayD<f32>,
    /// The hand-crafted value it started from (or would have, under random init).
    pub classic: ArrayD<f32>,
}

/// Writes every stage's exported tensors into `dir` (created if missing) and
/// returns the paths written, in order.
///
/// Two stages with the same [`LearnedStage::stage`] name would overwrite each
/// other; the pipeline has at most one stage of each kind.
///
/// # Errors
/// [`LearnedError::Io`] when `dir` cannot be created, [`LearnedError::Npy`]
/// naming the file when a write fails.
pub fn export_npy(dir: &Path, stages: &[&dyn LearnedStage]) -> Result<Vec<PathBuf>, LearnedError> {
    std::fs::create_dir_all(dir).map_err(|source| LearnedError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for stage in stages {
        for e in stage.export() {
            for (suffix, value) in [("", &e.current), (".classic", &e.classic)] {
                let name = format!("{}.{}{suffix}.npy", stage.stage(), e.name);
                let path = dir.join(&name);
                // Written under a temporary name and renamed, so an
                // interrupted export never leaves a half-written file.
                let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
                ndarray_npy::write_npy(&tmp, value).map_err(|source| LearnedError::Npy {
                    path: tmp.clone(),
                    source,
                })?;
                std::fs::rename(&tmp, &path).map_err(|source| LearnedError::Io {
                    path: path.clone(),
                    source,
                })?;
                written.push(path);
            }
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::learned::dft::{SpectrumKind, TimeFilterbank};
    use crate::frontend::learned::Init;
    use crate::nn::Layer;

    #[test]
    fn writes_current_and_classic_and_reads_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let window = vec![1.0f32; 8];
        let mut tfb = TimeFilterbank::new(&window, 8, SpectrumKind::Power, true, Init::Classic)
            .expect("valid");
        // Move the parameters so current and classic differ.
        tfb.params_mut()[0].value.mapv_inplace(|v| v + 0.5);
        let paths = export_npy(dir.path(), &[&tfb]).expect("export");
        assert_eq!(paths.len(), 2);
        let cur: ArrayD<f32> = ndarray_npy::read_npy(&paths[0]).expect("read current");
        let cls: ArrayD<f32> = ndarray_npy::read_npy(&paths[1]).expect("read classic");
        assert_eq!(cur.shape(), &[10, 8]);
        assert!(paths[0].ends_with("time_filterbank.weight.npy"));
        assert!(paths[1].ends_with("time_filterbank.weight.classic.npy"));
        // Exact: npy stores f32 bit for bit.
        assert_eq!(cur, tfb.params()[0].value);
        // Classic entries lie in [-1, 1]; adding 0.5 in f32 rounds by at most 6e-8.
        assert!(cls
            .iter()
            .zip(cur.iter())
            .all(|(c, u)| (u - c - 0.5).abs() < 1e-6));
    }

    #[test]
    fn every_stage_exports_current_equal_to_classic_at_classic_init() {
        use crate::frontend::learned::compress::{LogCompress, KALDI_LOG_FLOOR};
        use crate::frontend::learned::dct::LearnedDct;
        use crate::frontend::learned::melbank::{MelMatrix, MelMatrixOptions};
        use crate::frontend::learned::melbank_param::{ParametricMel, ParametricMelOptions};
        use crate::frontend::learned::pcen::{Pcen, PcenConstants};
        use crate::frontend::learned::preemph::{Preemph, KALDI_PREEMPH};

        let param_mel = ParametricMel::new(
            ParametricMelOptions::kaldi(10, 256, 8000.0),
            true,
            Init::Classic,
        )
        .expect("ok");
        let mel = param_mel.filters();
        let stages: Vec<Box<dyn LearnedStage>> = vec![
            Box::new(Preemph::new(200, KALDI_PREEMPH, true, Init::Classic).expect("ok")),
            Box::new(
                TimeFilterbank::new(&[0.5; 200], 256, SpectrumKind::Power, true, Init::Classic)
                    .expect("ok"),
            ),
            Box::new(
                MelMatrix::new(mel.view(), true, Init::Classic, MelMatrixOptions::default())
                    .expect("ok"),
            ),
            Box::new(param_mel),
            Box::new(
                LogCompress::new(10, true, KALDI_LOG_FLOOR, 1.0, true, Init::Classic).expect("ok"),
            ),
            Box::new(Pcen::new(10, PcenConstants::default(), true, Init::Classic).expect("ok")),
            Box::new(LearnedDct::new(10, 6, None, true, true, Init::Classic).expect("ok")),
        ];
        let dir = tempfile::tempdir().expect("temp dir");
        let refs: Vec<&dyn LearnedStage> = stages.iter().map(|s| s.as_ref()).collect();
        let paths = export_npy(dir.path(), &refs).expect("export");
        // preemph 1, tfb 1, mel 1, parametric 2, log 1, pcen 4, dct 2 tensors; 2 files each.
        assert_eq!(paths.len(), 2 * 12);
        for stage in &stages {
            for e in stage.export() {
                assert_eq!(
                    e.current.shape(),
                    e.classic.shape(),
                    "{}.{}",
                    stage.stage(),
                    e.name
                );
                for (c, k) in e.current.iter().zip(e.classic.iter()) {
                    // exp(ln x), sigmoid(logit s), sqrt then square: a few ulp.
                    assert!(
                        (c - k).abs() <= 1e-6 * k.abs().max(1.0),
                        "{}.{}: {c} vs {k}",
                        stage.stage(),
                        e.name
                    );
                }
            }
        }
    }

    #[test]
    fn unwritable_directory_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("plain_file");
        std::fs::write(&file, b"x").expect("write");
        let tfb = TimeFilterbank::new(&[1.0; 4], 4, SpectrumKind::Power, false, Init::Classic)
            .expect("valid");
        let err =
            export_npy(&file.join("sub"), &[&tfb]).expect_err("cannot create dir under a file");
        assert!(err.to_string().contains("plain_file"), "{err}");
    }
}
