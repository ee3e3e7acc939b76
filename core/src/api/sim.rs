//! The CTI Server simulator behind a blocking API (shared by C, Python and Node).
//!
//! Sides are named `"A"` / `"B"`; structured arguments and results are JSON. Every
//! operation is also reachable through [`CtiSim::command`] with a
//! [`crate::sim::cti::SimCommand`] in JSON, which the bindings use for the less common
//! ones.

use std::sync::Arc;

use super::*;
use crate::sim::cti::{ConstRef, LoadConfig, RequestFault, Scenario, Side, SimCommand};

/// Maps a simulator error; a refusal carries the constant a server would answer with.
fn sim_err(e: SimError) -> Error {
    match e {
        SimError::Refused(name) => {
            let code = crate::cti::spec::constant("Status Codes", name)
                .or_else(|| crate::cti::spec::constant("ControlFailureCode Values", name));
            Error {
                kind: ErrorKind::Refused,
                message: format!("simulator refused: {name}"),
                status: code,
                status_name: Some(name.to_owned()),
                protocol: Some(Protocol::Cti),
            }
        }
        other => other.into(),
    }
}

fn side(s: &str) -> Result<Side, Error> {
    Side::parse(s).map_err(sim_err)
}

fn opt_side(s: Option<&str>) -> Result<Option<Side>, Error> {
    s.map(side).transpose()
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string(v).map_err(|e| Error::invalid(e.to_string()))
}

/// A status given as a constant name or a decimal number.
fn const_ref(s: &str) -> ConstRef {
    s.trim()
        .parse::<u32>()
        .map_or_else(|_| ConstRef::Name(s.trim().to_owned()), ConstRef::Num)
}

/// A call from JSON: camelCase keys accepted, `named_variables` as a list of pairs or
/// an object.
fn sim_call(call_json: &str) -> Result<SimCall, Error> {
    let v = config_json::named_variable_pairs(config_json::parse(call_json, "call", &[])?);
    SimCall::from_json(&v.to_string()).map_err(sim_err)
}

/// A CTI Server simulator with a blocking API.
pub struct CtiSim {
    sim: Mutex<Option<Arc<CtiSimulator>>>,
    addr: SocketAddr,
}

impl CtiSim {
    /// Starts a simulator from a JSON configuration (`{}` or empty for defaults:
    /// loopback, ephemeral port, agent 1001 at extension 5001; `"bind_b"` adds side B).
    pub fn start(config_json: &str) -> Result<Self, Error> {
        let text = config_json::normalized_text(config_json, "simulator config", &["agents"])?;
        let cfg = SimConfig::from_json(&text).map_err(sim_err)?;
        let sim = rt()?.block_on(CtiSimulator::start(cfg)).map_err(sim_err)?;
        let addr = sim.local_addr();
        Ok(CtiSim {
            sim: Mutex::new(Some(Arc::new(sim))),
            addr,
        })
    }

    /// Side A's listening address.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// Side A's listening port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    fn get(&self) -> Result<Arc<CtiSimulator>, Error> {
        let guard = self.sim.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(s) if !s.is_stopped() => Ok(s.clone()),
            _ => Err(Error::new(ErrorKind::Closed, "simulator stopped")),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&CtiSimulator) -> Result<T, SimError>) -> Result<T, Error> {
        let s = self.get()?;
        f(&s).map_err(sim_err)
    }

    /// A side's port (`None` for side B of a simplex simulator).
    pub fn side_port(&self, s: &str) -> Result<Option<u16>, Error> {
        let s = side(s)?;
        self.with(|x| Ok(x.side_addr(s).map(|a| a.port())))
    }

    /// A side's state: `"Active"`, `"Standby"`, `"Maintenance"` or `"Down"`.
    pub fn side_state(&self, s: &str) -> Result<String, Error> {
        let s = side(s)?;
        self.with(|x| Ok(format!("{:?}", x.side_state(s))))
    }

    /// Plays a complete scripted inbound call at once (JSON, see [`SimCall`]); returns
    /// its ConnectionCallID.
    pub fn inject_call(&self, call_json: &str) -> Result<u32, Error> {
        let call = sim_call(call_json)?;
        self.with(|s| s.inject_call(&call))
    }

    /// Offers a live inbound call (routed or queued, rings until answered); returns its
    /// ConnectionCallID.
    pub fn offer_call(&self, call_json: &str) -> Result<u32, Error> {
        let call = sim_call(call_json)?;
        self.with(|s| s.offer_call(&call))
    }

    /// The ringing agent (or `agent_id`) answers the call.
    pub fn answer_call(&self, call_id: u32, agent_id: Option<&str>) -> Result<(), Error> {
        self.with(|s| s.answer_call(call_id, agent_id))
    }

    /// The caller hangs up.
    pub fn hangup(&self, call_id: u32) -> Result<(), Error> {
        self.with(|s| s.hangup(call_id))
    }

    /// Clears the whole call.
    pub fn clear_call(&self, call_id: u32) -> Result<(), Error> {
        self.with(|s| s.clear_call(call_id))
    }

    /// Sets an agent's state from the peripheral side (state name, reason code).
    pub fn set_agent_state(&self, agent_id: &str, state: &str, reason: u16) -> Result<(), Error> {
        self.with(|s| s.set_agent_state(agent_id, state, reason))
    }

    /// Turns heartbeat answers on or off on both sides (fault injection).
    pub fn set_answer_heartbeats(&self, answer: bool) -> Result<(), Error> {
        self.with(|s| {
            s.set_answer_heartbeats(answer);
            Ok(())
        })
    }

    /// Turns heartbeat answers on or off on one side; TCP stays open.
    pub fn set_answer_heartbeats_on(&self, s: &str, answer: bool) -> Result<(), Error> {
        let s = side(s)?;
        self.with(|x| {
            x.set_answer_heartbeats_on(s, answer);
            Ok(())
        })
    }

    /// HEARTBEAT_REQs left unanswered so far.
    pub fn unanswered_heartbeats(&self) -> Result<u64, Error> {
        self.with(|s| Ok(s.unanswered_heartbeats()))
    }

    /// Open client sessions (both sides).
    pub fn session_count(&self) -> Result<usize, Error> {
        self.with(|s| Ok(s.session_count()))
    }

    /// Current AgentState of an agent.
    pub fn agent_state(&self, agent_id: &str) -> Result<Option<u16>, Error> {
        self.with(|s| Ok(s.agent_state(agent_id)))
    }

    /// Writes raw bytes to every connection (fault injection).
    pub fn send_raw(&self, bytes: &[u8]) -> Result<(), Error> {
        self.with(|s| {
            s.send_raw(bytes);
            Ok(())
        })
    }

    /// Adds a request fault rule (JSON, see [`RequestFault`]), e.g.
    /// `{"request":"HOLD_CALL_REQ","times":1,"action":"failure_conf","status":"E_CTI_INVALID_CALLID"}`.
    pub fn add_fault(&self, fault_json: &str) -> Result<(), Error> {
        let f = RequestFault::from_json(fault_json).map_err(sim_err)?;
        self.with(|s| s.add_fault(f))
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) -> Result<(), Error> {
        self.with(|s| {
            s.clear_faults();
            Ok(())
        })
    }

    /// Sends FAILURE_EVENT (status name or number) to every session, or one side's.
    pub fn send_failure_event(&self, status: &str, s: Option<&str>) -> Result<(), Error> {
        let s = opt_side(s)?;
        self.with(|x| x.send_failure_event(&const_ref(status), s))
    }

    /// Closes every connection (of one side) abruptly.
    pub fn close_sessions(&self, s: Option<&str>) -> Result<(), Error> {
        let s = opt_side(s)?;
        self.with(|x| {
            x.close_sessions(s);
            Ok(())
        })
    }

    /// Sends a malformed frame to every connection (of one side).
    pub fn send_malformed(&self, s: Option<&str>) -> Result<(), Error> {
        let s = opt_side(s)?;
        self.with(|x| {
            x.send_malformed(s);
            Ok(())
        })
    }

    /// Kills a side (listener and connections); the other side takes over.
    pub fn kill_side(&self, s: &str) -> Result<(), Error> {
        let s = side(s)?;
        self.with(|x| {
            x.kill_side(s);
            Ok(())
        })
    }

    /// Restarts a killed side on its port; returns the port.
    pub fn restart_side(&self, s: &str) -> Result<u16, Error> {
        let s = side(s)?;
        let sim = self.get()?;
        rt()?
            .block_on(sim.restart_side(s))
            .map(|a| a.port())
            .map_err(sim_err)
    }

    /// Makes a side active (the other standby).
    pub fn switch_active(&self, s: &str) -> Result<(), Error> {
        let s = side(s)?;
        self.with(|x| x.switch_active(s))
    }

    /// Runs the maintenance handshake on the active side (blocks up to twice
    /// `maintenance_timeout_ms`); returns the outcome as JSON.
    pub fn maintenance(&self, s: &str) -> Result<String, Error> {
        let s = side(s)?;
        let sim = self.get()?;
        let out = rt()?.block_on(sim.maintenance(s)).map_err(sim_err)?;
        to_json(&out)
    }

    /// Ends a side's maintenance.
    pub fn end_maintenance(&self, s: &str) -> Result<(), Error> {
        let s = side(s)?;
        self.with(|x| x.end_maintenance(s))
    }

    /// Takes the peripheral offline or back online.
    pub fn set_peripheral_online(&self, online: bool) -> Result<(), Error> {
        self.with(|s| {
            s.set_peripheral_online(online);
            Ok(())
        })
    }

    /// The calls in progress as JSON.
    pub fn calls_json(&self) -> Result<String, Error> {
        let calls = self.with(|s| Ok(s.calls()))?;
        to_json(&calls)
    }

    /// Sides, sessions, agents and calls as JSON.
    pub fn status_json(&self) -> Result<String, Error> {
        self.with(|s| Ok(s.status().to_string()))
    }

    /// Messages the simulator failed to encode (0 unless it has a bug).
    pub fn encode_errors(&self) -> Result<u64, Error> {
        self.with(|s| Ok(s.encode_errors()))
    }

    /// Runs one command given as JSON (`{"op": ...}`, see [`SimCommand`]); blocks
    /// until it is done and returns its result as JSON.
    pub fn command(&self, command_json: &str) -> Result<String, Error> {
        let cmd = SimCommand::from_json(command_json).map_err(sim_err)?;
        let sim = self.get()?;
        let v = rt()?.block_on(sim.run(cmd)).map_err(sim_err)?;
        Ok(v.to_string())
    }

    /// Runs a scenario (JSON, see [`Scenario`]) to its end; returns the report as JSON.
    pub fn run_scenario(&self, scenario_json: &str) -> Result<String, Error> {
        let sc = Scenario::from_json(scenario_json).map_err(sim_err)?;
        let sim = self.get()?;
        let report = rt()?.block_on(sim.run_scenario(&sc));
        to_json(&report)
    }

    /// Starts a scenario in the background (its step errors are logged).
    pub fn start_scenario(&self, scenario_json: &str) -> Result<(), Error> {
        let sc = Scenario::from_json(scenario_json).map_err(sim_err)?;
        let sim = self.get()?;
        rt()?.spawn(async move {
            let report = sim.run_scenario(&sc).await;
            for e in report.errors {
                tracing::warn!("scenario: {e}");
            }
        });
        Ok(())
    }

    /// Runs a load (JSON, see [`LoadConfig`]) to completion; returns the report as JSON.
    pub fn run_load(&self, load_json: &str) -> Result<String, Error> {
        let cfg = LoadConfig::from_json(load_json).map_err(sim_err)?;
        let sim = self.get()?;
        let rt = rt()?;
        let report = rt
            .block_on(async move { sim.start_load(cfg)?.wait().await })
            .map_err(sim_err)?;
        to_json(&report)
    }

    /// Stops the simulator and closes its sessions. Fails if already stopped.
    pub fn stop(&self) -> Result<(), Error> {
        let sim = self
            .sim
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| Error::new(ErrorKind::Closed, "simulator already stopped"))?;
        rt()?.block_on(sim.close());
        Ok(())
    }
}

impl Drop for CtiSim {
    fn drop(&mut self) {
        if let Some(sim) = self.sim.get_mut().ok().and_then(Option::take) {
            if let Ok(rt) = runtime() {
                rt.spawn(async move { sim.close().await });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_duplex_and_faults() {
        let sim = CtiSim::start(r#"{"bind_b":"127.0.0.1:0"}"#).unwrap();
        let b = sim.side_port("B").unwrap().unwrap();
        assert_ne!(b, sim.port());
        assert_eq!(sim.side_state("b").unwrap(), "Standby");
        sim.kill_side("A").unwrap();
        assert_eq!(sim.side_state("A").unwrap(), "Down");
        assert_eq!(sim.side_state("B").unwrap(), "Active");
        assert_eq!(sim.restart_side("A").unwrap(), sim.port());
        assert!(sim.kill_side("C").is_err());
        sim.add_fault(r#"{"request":"HOLD_CALL_REQ","action":"drop"}"#)
            .unwrap();
        assert_eq!(
            sim.add_fault(r#"{"request":"HOLD_CALL_REQ"}"#)
                .unwrap_err()
                .kind,
            ErrorKind::InvalidArgument
        );
        let out = sim.command(r#"{"op":"maintenance","side":"B"}"#).unwrap();
        assert!(out.contains(r#""accepted":true"#), "{out}");
        assert_eq!(sim.side_state("B").unwrap(), "Maintenance");
        let err = sim.answer_call(42, None).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
        sim.set_agent_state("1001", "AGENT_STATE_AVAILABLE", 0)
            .unwrap();
        let id = sim.offer_call(r#"{"ani":"1","dnis":"2"}"#).unwrap();
        let err = sim.answer_call(id, Some("1001")).map(|_| ());
        assert!(err.is_ok());
        let err = sim.answer_call(id, Some("1001")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Refused);
        assert_eq!(err.status_name.as_deref(), Some("CF_NO_CALL_TO_ANSWER"));
        assert!(sim.calls_json().unwrap().contains("LCS_CONNECT"));
        sim.stop().unwrap();
        assert_eq!(sim.kill_side("A").unwrap_err().kind, ErrorKind::Closed);
    }
}
