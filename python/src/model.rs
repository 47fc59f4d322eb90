//! `speechfront.load_model`: a model saved by `speechfront train`.
//!
//! Everything model-specific goes through [`Handle`], a thin wrapper over
//! the library's public model API (`experiment::persist::load`,
//! `classic::utterance_features`, `ClassicModel::log_posteriors`), so when
//! the saved format or the model type changes (learned front ends), only
//! this file follows.

use std::path::PathBuf;
use std::sync::Mutex;

use ndarray::{Array1, Array2};
use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use speechfront::experiment::classic::{utterance_features, ClassicModel};
use speechfront::experiment::speaker_norm::SpeakerCmvn;
use speechfront::experiment::{item_seed, persist, ExperimentConfig};
use speechfront::frontend::Frontend;

use crate::convert::{rate, samples};
use crate::frontend::value_error;

/// The loaded model: configuration, its front end, the networks.
struct Handle {
    cfg: ExperimentConfig,
    fe: Frontend,
    model: ClassicModel,
    classes: Vec<String>,
}

impl Handle {
    fn load(path: &std::path::Path) -> PyResult<Handle> {
        let (cfg, members) = persist::load(path)
            .map_err(|e| PyOSError::new_err(format!("{}: {e}", path.display())))?;
        if cfg.input.speaker_cmvn != SpeakerCmvn::None {
            return Err(PyValueError::new_err(format!(
                "{}: the model normalises per speaker ([input] speaker_cmvn); \
                 one utterance has no speaker statistics: use `speechfront evaluate`",
                path.display()
            )));
        }
        if !cfg.test.speed.is_empty() || !cfg.test.vtln.is_empty() {
            return Err(PyValueError::new_err(format!(
                "{}: the model averages test-time speed/VTLN variants ([test]), \
                 not available per utterance yet: use `speechfront evaluate`",
                path.display()
            )));
        }
        let fe =
            Frontend::new(&cfg.frontend_options().map_err(value_error)?).map_err(value_error)?;
        let classes = members
            .first()
            .map(|m| m.class_names.clone())
            .unwrap_or_default();
        let input = cfg.input.clone();
        Ok(Handle {
            cfg,
            fe,
            model: ClassicModel { members, input },
            classes,
        })
    }

    /// The classifier's input features of one utterance, `(frames, dims)`.
    /// `key` is the file's path relative to the data folder, which seeds
    /// its dither as `evaluate` does; without it the seed is 0.
    fn features(&self, x: &[f32], key: Option<&str>) -> Array2<f32> {
        let seed = key.map_or(0, |k| item_seed(0, std::path::Path::new(k)));
        utterance_features(&self.fe, x, self.cfg.sample_rate_hz, &self.cfg.input, seed)
    }

    /// Class posteriors of one utterance: the softmax of the model's
    /// utterance scores (log-posteriors averaged over an ensemble and, in
    /// context mode, over frames), so their argmax is `evaluate`'s
    /// prediction and they sum to 1.
    fn proba(&mut self, feats: &Array2<f32>) -> PyResult<Array1<f32>> {
        let lp = self
            .model
            .log_posteriors(&[feats.view()])
            .map_err(value_error)?;
        let row = lp.row(0);
        let top = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let e = row.mapv(|v| (v - top).exp());
        let total = e.sum();
        Ok(e / total)
    }
}

/// A model saved by `speechfront train`: `features`, `predict`,
/// `predict_proba`, `classes`. Inputs as for `Frontend` at the model's
/// sample rate (`sample_rate`).
#[pyclass(module = "speechfront._native", name = "Model")]
pub struct PyModel {
    handle: Mutex<Handle>,
    path: PathBuf,
    classes: Vec<String>,
    rate: u32,
}

impl PyModel {
    fn input(&self, y: &Bound<'_, PyAny>, sr: &Bound<'_, PyAny>) -> PyResult<Vec<f32>> {
        let r = rate(sr)?;
        if r != self.rate {
            return Err(PyValueError::new_err(format!(
                "sr ({r}) differs from the model's sample_rate_hz ({}); resample first",
                self.rate
            )));
        }
        samples(y)
    }

    fn run_proba(&self, py: Python<'_>, x: Vec<f32>, key: Option<String>) -> PyResult<Array1<f32>> {
        py.detach(|| {
            let mut h = self.handle.lock().expect("model lock");
            let f = h.features(&x, key.as_deref());
            h.proba(&f)
        })
    }
}

#[pymethods]
impl PyModel {
    /// The classifier's input features of `y`: the front end, trimming and
    /// input shaping of the model's configuration, `(frames, dims)`.
    #[pyo3(signature = (y, sr, *, key = None))]
    fn features<'py>(
        &self,
        py: Python<'py>,
        y: &Bound<'py, PyAny>,
        sr: &Bound<'py, PyAny>,
        key: Option<String>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let x = self.input(y, sr)?;
        let f = py.detach(|| {
            self.handle
                .lock()
                .expect("model lock")
                .features(&x, key.as_deref())
        });
        Ok(f.into_pyarray(py))
    }

    /// Posterior of each class (in `classes` order), float32.
    #[pyo3(signature = (y, sr, *, key = None))]
    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        y: &Bound<'py, PyAny>,
        sr: &Bound<'py, PyAny>,
        key: Option<String>,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let x = self.input(y, sr)?;
        Ok(self.run_proba(py, x, key)?.into_pyarray(py))
    }

    /// The most probable class name.
    #[pyo3(signature = (y, sr, *, key = None))]
    fn predict(
        &self,
        py: Python<'_>,
        y: &Bound<'_, PyAny>,
        sr: &Bound<'_, PyAny>,
        key: Option<String>,
    ) -> PyResult<String> {
        let x = self.input(y, sr)?;
        let p = self.run_proba(py, x, key)?;
        let best = p
            .iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
                if v > bv {
                    (i, v)
                } else {
                    (bi, bv)
                }
            })
            .0;
        Ok(self.classes[best].clone())
    }

    #[getter]
    fn classes(&self) -> Vec<String> {
        self.classes.clone()
    }

    #[getter]
    fn sample_rate(&self) -> u32 {
        self.rate
    }

    fn __repr__(&self) -> String {
        format!(
            "Model({:?}, classes={:?})",
            self.path.display().to_string(),
            self.classes
        )
    }
}

/// Loads a model file written by `speechfront train --model-out`.
#[pyfunction]
pub fn load_model(path: PathBuf) -> PyResult<PyModel> {
    let h = Handle::load(&path)?;
    let classes = h.classes.clone();
    let rate = h.cfg.sample_rate_hz;
    Ok(PyModel {
        handle: Mutex::new(h),
        path,
        classes,
        rate,
    })
}
