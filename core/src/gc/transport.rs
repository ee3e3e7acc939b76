//! Broker transports behind one trait, so that OpenWire can be added next to STOMP.
//!
//! A [`Transport`] opens a [`Link`] to one broker with its subscriptions in place; the
//! link carries [`OutMessage`]s to queues/topics (confirmed by the broker when asked)
//! and delivers [`LinkEvent`]s until it closes. Reconnection and failover are the
//! client's job ([`super::client`]), not the transport's.
//!
//! [`StompTransport`] speaks STOMP 1.2 to ActiveMQ Classic: a SEND has the JMSType in
//! the `type` header and **no** `content-length`, so that the broker delivers a JMS
//! TextMessage; destinations are `/queue/<name>` and `/topic/<name>`.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, timeout, Instant};

use super::connection::{ConnConfig, ConnError, ConnEvent, Connection};
use super::stomp::{Limits, StompError};
use crate::ece::Secret;
use crate::tls::BoxedIo;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A queue or a topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    /// Point-to-point queue (the GC request queue).
    Queue(String),
    /// Publish/subscribe topic (a client destination).
    Topic(String),
}

impl Destination {
    /// The STOMP destination header (`/queue/x`, `/topic/x`).
    pub fn stomp_name(&self) -> String {
        match self {
            Destination::Queue(q) => format!("/queue/{q}"),
            Destination::Topic(t) => format!("/topic/{t}"),
        }
    }

    /// Parses `/queue/x` or `/topic/x`.
    pub fn from_stomp(s: &str) -> Option<Self> {
        if let Some(q) = s.strip_prefix("/queue/") {
            Some(Destination::Queue(q.to_owned()))
        } else {
            s.strip_prefix("/topic/")
                .map(|t| Destination::Topic(t.to_owned()))
        }
    }
}

/// One broker to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddr {
    /// `host:port`.
    pub addr: String,
    /// Broker login, if it requires one.
    pub login: Option<String>,
    /// Broker passcode (never shown by `Debug` or in errors).
    pub passcode: Option<Secret>,
}

impl BrokerAddr {
    /// A broker without credentials.
    pub fn new(addr: impl Into<String>) -> Self {
        BrokerAddr {
            addr: addr.into(),
            login: None,
            passcode: None,
        }
    }
}

/// A message to send. `Debug` hides the body of a Connect/Login request.
#[derive(Clone, PartialEq, Eq)]
pub struct OutMessage {
    /// Where to.
    pub destination: Destination,
    /// JMSType (omitted when empty).
    pub jms_type: String,
    /// Text body.
    pub body: String,
    /// Extra JMS string properties (headers), off by default (A2).
    pub properties: Vec<(String, String)>,
}

impl std::fmt::Debug for OutMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.jms_type.split('#').next().unwrap_or_default();
        let body = if super::command::carries_secret(name) {
            "<redacted>"
        } else {
            self.body.as_str()
        };
        f.debug_struct("OutMessage")
            .field("destination", &self.destination)
            .field("jms_type", &self.jms_type)
            .field("body", &body)
            .field("properties", &self.properties)
            .finish()
    }
}

/// A message received on a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InMessage {
    /// Where it was published.
    pub destination: Option<Destination>,
    /// JMSType, when set.
    pub jms_type: Option<String>,
    /// Body.
    pub body: Vec<u8>,
}

/// What a link delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// A message on one of the subscriptions.
    Message(InMessage),
    /// The link is gone; the last event.
    Closed(TransportError),
}

/// Transport failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// TCP failure.
    #[error("broker {addr}: {message}")]
    Io {
        /// Broker address.
        addr: String,
        /// What failed.
        message: String,
    },
    /// No answer in time.
    #[error("broker {addr}: no {what} within {after:?}")]
    Timeout {
        /// Broker address.
        addr: String,
        /// What was awaited.
        what: &'static str,
        /// How long.
        after: Duration,
    },
    /// The broker sent an ERROR frame.
    #[error("broker {addr} reported an error: {message}")]
    Broker {
        /// Broker address.
        addr: String,
        /// The ERROR frame's `message` header and body.
        message: String,
    },
    /// The broker broke the framing, or a frame could not be encoded.
    #[error("broker {addr}: {error}")]
    Protocol {
        /// Broker address.
        addr: String,
        /// Frame error.
        error: StompError,
    },
    /// The link is closed.
    #[error("broker link closed")]
    Closed,
    /// The TLS handshake failed or a certificate was not accepted.
    #[error("broker {addr}: {error}")]
    Tls {
        /// Broker address.
        addr: String,
        /// What failed.
        error: crate::tls::TlsError,
    },
}

/// Link settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOptions {
    /// TCP connect plus CONNECTED.
    pub connect_timeout: Duration,
    /// Broker receipt for a confirmed send / subscription.
    pub receipt_timeout: Duration,
    /// STOMP heart-beat period offered both ways (zero: none).
    pub heartbeat: Duration,
    /// Frame decoder limits.
    pub limits: Limits,
    /// Received messages waiting for the client (default 1 024); while they are
    /// that many the socket is not read (back-pressure on the broker).
    pub inbox: usize,
    /// Longest wait for a close (DISCONNECT, then the socket) before the link task
    /// is dropped (default 2 s).
    pub close_timeout: Duration,
    /// STOMP over TLS to every broker (`None`: plain TCP). Read at every connect.
    pub tls: Option<crate::tls::TlsConfig>,
    /// Wire trace of every STOMP frame in and out (off by default; the passcode and
    /// login passwords are redacted).
    pub trace: crate::cti::trace::WireTrace,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            connect_timeout: Duration::from_secs(5),
            receipt_timeout: Duration::from_secs(5),
            heartbeat: Duration::from_secs(5),
            limits: Limits::default(),
            inbox: 1024,
            close_timeout: Duration::from_secs(2),
            tls: None,
            trace: crate::cti::trace::WireTrace::Off,
        }
    }
}

enum LinkCmd {
    Send(
        OutMessage,
        Option<oneshot::Sender<Result<(), TransportError>>>,
    ),
    Close(oneshot::Sender<()>),
}

/// The sending half of a link. Cheap to clone.
///
/// Its command queue is unbounded by design: the client feeds it from its own
/// bounded command queue, one command (at most a few requests) at a time.
#[derive(Clone)]
pub struct LinkSender {
    tx: mpsc::UnboundedSender<LinkCmd>,
    receipt_timeout: Duration,
    close_timeout: Duration,
    addr: String,
    task: Option<tokio::task::AbortHandle>,
}

impl LinkSender {
    /// Builds a sender over a link task's command channel.
    fn new(
        tx: mpsc::UnboundedSender<LinkCmd>,
        opts: &LinkOptions,
        addr: String,
        task: Option<tokio::task::AbortHandle>,
    ) -> Self {
        LinkSender {
            tx,
            receipt_timeout: opts.receipt_timeout,
            close_timeout: opts.close_timeout,
            addr,
            task,
        }
    }

    /// Sends and waits until the broker confirms it has the message.
    pub async fn send(&self, msg: OutMessage) -> Result<(), TransportError> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(LinkCmd::Send(msg, Some(done)))
            .map_err(|_| TransportError::Closed)?;
        match timeout(self.receipt_timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(TransportError::Closed),
            Err(_) => Err(TransportError::Timeout {
                addr: self.addr.clone(),
                what: "receipt",
                after: self.receipt_timeout,
            }),
        }
    }

    /// Queues a send without waiting for the broker (heartbeats, replays).
    pub fn send_nowait(&self, msg: OutMessage) -> Result<(), TransportError> {
        self.tx
            .send(LinkCmd::Send(msg, None))
            .map_err(|_| TransportError::Closed)
    }

    /// Closes the link (DISCONNECT, then the socket); returns when done, or after the
    /// close timeout, when the link task is stopped (e.g. the broker does not read).
    pub async fn close(&self) {
        let (done, rx) = oneshot::channel();
        if self.tx.send(LinkCmd::Close(done)).is_ok()
            && !matches!(timeout(self.close_timeout, rx).await, Ok(Ok(())))
        {
            if let Some(t) = &self.task {
                t.abort();
            }
        }
    }

    /// True once the link task has ended.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// An open link to one broker.
pub struct Link {
    /// Sending half.
    pub sender: LinkSender,
    /// Received messages, then one [`LinkEvent::Closed`] (bounded:
    /// [`LinkOptions::inbox`]).
    pub events: mpsc::Receiver<LinkEvent>,
}

/// A way to reach a broker.
pub trait Transport: Send + Sync + 'static {
    /// Connects to `broker` and subscribes to `subscriptions` before returning.
    fn connect(
        &self,
        broker: &BrokerAddr,
        subscriptions: &[Destination],
    ) -> BoxFuture<Result<Link, TransportError>>;

    /// Short name (`"stomp"`).
    fn name(&self) -> &'static str;
}

/// STOMP 1.2 over TCP.
#[derive(Debug, Clone, Default)]
pub struct StompTransport {
    /// Link settings.
    pub options: LinkOptions,
}

impl StompTransport {
    /// A transport with these options.
    pub fn new(options: LinkOptions) -> Self {
        StompTransport { options }
    }
}

impl Transport for StompTransport {
    fn connect(
        &self,
        broker: &BrokerAddr,
        subscriptions: &[Destination],
    ) -> BoxFuture<Result<Link, TransportError>> {
        let broker = broker.clone();
        let subs = subscriptions.to_vec();
        let opts = self.options.clone();
        Box::pin(async move { stomp_connect(broker, subs, opts).await })
    }

    fn name(&self) -> &'static str {
        "stomp"
    }
}

fn io_err(addr: &str, what: &str, e: impl std::fmt::Display) -> TransportError {
    TransportError::Io {
        addr: addr.to_owned(),
        message: format!("{what}: {e}"),
    }
}

/// Writes what the connection has to send, each write within `limit`.
async fn flush<S: AsyncWrite + Unpin>(
    stream: &mut S,
    conn: &mut Connection,
    limit: Duration,
    addr: &str,
) -> Result<(), TransportError> {
    while let Some(bytes) = conn.poll_transmit() {
        write_within(stream, &bytes, limit, addr).await?;
    }
    Ok(())
}

fn conn_err(addr: &str, e: ConnError) -> TransportError {
    let addr = addr.to_owned();
    match e {
        ConnError::Broker(message) => TransportError::Broker { addr, message },
        ConnError::Protocol(error) => TransportError::Protocol { addr, error },
        ConnError::Timeout { what, after } => TransportError::Timeout { addr, what, after },
        ConnError::Closed => TransportError::Closed,
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400)
}

/// Drives the connection until it is open (CONNECTED, subscriptions confirmed).
async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    conn: &mut Connection,
    addr: &str,
    write_timeout: Duration,
) -> Result<(), TransportError> {
    let mut buf = [0u8; 8192];
    loop {
        flush(stream, conn, write_timeout, addr).await?;
        while let Some(ev) = conn.poll_event() {
            match ev {
                ConnEvent::Open => return Ok(()),
                ConnEvent::Closed(e) => return Err(conn_err(addr, e)),
                ConnEvent::Message(_) | ConnEvent::Receipt(_) => {}
            }
        }
        let wake = conn
            .poll_timeout(true)
            .map_or_else(far_future, Instant::from_std);
        tokio::select! {
            r = stream.read(&mut buf) => {
                let n = r.map_err(|e| io_err(addr, "read", e))?;
                if n == 0 {
                    return Err(io_err(addr, "read", "connection closed by the broker"));
                }
                conn.receive(&buf[..n], std::time::Instant::now());
            }
            _ = sleep_until(wake) => conn.handle_timeout(std::time::Instant::now(), true),
        }
    }
}

/// TCP, then TLS when configured.
async fn open_stream(
    addr: &str,
    tls: Option<&crate::tls::TlsConfig>,
) -> Result<BoxedIo, TransportError> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| io_err(addr, "connect", e))?;
    let _ = tcp.set_nodelay(true);
    match tls {
        None => Ok(Box::new(tcp)),
        Some(t) => match t.connect(addr, tcp).await {
            Ok(s) => Ok(Box::new(s)),
            Err(error) => Err(TransportError::Tls {
                addr: addr.to_owned(),
                error,
            }),
        },
    }
}

async fn stomp_connect(
    broker: BrokerAddr,
    subs: Vec<Destination>,
    opts: LinkOptions,
) -> Result<Link, TransportError> {
    let addr = broker.addr.clone();
    let host = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
    let cfg = ConnConfig {
        host: host.to_owned(),
        login: broker.login.clone(),
        passcode: broker.passcode.clone(),
        heartbeat: opts.heartbeat,
        connect_timeout: opts.connect_timeout,
        limits: opts.limits,
        subscriptions: subs,
        trace: opts.trace.clone(),
    };
    // One deadline for TCP connect, CONNECTED and the subscription receipts.
    let mut conn = Connection::new(cfg, std::time::Instant::now()).map_err(|error| {
        TransportError::Protocol {
            addr: addr.clone(),
            error,
        }
    })?;
    let deadline = Instant::now() + opts.connect_timeout;
    let mut stream =
        match tokio::time::timeout_at(deadline, open_stream(&addr, opts.tls.as_ref())).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(TransportError::Timeout {
                    addr,
                    what: "TCP connection",
                    after: opts.connect_timeout,
                })
            }
        };
    handshake(&mut stream, &mut conn, &addr, opts.receipt_timeout).await?;
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::channel(opts.inbox.max(1));
    let task = tokio::spawn(stomp_link(
        stream,
        conn,
        addr.clone(),
        cmd_rx,
        ev_tx,
        opts.receipt_timeout,
    ));
    Ok(Link {
        sender: LinkSender::new(cmd_tx, &opts, addr, Some(task.abort_handle())),
        events: ev_rx,
    })
}

/// Writes all of `bytes` within `limit`.
async fn write_within<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    limit: Duration,
    addr: &str,
) -> Result<(), TransportError> {
    match timeout(limit, stream.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(io_err(addr, "write", e)),
        Err(_) => Err(TransportError::Timeout {
            addr: addr.to_owned(),
            what: "socket write (the broker does not read)",
            after: limit,
        }),
    }
}

/// The link task: the open connection driven over `stream` until it ends. A write
/// that takes longer than `write_timeout` ends the link (the broker does not read).
async fn stomp_link<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    mut stream: S,
    mut conn: Connection,
    addr: String,
    mut cmd_rx: mpsc::UnboundedReceiver<LinkCmd>,
    ev_tx: mpsc::Sender<LinkEvent>,
    write_timeout: Duration,
) {
    let mut receipts: HashMap<u64, oneshot::Sender<Result<(), TransportError>>> = HashMap::new();
    // Messages the full event channel could not take yet: while any wait, the
    // socket is not read (back-pressure) and the broker's silence is not held
    // against it. Bounded by what one read yields.
    let mut inbox: VecDeque<LinkEvent> = VecDeque::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut closing: Option<oneshot::Sender<()>> = None;
    let reason = 'link: loop {
        if let Err(e) = flush(&mut stream, &mut conn, write_timeout, &addr).await {
            break e;
        }
        while let Some(ev) = conn.poll_event() {
            match ev {
                ConnEvent::Message(m) => {
                    let ev = LinkEvent::Message(m);
                    if !inbox.is_empty() {
                        inbox.push_back(ev);
                    } else if let Err(mpsc::error::TrySendError::Full(ev)) = ev_tx.try_send(ev) {
                        inbox.push_back(ev);
                    }
                }
                ConnEvent::Receipt(n) => {
                    if let Some(done) = receipts.remove(&n) {
                        let _ = done.send(Ok(()));
                    }
                }
                ConnEvent::Open => {}
                ConnEvent::Closed(e) => {
                    if let Some(done) = closing.take() {
                        let _ = timeout(write_timeout, stream.shutdown()).await;
                        let _ = done.send(());
                    }
                    break 'link conn_err(&addr, e);
                }
            }
        }
        let reading = inbox.is_empty();
        let wake = conn
            .poll_timeout(reading)
            .map_or_else(far_future, Instant::from_std);
        let tx = ev_tx.clone();
        let room = async {
            if reading {
                std::future::pending::<()>().await
            } else {
                let _ = tx.reserve().await;
            }
        };
        tokio::select! {
            () = room => {
                while let Some(ev) = inbox.pop_front() {
                    match ev_tx.try_send(ev) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(ev)) => {
                            inbox.push_front(ev);
                            break;
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => {
                            inbox.clear();
                            break;
                        }
                    }
                }
                if inbox.is_empty() {
                    // Reading again: the broker's silence counts from now.
                    conn.resume_reading(std::time::Instant::now());
                }
            }
            r = stream.read(&mut buf), if reading => {
                match r {
                    Ok(0) => break io_err(&addr, "read", "connection closed by the broker"),
                    Ok(n) => conn.receive(&buf[..n], std::time::Instant::now()),
                    Err(e) => break io_err(&addr, "read", e),
                }
            }
            cmd = cmd_rx.recv() => match cmd {
                None => break TransportError::Closed,
                Some(LinkCmd::Send(msg, done)) => {
                    match conn.send(&msg, done.is_some(), std::time::Instant::now()) {
                        Ok(Some(n)) => {
                            if let Some(done) = done {
                                receipts.insert(n, done);
                            }
                        }
                        Ok(None) => {}
                        Err(error) => {
                            if let Some(done) = done {
                                let _ = done.send(Err(TransportError::Protocol { addr: addr.clone(), error }));
                            }
                        }
                    }
                }
                Some(LinkCmd::Close(done)) => {
                    conn.close();
                    closing = Some(done);
                }
            },
            _ = sleep_until(wake) => conn.handle_timeout(std::time::Instant::now(), reading),
        }
    };
    if let Some(done) = closing.take() {
        let _ = done.send(());
    }
    for (_, done) in receipts.drain() {
        let _ = done.send(Err(reason.clone()));
    }
    // What was read is still delivered, then the end; each waits for room as long
    // as the client lives (a close stops this task after its timeout).
    for ev in inbox.drain(..).chain([LinkEvent::Closed(reason)]) {
        if ev_tx.send(ev).await.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_and_heartbeats() {
        assert_eq!(
            Destination::Queue("Connector1".into()).stomp_name(),
            "/queue/Connector1"
        );
        assert_eq!(
            Destination::from_stomp("/topic/crm-1"),
            Some(Destination::Topic("crm-1".into()))
        );
        assert_eq!(Destination::from_stomp("/temp-queue/x"), None);
    }

    #[test]
    fn send_frames_are_text_messages() {
        use crate::gc::connection::send_frame;
        let msg = OutMessage {
            destination: Destination::Queue("Connector1".into()),
            jms_type: "Login#1001".into(),
            body: "pw,4012".into(),
            properties: vec![("category".into(), "agent_state".into())],
        };
        let f = send_frame(&msg, Some("r-1"));
        assert_eq!(f.get("type"), Some("Login#1001"));
        assert_eq!(f.get("content-length"), None);
        assert_eq!(f.get("category"), Some("agent_state"));
        assert_eq!(f.get("receipt"), Some("r-1"));
    }
}
