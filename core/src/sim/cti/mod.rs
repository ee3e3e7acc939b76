//! An embedded CTI Server simulator: a simulated peripheral gateway that client
//! applications can open sessions against, at protocol versions 15 to 25.
//!
//! * The peripheral: agents (state, reason codes, skill groups, teams, supervisors),
//!   skill groups with queues, dialed numbers, and calls with their connections.
//! * Every client request of the catalogue is answered with its confirmation (or a
//!   FAILURE_CONF / CONTROL_FAILURE_CONF), and the requests that act on calls or
//!   agents produce the events a CTI Server sends (see `flows` and
//!   `docs/simulator.md` for the sequences).
//! * Events honour the session's services and masks: Client Events sessions get their
//!   agent's events, ALL_EVENTS sessions (bridges) everything, monitors what they
//!   watch, each event once per session; IGNORE_CONF and duplicate agent event
//!   suppression are honoured.
//! * Duplex: optional side B sharing the peripheral; sides can be killed, restarted,
//!   switched; v24+ active/standby with the maintenance handshake.
//! * Faults: heartbeats unanswered (per side), request fault rules ([`RequestFault`]),
//!   FAILURE_EVENT, closed sockets, malformed frames, raw bytes.
//! * Scripts ([`Scenario`]), the same operations as commands ([`SimCommand`]) and load
//!   generation ([`LoadConfig`]).
//!
//! Every message is encoded by the generated codec for the session's version.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use serde::Serialize;
use thiserror::Error;

mod command;
mod config;
mod consts;
mod duplex;
mod ev;
mod faults;
mod flows;
mod handlers;
mod load;
mod model;
pub mod replay;
mod scenario;
mod server;

pub use command::{CallRef, SimCommand};
pub use config::{
    SimAgent, SimCall, SimCallData, SimConfig, SimDialedNumber, SimSkillGroup, SimTeam, SimTls,
};
pub use consts::ConstRef;
pub use duplex::MaintenanceOutcome;
pub use faults::{FaultAction, RequestFault};
pub use load::{LoadConfig, LoadHandle, LoadReport};
pub use scenario::{Scenario, ScenarioReport, ScenarioStep};

use model::Effects;
use server::{lock, Engine, Out, Shared};

/// Errors of the simulator's control API.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SimError {
    /// Binding or accepting failed.
    #[error("simulator I/O: {0}")]
    Io(#[from] std::io::Error),
    /// No agent with that ID.
    #[error("no agent {0:?} in the simulator")]
    UnknownAgent(String),
    /// The agent cannot take a call in its current state.
    #[error("agent {agent} is {state}, not AGENT_STATE_AVAILABLE")]
    AgentNotAvailable {
        /// Agent ID.
        agent: String,
        /// Its state name.
        state: String,
    },
    /// No call with that ID or name.
    #[error("no call {0} in the simulator")]
    UnknownCall(String),
    /// The operation is not possible in the current state; the constant a server would
    /// answer with (a status or control failure name).
    #[error("refused: {0}")]
    Refused(&'static str),
    /// A configuration, command or call description is invalid.
    #[error("invalid simulator input: {0}")]
    Invalid(String),
    /// The simulator has stopped.
    #[error("simulator stopped")]
    Stopped,
}

/// One side of a duplex CTI Server pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, Serialize)]
pub enum Side {
    /// Side A (the `bind` address).
    #[serde(alias = "a")]
    A,
    /// Side B (the `bind_b` address).
    #[serde(alias = "b")]
    B,
}

impl Side {
    pub(crate) fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }

    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    /// Parses `"A"`/`"B"` (either case).
    pub fn parse(s: &str) -> Result<Side, SimError> {
        match s {
            "A" | "a" => Ok(Side::A),
            "B" | "b" => Ok(Side::B),
            _ => Err(SimError::Invalid(format!("side must be A or B, not {s:?}"))),
        }
    }
}

/// What a side is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SideState {
    /// Serving requests.
    Active,
    /// Accepting only v24+ ACTIVE_STANDBY clients, which get standby sessions
    /// (OPEN/HEARTBEAT/CLOSE only); others are refused.
    Standby,
    /// In maintenance after the handshake: refuses OPEN_REQ with
    /// E_CTI_SERVER_IN_MAINTENANCE_MODE.
    Maintenance,
    /// Not listening.
    Down,
}

/// A call as the simulator sees it (for tests and the command API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimCallInfo {
    /// ConnectionCallID.
    pub call_id: u32,
    /// CallType name.
    pub call_type: String,
    /// Name given by a scenario, if any.
    pub name: Option<String>,
    /// Whether it waits in a queue.
    pub queued: bool,
    /// (device, LocalConnectionState name) of each connection.
    pub parties: Vec<(String, String)>,
}

/// Runs `f` on the shared state, then routes the events it produced.
pub(crate) fn with_engine<T>(
    engine: &Engine,
    f: impl FnOnce(&mut Shared, &mut Effects) -> Result<T, SimError>,
) -> Result<T, SimError> {
    let mut sh = lock(engine);
    if sh.stopped {
        return Err(SimError::Stopped);
    }
    let mut fx = Effects::default();
    let r = f(&mut sh, &mut fx);
    sh.apply(fx);
    r
}

/// A running CTI Server simulator. Dropping it stops it.
pub struct CtiSimulator {
    engine: Engine,
    addr: SocketAddr,
}

impl CtiSimulator {
    /// Starts listening (side A, and side B when `bind_b` is set). Must be called
    /// inside a tokio runtime.
    pub async fn start(cfg: SimConfig) -> Result<Self, SimError> {
        let rt = tokio::runtime::Handle::current();
        let bind_a = cfg.bind;
        let bind_b = cfg.bind_b;
        let engine = Shared::new(cfg, rt)?;
        let addr = server::start_side(&engine, Side::A, bind_a)?;
        lock(&engine).side_mut(Side::A).state = SideState::Active;
        if let Some(b) = bind_b {
            if let Err(e) = server::start_side(&engine, Side::B, b) {
                server::stop_side(&mut lock(&engine), Side::A);
                return Err(e);
            }
            lock(&engine).side_mut(Side::B).state = SideState::Standby;
        }
        Ok(CtiSimulator { engine, addr })
    }

    /// Side A's address (where it first listened).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A side's listening address (`None` for side B of a simplex simulator).
    pub fn side_addr(&self, side: Side) -> Option<SocketAddr> {
        lock(&self.engine).side(side).addr
    }

    /// A side's TLS listening address (`None` without TLS; in secure-only mode the
    /// same as [`CtiSimulator::side_addr`]).
    pub fn side_tls_addr(&self, side: Side) -> Option<SocketAddr> {
        lock(&self.engine).side(side).tls_addr
    }

    /// What a side is doing.
    pub fn side_state(&self, side: Side) -> SideState {
        lock(&self.engine).side(side).state
    }

    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut Shared, &mut Effects) -> Result<T, SimError>,
    ) -> Result<T, SimError> {
        with_engine(&self.engine, f)
    }

    /// Whether HEARTBEAT_REQs are answered, on both sides (a fault switch; default true).
    pub fn set_answer_heartbeats(&self, answer: bool) {
        let mut sh = lock(&self.engine);
        for s in &mut sh.sides {
            s.answer_heartbeats = answer;
        }
    }

    /// Whether HEARTBEAT_REQs are answered on one side (the TCP connection stays open).
    pub fn set_answer_heartbeats_on(&self, side: Side, answer: bool) {
        lock(&self.engine).side_mut(side).answer_heartbeats = answer;
    }

    /// HEARTBEAT_REQs received and left unanswered so far (both sides).
    pub fn unanswered_heartbeats(&self) -> u64 {
        lock(&self.engine).sides.iter().map(|s| s.unanswered).sum()
    }

    /// Open client sessions (both sides, standby sessions included).
    pub fn session_count(&self) -> usize {
        lock(&self.engine)
            .conns
            .values()
            .filter(|c| c.session.is_some())
            .count()
    }

    /// Open sessions on one side.
    pub fn session_count_on(&self, side: Side) -> usize {
        lock(&self.engine)
            .conns
            .values()
            .filter(|c| c.side == side && c.session.is_some())
            .count()
    }

    /// Current AgentState value of an agent.
    pub fn agent_state(&self, agent_id: &str) -> Option<u16> {
        let sh = lock(&self.engine);
        sh.model
            .agent_by_id(agent_id)
            .map(|a| sh.model.agents[a].state)
    }

    /// Writes raw bytes to every connection (to test a client's handling of bad frames).
    pub fn send_raw(&self, bytes: &[u8]) {
        let b = bytes::Bytes::copy_from_slice(bytes);
        for c in lock(&self.engine).conns.values() {
            let _ = c.tx.send(Out::Bytes(b.clone()));
        }
    }

    /// Plays a complete inbound call to an available agent at once: BEGIN_CALL_EVENT,
    /// CALL_DELIVERED_EVENT, CALL_ESTABLISHED_EVENT, AGENT_STATE_EVENT (talking),
    /// CALL_CLEARED_EVENT, END_CALL_EVENT, AGENT_STATE_EVENT (back to the state before).
    /// Returns the ConnectionCallID. See [`CtiSimulator::offer_call`] for a live call.
    pub fn inject_call(&self, call: &SimCall) -> Result<u32, SimError> {
        self.with(|sh, fx| sh.model.scripted_call(call, fx))
    }

    /// Offers a live inbound call: routed to the named or longest-available agent of its
    /// skill group (BEGIN_CALL, AGENT_STATE(RESERVED), CALL_DELIVERED), else queued
    /// (BEGIN_CALL, CALL_QUEUED) until an agent becomes available. The call rings until
    /// the agent answers (ANSWER_CALL_REQ, [`CtiSimulator::answer_call`] or auto-answer).
    pub fn offer_call(&self, call: &SimCall) -> Result<u32, SimError> {
        self.with(|sh, fx| sh.model.offer(call, fx))
    }

    fn call_id(sh: &Shared, call: &CallRef) -> Result<u32, SimError> {
        match call {
            CallRef::Id(id) if sh.model.calls.contains_key(id) => Ok(*id),
            CallRef::Id(id) => Err(SimError::UnknownCall(id.to_string())),
            CallRef::Name(n) => sh
                .model
                .call_names
                .get(n)
                .copied()
                .ok_or_else(|| SimError::UnknownCall(n.clone())),
        }
    }

    /// The ringing agent (or `agent_id`) answers `call`: CALL_ESTABLISHED, AGENT_STATE(TALKING).
    pub fn answer_call(
        &self,
        call: impl Into<CallRef>,
        agent_id: Option<&str>,
    ) -> Result<(), SimError> {
        let call = call.into();
        self.with(|sh, fx| {
            let id = Self::call_id(sh, &call)?;
            let a = match agent_id {
                Some(x) => sh
                    .model
                    .agent_by_id(x)
                    .ok_or_else(|| SimError::UnknownAgent(x.to_owned()))?,
                None => sh
                    .model
                    .calls
                    .get(&id)
                    .and_then(|c| c.conns.iter().find(|x| x.lcs == "LCS_ALERTING"))
                    .and_then(|x| x.agent)
                    .ok_or(SimError::Refused("CF_NO_CALL_TO_ANSWER"))?,
            };
            Ok(sh.model.answer(id, a, fx)?)
        })
    }

    /// The caller hangs up (CALL_CONNECTION_CLEARED, then the call ends if two parties
    /// were left).
    pub fn hangup(&self, call: impl Into<CallRef>) -> Result<(), SimError> {
        let call = call.into();
        self.with(|sh, fx| {
            let id = Self::call_id(sh, &call)?;
            Ok(sh.model.hangup(id, fx)?)
        })
    }

    /// Clears the whole call: CALL_CLEARED, END_CALL.
    pub fn clear_call(&self, call: impl Into<CallRef>) -> Result<(), SimError> {
        let call = call.into();
        self.with(|sh, fx| {
            let id = Self::call_id(sh, &call)?;
            Ok(sh.model.clear_call(id, fx)?)
        })
    }

    /// Changes call context (as a routing script or IVR would): CALL_DATA_UPDATE_EVENT.
    pub fn update_call_data(
        &self,
        call: impl Into<CallRef>,
        data: &SimCallData,
    ) -> Result<(), SimError> {
        let call = call.into();
        self.with(|sh, fx| {
            let id = Self::call_id(sh, &call)?;
            if data.call_variables.len() > 10 {
                return Err(SimError::Invalid("at most 10 call variables".into()));
            }
            if let Some(c) = sh.model.calls.get_mut(&id) {
                if let Some(a) = &data.ani {
                    c.ani.clone_from(a);
                }
                for (i, v) in data.call_variables.iter().enumerate() {
                    if let Some(v) = v {
                        c.vars[i] = Some(v.clone());
                    }
                }
                for (n, v) in &data.named_variables {
                    match c.named.iter_mut().find(|(k, _)| k == n) {
                        Some(slot) => slot.1.clone_from(v),
                        None => c.named.push((n.clone(), v.clone())),
                    }
                }
                if let Some(w) = &data.wrapup {
                    c.wrapup = Some(w.clone());
                }
            }
            sh.model.data_updated(id, fx);
            Ok(())
        })
    }

    /// Sets an agent's state from the peripheral side (e.g. the agent pressed a button
    /// on the phone): AGENT_STATE_EVENT; an agent made available gets waiting calls.
    pub fn set_agent_state(
        &self,
        agent_id: &str,
        state: &str,
        reason: u16,
    ) -> Result<(), SimError> {
        self.with(|sh, fx| {
            let a = sh
                .model
                .agent_by_id(agent_id)
                .ok_or_else(|| SimError::UnknownAgent(agent_id.to_owned()))?;
            let st = model::parse_state(state)?;
            sh.model.set_state(a, st, reason, fx);
            Ok(())
        })
    }

    /// Adds an agent at run time.
    pub fn add_agent(&self, agent: SimAgent) -> Result<(), SimError> {
        self.with(|sh, fx| {
            let avail = agent.state.as_deref() == Some("AGENT_STATE_AVAILABLE");
            sh.model.add_agent(agent)?;
            if avail {
                sh.model.route_waiting(fx);
            }
            Ok(())
        })
    }

    /// The calls in progress.
    pub fn calls(&self) -> Vec<SimCallInfo> {
        lock(&self.engine)
            .model
            .calls
            .values()
            .map(|c| SimCallInfo {
                call_id: c.id,
                call_type: c.call_type.to_owned(),
                name: c.name.clone(),
                queued: c.queued,
                parties: c
                    .conns
                    .iter()
                    .map(|x| (x.device.clone(), x.lcs.to_owned()))
                    .collect(),
            })
            .collect()
    }

    /// Takes the peripheral offline (SYSTEM_EVENT SYS_PERIPHERAL_OFFLINE, END_CALL for
    /// every call) or back online (SYS_PERIPHERAL_ONLINE).
    pub fn set_peripheral_online(&self, online: bool) {
        let _ = self.with(|sh, fx| {
            sh.model.set_online(online, fx);
            let id = if online {
                "SYS_PERIPHERAL_ONLINE"
            } else {
                "SYS_PERIPHERAL_OFFLINE"
            };
            fx.emit(
                handlers::system_event(&sh.model, id, None),
                model::Route::All,
            );
            Ok(())
        });
    }

    /// Sends a SYSTEM_EVENT to every session (e.g. `SYS_TEXT_FYI` with a text).
    pub fn system_event(&self, id: &ConstRef, text: Option<&str>) -> Result<(), SimError> {
        let v = id.resolve(&["SystemEventID Values"])?;
        let name = crate::cti::spec::table("SystemEventID Values")
            .and_then(|t| t.name_of(v))
            .ok_or_else(|| SimError::Invalid(format!("unknown SystemEventID {v}")))?;
        self.with(|sh, fx| {
            fx.emit(
                handlers::system_event(&sh.model, name, text),
                model::Route::All,
            );
            Ok(())
        })
    }

    fn conns_on(sh: &Shared, side: Option<Side>) -> Vec<u64> {
        sh.conns
            .iter()
            .filter(|(_, c)| side.is_none_or(|s| c.side == s))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Sends FAILURE_EVENT with `status` to every session (of one side). With
    /// E_CTI_CTI_SERVER_OFFLINE a client ends its session.
    pub fn send_failure_event(
        &self,
        status: &ConstRef,
        side: Option<Side>,
    ) -> Result<(), SimError> {
        let st = status.resolve(&["Status Codes"])?;
        let sh = lock(&self.engine);
        let ev = handlers::failure_event(st);
        for id in Self::conns_on(&sh, side) {
            if sh.conns.get(&id).is_some_and(|c| c.session.is_some()) {
                sh.send_ev(id, &ev);
            }
        }
        Ok(())
    }

    /// Closes every connection (of one side) without a word, as a crashed server would.
    pub fn close_sessions(&self, side: Option<Side>) {
        let mut sh = lock(&self.engine);
        for id in Self::conns_on(&sh, side) {
            sh.close_conn(id);
        }
    }

    /// Sends a malformed frame (an END_CALL_EVENT with a 3-byte body) to every
    /// connection (of one side).
    pub fn send_malformed(&self, side: Option<Side>) {
        let sh = lock(&self.engine);
        let t = crate::cti::spec::message_by_name("END_CALL_EVENT").map_or(24, |m| m.msg_type);
        for id in Self::conns_on(&sh, side) {
            sh.send_bytes(id, handlers::malformed(t));
        }
    }

    /// Adds a request fault rule.
    pub fn add_fault(&self, fault: RequestFault) -> Result<(), SimError> {
        fault.validate()?;
        lock(&self.engine).faults.add(fault);
        Ok(())
    }

    /// Removes every request fault rule.
    pub fn clear_faults(&self) {
        lock(&self.engine).faults.clear();
    }

    /// Messages that could not be encoded (a simulator bug; tests expect 0).
    pub fn encode_errors(&self) -> u64 {
        lock(&self.engine)
            .stats
            .encode_errors
            .load(Ordering::Relaxed)
    }

    /// Events queued to sessions so far.
    pub fn events_sent(&self) -> u64 {
        lock(&self.engine)
            .stats
            .messages_sent
            .load(Ordering::Relaxed)
    }

    /// Runs one command (the operations of [`SimCommand`], as used by scenarios and the
    /// JSON control API); returns its result as JSON.
    pub async fn run(&self, cmd: SimCommand) -> Result<serde_json::Value, SimError> {
        command::run(self, cmd).await
    }

    /// Stops listening, closes every session and waits for the tasks to end.
    pub async fn stop(self) {
        self.close().await;
    }

    /// [`CtiSimulator::stop`] through a shared reference; later calls fail with
    /// [`SimError::Stopped`].
    pub async fn close(&self) {
        let tasks = self.shutdown();
        for t in tasks {
            let _ = t.await;
        }
    }

    /// Whether the simulator was stopped.
    pub fn is_stopped(&self) -> bool {
        lock(&self.engine).stopped
    }

    fn shutdown(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let mut sh = lock(&self.engine);
        sh.stopped = true;
        let mut tasks = Vec::new();
        for side in [Side::A, Side::B] {
            server::stop_side(&mut sh, side);
            if let Some(t) = sh.side_mut(side).dying.take() {
                tasks.push(t);
            }
        }
        tasks
    }
}

impl Drop for CtiSimulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}
