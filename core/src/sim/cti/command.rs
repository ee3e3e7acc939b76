//! [`SimCommand`]: every control operation as data, for scenarios and the JSON control
//! API of the bindings and the CLI.

use serde::Deserialize;
use serde_json::{json, Value};

use super::config::{SimAgent, SimCall, SimCallData};
use super::consts::ConstRef;
use super::faults::RequestFault;
use super::load::LoadConfig;
use super::{CtiSimulator, Side, SimError};

/// A call named by ConnectionCallID or by the `name` a scenario gave it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum CallRef {
    /// ConnectionCallID.
    Id(u32),
    /// Scenario name.
    Name(String),
}

impl From<u32> for CallRef {
    fn from(id: u32) -> Self {
        CallRef::Id(id)
    }
}

impl From<&str> for CallRef {
    fn from(n: &str) -> Self {
        CallRef::Name(n.to_owned())
    }
}

/// One control operation. JSON: `{"op": "<snake_case name>", ...fields}`, e.g.
/// `{"op":"kill_side","side":"A"}` or `{"op":"offer_call","ani":"5551234","dnis":"8000"}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SimCommand {
    /// [`CtiSimulator::inject_call`]; result `{"call_id"}`.
    InjectCall(SimCall),
    /// [`CtiSimulator::offer_call`]; result `{"call_id"}`.
    OfferCall(SimCall),
    /// [`CtiSimulator::answer_call`].
    AnswerCall {
        /// The call.
        call: CallRef,
        /// Answering agent (default: the ringing one).
        #[serde(default)]
        agent_id: Option<String>,
    },
    /// [`CtiSimulator::hangup`].
    Hangup {
        /// The call.
        call: CallRef,
    },
    /// [`CtiSimulator::clear_call`].
    ClearCall {
        /// The call.
        call: CallRef,
    },
    /// [`CtiSimulator::update_call_data`].
    UpdateCallData {
        /// The call.
        call: CallRef,
        /// New context.
        data: SimCallData,
    },
    /// [`CtiSimulator::set_agent_state`].
    SetAgentState {
        /// Agent.
        agent_id: String,
        /// State name, e.g. `AGENT_STATE_AVAILABLE`.
        state: String,
        /// EventReasonCode.
        #[serde(default)]
        reason: u16,
    },
    /// [`CtiSimulator::add_agent`].
    AddAgent(SimAgent),
    /// [`CtiSimulator::set_answer_heartbeats`] / `_on` a side.
    AnswerHeartbeats {
        /// Answer or not.
        answer: bool,
        /// Only this side.
        #[serde(default)]
        side: Option<Side>,
    },
    /// [`CtiSimulator::add_fault`].
    AddFault(RequestFault),
    /// [`CtiSimulator::clear_faults`].
    ClearFaults,
    /// [`CtiSimulator::send_failure_event`].
    FailureEvent {
        /// Status name or number.
        status: ConstRef,
        /// Only this side.
        #[serde(default)]
        side: Option<Side>,
    },
    /// [`CtiSimulator::close_sessions`].
    CloseSessions {
        /// Only this side.
        #[serde(default)]
        side: Option<Side>,
    },
    /// [`CtiSimulator::send_malformed`].
    SendMalformed {
        /// Only this side.
        #[serde(default)]
        side: Option<Side>,
    },
    /// [`CtiSimulator::send_raw`] with hex-encoded bytes.
    SendRaw {
        /// Bytes as hex digits.
        hex: String,
    },
    /// [`CtiSimulator::set_peripheral_online`].
    PeripheralOnline {
        /// Online or offline.
        online: bool,
    },
    /// [`CtiSimulator::system_event`].
    SystemEvent {
        /// SystemEventID name or number.
        id: ConstRef,
        /// Text.
        #[serde(default)]
        text: Option<String>,
    },
    /// [`CtiSimulator::kill_side`].
    KillSide {
        /// The side.
        side: Side,
    },
    /// [`CtiSimulator::restart_side`]; result `{"port"}`.
    RestartSide {
        /// The side.
        side: Side,
    },
    /// [`CtiSimulator::switch_active`].
    SwitchActive {
        /// The side to make active.
        side: Side,
    },
    /// [`CtiSimulator::maintenance`]; result: the [`super::MaintenanceOutcome`].
    Maintenance {
        /// The active side to take down.
        side: Side,
    },
    /// [`CtiSimulator::end_maintenance`].
    EndMaintenance {
        /// The side.
        side: Side,
    },
    /// Runs load to completion ([`CtiSimulator::start_load`]); result: the report.
    Load(LoadConfig),
    /// State of the simulator: sides, sessions, calls; result is that state.
    Status,
}

impl SimCommand {
    /// Reads a command from JSON.
    pub fn from_json(text: &str) -> Result<Self, SimError> {
        serde_json::from_str(text).map_err(|e| SimError::Invalid(e.to_string()))
    }
}

fn hex(s: &str) -> Result<Vec<u8>, SimError> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !s.len().is_multiple_of(2) {
        return Err(SimError::Invalid(
            "hex needs an even number of digits".into(),
        ));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&s[i..i + 2], 16)
                .map_err(|_| SimError::Invalid(format!("bad hex {:?}", &s[i..i + 2])))
        })
        .collect()
}

pub(crate) async fn run(sim: &CtiSimulator, cmd: SimCommand) -> Result<Value, SimError> {
    let done = Ok(json!({}));
    match cmd {
        SimCommand::InjectCall(c) => sim.inject_call(&c).map(|id| json!({ "call_id": id })),
        SimCommand::OfferCall(c) => sim.offer_call(&c).map(|id| json!({ "call_id": id })),
        SimCommand::AnswerCall { call, agent_id } => {
            sim.answer_call(call, agent_id.as_deref())?;
            done
        }
        SimCommand::Hangup { call } => {
            sim.hangup(call)?;
            done
        }
        SimCommand::ClearCall { call } => {
            sim.clear_call(call)?;
            done
        }
        SimCommand::UpdateCallData { call, data } => {
            sim.update_call_data(call, &data)?;
            done
        }
        SimCommand::SetAgentState {
            agent_id,
            state,
            reason,
        } => {
            sim.set_agent_state(&agent_id, &state, reason)?;
            done
        }
        SimCommand::AddAgent(a) => {
            sim.add_agent(a)?;
            done
        }
        SimCommand::AnswerHeartbeats { answer, side } => {
            match side {
                Some(s) => sim.set_answer_heartbeats_on(s, answer),
                None => sim.set_answer_heartbeats(answer),
            }
            done
        }
        SimCommand::AddFault(f) => {
            sim.add_fault(f)?;
            done
        }
        SimCommand::ClearFaults => {
            sim.clear_faults();
            done
        }
        SimCommand::FailureEvent { status, side } => {
            sim.send_failure_event(&status, side)?;
            done
        }
        SimCommand::CloseSessions { side } => {
            sim.close_sessions(side);
            done
        }
        SimCommand::SendMalformed { side } => {
            sim.send_malformed(side);
            done
        }
        SimCommand::SendRaw { hex: h } => {
            sim.send_raw(&hex(&h)?);
            done
        }
        SimCommand::PeripheralOnline { online } => {
            sim.set_peripheral_online(online);
            done
        }
        SimCommand::SystemEvent { id, text } => {
            sim.system_event(&id, text.as_deref())?;
            done
        }
        SimCommand::KillSide { side } => {
            sim.kill_side(side);
            done
        }
        SimCommand::RestartSide { side } => sim
            .restart_side(side)
            .await
            .map(|a| json!({ "port": a.port(), "address": a.to_string() })),
        SimCommand::SwitchActive { side } => {
            sim.switch_active(side)?;
            done
        }
        SimCommand::Maintenance { side } => {
            let out = sim.maintenance(side).await?;
            serde_json::to_value(out).map_err(|e| SimError::Invalid(e.to_string()))
        }
        SimCommand::EndMaintenance { side } => {
            sim.end_maintenance(side)?;
            done
        }
        SimCommand::Load(cfg) => {
            let report = sim.start_load(cfg)?.wait().await?;
            serde_json::to_value(report).map_err(|e| SimError::Invalid(e.to_string()))
        }
        SimCommand::Status => Ok(sim.status()),
    }
}

impl CtiSimulator {
    /// Sides, session counts, agents and calls as JSON.
    pub fn status(&self) -> Value {
        let side = |s: Side| {
            json!({
                "state": self.side_state(s),
                "address": self.side_addr(s).map(|a| a.to_string()),
                "tls_address": self.side_tls_addr(s).map(|a| a.to_string()),
                "sessions": self.session_count_on(s),
            })
        };
        let agents: Vec<Value> = {
            let sh = super::server::lock(&self.engine);
            sh.model
                .agents
                .iter()
                .map(|a| {
                    json!({
                        "agent_id": a.cfg.agent_id,
                        "extension": a.cfg.extension,
                        "state": super::consts::state_name(a.state),
                    })
                })
                .collect()
        };
        json!({
            "side_a": side(Side::A),
            "side_b": side(Side::B),
            "agents": agents,
            "calls": self.calls(),
            "unanswered_heartbeats": self.unanswered_heartbeats(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_from_json() {
        assert_eq!(
            SimCommand::from_json(r#"{"op":"kill_side","side":"A"}"#).unwrap(),
            SimCommand::KillSide { side: Side::A }
        );
        let c = SimCommand::from_json(r#"{"op":"offer_call","ani":"1","dnis":"2","name":"c1"}"#)
            .unwrap();
        assert!(matches!(c, SimCommand::OfferCall(ref s) if s.name.as_deref() == Some("c1")));
        let f = SimCommand::from_json(
            r#"{"op":"add_fault","request":"HOLD_CALL_REQ","times":2,"action":"drop"}"#,
        )
        .unwrap();
        assert!(matches!(f, SimCommand::AddFault(ref r) if r.times == Some(2)));
        assert!(SimCommand::from_json(r#"{"op":"hangup","call":"c1"}"#).is_ok());
        assert!(SimCommand::from_json(r#"{"op":"nope"}"#).is_err());
        assert_eq!(hex("00 0a").unwrap(), vec![0, 10]);
    }
}
