//! The tokio GC client: a [`Session`] driven over a [`Transport`], with reconnection
//! (backoff, resubscription) and failover between GC/broker pairs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cce::gc::client::{ClientConfig, ClientEvent, GcClient};
//! use cce::gc::command::Command;
//! let cfg = ClientConfig::new("crm-1", ["127.0.0.1:61613"]);
//! let (client, mut events) = GcClient::connect(cfg).await?;
//! client.send("1001", Command::Login { password: "pw".into(), extension: "4012".into() }).await?;
//! while let Some(ev) = events.recv().await {
//!     if let ClientEvent::Gc(e) = ev { println!("{}", e.to_json()); }
//! }
//! # Ok(()) }
//! ```
//!
//! Commands are fire-and-forget (GC has no reply correlation, A18): [`GcClient::send`]
//! returns once the broker has the request; GC's answers arrive as events. A command
//! issued while no broker link is up fails with [`ClientError::NotConnected`]; it is
//! never queued or dropped silently. A command whose broker receipt did not come in
//! time fails with [`TransportError::Timeout`]: its outcome is unknown (the broker may
//! still deliver it, and GC execute it, later).
//!
//! Queues are bounded ([`QueueOptions`]): the event queue holds at most
//! `events` events; when it is full the client stops reading from the broker (TCP
//! pushes back; heartbeats and timers keep running) or, with
//! [`OverflowPolicy::Close`], ends with [`ClientEvent::Overrun`] then
//! [`ClientEvent::Closed`]. The command queue holds at most `commands` commands; a
//! command beyond that fails at once with [`ClientError::QueueFull`].
//! [`GcClient::close`] returns within `close_timeout` plus a small constant whatever
//! the broker does.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{sleep_until, Instant};

use super::command::{Command, CommandError, Request};
use super::event::{parse_bytes, Event};
use super::session::{Action, GcStatus, Notice, Session, SessionConfig, SessionError};
use super::transport::{
    BoxFuture, BrokerAddr, Destination, Link, LinkEvent, LinkOptions, LinkSender, OutMessage,
    StompTransport, Transport, TransportError,
};

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Session settings (destination, heartbeat, re-login).
    pub session: SessionConfig,
    /// GC/broker pairs in order of preference (local site first).
    pub brokers: Vec<BrokerAddr>,
    /// GC request queue (default `Connector1`).
    pub request_queue: String,
    /// Link settings (connect and receipt timeouts, STOMP heart-beat, frame limits).
    pub link: LinkOptions,
    /// First reconnection delay (default 200 ms), doubled up to `reconnect_max`.
    pub reconnect_min: Duration,
    /// Longest reconnection delay (default 10 s).
    pub reconnect_max: Duration,
    /// Extra JMS properties on every request (A2 hook; empty by default).
    pub properties: Vec<(String, String)>,
    /// Queue bounds and the overflow policy.
    pub queues: QueueOptions,
}

/// What happens when the application does not take events as fast as they come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverflowPolicy {
    /// Stop reading from the broker while the event queue is full (default): the
    /// broker holds the messages; heartbeats and timers keep running.
    #[default]
    BackPressure,
    /// End the client: [`ClientEvent::Overrun`], then [`ClientEvent::Closed`].
    Close,
}

/// Queue bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueOptions {
    /// Events waiting for the application (default 10 000).
    pub events: usize,
    /// Commands in flight (queued, being written, or awaiting the broker's receipt;
    /// default 1 000); beyond that [`GcClient::send`] fails at once with
    /// [`ClientError::QueueFull`].
    pub commands: usize,
    /// What to do when the event queue is full.
    pub overflow: OverflowPolicy,
    /// Longest wait for the broker link to close (default 2 s); [`GcClient::close`]
    /// returns within it plus a small constant.
    pub close_timeout: Duration,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            events: 10_000,
            commands: 1_000,
            overflow: OverflowPolicy::BackPressure,
            close_timeout: Duration::from_secs(2),
        }
    }
}

/// Slack over `close_timeout` for [`GcClient::close`] (task scheduling, DISCONNECT).
pub const CLOSE_SLACK: Duration = Duration::from_millis(500);

/// Event queue figures, shared by the client task and its handles.
#[derive(Debug, Default)]
pub struct QueueStats {
    high_water: AtomicUsize,
    dropped: AtomicU64,
}

impl QueueStats {
    /// The most events ever waiting in the queue at once.
    pub fn high_water(&self) -> usize {
        self.high_water.load(Ordering::Relaxed)
    }

    /// Events dropped (still queued at close, or lost to an overrun).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Counts `n` dropped events.
    pub fn add_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    fn saw_depth(&self, depth: usize) {
        self.high_water.fetch_max(depth, Ordering::Relaxed);
    }
}

impl ClientConfig {
    /// Defaults for a destination and broker list.
    pub fn new<I, S>(destination: impl Into<String>, brokers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ClientConfig {
            session: SessionConfig::new(destination),
            brokers: brokers.into_iter().map(|b| BrokerAddr::new(b)).collect(),
            request_queue: "Connector1".into(),
            link: LinkOptions::default(),
            reconnect_min: Duration::from_millis(200),
            reconnect_max: Duration::from_secs(10),
            properties: Vec::new(),
            queues: QueueOptions::default(),
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), ClientError> {
        self.session.validate()?;
        if self.brokers.is_empty() {
            return Err(ClientError::Config("at least one broker is needed".into()));
        }
        if self.request_queue.is_empty() || self.request_queue.contains(['*', '>', '/', ' ']) {
            return Err(ClientError::Config(format!(
                "request queue {:?} is not a valid queue name",
                self.request_queue
            )));
        }
        if self.reconnect_min.is_zero() || self.reconnect_max < self.reconnect_min {
            return Err(ClientError::Config(
                "reconnect delays: need 0 < reconnect_min <= reconnect_max".into(),
            ));
        }
        if self.queues.events == 0 || self.queues.commands == 0 {
            return Err(ClientError::Config(
                "queue sizes (events, commands) must be positive".into(),
            ));
        }
        if self.queues.close_timeout.is_zero() {
            return Err(ClientError::Config("close timeout must be positive".into()));
        }
        Ok(())
    }
}

/// Client failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No broker link: nothing was sent.
    #[error("not connected to any broker: {0}")]
    NotConnected(String),
    /// The command is invalid (e.g. a parameter contains `,` `#` `|`).
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The configuration is invalid.
    #[error("GC client config: {0}")]
    Config(String),
    /// The broker did not take the request.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The client is closed.
    #[error("GC client closed")]
    Closed,
    /// The command queue is full (the client task is behind): nothing was sent.
    #[error("GC command queue full ({capacity} commands waiting): nothing was sent")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
}

impl From<SessionError> for ClientError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::NotConnected(what) => {
                ClientError::NotConnected(format!("{what} was not sent"))
            }
            SessionError::Command(c) => ClientError::Command(c),
            SessionError::Config(c) => ClientError::Config(c),
        }
    }
}

/// What the application receives, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event")]
pub enum ClientEvent {
    /// An event from GC.
    Gc(Box<Event>),
    /// A library notice (re-login, recovery, GC unreachable, ...).
    Notice(Notice),
    /// A broker link is up.
    Connected {
        /// Broker address.
        broker: String,
    },
    /// The broker link is gone; reconnection is under way.
    Disconnected {
        /// Broker address.
        broker: String,
        /// Why.
        error: String,
    },
    /// The application did not take events fast enough and the overflow policy is
    /// [`OverflowPolicy::Close`]: the client ends ([`ClientEvent::Closed`] follows).
    Overrun {
        /// The event queue's capacity.
        capacity: usize,
    },
    /// A message that could not be parsed (the client goes on).
    BadMessage {
        /// Why.
        error: String,
        /// The body (lossy UTF-8, at most 1000 characters).
        body: String,
    },
    /// The client was closed; the last event.
    Closed,
}

impl ClientEvent {
    /// JSON for the bindings: GC events as [`Event::to_json`]; library events as
    /// `{"event": "Connected"|"Disconnected"|"Notice"|"BadMessage"|"Closed", ...}`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ClientEvent::Gc(e) => e.to_json(),
            ClientEvent::Notice(n) => {
                let mut v = serde_json::to_value(n).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("event".into(), "Notice".into());
                }
                v
            }
            other => serde_json::to_value(other).unwrap_or_default(),
        }
    }
}

/// Receiver of a client's events (bounded: [`QueueOptions::events`]).
pub type GcEvents = mpsc::Receiver<ClientEvent>;

enum Cmd {
    Send(String, Command, oneshot::Sender<Result<(), ClientError>>),
    Raw(Request, oneshot::Sender<Result<(), ClientError>>),
}

/// What the client knows about the link and GC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientState {
    /// The broker in use, if linked.
    pub broker: Option<String>,
    /// GC's status.
    pub gc: GcStatus,
}

/// Handle to a GC client. Cheap to clone.
#[derive(Clone)]
pub struct GcClient {
    cmd: mpsc::Sender<Cmd>,
    /// One permit per command between `send` and its answer: bounds the commands
    /// queued, being written and awaiting the broker's receipt together.
    inflight: Arc<tokio::sync::Semaphore>,
    close: Arc<watch::Sender<bool>>,
    state: watch::Receiver<ClientState>,
    stats: Arc<QueueStats>,
    queues: QueueOptions,
}

impl GcClient {
    /// Connects over STOMP to the first reachable broker (each is tried once), then
    /// keeps the link up in the background.
    pub async fn connect(cfg: ClientConfig) -> Result<(GcClient, GcEvents), ClientError> {
        let transport = Arc::new(StompTransport::new(cfg.link.clone()));
        Self::connect_with(cfg, transport).await
    }

    /// Same as [`GcClient::connect`] over any transport.
    pub async fn connect_with(
        cfg: ClientConfig,
        transport: Arc<dyn Transport>,
    ) -> Result<(GcClient, GcEvents), ClientError> {
        cfg.validate()?;
        let session = Session::new(cfg.session.clone())?;
        let subs = vec![Destination::Topic(cfg.session.destination.clone())];
        let mut last_err = None;
        let mut first = None;
        for (i, b) in cfg.brokers.iter().enumerate() {
            match transport.connect(b, &subs).await {
                Ok(link) => {
                    first = Some((i, link));
                    break;
                }
                Err(e) => last_err = Some(e),
            }
        }
        let Some((index, link)) = first else {
            return Err(
                last_err.map_or(ClientError::NotConnected("no broker".into()), |e| {
                    ClientError::Transport(e)
                }),
            );
        };
        let queues = cfg.queues;
        let (cmd_tx, cmd_rx) = mpsc::channel(queues.commands);
        let (ev_tx, ev_rx) = mpsc::channel(queues.events);
        let (close_tx, close_rx) = watch::channel(false);
        let (state_tx, state_rx) = watch::channel(ClientState {
            broker: None,
            gc: GcStatus::Unknown,
        });
        let stats = Arc::new(QueueStats::default());
        let driver = Driver {
            cfg,
            transport,
            subs,
            session,
            ev: ev_tx,
            backlog: VecDeque::new(),
            overrun: false,
            stats: stats.clone(),
            state: state_tx,
        };
        tokio::spawn(driver.run(index, link, cmd_rx, close_rx));
        Ok((
            GcClient {
                cmd: cmd_tx,
                inflight: Arc::new(tokio::sync::Semaphore::new(queues.commands)),
                close: Arc::new(close_tx),
                state: state_rx,
                stats,
                queues,
            },
            ev_rx,
        ))
    }

    /// Sends a command for `agent_id` (ignored for `Hello`/`Beat`, which use the
    /// destination). Returns once the broker confirmed the request(s).
    /// Fails at once with [`ClientError::QueueFull`] when the command queue is full.
    pub async fn send(&self, agent_id: &str, cmd: Command) -> Result<(), ClientError> {
        let _permit = self.permit()?;
        let (tx, rx) = oneshot::channel();
        self.enqueue(Cmd::Send(agent_id.to_owned(), cmd, tx))?;
        rx.await.map_err(|_| ClientError::Closed)?
    }

    /// Sends a raw request (e.g. one echoed by O-023) as it is.
    pub async fn send_request(&self, req: Request) -> Result<(), ClientError> {
        let _permit = self.permit()?;
        let (tx, rx) = oneshot::channel();
        self.enqueue(Cmd::Raw(req, tx))?;
        rx.await.map_err(|_| ClientError::Closed)?
    }

    fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ClientError> {
        self.inflight
            .clone()
            .try_acquire_owned()
            .map_err(|_| ClientError::QueueFull {
                capacity: self.queues.commands,
            })
    }

    fn enqueue(&self, cmd: Cmd) -> Result<(), ClientError> {
        self.cmd.try_send(cmd).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => ClientError::QueueFull {
                capacity: self.queues.commands,
            },
            mpsc::error::TrySendError::Closed(_) => ClientError::Closed,
        })
    }

    /// The event queue's figures (high-water mark, dropped events).
    pub fn queue_stats(&self) -> &QueueStats {
        &self.stats
    }

    /// The queue settings in force.
    pub fn queue_options(&self) -> QueueOptions {
        self.queues
    }

    /// Link and GC status as last seen.
    pub fn state(&self) -> ClientState {
        self.state.borrow().clone()
    }

    /// Closes the link; the event stream ends with [`ClientEvent::Closed`] (or just
    /// ends, when the queue is full: the events left in it are the application's).
    /// Returns within the close timeout plus [`CLOSE_SLACK`] whatever the broker
    /// does. Safe to call more than once.
    pub async fn close(&self) {
        self.close.send_replace(true);
        let mut state = self.state.clone();
        let ended = async {
            // The client task drops the state sender when it ends.
            while state.changed().await.is_ok() {}
        };
        let _ = tokio::time::timeout(self.queues.close_timeout + CLOSE_SLACK, ended).await;
    }
}

struct Driver {
    cfg: ClientConfig,
    transport: Arc<dyn Transport>,
    subs: Vec<Destination>,
    session: Session,
    ev: mpsc::Sender<ClientEvent>,
    /// Events the full queue could not take yet, in order; while any wait here the
    /// broker link is not read (back-pressure). Bounded by what one message yields.
    backlog: VecDeque<ClientEvent>,
    /// The queue overflowed under [`OverflowPolicy::Close`].
    overrun: bool,
    stats: Arc<QueueStats>,
    state: watch::Sender<ClientState>,
}

struct Up {
    index: usize,
    sender: LinkSender,
    events: mpsc::Receiver<LinkEvent>,
}

impl Driver {
    fn out(&self, req: Request) -> OutMessage {
        OutMessage {
            destination: Destination::Queue(self.cfg.request_queue.clone()),
            jms_type: req.jms_type,
            body: req.body,
            properties: self.cfg.properties.clone(),
        }
    }

    fn emit(&mut self, ev: ClientEvent) {
        if self.overrun {
            self.stats.add_dropped(1);
            return;
        }
        if !self.backlog.is_empty() {
            self.backlog.push_back(ev);
            return;
        }
        match self.ev.try_send(ev) {
            Ok(()) => self
                .stats
                .saw_depth(self.ev.max_capacity() - self.ev.capacity()),
            Err(mpsc::error::TrySendError::Full(ev)) => match self.cfg.queues.overflow {
                OverflowPolicy::BackPressure => self.backlog.push_back(ev),
                OverflowPolicy::Close => {
                    self.overrun = true;
                    self.stats.add_dropped(1);
                }
            },
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Moves backlog events into the queue while it has room.
    fn flush_backlog(&mut self) {
        while let Some(ev) = self.backlog.pop_front() {
            match self.ev.try_send(ev) {
                Ok(()) => self
                    .stats
                    .saw_depth(self.ev.max_capacity() - self.ev.capacity()),
                Err(mpsc::error::TrySendError::Full(ev)) => {
                    self.backlog.push_front(ev);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.backlog.clear();
                    return;
                }
            }
        }
    }

    fn publish_state(&self, up: Option<&Up>) {
        let broker = up.map(|u| self.cfg.brokers[u.index].addr.clone());
        let gc = self.session.status();
        self.state.send_if_modified(|s| {
            let new = ClientState { broker, gc };
            let changed = *s != new;
            *s = new;
            changed
        });
    }

    /// Performs the session's actions; true when it asks for a failover.
    fn drain(&mut self, up: Option<&Up>) -> bool {
        let mut failover = false;
        while let Some(a) = self.session.poll_action() {
            match a {
                Action::Send(r) => {
                    if let Some(u) = up {
                        let _ = u.sender.send_nowait(self.out(r));
                    }
                }
                Action::Notify(n) => self.emit(ClientEvent::Notice(n)),
                Action::Failover => failover = true,
            }
        }
        self.publish_state(up);
        failover
    }

    fn connect_to(&self, index: usize) -> BoxFuture<(usize, Result<Link, TransportError>)> {
        let fut = self.transport.connect(&self.cfg.brokers[index], &self.subs);
        Box::pin(async move { (index, fut.await) })
    }

    fn link_up(&mut self, index: usize, link: Link) -> Up {
        let up = Up {
            index,
            sender: link.sender,
            events: link.events,
        };
        self.emit(ClientEvent::Connected {
            broker: self.cfg.brokers[index].addr.clone(),
        });
        self.session.link_up(std::time::Instant::now());
        up
    }

    async fn run(
        mut self,
        index: usize,
        link: Link,
        mut cmds: mpsc::Receiver<Cmd>,
        mut close: watch::Receiver<bool>,
    ) {
        let n = self.cfg.brokers.len();
        let mut up = Some(self.link_up(index, link));
        let _ = self.drain(up.as_ref());
        let mut connecting: Option<BoxFuture<(usize, Result<Link, TransportError>)>> = None;
        // While down: the next broker to try, and when.
        let mut next_index = 0usize;
        let mut tried_in_round = 0usize;
        let mut backoff = self.cfg.reconnect_min;
        let mut retry_at: Option<Instant> = None;
        let far = Instant::now() + Duration::from_secs(86_400 * 365);
        loop {
            if self.overrun {
                break;
            }
            let tick_at = self
                .session
                .next_timeout()
                .map(Instant::from_std)
                .unwrap_or(far);
            let linked = up.is_some();
            let may_retry = !linked && connecting.is_none() && retry_at.is_some();
            // Back-pressure: the link is read only while the event queue has room.
            let reading = self.backlog.is_empty();
            let ev_tx = self.ev.clone();
            let room = async {
                if reading {
                    std::future::pending::<()>().await
                } else {
                    // Wait for a free slot; the permit is given back at once.
                    let _ = ev_tx.reserve().await;
                }
            };
            let connect_fut = async {
                match connecting.as_mut() {
                    Some(f) => f.await,
                    None => std::future::pending().await,
                }
            };
            let link_ev = async {
                match up.as_mut() {
                    Some(u) if reading => u.events.recv().await,
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = close.wait_for(|c| *c) => break,
                () = room => self.flush_backlog(),
                cmd = cmds.recv() => {
                    let Some(cmd) = cmd else { break };
                    match cmd {
                        Cmd::Send(agent, command, reply) => {
                            let reqs = match self.session.command(&agent, command) {
                                Ok(r) => r,
                                Err(e) => {
                                    let _ = reply.send(Err(e.into()));
                                    let _ = self.drain(up.as_ref());
                                    continue;
                                }
                            };
                            self.forward(up.as_ref(), reqs, reply);
                            let _ = self.drain(up.as_ref());
                        }
                        Cmd::Raw(req, reply) => {
                            if up.is_none() {
                                let _ = reply.send(Err(ClientError::NotConnected(format!("{} was not sent", req.jms_type))));
                                continue;
                            }
                            self.forward(up.as_ref(), vec![req], reply);
                        }
                    }
                }
                ev = link_ev => {
                    match ev {
                        Some(LinkEvent::Message(m)) => {
                            match parse_bytes(&m.body, m.jms_type.as_deref()) {
                                Ok(events) => {
                                    for e in events {
                                        self.session.on_event(&e);
                                        self.emit(ClientEvent::Gc(Box::new(e)));
                                    }
                                }
                                Err(e) => self.emit(ClientEvent::BadMessage {
                                    error: e.to_string(),
                                    body: String::from_utf8_lossy(&m.body).chars().take(1000).collect(),
                                }),
                            }
                            if self.drain(up.as_ref()) {
                                self.failover(&mut up, &mut connecting);
                            }
                        }
                        other => {
                            // Closed (or the link task vanished): reconnect from the first broker.
                            let error = match other {
                                Some(LinkEvent::Closed(e)) => e.to_string(),
                                _ => TransportError::Closed.to_string(),
                            };
                            if let Some(u) = up.take() {
                                let broker = self.cfg.brokers[u.index].addr.clone();
                                self.emit(ClientEvent::Disconnected { broker, error });
                            }
                            self.session.link_down();
                            self.publish_state(None);
                            next_index = 0;
                            tried_in_round = 0;
                            backoff = self.cfg.reconnect_min;
                            retry_at = Some(Instant::now() + backoff);
                        }
                    }
                }
                // While the application is behind, GC's answers wait unread: the
                // GC heartbeat pauses (unanswered Hellos would fake a dead GC); the
                // STOMP heart-beats of the link keep running.
                _ = sleep_until(tick_at), if linked && reading => {
                    self.session.on_tick(std::time::Instant::now());
                    if self.drain(up.as_ref()) {
                        self.failover(&mut up, &mut connecting);
                    }
                }
                _ = sleep_until(retry_at.unwrap_or(far)), if may_retry => {
                    retry_at = None;
                    connecting = Some(self.connect_to(next_index));
                }
                (index, result) = connect_fut => {
                    connecting = None;
                    match result {
                        Ok(link) => {
                            backoff = self.cfg.reconnect_min;
                            tried_in_round = 0;
                            up = Some(self.link_up(index, link));
                            let _ = self.drain(up.as_ref());
                        }
                        Err(e) => {
                            tracing::debug!("GC broker {}: {e}", self.cfg.brokers[index].addr);
                            tried_in_round += 1;
                            next_index = (index + 1) % n;
                            if tried_in_round >= n {
                                // A whole round failed: wait, longer each round.
                                tried_in_round = 0;
                                next_index = 0;
                                retry_at = Some(Instant::now() + backoff);
                                backoff = (backoff * 2).min(self.cfg.reconnect_max);
                            } else {
                                retry_at = Some(Instant::now());
                            }
                        }
                    }
                }
            }
        }
        // Ending: commands still queued fail with Closed; the link closes within the
        // close timeout; then the handles' close() returns (state sender dropped).
        drop(cmds);
        drop(connecting);
        if let Some(u) = up.take() {
            let _ = tokio::time::timeout(self.cfg.queues.close_timeout, u.sender.close()).await;
        }
        self.session.link_down();
        self.publish_state(None);
        let left = self.backlog.len() as u64;
        self.stats.add_dropped(left);
        let finale = if self.overrun {
            vec![
                ClientEvent::Overrun {
                    capacity: self.cfg.queues.events,
                },
                ClientEvent::Closed,
            ]
        } else {
            vec![ClientEvent::Closed]
        };
        let ev = self.ev.clone();
        drop(self);
        // The last events wait for room as long as the receiver lives.
        for e in finale {
            if ev.send(e).await.is_err() {
                break;
            }
        }
    }

    /// Sends requests in order; replies once the broker confirmed the last one.
    fn forward(
        &self,
        up: Option<&Up>,
        reqs: Vec<Request>,
        reply: oneshot::Sender<Result<(), ClientError>>,
    ) {
        let Some(u) = up else {
            let _ = reply.send(Err(ClientError::NotConnected("no broker link".into())));
            return;
        };
        let count = reqs.len();
        let mut last = None;
        for (i, r) in reqs.into_iter().enumerate() {
            let msg = self.out(r);
            if i + 1 == count {
                last = Some(msg);
            } else if let Err(e) = u.sender.send_nowait(msg) {
                let _ = reply.send(Err(e.into()));
                return;
            }
        }
        match last {
            None => {
                let _ = reply.send(Ok(()));
            }
            Some(msg) => {
                let sender = u.sender.clone();
                tokio::spawn(async move {
                    let r = sender.send(msg).await.map_err(|e| match e {
                        TransportError::Closed => ClientError::NotConnected(
                            "the broker link closed before the broker confirmed the request".into(),
                        ),
                        other => ClientError::Transport(other),
                    });
                    let _ = reply.send(r);
                });
            }
        }
    }

    /// GC is unreachable: with more than one pair, drop this link and try the next.
    fn failover(
        &mut self,
        up: &mut Option<Up>,
        connecting: &mut Option<BoxFuture<(usize, Result<Link, TransportError>)>>,
    ) {
        let n = self.cfg.brokers.len();
        if n < 2 {
            return;
        }
        let Some(u) = up.take() else {
            return;
        };
        let next = (u.index + 1) % n;
        let from = self.cfg.brokers[u.index].addr.clone();
        let sender = u.sender.clone();
        tokio::spawn(async move { sender.close().await });
        self.emit(ClientEvent::Disconnected {
            broker: from,
            error: "GC unreachable: failing over".into(),
        });
        self.session.link_down();
        self.publish_state(None);
        *connecting = Some(self.connect_to(next));
    }
}
