//! The Generic Connector client and simulator behind a blocking JSON API
//! (shared by the C ABI, Python and Node bindings).
//!
//! Commands are JSON objects tagged by `command` with an `agent_id`
//! (`{"command":"Login","agent_id":"1001","password":"x","extension":"4012"}`; see
//! [`crate::gc::command::Command`]). Events are JSON objects tagged by `event`
//! (see [`crate::gc::event::EventKind`] and [`crate::gc::client::ClientEvent`]); the
//! last one of a session is `{"event":"Closed"}`.

use std::time::Duration;

use serde::Deserialize;
use std::sync::Mutex;

use serde_json::{json, Map, Value as Json};

use super::pump::{EventPump, Taken};
use super::{rt, Error, ErrorKind, Protocol};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::gc::client::{ClientConfig, ClientError, ClientEvent, GcClient, OverflowPolicy};
use crate::gc::command::{Command, CommandError};
use crate::gc::event::EventError;
use crate::gc::transport::TransportError;
use crate::queue::{QueueLimits, QueueStats};
use crate::sim::gc::broker::StompBroker;
use crate::sim::gc::{GcSimConfig, GcSimError, GcSimulator};

/// The `broker` value that makes [`GcSim::start`] run its own in-memory STOMP broker on
/// 127.0.0.1 (for demos and tests without ActiveMQ); the control action
/// `{"action":"broker"}` then gives its address for the sessions.
pub const EMBEDDED_BROKER: &str = "embedded";

impl From<CommandError> for Error {
    fn from(e: CommandError) -> Self {
        Error::new(ErrorKind::InvalidArgument, e.to_string()).with_protocol(Protocol::Gc)
    }
}

impl From<EventError> for Error {
    fn from(e: EventError) -> Self {
        Error::new(ErrorKind::Codec, e.to_string()).with_protocol(Protocol::Gc)
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        let kind = match &e {
            TransportError::Io { .. } => ErrorKind::Io,
            TransportError::Timeout { .. } => ErrorKind::Timeout,
            TransportError::Broker { .. } => ErrorKind::Refused,
            TransportError::Protocol { .. } => ErrorKind::Protocol,
            TransportError::Closed => ErrorKind::Closed,
            TransportError::Tls { error, .. } => {
                let mut out = Error::from(error.clone());
                out.message = e.to_string();
                return out;
            }
        };
        Error::new(kind, e.to_string()).with_protocol(Protocol::Gc)
    }
}

impl From<ClientError> for Error {
    fn from(e: ClientError) -> Self {
        match e {
            // No broker link: it is being re-established; nothing was sent.
            ClientError::NotConnected(_) => {
                Error::new(ErrorKind::Disconnected, e.to_string()).with_protocol(Protocol::Gc)
            }
            // The client task is behind: nothing was sent; try again later.
            ClientError::QueueFull { .. } => {
                Error::new(ErrorKind::QueueFull, e.to_string()).with_protocol(Protocol::Gc)
            }
            ClientError::Command(c) => c.into(),
            ClientError::Config(_) => {
                Error::new(ErrorKind::InvalidArgument, e.to_string()).with_protocol(Protocol::Gc)
            }
            ClientError::Transport(t) => t.into(),
            ClientError::Closed => {
                Error::new(ErrorKind::Closed, e.to_string()).with_protocol(Protocol::Gc)
            }
        }
    }
}

impl From<GcSimError> for Error {
    fn from(e: GcSimError) -> Self {
        match e {
            GcSimError::Invalid(_) => {
                Error::new(ErrorKind::InvalidArgument, e.to_string()).with_protocol(Protocol::Gc)
            }
            GcSimError::Broker(t) => t.into(),
            GcSimError::NotConnected => {
                Error::new(ErrorKind::Io, e.to_string()).with_protocol(Protocol::Gc)
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Brokers {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GcConfigJson {
    #[serde(default)]
    destination: Option<String>,
    #[serde(alias = "broker")]
    brokers: Brokers,
    #[serde(default)]
    broker_login: Option<String>,
    #[serde(default, deserialize_with = "crate::gc::command::de_opt_secret")]
    broker_passcode: Option<crate::ece::Secret>,
    #[serde(default)]
    request_queue: Option<String>,
    #[serde(default)]
    hello_key: Option<String>,
    heartbeat_ms: Option<u64>,
    heartbeat_misses: Option<u32>,
    use_beat: Option<bool>,
    relogin_attempts: Option<u32>,
    connect_timeout_ms: Option<u64>,
    receipt_timeout_ms: Option<u64>,
    stomp_heartbeat_ms: Option<u64>,
    reconnect_min_ms: Option<u64>,
    reconnect_max_ms: Option<u64>,
    #[serde(default)]
    properties: Map<String, Json>,
    event_queue: Option<usize>,
    command_queue: Option<usize>,
    overflow: Option<OverflowJson>,
    close_timeout_ms: Option<u64>,
    tls: Option<crate::tls::TlsConfig>,
    #[serde(default)]
    trace: bool,
    trace_file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OverflowJson {
    #[serde(alias = "backpressure")]
    BackPressure,
    Close,
}

/// The default client destination: `<host name>-<pid>`, reduced to characters that
/// are safe in a topic name and a GC parameter (A19).
pub fn default_destination() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "cce".into());
    let clean: String = host
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let clean = if clean.is_empty() {
        "cce".into()
    } else {
        clean
    };
    format!("{clean}-{}", std::process::id())
}

/// Parses a GC client configuration. Keys: `brokers` (or `broker`: "host:port" or a
/// list, local site first; required), `destination` (default `<host>-<pid>`),
/// `broker_login`, `broker_passcode`, `request_queue` (default `Connector1`),
/// `hello_key`, `heartbeat_ms` (10000), `heartbeat_misses` (3), `use_beat` (true),
/// `relogin_attempts` (3), `connect_timeout_ms` (5000), `receipt_timeout_ms` (5000),
/// `stomp_heartbeat_ms` (5000, 0: off), `reconnect_min_ms` (200), `reconnect_max_ms`
/// (10000), `properties` (extra JMS string properties on every request),
/// `event_queue` (10000 events), `command_queue` (1000 commands), `overflow`
/// (`"back_pressure"`: stop reading the broker while the event queue is full, or
/// `"close"`: end with an `Overrun` event), `close_timeout_ms` (2000), `trace` (true:
/// every STOMP frame as an INFO record under the target `libcce::wire`) and `trace_file`
/// (a path: JSON lines appended there; wins over `trace`).
pub fn gc_config_from_json(text: &str) -> Result<ClientConfig, Error> {
    let v = super::config_json::parse(text, "GC config", &[])?;
    let j: GcConfigJson =
        serde_json::from_value(v).map_err(|e| Error::invalid(format!("GC config: {e}")))?;
    let brokers = match j.brokers {
        Brokers::One(b) => vec![b],
        Brokers::Many(v) => v,
    };
    let destination = j.destination.unwrap_or_else(default_destination);
    let mut cfg = ClientConfig::new(destination, brokers);
    for b in &mut cfg.brokers {
        b.login.clone_from(&j.broker_login);
        b.passcode.clone_from(&j.broker_passcode);
    }
    if let Some(q) = j.request_queue {
        cfg.request_queue = q;
    }
    cfg.session.hello_key = j.hello_key;
    let ms = Duration::from_millis;
    if let Some(v) = j.heartbeat_ms {
        cfg.session.heartbeat_interval = ms(v);
    }
    if let Some(v) = j.heartbeat_misses {
        cfg.session.heartbeat_misses = v;
    }
    if let Some(v) = j.use_beat {
        cfg.session.use_beat = v;
    }
    if let Some(v) = j.relogin_attempts {
        cfg.session.relogin_attempts = v;
    }
    if let Some(v) = j.connect_timeout_ms {
        cfg.link.connect_timeout = ms(v);
    }
    if let Some(v) = j.receipt_timeout_ms {
        cfg.link.receipt_timeout = ms(v);
    }
    if let Some(v) = j.stomp_heartbeat_ms {
        cfg.link.heartbeat = ms(v);
    }
    if let Some(v) = j.reconnect_min_ms {
        cfg.reconnect_min = ms(v);
    }
    if let Some(v) = j.reconnect_max_ms {
        cfg.reconnect_max = ms(v);
    }
    if let Some(v) = j.event_queue {
        cfg.queues.events = v;
    }
    if let Some(v) = j.command_queue {
        cfg.queues.commands = v;
    }
    if let Some(v) = j.overflow {
        cfg.queues.overflow = match v {
            OverflowJson::BackPressure => OverflowPolicy::BackPressure,
            OverflowJson::Close => OverflowPolicy::Close,
        };
    }
    if let Some(v) = j.close_timeout_ms {
        cfg.queues.close_timeout = ms(v);
        cfg.link.close_timeout = ms(v);
    }
    if let Some(path) = &j.trace_file {
        cfg.link.trace = crate::cti::trace::WireTrace::file(path)
            .map_err(|e| Error::new(ErrorKind::Io, format!("trace_file {path:?}: {e}")))?;
    } else if j.trace {
        cfg.link.trace = crate::cti::trace::WireTrace::Log;
    }
    if let Some(t) = &j.tls {
        t.validate()?;
    }
    cfg.link.tls = j.tls;
    for (k, v) in j.properties {
        let v = v
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::invalid(format!("GC config: property {k:?} must be a string")))?;
        cfg.properties.push((k, v));
    }
    cfg.validate().map_err(Error::from)?;
    Ok(cfg)
}

/// Splits a command JSON into (agent ID, command). `agent_id` is required except for
/// `Hello`/`Beat`.
pub fn command_from_json(text: &str) -> Result<(String, Command), Error> {
    let mut v: Json =
        serde_json::from_str(text).map_err(|e| Error::invalid(format!("GC command: {e}")))?;
    let obj = v
        .as_object_mut()
        .ok_or_else(|| Error::invalid("GC command: expected a JSON object"))?;
    let agent = match obj.remove("agent_id") {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => s,
        Some(other) => {
            return Err(Error::invalid(format!(
                "GC command: agent_id must be a string, got {other}"
            )))
        }
    };
    let cmd: Command =
        serde_json::from_value(v).map_err(|e| Error::invalid(format!("GC command: {e}")))?;
    if agent.is_empty() && !cmd.is_system() {
        return Err(Error::invalid(format!(
            "GC command {}: agent_id is required",
            cmd.wire_name()
        )));
    }
    Ok((agent, cmd))
}

/// Encodes a command JSON to its wire form without sending it: returns
/// `(JMSType, body)`. For `Hello`/`Beat` give the destination as `agent_id`.
pub fn gc_encode_command(command_json: &str) -> Result<(String, String), Error> {
    let (key, cmd) = command_from_json(command_json)?;
    let r = cmd.encode(&key)?;
    Ok((r.jms_type, r.body))
}

/// Parses one GC message body (as received) to a JSON array of events.
pub fn gc_parse_event(body: &[u8], jms_type: Option<&str>) -> Result<String, Error> {
    let events = crate::gc::event::parse_bytes(body, jms_type)?;
    Ok(Json::Array(events.iter().map(|e| e.to_json()).collect()).to_string())
}

/// One event for the bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcEventOut {
    /// The event as JSON.
    pub json: String,
    /// True for `{"event":"Closed"}`, the last event.
    pub last: bool,
}

/// A GC client with a blocking API.
pub struct GcSession {
    client: GcClient,
    events: EventPump<ClientEvent>,
    /// Set by [`GcSession::close`]: the next event is `Closed`; what is still queued
    /// is dropped (and counted).
    closing: AtomicBool,
    /// The final `Closed` was handed out after a close.
    finished: AtomicBool,
}

fn gc_event_size(_: &ClientEvent) -> usize {
    // GC events are short lines of text; a flat charge keeps the bound meaningful.
    std::mem::size_of::<ClientEvent>() + 256
}

fn gc_event_last(ev: &ClientEvent) -> bool {
    matches!(ev, ClientEvent::Closed)
}

impl GcSession {
    /// Connects from a JSON configuration (see [`gc_config_from_json`]): returns once a
    /// broker link is up (each broker tried once) and `Hello` is sent.
    pub fn open(config_json: &str) -> Result<Self, Error> {
        rt()?.block_on(Self::open_async(config_json))
    }

    /// [`GcSession::open`] as a future (run it on the library runtime, e.g. through
    /// [`super::tasks::spawn`]).
    pub async fn open_async(config_json: &str) -> Result<Self, Error> {
        let cfg = gc_config_from_json(config_json)?;
        let (client, events) = GcClient::connect(cfg).await?;
        let events =
            EventPump::start(events, QueueLimits::default(), gc_event_size, gc_event_last)?;
        Ok(GcSession {
            client,
            events,
            closing: AtomicBool::new(false),
            finished: AtomicBool::new(false),
        })
    }

    /// The underlying async client.
    pub fn client(&self) -> &GcClient {
        &self.client
    }

    /// Sends a command given as JSON; returns once the broker has it. Fails with
    /// `InvalidArgument` for a bad command (e.g. a parameter with `,` `#` `|`, or a
    /// transfer without target and no active consult on that dialog), `Disconnected`
    /// while no broker link is up (nothing sent; retry once `Connected`), `QueueFull`
    /// when the command queue is full (nothing sent), and `Timeout` when the broker
    /// did not confirm in time: the outcome is then unknown (GC may still execute it).
    pub fn send_json(&self, command_json: &str) -> Result<(), Error> {
        rt()?.block_on(self.send_json_async(command_json))
    }

    /// [`GcSession::send_json`] as a future.
    pub async fn send_json_async(&self, command_json: &str) -> Result<(), Error> {
        let (agent, cmd) = command_from_json(command_json)?;
        self.client.send(&agent, cmd).await?;
        Ok(())
    }

    /// `{"broker": "host:port" | null, "gc": "InService" | ..., "events_queued": n,
    /// "events_high_water": n, "events_dropped": n}`.
    pub fn state_json(&self) -> String {
        let s = self.client.state();
        let pump = self.events.stats();
        let stats = self.client.queue_stats();
        json!({"broker": s.broker, "gc": s.gc, "events_queued": pump.depth_events,
               "events_high_water": stats.high_water().max(pump.high_water_events),
               "events_dropped": stats.dropped() + pump.dropped})
        .to_string()
    }

    /// Waits for the next event (`None`: until one comes). `Ok(None)` on timeout; an
    /// error of kind `Closed` once `{"event":"Closed"}` has been taken.
    pub fn next_event(&self, timeout: Option<Duration>) -> Result<Option<GcEventOut>, Error> {
        if let Some(closed) = self.after_close() {
            return closed;
        }
        Self::out(self.events.next(timeout)?)
    }

    /// Waits until at least one event is queued (at most `timeout`; `None`: no
    /// limit), then takes up to `max` without waiting more. An empty batch means the
    /// timeout passed; an error of kind `Closed` once `{"event":"Closed"}` was taken.
    pub async fn next_events_async(
        &self,
        max: usize,
        timeout: Option<Duration>,
    ) -> Result<Vec<GcEventOut>, Error> {
        let first = match self.after_close() {
            Some(closed) => closed?,
            None => Self::out(self.events.next_async(timeout).await?)?,
        };
        let Some(first) = first else {
            return Ok(Vec::new());
        };
        let mut batch = vec![first];
        while batch.len() < max && !batch.last().is_some_and(|e| e.last) {
            match self.try_next_event() {
                Ok(Some(ev)) => batch.push(ev),
                Ok(None) => break,
                Err(e) if e.kind == ErrorKind::Closed => break,
                Err(e) => return Err(e),
            }
        }
        Ok(batch)
    }

    /// After [`GcSession::close`]: drops (and counts) what is still queued and hands
    /// out `Closed` once, then the `Closed` error. `None` while the session is open.
    fn after_close(&self) -> Option<Result<Option<GcEventOut>, Error>> {
        if !self.closing.load(Ordering::Acquire) {
            return None;
        }
        if self.finished.swap(true, Ordering::AcqRel) {
            return Some(Self::out(Taken::Ended));
        }
        let mut left = 0u64;
        while let Taken::Event(ev) = self.events.try_next() {
            if gc_event_last(&ev) {
                break;
            }
            left += 1;
        }
        self.client.queue_stats().add_dropped(left);
        Some(Self::out(Taken::Event(ClientEvent::Closed)))
    }

    fn out(taken: Taken<ClientEvent>) -> Result<Option<GcEventOut>, Error> {
        match taken {
            Taken::Event(ev) => Ok(Some(GcEventOut {
                json: ev.to_json().to_string(),
                last: gc_event_last(&ev),
            })),
            Taken::Nothing => Ok(None),
            Taken::Ended => Err(Error::new(
                ErrorKind::Closed,
                "GC session closed: no more events",
            )),
        }
    }

    /// Takes the next event without waiting (`Ok(None)`: none queued now).
    pub fn try_next_event(&self) -> Result<Option<GcEventOut>, Error> {
        if let Some(closed) = self.after_close() {
            return closed;
        }
        Self::out(self.events.try_next())
    }

    /// Whether an event is queued now.
    pub fn has_queued_events(&self) -> bool {
        (self.closing.load(Ordering::Acquire) && !self.finished.load(Ordering::Acquire))
            || self.events.has_queued()
    }

    /// Calls `waker` whenever an event lands in the empty queue (and when it ends).
    pub fn set_event_waker(&self, waker: impl Fn() + Send + Sync + 'static) {
        self.events.set_waker(waker);
    }

    /// Depth, high-water mark and drops of the session's event queue.
    pub fn queue_stats(&self) -> QueueStats {
        self.events.stats()
    }

    /// Closes the broker link within the close timeout plus a small constant; the
    /// next event is then `{"event":"Closed"}` and events still queued are dropped
    /// (counted in `events_dropped`). Safe to call more than once.
    pub fn close(&self) -> Result<(), Error> {
        rt()?.block_on(self.close_async())
    }

    /// [`GcSession::close`] as a future.
    pub async fn close_async(&self) -> Result<(), Error> {
        self.client.close().await;
        self.closing.store(true, Ordering::Release);
        Ok(())
    }
}

/// The GC simulator with a blocking API.
pub struct GcSim {
    sim: Mutex<Option<GcSimulator>>,
    /// The in-memory broker started for `"broker":"embedded"`; stopped with the simulator.
    broker: Mutex<Option<StompBroker>>,
    /// The broker the simulator sits on ("host:port").
    broker_addr: String,
}

impl GcSim {
    /// Starts a simulator from a JSON configuration (see
    /// [`crate::sim::gc::GcSimConfig`]; `broker` required: "host:port", or
    /// [`EMBEDDED_BROKER`] for an in-memory broker of its own).
    pub fn start(config_json: &str) -> Result<Self, Error> {
        let text =
            super::config_json::normalized_text(config_json, "GC simulator config", &["agents"])?;
        let mut cfg = GcSimConfig::from_json(&text)?;
        let rt = rt()?;
        let broker = if cfg.broker == EMBEDDED_BROKER {
            let b = rt
                .block_on(StompBroker::start("127.0.0.1:0"))
                .map_err(|e| Error::new(ErrorKind::Io, format!("embedded STOMP broker: {e}")))?;
            cfg.broker = b.local_addr().to_string();
            Some(b)
        } else {
            None
        };
        let broker_addr = cfg.broker.clone();
        // On failure the embedded broker is dropped, which stops it.
        let sim = rt.block_on(GcSimulator::start(cfg))?;
        Ok(GcSim {
            sim: Mutex::new(Some(sim)),
            broker: Mutex::new(broker),
            broker_addr,
        })
    }

    /// The broker the simulator sits on ("host:port"; the in-memory one's for
    /// [`EMBEDDED_BROKER`]).
    pub fn broker_addr(&self) -> &str {
        &self.broker_addr
    }

    /// Performs a control action given as JSON (see [`GcSimulator::control`]);
    /// returns its JSON result. `{"action":"broker"}` gives the broker the simulator is
    /// on as a JSON string (`"host:port"`).
    pub fn control(&self, action_json: &str) -> Result<String, Error> {
        let action = serde_json::from_str::<Json>(action_json)
            .ok()
            .and_then(|v| v.get("action").and_then(Json::as_str).map(str::to_owned));
        if action.as_deref() == Some("broker") {
            return Ok(json!(self.broker_addr).to_string());
        }
        let guard = self.sim.lock().unwrap_or_else(|p| p.into_inner());
        let sim = guard
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::Closed, "GC simulator stopped"))?;
        Ok(sim.control(action_json)?.to_string())
    }

    /// Stops the simulator. Fails if already stopped.
    pub fn stop(&self) -> Result<(), Error> {
        let sim = self
            .sim
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| Error::new(ErrorKind::Closed, "GC simulator already stopped"))?;
        let broker = self.broker.lock().unwrap_or_else(|p| p.into_inner()).take();
        let rt = rt()?;
        rt.block_on(sim.stop());
        if let Some(b) = broker {
            rt.block_on(b.stop());
        }
        Ok(())
    }
}

impl Drop for GcSim {
    fn drop(&mut self) {
        let sim = self.sim.get_mut().ok().and_then(Option::take);
        let broker = self.broker.get_mut().ok().and_then(Option::take);
        if sim.is_none() && broker.is_none() {
            return;
        }
        if let Ok(rt) = crate::runtime::runtime() {
            rt.spawn(async move {
                if let Some(sim) = sim {
                    sim.stop().await;
                }
                if let Some(b) = broker {
                    b.stop().await;
                }
            });
        }
        // Dropping the broker (if any) stops it.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gc::transport::BrokerAddr;

    #[test]
    fn embedded_broker_serves_a_client_and_stops_with_the_simulator() {
        let sim = GcSim::start(r#"{"broker":"embedded"}"#).expect("sim");
        // The one address action; the former `broker_address` is gone.
        assert!(sim.control(r#"{"action":"broker_address"}"#).is_err());
        let addr: String =
            serde_json::from_str(&sim.control(r#"{"action":"broker"}"#).expect("addr"))
                .expect("address as a JSON string");
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        let cfg = format!(r#"{{"broker":"{addr}","destination":"emb-1"}}"#);
        let session = GcSession::open(&cfg).expect("client reaches the embedded broker");
        session.close().expect("close");
        sim.stop().expect("stop");
        assert!(
            std::net::TcpStream::connect(&addr).is_err(),
            "broker still listening"
        );
    }

    #[test]
    fn config_and_commands() {
        let cfg = gc_config_from_json(
            r#"{"broker":"127.0.0.1:61613","destination":"crm-1","heartbeat_ms":500,"properties":{"category":"x"}}"#,
        )
        .expect("config");
        assert_eq!(cfg.brokers, vec![BrokerAddr::new("127.0.0.1:61613")]);
        assert_eq!(cfg.session.heartbeat_interval, Duration::from_millis(500));
        assert_eq!(cfg.properties, vec![("category".into(), "x".into())]);
        let e = gc_config_from_json(r#"{"broker":"h:1","destination":"a#b"}"#).expect_err("bad");
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        let e = gc_config_from_json(r#"{"brokers":[],"destination":"a"}"#).expect_err("none");
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(default_destination().chars().all(|c| !",#|/ ".contains(c)));

        assert_eq!(
            gc_encode_command(
                r#"{"command":"Login","agent_id":"1001","password":"pw","extension":"4012"}"#
            ),
            Ok(("Login#1001".into(), "pw,4012".into()))
        );
        assert_eq!(
            gc_encode_command(r#"{"command":"Hello","agent_id":"crm-1"}"#),
            Ok(("Hello#crm-1".into(), String::new()))
        );
        let e = gc_encode_command(r#"{"command":"MakeCall","agent_id":"1001","number":"1,2"}"#)
            .expect_err("separator");
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(e.message.contains("must not contain"), "{}", e.message);
        let e = command_from_json(r#"{"command":"MakeReady"}"#).expect_err("no agent");
        assert!(e.message.contains("agent_id is required"));
        let e = command_from_json(r#"{"command":"Nope","agent_id":"1"}"#).expect_err("unknown");
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
    }

    #[test]
    fn simulator_on_its_embedded_broker() {
        let sim = GcSim::start(r#"{"broker":"embedded","request_queue":"Connector-embedded"}"#)
            .expect("start");
        let addr: String =
            serde_json::from_str(&sim.control(r#"{"action":"broker"}"#).expect("addr"))
                .expect("address as a JSON string");
        assert_eq!(addr, sim.broker_addr());
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        let cfg = json!({"broker": addr, "destination": "api-embedded", "request_queue": "Connector-embedded"});
        let gc = GcSession::open(&cfg.to_string()).expect("open");
        gc.send_json(
            r#"{"command":"Login","agent_id":"1001","password":"secret","extension":"4001"}"#,
        )
        .expect("login");
        let mut states = Vec::new();
        while let Some(ev) = gc.next_event(Some(Duration::from_secs(10))).expect("event") {
            let v: Json = serde_json::from_str(&ev.json).expect("json");
            if v["event"] == "State" {
                states.push(v["state"].as_str().unwrap_or_default().to_owned());
                break;
            }
            assert!(!ev.last, "closed before the agent's state: {}", ev.json);
        }
        assert_eq!(states, ["NOT_READY"]);
        gc.close().expect("close");
        sim.stop().expect("stop");
        let again = sim.control(r#"{"action":"agent_state","agent_id":"1001"}"#);
        assert_eq!(again.expect_err("stopped").kind, ErrorKind::Closed);
    }

    #[test]
    fn parse_to_json() {
        let j = gc_parse_event(b"1001#State#READY#Al", None).expect("parse");
        let v: Json = serde_json::from_str(&j).expect("json");
        assert_eq!(v[0]["event"], "State");
        assert_eq!(v[0]["state"], "READY");
        let e = gc_parse_event(b"{bad", None).expect_err("bad");
        assert_eq!(e.kind, ErrorKind::Codec);
    }
}
