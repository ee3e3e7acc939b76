//! ECE classes of `cce._native`: thin wrappers over `cce::api::{EceClient, EceWebhook,
//! EceChatWs, EceSim}`. The pure-Python module `libcce.ece` builds the public API on them.

use super::*;

/// A Messaging API client (wraps `cce::api::EceClient`).
#[pyclass(module = "libcce._native", name = "EceClient", frozen)]
pub(crate) struct PyEceClient {
    inner: api::EceClient,
}

#[pymethods]
impl PyEceClient {
    /// Builds a client from a JSON configuration (no network traffic yet).
    #[new]
    fn new(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let inner = check(py, py.allow_threads(|| api::EceClient::new(config_json)))?;
        Ok(PyEceClient { inner })
    }

    /// Logs in now, replacing any cached token.
    fn login(&self, py: Python<'_>) -> PyResult<()> {
        check(py, py.allow_threads(|| self.inner.login()))
    }

    /// Logins made so far.
    #[getter]
    fn logins(&self) -> u64 {
        self.inner.logins()
    }

    /// The entry point configuration as JSON (cached unless `refresh`).
    #[pyo3(signature = (refresh = false))]
    fn configuration_json(&self, py: Python<'_>, refresh: bool) -> PyResult<String> {
        check(
            py,
            py.allow_threads(|| self.inner.configuration_json(refresh)),
        )
    }

    /// Starts a conversation from a JSON request; returns JSON `{"id", ...}`.
    fn start_conversation_json(&self, py: Python<'_>, request_json: &str) -> PyResult<String> {
        check(
            py,
            py.allow_threads(|| self.inner.start_conversation_json(request_json)),
        )
    }

    /// Sends a customer message (`message_type` "text/html" or "text/plain").
    #[pyo3(signature = (conversation_id, content, message_type = "text/html"))]
    fn send_message(
        &self,
        py: Python<'_>,
        conversation_id: &str,
        content: &str,
        message_type: &str,
    ) -> PyResult<()> {
        check(
            py,
            py.allow_threads(|| {
                self.inner
                    .send_message(conversation_id, content, message_type)
            }),
        )
    }

    /// Ends a conversation (configurable, unverified endpoint).
    fn end_conversation(&self, py: Python<'_>, conversation_id: &str) -> PyResult<()> {
        check(
            py,
            py.allow_threads(|| self.inner.end_conversation(conversation_id)),
        )
    }
}

/// The webhook server (wraps `cce::api::EceWebhook`).
#[pyclass(module = "libcce._native", name = "EceWebhook", frozen)]
pub(crate) struct PyEceWebhook {
    inner: api::EceWebhook,
}

#[pymethods]
impl PyEceWebhook {
    /// Starts a webhook server from a JSON configuration.
    #[new]
    fn new(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let inner = check(py, py.allow_threads(|| api::EceWebhook::start(config_json)))?;
        Ok(PyEceWebhook { inner })
    }

    /// Listening port.
    #[getter]
    fn port(&self) -> u16 {
        self.inner.port()
    }

    /// Callback URL on the listening address.
    #[getter]
    fn url(&self) -> String {
        self.inner.url().to_owned()
    }

    /// Waits for the next event (`timeout` in seconds; None: until one comes); returns
    /// its JSON or None on timeout; raises `Closed` once stopped and drained.
    #[pyo3(signature = (timeout = None))]
    fn next_event(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<String>> {
        let timeout = duration(py, timeout)?;
        check(py, py.allow_threads(|| self.inner.next_event(timeout)))
    }

    /// Counters as JSON.
    fn stats_json(&self, py: Python<'_>) -> PyResult<String> {
        check(py, self.inner.stats_json())
    }

    /// Stops the server; raises `Closed` if already stopped.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        check(py, py.allow_threads(|| self.inner.stop()))
    }
}

/// The chat web services client (wraps `cce::api::EceChatWs`).
#[pyclass(module = "libcce._native", name = "EceChatWs", frozen)]
pub(crate) struct PyEceChatWs {
    inner: api::EceChatWs,
}

#[pymethods]
impl PyEceChatWs {
    /// Builds a client from a JSON configuration.
    #[new]
    fn new(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let inner = check(py, py.allow_threads(|| api::EceChatWs::new(config_json)))?;
        Ok(PyEceChatWs { inner })
    }

    /// agentAvailability.
    fn agent_availability(&self, py: Python<'_>, entry_point_id: u64) -> PyResult<bool> {
        check(
            py,
            py.allow_threads(|| self.inner.agent_availability(entry_point_id)),
        )
    }

    /// capacity.
    fn capacity(&self, py: Python<'_>, entry_point_id: u64) -> PyResult<u32> {
        check(py, py.allow_threads(|| self.inner.capacity(entry_point_id)))
    }

    /// liveSessionStatus: (wait seconds, queue depth).
    fn live_session_status(&self, py: Python<'_>, entry_point_id: u64) -> PyResult<(f64, u32)> {
        check(
            py,
            py.allow_threads(|| self.inner.live_session_status(entry_point_id)),
        )
    }

    /// checkEligibility: (code, name).
    fn check_eligibility(
        &self,
        py: Python<'_>,
        entry_point_id: u64,
    ) -> PyResult<(u32, &'static str)> {
        check(
            py,
            py.allow_threads(|| self.inner.check_eligibility(entry_point_id)),
        )
    }

    /// chatAllowed: (allowed, reason).
    fn chat_allowed(
        &self,
        py: Python<'_>,
        entry_point_id: u64,
    ) -> PyResult<(bool, Option<String>)> {
        check(
            py,
            py.allow_threads(|| self.inner.chat_allowed(entry_point_id)),
        )
    }

    /// Submits a survey given as JSON.
    fn submit_survey_json(&self, py: Python<'_>, survey_json: &str) -> PyResult<()> {
        check(
            py,
            py.allow_threads(|| self.inner.submit_survey_json(survey_json)),
        )
    }
}

/// The ECE simulator (wraps `cce::api::EceSim`).
#[pyclass(module = "libcce._native", name = "EceSim", frozen)]
pub(crate) struct PyEceSim {
    inner: api::EceSim,
}

#[pymethods]
impl PyEceSim {
    /// Starts a simulator from a JSON configuration (`"{}"`: defaults).
    #[new]
    #[pyo3(signature = (config_json = "{}"))]
    fn new(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let inner = check(py, py.allow_threads(|| api::EceSim::start(config_json)))?;
        Ok(PyEceSim { inner })
    }

    /// `http://127.0.0.1:PORT`.
    #[getter]
    fn server_url(&self) -> String {
        self.inner.server_url().to_owned()
    }

    /// Chat web services base URL.
    #[getter]
    fn chat_base_url(&self) -> String {
        self.inner.chat_base_url().to_owned()
    }

    /// Listening port.
    #[getter]
    fn port(&self) -> u16 {
        self.inner.port()
    }

    /// Runs a JSON command; returns the JSON answer.
    fn control(&self, py: Python<'_>, command_json: &str) -> PyResult<String> {
        check(py, py.allow_threads(|| self.inner.control(command_json)))
    }

    /// Stops the simulator; raises `Closed` if already stopped.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        check(py, py.allow_threads(|| self.inner.stop()))
    }
}

/// Adds the ECE classes to the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEceClient>()?;
    m.add_class::<PyEceWebhook>()?;
    m.add_class::<PyEceChatWs>()?;
    m.add_class::<PyEceSim>()?;
    Ok(())
}
