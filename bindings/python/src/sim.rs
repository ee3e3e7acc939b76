//! `CtiSim`: the embedded CTI Server simulator.

use super::*;

/// An embedded CTI Server simulator (wraps `cce::api::CtiSim`).
#[pyclass(module = "libcce._native", name = "CtiSim", frozen)]
pub(crate) struct PyCtiSim {
    inner: api::CtiSim,
}

#[pymethods]
impl PyCtiSim {
    /// Starts a simulator from a JSON configuration (`"{}"`: defaults).
    #[new]
    #[pyo3(signature = (config_json = "{}"))]
    fn new(py: Python<'_>, config_json: &str) -> PyResult<Self> {
        let inner = check(py, py.detach(|| api::CtiSim::start(config_json)))?;
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
        check(py, py.detach(|| self.inner.inject_call(call_json)))
    }

    /// Turns heartbeat answers on or off (fault injection).
    fn set_answer_heartbeats(&self, py: Python<'_>, answer: bool) -> PyResult<()> {
        check(py, py.detach(|| self.inner.set_answer_heartbeats(answer)))
    }

    /// HEARTBEAT_REQs left unanswered so far.
    fn unanswered_heartbeats(&self, py: Python<'_>) -> PyResult<u64> {
        check(py, py.detach(|| self.inner.unanswered_heartbeats()))
    }

    /// Current AgentState of an agent, or None for an unknown agent.
    fn agent_state(&self, py: Python<'_>, agent_id: &str) -> PyResult<Option<u16>> {
        check(py, py.detach(|| self.inner.agent_state(agent_id)))
    }

    /// Writes raw bytes to every session (fault injection).
    fn send_raw(&self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        check(py, py.detach(|| self.inner.send_raw(data)))
    }

    /// Stops the simulator and closes its sessions; raises `Closed` if already stopped.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        check(py, py.detach(|| self.inner.stop()))
    }

    /// A side's port ("A" or "B"); None for side B of a simplex simulator.
    fn side_port(&self, py: Python<'_>, side: &str) -> PyResult<Option<u16>> {
        check(py, py.detach(|| self.inner.side_port(side)))
    }

    /// A side's state: "Active", "Standby", "Maintenance" or "Down".
    fn side_state(&self, py: Python<'_>, side: &str) -> PyResult<String> {
        check(py, py.detach(|| self.inner.side_state(side)))
    }

    /// Offers a live inbound call given as JSON; returns its ConnectionCallID.
    fn offer_call(&self, py: Python<'_>, call_json: &str) -> PyResult<u32> {
        check(py, py.detach(|| self.inner.offer_call(call_json)))
    }

    /// The ringing agent (or `agent_id`) answers the call.
    #[pyo3(signature = (call_id, agent_id = None))]
    fn answer_call(&self, py: Python<'_>, call_id: u32, agent_id: Option<&str>) -> PyResult<()> {
        check(py, py.detach(|| self.inner.answer_call(call_id, agent_id)))
    }

    /// The caller hangs up.
    fn hangup(&self, py: Python<'_>, call_id: u32) -> PyResult<()> {
        check(py, py.detach(|| self.inner.hangup(call_id)))
    }

    /// Clears the whole call.
    fn clear_call(&self, py: Python<'_>, call_id: u32) -> PyResult<()> {
        check(py, py.detach(|| self.inner.clear_call(call_id)))
    }

    /// Sets an agent's state from the peripheral side.
    #[pyo3(signature = (agent_id, state, reason = 0))]
    fn set_agent_state(
        &self,
        py: Python<'_>,
        agent_id: &str,
        state: &str,
        reason: u16,
    ) -> PyResult<()> {
        check(
            py,
            py.detach(|| self.inner.set_agent_state(agent_id, state, reason)),
        )
    }

    /// Turns heartbeat answers on or off on one side.
    fn set_answer_heartbeats_on(&self, py: Python<'_>, side: &str, answer: bool) -> PyResult<()> {
        check(
            py,
            py.detach(|| self.inner.set_answer_heartbeats_on(side, answer)),
        )
    }

    /// Adds a request fault rule given as JSON.
    fn add_fault(&self, py: Python<'_>, fault_json: &str) -> PyResult<()> {
        check(py, py.detach(|| self.inner.add_fault(fault_json)))
    }

    /// Removes every fault rule.
    fn clear_faults(&self, py: Python<'_>) -> PyResult<()> {
        check(py, py.detach(|| self.inner.clear_faults()))
    }

    /// Sends FAILURE_EVENT (status name or number) to every session, or one side's.
    #[pyo3(signature = (status, side = None))]
    fn send_failure_event(&self, py: Python<'_>, status: &str, side: Option<&str>) -> PyResult<()> {
        check(
            py,
            py.detach(|| self.inner.send_failure_event(status, side)),
        )
    }

    /// Closes every connection (of one side) abruptly.
    #[pyo3(signature = (side = None))]
    fn close_sessions(&self, py: Python<'_>, side: Option<&str>) -> PyResult<()> {
        check(py, py.detach(|| self.inner.close_sessions(side)))
    }

    /// Sends a malformed frame to every connection (of one side).
    #[pyo3(signature = (side = None))]
    fn send_malformed(&self, py: Python<'_>, side: Option<&str>) -> PyResult<()> {
        check(py, py.detach(|| self.inner.send_malformed(side)))
    }

    /// Kills a side.
    fn kill_side(&self, py: Python<'_>, side: &str) -> PyResult<()> {
        check(py, py.detach(|| self.inner.kill_side(side)))
    }

    /// Restarts a killed side on its port; returns the port.
    fn restart_side(&self, py: Python<'_>, side: &str) -> PyResult<u16> {
        check(py, py.detach(|| self.inner.restart_side(side)))
    }

    /// Makes a side active.
    fn switch_active(&self, py: Python<'_>, side: &str) -> PyResult<()> {
        check(py, py.detach(|| self.inner.switch_active(side)))
    }

    /// Runs the maintenance handshake on the active side; returns the outcome as JSON.
    fn maintenance(&self, py: Python<'_>, side: &str) -> PyResult<String> {
        check(py, py.detach(|| self.inner.maintenance(side)))
    }

    /// Ends a side's maintenance.
    fn end_maintenance(&self, py: Python<'_>, side: &str) -> PyResult<()> {
        check(py, py.detach(|| self.inner.end_maintenance(side)))
    }

    /// Takes the peripheral offline or back online.
    fn set_peripheral_online(&self, py: Python<'_>, online: bool) -> PyResult<()> {
        check(py, py.detach(|| self.inner.set_peripheral_online(online)))
    }

    /// Open client sessions (both sides).
    fn session_count(&self, py: Python<'_>) -> PyResult<usize> {
        check(py, py.detach(|| self.inner.session_count()))
    }

    /// Messages the simulator failed to encode.
    fn encode_errors(&self, py: Python<'_>) -> PyResult<u64> {
        check(py, py.detach(|| self.inner.encode_errors()))
    }

    /// Runs a command given as JSON; returns its result as JSON.
    fn command(&self, py: Python<'_>, command_json: &str) -> PyResult<String> {
        check(py, py.detach(|| self.inner.command(command_json)))
    }

    /// Runs a scenario to its end; returns the report as JSON.
    fn run_scenario(&self, py: Python<'_>, scenario_json: &str) -> PyResult<String> {
        check(py, py.detach(|| self.inner.run_scenario(scenario_json)))
    }

    /// Starts a scenario in the background.
    fn start_scenario(&self, py: Python<'_>, scenario_json: &str) -> PyResult<()> {
        check(py, py.detach(|| self.inner.start_scenario(scenario_json)))
    }

    /// Runs a load to completion; returns the report as JSON.
    fn run_load(&self, py: Python<'_>, load_json: &str) -> PyResult<String> {
        check(py, py.detach(|| self.inner.run_load(load_json)))
    }

    /// Sides, sessions, agents and calls as JSON.
    fn status_json(&self, py: Python<'_>) -> PyResult<String> {
        check(py, py.detach(|| self.inner.status_json()))
    }
}
