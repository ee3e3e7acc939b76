//! The CTI session as a state machine without I/O.
//!
//! Feed it received bytes ([`Session::receive`]) and the time ([`Session::handle_timeout`]);
//! take bytes to send from [`Session::poll_transmit`] and happenings from
//! [`Session::poll_event`]. The tokio driver in [`crate::cti::client`] does exactly that,
//! and tests can drive it by hand with a fake clock.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use thiserror::Error;

use super::codec::{self, CodecError, DecodeOptions, FrameSplitter, Message};
use super::event::Event;
use super::spec;
use super::stats::SessionStats;
use super::trace::WireTrace;
use crate::queue::{OverrunPolicy, QueueLimits};
use crate::secret::Secret;
use crate::tls::TlsError;

/// Fewest seconds of IdleTimeout a CTI Server accepts.
pub const MIN_IDLE_TIMEOUT_SECS: u32 = 20;
/// Shortest heartbeat interval the protocol guide allows.
pub const MIN_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// Heartbeats that may go unanswered before the session is declared failed.
pub const MAX_MISSED_HEARTBEATS: u32 = 3;
/// Heartbeat interval of a session unless configured otherwise: the guide's advice
/// for clients of a site with many clients ("at least 90 s"); IdleTimeout is 4× that.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(90);
/// IdleTimeout value meaning "this client sends no heartbeats".
pub const NO_IDLE_TIMEOUT: u32 = 0xFFFF_FFFF;
/// OPEN_CONF SessionType: active CTI Server.
pub const SESSION_ACTIVE: u16 = 1;
/// OPEN_CONF SessionType: standby CTI Server.
pub const SESSION_STANDBY: u16 = 2;
/// CTI_SERVICE_ACTIVE_STANDBY (conventions.md 11.4; also in the CTI Service Masks table).
pub const CTI_SERVICE_ACTIVE_STANDBY: u32 = 0x0200_0000;
/// First protocol version with active/standby CTI Servers.
pub const ACTIVE_STANDBY_MIN_VERSION: u32 = 24;

/// A status code from FAILURE_CONF, FAILURE_EVENT or CLOSE_REQ, with its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtiStatus {
    /// Numeric status (Status Codes table).
    pub code: u32,
}

impl CtiStatus {
    /// The E_CTI_* name of the code, if the table has it.
    pub fn name(&self) -> Option<&'static str> {
        spec::table("Status Codes").and_then(|t| t.name_of(self.code))
    }

    /// Status named `name` in the Status Codes table.
    pub fn named(name: &str) -> Option<Self> {
        spec::constant("Status Codes", name).map(|code| CtiStatus { code })
    }
}

impl fmt::Display for CtiStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({})", self.code),
            None => write!(f, "status {}", self.code),
        }
    }
}

/// Why a request did not get its confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The server answered FAILURE_CONF.
    #[error("request refused: {0}")]
    Failed(CtiStatus),
    /// The server answered CONTROL_FAILURE_CONF.
    #[error("call control failed: {name} ({code}), peripheral error {peripheral_error}")]
    ControlFailed {
        /// FailureCode value.
        code: u32,
        /// Its name from the ControlFailureCode tables, or "unknown".
        name: &'static str,
        /// Peripheral-specific error code.
        peripheral_error: u32,
    },
    /// No confirmation within the request timeout.
    #[error("no confirmation within {0:?}")]
    Timeout(Duration),
    /// The session ended before the confirmation arrived.
    #[error("session closed before the confirmation arrived: {0}")]
    SessionClosed(String),
    /// The request could not be encoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The link is down (a reconnect is in progress); the request was not sent.
    #[error("not connected to a CTI Server: {0}")]
    NotConnected(String),
    /// The link dropped after the request was sent; whether the server acted on it is unknown.
    #[error("connection lost before the confirmation arrived: {0}")]
    ConnectionLost(String),
    /// The command queue is full (the connection cannot write as fast as the
    /// application sends); the message was not sent.
    #[error("command queue full ({0} commands waiting): message not sent")]
    QueueFull(usize),
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The server refused OPEN_REQ with FAILURE_CONF.
    #[error("OPEN_REQ refused: {0}")]
    OpenRefused(CtiStatus),
    /// No OPEN_CONF within the open timeout.
    #[error("no OPEN_CONF within {0:?}")]
    OpenTimeout(Duration),
    /// Three heartbeats went unanswered.
    #[error("{0} heartbeats unanswered: connection presumed dead")]
    HeartbeatTimeout(u32),
    /// The server said it is offline (FAILURE_EVENT, or FAILURE_CONF to a heartbeat).
    #[error("CTI Server offline: {0}")]
    ServerOffline(CtiStatus),
    /// The byte stream cannot be framed any more.
    #[error("broken stream: {0}")]
    Protocol(CodecError),
    /// The TCP connection closed or failed.
    #[error("connection lost: {0}")]
    ConnectionLost(String),
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The operation needs an open session.
    #[error("session is not open")]
    NotOpen,
    /// The TLS handshake failed or a certificate was not accepted (never a
    /// [`TlsError::Config`]: that becomes [`SessionError::Config`]).
    #[error("{0}")]
    Tls(TlsError),
}

impl From<TlsError> for SessionError {
    fn from(e: TlsError) -> Self {
        match e {
            TlsError::Config(_) => SessionError::Config(e.to_string()),
            other => SessionError::Tls(other),
        }
    }
}

impl SessionError {
    /// Short stable identifier of the error kind, for bindings.
    pub fn kind(&self) -> &'static str {
        match self {
            SessionError::OpenRefused(_) => "OpenRefused",
            SessionError::OpenTimeout(_) => "OpenTimeout",
            SessionError::HeartbeatTimeout(_) => "HeartbeatTimeout",
            SessionError::ServerOffline(_) => "ServerOffline",
            SessionError::Protocol(_) => "Protocol",
            SessionError::ConnectionLost(_) => "ConnectionLost",
            SessionError::Config(_) => "Config",
            SessionError::NotOpen => "NotOpen",
            SessionError::Tls(TlsError::CertificateInvalid { .. }) => "CertificateInvalid",
            SessionError::Tls(_) => "TlsHandshake",
        }
    }

    /// The CTI status carried by the error, if any.
    pub fn status(&self) -> Option<CtiStatus> {
        match self {
            SessionError::OpenRefused(s) | SessionError::ServerOffline(s) => Some(*s),
            _ => None,
        }
    }
}

/// How the session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// CLOSE_REQ answered by CLOSE_CONF.
    Closed,
    /// CLOSE_REQ sent, no CLOSE_CONF within the close timeout.
    CloseTimeout,
    /// The session failed.
    Failed(SessionError),
    /// The application did not take its events in time and the overrun policy is
    /// [`OverrunPolicy::Close`]: the session was closed.
    ConsumerOverrun,
}

/// Settings of one CTI session. Build with [`SessionConfig::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Protocol version to open (15..=25).
    pub version: u32,
    /// OPEN_REQ ClientID.
    pub client_id: String,
    /// OPEN_REQ ClientPassword (may be empty; always sent). Never formatted.
    pub client_password: Secret,
    /// OPEN_REQ ClientSignature.
    pub client_signature: Option<String>,
    /// PeripheralID (0xFFFFFFFF when not using Client Events).
    pub peripheral_id: u32,
    /// ServicesRequested bits (CTI Service Masks).
    pub services: u32,
    /// CallMsgMask bits.
    pub call_msg_mask: u32,
    /// AgentStateMask bits.
    pub agent_state_mask: u32,
    /// ConfigMsgMask bits.
    pub config_msg_mask: u32,
    /// AgentExtension for Client Events.
    pub agent_extension: Option<String>,
    /// AgentID for Client Events.
    pub agent_id: Option<String>,
    /// AgentInstrument for Client Events.
    pub agent_instrument: Option<String>,
    /// Heartbeat interval (default [`DEFAULT_HEARTBEAT_INTERVAL`], 90 s, IdleTimeout
    /// 360 s); `None` disables heartbeats (IdleTimeout 0xFFFFFFFF).
    pub heartbeat_interval: Option<Duration>,
    /// How long to wait for OPEN_CONF (the guide says at least 30 s).
    pub open_timeout: Duration,
    /// How long to wait for CLOSE_CONF (5 s per the guide).
    pub close_timeout: Duration,
    /// Default time to wait for a request's confirmation.
    pub request_timeout: Duration,
    /// Allow heartbeat intervals under 5 s. For tests against the simulator only.
    pub relaxed_timing: bool,
    /// Request CTI_SERVICE_ACTIVE_STANDBY (protocol 24+): the session may land on a
    /// standby CTI Server and is told when it becomes active.
    pub active_standby: bool,
    /// Answer ACTIVE_MAINTENANCE_REQ with "accepted" (true) or "rejected" (false).
    pub accept_maintenance: bool,
    /// Bound of the event queue between the connection and the application
    /// (default 10,000 events, 4 MiB).
    pub event_queue: QueueLimits,
    /// What happens when the application does not keep up (default: stop reading).
    pub overrun: OverrunPolicy,
    /// Most commands (sends, requests) waiting for the connection task; more fail at
    /// once with [`RequestError::QueueFull`] (default 1,024).
    pub command_queue: usize,
    /// Read received messages strictly (refuse count mismatches and wrongly sized
    /// fields as `DECODE_ERROR`). Default false: they are delivered with warnings
    /// (see [`codec::DecodeOptions::tolerant`]).
    pub strict_decode: bool,
    /// The session's counters, shared by the clones of this configuration (so a
    /// failover connection keeps counting across reconnects). A configuration cloned
    /// for several independent sessions should get `SessionStats::new` for each.
    pub stats: Arc<SessionStats>,
    /// Where every frame in and out is traced (off by default).
    pub trace: WireTrace,
}

/// Default bound of the command queue.
pub const DEFAULT_COMMAND_QUEUE: usize = 1024;

impl SessionConfig {
    /// Defaults: all call and agent events, heartbeats every 90 s (IdleTimeout 360 s),
    /// 30 s open, 5 s close, 10 s requests, tolerant decoding.
    pub fn new(client_id: impl Into<String>, version: u32) -> Self {
        let client_id = client_id.into();
        SessionConfig {
            version,
            stats: SessionStats::new(&client_id),
            trace: WireTrace::Off,
            client_id,
            client_password: Secret::default(),
            client_signature: None,
            peripheral_id: 0xFFFF_FFFF,
            services: 0,
            call_msg_mask: all_bits("Unsolicited Call Event Message Masks"),
            agent_state_mask: all_bits("Agent State Masks"),
            config_msg_mask: 0,
            agent_extension: None,
            agent_id: None,
            agent_instrument: None,
            heartbeat_interval: Some(DEFAULT_HEARTBEAT_INTERVAL),
            open_timeout: Duration::from_secs(30),
            close_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            relaxed_timing: false,
            active_standby: false,
            accept_maintenance: true,
            event_queue: QueueLimits::default(),
            overrun: OverrunPolicy::default(),
            command_queue: DEFAULT_COMMAND_QUEUE,
            strict_decode: false,
        }
    }

    /// IdleTimeout to send: 4 × heartbeat interval (at least 20 s), or 0xFFFFFFFF.
    pub fn idle_timeout_secs(&self) -> u32 {
        match self.heartbeat_interval {
            None => NO_IDLE_TIMEOUT,
            Some(d) => {
                let secs = d.as_secs_f64() * 4.0;
                (secs.ceil() as u32).max(MIN_IDLE_TIMEOUT_SECS)
            }
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), SessionError> {
        codec::check_version(self.version).map_err(|e| SessionError::Config(e.to_string()))?;
        if self.client_id.is_empty() {
            return Err(SessionError::Config("client_id is required".into()));
        }
        if self.event_queue.max_events == 0 || self.event_queue.max_bytes == 0 {
            return Err(SessionError::Config(
                "event queue bounds must be at least 1".into(),
            ));
        }
        if self.command_queue == 0 {
            return Err(SessionError::Config(
                "command queue bound must be at least 1".into(),
            ));
        }
        if let Some(hb) = self.heartbeat_interval {
            if hb.is_zero() || (hb < MIN_HEARTBEAT_INTERVAL && !self.relaxed_timing) {
                return Err(SessionError::Config(format!(
                    "heartbeat interval {hb:?} is below the 5 s minimum"
                )));
            }
        }
        Ok(())
    }

    /// Adds the service bits of `mode` to `services`.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.services |= mode.services();
        self
    }

    /// ServicesRequested as sent: `services`, plus CTI_SERVICE_ACTIVE_STANDBY when
    /// `active_standby` is set and the version supports it.
    pub fn services_requested(&self) -> u32 {
        if self.active_standby && self.version >= ACTIVE_STANDBY_MIN_VERSION {
            self.services | CTI_SERVICE_ACTIVE_STANDBY
        } else {
            self.services
        }
    }

    /// The OPEN_REQ this configuration sends.
    pub fn open_req(&self, invoke_id: u32) -> Result<Message, CodecError> {
        let mut m = Message::new("OPEN_REQ", self.version)?;
        m.set_int("InvokeID", invoke_id.into())?
            .set_int("VersionNumber", self.version.into())?
            .set_int("IdleTimeout", self.idle_timeout_secs().into())?
            .set_int("PeripheralID", self.peripheral_id.into())?
            .set_int("ServicesRequested", self.services_requested().into())?
            .set_int("CallMsgMask", self.call_msg_mask.into())?
            .set_int("AgentStateMask", self.agent_state_mask.into())?
            .set_int("ConfigMsgMask", self.config_msg_mask.into())?
            .set_str("ClientID", &self.client_id)?
            .set_bytes(
                "ClientPassword",
                Bytes::copy_from_slice(self.client_password.expose().as_bytes()),
            )?;
        if let Some(s) = &self.client_signature {
            m.set_str("ClientSignature", s)?;
        }
        if let Some(s) = &self.agent_extension {
            m.set_str("AgentExtension", s)?;
        }
        if let Some(s) = &self.agent_id {
            m.set_str("AgentID", s)?;
        }
        if let Some(s) = &self.agent_instrument {
            m.set_str("AgentInstrument", s)?;
        }
        Ok(m)
    }
}

/// What kind of CTI client a session is; sets the CTI service bits it requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Client events and control for one agent (an agent desktop).
    Agent,
    /// All events of the peripheral (a CTI bridge, recorder or CRM hub).
    Bridge,
    /// Peripheral monitoring (monitors started with MONITOR_START_REQ).
    Monitor,
    /// An agent desktop with supervisor features (team monitoring, barge-in, intercept).
    Supervisor,
    /// A server application acting on behalf of agents (CTI_SERVICE_SERVER).
    Server,
}

impl Mode {
    /// Parses `agent`, `bridge`, `monitor`, `supervisor` or `server`.
    pub fn from_name(name: &str) -> Option<Mode> {
        Some(match name {
            "agent" => Mode::Agent,
            "bridge" => Mode::Bridge,
            "monitor" => Mode::Monitor,
            "supervisor" => Mode::Supervisor,
            "server" => Mode::Server,
            _ => return None,
        })
    }

    /// The CTI Service Masks bits this mode requests.
    pub fn services(self) -> u32 {
        let names: &[&str] = match self {
            Mode::Agent => &[
                "CTI_SERVICE_CLIENT_EVENTS",
                "CTI_SERVICE_CLIENT_CONTROL",
                "CTI_SERVICE_CALL_DATA_UPDATE",
            ],
            Mode::Bridge => &[
                "CTI_SERVICE_ALL_EVENTS",
                "CTI_SERVICE_CLIENT_CONTROL",
                "CTI_SERVICE_CALL_DATA_UPDATE",
            ],
            Mode::Monitor => &["CTI_SERVICE_PERIPHERAL_MONITOR"],
            Mode::Supervisor => &[
                "CTI_SERVICE_CLIENT_EVENTS",
                "CTI_SERVICE_CLIENT_CONTROL",
                "CTI_SERVICE_CALL_DATA_UPDATE",
                "CTI_SERVICE_SUPERVISOR",
            ],
            Mode::Server => &[
                "CTI_SERVICE_SERVER",
                "CTI_SERVICE_CLIENT_CONTROL",
                "CTI_SERVICE_CALL_DATA_UPDATE",
            ],
        };
        names
            .iter()
            .filter_map(|n| spec::constant("CTI Service Masks", n))
            .fold(0, |a, b| a | b)
    }
}

/// OR of every bit of a mask table.
pub fn all_bits(table: &str) -> u32 {
    spec::table(table).map_or(0, |t| t.entries.iter().fold(0, |a, e| a | e.value))
}

/// Hands out invoke IDs, shared between a session and its handles.
#[derive(Debug, Clone, Default)]
pub struct InvokeIds(Arc<AtomicU32>);

impl InvokeIds {
    /// The next ID (1, 2, 3, ...; never 0).
    pub fn next(&self) -> u32 {
        loop {
            let id = self.0.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            if id != 0 {
                return id;
            }
        }
    }
}

/// What the session reports.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// OPEN_CONF arrived: the session is open.
    Opened(Message),
    /// An event or a confirmation nobody waits for, in arrival order: a handle over
    /// the received bytes (the owned form is [`Event::to_message`]).
    Message(Event),
    /// The outcome of a tracked request.
    Reply {
        /// InvokeID of the request.
        invoke_id: u32,
        /// Its confirmation, or why there is none.
        result: Result<Message, RequestError>,
    },
    /// FAILURE_EVENT: the server reports a failure.
    Failure(CtiStatus),
    /// A message that could not be decoded; the stream goes on.
    DecodeError(CodecError),
    /// A message type outside the catalogue, skipped by its length.
    Unrecognized {
        /// MessageType.
        msg_type: u32,
        /// Its body.
        body: Bytes,
    },
    /// The session ended; nothing follows.
    Closed(CloseReason),
}

/// Where the session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Created, OPEN_REQ not yet queued.
    Idle,
    /// OPEN_REQ sent, waiting for OPEN_CONF.
    Opening,
    /// Open.
    Open,
    /// CLOSE_REQ sent.
    Closing,
    /// Ended.
    Closed,
}

struct Pending {
    sent: Instant,
    deadline: Instant,
    timeout: Duration,
}

/// A CTI client session without I/O.
pub struct Session {
    cfg: SessionConfig,
    state: State,
    ids: InvokeIds,
    splitter: FrameSplitter,
    transmit: VecDeque<Bytes>,
    events: VecDeque<SessionEvent>,
    pending: HashMap<u32, Pending>,
    open_invoke: u32,
    open_deadline: Option<Instant>,
    close_deadline: Option<Instant>,
    heartbeat_due: Option<Instant>,
    heartbeats_outstanding: u32,
    heartbeat_ids: Vec<(u32, Instant)>,
    session_type: Option<u16>,
    maintenance: Option<bool>,
}

impl Session {
    /// A session for `cfg` (validated).
    pub fn new(cfg: SessionConfig) -> Result<Self, SessionError> {
        cfg.validate()?;
        cfg.stats.set_client_id(&cfg.client_id);
        Ok(Session {
            cfg,
            state: State::Idle,
            ids: InvokeIds::default(),
            splitter: FrameSplitter::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            pending: HashMap::new(),
            open_invoke: 0,
            open_deadline: None,
            close_deadline: None,
            heartbeat_due: None,
            heartbeats_outstanding: 0,
            heartbeat_ids: Vec::new(),
            session_type: None,
            maintenance: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// OPEN_CONF SessionType (0 unknown, 1 active, 2 standby; v24+), updated to active
    /// by STANDBY_ACTIVE_EVENT. `None` before OPEN_CONF or below v24.
    pub fn session_type(&self) -> Option<u16> {
        self.session_type
    }

    /// Whether the session is on a standby CTI Server (SessionType 2).
    pub fn is_standby(&self) -> bool {
        self.session_type == Some(SESSION_STANDBY)
    }

    /// The last ACTIVE_MAINTENANCE_EVENT status: `Some(true)` when this side is going
    /// into maintenance (move requests to the other side), `Some(false)` if cancelled.
    pub fn maintenance(&self) -> Option<bool> {
        self.maintenance
    }

    /// Sends STOPPING_REQUESTS_TO_THIS_SIDE_IND (empty body, DECISIONS #11): tells a side
    /// entering maintenance that this client has moved to the other side. The server
    /// closes the connection afterwards.
    pub fn stop_requests_to_this_side(&mut self) -> Result<(), RequestError> {
        let spec = spec::message_by_name("STOPPING_REQUESTS_TO_THIS_SIDE_IND")
            .ok_or_else(|| RequestError::SessionClosed("message not in catalogue".into()))?;
        let msg = Message::raw(spec, Bytes::new());
        self.send(msg).map(|_| ())
    }

    /// The invoke ID allocator (share it with handles that build requests).
    pub fn invoke_ids(&self) -> InvokeIds {
        self.ids.clone()
    }

    /// Queues OPEN_REQ. Call once, after the connection is up.
    pub fn start(&mut self, now: Instant) -> Result<(), SessionError> {
        if self.state != State::Idle {
            return Err(SessionError::Config("session already started".into()));
        }
        self.open_invoke = self.ids.next();
        let req = self
            .cfg
            .open_req(self.open_invoke)
            .map_err(|e| SessionError::Config(e.to_string()))?;
        self.queue(&req)
            .map_err(|e| SessionError::Config(e.to_string()))?;
        self.state = State::Opening;
        self.open_deadline = Some(now + self.cfg.open_timeout);
        Ok(())
    }

    fn queue(&mut self, msg: &Message) -> Result<(), CodecError> {
        let mut buf = BytesMut::new();
        codec::encode_into(msg, self.cfg.version, &mut buf)?;
        self.cfg.stats.frame_out(buf.len());
        self.cfg.trace.sent(self.cfg.stats.id(), msg, buf.len());
        self.transmit.push_back(buf.freeze());
        Ok(())
    }

    fn set_invoke(&self, msg: &mut Message) -> Result<u32, CodecError> {
        match msg.invoke_id() {
            Some(id) if id != 0 => Ok(id),
            _ if msg.raw_body().is_some() => Ok(0),
            _ => {
                let id = self.ids.next();
                if msg.get("InvokeID").is_some() {
                    msg.set_int("InvokeID", id.into())?;
                    Ok(id)
                } else {
                    Ok(0)
                }
            }
        }
    }

    /// Sends a message without tracking its confirmation (it arrives as
    /// [`SessionEvent::Message`]). Assigns an InvokeID when the message has a zero one.
    /// Returns the InvokeID (0 for messages without one).
    pub fn send(&mut self, mut msg: Message) -> Result<u32, RequestError> {
        if self.state != State::Open {
            return Err(RequestError::SessionClosed(format!(
                "session is {:?}",
                self.state
            )));
        }
        let id = self.set_invoke(&mut msg)?;
        self.queue(&msg)?;
        Ok(id)
    }

    /// Sends a request and tracks it: its confirmation, failure or timeout comes back as
    /// [`SessionEvent::Reply`]. `timeout` defaults to the configured request timeout.
    pub fn send_request(
        &mut self,
        msg: Message,
        timeout: Option<Duration>,
        now: Instant,
    ) -> Result<u32, RequestError> {
        let id = self.send(msg)?;
        let timeout = timeout.unwrap_or(self.cfg.request_timeout);
        if id != 0 {
            self.pending.insert(
                id,
                Pending {
                    sent: now,
                    deadline: now + timeout,
                    timeout,
                },
            );
        }
        Ok(id)
    }

    /// Starts an orderly close: CLOSE_REQ with status E_CTI_NO_ERROR, then up to the
    /// close timeout for CLOSE_CONF.
    pub fn close(&mut self, now: Instant) {
        match self.state {
            State::Open => {
                let id = self.ids.next();
                let sent = Message::new("CLOSE_REQ", self.cfg.version).and_then(|mut m| {
                    m.set_int("InvokeID", id.into())?.set_int("Status", 0)?;
                    self.queue(&m)
                });
                if sent.is_err() {
                    self.finish(CloseReason::Closed);
                    return;
                }
                self.state = State::Closing;
                self.close_deadline = Some(now + self.cfg.close_timeout);
            }
            State::Idle | State::Opening => self.finish(CloseReason::Closed),
            State::Closing | State::Closed => {}
        }
    }

    /// The connection dropped.
    pub fn connection_lost(&mut self, why: &str) {
        if self.state == State::Closing {
            // The server may reset the connection right after CLOSE_CONF or instead of it.
            self.finish(CloseReason::Closed);
        } else if self.state != State::Closed {
            self.finish(CloseReason::Failed(SessionError::ConnectionLost(
                why.to_owned(),
            )));
        }
    }

    fn finish(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        let why = match &reason {
            CloseReason::Failed(e) => e.to_string(),
            other => format!("{other:?}"),
        };
        let mut ids: Vec<u32> = self.pending.keys().copied().collect();
        ids.sort_unstable();
        for invoke_id in ids {
            self.events.push_back(SessionEvent::Reply {
                invoke_id,
                result: Err(RequestError::SessionClosed(why.clone())),
            });
        }
        self.pending.clear();
        self.open_deadline = None;
        self.close_deadline = None;
        self.heartbeat_due = None;
        self.events.push_back(SessionEvent::Closed(reason));
    }

    /// Feeds bytes received from the server.
    pub fn receive(&mut self, data: &[u8], now: Instant) {
        if self.state == State::Closed {
            return;
        }
        self.splitter.push(data);
        loop {
            match self.splitter.next_frame() {
                Ok(Some(frame)) => self.handle_frame(frame, now),
                Ok(None) => break,
                Err(e) => {
                    self.finish(CloseReason::Failed(SessionError::Protocol(e)));
                    break;
                }
            }
            if self.state == State::Closed {
                break;
            }
        }
    }

    /// Removes a tracked request that got its answer and records its latency.
    fn answered(&mut self, id: u32, now: Instant) -> bool {
        match self.pending.remove(&id) {
            Some(p) => {
                self.cfg
                    .stats
                    .request_done(now.saturating_duration_since(p.sent));
                true
            }
            None => false,
        }
    }

    fn handle_frame(&mut self, frame: codec::Frame, now: Instant) {
        let stats = &self.cfg.stats;
        stats.frame_in(frame.body.len() + codec::HEADER_LEN, now);
        if spec::message_by_type(frame.msg_type).is_none() {
            stats.unrecognized();
            self.cfg.trace.received(stats.id(), &frame, None);
            self.events.push_back(SessionEvent::Unrecognized {
                msg_type: frame.msg_type,
                body: frame.body,
            });
            return;
        }
        // Over-long strings are never refused by a session (DECISIONS.md #25).
        let opts = DecodeOptions {
            enforce_max: false,
            strict: self.cfg.strict_decode,
        };
        // Validated once into a handle over the received bytes; owned messages only
        // where one is handed on (OPEN_CONF, replies) or traced.
        let msg = match Event::parse(frame.msg_type, frame.body.clone(), self.cfg.version, opts) {
            Ok(ev) => {
                if self.cfg.trace.is_on() {
                    let owned = ev.to_message().ok();
                    self.cfg.trace.received(stats.id(), &frame, owned.as_ref());
                }
                ev
            }
            Err(e) => {
                stats.decode_error();
                self.cfg.trace.received(stats.id(), &frame, None);
                self.events.push_back(SessionEvent::DecodeError(e));
                return;
            }
        };
        match msg.name() {
            "OPEN_CONF" if self.state == State::Opening => {
                self.state = State::Open;
                self.open_deadline = None;
                self.heartbeat_due = self.cfg.heartbeat_interval.map(|d| now + d);
                self.session_type = msg.u32("SessionType").map(|v| v as u16);
                self.cfg.stats.opened();
                match msg.to_message() {
                    Ok(m) => self.events.push_back(SessionEvent::Opened(m)),
                    Err(e) => self.events.push_back(SessionEvent::DecodeError(e)),
                }
            }
            "FAILURE_CONF" => self.on_failure_conf(msg, now),
            "FAILURE_EVENT" => {
                let status = CtiStatus {
                    code: msg.u32("Status").unwrap_or(0),
                };
                self.events.push_back(SessionEvent::Failure(status));
                if status.name() == Some("E_CTI_CTI_SERVER_OFFLINE") {
                    self.finish(CloseReason::Failed(SessionError::ServerOffline(status)));
                }
            }
            "HEARTBEAT_CONF" => {
                self.heartbeats_outstanding = 0;
                let id = msg.invoke_id().unwrap_or(0);
                if let Some((_, sent)) = self.heartbeat_ids.iter().find(|(x, _)| *x == id) {
                    self.cfg
                        .stats
                        .heartbeat(now.saturating_duration_since(*sent));
                }
                self.heartbeat_ids.retain(|(x, _)| *x != id);
            }
            "CLOSE_CONF" if self.state == State::Closing => self.finish(CloseReason::Closed),
            "ACTIVE_MAINTENANCE_REQ_MSG" => {
                // Answer at once (the server waits at most 5 s; silence is a rejection).
                let id = msg.invoke_id().unwrap_or(0);
                let accept = i64::from(self.cfg.accept_maintenance);
                let resp = Message::new("ACTIVE_MAINTENANCE_RESP_MSG", self.cfg.version).and_then(
                    |mut r| {
                        r.set_int("InvokeID", id.into())?
                            .set_int("MaintenanceModeAccepted", accept)?;
                        Ok(r)
                    },
                );
                if let Err(e) = resp.and_then(|r| self.queue(&r)) {
                    self.events.push_back(SessionEvent::DecodeError(e));
                }
                self.events.push_back(SessionEvent::Message(msg));
            }
            "ACTIVE_MAINTENANCE_EVENT_MSG" => {
                self.maintenance = msg.u32("MaintenanceModeStatus").map(|v| v == 1);
                self.events.push_back(SessionEvent::Message(msg));
            }
            "STANDBY_ACTIVE_EVENT_MSG" => {
                self.session_type = Some(SESSION_ACTIVE);
                self.events.push_back(SessionEvent::Message(msg));
            }
            "CONTROL_FAILURE_CONF" => {
                let id = msg.invoke_id().unwrap_or(0);
                if self.answered(id, now) {
                    let code = msg.u32("FailureCode").unwrap_or(0);
                    let name = [
                        "ControlFailureCode Values",
                        "Extended Control Failure Codes",
                    ]
                    .iter()
                    .find_map(|t| spec::table(t).and_then(|t| t.name_of(code)))
                    .unwrap_or("unknown");
                    self.events.push_back(SessionEvent::Reply {
                        invoke_id: id,
                        result: Err(RequestError::ControlFailed {
                            code,
                            name,
                            peripheral_error: msg.u32("PeripheralErrorCode").unwrap_or(0),
                        }),
                    });
                } else {
                    self.events.push_back(SessionEvent::Message(msg));
                }
            }
            _ => {
                let tracked = msg
                    .invoke_id()
                    .filter(|id| msg.spec().direction != spec::Direction::ToServer && *id != 0)
                    .filter(|id| self.pending.contains_key(id));
                match tracked {
                    Some(id) => {
                        self.answered(id, now);
                        self.events.push_back(SessionEvent::Reply {
                            invoke_id: id,
                            result: msg.to_message().map_err(RequestError::Codec),
                        });
                    }
                    None => self.events.push_back(SessionEvent::Message(msg)),
                }
            }
        }
    }

    fn on_failure_conf(&mut self, msg: Event, now: Instant) {
        let id = msg.invoke_id().unwrap_or(0);
        // Status may sit in the 16-byte form (Status) or the 18-byte one (FailureCode).
        let status = CtiStatus {
            code: msg
                .u32("Status")
                .or_else(|| msg.u32("FailureCode"))
                .unwrap_or(0),
        };
        if self.state == State::Opening && id == self.open_invoke {
            self.finish(CloseReason::Failed(SessionError::OpenRefused(status)));
        } else if self.heartbeat_ids.iter().any(|(x, _)| *x == id) {
            self.finish(CloseReason::Failed(SessionError::ServerOffline(status)));
        } else if self.answered(id, now) {
            self.events.push_back(SessionEvent::Reply {
                invoke_id: id,
                result: Err(RequestError::Failed(status)),
            });
        } else {
            self.events.push_back(SessionEvent::Message(msg));
        }
    }

    /// The earliest time [`Session::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.open_deadline,
            self.close_deadline,
            self.heartbeat_due,
            self.pending.values().map(|p| p.deadline).min(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Advances timers to `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.open_deadline.is_some_and(|d| now >= d) {
            self.finish(CloseReason::Failed(SessionError::OpenTimeout(
                self.cfg.open_timeout,
            )));
            return;
        }
        if self.close_deadline.is_some_and(|d| now >= d) {
            self.finish(CloseReason::CloseTimeout);
            return;
        }
        let mut expired: Vec<(u32, Duration)> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.deadline)
            .map(|(id, p)| (*id, p.timeout))
            .collect();
        expired.sort_unstable();
        for (id, timeout) in expired {
            self.pending.remove(&id);
            self.events.push_back(SessionEvent::Reply {
                invoke_id: id,
                result: Err(RequestError::Timeout(timeout)),
            });
        }
        if let (Some(due), Some(interval)) = (self.heartbeat_due, self.cfg.heartbeat_interval) {
            if now >= due && self.state == State::Open {
                if self.heartbeats_outstanding >= MAX_MISSED_HEARTBEATS {
                    self.finish(CloseReason::Failed(SessionError::HeartbeatTimeout(
                        self.heartbeats_outstanding,
                    )));
                    return;
                }
                let id = self.ids.next();
                let sent = Message::new("HEARTBEAT_REQ", self.cfg.version).and_then(|mut m| {
                    m.set_int("InvokeID", id.into())?;
                    self.queue(&m)
                });
                if sent.is_ok() {
                    self.heartbeats_outstanding += 1;
                    self.heartbeat_ids.push((id, now));
                    if self.heartbeat_ids.len() > MAX_MISSED_HEARTBEATS as usize + 1 {
                        self.heartbeat_ids.remove(0);
                    }
                }
                self.heartbeat_due = Some(now + interval);
            }
        }
    }

    /// Next bytes to write to the connection.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmit.pop_front()
    }

    /// Next thing to tell the application.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeats_are_on_by_default_with_the_guides_interval_and_idle_timeout() {
        let cfg = SessionConfig::new("tester", 24);
        assert_eq!(cfg.heartbeat_interval, Some(Duration::from_secs(90)));
        let req = cfg.open_req(1).expect("OPEN_REQ");
        assert_eq!(
            req.u32("IdleTimeout"),
            Some(360),
            "4 × the heartbeat interval"
        );
        let mut off = cfg.clone();
        off.heartbeat_interval = None;
        assert_eq!(
            off.open_req(1).expect("OPEN_REQ").u32("IdleTimeout"),
            Some(NO_IDLE_TIMEOUT)
        );
        assert!(!cfg.strict_decode, "sessions read tolerantly by default");
    }

    /// CALL_TRANSLATION_ROUTE_EVENT with NumNamedVariables 1029 and one NamedVariable,
    /// written by hand: the independent sample of issue 14.
    fn count_mismatch_frame() -> Vec<u8> {
        let fl = |tag: u16, data: &[u8]| {
            let mut v = tag.to_be_bytes().to_vec();
            v.extend((data.len() as u16).to_be_bytes());
            v.extend(data);
            v
        };
        let mut body = vec![0x04, 0x05, 0, 0];
        body.extend(fl(10, b"5000\0"));
        body.extend(fl(72, &1u32.to_be_bytes()));
        body.extend(fl(73, &2u32.to_be_bytes()));
        body.extend(fl(110, &3u32.to_be_bytes()));
        body.extend(fl(82, b"user.a\0x\0"));
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend(22u32.to_be_bytes());
        out.extend(body);
        out
    }

    #[test]
    fn a_live_session_delivers_a_count_mismatch_with_warnings_unless_strict() {
        let (mut s, t0) = open_session(24);
        s.receive(&count_mismatch_frame(), t0);
        match s.poll_event() {
            Some(SessionEvent::Message(ev)) => {
                let m = ev.to_message().expect("owned");
                assert_eq!(m.name(), "CALL_TRANSLATION_ROUTE_EVENT");
                assert_eq!(m.u32("NumNamedVariables"), Some(1029));
                assert!(
                    m.warnings()[0].contains("NumNamedVariables"),
                    "{:?}",
                    m.warnings()
                );
            }
            other => panic!("expected the event, got {other:?}"),
        }

        let mut cfg = SessionConfig::new("tester", 24);
        cfg.strict_decode = true;
        let mut s = Session::new(cfg).expect("valid config");
        s.start(t0).expect("start");
        let open = s.poll_transmit().expect("OPEN_REQ queued");
        let req = codec::decode(&open, 24).expect("OPEN_REQ decodes");
        let mut conf = Message::new("OPEN_CONF", 24).expect("OPEN_CONF");
        conf.set_int("InvokeID", req.invoke_id().expect("id").into())
            .expect("set");
        s.receive(&codec::encode(&conf, 24).expect("encode"), t0);
        assert!(matches!(s.poll_event(), Some(SessionEvent::Opened(_))));
        s.receive(&count_mismatch_frame(), t0);
        assert!(matches!(
            s.poll_event(),
            Some(SessionEvent::DecodeError(CodecError::CountMismatch { .. }))
        ));
    }

    fn open_session(version: u32) -> (Session, Instant) {
        let mut cfg = SessionConfig::new("tester", version);
        cfg.heartbeat_interval = Some(Duration::from_secs(5));
        let mut s = Session::new(cfg).expect("valid config");
        let t0 = Instant::now();
        s.start(t0).expect("start");
        let open = s.poll_transmit().expect("OPEN_REQ queued");
        let req = codec::decode(&open, version).expect("OPEN_REQ decodes");
        assert_eq!(req.name(), "OPEN_REQ");
        assert_eq!(req.u32("IdleTimeout"), Some(20));
        let mut conf = Message::new("OPEN_CONF", version).expect("OPEN_CONF");
        conf.set_int("InvokeID", req.invoke_id().expect("id").into())
            .expect("set");
        s.receive(&codec::encode(&conf, version).expect("encode"), t0);
        assert!(matches!(s.poll_event(), Some(SessionEvent::Opened(_))));
        (s, t0)
    }

    #[test]
    fn maintenance_request_is_answered_at_once_and_standby_becomes_active() {
        let (mut s, t0) = open_session(24);
        let mut req = Message::new("ACTIVE_MAINTENANCE_REQ_MSG", 24).expect("msg");
        req.set_int("InvokeID", 77).expect("set");
        s.receive(&codec::encode(&req, 24).expect("encode"), t0);
        let resp = codec::decode(&s.poll_transmit().expect("RESP queued"), 24).expect("decodes");
        assert_eq!(resp.name(), "ACTIVE_MAINTENANCE_RESP_MSG");
        assert_eq!(resp.invoke_id(), Some(77));
        assert_eq!(resp.u32("MaintenanceModeAccepted"), Some(1));
        assert!(
            matches!(s.poll_event(), Some(SessionEvent::Message(m)) if m.name() == "ACTIVE_MAINTENANCE_REQ_MSG")
        );

        let mut ev = Message::new("ACTIVE_MAINTENANCE_EVENT_MSG", 24).expect("msg");
        ev.set_int("MaintenanceModeStatus", 1).expect("set");
        s.receive(&codec::encode(&ev, 24).expect("encode"), t0);
        assert_eq!(s.maintenance(), Some(true));

        assert!(!s.is_standby());
        let sa = spec::message_by_name("STANDBY_ACTIVE_EVENT_MSG").expect("in catalogue");
        s.receive(
            &codec::encode(&Message::raw(sa, Bytes::new()), 24).expect("encode"),
            t0,
        );
        assert_eq!(s.session_type(), Some(SESSION_ACTIVE));

        s.stop_requests_to_this_side().expect("sent");
        let ind = s.poll_transmit().expect("IND queued");
        assert_eq!(
            &ind[..],
            &[0, 0, 0, 0, 0, 0, 1, 25],
            "281 with an empty body"
        );
    }

    #[test]
    fn maintenance_can_be_rejected_by_configuration() {
        let mut cfg = SessionConfig::new("tester", 24);
        cfg.accept_maintenance = false;
        let mut s = Session::new(cfg).expect("valid");
        let t0 = Instant::now();
        s.start(t0).expect("start");
        let open = codec::decode(&s.poll_transmit().expect("OPEN_REQ"), 24).expect("decodes");
        let mut conf = Message::new("OPEN_CONF", 24).expect("OPEN_CONF");
        conf.set_int("InvokeID", open.invoke_id().expect("id").into())
            .expect("set");
        conf.set_int("SessionType", i64::from(SESSION_STANDBY))
            .expect("set");
        s.receive(&codec::encode(&conf, 24).expect("encode"), t0);
        assert!(s.is_standby());
        let mut req = Message::new("ACTIVE_MAINTENANCE_REQ_MSG", 24).expect("msg");
        req.set_int("InvokeID", 5).expect("set");
        s.receive(&codec::encode(&req, 24).expect("encode"), t0);
        let resp = codec::decode(&s.poll_transmit().expect("RESP"), 24).expect("decodes");
        assert_eq!(resp.u32("MaintenanceModeAccepted"), Some(0));
    }

    #[test]
    fn three_missed_heartbeats_fail_the_session() {
        let (mut s, t0) = open_session(24);
        let mut sent = 0;
        for i in 1..=4 {
            s.handle_timeout(t0 + Duration::from_secs(5 * i));
            while let Some(b) = s.poll_transmit() {
                assert_eq!(b[7], 5, "HEARTBEAT_REQ");
                sent += 1;
            }
        }
        assert_eq!(sent, 3);
        assert_eq!(
            s.poll_event(),
            Some(SessionEvent::Closed(CloseReason::Failed(
                SessionError::HeartbeatTimeout(3)
            )))
        );
    }

    #[test]
    fn answered_heartbeats_keep_the_session() {
        let (mut s, t0) = open_session(15);
        for i in 1..=10 {
            s.handle_timeout(t0 + Duration::from_secs(5 * i));
            let req = s.poll_transmit().expect("heartbeat");
            let id = u32::from_be_bytes([req[8], req[9], req[10], req[11]]);
            let mut conf = Message::new("HEARTBEAT_CONF", 15).expect("conf");
            conf.set_int("InvokeID", id.into()).expect("set");
            s.receive(&codec::encode(&conf, 15).expect("enc"), t0);
        }
        assert_eq!(s.state(), State::Open);
        assert_eq!(s.poll_event(), None);
    }

    #[test]
    fn failure_conf_fails_the_request_with_its_status_name() {
        let (mut s, t0) = open_session(24);
        let req = Message::new("QUERY_AGENT_STATE_REQ", 24).expect("req");
        let id = s.send_request(req, None, t0).expect("sent");
        let mut fail = Message::new("FAILURE_CONF", 24).expect("fail");
        fail.set_int("InvokeID", id.into())
            .and_then(|m| m.set_int("Status", 9))
            .expect("set");
        s.receive(&codec::encode(&fail, 24).expect("enc"), t0);
        match s.poll_event() {
            Some(SessionEvent::Reply {
                invoke_id,
                result: Err(RequestError::Failed(st)),
            }) => {
                assert_eq!(invoke_id, id);
                assert_eq!(st.name(), Some("E_CTI_AGENT_NOT_LOGGED_ON"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn close_gives_up_after_the_close_timeout_and_fails_pending_requests() {
        let (mut s, t0) = open_session(24);
        let req = Message::new("QUERY_AGENT_STATE_REQ", 24).expect("req");
        let id = s
            .send_request(req, Some(Duration::from_secs(60)), t0)
            .expect("sent");
        s.close(t0);
        assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(5)));
        s.handle_timeout(t0 + Duration::from_secs(5));
        assert!(matches!(
            s.poll_event(),
            Some(SessionEvent::Reply { invoke_id, result: Err(RequestError::SessionClosed(_)) }) if invoke_id == id
        ));
        assert_eq!(
            s.poll_event(),
            Some(SessionEvent::Closed(CloseReason::CloseTimeout))
        );
    }

    #[test]
    fn invoke_ids_increment() {
        let (mut s, t0) = open_session(24);
        let a = s
            .send_request(
                Message::new("QUERY_AGENT_STATE_REQ", 24).expect("m"),
                None,
                t0,
            )
            .expect("a");
        let b = s
            .send_request(
                Message::new("QUERY_AGENT_STATE_REQ", 24).expect("m"),
                None,
                t0,
            )
            .expect("b");
        assert_eq!(b, a + 1);
    }
}

#[cfg(test)]
mod mode_tests {
    use super::*;

    #[test]
    fn modes_request_the_documented_service_bits() {
        let k = |n| spec::constant("CTI Service Masks", n).unwrap();
        assert_eq!(
            Mode::Bridge.services() & k("CTI_SERVICE_ALL_EVENTS"),
            k("CTI_SERVICE_ALL_EVENTS")
        );
        assert_eq!(Mode::Agent.services() & k("CTI_SERVICE_ALL_EVENTS"), 0);
        assert_ne!(Mode::Supervisor.services() & k("CTI_SERVICE_SUPERVISOR"), 0);
        assert_eq!(Mode::from_name("server"), Some(Mode::Server));
        assert_eq!(Mode::from_name("Server"), None);
        assert_eq!(CTI_SERVICE_ACTIVE_STANDBY, k("CTI_SERVICE_ACTIVE_STANDBY"));
        let mut cfg = SessionConfig::new("x", 24).with_mode(Mode::Agent);
        cfg.active_standby = true;
        assert_eq!(
            cfg.services_requested() & CTI_SERVICE_ACTIVE_STANDBY,
            CTI_SERVICE_ACTIVE_STANDBY
        );
        cfg.version = 23;
        assert_eq!(cfg.services_requested() & CTI_SERVICE_ACTIVE_STANDBY, 0);
    }
}
