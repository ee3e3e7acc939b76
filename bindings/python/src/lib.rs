//! Native module `libcce._native`: a thin PyO3 layer over [`cce::api`].
//!
//! Every function converts its arguments, releases the GIL around the blocking call
//! into core, and maps [`cce::api::Error`] to the `libcce.CceError` exception hierarchy.
//! Configurations, messages and events cross the boundary as JSON text; the pure
//! Python package `libcce` turns them into dicts. No protocol logic lives here.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cce::api::{self, Error, ErrorKind};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

mod aio;
mod dispatch;
mod ece;
mod event;
mod gc;
mod interp;
mod log;
mod sim;
use aio::Completion;
use event::PyEvent;
use sim::PyCtiSim;

/// Most events in one batch (`next_events` without `max`, `events()`, `on_event`).
const DEFAULT_BATCH: usize = 256;

create_exception!(
    libcce,
    CceError,
    PyException,
    "Base class of every libcce error.\n\nAttributes: `kind` (the core error kind, e.g. \
     \"Refused\"), `protocol` (\"cti\", \"gc\", \"ece\" or None), `code` (the \
     protocol's code: CTI status or failure code, ECE HTTP status, or None) and \
     `code_name` (its name, e.g. \"E_CTI_INVALID_AGENT_DATA\" or \"NotFound\", or None); \
     `status` and `status_name` are the same as `code` and `code_name`."
);
create_exception!(
    libcce,
    InvalidArgument,
    CceError,
    "A configuration, JSON document or argument is invalid."
);
create_exception!(
    libcce,
    ConnectionFailed,
    CceError,
    "A network or operating-system failure (kind \"Io\")."
);
create_exception!(libcce, Timeout, CceError, "No answer in time.");
create_exception!(
    libcce,
    Refused,
    CceError,
    "The server refused: FAILURE_CONF, including a refused OPEN_REQ."
);
create_exception!(
    libcce,
    ControlFailed,
    CceError,
    "Call control failed (CONTROL_FAILURE_CONF)."
);
create_exception!(
    libcce,
    Closed,
    CceError,
    "The session or simulator is closed."
);
create_exception!(
    libcce,
    CodecError,
    CceError,
    "A message could not be encoded or decoded (kind \"Codec\")."
);
create_exception!(
    libcce,
    ProtocolError,
    CceError,
    "The server broke the protocol or stopped answering heartbeats (kind \"Protocol\")."
);

create_exception!(
    libcce,
    Disconnected,
    CceError,
    "The link to the server is down and being re-established; retry later."
);
create_exception!(
    libcce,
    TlsHandshake,
    CceError,
    "The TLS handshake failed (a plain server or client, no common version or cipher)."
);
create_exception!(
    libcce,
    CertificateInvalid,
    CceError,
    "A certificate was not accepted. `reason`: \"expired\", \"unknown_issuer\", \
     \"name_mismatch\", \"client_certificate_refused\", \"pin_mismatch\" or \"other\"."
);

create_exception!(
    libcce,
    QueueFull,
    CceError,
    "A bounded queue is full (too many commands waiting); nothing was sent. Retry later."
);

/// The exception class for each error kind.
fn exception_type(py: Python<'_>, kind: ErrorKind) -> Bound<'_, pyo3::types::PyType> {
    match kind {
        ErrorKind::InvalidArgument => py.get_type::<InvalidArgument>(),
        ErrorKind::Io => py.get_type::<ConnectionFailed>(),
        ErrorKind::Timeout => py.get_type::<Timeout>(),
        ErrorKind::Refused => py.get_type::<Refused>(),
        ErrorKind::ControlFailed => py.get_type::<ControlFailed>(),
        ErrorKind::Closed => py.get_type::<Closed>(),
        ErrorKind::Codec => py.get_type::<CodecError>(),
        ErrorKind::Protocol => py.get_type::<ProtocolError>(),
        ErrorKind::Disconnected => py.get_type::<Disconnected>(),
        ErrorKind::QueueFull => py.get_type::<QueueFull>(),
        ErrorKind::TlsHandshake => py.get_type::<TlsHandshake>(),
        ErrorKind::CertificateInvalid => py.get_type::<CertificateInvalid>(),
    }
}

const ALL_KINDS: [ErrorKind; 12] = [
    ErrorKind::InvalidArgument,
    ErrorKind::Io,
    ErrorKind::Timeout,
    ErrorKind::Refused,
    ErrorKind::ControlFailed,
    ErrorKind::Closed,
    ErrorKind::Codec,
    ErrorKind::Protocol,
    ErrorKind::Disconnected,
    ErrorKind::QueueFull,
    ErrorKind::TlsHandshake,
    ErrorKind::CertificateInvalid,
];

/// Builds the Python exception for a core error, with `kind`, `status` and `status_name` set.
pub(crate) fn to_py_err(py: Python<'_>, e: Error) -> PyErr {
    let err = PyErr::from_type(exception_type(py, e.kind), e.message);
    let value = err.value(py);
    let reason = match e.kind {
        ErrorKind::CertificateInvalid => e.status_name.clone(),
        _ => None,
    };
    let set = value
        .setattr("kind", e.kind.name())
        .and_then(|()| value.setattr("reason", reason))
        .and_then(|()| value.setattr("status", e.status))
        .and_then(|()| value.setattr("status_name", e.status_name.clone()))
        .and_then(|()| value.setattr("protocol", e.protocol.map(|p| p.name())))
        .and_then(|()| value.setattr("code", e.status))
        .and_then(|()| value.setattr("code_name", e.status_name));
    match set {
        Ok(()) => err,
        Err(other) => other,
    }
}

/// Converts a core result, raising the matching `libcce` exception on error.
fn check<T>(py: Python<'_>, r: Result<T, Error>) -> PyResult<T> {
    r.map_err(|e| to_py_err(py, e))
}

/// Converts a timeout in seconds; negative, NaN or huge values are `InvalidArgument`.
fn duration(py: Python<'_>, secs: Option<f64>) -> PyResult<Option<Duration>> {
    secs.map(|s| {
        Duration::try_from_secs_f64(s)
            .map_err(|e| to_py_err(py, Error::invalid(format!("timeout {s} s: {e}"))))
    })
    .transpose()
}

/// An open CTI session (wraps `cce::api::CtiSession`).
#[pyclass(module = "libcce._native", name = "CtiSession", frozen)]
struct PyCtiSession {
    inner: Arc<api::CtiSession>,
}

#[pymethods]
impl PyCtiSession {
    /// Connects and opens a session from a JSON configuration; blocks until OPEN_CONF.
    #[new]
    fn new(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let inner = check(py, py.detach(|| api::CtiSession::open(config_json)))?;
        Ok(PyCtiSession {
            inner: Arc::new(inner),
        })
    }

    /// Opens a session without blocking: `callback(ok, session_or_error)` is called
    /// on `event_loop` (through `call_soon_threadsafe`) once OPEN_CONF came or it failed.
    #[staticmethod]
    fn open_async(event_loop: Bound<'_, PyAny>, callback: Bound<'_, PyAny>, config_json: String) {
        Completion::new(event_loop, callback).spawn(
            async move { api::CtiSession::open_async(&config_json).await },
            |py, inner| {
                Ok(Bound::new(
                    py,
                    PyCtiSession {
                        inner: Arc::new(inner),
                    },
                )?
                .into_any())
            },
        );
    }

    /// `request_json` without blocking: `callback(ok, (MessageType, JSON) or error)`.
    #[pyo3(signature = (event_loop, callback, msg_json, timeout = None))]
    fn request_json_async(
        &self,
        py: Python<'_>,
        event_loop: Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        msg_json: String,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        let timeout = duration(py, timeout)?;
        let s = self.inner.clone();
        Completion::new(event_loop, callback).spawn(
            async move { s.request_json_async(&msg_json, timeout).await },
            |py, v| Ok(v.into_pyobject(py)?.into_any()),
        );
        Ok(())
    }

    /// `call_json` without blocking: `callback(ok, (MessageType, JSON) or error)`.
    #[pyo3(signature = (event_loop, callback, name, fields_json, timeout = None))]
    fn call_json_async(
        &self,
        py: Python<'_>,
        event_loop: Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        name: String,
        fields_json: String,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        let timeout = duration(py, timeout)?;
        let s = self.inner.clone();
        Completion::new(event_loop, callback).spawn(
            async move { s.call_json_async(&name, &fields_json, timeout).await },
            |py, v| Ok(v.into_pyobject(py)?.into_any()),
        );
        Ok(())
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
            events_to_py,
        );
        Ok(())
    }

    /// `close` without blocking: `callback(ok, SESSION_CLOSED JSON or error)`.
    fn close_async(&self, event_loop: Bound<'_, PyAny>, callback: Bound<'_, PyAny>) {
        let s = self.inner.clone();
        Completion::new(event_loop, callback)
            .spawn(async move { s.close_async().await }, |py, v| {
                Ok(v.into_pyobject(py)?.into_any())
            });
    }

    /// The OPEN_CONF as JSON.
    fn open_conf_json(&self) -> String {
        self.inner.open_conf_json()
    }

    /// Protocol version of the session.
    #[getter]
    fn version(&self) -> u32 {
        self.inner.version()
    }

    /// Sends a message given as JSON without waiting; returns its InvokeID.
    fn send_json(&self, py: Python<'_>, msg_json: &str) -> PyResult<u32> {
        check(py, py.detach(|| self.inner.send_json(msg_json)))
    }

    /// Sends a request given as JSON and waits for its confirmation (`timeout` in
    /// seconds; None: the session's request timeout). Returns (MessageType, JSON).
    #[pyo3(signature = (msg_json, timeout = None))]
    fn request_json(
        &self,
        py: Python<'_>,
        msg_json: &str,
        timeout: Option<f64>,
    ) -> PyResult<(u32, String)> {
        let timeout = duration(py, timeout)?;
        check(py, py.detach(|| self.inner.request_json(msg_json, timeout)))
    }

    /// Sends the request `name` (message name or helper name, see `requests_json`)
    /// with its fields as a JSON object and waits for the confirmation.
    #[pyo3(signature = (name, fields_json, timeout = None))]
    fn call_json(
        &self,
        py: Python<'_>,
        name: &str,
        fields_json: &str,
        timeout: Option<f64>,
    ) -> PyResult<(u32, String)> {
        let timeout = duration(py, timeout)?;
        check(
            py,
            py.detach(|| self.inner.call_json(name, fields_json, timeout)),
        )
    }

    /// The live agent/call model as JSON.
    fn model_json(&self, py: Python<'_>) -> String {
        py.detach(|| self.inner.model_json())
    }

    /// The link state as JSON (`connected`, `closed`, `side`).
    fn state_json(&self) -> String {
        self.inner.state_json()
    }

    /// The session's counters as JSON (frames, bytes, heartbeats, latencies).
    fn stats_json(&self) -> String {
        self.inner.stats_json()
    }

    /// Replaces the TLS settings (JSON object, or `null` for plain TCP); they apply
    /// from the next reconnect on.
    fn set_tls_json(&self, py: Python<'_>, tls_json: &str) -> PyResult<()> {
        check(py, self.inner.set_tls_json(tls_json))
    }

    /// Waits for the next event (`timeout` in seconds; None: until one comes).
    /// Returns (MessageType, JSON, last) or None on timeout; raises `Closed` once the
    /// final SESSION_CLOSED event has been taken.
    #[pyo3(signature = (timeout = None))]
    fn next_event(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
    ) -> PyResult<Option<(u32, String, bool)>> {
        let timeout = duration(py, timeout)?;
        let ev = check(py, py.detach(|| self.inner.next_event(timeout)))?;
        Ok(ev
            .map(|e| (e.msg_type, e.last, e.into_json()))
            .map(|(t, l, j)| (t, j, l)))
    }

    /// Waits for the next events (`timeout` in seconds; None: until one comes) and
    /// returns them as a list of at most `max` `Event`s: what arrived together. An
    /// empty list on timeout; raises `Closed` once the final SESSION_CLOSED was taken.
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
            py.detach(|| -> Result<Vec<api::EventOut>, Error> {
                let Some(first) = self.inner.next_event(timeout)? else {
                    return Ok(Vec::new());
                };
                let last = first.last;
                let mut batch = vec![first];
                if !last && max > 1 {
                    match self.inner.poll_events(max - 1) {
                        Ok(more) => batch.extend(more),
                        Err(e) if e.kind == ErrorKind::Closed => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(batch)
            }),
        )?;
        Ok(batch.into_iter().map(PyEvent::cti).collect())
    }

    /// Takes up to `max` queued events without waiting (an empty list: none queued);
    /// raises `Closed` once the final SESSION_CLOSED was taken.
    #[pyo3(signature = (max = DEFAULT_BATCH))]
    fn poll_events(&self, py: Python<'_>, max: usize) -> PyResult<Vec<PyEvent>> {
        let batch = check(py, py.detach(|| self.inner.poll_events(max)))?;
        Ok(batch.into_iter().map(PyEvent::cti).collect())
    }

    /// Hands the session to the shared dispatcher under `token`: whenever an event
    /// lands in its empty queue, `token` becomes ready (see `dispatch_wait`).
    fn watch(&self, token: u64) {
        self.inner
            .set_event_waker(move || dispatch::mark_ready(token));
        dispatch::mark_ready(token);
    }

    /// Closes the session (CLOSE_REQ, then at most the close timeout for CLOSE_CONF)
    /// and returns the SESSION_CLOSED JSON. Safe to call more than once.
    fn close(&self, py: Python<'_>) -> PyResult<String> {
        check(py, py.detach(|| self.inner.close()))
    }
}

/// A batch of CTI events as a Python list of `Event`s.
fn events_to_py(py: Python<'_>, batch: Vec<api::EventOut>) -> PyResult<Bound<'_, PyAny>> {
    Ok(pyo3::types::PyList::new(py, batch.into_iter().map(PyEvent::cti))?.into_any())
}

/// Every live CTI session's counters in the Prometheus text format.
#[pyfunction]
fn metrics_text() -> String {
    cce::cti::stats::metrics_text()
}

/// Every request of the catalogue as JSON (`request`, `confirmation`, `helper`, `service`).
#[pyfunction]
fn requests_json() -> String {
    api::requests_json()
}

/// Decodes one whole message (header included) at `version` into (MessageType, JSON);
/// `strict` false reads tolerantly (deviations listed in `_warnings`).
#[pyfunction]
#[pyo3(signature = (data, version, strict = true))]
fn decode_json(py: Python<'_>, data: &[u8], version: u32, strict: bool) -> PyResult<(u32, String)> {
    check(
        py,
        py.detach(|| api::decode_json_with(data, version, strict)),
    )
}

/// Encodes a message given as JSON at `version` (header included).
#[pyfunction]
fn encode_json<'py>(
    py: Python<'py>,
    msg_json: &str,
    version: u32,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = check(py, py.detach(|| api::encode_json(msg_json, version)))?;
    Ok(PyBytes::new(py, &bytes))
}

/// A streaming decoder for messages received in pieces (wraps
/// `cce::api::StreamDecoder`). Calls are serialised by a lock, so sharing one between
/// threads is safe, but message order then depends on the threads.
#[pyclass(module = "libcce._native", name = "StreamDecoder", frozen)]
struct PyStreamDecoder {
    inner: Mutex<api::StreamDecoder>,
}

impl PyStreamDecoder {
    /// The decoder; a panic while it was held leaves it usable (as in the C ABI).
    fn lock(&self) -> MutexGuard<'_, api::StreamDecoder> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl PyStreamDecoder {
    /// A decoder for a session at protocol `version` (15..=25; else `InvalidArgument`).
    #[new]
    fn new(py: Python<'_>, version: u32) -> PyResult<Self> {
        let inner = check(py, api::StreamDecoder::new(version))?;
        Ok(PyStreamDecoder {
            inner: Mutex::new(inner),
        })
    }

    /// Appends received bytes.
    fn push(&self, py: Python<'_>, data: &[u8]) {
        py.detach(|| self.lock().push(data));
    }

    /// The next whole message as (MessageType, JSON), or None when more bytes are
    /// needed. Raises `CodecError` for a message that cannot be decoded (the stream
    /// goes on) or a length over 12,492, which breaks the stream: every later call
    /// raises too.
    fn next(&self, py: Python<'_>) -> PyResult<Option<(u32, String)>> {
        check(py, py.detach(|| self.lock().next()))
    }

    /// Bytes buffered while waiting for the rest of a message.
    #[getter]
    fn pending(&self) -> usize {
        self.lock().pending()
    }
}

/// The native module `libcce._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PyCtiSim>()?;
    m.add_class::<PyCtiSession>()?;
    m.add_class::<PyStreamDecoder>()?;
    m.add_class::<PyEvent>()?;
    dispatch::register(m)?;
    interp::register(m)?;
    m.add_function(wrap_pyfunction!(decode_json, m)?)?;
    m.add_function(wrap_pyfunction!(requests_json, m)?)?;
    m.add_function(wrap_pyfunction!(encode_json, m)?)?;
    gc::register(m)?;
    ece::register(m)?;
    log::register(m)?;
    m.add_function(wrap_pyfunction!(metrics_text, m)?)?;

    // Class-level defaults, so that instances raised from Python code carry them too.
    let base = py.get_type::<CceError>();
    base.setattr("kind", py.None())?;
    base.setattr("status", py.None())?;
    base.setattr("status_name", py.None())?;
    base.setattr("protocol", py.None())?;
    base.setattr("code", py.None())?;
    base.setattr("code_name", py.None())?;
    base.setattr("reason", py.None())?;
    m.add("CceError", base)?;
    for kind in ALL_KINDS {
        let ty = exception_type(py, kind);
        ty.setattr("kind", kind.name())?;
        m.add(ty.name()?, ty)?;
    }
    Ok(())
}
