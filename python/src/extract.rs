//! `speechfront.extract`: the CLI's folder extraction from Python.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pyo3::exceptions::{PyOSError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use speechfront::extract::{run as run_extract, ExtractFlags, FileResult, OutputFormat};
use speechfront::frontend::{Feature, Preset};

use crate::frontend::{value_error, PyFrontend};

fn paths(inputs: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    if inputs.is_instance_of::<PyString>() || inputs.hasattr("__fspath__")? {
        return Ok(vec![inputs.extract()?]);
    }
    let mut out = Vec::new();
    for item in inputs
        .try_iter()
        .map_err(|_| PyTypeError::new_err("inputs must be a path or an iterable of paths"))?
    {
        out.push(item?.extract::<PathBuf>()?);
    }
    Ok(out)
}

fn enum_of<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> PyResult<T> {
    toml::Value::String(s.to_string())
        .try_into::<T>()
        .map_err(|e| value_error(format!("{what} ({s:?}): {}", e.message())))
}

/// Runs `speechfront extract` over `inputs` into `out`: the same files,
/// manifest and per-file errors as the CLI (failed files are listed, the
/// others are written). Returns a dict summary with the failures.
///
/// `frontend` is a preset name, a TOML config path (the CLI's `--config`)
/// or a `Frontend` (its options and seed, as a config file would give).
#[pyfunction]
#[pyo3(signature = (inputs, out, frontend = None, *, feature = None, format = "npy", jobs = 0,
    force = false, seed = 0, sample_rate = None, channel = None, dither = None, deltas = false,
    cmvn = false, config = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn extract<'py>(
    py: Python<'py>,
    inputs: &Bound<'py, PyAny>,
    out: PathBuf,
    frontend: Option<&Bound<'py, PyAny>>,
    feature: Option<&str>,
    format: &str,
    jobs: usize,
    force: bool,
    seed: u64,
    sample_rate: Option<u32>,
    channel: Option<usize>,
    dither: Option<f32>,
    deltas: bool,
    cmvn: bool,
    config: Option<PathBuf>,
    progress: Option<bool>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut flags = ExtractFlags {
        inputs: paths(inputs)?,
        out_dir: out,
        format: match format {
            "npy" => OutputFormat::Npy,
            "ark" => OutputFormat::Ark,
            other => {
                return Err(value_error(format!(
                    "format ({other:?}): expected \"npy\" or \"ark\""
                )))
            }
        },
        jobs,
        force,
        seed,
        sample_rate,
        channel,
        dither,
        deltas,
        cmvn,
        config,
        feature: feature
            .map(|f| enum_of::<Feature>("feature", f))
            .transpose()?,
        ..ExtractFlags::default()
    };
    let mut fe_obj: Option<PyRef<'py, PyFrontend>> = None;
    if let Some(f) = frontend {
        if let Ok(s) = f.cast::<PyString>() {
            let s = s.to_string();
            if s.ends_with(".toml") || Path::new(&s).is_file() {
                flags.config = Some(PathBuf::from(s));
            } else {
                flags.preset = Some(enum_of::<Preset>("preset", &s)?);
            }
        } else if let Ok(fe) = f.cast::<PyFrontend>() {
            fe_obj = Some(fe.borrow());
        } else {
            flags.config = Some(f.extract()?);
        }
    }
    let mut cfg = flags.resolve().map_err(value_error)?;
    if let Some(fe) = &fe_obj {
        let mut plan = fe.spec.plan.clone();
        if feature.is_some() {
            plan.feature = cfg.frontend.feature;
        }
        plan.dither = cfg.frontend.dither;
        plan.deltas |= cfg.frontend.deltas;
        plan.cmvn |= cfg.frontend.cmvn;
        plan.build(sample_rate.or(fe.spec.fixed_rate).unwrap_or(16_000))
            .map_err(value_error)?;
        cfg.frontend = plan;
        if cfg.decode.sample_rate_hz.is_none() {
            cfg.decode.sample_rate_hz = fe.spec.fixed_rate;
        }
        if fe.spec.seed != 0 && seed == 0 {
            cfg.seed = fe.spec.seed;
        }
    }
    let show = progress.unwrap_or_else(|| std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let failures: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    let done = std::sync::atomic::AtomicUsize::new(0);
    let on_file = |input: &Path, result: &FileResult| {
        if let FileResult::Failed(reason) = result {
            // As the CLI: `path: reason` on standard error.
            eprintln!("{}: {reason}", input.display());
            failures
                .lock()
                .expect("failures lock")
                .push((input.display().to_string(), reason.clone()));
        }
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if show && n % 100 == 0 {
            eprint!("\r{n} files");
        }
    };
    let summary = py
        .detach(|| run_extract(&cfg, &on_file))
        .map_err(|e| PyOSError::new_err(e.to_string()))?;
    if show && done.into_inner() >= 100 {
        eprintln!();
    }
    let d = PyDict::new(py);
    d.set_item("total", summary.total)?;
    d.set_item("extracted", summary.extracted)?;
    d.set_item("skipped", summary.skipped)?;
    d.set_item("failed", summary.failed)?;
    d.set_item("audio_seconds", summary.audio_seconds)?;
    d.set_item("wall_seconds", summary.wall_seconds)?;
    let mut f = failures.into_inner().expect("failures lock");
    f.sort();
    d.set_item("failures", f)?;
    Ok(d)
}
