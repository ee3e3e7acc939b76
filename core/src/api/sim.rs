//! The CTI Server simulator behind a blocking API.

use super::*;

/// A CTI Server simulator with a blocking API.
pub struct CtiSim {
    sim: Mutex<Option<CtiSimulator>>,
    addr: SocketAddr,
}

impl CtiSim {
    /// Starts a simulator from a JSON configuration (`{}` or empty for defaults:
    /// loopback, ephemeral port, agent 1001 at extension 5001).
    pub fn start(config_json: &str) -> Result<Self, Error> {
        let cfg = SimConfig::from_json(config_json)?;
        let sim = rt()?.block_on(CtiSimulator::start(cfg))?;
        let addr = sim.local_addr();
        Ok(CtiSim {
            sim: Mutex::new(Some(sim)),
            addr,
        })
    }

    /// Listening address.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// Listening port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    fn with<T>(&self, f: impl FnOnce(&CtiSimulator) -> Result<T, Error>) -> Result<T, Error> {
        let guard = self.sim.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(s) => f(s),
            None => Err(Error::new(ErrorKind::Closed, "simulator stopped")),
        }
    }

    /// Plays a scripted inbound call (JSON, see [`SimCall`]); returns its ConnectionCallID.
    pub fn inject_call(&self, call_json: &str) -> Result<u32, Error> {
        let call = SimCall::from_json(call_json)?;
        self.with(|s| Ok(s.inject_call(&call)?))
    }

    /// Turns heartbeat answers on or off (fault injection).
    pub fn set_answer_heartbeats(&self, answer: bool) -> Result<(), Error> {
        self.with(|s| {
            s.set_answer_heartbeats(answer);
            Ok(())
        })
    }

    /// HEARTBEAT_REQs left unanswered so far.
    pub fn unanswered_heartbeats(&self) -> Result<u64, Error> {
        self.with(|s| Ok(s.unanswered_heartbeats()))
    }

    /// Current AgentState of an agent.
    pub fn agent_state(&self, agent_id: &str) -> Result<Option<u16>, Error> {
        self.with(|s| Ok(s.agent_state(agent_id)))
    }

    /// Writes raw bytes to every session (fault injection).
    pub fn send_raw(&self, bytes: &[u8]) -> Result<(), Error> {
        self.with(|s| {
            s.send_raw(bytes);
            Ok(())
        })
    }

    /// Stops the simulator and closes its sessions. Fails if already stopped.
    pub fn stop(&self) -> Result<(), Error> {
        let sim = self
            .sim
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| Error::new(ErrorKind::Closed, "simulator already stopped"))?;
        rt()?.block_on(sim.stop());
        Ok(())
    }
}

impl Drop for CtiSim {
    fn drop(&mut self) {
        if let Some(sim) = self.sim.get_mut().ok().and_then(Option::take) {
            if let Ok(rt) = runtime() {
                rt.spawn(sim.stop());
            }
        }
    }
}
