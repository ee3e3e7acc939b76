//! `GcSession`, `GcSim` and the GC codec functions (Generic Connector over ActiveMQ).

use super::*;

/// A GC client session (wraps `cce::api::GcSession`).
#[pyclass(module = "libcce._native", name = "GcSession", frozen)]
pub(crate) struct PyGcSession {
    inner: Arc<api::GcSession>,
}

/// A batch of GC events as a Python list of `Event`s.
fn gc_events_to_py(py: Python<'_>, batch: Vec<api::GcEventOut>) -> PyResult<Bound<'_, PyAny>> {
    let events = batch.into_iter().map(|e| PyEvent::text(e.json, e.last));
    Ok(pyo3::types::PyList::new(py, events)?.into_any())
}

#[pymethods]
impl PyGcSession {
    /// Connects from a JSON configuration; returns once a broker link is up.
    #[new]
    fn new(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let inner = check(py, py.detach(|| api::GcSession::open(config_json)))?;
        Ok(PyGcSession {
            inner: Arc::new(inner),
        })
    }

    /// Connects without blocking: `callback(ok, session_or_error)` on `event_loop`.
    #[staticmethod]
    fn open_async(event_loop: Bound<'_, PyAny>, callback: Bound<'_, PyAny>, config_json: String) {
        Completion::new(event_loop, callback).spawn(
            async move { api::GcSession::open_async(&config_json).await },
            |py, inner| {
                Ok(Bound::new(
                    py,
                    PyGcSession {
                        inner: Arc::new(inner),
                    },
                )?
                .into_any())
            },
        );
    }

    /// `send_json` without blocking: `callback(ok, None or error)`.
    fn send_json_async(
        &self,
        event_loop: Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        command_json: String,
    ) {
        let s = self.inner.clone();
        Completion::new(event_loop, callback).spawn(
            async move { s.send_json_async(&command_json).await },
            |py, ()| Ok(py.None().into_bound(py)),
        );
    }

    /// Waits without blocking for a batch of at most `max` events:
    /// `callback(ok, list[Event] or error)`; an empty list when `timeout` passed.
    #[pyo3(signature = (event_loop, callback, max = DEFAULT_BATCH, timeout = None))]
    fn next_events_async(
        &self,
        py: Python<'_>,
        event_loop: Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        max: usize,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        let timeout = duration(py, timeout)?;
        let s = self.inner.clone();
        Completion::new(event_loop, callback).spawn(
            async move { s.next_events_async(max, timeout).await },
            gc_events_to_py,
        );
        Ok(())
    }

    /// `close` without blocking: `callback(ok, None or error)`.
    fn close_async(&self, event_loop: Bound<'_, PyAny>, callback: Bound<'_, PyAny>) {
        let s = self.inner.clone();
        Completion::new(event_loop, callback)
            .spawn(async move { s.close_async().await }, |py, ()| {
                Ok(py.None().into_bound(py))
            });
    }

    /// Waits for the next events (`timeout` in seconds; None: until one comes): at
    /// most `max` `Event`s that are queued together; an empty list on timeout; raises
    /// `Closed` after the last event.
    #[pyo3(signature = (max = DEFAULT_BATCH, timeout = None))]
    fn next_events(
        &self,
        py: Python<'_>,
        max: usize,
        timeout: Option<f64>,
    ) -> PyResult<Vec<PyEvent>> {
        let timeout = duration(py, timeout)?;
        let batch = check(
            py,
            py.detach(|| -> Result<Vec<api::GcEventOut>, Error> {
                let Some(first) = self.inner.next_event(timeout)? else {
                    return Ok(Vec::new());
                };
                let mut batch = vec![first];
                while batch.len() < max && !batch.last().is_some_and(|e| e.last) {
                    match self.inner.try_next_event() {
                        Ok(Some(ev)) => batch.push(ev),
                        Ok(None) => break,
                        Err(e) if e.kind == ErrorKind::Closed => break,
                        Err(e) => return Err(e),
                    }
                }
                Ok(batch)
            }),
        )?;
        Ok(batch
            .into_iter()
            .map(|e| PyEvent::text(e.json, e.last))
            .collect())
    }

    /// Sends a command given as JSON; returns once the broker has it.
    fn send_json(&self, py: Python<'_>, command_json: &str) -> PyResult<()> {
        check(py, py.detach(|| self.inner.send_json(command_json)))
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
        let ev = check(py, py.detach(|| self.inner.next_event(timeout)))?;
        Ok(ev.map(|e| (e.json, e.last)))
    }

    /// Closes the broker link. Safe to call more than once.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        check(py, py.detach(|| self.inner.close()))
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
        let inner = check(py, py.detach(|| api::GcSim::start(config_json)))?;
        Ok(PyGcSim { inner })
    }

    /// Performs a control action given as JSON; returns its JSON result.
    fn control_json(&self, py: Python<'_>, action_json: &str) -> PyResult<String> {
        check(py, py.detach(|| self.inner.control(action_json)))
    }

    /// Stops the simulator; raises `Closed` if already stopped.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        check(py, py.detach(|| self.inner.stop()))
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
