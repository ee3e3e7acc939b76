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
}
