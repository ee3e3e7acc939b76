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

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, timeout, Instant};

use crate::tls::BoxedIo;

use super::stomp::{encode, Decoded, Frame, FrameDecoder, Limits, StompError};

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
    /// Broker passcode.
    pub passcode: Option<String>,
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

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// STOMP over TLS to every broker (`None`: plain TCP). Read at every connect.
    pub tls: Option<crate::tls::TlsConfig>,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            connect_timeout: Duration::from_secs(5),
            receipt_timeout: Duration::from_secs(5),
            heartbeat: Duration::from_secs(5),
            limits: Limits::default(),
            tls: None,
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
#[derive(Clone)]
pub struct LinkSender {
    tx: mpsc::UnboundedSender<LinkCmd>,
    receipt_timeout: Duration,
    addr: String,
}

impl LinkSender {
    /// Builds a sender over a link task's command channel.
    fn new(tx: mpsc::UnboundedSender<LinkCmd>, receipt_timeout: Duration, addr: String) -> Self {
        LinkSender {
            tx,
            receipt_timeout,
            addr,
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

    /// Closes the link (DISCONNECT, then the socket); returns when done.
    pub async fn close(&self) {
        let (done, rx) = oneshot::channel();
        if self.tx.send(LinkCmd::Close(done)).is_ok() {
            let _ = timeout(Duration::from_secs(2), rx).await;
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
    /// Received messages, then one [`LinkEvent::Closed`].
    pub events: mpsc::UnboundedReceiver<LinkEvent>,
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

/// Reads until one frame arrives (heart-beats skipped).
async fn read_frame(
    stream: &mut BoxedIo,
    dec: &mut FrameDecoder,
    addr: &str,
) -> Result<Frame, TransportError> {
    let mut buf = [0u8; 8192];
    loop {
        match dec.next_frame() {
            Ok(Some(Decoded::Frame(f))) => return Ok(f),
            Ok(Some(Decoded::HeartBeat)) => continue,
            Ok(None) => {}
            Err(error) => {
                return Err(TransportError::Protocol {
                    addr: addr.to_owned(),
                    error,
                })
            }
        }
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| io_err(addr, "read", e))?;
        if n == 0 {
            return Err(io_err(addr, "read", "connection closed by the broker"));
        }
        dec.push(&buf[..n]);
    }
}

fn error_text(f: &Frame) -> String {
    let m = f.get("message").unwrap_or("ERROR");
    let body = String::from_utf8_lossy(&f.body);
    let body = body.trim();
    if body.is_empty() {
        m.to_owned()
    } else {
        format!("{m}: {}", body.chars().take(500).collect::<String>())
    }
}

fn heartbeat_pair(v: Option<&str>) -> (u64, u64) {
    let Some((a, b)) = v.and_then(|v| v.split_once(',')) else {
        return (0, 0);
    };
    (a.trim().parse().unwrap_or(0), b.trim().parse().unwrap_or(0))
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
    let deadline = Instant::now() + opts.connect_timeout;
    let handshake = async {
        let mut stream = open_stream(&addr, opts.tls.as_ref()).await?;
        let hb = opts.heartbeat.as_millis().min(u128::from(u32::MAX)) as u64;
        let host = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
        let mut connect = Frame::new("CONNECT")
            .header("accept-version", "1.2")
            .header("host", host)
            .header("heart-beat", format!("{hb},{hb}"));
        if let Some(l) = &broker.login {
            connect = connect.header("login", l.clone());
        }
        if let Some(p) = &broker.passcode {
            connect = connect.header("passcode", p.clone());
        }
        let bytes = encode(&connect).map_err(|error| TransportError::Protocol {
            addr: addr.clone(),
            error,
        })?;
        stream
            .write_all(&bytes)
            .await
            .map_err(|e| io_err(&addr, "write", e))?;
        let mut dec = FrameDecoder::new(opts.limits);
        let f = read_frame(&mut stream, &mut dec, &addr).await?;
        match f.command.as_str() {
            "CONNECTED" => {}
            "ERROR" => {
                return Err(TransportError::Broker {
                    addr: addr.clone(),
                    message: error_text(&f),
                })
            }
            other => {
                return Err(TransportError::Protocol {
                    addr: addr.clone(),
                    error: StompError::BadCommand(other.to_owned()),
                })
            }
        }
        let (sx, sy) = heartbeat_pair(f.get("heart-beat"));
        let send_every = if hb == 0 || sy == 0 { 0 } else { hb.max(sy) };
        let expect_every = if hb == 0 || sx == 0 { 0 } else { hb.max(sx) };
        // Subscribe, and wait for the receipts: replies must not be missed.
        for (i, d) in subs.iter().enumerate() {
            let sub = Frame::new("SUBSCRIBE")
                .header("id", format!("sub-{i}"))
                .header("destination", d.stomp_name())
                .header("ack", "auto")
                .header("receipt", format!("sub-{i}"));
            let bytes = encode(&sub).map_err(|error| TransportError::Protocol {
                addr: addr.clone(),
                error,
            })?;
            stream
                .write_all(&bytes)
                .await
                .map_err(|e| io_err(&addr, "write", e))?;
        }
        let mut pending = subs.len();
        while pending > 0 {
            let f = read_frame(&mut stream, &mut dec, &addr).await?;
            match f.command.as_str() {
                "RECEIPT" if f.get("receipt-id").is_some_and(|r| r.starts_with("sub-")) => {
                    pending -= 1
                }
                "ERROR" => {
                    return Err(TransportError::Broker {
                        addr: addr.clone(),
                        message: error_text(&f),
                    })
                }
                _ => {} // messages before the subscriptions settle: none expected
            }
        }
        Ok((stream, dec, send_every, expect_every))
    };
    let (stream, dec, send_every, expect_every) =
        match tokio::time::timeout_at(deadline, handshake).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(TransportError::Timeout {
                    addr,
                    what: "CONNECTED frame",
                    after: opts.connect_timeout,
                })
            }
        };
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    tokio::spawn(stomp_link(
        stream,
        dec,
        addr.clone(),
        cmd_rx,
        ev_tx,
        Duration::from_millis(send_every),
        Duration::from_millis(expect_every),
    ));
    Ok(Link {
        sender: LinkSender::new(cmd_tx, opts.receipt_timeout, addr),
        events: ev_rx,
    })
}

fn send_frame(msg: &OutMessage, receipt: Option<&str>) -> Frame {
    let mut f = Frame::new("SEND").header("destination", msg.destination.stomp_name());
    if !msg.jms_type.is_empty() {
        f = f.header("type", msg.jms_type.clone());
    }
    f = f.header("persistent", "false").header("priority", "0");
    for (k, v) in &msg.properties {
        f = f.header(k.clone(), v.clone());
    }
    if let Some(r) = receipt {
        f = f.header("receipt", r);
    }
    f.body(msg.body.clone().into_bytes())
}

async fn stomp_link(
    mut stream: BoxedIo,
    mut dec: FrameDecoder,
    addr: String,
    mut cmd_rx: mpsc::UnboundedReceiver<LinkCmd>,
    ev_tx: mpsc::UnboundedSender<LinkEvent>,
    send_every: Duration,
    expect_every: Duration,
) {
    let mut receipts: HashMap<String, oneshot::Sender<Result<(), TransportError>>> = HashMap::new();
    let mut next_receipt: u64 = 0;
    let mut buf = vec![0u8; 16 * 1024];
    let far = Duration::from_secs(86_400);
    let mut last_rx = Instant::now();
    let mut next_tx_beat = Instant::now()
        + if send_every.is_zero() {
            far
        } else {
            send_every
        };
    // Some slack over the negotiated period, as the STOMP spec suggests.
    let dead_after = if expect_every.is_zero() {
        far
    } else {
        expect_every * 2 + Duration::from_millis(500)
    };
    let mut closing: Option<oneshot::Sender<()>> = None;
    let reason = loop {
        if let Some(done) = closing.take() {
            let _ = done.send(());
            break TransportError::Closed;
        }
        tokio::select! {
            r = stream.read(&mut buf) => {
                let n = match r {
                    Ok(0) => break io_err(&addr, "read", "connection closed by the broker"),
                    Ok(n) => n,
                    Err(e) => break io_err(&addr, "read", e),
                };
                last_rx = Instant::now();
                dec.push(&buf[..n]);
                let mut failure = None;
                loop {
                    match dec.next_frame() {
                        Ok(None) => break,
                        Ok(Some(Decoded::HeartBeat)) => {}
                        Ok(Some(Decoded::Frame(f))) => match f.command.as_str() {
                            "MESSAGE" => {
                                let m = InMessage {
                                    destination: f.get("destination").and_then(Destination::from_stomp),
                                    jms_type: f.get("type").map(str::to_owned),
                                    body: f.body,
                                };
                                let _ = ev_tx.send(LinkEvent::Message(m));
                            }
                            "RECEIPT" => {
                                if let Some(done) = f.get("receipt-id").and_then(|id| receipts.remove(id)) {
                                    let _ = done.send(Ok(()));
                                }
                            }
                            "ERROR" => {
                                failure = Some(TransportError::Broker { addr: addr.clone(), message: error_text(&f) });
                                break;
                            }
                            _ => {}
                        },
                        Err(error) => {
                            failure = Some(TransportError::Protocol { addr: addr.clone(), error });
                            break;
                        }
                    }
                }
                if let Some(e) = failure {
                    break e;
                }
            }
            cmd = cmd_rx.recv() => {
                let Some(cmd) = cmd else {
                    break TransportError::Closed;
                };
                match cmd {
                    LinkCmd::Send(msg, done) => {
                        let receipt = done.as_ref().map(|_| {
                            next_receipt += 1;
                            format!("r-{next_receipt}")
                        });
                        let bytes = match encode(&send_frame(&msg, receipt.as_deref())) {
                            Ok(b) => b,
                            Err(error) => {
                                if let Some(done) = done {
                                    let _ = done.send(Err(TransportError::Protocol { addr: addr.clone(), error }));
                                }
                                continue;
                            }
                        };
                        if let (Some(r), Some(done)) = (receipt, done) {
                            receipts.insert(r, done);
                        }
                        if let Err(e) = stream.write_all(&bytes).await {
                            break io_err(&addr, "write", e);
                        }
                        next_tx_beat = Instant::now() + if send_every.is_zero() { far } else { send_every };
                    }
                    LinkCmd::Close(done) => {
                        if let Ok(bytes) = encode(&Frame::new("DISCONNECT")) {
                            let _ = stream.write_all(&bytes).await;
                        }
                        let _ = stream.shutdown().await;
                        closing = Some(done);
                    }
                }
            }
            _ = sleep_until(next_tx_beat) => {
                if let Err(e) = stream.write_all(b"\n").await {
                    break io_err(&addr, "write", e);
                }
                next_tx_beat = Instant::now() + send_every;
            }
            _ = sleep_until(last_rx + dead_after) => {
                break TransportError::Timeout { addr: addr.clone(), what: "heart-beat", after: dead_after };
            }
        }
    };
    for (_, done) in receipts.drain() {
        let _ = done.send(Err(reason.clone()));
    }
    let _ = ev_tx.send(LinkEvent::Closed(reason));
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
        assert_eq!(heartbeat_pair(Some("0, 5000")), (0, 5000));
        assert_eq!(heartbeat_pair(Some("junk")), (0, 0));
    }

    #[test]
    fn send_frames_are_text_messages() {
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
