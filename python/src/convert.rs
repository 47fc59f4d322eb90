//! Python values in: numpy arrays to mono `f32` samples, keyword options to
//! the TOML `[frontend]` table the CLI reads.

use numpy::{PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use speechfront::frontend::FrontendOptions;

/// Mono samples in [-1, 1) from a 1-D or 2-D numpy array.
///
/// - dtypes: float32 and float64 as they are (assumed in [-1, 1), like the
///   CLI's decoded audio); int16 divided by 32768, as a WAV decoder does
///   (the Kaldi preset multiplies back by 32768, so it sees the int16
///   values exactly as Kaldi reads them). Any stride layout.
/// - 2-D arrays are `(samples, channels)`, as `soundfile.read` returns,
///   averaged as the CLI averages a multichannel file: the sum of the
///   channels in order times `1 / channels`, in f32.
///
/// # Errors
/// `TypeError` for a non-array or another dtype; `ValueError` for other
/// ranks, no channels, a `(channels, samples)`-looking shape or a
/// non-finite sample (naming its index).
pub fn samples(y: &Bound<'_, PyAny>) -> PyResult<Vec<f32>> {
    let arr = y.cast::<PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err(format!(
            "y must be a numpy.ndarray (float32, float64 or int16), not {}",
            type_name(y)
        ))
    })?;
    let shape = arr.shape().to_vec();
    let channels = match shape.len() {
        1 => 1,
        2 => {
            let (n, c) = (shape[0], shape[1]);
            if c == 0 {
                return Err(PyValueError::new_err(format!(
                    "y has shape ({n}, 0): no channels"
                )));
            }
            if c > n {
                return Err(PyValueError::new_err(format!(
                    "y has shape ({n}, {c}): 2-D input must be (samples, channels) as \
                     soundfile returns; for librosa's (channels, samples) pass y.T"
                )));
            }
            c
        }
        d => {
            return Err(PyValueError::new_err(format!(
                "y must be 1-D (samples) or 2-D (samples, channels), not {d}-D with shape {shape:?}"
            )))
        }
    };
    let dtype = arr.dtype();
    let flat: Vec<f32> = if dtype.is_equiv_to(&numpy::dtype::<f32>(y.py())) {
        let a = y.cast::<numpy::PyArrayDyn<f32>>()?.readonly();
        a.as_array().iter().copied().collect()
    } else if dtype.is_equiv_to(&numpy::dtype::<f64>(y.py())) {
        let a = y.cast::<numpy::PyArrayDyn<f64>>()?.readonly();
        a.as_array().iter().map(|&v| v as f32).collect()
    } else if dtype.is_equiv_to(&numpy::dtype::<i16>(y.py())) {
        let a = y.cast::<numpy::PyArrayDyn<i16>>()?.readonly();
        a.as_array()
            .iter()
            .map(|&v| f32::from(v) / 32768.0)
            .collect()
    } else {
        return Err(PyTypeError::new_err(format!(
            "y has dtype {dtype}; expected float32, float64 or int16"
        )));
    };
    if let Some(i) = flat.iter().position(|v| !v.is_finite()) {
        return Err(PyValueError::new_err(format!(
            "y holds a non-finite value ({}) at flat index {i}",
            flat[i]
        )));
    }
    Ok(downmix(&flat, channels))
}

/// The CLI's average of interleaved channels (`sum * (1 / channels)` in f32).
fn downmix(interleaved: &[f32], channels: usize) -> Vec<f32> {
    if channels == 1 {
        return interleaved.to_vec();
    }
    let scale = 1.0 / channels as f32;
    interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() * scale)
        .collect()
}

/// A sample rate argument: a positive whole number of Hz.
pub fn rate(sr: &Bound<'_, PyAny>) -> PyResult<u32> {
    let bad = || {
        PyValueError::new_err(format!(
            "sr ({}) must be a positive whole number of Hz",
            sr.repr().map_or_else(|_| "?".into(), |r| r.to_string())
        ))
    };
    if sr.is_instance_of::<PyBool>() {
        return Err(bad());
    }
    if let Ok(i) = sr.extract::<i64>() {
        return u32::try_from(i).ok().filter(|&r| r > 0).ok_or_else(bad);
    }
    if let Ok(f) = sr.extract::<f64>() {
        if f.fract() == 0.0 && f > 0.0 && f <= f64::from(u32::MAX) {
            return Ok(f as u32);
        }
        return Err(bad());
    }
    Err(PyTypeError::new_err(format!(
        "sr must be a number, not {}",
        type_name(sr)
    )))
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map_or_else(|_| "?".into(), |n| n.to_string())
}

/// A Python value as a TOML value (bool, int, float, str, dict, list).
pub fn to_toml(field: &str, v: &Bound<'_, PyAny>) -> PyResult<toml::Value> {
    if v.is_none() {
        return Err(PyValueError::new_err(format!(
            "{field} (None): not an option value; leave the keyword out for the preset's default"
        )));
    }
    if v.is_instance_of::<PyBool>() {
        return Ok(toml::Value::Boolean(v.extract()?));
    }
    if v.is_instance_of::<PyString>() {
        return Ok(toml::Value::String(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() || v.hasattr("__index__")? && !v.is_instance_of::<PyFloat>() {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(toml::Value::Integer(i));
        }
    }
    if let Ok(f) = v.extract::<f64>() {
        return Ok(toml::Value::Float(f));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut t = toml::Table::new();
        for (k, val) in d.iter() {
            let k: String = k.extract().map_err(|_| {
                PyTypeError::new_err(format!("{field}: option names must be strings"))
            })?;
            let sub = format!("{field}.{k}");
            t.insert(k, to_toml(&sub, &val)?);
        }
        return Ok(toml::Value::Table(t));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for item in v.try_iter()? {
            out.push(to_toml(field, &item?)?);
        }
        return Ok(toml::Value::Array(out));
    }
    Err(PyTypeError::new_err(format!(
        "{field}: a {} is not an option value (bool, int, float, str or dict)",
        type_name(v)
    )))
}

/// Places keyword options into a `[frontend]` table.
///
/// A keyword is either a top-level key of the table (`feature`,
/// `sample_scale`, `frame = {...}`, `mel = {...}`, ...) or the name of a
/// field inside one section (`dither`, `num_ceps`, `high_freq_hz`, ...),
/// which goes to the one section that has that field. `kind` exists in
/// three sections; the value decides (`"hann"` can only be a window), and
/// an ambiguous one asks for the nested form.
///
/// # Errors
/// `ValueError` naming the keyword and value: unknown name, wrong type or
/// value.
pub fn place_options(kwargs: Option<&Bound<'_, PyDict>>, table: &mut toml::Table) -> PyResult<()> {
    let Some(kwargs) = kwargs else {
        return Ok(());
    };
    let defaults = toml::Value::try_from(FrontendOptions::default())
        .ok()
        .and_then(|v| v.as_table().cloned())
        .unwrap_or_default();
    let sections: Vec<String> = defaults
        .iter()
        .filter(|(_, v)| v.is_table())
        .map(|(k, _)| k.clone())
        .collect();
    for (k, v) in kwargs.iter() {
        let key: String = k.extract()?;
        let value = to_toml(&key, &v)?;
        let shown = show(&v);
        if defaults.contains_key(&key) {
            check(
                &key,
                &shown,
                &toml::Table::from_iter([(key.clone(), value.clone())]),
            )?;
            overlay(table, &key, value);
            continue;
        }
        let mut accepted = Vec::new();
        let mut type_error = None;
        for s in &sections {
            let candidate = toml::Table::from_iter([(
                s.clone(),
                toml::Value::Table(toml::Table::from_iter([(key.clone(), value.clone())])),
            )]);
            match FrontendOptions::default().merge_toml(&candidate) {
                Ok(()) => accepted.push(s.clone()),
                Err(e) if e.to_string().contains("unknown field") => {}
                Err(e) => {
                    type_error = Some(format!("{s}.{key} ({shown}): {}", short(&e.to_string())))
                }
            }
        }
        match accepted.as_slice() {
            [s] => {
                let sub = toml::Value::Table(toml::Table::from_iter([(key.clone(), value)]));
                overlay(table, s, sub);
            }
            [] => {
                return Err(PyValueError::new_err(type_error.unwrap_or_else(|| {
                    format!(
                        "unknown option `{key}` ({shown}): not a [frontend] key \
                         (sections: {}) nor a field of one",
                        sections.join(", ")
                    )
                })))
            }
            many => {
                return Err(PyValueError::new_err(format!(
                    "option `{key}` ({shown}) fits several sections ({}); \
                     give it nested, e.g. {}={{\"{key}\": ...}}",
                    many.join(", "),
                    many[0]
                )))
            }
        }
    }
    Ok(())
}

/// Tries a top-level key on the default options, for a message naming it.
fn check(key: &str, shown: &str, t: &toml::Table) -> PyResult<()> {
    FrontendOptions::default()
        .merge_toml(t)
        .map_err(|e| PyValueError::new_err(format!("{key} ({shown}): {}", short(&e.to_string()))))
}

/// The first line of a merge error (the TOML message without its `in
/// key` trailer, which the caller's own prefix replaces).
fn short(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or(msg);
    first.trim_start_matches("front-end config: ").to_string()
}

fn show(v: &Bound<'_, PyAny>) -> String {
    v.repr().map_or_else(|_| "?".into(), |r| r.to_string())
}

/// Sets `key` in `table`, merging into an existing sub-table.
pub fn overlay(table: &mut toml::Table, key: &str, value: toml::Value) {
    match (table.get_mut(key), value) {
        (Some(toml::Value::Table(base)), toml::Value::Table(top)) => {
            for (k, v) in top {
                overlay(base, &k, v);
            }
        }
        (_, value) => {
            table.insert(key.to_string(), value);
        }
    }
}
