//! An embedded CTI Server simulator (first cut).
//!
//! It listens on loopback, accepts OPEN_REQ at protocol versions 15 to 25, answers
//! sessions, heartbeats and closes, keeps agent state for a configured set of agents,
//! and plays a scripted inbound call to an agent on demand. Every message it sends is
//! encoded with the session's version by the same generated codec the client uses.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::Deserialize;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::cti::codec::{self, CodecError, DecodeOptions, FrameSplitter, Message};
use crate::cti::spec;

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
    /// A configuration or call description is invalid.
    #[error("invalid simulator input: {0}")]
    Invalid(String),
    /// The simulator has stopped.
    #[error("simulator stopped")]
    Stopped,
}

/// One simulated agent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimAgent {
    /// ACD login ID.
    pub agent_id: String,
    /// Teleset extension.
    pub extension: String,
    /// Instrument number.
    #[serde(default)]
    pub instrument: Option<String>,
    /// Initial state name (default `AGENT_STATE_NOT_READY`).
    #[serde(default)]
    pub state: Option<String>,
}

/// Simulator settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Address to listen on; `127.0.0.1:0` picks a free loopback port.
    pub bind: SocketAddr,
    /// PeripheralID the simulated PG reports.
    pub peripheral_id: u32,
    /// Agents of the peripheral.
    pub agents: Vec<SimAgent>,
    /// When set, OPEN_REQ must carry this ClientPassword.
    pub password: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            peripheral_id: 5000,
            agents: vec![SimAgent {
                agent_id: "1001".into(),
                extension: "5001".into(),
                instrument: Some("5001".into()),
                state: None,
            }],
            password: None,
        }
    }
}

impl SimConfig {
    /// Reads settings from JSON (`{}` gives the defaults).
    pub fn from_json(text: &str) -> Result<Self, SimError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(text).map_err(|e| SimError::Invalid(e.to_string()))
    }
}

/// A scripted inbound call.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimCall {
    /// Agent to deliver the call to (default: the first agent).
    pub agent_id: Option<String>,
    /// Caller number.
    pub ani: String,
    /// Dialed number identification.
    pub dnis: String,
    /// CallVariable1..10 (missing entries are not sent).
    pub call_variables: Vec<String>,
    /// Expanded call variables as (name, value).
    pub named_variables: Vec<(String, String)>,
}

impl SimCall {
    /// Reads a call from JSON, e.g. `{"ani":"5551234","dnis":"8000","call_variables":["a"]}`.
    pub fn from_json(text: &str) -> Result<Self, SimError> {
        serde_json::from_str(text).map_err(|e| SimError::Invalid(e.to_string()))
    }
}

#[derive(Debug)]
struct AgentState {
    cfg: SimAgent,
    state: u16,
}

enum Outgoing {
    Msg(Box<dyn Fn(u32) -> Result<Message, CodecError> + Send + Sync>),
    Raw(Bytes),
    Close,
}

struct Conn {
    tx: mpsc::UnboundedSender<Outgoing>,
    agent: Option<usize>,
    all_events: bool,
}

struct Shared {
    cfg: SimConfig,
    agents: Vec<AgentState>,
    conns: HashMap<u64, Conn>,
    answer_heartbeats: bool,
    unanswered_heartbeats: u64,
    next_call_id: u32,
}

/// A running CTI Server simulator. Dropping it stops it.
pub struct CtiSimulator {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

fn k(table: &str, name: &str) -> i64 {
    i64::from(spec::constant(table, name).unwrap_or(0))
}

fn agent_state(name: &str) -> u16 {
    u16::try_from(k("AgentState Values", name)).unwrap_or(0)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

static CONN_IDS: AtomicU64 = AtomicU64::new(1);

impl CtiSimulator {
    /// Starts listening. Must be called inside a tokio runtime.
    pub async fn start(cfg: SimConfig) -> Result<Self, SimError> {
        let mut agents = Vec::new();
        for a in &cfg.agents {
            let state = match &a.state {
                Some(name) => spec::constant("AgentState Values", name)
                    .and_then(|v| u16::try_from(v).ok())
                    .ok_or_else(|| SimError::Invalid(format!("unknown agent state {name:?}")))?,
                None => agent_state("AGENT_STATE_NOT_READY"),
            };
            agents.push(AgentState {
                cfg: a.clone(),
                state,
            });
        }
        let listener = TcpListener::bind(cfg.bind).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(Shared {
            cfg,
            agents,
            conns: HashMap::new(),
            answer_heartbeats: true,
            unanswered_heartbeats: 0,
            next_call_id: 0x0100_0000,
        }));
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, shared.clone(), stop_rx));
        tracing::info!(%addr, "CTI simulator listening");
        Ok(CtiSimulator {
            addr,
            shared,
            stop,
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether HEARTBEAT_REQs are answered (a fault switch; default true).
    pub fn set_answer_heartbeats(&self, answer: bool) {
        lock(&self.shared).answer_heartbeats = answer;
    }

    /// HEARTBEAT_REQs received and left unanswered so far.
    pub fn unanswered_heartbeats(&self) -> u64 {
        lock(&self.shared).unanswered_heartbeats
    }

    /// Open client sessions.
    pub fn session_count(&self) -> usize {
        lock(&self.shared).conns.len()
    }

    /// Current AgentState value of an agent.
    pub fn agent_state(&self, agent_id: &str) -> Option<u16> {
        lock(&self.shared)
            .agents
            .iter()
            .find(|a| a.cfg.agent_id == agent_id)
            .map(|a| a.state)
    }

    /// Writes raw bytes to every session (to test a client's handling of bad frames).
    pub fn send_raw(&self, bytes: &[u8]) {
        let bytes = Bytes::copy_from_slice(bytes);
        for c in lock(&self.shared).conns.values() {
            let _ = c.tx.send(Outgoing::Raw(bytes.clone()));
        }
    }

    /// Plays an inbound call to an available agent: BEGIN_CALL_EVENT, CALL_DELIVERED_EVENT,
    /// CALL_ESTABLISHED_EVENT, AGENT_STATE_EVENT (talking), CALL_CLEARED_EVENT,
    /// END_CALL_EVENT, AGENT_STATE_EVENT (available). Returns the ConnectionCallID.
    pub fn inject_call(&self, call: &SimCall) -> Result<u32, SimError> {
        if call.call_variables.len() > 10 {
            return Err(SimError::Invalid("at most 10 call variables".into()));
        }
        let mut sh = lock(&self.shared);
        let idx = match &call.agent_id {
            Some(id) => sh
                .agents
                .iter()
                .position(|a| &a.cfg.agent_id == id)
                .ok_or_else(|| SimError::UnknownAgent(id.clone()))?,
            None => {
                if sh.agents.is_empty() {
                    return Err(SimError::UnknownAgent(String::new()));
                }
                0
            }
        };
        let available = agent_state("AGENT_STATE_AVAILABLE");
        if sh.agents[idx].state != available {
            let a = &sh.agents[idx];
            return Err(SimError::AgentNotAvailable {
                agent: a.cfg.agent_id.clone(),
                state: spec::table("AgentState Values")
                    .and_then(|t| t.name_of(u32::from(a.state)))
                    .unwrap_or("unknown")
                    .to_owned(),
            });
        }
        sh.next_call_id = sh.next_call_id.wrapping_add(1);
        let call_id = sh.next_call_id;
        let ctx = Arc::new(CallCtx {
            periph: sh.cfg.peripheral_id,
            call_id,
            device: sh.agents[idx].cfg.extension.clone(),
            call: call.clone(),
        });
        for name in [
            "BEGIN_CALL_EVENT",
            "CALL_DELIVERED_EVENT",
            "CALL_ESTABLISHED_EVENT",
        ] {
            let c = ctx.clone();
            emit_to(&mut sh, idx, move |v| call_event(&c, name, v));
        }
        change_agent_state(&mut sh, idx, agent_state("AGENT_STATE_TALKING"), 0);
        for name in ["CALL_CLEARED_EVENT", "END_CALL_EVENT"] {
            let c = ctx.clone();
            emit_to(&mut sh, idx, move |v| call_event(&c, name, v));
        }
        change_agent_state(&mut sh, idx, available, 0);
        Ok(call_id)
    }

    /// Stops listening, closes every session and waits for the tasks to end.
    pub async fn stop(mut self) {
        self.shutdown();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    fn shutdown(&self) {
        let _ = self.stop.send(true);
        let mut sh = lock(&self.shared);
        for (_, c) in sh.conns.drain() {
            let _ = c.tx.send(Outgoing::Close);
        }
    }
}

impl Drop for CtiSimulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What the events of one scripted call share.
struct CallCtx {
    periph: u32,
    call_id: u32,
    device: String,
    call: SimCall,
}

/// ANI, DNIS, call variables and named variables of a call.
fn add_call_data(m: &mut Message, call: &SimCall) -> Result<(), CodecError> {
    m.set_str("ANI", &call.ani)?.set_str("DNIS", &call.dnis)?;
    for (i, cv) in call.call_variables.iter().enumerate() {
        m.set_str(&format!("CallVariable{}", i + 1), cv)?;
    }
    for (n, val) in &call.named_variables {
        m.add_named_var(n, val)?;
    }
    Ok(())
}

/// One event of the scripted inbound call, encoded for protocol version `v`.
fn call_event(ctx: &CallCtx, name: &'static str, v: u32) -> Result<Message, CodecError> {
    let mut m = Message::new(name, v)?;
    m.set_int("PeripheralID", ctx.periph.into())?
        .set_int(
            "PeripheralType",
            k("PeripheralType Values", "PT_ENTERPRISE_AGENT"),
        )?
        .set_int(
            "ConnectionDeviceIDType",
            k("ConnectionDeviceIDType Values", "CONNECTION_ID_STATIC"),
        )?
        .set_int("ConnectionCallID", ctx.call_id.into())?
        .set_str("ConnectionDeviceID", &ctx.device)?;
    let device_id = k("DeviceIDType Values", "DEVID_DEVICE_IDENTIFIER");
    match name {
        "BEGIN_CALL_EVENT" => {
            m.set_int("CallType", k("CallType Values", "CALLTYPE_ACD_IN"))?;
            add_call_data(&mut m, &ctx.call)?;
        }
        "CALL_DELIVERED_EVENT" | "CALL_ESTABLISHED_EVENT" => {
            let delivered = name == "CALL_DELIVERED_EVENT";
            let (party, lcs, cause) = if delivered {
                ("Alerting", "LCS_ALERTING", "CEC_NEW_CALL")
            } else {
                ("Answering", "LCS_CONNECT", "CEC_NONE")
            };
            for f in [
                "ServiceNumber",
                "ServiceID",
                "SkillGroupNumber",
                "SkillGroupID",
            ] {
                m.set_int(f, 0xFFFF_FFFF)?;
            }
            m.set_int("LineType", k("LineType Values", "LINETYPE_INBOUND_ACD"))?
                .set_int(&format!("{party}DeviceType"), device_id)?
                .set_int("CallingDeviceType", device_id)?
                .set_int("CalledDeviceType", device_id)?
                .set_int(
                    "LastRedirectDeviceType",
                    k("DeviceIDType Values", "DEVID_NONE"),
                )?
                .set_int(
                    "LocalConnectionState",
                    k("LocalConnectionState Values", lcs),
                )?
                .set_int("EventCause", k("EventCause Values", cause))?
                .set_str(&format!("{party}DeviceID"), &ctx.device)?
                .set_str("CallingDeviceID", &ctx.call.ani)?
                .set_str("CalledDeviceID", &ctx.call.dnis)?;
            if delivered {
                add_call_data(&mut m, &ctx.call)?;
            }
        }
        "CALL_CLEARED_EVENT" => {
            m.set_int(
                "LocalConnectionState",
                k("LocalConnectionState Values", "LCS_NULL"),
            )?
            .set_int("EventCause", k("EventCause Values", "CEC_NONE"))?;
        }
        _ => {}
    }
    Ok(m)
}

fn emit_to(
    sh: &mut Shared,
    agent: usize,
    build: impl Fn(u32) -> Result<Message, CodecError> + Send + Sync + Clone + 'static,
) {
    for c in sh.conns.values() {
        if c.agent == Some(agent) || c.all_events {
            let _ = c.tx.send(Outgoing::Msg(Box::new(build.clone())));
        }
    }
}

fn agent_state_event_for(
    periph: u32,
    a: &SimAgent,
    state: u16,
    reason: u16,
    v: u32,
) -> Result<Message, CodecError> {
    let mut m = Message::new("AGENT_STATE_EVENT", v)?;
    m.set_int("PeripheralID", periph.into())?
        .set_int(
            "PeripheralType",
            k("PeripheralType Values", "PT_ENTERPRISE_AGENT"),
        )?
        .set_int("SkillGroupState", state.into())?
        .set_int("SkillGroupNumber", 0xFFFF_FFFF)?
        .set_int("SkillGroupID", 0xFFFF_FFFF)?
        .set_int("AgentState", state.into())?
        .set_int("EventReasonCode", reason.into())?
        .set_int("AgentMode", 1)?
        .set_int("MaxTaskLimit", 1)?
        .set_str("AgentID", &a.agent_id)?
        .set_str("AgentExtension", &a.extension)?;
    if let Some(i) = &a.instrument {
        m.set_str("AgentInstrument", i)?;
    }
    Ok(m)
}

fn change_agent_state(sh: &mut Shared, agent: usize, state: u16, reason: u16) {
    sh.agents[agent].state = state;
    let periph = sh.cfg.peripheral_id;
    let a = sh.agents[agent].cfg.clone();
    emit_to(sh, agent, move |v| {
        agent_state_event_for(periph, &a, state, reason, v)
    });
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Mutex<Shared>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = Vec::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tracing::debug!(%peer, "simulator: client connected");
                    let _ = stream.set_nodelay(true);
                    conns.push(tokio::spawn(serve(stream, shared.clone())));
                    conns.retain(|t: &JoinHandle<()>| !t.is_finished());
                }
                Err(e) => tracing::warn!("simulator accept: {e}"),
            },
            _ = stop.changed() => break,
        }
    }
    for c in conns {
        let _ = c.await;
    }
}

fn failure_conf(invoke_id: u32, status: &str) -> Result<Bytes, CodecError> {
    let mut m = Message::new("FAILURE_CONF", spec::MIN_PROTOCOL_VERSION)?;
    m.set_int("InvokeID", invoke_id.into())?
        .set_int("Status", k("Status Codes", status))?;
    codec::encode(&m, spec::MIN_PROTOCOL_VERSION)
}

/// Checks OPEN_REQ and registers the session; returns (version, OPEN_CONF) or the status to refuse with.
fn open_session(
    shared: &Mutex<Shared>,
    conn_id: u64,
    frame: &codec::Frame,
    tx: &mpsc::UnboundedSender<Outgoing>,
) -> Result<(u32, Message), (u32, &'static str)> {
    let body = &frame.body;
    let invoke = body
        .get(0..4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let version = body
        .get(4..8)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    if codec::check_version(version).is_err() {
        return Err((invoke, "E_CTI_INVALID_VERSION"));
    }
    let req = codec::decode_frame(frame, version, DecodeOptions::tolerant())
        .map_err(|_| (invoke, "E_CTI_BAD_MESSAGE_FORMAT"))?;
    let client_id = req.str("ClientID").unwrap_or("");
    if client_id.is_empty() || req.get("ClientPassword").is_none() {
        return Err((invoke, "E_CTI_REQUIRED_DATA_MISSING"));
    }
    let idle = req.u32("IdleTimeout").unwrap_or(0);
    if idle < crate::cti::session::MIN_IDLE_TIMEOUT_SECS {
        return Err((invoke, "E_CTI_INVALID_TIMEOUT"));
    }
    let mut sh = lock(shared);
    if let Some(pw) = &sh.cfg.password {
        let given = match req.get("ClientPassword") {
            Some(codec::Value::Unspec(b)) => b.clone(),
            _ => Bytes::new(),
        };
        if given.as_ref() != pw.as_bytes() {
            return Err((invoke, "E_CTI_INVALID_PASSWORD"));
        }
    }
    let services = req.u32("ServicesRequested").unwrap_or(0);
    let svc = |n: &str| spec::constant("CTI Service Masks", n).unwrap_or(0);
    let wants_client_events = services & svc("CTI_SERVICE_CLIENT_EVENTS") != 0;
    let all_events = services & svc("CTI_SERVICE_ALL_EVENTS") != 0;
    let ids = [
        req.str("AgentID").filter(|s| !s.is_empty()),
        req.str("AgentExtension").filter(|s| !s.is_empty()),
        req.str("AgentInstrument").filter(|s| !s.is_empty()),
    ];
    let mut agent = None;
    if ids.iter().any(Option::is_some) {
        let matches: Vec<usize> = sh
            .agents
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                ids[0].map_or(true, |x| x == a.cfg.agent_id)
                    && ids[1].map_or(true, |x| x == a.cfg.extension)
                    && ids[2].map_or(true, |x| Some(x) == a.cfg.instrument.as_deref())
            })
            .map(|(i, _)| i)
            .collect();
        match matches.first() {
            Some(&i) => agent = Some(i),
            None => {
                let known = sh.agents.iter().any(|a| {
                    ids[0] == Some(a.cfg.agent_id.as_str())
                        || ids[1] == Some(a.cfg.extension.as_str())
                });
                return Err((
                    invoke,
                    if known {
                        "E_CTI_INCONSISTENT_AGENT_DATA"
                    } else {
                        "E_CTI_INVALID_AGENT_DATA"
                    },
                ));
            }
        }
    } else if wants_client_events {
        return Err((invoke, "E_CTI_REQUIRED_DATA_MISSING"));
    }
    if let Some(i) = agent {
        if sh.conns.values().any(|c| c.agent == Some(i)) {
            return Err((invoke, "E_CTI_DEVICE_IN_USE"));
        }
    }
    let supported = crate::cti::session::all_bits("CTI Service Masks") & !svc("Unused");
    let mut conf =
        Message::new("OPEN_CONF", version).map_err(|_| (invoke, "E_CTI_UNSPECIFIED_FAILURE"))?;
    let mut build = || -> Result<(), CodecError> {
        conf.set_int("InvokeID", invoke.into())?
            .set_int("ServicesGranted", (services & supported).into())?
            .set_int("ICMCentralControllerTime", now_secs())?
            .set_int("PeripheralOnline", 1)?
            .set_int(
                "PeripheralType",
                k("PeripheralType Values", "PT_ENTERPRISE_AGENT"),
            )?
            .set_int(
                "AgentState",
                agent.map_or(0, |i| i64::from(sh.agents[i].state)),
            )?;
        if version >= 24 {
            conf.set_int("SessionType", k("SessionType", "Active"))?;
        }
        if let Some(i) = agent {
            let a = &sh.agents[i].cfg;
            conf.set_str("AgentExtension", &a.extension)?
                .set_str("AgentID", &a.agent_id)?;
            if let Some(ins) = &a.instrument {
                conf.set_str("AgentInstrument", ins)?;
            }
        }
        conf.put_floating("NumPeripherals", codec::Value::UShort(1))?
            .push_floating("FltPeripheralID", codec::Value::UInt(sh.cfg.peripheral_id))?
            .push_floating("MultilineAgentControl", codec::Value::UShort(0))?;
        Ok(())
    };
    build().map_err(|_| (invoke, "E_CTI_UNSPECIFIED_FAILURE"))?;
    sh.conns.insert(
        conn_id,
        Conn {
            tx: tx.clone(),
            agent,
            all_events,
        },
    );
    Ok((version, conf))
}

async fn serve(mut stream: TcpStream, shared: Arc<Mutex<Shared>>) {
    let conn_id = CONN_IDS.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
    let mut splitter = FrameSplitter::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut version: Option<u32> = None;
    'conn: loop {
        tokio::select! {
            read = stream.read(&mut buf) => {
                let n = match read { Ok(0) | Err(_) => break 'conn, Ok(n) => n };
                splitter.push(&buf[..n]);
                loop {
                    let frame = match splitter.next_frame() {
                        Ok(Some(f)) => f,
                        Ok(None) => break,
                        Err(_) => break 'conn,
                    };
                    let replies = match version {
                        None => {
                            if frame.msg_type != 3 {
                                // Anything before OPEN_REQ: refuse and drop the connection.
                                if let Ok(b) = failure_conf(0, "E_CTI_SESSION_NOT_OPEN") {
                                    let _ = stream.write_all(&b).await;
                                }
                                break 'conn;
                            }
                            match open_session(&shared, conn_id, &frame, &tx) {
                                Ok((v, conf)) => {
                                    version = Some(v);
                                    codec::encode(&conf, v).map(|b| vec![b]).unwrap_or_default()
                                }
                                Err((invoke, status)) => {
                                    if let Ok(b) = failure_conf(invoke, status) {
                                        let _ = stream.write_all(&b).await;
                                    }
                                    break 'conn;
                                }
                            }
                        }
                        Some(v) => match handle_request(&shared, conn_id, v, &frame) {
                            Reply::Send(out) => out,
                            Reply::SendAndClose(out) => {
                                for b in out { let _ = stream.write_all(&b).await; }
                                break 'conn;
                            }
                        },
                    };
                    for b in replies {
                        if stream.write_all(&b).await.is_err() { break 'conn; }
                    }
                }
            }
            out = rx.recv() => match out {
                Some(Outgoing::Msg(build)) => {
                    let Some(v) = version else { continue };
                    match build(v).and_then(|m| codec::encode(&m, v)) {
                        Ok(b) => if stream.write_all(&b).await.is_err() { break 'conn },
                        Err(e) => tracing::error!("simulator could not encode an event: {e}"),
                    }
                }
                Some(Outgoing::Raw(b)) => if stream.write_all(&b).await.is_err() { break 'conn },
                Some(Outgoing::Close) | None => break 'conn,
            },
        }
    }
    lock(&shared).conns.remove(&conn_id);
    let _ = stream.shutdown().await;
}

enum Reply {
    Send(Vec<Bytes>),
    SendAndClose(Vec<Bytes>),
}

fn handle_request(shared: &Mutex<Shared>, conn_id: u64, v: u32, frame: &codec::Frame) -> Reply {
    let invoke = frame
        .body
        .get(0..4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let fail = |status: &str| {
        Reply::Send(
            failure_conf(invoke, status)
                .map(|b| vec![b])
                .unwrap_or_default(),
        )
    };
    let req = match codec::decode_frame(frame, v, DecodeOptions::tolerant()) {
        Ok(r) => r,
        Err(CodecError::UnknownType { .. }) => return fail("E_CTI_INVALID_MSG_TYPE_FOR_VERSION"),
        Err(_) => return fail("E_CTI_BAD_MESSAGE_FORMAT"),
    };
    let reply = |name: &str, f: &dyn Fn(&mut Message) -> Result<(), CodecError>| -> Vec<Bytes> {
        Message::new(name, v)
            .and_then(|mut m| {
                m.set_int("InvokeID", invoke.into())?;
                f(&mut m)?;
                codec::encode(&m, v)
            })
            .map(|b| vec![b])
            .unwrap_or_default()
    };
    let mut sh = lock(shared);
    match req.name() {
        "HEARTBEAT_REQ" => {
            if sh.answer_heartbeats {
                Reply::Send(reply("HEARTBEAT_CONF", &|_| Ok(())))
            } else {
                sh.unanswered_heartbeats += 1;
                Reply::Send(Vec::new())
            }
        }
        "CLOSE_REQ" => {
            sh.conns.remove(&conn_id);
            Reply::SendAndClose(reply("CLOSE_CONF", &|_| Ok(())))
        }
        "SET_AGENT_STATE_REQ" | "QUERY_AGENT_STATE_REQ" => {
            let own = sh.conns.get(&conn_id).and_then(|c| c.agent);
            let named = [
                req.str("AgentInstrument"),
                req.str("AgentID"),
                req.str("AgentExtension"),
            ];
            let target = sh.agents.iter().position(|a| {
                named[0].is_some_and(|x| Some(x) == a.cfg.instrument.as_deref())
                    || named[1] == Some(a.cfg.agent_id.as_str())
                    || named[2] == Some(a.cfg.extension.as_str())
            });
            let Some(idx) = target.or(own) else {
                return fail("E_CTI_INVALID_AGENT_DATA");
            };
            if req.name() == "QUERY_AGENT_STATE_REQ" {
                let a = &sh.agents[idx];
                let (state, cfg) = (a.state, a.cfg.clone());
                return Reply::Send(reply("QUERY_AGENT_STATE_CONF", &|m| {
                    m.set_int("AgentState", state.into())?
                        .set_int("AgentMode", 1)?
                        .set_int("MaxTaskLimit", 1)?
                        .set_str("AgentID", &cfg.agent_id)?
                        .set_str("AgentExtension", &cfg.extension)?;
                    if let Some(i) = &cfg.instrument {
                        m.set_str("AgentInstrument", i)?;
                    }
                    Ok(())
                }));
            }
            let state = req.u32("AgentState").unwrap_or(u32::MAX);
            let valid = spec::table("AgentState Values")
                .and_then(|t| t.name_of(state))
                .is_some();
            let Ok(state) = u16::try_from(state) else {
                return fail("E_CTI_INVALID_OBJECT_STATE");
            };
            if !valid {
                return fail("E_CTI_INVALID_OBJECT_STATE");
            }
            let logged_out = sh.agents[idx].state == agent_state("AGENT_STATE_LOGOUT");
            if logged_out && state != agent_state("AGENT_STATE_LOGIN") {
                return fail("E_CTI_AGENT_NOT_LOGGED_ON");
            }
            let reason = u16::try_from(req.u32("EventReasonCode").unwrap_or(0)).unwrap_or(0);
            let out = reply("SET_AGENT_STATE_CONF", &|_| Ok(()));
            // The confirmation goes out before the event it causes.
            let conf_first = Reply::Send(out);
            let new_state = if state == agent_state("AGENT_STATE_LOGIN") {
                agent_state("AGENT_STATE_NOT_READY")
            } else {
                state
            };
            change_agent_state(&mut sh, idx, new_state, reason);
            conf_first
        }
        _ => fail("E_CTI_FUNCTION_NOT_AVAILABLE"),
    }
}
