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
//! never queued or dropped silently.

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

/// Receiver of a client's events.
pub type GcEvents = mpsc::UnboundedReceiver<ClientEvent>;

enum Cmd {
    Send(String, Command, oneshot::Sender<Result<(), ClientError>>),
    Raw(Request, oneshot::Sender<Result<(), ClientError>>),
    Close(oneshot::Sender<()>),
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
    cmd: mpsc::UnboundedSender<Cmd>,
    state: watch::Receiver<ClientState>,
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
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (state_tx, state_rx) = watch::channel(ClientState {
            broker: None,
            gc: GcStatus::Unknown,
        });
        let driver = Driver {
            cfg,
            transport,
            subs,
            session,
            ev: ev_tx,
            state: state_tx,
        };
        tokio::spawn(driver.run(index, link, cmd_rx));
        Ok((
            GcClient {
                cmd: cmd_tx,
                state: state_rx,
            },
            ev_rx,
        ))
    }

    /// Sends a command for `agent_id` (ignored for `Hello`/`Beat`, which use the
    /// destination). Returns once the broker confirmed the request(s).
    pub async fn send(&self, agent_id: &str, cmd: Command) -> Result<(), ClientError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Cmd::Send(agent_id.to_owned(), cmd, tx))
            .map_err(|_| ClientError::Closed)?;
        rx.await.map_err(|_| ClientError::Closed)?
    }

    /// Sends a raw request (e.g. one echoed by O-023) as it is.
    pub async fn send_request(&self, req: Request) -> Result<(), ClientError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Cmd::Raw(req, tx))
            .map_err(|_| ClientError::Closed)?;
        rx.await.map_err(|_| ClientError::Closed)?
    }

    /// Link and GC status as last seen.
    pub fn state(&self) -> ClientState {
        self.state.borrow().clone()
    }

    /// Closes the link; the event stream ends with [`ClientEvent::Closed`].
    /// Safe to call more than once.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.cmd.send(Cmd::Close(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

struct Driver {
    cfg: ClientConfig,
    transport: Arc<dyn Transport>,
    subs: Vec<Destination>,
    session: Session,
    ev: mpsc::UnboundedSender<ClientEvent>,
    state: watch::Sender<ClientState>,
}

struct Up {
    index: usize,
    sender: LinkSender,
    events: mpsc::UnboundedReceiver<LinkEvent>,
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

    fn emit(&self, ev: ClientEvent) {
        let _ = self.ev.send(ev);
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

    async fn run(mut self, index: usize, link: Link, mut cmds: mpsc::UnboundedReceiver<Cmd>) {
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
            let tick_at = self
                .session
                .next_timeout()
                .map(Instant::from_std)
                .unwrap_or(far);
            let linked = up.is_some();
            let may_retry = !linked && connecting.is_none() && retry_at.is_some();
            let connect_fut = async {
                match connecting.as_mut() {
                    Some(f) => f.await,
                    None => std::future::pending().await,
                }
            };
            let link_ev = async {
                match up.as_mut() {
                    Some(u) => u.events.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = cmds.recv() => {
                    let Some(cmd) = cmd else { break };
                    match cmd {
                        Cmd::Close(done) => {
                            if let Some(u) = up.take() {
                                u.sender.close().await;
                            }
                            self.session.link_down();
                            self.emit(ClientEvent::Closed);
                            let _ = done.send(());
                            return;
                        }
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
                                self.emit(ClientEvent::Disconnected {
                                    broker: self.cfg.brokers[u.index].addr.clone(),
                                    error,
                                });
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
                _ = sleep_until(tick_at), if linked => {
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
        self.emit(ClientEvent::Closed);
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
