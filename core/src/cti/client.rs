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

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::{mpsc, oneshot};

use super::codec::{CodecError, Message};
use crate::tls::{TlsConfig, Watched};

use super::session::{
    CloseReason, CtiStatus, InvokeIds, RequestError, Session, SessionConfig, SessionError,
    SessionEvent, State,
};

/// What the application receives, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// An unsolicited event, or a confirmation of a message sent with [`Client::send`].
    Message(Message),
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

enum Command {
    Send(Message),
    Request(
        Message,
        Option<Duration>,
        oneshot::Sender<Result<Message, RequestError>>,
    ),
    Close(oneshot::Sender<CloseReason>),
    StopRequests,
}

/// Handle to an open CTI session. Cheap to clone; all clones drive the same session.
#[derive(Clone)]
pub struct Client {
    cmd: mpsc::UnboundedSender<Command>,
    ids: InvokeIds,
    open_conf: Message,
    version: u32,
    closed: Arc<AtomicBool>,
}

/// Receiver of a session's events.
pub type Events = mpsc::UnboundedReceiver<ClientEvent>;

fn set_nodelay_linger(stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
    // Linger 0: a close resets the connection at once, as the guide asks.
    let sock = socket2::SockRef::from(stream);
    let _ = sock.set_linger(Some(Duration::ZERO));
}

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
                (Self::open_stream(stream, cfg).await, slot)
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
                (Self::open_stream(stream, cfg).await, slot)
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
        Self::open_stream(stream, cfg).await
    }

    /// Opens a session over any connected byte stream (TCP, TLS...): sends OPEN_REQ
    /// and waits for OPEN_CONF (or the open timeout).
    pub async fn open_stream<S>(
        stream: S,
        cfg: SessionConfig,
    ) -> Result<(Client, Events), SessionError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut session = Session::new(cfg)?;
        let version = session.config().version;
        let ids = session.invoke_ids();
        session.start(Instant::now())?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (open_tx, open_rx) = oneshot::channel();
        let closed = Arc::new(AtomicBool::new(false));
        tokio::spawn(drive(
            stream,
            session,
            cmd_rx,
            ev_tx,
            open_tx,
            closed.clone(),
        ));
        let open_conf = open_rx
            .await
            .map_err(|_| SessionError::ConnectionLost("driver stopped".into()))??;
        Ok((
            Client {
                cmd: cmd_tx,
                ids,
                open_conf,
                version,
                closed,
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

    /// Sends a message without waiting. Returns its InvokeID (assigned when zero);
    /// the confirmation arrives as [`ClientEvent::Message`].
    pub fn send(&self, mut msg: Message) -> Result<u32, RequestError> {
        if self.is_closed() {
            return Err(RequestError::SessionClosed("session closed".into()));
        }
        let id = self.assign(&mut msg)?;
        // Encode now so that a bad message fails here, not in the driver.
        super::codec::encode(&msg, self.version)?;
        self.cmd
            .send(Command::Send(msg))
            .map_err(|_| RequestError::SessionClosed("session closed".into()))?;
        Ok(id)
    }

    /// Sends a request and waits for its confirmation, a failure or the timeout
    /// (the configured request timeout when `None`).
    pub async fn request(
        &self,
        mut msg: Message,
        timeout: Option<Duration>,
    ) -> Result<Message, RequestError> {
        self.assign(&mut msg)?;
        super::codec::encode(&msg, self.version)?;
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Command::Request(msg, timeout, tx))
            .map_err(|_| RequestError::SessionClosed("session closed".into()))?;
        rx.await
            .map_err(|_| RequestError::SessionClosed("session closed".into()))?
    }

    /// Sends STOPPING_REQUESTS_TO_THIS_SIDE_IND (active/standby maintenance handover).
    pub fn stop_requests_to_this_side(&self) -> Result<(), RequestError> {
        self.cmd
            .send(Command::StopRequests)
            .map_err(|_| RequestError::SessionClosed("session closed".into()))
    }

    /// Closes the session (CLOSE_REQ, at most the close timeout for CLOSE_CONF) and
    /// returns how it ended. Closing a session that already ended returns at once.
    pub async fn close(&self) -> CloseReason {
        let (tx, rx) = oneshot::channel();
        if self.cmd.send(Command::Close(tx)).is_err() {
            return CloseReason::Failed(SessionError::NotOpen);
        }
        rx.await
            .unwrap_or(CloseReason::Failed(SessionError::NotOpen))
    }
}

async fn drive<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    mut session: Session,
    mut cmds: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<ClientEvent>,
    open_tx: oneshot::Sender<Result<Message, SessionError>>,
    closed_flag: Arc<AtomicBool>,
) {
    let mut open_tx = Some(open_tx);
    let mut waiters: HashMap<u32, oneshot::Sender<Result<Message, RequestError>>> = HashMap::new();
    let mut closers: Vec<oneshot::Sender<CloseReason>> = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut cmds_open = true;
    loop {
        // Flush what the session wants to send.
        while let Some(out) = session.poll_transmit() {
            if let Err(e) = stream.write_all(&out).await {
                session.connection_lost(&format!("write: {e}"));
                break;
            }
        }
        // Deliver what it has to say.
        let mut closed = None;
        while let Some(ev) = session.poll_event() {
            match ev {
                SessionEvent::Opened(m) => {
                    if let Some(tx) = open_tx.take() {
                        let _ = tx.send(Ok(m));
                    }
                }
                SessionEvent::Reply { invoke_id, result } => {
                    if let Some(w) = waiters.remove(&invoke_id) {
                        let _ = w.send(result);
                    } else if let Ok(m) = result {
                        let _ = events.send(ClientEvent::Message(m));
                    }
                }
                SessionEvent::Message(m) => {
                    let _ = events.send(ClientEvent::Message(m));
                }
                SessionEvent::Failure(s) => {
                    let _ = events.send(ClientEvent::Failure(s));
                }
                SessionEvent::DecodeError(e) => {
                    let _ = events.send(ClientEvent::DecodeError(e));
                }
                SessionEvent::Unrecognized { msg_type, body } => {
                    let _ = events.send(ClientEvent::Unrecognized { msg_type, body });
                }
                SessionEvent::Closed(reason) => closed = Some(reason),
            }
        }
        if let Some(reason) = closed {
            closed_flag.store(true, Ordering::Release);
            if let Some(tx) = open_tx.take() {
                let err = match &reason {
                    CloseReason::Failed(e) => e.clone(),
                    _ => SessionError::NotOpen,
                };
                let _ = tx.send(Err(err));
            }
            for (_, w) in waiters.drain() {
                let _ = w.send(Err(RequestError::SessionClosed(format!("{reason:?}"))));
            }
            for c in closers.drain(..) {
                let _ = c.send(reason.clone());
            }
            let _ = events.send(ClientEvent::Closed(reason.clone()));
            let _ = stream.shutdown().await;
            // Answer late commands until every handle is gone.
            while let Some(cmd) = cmds.recv().await {
                match cmd {
                    Command::Close(tx) => {
                        let _ = tx.send(reason.clone());
                    }
                    Command::Request(_, _, tx) => {
                        let _ = tx.send(Err(RequestError::SessionClosed(format!("{reason:?}"))));
                    }
                    Command::Send(_) | Command::StopRequests => {}
                }
            }
            return;
        }
        let deadline = session.poll_timeout();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) => session.connection_lost("closed by peer"),
                Ok(n) => session.receive(&buf[..n], Instant::now()),
                Err(e) => session.connection_lost(&format!("read: {e}")),
            },
            cmd = cmds.recv(), if cmds_open => match cmd {
                Some(Command::Send(m)) => {
                    if let Err(e) = session.send(m) {
                        let _ = events.send(ClientEvent::DecodeError(match e {
                            RequestError::Codec(c) => c,
                            other => CodecError::Json(other.to_string()),
                        }));
                    }
                }
                Some(Command::Request(m, timeout, tx)) => {
                    match session.send_request(m, timeout, Instant::now()) {
                        Ok(id) => { waiters.insert(id, tx); }
                        Err(e) => { let _ = tx.send(Err(e)); }
                    }
                }
                Some(Command::StopRequests) => {
                    if let Err(e) = session.stop_requests_to_this_side() {
                        tracing::debug!("STOPPING_REQUESTS_TO_THIS_SIDE_IND not sent: {e}");
                    }
                }
                Some(Command::Close(tx)) => {
                    closers.push(tx);
                    session.close(Instant::now());
                }
                None => {
                    // Every handle dropped: close the session politely.
                    cmds_open = false;
                    if session.state() == State::Open {
                        session.close(Instant::now());
                    }
                }
            },
            () = sleep => session.handle_timeout(Instant::now()),
        }
    }
}
