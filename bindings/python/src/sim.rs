//! `CtiSim`: the embedded CTI Server simulator.

use super::*;

/// An embedded CTI Server simulator (wraps `cce::api::CtiSim`).
#[pyclass(module = "cce._native", name = "CtiSim", frozen)]
pub(crate) struct PyCtiSim {
    inner: api::CtiSim,
}

#[pymethods]
impl PyCtiSim {
    /// Starts a simulator from a JSON configuration (`"{}"`: defaults).
    #[new]
    #[pyo3(signature = (config_json = "{}"))]
    fn new(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let inner = check(py, py.allow_threads(|| api::CtiSim::start(config_json)))?;
        Ok(PyCtiSim { inner })
    }

    /// Listening port.
    #[getter]
    fn port(&self) -> u16 {
        self.inner.port()
    }

    /// Listening address as "host:port".
    #[getter]
    fn address(&self) -> String {
        self.inner.address().to_string()
    }

    /// Plays a scripted inbound call given as JSON; returns its ConnectionCallID.
    fn inject_call(&self, py: Python<'_>, call_json: &str) -> PyResult<u32> {
        check(py, py.allow_threads(|| self.inner.inject_call(call_json)))
    }

    /// Turns heartbeat answers on or off (fault injection).
    fn set_answer_heartbeats(&self, py: Python<'_>, answer: bool) -> PyResult<()> {
        check(
            py,
            py.allow_threads(|| self.inner.set_answer_heartbeats(answer)),
        )
    }

    /// HEARTBEAT_REQs left unanswered so far.
    fn unanswered_heartbeats(&self, py: Python<'_>) -> PyResult<u64> {
        check(py, py.allow_threads(|| self.inner.unanswered_heartbeats()))
    }

    /// Current AgentState of an agent, or None for an unknown agent.
    fn agent_state(&self, py: Python<'_>, agent_id: &str) -> PyResult<Option<u16>> {
        check(py, py.allow_threads(|| self.inner.agent_state(agent_id)))
    }

    /// Writes raw bytes to every session (fault injection).
    fn send_raw(&self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        check(py, py.allow_threads(|| self.inner.send_raw(data)))
    }

    /// Stops the simulator and closes its sessions; raises `Closed` if already stopped.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        check(py, py.allow_threads(|| self.inner.stop()))
    }
}
