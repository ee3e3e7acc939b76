//! ECE classes of `cce._native`: thin wrappers over `cce::api::{EceClient, EceWebhook,
//! EceChatWs, EceSim}`. The pure-Python module `libcce.ece` builds the public API on them.

use super::*;

/// A Messaging API client (wraps `cce::api::EceClient`).
#[pyclass(module = "libcce._native", name = "EceClient", frozen)]
pub(crate) struct PyEceClient {
    inner: Arc<api::EceClient>,
}

#[pymethods]
impl PyEceClient {
    /// Builds a client from a JSON configuration (no network traffic yet).
    #[new]
    fn new(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let inner = check(py, py.detach(|| api::EceClient::new(config_json)))?;
        Ok(PyEceClient {
            inner: Arc::new(inner),
        })
    }

    /// Logs in now, replacing any cached token.
    fn login(&self, py: Python<'_>) -> PyResult<()> {
        check(py, py.detach(|| self.inner.login()))
    }

    /// `login` without blocking: `callback(ok, None or error)` on `event_loop`.
    fn login_async(&self, event_loop: Bound<'_, PyAny>, callback: Bound<'_, PyAny>) {
        let s = self.inner.clone();
        Completion::new(event_loop, callback).spawn(async move { s.login_async().await }, none);
    }

    /// `configuration_json` without blocking: `callback(ok, JSON or error)`.
    #[pyo3(signature = (event_loop, callback, refresh = false))]
    fn configuration_json_async(
        &self,
        event_loop: Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        refresh: bool,
    ) {
        let s = self.inner.clone();
        Completion::new(event_loop, callback).spawn(
            async move { s.configuration_json_async(refresh).await },
            value,
        );
    }

    /// `start_conversation_json` without blocking: `callback(ok, JSON or error)`.
    fn start_conversation_json_async(
        &self,
        event_loop: Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        request_json: String,
    ) {
        let s = self.inner.clone();
        Completion::new(event_loop, callback).spawn(
            async move { s.start_conversation_json_async(&request_json).await },
            value,
        );
    }

    /// `send_message` without blocking: `callback(ok, None or error)`.
    #[pyo3(signature = (event_loop, callback, conversation_id, content, message_type = "text/html".to_owned()))]
    fn send_message_async(
        &self,
        event_loop: Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        conversation_id: String,
        content: String,
        message_type: String,
    ) {
        let s = self.inner.clone();
        Completion::new(event_loop, callback).spawn(
            async move {
                s.send_message_async(&conversation_id, &content, &message_type)
                    .await
            },
            none,
        );
    }

    /// `end_conversation` without blocking: `callback(ok, None or error)`.
    fn end_conversation_async(
        &self,
        event_loop: Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        conversation_id: String,
    ) {
        let s = self.inner.clone();
        Completion::new(event_loop, callback).spawn(
            async move { s.end_conversation_async(&conversation_id).await },
            none,
        );
    }

    /// Logins made so far.
    #[getter]
    fn logins(&self) -> u64 {
        self.inner.logins()
    }

    /// The entry point configuration as JSON (cached unless `refresh`).
    #[pyo3(signature = (refresh = false))]
    fn configuration_json(&self, py: Python<'_>, refresh: bool) -> PyResult<String> {
        check(py, py.detach(|| self.inner.configuration_json(refresh)))
    }

    /// Starts a conversation from a JSON request; returns JSON `{"id", ...}`.
    fn start_conversation_json(&self, py: Python<'_>, request_json: &str) -> PyResult<String> {
        check(
            py,
            py.detach(|| self.inner.start_conversation_json(request_json)),
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
            py.detach(|| {
                self.inner
                    .send_message(conversation_id, content, message_type)
            }),
        )
    }

    /// Ends a conversation (configurable, unverified endpoint).
    fn end_conversation(&self, py: Python<'_>, conversation_id: &str) -> PyResult<()> {
        check(
            py,
            py.detach(|| self.inner.end_conversation(conversation_id)),
        )
    }
}

/// The webhook server (wraps `cce::api::EceWebhook`).
#[pyclass(module = "libcce._native", name = "EceWebhook", frozen)]
pub(crate) struct PyEceWebhook {
    inner: Arc<api::EceWebhook>,
}

#[pymethods]
impl PyEceWebhook {
    /// Starts a webhook server from a JSON configuration.
    #[new]
    fn new(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let inner = check(py, py.detach(|| api::EceWebhook::start(config_json)))?;
        Ok(PyEceWebhook {
            inner: Arc::new(inner),
        })
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
        check(py, py.detach(|| self.inner.next_event(timeout)))
    }

    /// Waits for the next events (`timeout` in seconds; None: until one comes): at
    /// most `max` `Event`s queued together; an empty list on timeout; raises `Closed`
    /// once stopped and drained.
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
            py.detach(|| -> Result<Vec<String>, Error> {
                let Some(first) = self.inner.next_event(timeout)? else {
                    return Ok(Vec::new());
                };
                let mut batch = vec![first];
                while batch.len() < max {
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
        Ok(batch.into_iter().map(|j| PyEvent::text(j, false)).collect())
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
            |py, batch| {
                let events = batch.into_iter().map(|j| PyEvent::text(j, false));
                Ok(pyo3::types::PyList::new(py, events)?.into_any())
            },
        );
        Ok(())
    }

    /// Counters as JSON.
    fn stats_json(&self, py: Python<'_>) -> PyResult<String> {
        check(py, self.inner.stats_json())
    }

    /// Stops the server; raises `Closed` if already stopped.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        check(py, py.detach(|| self.inner.stop()))
    }
}

/// The chat web services client (wraps `cce::api::EceChatWs`).
#[pyclass(module = "libcce._native", name = "EceChatWs", frozen)]
pub(crate) struct PyEceChatWs {
    inner: Arc<api::EceChatWs>,
}

#[pymethods]
impl PyEceChatWs {
    /// Builds a client from a JSON configuration.
    #[new]
    fn new(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let inner = check(py, py.detach(|| api::EceChatWs::new(config_json)))?;
        Ok(PyEceChatWs {
            inner: Arc::new(inner),
        })
    }

    /// `agent_availability` without blocking: `callback(ok, value or error)`.
    fn agent_availability_async(
        &self,
        event_loop: Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        entry_point_id: u64,
    ) {
        let s = self.inner.clone();
        Completion::new(event_loop, callback).spawn(
            async move { s.agent_availability_async(entry_point_id).await },
            value,
        );
    }

    /// `capacity` without blocking: `callback(ok, value or error)`.
    fn capacity_async(
        &self,
        event_loop: Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        entry_point_id: u64,
    ) {
        let s = self.inner.clone();
        Completion::new(event_loop, callback)
            .spawn(async move { s.capacity_async(entry_point_id).await }, value);
    }

    /// `live_session_status` without blocking: `callback(ok, value or error)`.
    fn live_session_status_async(
        &self,
        event_loop: Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        entry_point_id: u64,
    ) {
        let s = self.inner.clone();
        Completion::new(event_loop, callback).spawn(
            async move { s.live_session_status_async(entry_point_id).await },
            value,
        );
    }

    /// `check_eligibility` without blocking: `callback(ok, value or error)`.
    fn check_eligibility_async(
        &self,
        event_loop: Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        entry_point_id: u64,
    ) {
        let s = self.inner.clone();
        Completion::new(event_loop, callback).spawn(
            async move { s.check_eligibility_async(entry_point_id).await },
            value,
        );
    }

    /// `chat_allowed` without blocking: `callback(ok, value or error)`.
    fn chat_allowed_async(
        &self,
        event_loop: Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        entry_point_id: u64,
    ) {
        let s = self.inner.clone();
        Completion::new(event_loop, callback).spawn(
            async move { s.chat_allowed_async(entry_point_id).await },
            value,
        );
    }

    /// `submit_survey_json` without blocking: `callback(ok, None or error)`.
    fn submit_survey_json_async(
        &self,
        event_loop: Bound<'_, PyAny>,
        callback: Bound<'_, PyAny>,
        survey_json: String,
    ) {
        let s = self.inner.clone();
        Completion::new(event_loop, callback).spawn(
            async move { s.submit_survey_json_async(&survey_json).await },
            none,
        );
    }

    /// agentAvailability.
    fn agent_availability(&self, py: Python<'_>, entry_point_id: u64) -> PyResult<bool> {
        check(
            py,
            py.detach(|| self.inner.agent_availability(entry_point_id)),
        )
    }

    /// capacity.
    fn capacity(&self, py: Python<'_>, entry_point_id: u64) -> PyResult<u32> {
        check(py, py.detach(|| self.inner.capacity(entry_point_id)))
    }

    /// liveSessionStatus: (wait seconds, queue depth).
    fn live_session_status(&self, py: Python<'_>, entry_point_id: u64) -> PyResult<(f64, u32)> {
        check(
            py,
            py.detach(|| self.inner.live_session_status(entry_point_id)),
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
            py.detach(|| self.inner.check_eligibility(entry_point_id)),
        )
    }

    /// chatAllowed: (allowed, reason).
    fn chat_allowed(
        &self,
        py: Python<'_>,
        entry_point_id: u64,
    ) -> PyResult<(bool, Option<String>)> {
        check(py, py.detach(|| self.inner.chat_allowed(entry_point_id)))
    }

    /// Submits a survey given as JSON.
    fn submit_survey_json(&self, py: Python<'_>, survey_json: &str) -> PyResult<()> {
        check(py, py.detach(|| self.inner.submit_survey_json(survey_json)))
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
        let inner = check(py, py.detach(|| api::EceSim::start(config_json)))?;
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
        check(py, py.detach(|| self.inner.control(command_json)))
    }

    /// Stops the simulator; raises `Closed` if already stopped.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        check(py, py.detach(|| self.inner.stop()))
    }
}

/// A result as its Python value.
fn value<T>(py: Python<'_>, v: T) -> PyResult<Bound<'_, PyAny>>
where
    T: for<'py> IntoPyObject<'py>,
{
    use pyo3::BoundObject;
    Ok(v.into_pyobject(py)
        .map_err(Into::into)?
        .into_any()
        .into_bound())
}

/// `()` as None.
fn none(py: Python<'_>, (): ()) -> PyResult<Bound<'_, PyAny>> {
    Ok(py.None().into_bound(py))
}

/// Adds the ECE classes to the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEceClient>()?;
    m.add_class::<PyEceWebhook>()?;
    m.add_class::<PyEceChatWs>()?;
    m.add_class::<PyEceSim>()?;
    Ok(())
}
