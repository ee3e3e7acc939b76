//! A CTI connection that survives server failures: side A/B failover with the
//! guide's reconnect schedule, active/standby handover (protocol 24+), and the live
//! agent/call model kept current across reconnects.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cce::cti::connection::{ConnectionConfig, CtiConnection, CtiEvent};
//! use cce::cti::session::SessionConfig;
//! let mut session = SessionConfig::new("my-bridge", 24);
//! session.services = cce::cti::spec::constant("CTI Service Masks", "CTI_SERVICE_ALL_EVENTS").unwrap_or(0);
//! let cfg = ConnectionConfig::new(session, "cti-a.example:42027").with_side_b("cti-b.example:42027");
//! let (conn, mut events) = CtiConnection::connect(cfg).await?;
//! while let Some(ev) = events.recv().await {
//!     match ev {
//!         CtiEvent::Connection(state) => println!("link: {state:?}"),
//!         CtiEvent::Message(m) => println!("{}", m.name()),
//!         CtiEvent::Closed(_) => break,
//!         _ => {}
//!     }
//! }
//! # drop(conn); Ok(()) }
//! ```
//!
//! Requests go to the side that is currently active. While the link is down they
//! fail at once with [`RequestError::NotConnected`]; requests in flight when it drops
//! fail with [`RequestError::ConnectionLost`] (the server may or may not have acted
//! on them). Nothing is retried behind the application's back.

use super::event::Event;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::client::{Client, ClientEvent, Events};
use super::codec::{CodecError, Message};
use super::model::{Change, Model};
use super::reconnect::{ReconnectPolicy, ReconnectSchedule, Side, Step};
use super::session::{
    CloseReason, CtiStatus, RequestError, SessionConfig, SessionError, SESSION_ACTIVE,
    SESSION_STANDBY,
};
use super::typed::TypedMessage;
use crate::queue::{self, OverrunPolicy, PushError, QueueCounters, QueueLimits, QueueStats};

/// Most events held between a session's socket task and the connection's manager
/// (the application's queue, [`SessionConfig::event_queue`], comes after it): more than
/// one read brings, so that the socket task does not stop after each event it hands over.
const INTERNAL_QUEUE_EVENTS: usize = 1024;

/// The internal hop's bound: a quarter of the application's (at least 64 events, at
/// most [`INTERNAL_QUEUE_EVENTS`], never more than the application's own bound), so that
/// a session holds at most 1.25 times its configured queue.
fn hop_limits(app: QueueLimits) -> QueueLimits {
    QueueLimits {
        max_events: (app.max_events / 4)
            .clamp(64, INTERNAL_QUEUE_EVENTS)
            .min(app.max_events),
        max_bytes: (app.max_bytes / 4).max(64 * 1024).min(app.max_bytes),
    }
}

/// Most events the manager forwards before handing them to the application.
const FORWARD_BATCH: usize = 256;

/// Whether the manager forwards `ev` as it is (no failover or maintenance step).
fn is_plain(ev: &ClientEvent) -> bool {
    match ev {
        ClientEvent::Closed(_) => false,
        ClientEvent::Message(m) => !matches!(
            m.name(),
            "ACTIVE_MAINTENANCE_EVENT_MSG" | "STANDBY_ACTIVE_EVENT_MSG"
        ),
        _ => true,
    }
}
use crate::tls::TlsConfig;

/// Settings of a failover connection.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// The session settings (the same OPEN_REQ is sent on every (re)connect).
    pub session: SessionConfig,
    /// Side A address ("host:port").
    pub side_a: String,
    /// Side B address, for a duplex pair.
    pub side_b: Option<String>,
    /// The reconnect schedule (conventions.md section 12).
    pub reconnect: ReconnectPolicy,
    /// Time allowed for one TCP connect attempt (the guide gives none).
    pub connect_timeout: Duration,
    /// Reconnect after a failure (true), or end with [`CtiEvent::Closed`] (false).
    pub auto_reconnect: bool,
    /// After a reconnect, how long the server has to re-announce calls in progress
    /// (BEGIN_CALL_EVENTs) before the model drops the calls it did not re-announce.
    pub resync_window: Duration,
    /// Deliver [`CtiEvent::Model`] changes (true by default; the model is kept
    /// current either way).
    pub model_events: bool,
    /// TLS for both sides (`None`: plain TCP). Each side's certificate is checked
    /// against that side's host unless `server_name` is set. Secured CTI Server ports
    /// default to 42030 (side A) and 43030 (side B), plus 40 x instance number.
    pub tls: Option<TlsConfig>,
}

impl ConnectionConfig {
    /// A simplex connection to `side_a` with the guide's schedule, 5 s connect
    /// timeout, reconnection on, and a 5 s resync window.
    pub fn new(session: SessionConfig, side_a: impl Into<String>) -> Self {
        ConnectionConfig {
            session,
            side_a: side_a.into(),
            side_b: None,
            reconnect: ReconnectPolicy::default(),
            connect_timeout: Duration::from_secs(5),
            auto_reconnect: true,
            resync_window: Duration::from_secs(5),
            model_events: true,
            tls: None,
        }
    }

    /// Turns TLS on for both sides.
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Adds side B of a duplex pair.
    pub fn with_side_b(mut self, side_b: impl Into<String>) -> Self {
        self.side_b = Some(side_b.into());
        self
    }

    /// The address of `side` (side A when simplex).
    pub fn address(&self, side: Side) -> &str {
        match (side, &self.side_b) {
            (Side::B, Some(b)) => b,
            _ => &self.side_a,
        }
    }

    fn duplex(&self) -> bool {
        self.side_b.is_some()
    }
}

/// A change of the link to the CTI Server.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionEvent {
    /// A session is open on `side` (after the first connect, a reconnect or a handover).
    Connected {
        /// The side.
        side: Side,
        /// Its address.
        address: String,
        /// False for the first connection, true afterwards.
        reconnected: bool,
        /// OPEN_CONF SessionType (1 active, 2 standby; v24+).
        session_type: Option<u16>,
    },
    /// The link to `side` dropped; reconnecting (unless reconnection is off).
    Disconnected {
        /// The side that was lost.
        side: Side,
        /// Why.
        reason: String,
    },
    /// One connect attempt failed (the schedule goes on).
    AttemptFailed {
        /// The side tried.
        side: Side,
        /// Why it failed.
        error: String,
    },
    /// The standby side this connection sits on became active (STANDBY_ACTIVE_EVENT).
    BecameActive {
        /// The side.
        side: Side,
    },
    /// The server rebuilt call state after a reconnect; the model now matches it.
    Resynchronized,
}

/// What the application receives from a [`CtiConnection`], in order.
#[derive(Debug, Clone, PartialEq)]
pub enum CtiEvent {
    /// An event, or a confirmation of a message sent without waiting: a handle over
    /// the received bytes (the owned form is [`Event::to_message`]).
    Message(Event),
    /// FAILURE_EVENT from the server.
    Failure(CtiStatus),
    /// A message that could not be decoded (the session goes on).
    DecodeError(CodecError),
    /// A MessageType outside the catalogue (skipped).
    Unrecognized {
        /// Its MessageType.
        msg_type: u32,
        /// Its body.
        body: bytes::Bytes,
    },
    /// The link changed.
    Connection(ConnectionEvent),
    /// The live model changed (after the message that changed it).
    Model(Vec<Change>),
    /// The connection ended for good; the last event.
    Closed(CloseReason),
}

/// Receiver of a connection's events, bounded by the session's `event_queue`
/// (see [`crate::queue`]).
pub type CtiEvents = queue::Receiver<CtiEvent>;

impl CtiEvent {
    /// Approximate memory the event holds, charged against the queue's byte bound.
    pub fn approx_bytes(&self) -> usize {
        const BASE: usize = std::mem::size_of::<CtiEvent>();
        match self {
            CtiEvent::Message(m) => BASE + m.body().len(),
            CtiEvent::Unrecognized { body, .. } => BASE + body.len(),
            CtiEvent::Model(changes) => BASE + changes.len() * 128,
            CtiEvent::DecodeError(_) | CtiEvent::Connection(_) => BASE + 64,
            CtiEvent::Failure(_) | CtiEvent::Closed(_) => BASE,
        }
    }
}

/// A typed request whose confirmation type is known (generated for every request
/// of the catalogue).
pub trait Request: TypedMessage {
    /// The confirmation the server answers with.
    type Conf: TypedMessage;
}

struct Shared {
    current: Mutex<Option<(Client, Side)>>,
    model: Mutex<Model>,
    closed: AtomicBool,
    closing: AtomicBool,
    counters: Arc<QueueCounters>,
    final_reason: Mutex<Option<CloseReason>>,
    version: u32,
    /// TLS settings for the next (re)connect.
    tls: Mutex<Option<TlsConfig>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A CTI connection with failover. Cheap to clone; all clones share it.
#[derive(Clone)]
pub struct CtiConnection {
    shared: Arc<Shared>,
    close_tx: mpsc::Sender<oneshot::Sender<CloseReason>>,
}

fn session_type(open_conf: &Message) -> Option<u16> {
    open_conf.u32("SessionType").map(|v| v as u16)
}

/// OPEN refusals that mean "this side cannot serve you now; try the other".
fn is_side_refusal(status: CtiStatus) -> bool {
    matches!(
        status.name(),
        Some(
            "E_CTI_CTI_SERVER_OFFLINE"
                | "E_CTI_INVALID_CLIENT_FOR_STANDBY"
                | "E_CTI_SERVER_NOT_MASTER"
                | "E_CTI_SERVER_IN_MAINTENANCE_MODE"
        )
    )
}

async fn connect_side(
    cfg: &ConnectionConfig,
    side: Side,
    counters: &Arc<QueueCounters>,
    tls: Option<&TlsConfig>,
) -> Result<(Client, Events), SessionError> {
    let addr = cfg.address(side);
    // The session's own queue is a short hop; the application's queue holds the bound.
    // It always blocks when full: the overrun policy is applied where the application
    // takes events (see `Worker::connected`), not on this hop.
    let mut session = cfg.session.clone();
    session.event_queue = hop_limits(session.event_queue);
    session.overrun = OverrunPolicy::Block;
    let (client, events) =
        Client::connect_with(addr, session, tls, cfg.connect_timeout, counters.clone()).await?;
    events.set_internal();
    Ok((client, events))
}

impl CtiConnection {
    /// Connects to side A, then side B (if configured), and returns once a session is
    /// open. A refusal that is not about the side (bad version, password, agent data)
    /// is returned at once; otherwise the last error when both sides failed.
    pub async fn connect(
        cfg: ConnectionConfig,
    ) -> Result<(CtiConnection, CtiEvents), SessionError> {
        cfg.session.validate()?;
        let mut sides = vec![Side::A];
        if cfg.duplex() {
            sides.push(Side::B);
        }
        let counters = Arc::new(QueueCounters::default());
        cfg.session.stats.attach_queue(counters.clone());
        let mut last_err = SessionError::NotOpen;
        let mut standby: Option<(Client, Events, Side)> = None;
        for side in sides {
            match connect_side(&cfg, side, &counters, cfg.tls.as_ref()).await {
                Ok((client, events)) => {
                    if session_type(client.open_conf()) == Some(SESSION_STANDBY)
                        && standby.is_none()
                    {
                        // Prefer the active side; keep this one in case the other fails.
                        standby = Some((client, events, side));
                        continue;
                    }
                    if let Some((sb, _, _)) = standby.take() {
                        sb.close().await;
                    }
                    return Ok(Self::start(cfg, client, events, side, counters));
                }
                Err(SessionError::OpenRefused(s)) if !is_side_refusal(s) => {
                    return Err(SessionError::OpenRefused(s))
                }
                Err(e) => last_err = e,
            }
        }
        match standby {
            Some((client, events, side)) => Ok(Self::start(cfg, client, events, side, counters)),
            None => Err(last_err),
        }
    }

    fn start(
        cfg: ConnectionConfig,
        client: Client,
        events: Events,
        side: Side,
        counters: Arc<QueueCounters>,
    ) -> (Self, CtiEvents) {
        cfg.session.stats.connected(side.name(), false);
        let mut model = Model::new();
        let first_changes = model.apply(client.open_conf());
        let shared = Arc::new(Shared {
            current: Mutex::new(Some((client.clone(), side))),
            model: Mutex::new(model),
            closed: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            counters: counters.clone(),
            final_reason: Mutex::new(None),
            version: cfg.session.version,
            tls: Mutex::new(cfg.tls.clone()),
        });
        let (app_tx, app_rx) = queue::channel(cfg.session.event_queue, counters);
        let (close_tx, close_rx) = mpsc::channel(4);
        let mut manager = Manager {
            schedule: ReconnectSchedule::with_entropy(cfg.reconnect.clone(), side, cfg.duplex()),
            cfg,
            shared: shared.clone(),
            app: app_tx,
            outbox: VecDeque::new(),
            batching: false,
            close_rx,
        };
        manager.emit(CtiEvent::Connection(ConnectionEvent::Connected {
            side,
            address: manager.cfg.address(side).to_owned(),
            reconnected: false,
            session_type: session_type(client.open_conf()),
        }));
        if !first_changes.is_empty() && manager.cfg.model_events {
            manager.emit(CtiEvent::Model(first_changes));
        }
        tokio::spawn(manager.run(client, events, side));
        (CtiConnection { shared, close_tx }, app_rx)
    }

    /// Protocol version of the sessions.
    pub fn version(&self) -> u32 {
        self.shared.version
    }

    /// Replaces the TLS settings (`None`: plain TCP). They apply from the next
    /// (re)connect on; the open session is left alone.
    pub fn set_tls(&self, tls: Option<TlsConfig>) {
        *lock(&self.shared.tls) = tls;
    }

    /// Whether a session is open right now.
    pub fn is_connected(&self) -> bool {
        lock(&self.shared.current).is_some()
    }

    /// Whether the connection has ended for good.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Whether [`CtiConnection::close`] was called or the connection ended.
    fn closing(&self) -> bool {
        self.shared.closing.load(Ordering::Acquire) || self.is_closed()
    }

    /// Depth, high-water mark and drops of the connection's event queue (every hop
    /// between the socket and the application counted together).
    pub fn queue_stats(&self) -> QueueStats {
        self.shared.counters.stats()
    }

    /// The side of the open session, if any.
    pub fn side(&self) -> Option<Side> {
        lock(&self.shared.current).as_ref().map(|(_, s)| *s)
    }

    /// The OPEN_CONF of the open session, if any.
    pub fn open_conf(&self) -> Option<Message> {
        lock(&self.shared.current)
            .as_ref()
            .map(|(c, _)| c.open_conf().clone())
    }

    /// Reads the live model.
    pub fn with_model<R>(&self, f: impl FnOnce(&Model) -> R) -> R {
        f(&lock(&self.shared.model))
    }

    fn client(&self) -> Result<Client, RequestError> {
        if self.closing() {
            return Err(RequestError::SessionClosed("connection closed".into()));
        }
        lock(&self.shared.current)
            .as_ref()
            .map(|(c, _)| c.clone())
            .ok_or_else(|| RequestError::NotConnected("reconnecting".into()))
    }

    fn lost(&self, e: RequestError) -> RequestError {
        match e {
            // A request ended by the user's close is answered "closed", not "lost".
            RequestError::SessionClosed(why) if !self.closing() => {
                RequestError::ConnectionLost(why)
            }
            other => other,
        }
    }

    /// Sends a message without waiting; returns its InvokeID (assigned when zero).
    pub fn send(&self, msg: Message) -> Result<u32, RequestError> {
        let client = self.client()?;
        client.send(msg).map_err(|e| self.lost(e))
    }

    /// Sends a request and waits for its confirmation (the configured request timeout
    /// when `timeout` is `None`).
    pub async fn request(
        &self,
        msg: Message,
        timeout: Option<Duration>,
    ) -> Result<Message, RequestError> {
        let client = self.client()?;
        client.request(msg, timeout).await.map_err(|e| self.lost(e))
    }

    /// Sends a typed request and returns its typed confirmation.
    pub async fn call<R: Request>(&self, req: &R) -> Result<R::Conf, RequestError> {
        let msg = req.to_message(self.version())?;
        let conf = self.request(msg, None).await?;
        Ok(R::Conf::from_message(&conf)?)
    }

    /// Closes the session (CLOSE_REQ) and stops reconnecting. Returns how the
    /// connection ended (also when it had already ended, e.g. after a failure with
    /// reconnection off).
    pub async fn close(&self) -> CloseReason {
        let ended = || {
            lock(&self.shared.final_reason)
                .clone()
                .unwrap_or(CloseReason::Closed)
        };
        self.shared.closing.store(true, Ordering::Release);
        let (tx, rx) = oneshot::channel();
        if self.close_tx.send(tx).await.is_err() {
            return ended();
        }
        match rx.await {
            Ok(r) => r,
            Err(_) => ended(),
        }
    }
}

struct Manager {
    cfg: ConnectionConfig,
    shared: Arc<Shared>,
    app: queue::Sender<CtiEvent>,
    /// Events that did not fit the application's queue yet (a few: the session's
    /// events are not taken while this holds anything).
    outbox: VecDeque<CtiEvent>,
    /// Forwarding a batch: hand the outbox over at its end, not per event.
    batching: bool,
    close_rx: mpsc::Receiver<oneshot::Sender<CloseReason>>,
    schedule: ReconnectSchedule,
}

enum Phase {
    /// The user asked to close.
    Close(oneshot::Sender<CloseReason>),
    /// The link dropped.
    Lost(CloseReason),
}

impl Manager {
    fn emit(&mut self, ev: CtiEvent) {
        self.outbox.push_back(ev);
        if !self.batching {
            self.flush();
        }
    }

    /// Forwards `first` and the plain events queued behind it (at most
    /// [`FORWARD_BATCH`]), then hands them to the application at once: one wake-up of
    /// its consumer per batch rather than per event. The outbox may then hold up to a
    /// batch beyond the application's bound, which it drains before reading more.
    fn forward_batch(&mut self, first: ClientEvent, events: &Events) {
        self.batching = true;
        self.forward(first);
        for _ in 0..FORWARD_BATCH {
            match events.try_take_if(is_plain) {
                Some(ev) => self.forward(ev),
                None => break,
            }
        }
        self.batching = false;
        self.flush();
    }

    /// Moves outbox events into the application's queue while there is room.
    fn flush(&mut self) {
        while let Some(ev) = self.outbox.pop_front() {
            let size = ev.approx_bytes();
            match self.app.try_push(ev, size) {
                Ok(()) | Err(PushError::Closed(_)) => {}
                Err(PushError::Full(ev)) => {
                    self.outbox.push_front(ev);
                    return;
                }
            }
        }
    }

    fn forward(&mut self, ev: ClientEvent) {
        let out = match ev {
            ClientEvent::Message(m) => {
                let changes = lock(&self.shared.model).apply_event(&m);
                self.emit(CtiEvent::Message(m));
                if changes.is_empty() || !self.cfg.model_events {
                    return;
                }
                CtiEvent::Model(changes)
            }
            ClientEvent::Failure(s) => CtiEvent::Failure(s),
            ClientEvent::DecodeError(e) => CtiEvent::DecodeError(e),
            ClientEvent::Unrecognized { msg_type, body } => {
                CtiEvent::Unrecognized { msg_type, body }
            }
            ClientEvent::Closed(r) => CtiEvent::Closed(r),
        };
        self.emit(out);
    }

    fn finish(&mut self, reason: CloseReason) {
        *lock(&self.shared.final_reason) = Some(reason.clone());
        self.shared.closed.store(true, Ordering::Release);
        *lock(&self.shared.current) = None;
        // The outbox is a few events; they and the final event go beyond the bound.
        for ev in self.outbox.drain(..) {
            let size = ev.approx_bytes();
            let _ = self.app.push_final(ev, size);
        }
        let last = CtiEvent::Closed(reason);
        let size = last.approx_bytes();
        let _ = self.app.push_final(last, size);
    }

    async fn run(mut self, mut client: Client, mut events: Events, mut side: Side) {
        loop {
            let phase = self.connected(&mut client, &mut events, &mut side).await;
            match phase {
                Phase::Close(reply) => {
                    let reason = client.close().await;
                    // Drain what arrived before CLOSE_CONF.
                    while let Ok(ev) = events.try_recv() {
                        if !matches!(ev, ClientEvent::Closed(_)) {
                            self.forward(ev);
                        }
                    }
                    self.finish(reason.clone());
                    let _ = reply.send(reason);
                    return;
                }
                Phase::Lost(reason) => {
                    *lock(&self.shared.current) = None;
                    if !self.cfg.auto_reconnect || reason == CloseReason::ConsumerOverrun {
                        self.finish(reason);
                        return;
                    }
                    let why = match &reason {
                        CloseReason::Failed(e) => e.to_string(),
                        other => format!("{other:?}"),
                    };
                    self.emit(CtiEvent::Connection(ConnectionEvent::Disconnected {
                        side,
                        reason: why,
                    }));
                    lock(&self.shared.model).begin_resync();
                    match self.reconnect().await {
                        Some((c, e, s)) => {
                            client = c;
                            events = e;
                            side = s;
                        }
                        None => return,
                    }
                }
            }
        }
    }

    /// Runs the reconnect schedule until a session opens (or the user closes).
    async fn reconnect(&mut self) -> Option<(Client, Events, Side)> {
        loop {
            match self.schedule.next_step() {
                Step::Try(s) => {
                    let tls = lock(&self.shared.tls).clone();
                    let attempt = connect_side(&self.cfg, s, &self.shared.counters, tls.as_ref());
                    tokio::select! {
                        r = attempt => match r {
                            Ok((c, e)) => {
                                self.schedule.connected(s);
                                self.install(&c, s, true);
                                return Some((c, e, s));
                            }
                            Err(err) => self.emit(CtiEvent::Connection(ConnectionEvent::AttemptFailed {
                                side: s,
                                error: err.to_string(),
                            })),
                        },
                        reply = self.close_rx.recv() => {
                            self.finish(CloseReason::Closed);
                            if let Some(r) = reply { let _ = r.send(CloseReason::Closed); }
                            return None;
                        }
                    }
                }
                Step::Wait(d) => {
                    tokio::select! {
                        () = tokio::time::sleep(d) => {}
                        reply = self.close_rx.recv() => {
                            self.finish(CloseReason::Closed);
                            if let Some(r) = reply { let _ = r.send(CloseReason::Closed); }
                            return None;
                        }
                    }
                }
            }
        }
    }

    fn install(&mut self, client: &Client, side: Side, reconnected: bool) {
        self.cfg.session.stats.connected(side.name(), reconnected);
        *lock(&self.shared.current) = Some((client.clone(), side));
        let changes = lock(&self.shared.model).apply(client.open_conf());
        self.emit(CtiEvent::Connection(ConnectionEvent::Connected {
            side,
            address: self.cfg.address(side).to_owned(),
            reconnected,
            session_type: session_type(client.open_conf()),
        }));
        if !changes.is_empty() && self.cfg.model_events {
            self.emit(CtiEvent::Model(changes));
        }
    }

    /// After a reconnect in agent mode: QUERY_AGENT_STATE_REQ, so that the model has
    /// the agent's state even if it changed while the link was down.
    fn refresh_agent(&self, client: &Client) {
        let s = &self.cfg.session;
        if s.agent_id.is_none() && s.agent_extension.is_none() && s.agent_instrument.is_none() {
            return;
        }
        let query = Message::new("QUERY_AGENT_STATE_REQ", s.version).and_then(|mut m| {
            m.set_int("PeripheralID", s.peripheral_id.into())?;
            for (field, value) in [
                ("AgentID", &s.agent_id),
                ("AgentExtension", &s.agent_extension),
                ("AgentInstrument", &s.agent_instrument),
            ] {
                if let Some(v) = value {
                    m.set_str(field, v)?;
                }
            }
            Ok(m)
        });
        let Ok(query) = query else { return };
        // Sent untracked: the confirmation then comes through the event stream, in
        // order with the events, and updates the model there (it is also delivered to
        // the application as a QUERY_AGENT_STATE_CONF message).
        if let Err(e) = client.send(query) {
            tracing::debug!("agent state refresh after reconnect not sent: {e}");
        }
    }

    /// Serves one open session until it drops or the user closes.
    async fn connected(
        &mut self,
        client: &mut Client,
        events: &mut Events,
        side: &mut Side,
    ) -> Phase {
        let resyncing = lock(&self.shared.model).is_resyncing();
        if resyncing {
            self.refresh_agent(client);
        }
        let mut resync_at = resyncing.then(|| tokio::time::Instant::now() + self.cfg.resync_window);
        // A session on the other side, opened for a maintenance handover.
        let mut handover: Option<(Client, Events, Side)> = None;
        loop {
            if !self.outbox.is_empty() && self.cfg.session.overrun == OverrunPolicy::Close {
                // The application's queue is full: end the session (no reconnect).
                let n = self.outbox.len() as u64;
                self.outbox.clear();
                self.shared.counters.add_dropped(n);
                tracing::debug!("event queue full: closing the session (overrun)");
                if let Some((c, _, _)) = handover.take() {
                    c.close().await;
                }
                client.close().await;
                return Phase::Lost(CloseReason::ConsumerOverrun);
            }
            let resync_sleep = async {
                match resync_at {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            let handover_ev = async {
                match handover.as_mut() {
                    Some((_, e, _)) => e.recv().await,
                    None => std::future::pending().await,
                }
            };
            let need = self.outbox.front().map_or(0, CtiEvent::approx_bytes);
            let waiting = !self.outbox.is_empty();
            tokio::select! {
                () = self.app.room(need), if waiting => self.flush(),
                ev = events.recv(), if !waiting => match ev {
                    None => return Phase::Lost(CloseReason::Failed(SessionError::NotOpen)),
                    Some(ClientEvent::Closed(reason)) => {
                        if let Some((c, e, s)) = handover.take() {
                            // The old side went away during a handover: move now.
                            self.switch(client, events, side, c, e, s);
                            continue;
                        }
                        return Phase::Lost(reason);
                    }
                    Some(ClientEvent::Message(m)) if m.name() == "ACTIVE_MAINTENANCE_EVENT_MSG" => {
                        let going = m.u32("MaintenanceModeStatus") == Some(1);
                        self.forward(ClientEvent::Message(m));
                        if going && self.cfg.duplex() && handover.is_none() {
                            let other = side.other();
                            let tls = lock(&self.shared.tls).clone();
                            match connect_side(&self.cfg, other, &self.shared.counters, tls.as_ref()).await {
                                Ok((c, e)) => {
                                    if session_type(c.open_conf()) == Some(SESSION_STANDBY) {
                                        handover = Some((c, e, other));
                                    } else {
                                        self.switch(client, events, side, c, e, other);
                                    }
                                }
                                Err(err) => self.emit(CtiEvent::Connection(ConnectionEvent::AttemptFailed {
                                    side: other,
                                    error: err.to_string(),
                                })),
                            }
                        }
                    }
                    Some(ClientEvent::Message(m)) if m.name() == "STANDBY_ACTIVE_EVENT_MSG" => {
                        self.forward(ClientEvent::Message(m));
                        self.emit(CtiEvent::Connection(ConnectionEvent::BecameActive { side: *side }));
                    }
                    Some(ev) => self.forward_batch(ev, events),
                },
                ev = handover_ev => match ev {
                    Some(ClientEvent::Message(m)) if m.name() == "STANDBY_ACTIVE_EVENT_MSG" => {
                        if let Some((c, e, s)) = handover.take() {
                            self.switch(client, events, side, c, e, s);
                        }
                    }
                    Some(ClientEvent::Closed(_)) | None => { handover = None; }
                    // Standby sessions carry no call traffic; ignore the rest.
                    Some(_) => {}
                },
                () = resync_sleep => {
                    resync_at = None;
                    let changes = lock(&self.shared.model).end_resync();
                    if !changes.is_empty() && self.cfg.model_events {
                        self.emit(CtiEvent::Model(changes));
                    }
                    self.emit(CtiEvent::Connection(ConnectionEvent::Resynchronized));
                }
                reply = self.close_rx.recv() => {
                    if let Some((c, _, _)) = handover.take() {
                        c.close().await;
                    }
                    return match reply {
                        Some(r) => Phase::Close(r),
                        None => Phase::Lost(CloseReason::Closed),
                    };
                }
            }
        }
    }

    /// Moves to the session on the other side: tells the old side to stop (it then
    /// closes the connection) and makes the new one current.
    fn switch(
        &mut self,
        client: &mut Client,
        events: &mut Events,
        side: &mut Side,
        new_client: Client,
        new_events: Events,
        new_side: Side,
    ) {
        let _ = client.stop_requests_to_this_side();
        *client = new_client;
        *events = new_events;
        *side = new_side;
        self.schedule.connected(new_side);
        self.install(client, new_side, true);
        if session_type(client.open_conf()) != Some(SESSION_ACTIVE) {
            self.emit(CtiEvent::Connection(ConnectionEvent::BecameActive {
                side: new_side,
            }));
        }
    }
}

/// A blocking wrapper over [`CtiConnection`] for threads outside tokio (uses the
/// library's runtime).
pub struct BlockingConnection {
    conn: CtiConnection,
    events: CtiEvents,
}

impl BlockingConnection {
    /// Connects (see [`CtiConnection::connect`]).
    pub fn connect(cfg: ConnectionConfig) -> Result<Self, SessionError> {
        let rt = crate::runtime::runtime()
            .map_err(|e| SessionError::ConnectionLost(format!("runtime: {e}")))?;
        let (conn, events) = rt.block_on(CtiConnection::connect(cfg))?;
        Ok(BlockingConnection { conn, events })
    }

    /// The async connection (to share with async code).
    pub fn connection(&self) -> &CtiConnection {
        &self.conn
    }

    fn rt(&self) -> Result<&'static tokio::runtime::Runtime, RequestError> {
        crate::runtime::runtime().map_err(|e| RequestError::NotConnected(format!("runtime: {e}")))
    }

    /// Sends a request and waits for its confirmation.
    pub fn request(
        &self,
        msg: Message,
        timeout: Option<Duration>,
    ) -> Result<Message, RequestError> {
        self.rt()?.block_on(self.conn.request(msg, timeout))
    }

    /// Sends a typed request and waits for its typed confirmation.
    pub fn call<R: Request>(&self, req: &R) -> Result<R::Conf, RequestError> {
        self.rt()?.block_on(self.conn.call(req))
    }

    /// Waits up to `timeout` (forever when `None`) for the next event; `None` on timeout
    /// or after the last event.
    pub fn next_event(&self, timeout: Option<Duration>) -> Option<CtiEvent> {
        let rt = self.rt().ok()?;
        rt.block_on(async {
            match timeout {
                Some(t) => tokio::time::timeout(t, self.events.take_next())
                    .await
                    .ok()
                    .flatten(),
                None => self.events.take_next().await,
            }
        })
    }

    /// Closes the connection.
    pub fn close(&self) -> CloseReason {
        match self.rt() {
            Ok(rt) => rt.block_on(self.conn.close()),
            Err(_) => CloseReason::Closed,
        }
    }
}
