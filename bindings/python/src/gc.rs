//! `GcSession`, `GcSim` and the GC codec functions (Generic Connector over ActiveMQ).

use super::*;

/// A GC client session (wraps `cce::api::GcSession`).
#[pyclass(module = "libcce._native", name = "GcSession", frozen)]
pub(crate) struct PyGcSession {
    inner: api::GcSession,
}

#[pymethods]
impl PyGcSession {
    /// Connects from a JSON configuration; returns once a broker link is up.
    #[new]
    fn new(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let inner = check(py, py.allow_threads(|| api::GcSession::open(config_json)))?;
        Ok(PyGcSession { inner })
    }

    /// Sends a command given as JSON; returns once the broker has it.
    fn send_json(&self, py: Python<'_>, command_json: &str) -> PyResult<()> {
        check(py, py.allow_threads(|| self.inner.send_json(command_json)))
    }

    /// Link and GC status as JSON.
    fn state_json(&self) -> String {
        self.inner.state_json()
    }

    /// Waits for the next event (`timeout` in seconds; None: until one comes).
    /// Returns (JSON, last) or None on timeout; raises `Closed` after the last event.
    #[pyo3(signature = (timeout = None))]
    fn next_event(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<(String, bool)>> {
        let timeout = duration(py, timeout)?;
        let ev = check(py, py.allow_threads(|| self.inner.next_event(timeout)))?;
        Ok(ev.map(|e| (e.json, e.last)))
    }

    /// Closes the broker link. Safe to call more than once.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        check(py, py.allow_threads(|| self.inner.close()))
    }
}

/// A GC simulator on a broker (wraps `cce::api::GcSim`).
#[pyclass(module = "libcce._native", name = "GcSim", frozen)]
pub(crate) struct PyGcSim {
    inner: api::GcSim,
}

#[pymethods]
impl PyGcSim {
    /// Starts a simulator from a JSON configuration (`broker` required).
    #[new]
    fn new(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let inner = check(py, py.allow_threads(|| api::GcSim::start(config_json)))?;
        Ok(PyGcSim { inner })
    }

    /// Performs a control action given as JSON; returns its JSON result.
    fn control_json(&self, py: Python<'_>, action_json: &str) -> PyResult<String> {
        check(py, py.allow_threads(|| self.inner.control(action_json)))
    }

    /// Stops the simulator; raises `Closed` if already stopped.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        check(py, py.allow_threads(|| self.inner.stop()))
    }
}

/// Encodes a GC command given as JSON; returns (JMSType, body).
#[pyfunction]
pub(crate) fn gc_encode_command(py: Python<'_>, command_json: &str) -> PyResult<(String, String)> {
    check(py, api::gc_encode_command(command_json))
}

/// Parses one GC message body to a JSON array of events.
#[pyfunction]
#[pyo3(signature = (body, jms_type = None))]
pub(crate) fn gc_parse_event(
    py: Python<'_>,
    body: &[u8],
    jms_type: Option<&str>,
) -> PyResult<String> {
    check(py, api::gc_parse_event(body, jms_type))
}

/// Adds the GC classes and functions to the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyGcSession>()?;
    m.add_class::<PyGcSim>()?;
    m.add_function(wrap_pyfunction!(gc_encode_command, m)?)?;
    m.add_function(wrap_pyfunction!(gc_parse_event, m)?)?;
    Ok(())
}
