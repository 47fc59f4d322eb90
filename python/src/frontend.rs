//! `speechfront.Frontend` and `speechfront.OnlineFrontend`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use numpy::{IntoPyArray, PyArray2};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use speechfront::extract::{ExtractFlags, FrontendPlan};
use speechfront::frontend::{self as sf, Feature, OnlineStream, Preset};
use speechfront::nn::rng_from_seed;

use crate::convert::{place_options, rate, samples};

/// A `ValueError` from a library error (its message names field and value).
pub fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn parse_enum<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> PyResult<T> {
    toml::Value::String(s.to_string())
        .try_into::<T>()
        .map_err(|e| PyValueError::new_err(format!("{what} ({s:?}): {}", e.message())))
}

/// What a front end is, independent of the sample rate: the CLI's
/// [`FrontendPlan`] plus the rate fixed by a config, if any.
#[derive(Clone, Debug)]
pub struct Spec {
    pub plan: FrontendPlan,
    pub fixed_rate: Option<u32>,
    pub seed: u64,
}

impl Spec {
    /// From `Frontend(config_or_preset, feature=..., seed=..., **options)`.
    pub fn from_args(
        config_or_preset: &Bound<'_, PyAny>,
        feature: Option<&str>,
        seed: u64,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Spec> {
        let mut spec = if let Ok(s) = config_or_preset.cast::<PyString>() {
            let s = s.to_string();
            if s.ends_with(".toml") || std::path::Path::new(&s).is_file() {
                Spec::from_config(PathBuf::from(s))?
            } else {
                Spec::preset(parse_enum("preset", &s)?)
            }
        } else if let Ok(d) = config_or_preset.cast::<PyDict>() {
            // A dict is the [frontend] table itself.
            let mut spec = Spec::preset(Preset::Kaldi);
            place_options(Some(d), &mut spec.plan.table)?;
            spec
        } else if config_or_preset.hasattr("__fspath__")? {
            let p: PathBuf = config_or_preset.extract()?;
            Spec::from_config(p)?
        } else {
            return Err(PyTypeError::new_err(
                "config_or_preset must be a preset name (\"kaldi\", \"librosa\", \"whisper\"), \
                 a path to a TOML config, or a dict of [frontend] options",
            ));
        };
        spec.seed = seed;
        place_options(kwargs, &mut spec.plan.table)?;
        if let Some(f) = feature {
            spec.plan.feature = parse_enum("feature", f)?;
        } else if let Some(v) = spec.plan.table.get("feature") {
            spec.plan.feature = v.clone().try_into().map_err(|e: toml::de::Error| {
                value_error(format!("feature ({v}): {}", e.message()))
            })?;
        }
        if let Some(v) = spec.plan.table.get("sample_rate_hz") {
            let r = match v {
                toml::Value::Integer(i) => u32::try_from(*i).ok().filter(|&r| r > 0),
                toml::Value::Float(f) if f.fract() == 0.0 && *f > 0.0 => Some(*f as u32),
                _ => None,
            };
            let r = r.ok_or_else(|| {
                value_error(format!(
                    "sample_rate_hz ({v}): must be a positive whole number of Hz"
                ))
            })?;
            spec.fixed_rate = Some(r);
        }
        // Validate once, now, at the fixed rate or 16 kHz (as the CLI does).
        spec.plan
            .build(spec.fixed_rate.unwrap_or(16_000))
            .map_err(value_error)?;
        Ok(spec)
    }

    fn preset(preset: Preset) -> Spec {
        Spec {
            plan: FrontendPlan {
                preset,
                feature: Feature::Mfcc,
                table: toml::Table::new(),
                dither: None,
                deltas: false,
                cmvn: false,
            },
            fixed_rate: None,
            seed: 0,
        }
    }

    /// A TOML config in the CLI's format (`preset`, `[audio]`, `[frontend]`).
    fn from_config(path: PathBuf) -> PyResult<Spec> {
        let cfg = ExtractFlags {
            config: Some(path),
            ..ExtractFlags::default()
        }
        .resolve()
        .map_err(value_error)?;
        Ok(Spec {
            plan: cfg.frontend,
            fixed_rate: cfg.decode.sample_rate_hz,
            seed: 0,
        })
    }

    /// Serialised (for pickling) as a TOML document.
    pub fn to_state(&self) -> String {
        let mut t = toml::Table::new();
        let name = |v: toml::Value| v.as_str().unwrap_or("").to_string();
        t.insert(
            "preset".into(),
            toml::Value::String(name(toml::Value::try_from(self.plan.preset).expect("enum"))),
        );
        t.insert(
            "feature".into(),
            toml::Value::String(name(
                toml::Value::try_from(self.plan.feature).expect("enum"),
            )),
        );
        t.insert("seed".into(), toml::Value::String(self.seed.to_string()));
        if let Some(r) = self.fixed_rate {
            t.insert("fixed_rate".into(), toml::Value::Integer(i64::from(r)));
        }
        t.insert(
            "frontend".into(),
            toml::Value::Table(self.plan.table.clone()),
        );
        toml::to_string(&t).expect("a table serialises")
    }

    pub fn from_state(state: &str) -> PyResult<Spec> {
        let bad = |m: String| PyValueError::new_err(format!("bad Frontend state: {m}"));
        let t: toml::Table = state.parse().map_err(|e| bad(format!("{e}")))?;
        let get = |k: &str| t.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let mut spec = Spec::preset(parse_enum("preset", &get("preset"))?);
        spec.plan.feature = parse_enum("feature", &get("feature"))?;
        spec.seed = get("seed").parse().map_err(|_| bad("seed".into()))?;
        spec.fixed_rate = t
            .get("fixed_rate")
            .and_then(|v| v.as_integer())
            .map(|r| r as u32);
        if let Some(toml::Value::Table(f)) = t.get("frontend") {
            spec.plan.table = f.clone();
        }
        spec.plan
            .build(spec.fixed_rate.unwrap_or(16_000))
            .map_err(value_error)?;
        Ok(spec)
    }
}

/// A front end built once and called many times: `fe(y, sr)`.
///
/// Options are validated at construction. One built pipeline is cached per
/// sample rate. Picklable (the configuration travels, not the tables), and
/// the GIL is released while features are computed, so threads scale.
#[pyclass(module = "speechfront._native", name = "Frontend", frozen)]
pub struct PyFrontend {
    pub spec: Spec,
    built: RwLock<HashMap<u32, Arc<sf::Frontend>>>,
}

impl PyFrontend {
    pub fn new(spec: Spec) -> PyFrontend {
        PyFrontend {
            spec,
            built: RwLock::new(HashMap::new()),
        }
    }

    /// The built pipeline at `rate_hz` (cached).
    pub fn at(&self, rate_hz: u32) -> PyResult<Arc<sf::Frontend>> {
        if let Some(r) = self.spec.fixed_rate {
            if r != rate_hz {
                return Err(PyValueError::new_err(format!(
                    "sr ({rate_hz}) differs from the configured sample_rate_hz ({r}); \
                     resample first (this call does not resample)"
                )));
            }
        }
        if let Some(fe) = self.built.read().expect("cache lock").get(&rate_hz) {
            return Ok(fe.clone());
        }
        let fe = Arc::new(self.spec.plan.build(rate_hz).map_err(value_error)?);
        self.built
            .write()
            .expect("cache lock")
            .insert(rate_hz, fe.clone());
        Ok(fe)
    }

    pub fn compute<'py>(
        &self,
        py: Python<'py>,
        y: &Bound<'py, PyAny>,
        sr: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let x = samples(y)?;
        let fe = self.at(rate(sr)?)?;
        let seed = self.spec.seed;
        let out = py.detach(move || fe.compute(&x, &mut rng_from_seed(seed)));
        Ok(out.into_pyarray(py))
    }
}

#[pymethods]
impl PyFrontend {
    #[new]
    #[pyo3(signature = (config_or_preset = None, *, feature = None, seed = 0, **options))]
    fn py_new(
        py: Python<'_>,
        config_or_preset: Option<&Bound<'_, PyAny>>,
        feature: Option<&str>,
        seed: u64,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyFrontend> {
        let default = PyString::new(py, "kaldi").into_any();
        let c = config_or_preset.unwrap_or(&default);
        Ok(PyFrontend::new(Spec::from_args(c, feature, seed, options)?))
    }

    /// Features `(frames, dims)` float32 of `y` at `sr` Hz.
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        y: &Bound<'py, PyAny>,
        sr: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        self.compute(py, y, sr)
    }

    /// Features of many signals at `sr`, computed on `jobs` threads
    /// (0 = one per core) with the GIL released once for the whole batch:
    /// the way to use both cores on short utterances, where a thread pool
    /// calling `fe(y, sr)` spends most of its time in Python. The same
    /// arrays as `[fe(y, sr) for y in ys]`.
    #[pyo3(signature = (ys, sr, *, jobs = 0))]
    fn map<'py>(
        &self,
        py: Python<'py>,
        ys: &Bound<'py, PyAny>,
        sr: &Bound<'py, PyAny>,
        jobs: usize,
    ) -> PyResult<Vec<Bound<'py, PyArray2<f32>>>> {
        use rayon::prelude::*;
        let fe = self.at(rate(sr)?)?;
        let mut xs = Vec::new();
        for y in ys.try_iter()? {
            xs.push(samples(&y?)?);
        }
        let seed = self.spec.seed;
        let outs = py
            .detach(move || {
                let run = || {
                    xs.par_iter()
                        .map(|x| fe.compute(x, &mut rng_from_seed(seed)))
                        .collect::<Vec<_>>()
                };
                if jobs == 0 {
                    Ok(run())
                } else {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(jobs)
                        .build()
                        .map(|pool| pool.install(run))
                        .map_err(|e| e.to_string())
                }
            })
            .map_err(value_error)?;
        Ok(outs.into_iter().map(|a| a.into_pyarray(py)).collect())
    }

    /// Feature width of each row at `sr` (default: the configured or 16 kHz rate).
    #[pyo3(signature = (sr = None))]
    fn dims(&self, sr: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
        let r = match sr {
            Some(s) => rate(s)?,
            None => self.spec.fixed_rate.unwrap_or(16_000),
        };
        Ok(self.at(r)?.dims())
    }

    /// Frames produced for `n_samples` samples at `sr`.
    fn num_frames(&self, n_samples: usize, sr: &Bound<'_, PyAny>) -> PyResult<usize> {
        Ok(self.at(rate(sr)?)?.num_frames(n_samples))
    }

    /// The resolved options at `sr` as a dict (the `[frontend]` table).
    #[pyo3(signature = (sr = None))]
    fn options<'py>(
        &self,
        py: Python<'py>,
        sr: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let r = match sr {
            Some(s) => rate(s)?,
            None => self.spec.fixed_rate.unwrap_or(16_000),
        };
        let opts = self.spec.plan.options_at(r).map_err(value_error)?;
        let json = serde_json::to_string(&opts).map_err(value_error)?;
        py.import("json")?.call_method1("loads", (json,))
    }

    #[getter]
    fn preset(&self) -> String {
        toml::Value::try_from(self.spec.plan.preset)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    #[getter]
    fn feature(&self) -> String {
        toml::Value::try_from(self.spec.plan.feature)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    #[getter]
    fn seed(&self) -> u64 {
        self.spec.seed
    }

    /// A streaming front end with these options at `sr`.
    fn online(&self, sr: &Bound<'_, PyAny>) -> PyResult<PyOnline> {
        let r = rate(sr)?;
        let fe = self.at(r)?;
        Ok(PyOnline {
            stream: OnlineStream::new(&fe, rng_from_seed(self.spec.seed)),
            rate: r,
        })
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let f = py
            .import("speechfront._native")?
            .getattr("_frontend_from_state")?;
        PyTuple::new(
            py,
            [f, PyTuple::new(py, [self.spec.to_state()])?.into_any()],
        )
    }

    fn __repr__(&self) -> String {
        let table = toml::Value::Table(self.spec.plan.table.clone()).to_string();
        format!(
            "Frontend(preset={:?}, feature={:?}, seed={}, options={})",
            self.preset(),
            self.feature(),
            self.spec.seed,
            table.trim()
        )
    }
}

#[pyfunction]
pub fn _frontend_from_state(state: &str) -> PyResult<PyFrontend> {
    Ok(PyFrontend::new(Spec::from_state(state)?))
}

/// Features of a signal that arrives in chunks (kaldi-native-fbank's
/// online API): the same numbers as the whole-signal call.
#[pyclass(module = "speechfront._native", name = "OnlineFrontend")]
pub struct PyOnline {
    stream: OnlineStream,
    rate: u32,
}

#[pymethods]
impl PyOnline {
    /// Append a chunk of samples (same dtypes and layout as `Frontend`).
    fn accept_waveform(&mut self, py: Python<'_>, chunk: &Bound<'_, PyAny>) -> PyResult<()> {
        let x = samples(chunk)?;
        let st = &mut self.stream;
        py.detach(move || st.accept_waveform(&x))
            .map_err(value_error)
    }

    /// No more samples: the end frames become ready.
    fn input_finished(&mut self, py: Python<'_>) {
        let st = &mut self.stream;
        py.detach(move || st.input_finished());
    }

    #[getter]
    fn num_frames_ready(&self) -> usize {
        self.stream.num_frames_ready()
    }

    #[getter]
    fn is_finished(&self) -> bool {
        self.stream.is_finished()
    }

    #[getter]
    fn dims(&self) -> usize {
        self.stream.dims()
    }

    #[getter]
    fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// Ready frames `start..start + n` as `(n, dims)` float32.
    fn get_frames<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        n: usize,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let a = self.stream.frames(start, n).map_err(value_error)?;
        Ok(a.into_pyarray(py))
    }

    /// One ready frame as `(dims,)` float32.
    fn get_frame<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyAny>> {
        let a = self.stream.frames(i, 1).map_err(value_error)?;
        let row = a.row(0).to_owned();
        Ok(row.into_pyarray(py).into_any())
    }
}
