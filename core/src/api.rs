//! A blocking, JSON-in/JSON-out facade over the CTI client and simulator.
//!
//! The C ABI, Python and Node bindings are thin wrappers over these types, so that
//! configuration parsing, event rendering and error mapping live in one place.
//! Every call may be made from any thread that is not a tokio runtime worker.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::cti::client::ClientEvent;
use crate::cti::codec::{self, json as cjson, CodecError};
use crate::cti::connection::{
    ConnectionConfig, ConnectionEvent, CtiConnection, CtiEvent, CtiEvents,
};
use crate::cti::requests::{request_info, REQUESTS};
use crate::cti::session::{CloseReason, Mode, RequestError, SessionConfig, SessionError};
use crate::cti::spec;
use crate::cti::stats::{SessionStats, StatsSnapshot};
use crate::cti::trace::WireTrace;
use crate::cti::Event;
use crate::queue::{OverrunPolicy, QueueStats};
use crate::runtime::runtime;
use crate::secret::Secret;
use crate::sim::cti::{CtiSimulator, SimCall, SimConfig, SimError};

mod config_json;
mod gc;
mod pump;
mod sim;
pub mod tasks;
pub use gc::{
    command_from_json, default_destination, gc_config_from_json, gc_encode_command, gc_parse_event,
    GcEventOut, GcSession, GcSim,
};
pub use sim::CtiSim;
mod ece;
pub use ece::{
    ece_client_config_from_json, webhook_config_from_json, EceChatWs, EceClient, EceSim, EceWebhook,
};

/// What went wrong, as the bindings classify it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A configuration, JSON or argument is invalid.
    InvalidArgument,
    /// Network or OS failure.
    Io,
    /// No answer in time.
    Timeout,
    /// The server refused (FAILURE_CONF, including a refused OPEN_REQ).
    Refused,
    /// Call control failed (CONTROL_FAILURE_CONF).
    ControlFailed,
    /// The session or simulator is closed.
    Closed,
    /// A message could not be encoded or decoded.
    Codec,
    /// The server broke the protocol or stopped answering heartbeats.
    Protocol,
    /// The link to the server is down and being re-established; retry later.
    Disconnected,
    /// A bounded queue is full (e.g. too many commands waiting to be written);
    /// nothing was sent. Retry after a while.
    QueueFull,
    /// The TLS handshake failed (plain server, plain client, no common version...).
    TlsHandshake,
    /// A certificate was not accepted; `status`/`status_name` give the reason
    /// ([`crate::tls::CertificateReason::code`] and `name`).
    CertificateInvalid,
}

impl ErrorKind {
    /// Stable name of the kind, as bindings expose it (e.g. `"Refused"`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "InvalidArgument",
            ErrorKind::Io => "Io",
            ErrorKind::Timeout => "Timeout",
            ErrorKind::Refused => "Refused",
            ErrorKind::ControlFailed => "ControlFailed",
            ErrorKind::Closed => "Closed",
            ErrorKind::Codec => "Codec",
            ErrorKind::Protocol => "Protocol",
            ErrorKind::Disconnected => "Disconnected",
            ErrorKind::QueueFull => "QueueFull",
            ErrorKind::TlsHandshake => "TlsHandshake",
            ErrorKind::CertificateInvalid => "CertificateInvalid",
        }
    }
}

/// The protocol an error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// CTI Server (GED-188), including its simulator.
    Cti,
    /// Generic Connector (STOMP/ActiveMQ).
    Gc,
    /// Enterprise Chat and Email (HTTP).
    Ece,
}

impl Protocol {
    /// Stable lowercase name: `"cti"`, `"gc"` or `"ece"`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Cti => "cti",
            Protocol::Gc => "gc",
            Protocol::Ece => "ece",
        }
    }
}

/// An error with a kind, a message, the protocol it comes from, and the protocol's
/// code when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// Classification.
    pub kind: ErrorKind,
    /// Human-readable description (status names included).
    pub message: String,
    /// The protocol's code, when the peer sent one: a CTI status or failure code
    /// ([`Protocol::Cti`]) or an HTTP status ([`Protocol::Ece`]).
    pub status: Option<u32>,
    /// Name of that code (e.g. `E_CTI_INVALID_VERSION`, or the ECE error name such as
    /// `NotFound`).
    pub status_name: Option<String>,
    /// The protocol the error comes from (`None` for library-level errors such as an
    /// invalid handle).
    pub protocol: Option<Protocol>,
}

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            status: None,
            status_name: None,
            protocol: None,
        }
    }

    /// The same error attributed to `protocol`.
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// The CTI status or failure code, only when the error comes from CTI.
    pub fn cti_status(&self) -> Option<u32> {
        self.status.filter(|_| self.protocol == Some(Protocol::Cti))
    }

    /// An invalid-argument error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }
}

impl From<CodecError> for Error {
    fn from(e: CodecError) -> Self {
        // Mistakes in what the caller asked for are argument errors; the rest are wire errors.
        let kind = match e {
            CodecError::Json(_)
            | CodecError::UnknownName { .. }
            | CodecError::NoSuchField { .. }
            | CodecError::BadValue { .. }
            | CodecError::RawOnly { .. }
            | CodecError::UnsupportedVersion { .. } => ErrorKind::InvalidArgument,
            _ => ErrorKind::Codec,
        };
        Error::new(kind, e.to_string()).with_protocol(Protocol::Cti)
    }
}

impl From<crate::tls::TlsError> for Error {
    fn from(e: crate::tls::TlsError) -> Self {
        use crate::tls::TlsError;
        let mut out = Error::new(
            match &e {
                TlsError::Config(_) => ErrorKind::InvalidArgument,
                TlsError::Handshake(_) => ErrorKind::TlsHandshake,
                TlsError::CertificateInvalid { .. } => ErrorKind::CertificateInvalid,
            },
            e.to_string(),
        );
        if let Some(r) = e.reason() {
            out.status = Some(r.code());
            out.status_name = Some(r.name().to_owned());
        }
        out
    }
}

impl From<SessionError> for Error {
    fn from(e: SessionError) -> Self {
        if let SessionError::Tls(t) = e {
            return t.into();
        }
        let kind = match &e {
            SessionError::OpenRefused(_) => ErrorKind::Refused,
            SessionError::OpenTimeout(_) => ErrorKind::Timeout,
            SessionError::HeartbeatTimeout(_) | SessionError::Protocol(_) => ErrorKind::Protocol,
            SessionError::ServerOffline(_) | SessionError::NotOpen => ErrorKind::Closed,
            SessionError::ConnectionLost(_) => ErrorKind::Io,
            SessionError::Config(_) => ErrorKind::InvalidArgument,
            SessionError::Tls(_) => ErrorKind::TlsHandshake,
        };
        let status = e.status();
        Error {
            kind,
            message: e.to_string(),
            status: status.map(|s| s.code),
            status_name: status.and_then(|s| s.name()).map(str::to_owned),
            protocol: Some(Protocol::Cti),
        }
    }
}

impl From<RequestError> for Error {
    fn from(e: RequestError) -> Self {
        let (kind, status, name) = match &e {
            RequestError::Failed(s) => (
                ErrorKind::Refused,
                Some(s.code),
                s.name().map(str::to_owned),
            ),
            RequestError::ControlFailed { code, name, .. } => (
                ErrorKind::ControlFailed,
                Some(*code),
                Some((*name).to_owned()),
            ),
            RequestError::Timeout(_) => (ErrorKind::Timeout, None, None),
            RequestError::SessionClosed(_) => (ErrorKind::Closed, None, None),
            RequestError::NotConnected(_) | RequestError::ConnectionLost(_) => {
                (ErrorKind::Disconnected, None, None)
            }
            RequestError::Codec(_) => (ErrorKind::Codec, None, None),
            RequestError::QueueFull(_) => (ErrorKind::QueueFull, None, None),
        };
        Error {
            kind,
            message: e.to_string(),
            status,
            status_name: name,
            protocol: Some(Protocol::Cti),
        }
    }
}

impl From<SimError> for Error {
    fn from(e: SimError) -> Self {
        let kind = match &e {
            SimError::Io(_) => ErrorKind::Io,
            SimError::Stopped => ErrorKind::Closed,
            _ => ErrorKind::InvalidArgument,
        };
        Error::new(kind, e.to_string()).with_protocol(Protocol::Cti)
    }
}

fn rt() -> Result<&'static tokio::runtime::Runtime, Error> {
    runtime().map_err(|e| Error::new(ErrorKind::Io, e))
}

/// A number, constant names joined with `|` (looked up in `table`), or a list of
/// either (OR-ed together).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Bits {
    Num(u32),
    Names(String),
    List(Vec<Bits>),
}

impl Bits {
    fn resolve(&self, table: &str) -> Result<u32, Error> {
        match self {
            Bits::Num(n) => Ok(*n),
            Bits::Names(s) => s.split('|').map(str::trim).try_fold(0u32, |acc, n| {
                spec::constant(table, n)
                    .map(|v| acc | v)
                    .ok_or_else(|| Error::invalid(format!("unknown {table} name {n:?}")))
            }),
            Bits::List(items) => items
                .iter()
                .try_fold(0u32, |acc, b| Ok(acc | b.resolve(table)?)),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionJson {
    address: String,
    client_id: String,
    #[serde(default = "default_version")]
    version: u32,
    #[serde(default, deserialize_with = "client_password")]
    client_password: Secret,
    client_signature: Option<String>,
    peripheral_id: Option<u32>,
    services: Option<Bits>,
    call_msg_mask: Option<Bits>,
    agent_state_mask: Option<Bits>,
    config_msg_mask: Option<Bits>,
    agent_extension: Option<String>,
    agent_id: Option<String>,
    agent_instrument: Option<String>,
    heartbeat_ms: Option<u64>,
    open_timeout_ms: Option<u64>,
    close_timeout_ms: Option<u64>,
    request_timeout_ms: Option<u64>,
    #[serde(default)]
    relaxed_timing: bool,
    address_b: Option<String>,
    mode: Option<String>,
    reconnect: Option<bool>,
    #[serde(default)]
    model_events: bool,
    expected_clients: Option<u32>,
    reconnect_time_scale: Option<f64>,
    connect_timeout_ms: Option<u64>,
    resync_window_ms: Option<u64>,
    #[serde(default)]
    active_standby: bool,
    accept_maintenance: Option<bool>,
    event_queue_events: Option<usize>,
    event_queue_bytes: Option<usize>,
    overrun: Option<String>,
    command_queue: Option<usize>,
    #[serde(default)]
    strict_decode: bool,
    #[serde(default)]
    trace: bool,
    trace_file: Option<String>,
    tls: Option<crate::tls::TlsConfig>,
}

/// `client_password`, refused by name (never by value) when it is not a string.
fn client_password<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    crate::secret::deserialize_named("client_password", d)
}

fn default_version() -> u32 {
    24
}

/// Parses a session configuration from JSON. Keys: `address` ("host:port", required),
/// `client_id` (required), `version` (default 24), `client_password`, `client_signature`,
/// `peripheral_id`, `services`, `call_msg_mask`, `agent_state_mask`, `config_msg_mask`
/// (numbers, `|`-joined constant names, or lists of either), `agent_extension`, `agent_id`,
/// `agent_instrument`, `heartbeat_ms` (default 90000, IdleTimeout 4×; 0 turns
/// heartbeats off), `open_timeout_ms`, `close_timeout_ms`, `request_timeout_ms`,
/// `relaxed_timing`, `active_standby`, `accept_maintenance`, `strict_decode` (default
/// false: messages with count mismatches or wrongly sized fields are delivered with
/// `_warnings` rather than as DECODE_ERROR), `mode` (`agent`, `bridge`, `monitor`, `supervisor` or `server`:
/// adds that mode's service bits to `services`), `trace` (true: every frame in and out
/// as an INFO log record under the target `libcce::wire`) and `trace_file` (a path: the
/// same records appended to it as JSON lines; see [`crate::cti::trace`]), `event_queue_events` (default 10,000)
/// and `event_queue_bytes` (default 4 MiB): the bound of the session's event queue,
/// `overrun` (`"block"`, the default: stop reading the socket while the queue is full;
/// `"close"`: end the session with reason `ConsumerOverrun`), `command_queue` (default
/// 1,024: more sends or requests waiting fail at once with `QueueFull`).
pub fn session_config_from_json(text: &str) -> Result<(String, SessionConfig), Error> {
    let j = parse_session_json(text)?;
    let addr = j.address.clone();
    Ok((addr, session_config(j)?))
}

fn parse_session_json(text: &str) -> Result<SessionJson, Error> {
    let v = config_json::parse(text, "session config", &[])?;
    serde_json::from_value(v).map_err(|e| Error::invalid(format!("session config: {e}")))
}

/// Parses a failover connection configuration from JSON: every key of
/// [`session_config_from_json`], plus `address_b` (side B), `reconnect` (default: true
/// when `address_b` is set), `expected_clients` (random reconnect spread),
/// `reconnect_time_scale` (multiplies every reconnect wait), `connect_timeout_ms`,
/// `resync_window_ms`, `model_events` (deliver `MODEL_CHANGED` events) and `tls`
/// (a [`crate::tls::TlsConfig`] object: TLS on both sides; see docs/security.md).
pub fn connection_config_from_json(text: &str) -> Result<(ConnectionConfig, bool), Error> {
    let j = parse_session_json(text)?;
    let model_events = j.model_events;
    let address = j.address.clone();
    let address_b = j.address_b.clone();
    let reconnect = j.reconnect.unwrap_or(address_b.is_some());
    let expected = j.expected_clients;
    let scale = j.reconnect_time_scale;
    let connect_ms = j.connect_timeout_ms;
    let resync_ms = j.resync_window_ms;
    let tls = j.tls.clone();
    if let Some(t) = &tls {
        t.validate()?;
    }
    let mut cfg = ConnectionConfig::new(session_config(j)?, address);
    cfg.model_events = model_events;
    cfg.side_b = address_b;
    cfg.auto_reconnect = reconnect;
    cfg.tls = tls;
    if let Some(n) = expected {
        cfg.reconnect.expected_clients = n;
    }
    if let Some(f) = scale {
        if !(f.is_finite() && f >= 0.0) {
            return Err(Error::invalid(
                "reconnect_time_scale must be a finite number >= 0",
            ));
        }
        cfg.reconnect.time_scale = f;
    }
    if let Some(ms) = connect_ms {
        cfg.connect_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = resync_ms {
        cfg.resync_window = Duration::from_millis(ms);
    }
    Ok((cfg, model_events))
}

fn session_config(j: SessionJson) -> Result<SessionConfig, Error> {
    let mut cfg = SessionConfig::new(j.client_id, j.version);
    cfg.client_password = j.client_password;
    cfg.strict_decode = j.strict_decode;
    cfg.client_signature = j.client_signature;
    if let Some(p) = j.peripheral_id {
        cfg.peripheral_id = p;
    }
    if let Some(b) = j.services {
        cfg.services = b.resolve("CTI Service Masks")?;
    }
    if let Some(b) = j.call_msg_mask {
        cfg.call_msg_mask = b.resolve("Unsolicited Call Event Message Masks")?;
    }
    if let Some(b) = j.agent_state_mask {
        cfg.agent_state_mask = b.resolve("Agent State Masks")?;
    }
    if let Some(b) = j.config_msg_mask {
        cfg.config_msg_mask = b.resolve("ConfigMsgMask (Configuration Event Masks)")?;
    }
    cfg.agent_extension = j.agent_extension;
    cfg.agent_id = j.agent_id;
    cfg.agent_instrument = j.agent_instrument;
    match j.heartbeat_ms {
        Some(0) => cfg.heartbeat_interval = None,
        Some(ms) => cfg.heartbeat_interval = Some(Duration::from_millis(ms)),
        None => {}
    }
    if let Some(ms) = j.open_timeout_ms {
        cfg.open_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = j.close_timeout_ms {
        cfg.close_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = j.request_timeout_ms {
        cfg.request_timeout = Duration::from_millis(ms);
    }
    cfg.relaxed_timing = j.relaxed_timing;
    if let Some(m) = &j.mode {
        let mode = Mode::from_name(m).ok_or_else(|| {
            Error::invalid(format!(
                "mode {m:?}: expected agent, bridge, monitor, supervisor or server"
            ))
        })?;
        cfg.services |= mode.services();
    }
    cfg.active_standby = j.active_standby;
    if let Some(a) = j.accept_maintenance {
        cfg.accept_maintenance = a;
    }
    if let Some(n) = j.event_queue_events {
        cfg.event_queue.max_events = n;
    }
    if let Some(n) = j.event_queue_bytes {
        cfg.event_queue.max_bytes = n;
    }
    if let Some(p) = &j.overrun {
        cfg.overrun = OverrunPolicy::from_name(p).ok_or_else(|| {
            Error::invalid(format!("overrun {p:?}: expected \"block\" or \"close\""))
        })?;
    }
    if let Some(n) = j.command_queue {
        cfg.command_queue = n;
    }
    if let Some(path) = &j.trace_file {
        cfg.trace = WireTrace::file(path)
            .map_err(|e| Error::new(ErrorKind::Io, format!("trace_file {path:?}: {e}")))?;
    } else if j.trace {
        cfg.trace = WireTrace::Log;
    }
    cfg.validate()?;
    Ok(cfg)
}

/// An event for the bindings: its MessageType, whether it is the last, and its JSON,
/// rendered on first use (a consumer that reads fields or drops the event pays for no
/// JSON).
#[derive(Debug)]
pub struct EventOut {
    /// MessageType, or 0 for library events (`SESSION_CLOSED`, `DECODE_ERROR`,
    /// `CONNECTION_STATE`, `MODEL_CHANGED`).
    pub msg_type: u32,
    /// True for `SESSION_CLOSED`, the last event of a session.
    pub last: bool,
    payload: Payload,
    json: std::sync::OnceLock<String>,
}

/// What an [`EventOut`] renders from.
#[derive(Debug)]
enum Payload {
    /// A received CTI message: a handle over its bytes, rendered by
    /// [`crate::cti::codec::json_write`].
    Message(Event),
    /// A library event, already JSON.
    Json(Json),
}

impl EventOut {
    fn message(m: Event) -> Self {
        EventOut {
            msg_type: m.msg_type(),
            last: false,
            payload: Payload::Message(m),
            json: std::sync::OnceLock::new(),
        }
    }

    fn library(msg_type: u32, j: Json, last: bool) -> Self {
        EventOut {
            msg_type,
            last,
            payload: Payload::Json(j),
            json: std::sync::OnceLock::new(),
        }
    }

    /// `MessageName`: the catalogue name, or the library event's name.
    pub fn name(&self) -> &str {
        match &self.payload {
            Payload::Message(m) => m.name(),
            Payload::Json(j) => j
                .get("MessageName")
                .and_then(Json::as_str)
                .unwrap_or("UNKNOWN"),
        }
    }

    /// The JSON rendering (see [`crate::cti::codec::json`]), made on first call.
    pub fn json(&self) -> &str {
        self.json.get_or_init(|| match &self.payload {
            Payload::Message(m) => m.json(),
            Payload::Json(j) => j.to_string(),
        })
    }

    /// Appends the JSON rendering to `out` (the cached text if [`EventOut::json`] made
    /// it, else written straight into `out`: no allocation of its own).
    pub fn write_json(&self, out: &mut String) {
        match (self.json.get(), &self.payload) {
            (Some(s), _) => out.push_str(s),
            (None, Payload::Message(m)) => m.write_json(out),
            (None, Payload::Json(j)) => out.push_str(&j.to_string()),
        }
    }

    /// The JSON rendering, by value.
    pub fn into_json(self) -> String {
        match self.json.into_inner() {
            Some(s) => s,
            None => match self.payload {
                Payload::Message(m) => m.json(),
                Payload::Json(j) => j.to_string(),
            },
        }
    }

    /// The whole event as a JSON value (what [`EventOut::json`] prints).
    pub fn to_value(&self) -> Json {
        match &self.payload {
            Payload::Message(m) => m
                .to_message()
                .map(|m| cjson::to_json(&m))
                .unwrap_or_else(|_| serde_json::from_str(self.json()).unwrap_or(Json::Null)),
            Payload::Json(j) => j.clone(),
        }
    }

    /// One key of the event's JSON (a field, or `MessageName`/`MessageType`/`_name`
    /// companions), `None` when absent.
    pub fn field_json(&self, key: &str) -> Option<Json> {
        match &self.payload {
            Payload::Message(m) => m.field_json(key),
            Payload::Json(j) => j.get(key).cloned(),
        }
    }

    /// The received CTI message, for events that carry one (its owned form is
    /// [`Event::to_message`]).
    pub fn as_event(&self) -> Option<&Event> {
        match &self.payload {
            Payload::Message(m) => Some(m),
            Payload::Json(_) => None,
        }
    }

    /// The library event's JSON value (`SESSION_CLOSED`, `CONNECTION_STATE`, ...),
    /// `None` for a CTI message.
    pub fn library_json(&self) -> Option<&Json> {
        match &self.payload {
            Payload::Message(_) => None,
            Payload::Json(j) => Some(j),
        }
    }
}

impl PartialEq for EventOut {
    fn eq(&self, other: &Self) -> bool {
        self.msg_type == other.msg_type && self.last == other.last && self.json() == other.json()
    }
}

fn close_json(reason: &CloseReason) -> Json {
    match reason {
        CloseReason::Closed => {
            json!({"MessageType": 0, "MessageName": "SESSION_CLOSED", "reason": "Closed"})
        }
        CloseReason::CloseTimeout => {
            json!({"MessageType": 0, "MessageName": "SESSION_CLOSED", "reason": "CloseTimeout"})
        }
        CloseReason::ConsumerOverrun => {
            json!({"MessageType": 0, "MessageName": "SESSION_CLOSED", "reason": "ConsumerOverrun"})
        }
        CloseReason::Failed(e) => json!({
            "MessageType": 0, "MessageName": "SESSION_CLOSED", "reason": "Failed",
            "error_kind": e.kind(), "error": e.to_string(),
            "status": e.status().map(|s| s.code),
            "status_name": e.status().and_then(|s| s.name()),
        }),
    }
}

/// Renders a client event.
pub fn event_out(ev: &ClientEvent) -> EventOut {
    match ev {
        ClientEvent::Message(m) => EventOut::message(m.clone()),
        ClientEvent::Failure(s) => EventOut::library(
            2,
            json!({"MessageType": 2, "MessageName": "FAILURE_EVENT", "Status": s.code, "Status_name": s.name()}),
            false,
        ),
        ClientEvent::DecodeError(e) => EventOut::library(
            0,
            json!({"MessageType": 0, "MessageName": "DECODE_ERROR", "error_kind": e.kind(), "error": e.to_string()}),
            false,
        ),
        ClientEvent::Unrecognized { msg_type, body } => EventOut::library(
            *msg_type,
            json!({"MessageType": msg_type, "MessageName": "UNRECOGNIZED", "_body_len": body.len()}),
            false,
        ),
        ClientEvent::Closed(r) => EventOut::library(0, close_json(r), true),
    }
}

fn connection_json(ev: &ConnectionEvent) -> Json {
    let mut j = match ev {
        ConnectionEvent::Connected {
            side,
            address,
            reconnected,
            session_type,
        } => json!({"state": "Connected", "side": side.name(), "address": address,
                    "reconnected": reconnected, "session_type": session_type}),
        ConnectionEvent::Disconnected { side, reason } => {
            json!({"state": "Disconnected", "side": side.name(), "reason": reason})
        }
        ConnectionEvent::AttemptFailed { side, error } => {
            json!({"state": "AttemptFailed", "side": side.name(), "reason": error})
        }
        ConnectionEvent::BecameActive { side } => {
            json!({"state": "BecameActive", "side": side.name()})
        }
        ConnectionEvent::Resynchronized => json!({"state": "Resynchronized"}),
    };
    if let Some(o) = j.as_object_mut() {
        o.insert("MessageType".into(), json!(0));
        o.insert("MessageName".into(), json!("CONNECTION_STATE"));
    }
    j
}

/// Renders a connection event; `None` for events the bindings do not deliver
/// (model changes unless asked for, the initial `Connected`).
pub fn cti_event_out(ev: &CtiEvent, model_events: bool) -> Option<EventOut> {
    match ev {
        CtiEvent::Message(m) => Some(EventOut::message(m.clone())),
        other => library_event_out(other, model_events),
    }
}

/// [`cti_event_out`] taking the event by value (no copy of a message).
pub fn cti_event_into_out(ev: CtiEvent, model_events: bool) -> Option<EventOut> {
    match ev {
        CtiEvent::Message(m) => Some(EventOut::message(m)),
        other => library_event_out(&other, model_events),
    }
}

fn library_event_out(ev: &CtiEvent, model_events: bool) -> Option<EventOut> {
    let simple = |ce: ClientEvent| Some(event_out(&ce));
    match ev {
        CtiEvent::Message(m) => Some(EventOut::message(m.clone())),
        CtiEvent::Failure(s) => simple(ClientEvent::Failure(*s)),
        CtiEvent::DecodeError(e) => simple(ClientEvent::DecodeError(e.clone())),
        CtiEvent::Unrecognized { msg_type, body } => simple(ClientEvent::Unrecognized {
            msg_type: *msg_type,
            body: body.clone(),
        }),
        CtiEvent::Closed(r) => simple(ClientEvent::Closed(r.clone())),
        CtiEvent::Connection(ConnectionEvent::Connected {
            reconnected: false, ..
        }) => None,
        CtiEvent::Connection(c) => Some(EventOut::library(0, connection_json(c), false)),
        CtiEvent::Model(changes) if model_events => Some(EventOut::library(
            0,
            json!({"MessageType": 0, "MessageName": "MODEL_CHANGED", "changes": changes}),
            false,
        )),
        CtiEvent::Model(_) => None,
    }
}

/// Every request helper: `[{"request","confirmation","helper","service"}]` as JSON.
pub fn requests_json() -> String {
    Json::Array(
        REQUESTS
            .iter()
            .map(|r| {
                json!({"request": r.request, "confirmation": r.confirmation,
                            "helper": r.helper, "service": r.service})
            })
            .collect(),
    )
    .to_string()
}

/// A CTI session (with optional side A/B failover) behind a blocking API.
pub struct CtiSession {
    conn: CtiConnection,
    stats: std::sync::Arc<SessionStats>,
    events: CtiEvents,
    /// The final `SESSION_CLOSED` was taken.
    done: AtomicBool,
    model_events: bool,
}

/// Queue figures as JSON: `{"depth_events","depth_bytes","high_water_events",
/// "high_water_bytes","dropped","delivered"}`.
pub fn queue_stats_json(s: &QueueStats) -> String {
    json!({
        "depth_events": s.depth_events,
        "depth_bytes": s.depth_bytes,
        "high_water_events": s.high_water_events,
        "high_water_bytes": s.high_water_bytes,
        "dropped": s.dropped,
        "delivered": s.delivered,
    })
    .to_string()
}

impl CtiSession {
    /// Connects and opens a session from a JSON configuration
    /// (see [`connection_config_from_json`]). Blocks until OPEN_CONF or failure.
    pub fn open(config_json: &str) -> Result<Self, Error> {
        rt()?.block_on(Self::open_async(config_json))
    }

    /// [`CtiSession::open`] as a future (run it on [`crate::runtime::runtime`], e.g.
    /// through [`tasks::spawn`]).
    pub async fn open_async(config_json: &str) -> Result<Self, Error> {
        let (cfg, model_events) = connection_config_from_json(config_json)?;
        let stats = cfg.session.stats.clone();
        let (conn, events) = CtiConnection::connect(cfg).await?;
        Ok(CtiSession {
            conn,
            stats,
            events,
            done: AtomicBool::new(false),
            model_events,
        })
    }

    /// Replaces the TLS settings from JSON (a [`crate::tls::TlsConfig`] object, or
    /// `null` for plain TCP). They apply from the next reconnect on.
    pub fn set_tls_json(&self, tls_json: &str) -> Result<(), Error> {
        let tls: Option<crate::tls::TlsConfig> = serde_json::from_str(tls_json)
            .map_err(|e| Error::invalid(format!("tls config: {e}")))?;
        if let Some(t) = &tls {
            t.validate()?;
        }
        self.conn.set_tls(tls);
        Ok(())
    }

    /// The OPEN_CONF of the current session as JSON (`null` while reconnecting).
    pub fn open_conf_json(&self) -> String {
        match self.conn.open_conf() {
            Some(m) => cjson::to_json_string(&m),
            None => "null".into(),
        }
    }

    /// Protocol version of the session.
    pub fn version(&self) -> u32 {
        self.conn.version()
    }

    /// The underlying async connection.
    pub fn connection(&self) -> &CtiConnection {
        &self.conn
    }

    /// `{"connected": bool, "closed": bool, "side": "A"|"B"|null}`.
    pub fn state_json(&self) -> String {
        json!({
            "connected": self.conn.is_connected(),
            "closed": self.conn.is_closed(),
            "side": self.conn.side().map(|s| s.name()),
        })
        .to_string()
    }

    /// The session's counters now (see [`crate::cti::stats`]).
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot(std::time::Instant::now())
    }

    /// [`CtiSession::stats`] as JSON (see [`StatsSnapshot::to_json`]).
    pub fn stats_json(&self) -> String {
        self.stats().to_json().to_string()
    }

    /// The live model as JSON (agents, calls, skill groups, peripherals).
    pub fn model_json(&self) -> String {
        self.conn.with_model(|m| m.to_json()).to_string()
    }

    /// Sends a message given as JSON without waiting; returns its InvokeID
    /// (assigned when absent or zero).
    pub fn send_json(&self, msg_json: &str) -> Result<u32, Error> {
        let msg = cjson::from_json_str(msg_json, self.conn.version())?;
        Ok(self.conn.send(msg)?)
    }

    /// Sends a request given as JSON and waits for its confirmation.
    /// Returns the confirmation's type and JSON.
    pub fn request_json(
        &self,
        msg_json: &str,
        timeout: Option<Duration>,
    ) -> Result<(u32, String), Error> {
        rt()?.block_on(self.request_json_async(msg_json, timeout))
    }

    /// [`CtiSession::request_json`] as a future.
    pub async fn request_json_async(
        &self,
        msg_json: &str,
        timeout: Option<Duration>,
    ) -> Result<(u32, String), Error> {
        let msg = cjson::from_json_str(msg_json, self.conn.version())?;
        let conf = self.conn.request(msg, timeout).await?;
        Ok((conf.msg_type(), cjson::to_json_string(&conf)))
    }

    /// Sends the request named `name` (a message name such as `MAKE_CALL_REQ` or a
    /// helper name such as `make_call`, see [`requests_json`]) with the fields given as
    /// a JSON object, and waits for its confirmation.
    pub fn call_json(
        &self,
        name: &str,
        fields_json: &str,
        timeout: Option<Duration>,
    ) -> Result<(u32, String), Error> {
        rt()?.block_on(self.call_json_async(name, fields_json, timeout))
    }

    /// [`CtiSession::call_json`] as a future.
    pub async fn call_json_async(
        &self,
        name: &str,
        fields_json: &str,
        timeout: Option<Duration>,
    ) -> Result<(u32, String), Error> {
        let msg = Self::call_message(name, fields_json)?;
        self.request_json_async(&msg, timeout).await
    }

    /// The request JSON of [`CtiSession::call_json`].
    fn call_message(name: &str, fields_json: &str) -> Result<String, Error> {
        let info = request_info(name)
            .ok_or_else(|| Error::invalid(format!("{name:?} is not a request of the catalogue")))?;
        let fields = if fields_json.trim().is_empty() {
            "{}"
        } else {
            fields_json
        };
        let mut obj: serde_json::Map<String, Json> = serde_json::from_str(fields)
            .map_err(|e| Error::invalid(format!("{name} fields must be a JSON object: {e}")))?;
        obj.insert("MessageName".into(), json!(info.request));
        obj.remove("MessageType");
        Ok(Json::Object(obj).to_string())
    }

    /// Waits for the next event (`None` timeout: wait until one comes).
    /// Returns `Ok(None)` on timeout and an error of kind `Closed` once the
    /// final `SESSION_CLOSED` event has been taken.
    pub fn next_event(&self, timeout: Option<Duration>) -> Result<Option<EventOut>, Error> {
        let deadline = timeout.map(|d| std::time::Instant::now() + d);
        loop {
            if self.done.load(Ordering::Acquire) {
                return Err(Self::no_more());
            }
            let ev = match deadline {
                None => rt()?.block_on(self.events.take_next()),
                // The timer must be created inside the runtime, hence the async block.
                Some(d) => {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    match rt()?.block_on(async {
                        tokio::time::timeout(left, self.events.take_next()).await
                    }) {
                        Ok(ev) => ev,
                        Err(_) => return Ok(None),
                    }
                }
            };
            match self.render(ev)? {
                Some(out) => return Ok(Some(out)),
                None => continue,
            }
        }
    }

    fn no_more() -> Error {
        Error::new(ErrorKind::Closed, "session closed: no more events")
    }

    /// Renders a taken event; `Ok(None)` for one the bindings do not deliver.
    fn render(&self, ev: Option<CtiEvent>) -> Result<Option<EventOut>, Error> {
        match ev {
            Some(ev) => {
                let Some(out) = cti_event_into_out(ev, self.model_events) else {
                    return Ok(None);
                };
                if out.last {
                    self.done.store(true, Ordering::Release);
                }
                Ok(Some(out))
            }
            None => {
                self.done.store(true, Ordering::Release);
                Err(Self::no_more())
            }
        }
    }

    /// Takes the next deliverable event without waiting (`Ok(None)`: none queued now).
    /// An error of kind `Closed` once the final event has been taken.
    pub fn try_next_event(&self) -> Result<Option<EventOut>, Error> {
        loop {
            if self.done.load(Ordering::Acquire) {
                return Err(Self::no_more());
            }
            let ev = match self.events.try_take() {
                Ok(ev) => Some(ev),
                Err(crate::queue::TryRecvError::Empty) => return Ok(None),
                Err(crate::queue::TryRecvError::Disconnected) => None,
            };
            if let Some(out) = self.render(ev)? {
                return Ok(Some(out));
            }
        }
    }

    /// Whether an event is queued now (it may be one the bindings skip).
    pub fn has_queued_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Takes up to `max` queued events without waiting (fewer, or none, when fewer
    /// are queued). An error of kind `Closed` once the final event has been taken.
    pub fn poll_events(&self, max: usize) -> Result<Vec<EventOut>, Error> {
        let mut out = Vec::new();
        let mut taken = Vec::new();
        while out.len() < max {
            if self.done.load(Ordering::Acquire) {
                if out.is_empty() {
                    return Err(Self::no_more());
                }
                break;
            }
            taken.clear();
            match self.events.try_recv_many(&mut taken, max - out.len()) {
                None => {
                    if out.is_empty() {
                        return self.render(None).map(|_| Vec::new());
                    }
                    break;
                }
                Some(0) => break,
                Some(_) => {
                    for ev in taken.drain(..) {
                        if let Some(o) = self.render(Some(ev))? {
                            out.push(o);
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Waits until at least one deliverable event is queued (at most `timeout`, `None`:
    /// no limit), then takes up to `max` without waiting more: the batch of everything
    /// that arrived together. An empty batch means the timeout passed; an error of kind
    /// `Closed` once the final event has been taken.
    pub async fn next_events_async(
        &self,
        max: usize,
        timeout: Option<Duration>,
    ) -> Result<Vec<EventOut>, Error> {
        let max = max.max(1);
        let deadline = timeout.map(|d| tokio::time::Instant::now() + d);
        loop {
            let batch = self.poll_events(max)?;
            if !batch.is_empty() {
                return Ok(batch);
            }
            let ev = match deadline {
                None => self.events.take_next().await,
                Some(d) => match tokio::time::timeout_at(d, self.events.take_next()).await {
                    Ok(ev) => ev,
                    Err(_) => return Ok(Vec::new()),
                },
            };
            if let Some(first) = self.render(ev)? {
                let mut batch = Vec::with_capacity(max.min(64));
                let last = first.last;
                batch.push(first);
                if !last && max > 1 {
                    match self.poll_events(max - 1) {
                        Ok(more) => batch.extend(more),
                        Err(e) if e.kind == ErrorKind::Closed => {}
                        Err(e) => return Err(e),
                    }
                }
                return Ok(batch);
            }
        }
    }

    /// Calls `waker` whenever an event lands in the empty queue (and when the queue
    /// ends); for dispatchers and event-loop integration. The waker must be quick and
    /// must not call back into the session.
    pub fn set_event_waker(&self, waker: impl Fn() + Send + Sync + 'static) {
        self.events.set_waker(waker);
    }

    /// Whether the final `SESSION_CLOSED` event has been taken.
    pub fn events_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Depth, high-water mark and drops of the session's event queue.
    pub fn queue_stats(&self) -> QueueStats {
        self.conn.queue_stats()
    }

    /// [`CtiSession::queue_stats`] as JSON (see [`queue_stats_json`]).
    pub fn queue_stats_json(&self) -> String {
        queue_stats_json(&self.queue_stats())
    }

    /// Closes the session: CLOSE_REQ, then at most the close timeout (5 s) for
    /// CLOSE_CONF; stops reconnecting. Returns the SESSION_CLOSED JSON. Safe to call
    /// more than once.
    /// Events still queued when the close completes are dropped (and counted in
    /// [`CtiSession::queue_stats`]); the final `SESSION_CLOSED` stays to be taken.
    /// Returns within the close timeout plus a small constant whatever the peer does.
    pub fn close(&self) -> Result<String, Error> {
        rt()?.block_on(self.close_async())
    }

    /// [`CtiSession::close`] as a future.
    pub async fn close_async(&self) -> Result<String, Error> {
        let reason = self.conn.close().await;
        self.events
            .discard_where(|ev| !matches!(ev, CtiEvent::Closed(_)));
        Ok(close_json(&reason).to_string())
    }
}

/// Decodes one whole message (header included) at `version` into (type, JSON), strictly.
pub fn decode_json(bytes: &[u8], version: u32) -> Result<(u32, String), Error> {
    decode_json_with(bytes, version, true)
}

/// [`decode_json`] choosing the reading: `strict` refuses a count mismatch or a wrongly
/// sized field; tolerant keeps them and lists them in the JSON's `_warnings`.
pub fn decode_json_with(bytes: &[u8], version: u32, strict: bool) -> Result<(u32, String), Error> {
    let opts = codec::DecodeOptions::with_strict(strict);
    let m = codec::decode_with_options(bytes, version, opts)?;
    Ok((m.msg_type(), cjson::to_json_string(&m)))
}

/// Encodes a message given as JSON at `version` (header included).
pub fn encode_json(msg_json: &str, version: u32) -> Result<Vec<u8>, Error> {
    let m = cjson::from_json_str(msg_json, version)?;
    Ok(codec::encode(&m, version)?.to_vec())
}

/// Splits a byte stream (partial TCP reads) into messages and decodes them to JSON.
pub struct StreamDecoder {
    version: u32,
    splitter: codec::FrameSplitter,
}

impl StreamDecoder {
    /// A decoder for a session at `version` (15..=25).
    pub fn new(version: u32) -> Result<Self, Error> {
        codec::check_version(version)?;
        Ok(StreamDecoder {
            version,
            splitter: codec::FrameSplitter::new(),
        })
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.splitter.push(bytes);
    }

    /// The next whole message as (type, JSON), `Ok(None)` when more bytes are needed.
    /// A framing error (length over 12,492) breaks the stream for good; a message that
    /// cannot be decoded is an error for that message only.
    // Not an Iterator: each step can fail, and "no message yet" is not the end.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<(u32, String)>, Error> {
        let Some(frame) = self.splitter.next_frame()? else {
            return Ok(None);
        };
        let m = codec::decode_frame(&frame, self.version, codec::DecodeOptions::default())?;
        Ok(Some((m.msg_type(), cjson::to_json_string(&m))))
    }

    /// Bytes buffered while waiting for the rest of a message.
    pub fn pending(&self) -> usize {
        self.splitter.pending()
    }
}
