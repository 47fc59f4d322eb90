//! The `speechfront` Python package's native module (`speechfront._native`):
//! thin bindings over the speechfront library, no second implementation.
//! The Python-facing API and its docs live in `speechfront/__init__.py`.

mod convert;
mod extract;
mod frontend;
mod model;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<frontend::PyFrontend>()?;
    m.add_class::<frontend::PyOnline>()?;
    m.add_function(wrap_pyfunction!(frontend::_frontend_from_state, m)?)?;
    m.add_function(wrap_pyfunction!(extract::extract, m)?)?;
    m.add_class::<model::PyModel>()?;
    m.add_function(wrap_pyfunction!(model::load_model, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
