//! Futures of the facade completed into asyncio: the binding starts a core future on
//! the library runtime with [`cce::api::tasks::spawn`]; when it ends, its result is
//! handed to the event loop with `loop.call_soon_threadsafe(callback, ok, value)`.
//! No thread is started or blocked per call. The Python side (`libcce.aio`) owns the
//! asyncio future and ignores a result that comes after a cancellation.

use std::future::Future;

use cce::api::{tasks, Error};
use pyo3::prelude::*;

use crate::{interp, to_py_err};

/// Where a result goes: an event loop and the callable it calls with `(ok, value)`.
pub(crate) struct Completion {
    event_loop: Py<PyAny>,
    callback: Py<PyAny>,
}

impl Completion {
    /// A completion calling `callback(ok, value)` on `event_loop`.
    pub(crate) fn new(event_loop: Bound<'_, PyAny>, callback: Bound<'_, PyAny>) -> Self {
        Completion {
            event_loop: event_loop.unbind(),
            callback: callback.unbind(),
        }
    }

    /// Runs `fut` on the library runtime; its value, converted by `convert` (with the
    /// GIL, on a runtime thread), or its error as a `libcce` exception, goes to the
    /// loop. Nothing is delivered once the interpreter is shutting down, or when the
    /// loop is closed.
    pub(crate) fn spawn<T, F, C>(self, fut: F, convert: C)
    where
        T: Send + 'static,
        F: Future<Output = Result<T, Error>> + Send + 'static,
        C: for<'py> FnOnce(Python<'py>, T) -> PyResult<Bound<'py, PyAny>> + Send + 'static,
    {
        tasks::spawn(fut, move |result| {
            let Completion {
                event_loop,
                callback,
            } = self;
            interp::with_python(move |py| {
                let (ok, value) = match result.map_err(|e| to_py_err(py, e)) {
                    Ok(v) => match convert(py, v) {
                        Ok(obj) => (true, obj),
                        Err(e) => (false, e.into_value(py).into_bound(py).into_any()),
                    },
                    Err(e) => (false, e.into_value(py).into_bound(py).into_any()),
                };
                // A closed loop raises RuntimeError: nobody waits any more.
                let _ = event_loop
                    .bind(py)
                    .call_method1("call_soon_threadsafe", (callback.bind(py), ok, value));
            });
        });
    }
}
