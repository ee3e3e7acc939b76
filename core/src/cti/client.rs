//! The tokio driver: one task owns the TCP connection and a [`Session`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cce::cti::client::{Client, ClientEvent};
//! use cce::cti::session::SessionConfig;
//! let mut cfg = SessionConfig::new("my-app", 24);
//! cfg.agent_id = Some("1001".into());
//! let (client, mut events) = Client::connect("127.0.0.1:42027", cfg).await?;
//! while let Some(ev) = events.recv().await {
//!     if let ClientEvent::Message(m) = ev { println!("{}", m.name()); }
//! }
//! # Ok(()) }
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::{mpsc, oneshot};

use super::codec::{Body, CodecError, Floating, Message, Value};
use super::event::Event;
use crate::tls::{TlsConfig, Watched};

use super::session::{
    CloseReason, CtiStatus, InvokeIds, RequestError, Session, SessionConfig, SessionError,
    SessionEvent, State,
};
use crate::queue::{self, OverrunPolicy, PushError, QueueCounters, QueueStats};

/// What the application receives, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// An unsolicited event, or a confirmation of a message sent with [`Client::send`]:
    /// a handle over the received bytes (the owned form is [`Event::to_message`]).
    Message(Event),
    /// FAILURE_EVENT from the server.
    Failure(CtiStatus),
    /// A message that could not be decoded (the session goes on).
    DecodeError(CodecError),
    /// A message type outside the catalogue (skipped).
    Unrecognized {
        /// Its MessageType.
        msg_type: u32,
        /// Its body.
        body: bytes::Bytes,
    },
    /// The session ended; the last event.
    Closed(CloseReason),
}

impl ClientEvent {
    /// Approximate memory the event holds, charged against the event queue's byte bound.
    pub fn approx_bytes(&self) -> usize {
        const BASE: usize = std::mem::size_of::<ClientEvent>();
        match self {
            ClientEvent::Message(m) => BASE + m.body().len(),
            ClientEvent::Unrecognized { body, .. } => BASE + body.len(),
            ClientEvent::DecodeError(_) => BASE + 64,
            ClientEvent::Failure(_) | ClientEvent::Closed(_) => BASE,
        }
    }
}

fn value_bytes(v: &Value) -> usize {
    std::mem::size_of::<Value>()
        + match v {
            Value::Str(s) => s.wire_bytes().len(),
            Value::Unspec(b) => b.len(),
            Value::NamedVar(n) => n.name.len() + n.value.len(),
            Value::NamedArray(n) => n.name.len() + n.value.len(),
            _ => 0,
        }
}

/// Approximate heap and inline size of a decoded message.
pub fn message_bytes(m: &Message) -> usize {
    let inner = match m.body() {
        Body::Fields {
            fixed, floating, ..
        } => {
            fixed.iter().map(value_bytes).sum::<usize>()
                + floating
                    .iter()
                    .map(|f| match f {
                        Floating::Known { value, .. } => value_bytes(value) + 8,
                        Floating::Unknown { data, .. } => data.len() + 32,
                    })
                    .sum::<usize>()
        }
        Body::Raw(b) => b.len(),
    };
    std::mem::size_of::<Message>() + inner
}

enum Command {
    Send(Message),
    Request(
        Message,
        Option<Duration>,
        oneshot::Sender<Result<Message, RequestError>>,
    ),
    StopRequests,
}

/// Handle to an open CTI session. Cheap to clone; all clones drive the same session.
#[derive(Clone)]
pub struct Client {
    cmd: mpsc::Sender<Command>,
    cmd_capacity: usize,
    close: mpsc::Sender<oneshot::Sender<CloseReason>>,
    ids: InvokeIds,
    open_conf: Message,
    version: u32,
    closed: Arc<AtomicBool>,
    counters: Arc<QueueCounters>,
}

/// Receiver of a session's events, bounded by [`SessionConfig::event_queue`]
/// (see [`crate::queue`]).
pub type Events = queue::Receiver<ClientEvent>;

/// TCP_NODELAY and linger 0 (a close resets the connection at once, as the guide asks).
pub(crate) fn set_nodelay_linger(stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
    // Linger 0: a close resets the connection at once, as the guide asks.
    let sock = socket2::SockRef::from(stream);
    let _ = sock.set_linger(Some(Duration::ZERO));
}

/// Time allowed for shutting the write side down once the session has ended.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(200);

impl Client {
    /// Connects, sends OPEN_REQ and waits for OPEN_CONF (or the open timeout).
    pub async fn connect(
        addr: impl ToSocketAddrs,
        cfg: SessionConfig,
    ) -> Result<(Client, Events), SessionError> {
        let open_timeout = cfg.open_timeout;
        let stream = tokio::time::timeout(open_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| SessionError::OpenTimeout(open_timeout))?
            .map_err(|e| SessionError::ConnectionLost(format!("connect: {e}")))?;
        Self::open(stream, cfg).await
    }

    /// Connects to `addr` ("host:port"), with TLS when `tls` is set (the handshake
    /// counts in the open timeout), sends OPEN_REQ and waits for OPEN_CONF. TLS
    /// failures are [`SessionError::Tls`], also when the server refuses the client
    /// certificate after the handshake, or when a plain client meets a TLS server.
    pub async fn connect_with(
        addr: &str,
        cfg: SessionConfig,
        tls: Option<&TlsConfig>,
        connect_timeout: std::time::Duration,
        counters: Arc<QueueCounters>,
    ) -> Result<(Client, Events), SessionError> {
        let timeout = |_| SessionError::ConnectionLost("connect timed out".into());
        let stream = tokio::time::timeout(connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(timeout)?
            .map_err(|e| SessionError::ConnectionLost(format!("connect: {e}")))?;
        set_nodelay_linger(&stream);
        let opened = match tls {
            None => {
                let (stream, slot) = Watched::new(stream, false);
                (Self::open_stream(stream, cfg, counters).await, slot)
            }
            Some(t) => {
                let stream = tokio::time::timeout(connect_timeout, t.connect(addr, stream))
                    .await
                    .map_err(|_| {
                        SessionError::Tls(crate::tls::TlsError::Handshake(format!(
                            "no TLS handshake within {connect_timeout:?}"
                        )))
                    })??;
                let (stream, slot) = Watched::new(stream, true);
                (Self::open_stream(stream, cfg, counters).await, slot)
            }
        };
        match opened {
            (Ok(c), _) => Ok(c),
            (Err(e), slot) => Err(crate::tls::take_slot(&slot).map_or(e, SessionError::from)),
        }
    }

    /// Opens a session over an already connected stream: sends OPEN_REQ and waits
    /// for OPEN_CONF (or the open timeout).
    pub async fn open(
        stream: TcpStream,
        cfg: SessionConfig,
    ) -> Result<(Client, Events), SessionError> {
        set_nodelay_linger(&stream);
        Self::open_stream(stream, cfg, Arc::default()).await
    }

    /// Opens a session over any connected byte stream (TCP, TLS, ...), counting its
    /// event queue into `counters`.
    pub async fn open_stream<S>(
        stream: S,
        cfg: SessionConfig,
        counters: Arc<QueueCounters>,
    ) -> Result<(Client, Events), SessionError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut session = Session::new(cfg)?;
        let version = session.config().version;
        let ids = session.invoke_ids();
        let cmd_capacity = session.config().command_queue;
        let limits = session.config().event_queue;
        let overrun = session.config().overrun;
        session.start(Instant::now())?;
        let (cmd_tx, cmd_rx) = mpsc::channel(cmd_capacity);
        let (close_tx, close_rx) = mpsc::channel(4);
        let (ev_tx, ev_rx) = queue::channel(limits, counters.clone());
        let (open_tx, open_rx) = oneshot::channel();
        let closed = Arc::new(AtomicBool::new(false));
        let driver = Driver {
            session,
            waiters: HashMap::new(),
            closers: Vec::new(),
            events: ev_tx,
            backlog: VecDeque::new(),
            overrun,
            overran: false,
            open_tx: Some(open_tx),
            closed_flag: closed.clone(),
        };
        tokio::spawn(driver.run(stream, cmd_rx, close_rx));
        let open_conf = open_rx
            .await
            .map_err(|_| SessionError::ConnectionLost("driver stopped".into()))??;
        Ok((
            Client {
                cmd: cmd_tx,
                cmd_capacity,
                close: close_tx,
                ids,
                open_conf,
                version,
                closed,
                counters,
            },
            ev_rx,
        ))
    }

    /// The OPEN_CONF the server answered with.
    pub fn open_conf(&self) -> &Message {
        &self.open_conf
    }

    /// Protocol version of the session.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Whether the session has ended (messages can no longer be sent).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Depth, high-water mark and drops of the session's event queue.
    pub fn queue_stats(&self) -> QueueStats {
        self.counters.stats()
    }

    fn assign(&self, msg: &mut Message) -> Result<u32, RequestError> {
        match msg.invoke_id() {
            Some(id) if id != 0 => Ok(id),
            Some(_) => {
                let id = self.ids.next();
                msg.set_int("InvokeID", id.into())?;
                Ok(id)
            }
            None => Ok(0),
        }
    }

    fn command(&self, cmd: Command) -> Result<(), RequestError> {
        self.cmd.try_send(cmd).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => RequestError::QueueFull(self.cmd_capacity),
            mpsc::error::TrySendError::Closed(_) => {
                RequestError::SessionClosed("session closed".into())
            }
        })
    }

    /// Sends a message without waiting. Returns its InvokeID (assigned when zero);
    /// the confirmation arrives as [`ClientEvent::Message`]. Fails at once with
    /// [`RequestError::QueueFull`] when the command queue is full.
    pub fn send(&self, mut msg: Message) -> Result<u32, RequestError> {
        if self.is_closed() {
            return Err(RequestError::SessionClosed("session closed".into()));
        }
        let id = self.assign(&mut msg)?;
        // Encode now so that a bad message fails here, not in the driver.
        super::codec::encode(&msg, self.version)?;
        self.command(Command::Send(msg))?;
        Ok(id)
    }

    /// Sends a request and waits for its confirmation, a failure or the timeout
    /// (the configured request timeout when `None`). Fails at once with
    /// [`RequestError::QueueFull`] when the command queue is full.
    pub async fn request(
        &self,
        mut msg: Message,
        timeout: Option<Duration>,
    ) -> Result<Message, RequestError> {
        self.assign(&mut msg)?;
        super::codec::encode(&msg, self.version)?;
        let (tx, rx) = oneshot::channel();
        self.command(Command::Request(msg, timeout, tx))?;
        rx.await
            .map_err(|_| RequestError::SessionClosed("session closed".into()))?
    }

    /// Sends STOPPING_REQUESTS_TO_THIS_SIDE_IND (active/standby maintenance handover).
    pub fn stop_requests_to_this_side(&self) -> Result<(), RequestError> {
        self.command(Command::StopRequests)
    }

    /// Closes the session (CLOSE_REQ, at most the close timeout for CLOSE_CONF) and
    /// returns how it ended. Closing a session that already ended returns at once.
    /// Timers keep running while a write is pending, so this returns within the close
    /// timeout even when the peer stops reading.
    pub async fn close(&self) -> CloseReason {
        let (tx, rx) = oneshot::channel();
        if self.close.send(tx).await.is_err() {
            return CloseReason::Failed(SessionError::NotOpen);
        }
        rx.await
            .unwrap_or(CloseReason::Failed(SessionError::NotOpen))
    }
}

/// The connection task's state besides the stream.
struct Driver {
    session: Session,
    waiters: HashMap<u32, oneshot::Sender<Result<Message, RequestError>>>,
    closers: Vec<oneshot::Sender<CloseReason>>,
    events: queue::Sender<ClientEvent>,
    /// Events of the last read that did not fit the queue (at most one read's worth:
    /// the socket is not read while this holds anything).
    backlog: VecDeque<ClientEvent>,
    overrun: OverrunPolicy,
    overran: bool,
    open_tx: Option<oneshot::Sender<Result<Message, SessionError>>>,
    closed_flag: Arc<AtomicBool>,
}

impl Driver {
    /// Hands `ev` to the application (or the backlog when the queue is full).
    fn deliver(&mut self, ev: ClientEvent) {
        self.backlog.push_back(ev);
        self.flush();
    }

    /// Moves backlog events into the queue while there is room.
    fn flush(&mut self) {
        while let Some(ev) = self.backlog.pop_front() {
            if self.overran {
                self.events.counters().add_dropped(1);
                continue;
            }
            let size = ev.approx_bytes();
            match self.events.try_push(ev, size) {
                Ok(()) | Err(PushError::Closed(_)) => {}
                Err(PushError::Full(ev)) => match self.overrun {
                    OverrunPolicy::Block => {
                        self.backlog.push_front(ev);
                        return;
                    }
                    OverrunPolicy::Close => {
                        self.events.counters().add_dropped(1);
                        self.overran = true;
                        tracing::debug!("event queue full: closing the session (overrun)");
                        self.session.close(Instant::now());
                    }
                },
            }
        }
    }

    /// Whether the socket must not be read now (queue full under the blocking policy).
    fn blocked(&self) -> bool {
        self.overrun == OverrunPolicy::Block && (!self.backlog.is_empty() || self.events.is_full(0))
    }

    /// Takes what the session has to say; returns the close reason when it ended.
    fn poll_session(&mut self) -> Option<CloseReason> {
        let mut closed = None;
        while let Some(ev) = self.session.poll_event() {
            match ev {
                SessionEvent::Opened(m) => {
                    if let Some(tx) = self.open_tx.take() {
                        let _ = tx.send(Ok(m));
                    }
                }
                SessionEvent::Reply { invoke_id, result } => {
                    if let Some(w) = self.waiters.remove(&invoke_id) {
                        let _ = w.send(result);
                    } else if let Ok(m) = result {
                        // A reply nobody waits for any more (rare): back into a handle.
                        match Event::from_message(&m, self.session.config().version) {
                            Ok(ev) => self.deliver(ClientEvent::Message(ev)),
                            Err(e) => self.deliver(ClientEvent::DecodeError(e)),
                        }
                    }
                }
                SessionEvent::Message(m) => self.deliver(ClientEvent::Message(m)),
                SessionEvent::Failure(s) => self.deliver(ClientEvent::Failure(s)),
                SessionEvent::DecodeError(e) => self.deliver(ClientEvent::DecodeError(e)),
                SessionEvent::Unrecognized { msg_type, body } => {
                    self.deliver(ClientEvent::Unrecognized { msg_type, body })
                }
                SessionEvent::Closed(reason) => closed = Some(reason),
            }
        }
        closed
    }

    /// The session ended: answer everyone, deliver the last event.
    fn end(&mut self, reason: CloseReason) -> CloseReason {
        let reason = if self.overran {
            CloseReason::ConsumerOverrun
        } else {
            reason
        };
        self.closed_flag.store(true, Ordering::Release);
        if let Some(tx) = self.open_tx.take() {
            let err = match &reason {
                CloseReason::Failed(e) => e.clone(),
                _ => SessionError::NotOpen,
            };
            let _ = tx.send(Err(err));
        }
        for (_, w) in self.waiters.drain() {
            let _ = w.send(Err(RequestError::SessionClosed(format!("{reason:?}"))));
        }
        for c in self.closers.drain(..) {
            let _ = c.send(reason.clone());
        }
        // The backlog is at most one read; the final event always fits.
        for ev in self.backlog.drain(..) {
            if self.overran {
                self.events.counters().add_dropped(1);
            } else {
                let size = ev.approx_bytes();
                let _ = self.events.push_final(ev, size);
            }
        }
        let last = ClientEvent::Closed(reason.clone());
        let size = last.approx_bytes();
        let _ = self.events.push_final(last, size);
        reason
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Send(m) => {
                if let Err(e) = self.session.send(m) {
                    self.deliver(ClientEvent::DecodeError(match e {
                        RequestError::Codec(c) => c,
                        other => CodecError::Json(other.to_string()),
                    }));
                }
            }
            Command::Request(m, timeout, tx) => {
                match self.session.send_request(m, timeout, Instant::now()) {
                    Ok(id) => {
                        self.waiters.insert(id, tx);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            }
            Command::StopRequests => {
                if let Err(e) = self.session.stop_requests_to_this_side() {
                    tracing::debug!("STOPPING_REQUESTS_TO_THIS_SIDE_IND not sent: {e}");
                }
            }
        }
    }

    async fn run<S>(
        mut self,
        stream: S,
        mut cmds: mpsc::Receiver<Command>,
        mut closes: mpsc::Receiver<oneshot::Sender<CloseReason>>,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (mut rd, mut wr) = tokio::io::split(stream);
        let mut buf = vec![0u8; 16 * 1024];
        let mut cmds_open = true;
        let mut closes_open = true;
        // The bytes being written and how far the write got.
        let mut writing: Option<Bytes> = None;
        loop {
            if writing.is_none() {
                writing = self.session.poll_transmit();
            }
            if let Some(reason) = self.poll_session() {
                let reason = self.end(reason);
                let _ = tokio::time::timeout(SHUTDOWN_TIMEOUT, wr.shutdown()).await;
                drop((rd, wr));
                // Answer late commands until every handle is gone.
                loop {
                    tokio::select! {
                        cmd = cmds.recv(), if cmds_open => match cmd {
                            Some(Command::Request(_, _, tx)) => {
                                let _ = tx.send(Err(RequestError::SessionClosed(format!("{reason:?}"))));
                            }
                            Some(_) => {}
                            None => cmds_open = false,
                        },
                        c = closes.recv(), if closes_open => match c {
                            Some(tx) => { let _ = tx.send(reason.clone()); }
                            None => closes_open = false,
                        },
                        else => return,
                    }
                }
            }
            let blocked = self.blocked();
            let need = self.backlog.front().map_or(0, ClientEvent::approx_bytes);
            let deadline = self.session.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            let pending_write = writing.clone();
            let write = async {
                match &pending_write {
                    Some(b) => wr.write(b).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                read = rd.read(&mut buf), if !blocked => match read {
                    Ok(0) => self.session.connection_lost("closed by peer"),
                    Ok(n) => self.session.receive(&buf[..n], Instant::now()),
                    Err(e) => self.session.connection_lost(&format!("read: {e}")),
                },
                () = self.events.room(need), if blocked => self.flush(),
                w = write => match w {
                    Ok(0) => self.session.connection_lost("write: connection closed"),
                    Ok(n) => {
                        writing = writing.take().map(|mut b| { let _ = b.split_to(n.min(b.len())); b }).filter(|b| !b.is_empty());
                    }
                    Err(e) => self.session.connection_lost(&format!("write: {e}")),
                },
                // One command at a time, and only when nothing waits to be written: a
                // peer that stops reading leaves commands in the bounded queue.
                cmd = cmds.recv(), if cmds_open && writing.is_none() => match cmd {
                    Some(cmd) => self.command(cmd),
                    None => {
                        // Every handle dropped: close the session politely.
                        cmds_open = false;
                        if self.session.state() == State::Open {
                            self.session.close(Instant::now());
                        }
                    }
                },
                c = closes.recv(), if closes_open => match c {
                    Some(tx) => {
                        self.closers.push(tx);
                        self.session.close(Instant::now());
                    }
                    None => closes_open = false,
                },
                () = sleep => self.session.handle_timeout(Instant::now()),
            }
        }
    }
}
