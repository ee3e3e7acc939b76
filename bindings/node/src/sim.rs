//! `NativeSimulator`: the embedded CTI Server simulator.

use super::*;

// ---------------------------------------------------------------------------
// Simulator

/// The embedded CTI Server simulator (synchronous control API).
#[napi]
pub struct NativeSimulator {
    inner: CtiSim,
}

#[napi]
impl NativeSimulator {
    /// Starts a simulator from a JSON configuration (`"{}"`: defaults).
    #[napi(factory)]
    pub fn start(config_json: String) -> napi::Result<Self> {
        guarded(|| CtiSim::start(&config_json)).map(|inner| NativeSimulator { inner })
    }

    /// Listening port.
    #[napi(getter)]
    pub fn port(&self) -> u32 {
        u32::from(self.inner.port())
    }

    /// Listening address ("127.0.0.1:PORT").
    #[napi(getter)]
    pub fn address(&self) -> String {
        self.inner.address().to_string()
    }

    /// Plays a scripted inbound call given as JSON; returns its ConnectionCallID.
    #[napi]
    pub fn inject_call(&self, call_json: String) -> napi::Result<u32> {
        guarded(|| self.inner.inject_call(&call_json))
    }

    /// Turns heartbeat answers on or off (fault injection).
    #[napi]
    pub fn set_answer_heartbeats(&self, answer: bool) -> napi::Result<()> {
        guarded(|| self.inner.set_answer_heartbeats(answer))
    }

    /// HEARTBEAT_REQs left unanswered so far.
    #[napi]
    pub fn unanswered_heartbeats(&self) -> napi::Result<f64> {
        // A count that will never reach 2^53: a plain JavaScript number.
        guarded(|| self.inner.unanswered_heartbeats()).map(|n| n as f64)
    }

    /// Current AgentState of an agent, or null for an unknown agent.
    #[napi]
    pub fn agent_state(&self, agent_id: String) -> napi::Result<Option<u32>> {
        guarded(|| self.inner.agent_state(&agent_id)).map(|s| s.map(u32::from))
    }

    /// Writes raw bytes to every session (fault injection).
    #[napi]
    pub fn send_raw(&self, bytes: Buffer) -> napi::Result<()> {
        guarded(|| self.inner.send_raw(&bytes))
    }

    /// Stops the simulator and closes its sessions; fails if already stopped.
    #[napi]
    pub fn stop(&self) -> napi::Result<()> {
        guarded(|| self.inner.stop())
    }

    /// A side's port ("A" or "B"), or null for side B of a simplex simulator.
    #[napi]
    pub fn side_port(&self, side: String) -> napi::Result<Option<u32>> {
        guarded(|| self.inner.side_port(&side)).map(|p| p.map(u32::from))
    }

    /// A side's state: "Active", "Standby", "Maintenance" or "Down".
    #[napi]
    pub fn side_state(&self, side: String) -> napi::Result<String> {
        guarded(|| self.inner.side_state(&side))
    }

    /// Offers a live inbound call given as JSON; returns its ConnectionCallID.
    #[napi]
    pub fn offer_call(&self, call_json: String) -> napi::Result<u32> {
        guarded(|| self.inner.offer_call(&call_json))
    }

    /// The ringing agent (or `agent_id`) answers the call.
    #[napi]
    pub fn answer_call(&self, call_id: u32, agent_id: Option<String>) -> napi::Result<()> {
        guarded(|| self.inner.answer_call(call_id, agent_id.as_deref()))
    }

    /// The caller hangs up.
    #[napi]
    pub fn hangup(&self, call_id: u32) -> napi::Result<()> {
        guarded(|| self.inner.hangup(call_id))
    }

    /// Clears the whole call.
    #[napi]
    pub fn clear_call(&self, call_id: u32) -> napi::Result<()> {
        guarded(|| self.inner.clear_call(call_id))
    }

    /// Sets an agent's state from the peripheral side.
    #[napi]
    pub fn set_agent_state(
        &self,
        agent_id: String,
        state: String,
        reason: u32,
    ) -> napi::Result<()> {
        let reason = u16::try_from(reason)
            .map_err(|_| napi::Error::new(Status::InvalidArg, "reason must fit 16 bits"))?;
        guarded(|| self.inner.set_agent_state(&agent_id, &state, reason))
    }

    /// Turns heartbeat answers on or off on one side.
    #[napi]
    pub fn set_answer_heartbeats_on(&self, side: String, answer: bool) -> napi::Result<()> {
        guarded(|| self.inner.set_answer_heartbeats_on(&side, answer))
    }

    /// Adds a request fault rule given as JSON.
    #[napi]
    pub fn add_fault(&self, fault_json: String) -> napi::Result<()> {
        guarded(|| self.inner.add_fault(&fault_json))
    }

    /// Removes every fault rule.
    #[napi]
    pub fn clear_faults(&self) -> napi::Result<()> {
        guarded(|| self.inner.clear_faults())
    }

    /// Sends FAILURE_EVENT (status name or number) to every session, or one side's.
    #[napi]
    pub fn send_failure_event(&self, status: String, side: Option<String>) -> napi::Result<()> {
        guarded(|| self.inner.send_failure_event(&status, side.as_deref()))
    }

    /// Closes every connection (of one side) abruptly.
    #[napi]
    pub fn close_sessions(&self, side: Option<String>) -> napi::Result<()> {
        guarded(|| self.inner.close_sessions(side.as_deref()))
    }

    /// Sends a malformed frame to every connection (of one side).
    #[napi]
    pub fn send_malformed(&self, side: Option<String>) -> napi::Result<()> {
        guarded(|| self.inner.send_malformed(side.as_deref()))
    }

    /// Kills a side.
    #[napi]
    pub fn kill_side(&self, side: String) -> napi::Result<()> {
        guarded(|| self.inner.kill_side(&side))
    }

    /// Restarts a killed side on its port; returns the port.
    #[napi]
    pub fn restart_side(&self, side: String) -> napi::Result<u32> {
        guarded(|| self.inner.restart_side(&side)).map(u32::from)
    }

    /// Makes a side active.
    #[napi]
    pub fn switch_active(&self, side: String) -> napi::Result<()> {
        guarded(|| self.inner.switch_active(&side))
    }

    /// Runs the maintenance handshake on the active side; returns the outcome as JSON.
    #[napi]
    pub fn maintenance(&self, side: String) -> napi::Result<String> {
        guarded(|| self.inner.maintenance(&side))
    }

    /// Ends a side's maintenance.
    #[napi]
    pub fn end_maintenance(&self, side: String) -> napi::Result<()> {
        guarded(|| self.inner.end_maintenance(&side))
    }

    /// Takes the peripheral offline or back online.
    #[napi]
    pub fn set_peripheral_online(&self, online: bool) -> napi::Result<()> {
        guarded(|| self.inner.set_peripheral_online(online))
    }

    /// Open client sessions (both sides).
    #[napi]
    pub fn session_count(&self) -> napi::Result<u32> {
        guarded(|| self.inner.session_count()).map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Messages the simulator failed to encode.
    #[napi]
    pub fn encode_errors(&self) -> napi::Result<f64> {
        guarded(|| self.inner.encode_errors()).map(|n| n as f64)
    }

    /// Runs a command given as JSON; returns its result as JSON.
    #[napi]
    pub fn command(&self, command_json: String) -> napi::Result<String> {
        guarded(|| self.inner.command(&command_json))
    }

    /// Runs a scenario to its end; returns the report as JSON.
    #[napi]
    pub fn run_scenario(&self, scenario_json: String) -> napi::Result<String> {
        guarded(|| self.inner.run_scenario(&scenario_json))
    }

    /// Starts a scenario in the background.
    #[napi]
    pub fn start_scenario(&self, scenario_json: String) -> napi::Result<()> {
        guarded(|| self.inner.start_scenario(&scenario_json))
    }

    /// Runs a load to completion; returns the report as JSON.
    #[napi]
    pub fn run_load(&self, load_json: String) -> napi::Result<String> {
        guarded(|| self.inner.run_load(&load_json))
    }

    /// Sides, sessions, agents and calls as JSON.
    #[napi]
    pub fn status_json(&self) -> napi::Result<String> {
        guarded(|| self.inner.status_json())
    }
}
