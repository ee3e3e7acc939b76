//! The network side: listeners for side A and B, one task per connection, client
//! sessions with their services, masks and monitors, and event routing.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

use crate::cti::codec::{self, CodecError, FrameSplitter, Message};
use crate::cti::spec;

use super::config::SimConfig;
use super::consts::{agent_mask_bit, call_mask_bit, status, svc};
use super::ev::Ev;
use super::faults::Faults;
use super::model::{Effects, Emit, Model, Route, Timer};
use super::{Side, SideState, SimError};

/// What a connection task writes.
pub(crate) enum Out {
    /// An event, encoded at the session's version, with this MonitorID (0: none).
    Ev(Arc<Ev>, u32),
    /// Bytes already encoded.
    Bytes(Bytes),
    /// Close the connection (after what is queued).
    Close,
}

/// A monitor a session created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MonitorKind {
    /// MONITOR_START_REQ on a call.
    Call(u32),
    /// MONITOR_START_REQ on a device.
    Device(String),
    /// MONITOR_AGENT_TEAM_START_REQ.
    Team(u32),
    /// SESSION_MONITOR_START_REQ.
    Session(u32),
}

#[derive(Debug, Clone)]
pub(crate) struct Monitor {
    pub id: u32,
    pub kind: MonitorKind,
    pub call_mask: u32,
    pub agent_mask: u32,
}

/// The maintenance handshake's state for one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Maint {
    /// ACTIVE_MAINTENANCE_REQ sent with this InvokeID, no answer yet.
    Asked(u32),
    /// The answer.
    Answered(bool),
}

/// An open client session.
#[derive(Debug)]
pub(crate) struct Sess {
    pub version: u32,
    pub session_id: u32,
    pub client_id: String,
    pub signature: Option<String>,
    pub services: u32,
    pub call_mask: u32,
    pub agent_mask: u32,
    pub agent: Option<usize>,
    pub standby: bool,
    pub monitors: Vec<Monitor>,
    pub seen: HashSet<u32>,
    pub last_agent: HashMap<usize, (i64, i64)>,
    pub maint: Option<Maint>,
}

impl Sess {
    pub fn has(&self, service: &str) -> bool {
        self.services & svc(service) != 0
    }
    pub fn all_events(&self) -> bool {
        self.has("CTI_SERVICE_ALL_EVENTS")
    }
    pub fn client_events(&self) -> bool {
        self.has("CTI_SERVICE_CLIENT_EVENTS")
    }
}

/// One TCP connection (with its session once OPEN_REQ succeeded).
pub(crate) struct ConnRec {
    pub side: Side,
    pub tx: mpsc::UnboundedSender<Out>,
    pub peer: SocketAddr,
    pub session: Option<Sess>,
}

/// One side's listener and switches.
pub(crate) struct SideRt {
    pub addr: Option<SocketAddr>,
    /// The TLS listener's address in mixed mode (in secure-only mode `addr` is TLS).
    pub tls_addr: Option<SocketAddr>,
    pub state: SideState,
    pub answer_heartbeats: bool,
    pub unanswered: u64,
    pub stop: Option<watch::Sender<bool>>,
    pub task: Option<JoinHandle<()>>,
    /// The accept task of a killed listener, until it has let go of the port.
    pub dying: Option<JoinHandle<()>>,
}

impl SideRt {
    fn down() -> Self {
        SideRt {
            addr: None,
            tls_addr: None,
            state: SideState::Down,
            answer_heartbeats: true,
            unanswered: 0,
            stop: None,
            task: None,
            dying: None,
        }
    }
}

/// Everything the simulator shares between its tasks.
pub(crate) struct Shared {
    pub cfg: SimConfig,
    pub model: Model,
    pub conns: HashMap<u64, ConnRec>,
    pub sides: [SideRt; 2],
    pub faults: Faults,
    pub next_id: u32,
    pub registered_services: HashSet<u32>,
    pub rt: Handle,
    pub me: Weak<Mutex<Shared>>,
    pub notify: Arc<Notify>,
    pub stats: Arc<Counters>,
    pub stopped: bool,
    /// The TLS acceptor when `cfg.tls` is set.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Counters the connection tasks update without the lock.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub encode_errors: AtomicU64,
    pub messages_sent: AtomicU64,
}

pub(crate) type Engine = Arc<Mutex<Shared>>;

pub(crate) fn lock(e: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    e.lock().unwrap_or_else(|p| p.into_inner())
}

static CONN_IDS: AtomicU64 = AtomicU64::new(1);

impl Shared {
    pub fn new(cfg: SimConfig, rt: Handle) -> Result<Engine, SimError> {
        let model = Model::new(&cfg)?;
        let tls = match &cfg.tls {
            Some(t) => Some(
                t.server_config()
                    .acceptor(&[])
                    .map_err(|e| SimError::Invalid(e.to_string()))?,
            ),
            None => None,
        };
        let eng = Arc::new_cyclic(|me| {
            Mutex::new(Shared {
                cfg,
                model,
                conns: HashMap::new(),
                sides: [SideRt::down(), SideRt::down()],
                faults: Faults::default(),
                next_id: 0,
                registered_services: HashSet::new(),
                rt,
                me: me.clone(),
                notify: Arc::new(Notify::new()),
                stats: Arc::new(Counters::default()),
                stopped: false,
                tls,
            })
        });
        Ok(eng)
    }

    /// A fresh ID for monitors, sessions, invokes and services.
    pub fn next_id(&mut self) -> u32 {
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.next_id
    }

    pub fn side(&self, s: Side) -> &SideRt {
        &self.sides[s.index()]
    }

    pub fn side_mut(&mut self, s: Side) -> &mut SideRt {
        &mut self.sides[s.index()]
    }

    /// Sends prepared bytes to one connection.
    pub fn send_bytes(&self, conn: u64, b: Bytes) {
        if let Some(c) = self.conns.get(&conn) {
            let _ = c.tx.send(Out::Bytes(b));
        }
    }

    /// Encodes `ev` for `conn`'s session and sends it (counted on failure).
    pub fn send_ev(&self, conn: u64, ev: &Ev) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let v = c
            .session
            .as_ref()
            .map_or(spec::MIN_PROTOCOL_VERSION, |s| s.version);
        match ev.build(v).and_then(|m| codec::encode(&m, v)) {
            Ok(b) => {
                let _ = c.tx.send(Out::Bytes(b));
            }
            Err(e) => {
                tracing::error!("simulator could not encode {}: {e}", ev.name);
                self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Closes one connection after what is queued for it.
    pub fn close_conn(&mut self, conn: u64) {
        if let Some(c) = self.conns.get_mut(&conn) {
            let _ = c.tx.send(Out::Close);
            if let Some(s) = c.session.take() {
                let (sid, side) = (s.session_id, c.side);
                self.session_closed(sid, side, &s, status("E_CTI_NO_ERROR"));
            }
        }
        self.notify.notify_waiters();
    }

    /// FAILURE_EVENT to a connection, then close it.
    pub fn fail_conn(&mut self, conn: u64, st: &str) {
        let ev = Ev::new("FAILURE_EVENT").int("Status", status(st));
        self.send_ev(conn, &ev);
        self.close_conn(conn);
    }

    /// Routes and sends events, then starts timers.
    pub fn apply(&mut self, fx: Effects) {
        for e in fx.emits {
            self.dispatch(&e);
        }
        for (d, t) in fx.timers {
            self.start_timer(d, t);
        }
        self.notify.notify_waiters();
    }

    fn start_timer(&self, d: Duration, t: Timer) {
        let me = self.me.clone();
        self.rt.spawn(async move {
            tokio::time::sleep(d).await;
            let Some(eng) = me.upgrade() else { return };
            let mut sh = lock(&eng);
            if sh.stopped {
                return;
            }
            let mut fx = Effects::default();
            let _ = match t {
                Timer::Answer { call, agent } => sh.model.answer(call, agent, &mut fx),
                Timer::Hangup { call } => sh.model.hangup(call, &mut fx),
            };
            sh.apply(fx);
        });
    }

    /// Sends one event to every session in its audience, once per session.
    pub fn dispatch(&mut self, e: &Emit) {
        let model = &self.model;
        let mut sent = 0u64;
        for c in self.conns.values_mut() {
            let Some(s) = c.session.as_mut() else {
                continue;
            };
            if s.standby {
                continue;
            }
            let out = audience(s, &e.route, &e.ev, model);
            for (ev, mid) in out {
                if c.tx.send(Out::Ev(ev, mid)).is_ok() {
                    sent += 1;
                }
            }
        }
        self.stats.messages_sent.fetch_add(sent, Ordering::Relaxed);
    }

    /// CLIENT_SESSION_CLOSED_EVENT to session monitors.
    fn session_closed(&mut self, sid: u32, _side: Side, s: &Sess, st: u32) {
        let ev = Arc::new(
            Ev::new("CLIENT_SESSION_CLOSED_EVENT")
                .int("SessionID", sid)
                .int("PeripheralID", self.model.peripheral_id)
                .int("Status", st)
                .int("ClientPort", 0)
                .s("ClientID", &s.client_id)
                .opt_s("ClientSignature", s.signature.as_deref()),
        );
        self.to_session_monitors(sid, ev);
        self.notify.notify_waiters();
    }

    pub fn to_session_monitors(&self, sid: u32, ev: Arc<Ev>) {
        for c in self.conns.values() {
            let Some(s) = &c.session else { continue };
            if s.standby || !s.has("CTI_SERVICE_CLIENT_MONITOR") || s.session_id == sid {
                continue;
            }
            let mid = s
                .monitors
                .iter()
                .find(|m| m.kind == MonitorKind::Session(sid))
                .map_or(0, |m| m.id);
            let _ = c.tx.send(Out::Ev(ev.clone(), mid));
        }
    }

    /// Sends the calls in progress to a session that just opened or became active:
    /// BEGIN_CALL_EVENT and the state of each connection (EventCause
    /// CEC_CALL_PARTY_UPDATE_IND).
    pub fn send_call_snapshot(&mut self, conn: u64) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(s) = c.session.as_mut() else { return };
        let mut out = Vec::new();
        for call in self.model.calls.values() {
            let mine = s.agent.is_some_and(|a| call.agent_conn(a).is_some());
            if !(s.all_events() || (s.client_events() && mine)) {
                continue;
            }
            s.seen.insert(call.id);
            out.push(self.model.begin_ev(call));
            for conn in &call.conns {
                let name = match conn.lcs {
                    "LCS_ALERTING" => "CALL_DELIVERED_EVENT",
                    "LCS_CONNECT" | "LCS_HOLD" | "LCS_INITIATE" => "CALL_ESTABLISHED_EVENT",
                    _ => continue,
                };
                let party = if name == "CALL_DELIVERED_EVENT" {
                    ("AlertingDeviceID", "AlertingDeviceType")
                } else {
                    ("AnsweringDeviceID", "AnsweringDeviceType")
                };
                let ev = self.model.call_ev(name, call, &conn.device);
                let ev = self
                    .model
                    .with_group(ev, call)
                    .int("LineHandle", 0)
                    .k("LineType", "LineType Values", call.line_type)
                    .k(party.1, "DeviceIDType Values", conn.dev_type)
                    .s(party.0, &conn.device)
                    .k("CallingDeviceType", "DeviceIDType Values", "DEVID_NONE")
                    .k("CalledDeviceType", "DeviceIDType Values", "DEVID_NONE")
                    .k(
                        "LastRedirectDeviceType",
                        "DeviceIDType Values",
                        "DEVID_NONE",
                    )
                    .k(
                        "LocalConnectionState",
                        "LocalConnectionState Values",
                        conn.lcs,
                    )
                    .k(
                        "EventCause",
                        "EventCause Values",
                        "CEC_CALL_PARTY_UPDATE_IND",
                    );
                out.push(ev);
                if conn.lcs == "LCS_HOLD" {
                    out.push(
                        self.model
                            .call_ev("CALL_HELD_EVENT", call, &conn.device)
                            .k("HoldingDeviceType", "DeviceIDType Values", conn.dev_type)
                            .s("HoldingDeviceID", &conn.device)
                            .k(
                                "LocalConnectionState",
                                "LocalConnectionState Values",
                                "LCS_HOLD",
                            )
                            .k(
                                "EventCause",
                                "EventCause Values",
                                "CEC_CALL_PARTY_UPDATE_IND",
                            ),
                    );
                }
            }
        }
        for ev in out {
            let _ = c.tx.send(Out::Ev(Arc::new(ev), 0));
        }
    }

    /// Promotes `side` to active: its standby sessions get STANDBY_ACTIVE_EVENT and the
    /// calls in progress.
    pub fn promote(&mut self, side: Side) {
        self.side_mut(side).state = SideState::Active;
        let ids: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.side == side && c.session.as_ref().is_some_and(|s| s.standby))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            let Some(s) = c.session.as_mut() else {
                continue;
            };
            s.standby = false;
            let v = s.version;
            if let Some(m) = spec::message_by_name("STANDBY_ACTIVE_EVENT_MSG") {
                if let Ok(b) = codec::encode(&Message::raw(m, Bytes::new()), v) {
                    let _ = c.tx.send(Out::Bytes(b));
                }
            }
            self.send_call_snapshot(id);
        }
    }
}

/// The (event, MonitorID) pairs session `s` gets for one emitted event, updating its
/// call bookkeeping. Empty when the session is not in the audience or masks it out.
fn audience(s: &mut Sess, route: &Route, ev: &Arc<Ev>, model: &Model) -> Vec<(Arc<Ev>, u32)> {
    let mut out = Vec::new();
    match route {
        Route::Call {
            call,
            agents,
            devices,
            bridges,
            to_seen,
            begin,
        } => {
            let own = s.client_events() && s.agent.is_some_and(|a| agents.contains(&a));
            let target =
                if (*bridges && s.all_events()) || own || (*to_seen && s.seen.contains(call)) {
                    Some((0, s.call_mask))
                } else {
                    s.monitors
                        .iter()
                        .find(|m| match &m.kind {
                            MonitorKind::Call(c) => c == call,
                            MonitorKind::Device(d) => devices.contains(d),
                            MonitorKind::Team(t) => agents.iter().any(|a| {
                                model
                                    .agents
                                    .get(*a)
                                    .is_some_and(|x| x.cfg.team_id == Some(*t))
                            }),
                            MonitorKind::Session(_) => false,
                        })
                        .map(|m| (m.id, m.call_mask))
                };
            let Some((mid, mask)) = target else {
                return out;
            };
            let passes = |name: &str| call_mask_bit(name).is_none_or(|b| mask & b != 0);
            match ev.name {
                "BEGIN_CALL_EVENT" => {
                    if !s.seen.insert(*call) {
                        return out;
                    }
                }
                "END_CALL_EVENT" => {
                    s.seen.remove(call);
                }
                _ => {
                    if !s.seen.contains(call) {
                        s.seen.insert(*call);
                        if let Some(b) = begin {
                            if passes("BEGIN_CALL_EVENT") {
                                out.push((b.clone(), mid));
                            }
                        }
                    }
                }
            }
            if passes(ev.name) {
                out.push((ev.clone(), mid));
            }
        }
        Route::AgentState(a) => {
            let ag = model.agents.get(*a);
            let target = if s.all_events() || (s.client_events() && s.agent == Some(*a)) {
                Some((0, s.agent_mask))
            } else {
                s.monitors
                    .iter()
                    .find(|m| match &m.kind {
                        MonitorKind::Device(d) => ag.is_some_and(|x| x.has_device(d)),
                        MonitorKind::Team(t) => ag.is_some_and(|x| x.cfg.team_id == Some(*t)),
                        _ => false,
                    })
                    .map(|m| (m.id, m.agent_mask))
            };
            let Some((mid, mask)) = target else {
                return out;
            };
            let st = ev.get_int("AgentState").unwrap_or(-1);
            let key = (st, ev.get_int("EventReasonCode").unwrap_or(0));
            // A duplicate repeats the agent's previous event, whether or not the
            // mask let that one through.
            let dup = s.last_agent.insert(*a, key) == Some(key);
            if dup && s.has("CTI_SERVICE_IGNORE_DUPLICATE_AGENT_EVENTS") {
                return out;
            }
            let bit = u16::try_from(st).ok().and_then(agent_mask_bit);
            if bit.is_some_and(|b| mask & b == 0) {
                return out;
            }
            out.push((ev.clone(), mid));
        }
        Route::Agents { agents, bridges } => {
            if (*bridges && s.all_events()) || s.agent.is_some_and(|a| agents.contains(&a)) {
                out.push((ev.clone(), 0));
            }
        }
        Route::All => out.push((ev.clone(), 0)),
    }
    out
}

/// Binds a listener with SO_REUSEADDR so a killed side can come back on its port.
pub(crate) fn bind(addr: SocketAddr, rt: &Handle) -> Result<TcpListener, SimError> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    sock.bind(&addr.into())?;
    sock.listen(1024)?;
    sock.set_nonblocking(true)?;
    let std: std::net::TcpListener = sock.into();
    let _guard = rt.enter();
    Ok(TcpListener::from_std(std)?)
}

/// Starts `side`'s listener at `addr` (and its TLS listener in mixed mode); returns
/// the bound address.
pub(crate) fn start_side(
    eng: &Engine,
    side: Side,
    addr: SocketAddr,
) -> Result<SocketAddr, SimError> {
    let (rt, acceptor, secure_only, tls_bind) = {
        let sh = lock(eng);
        let tls_cfg = sh.cfg.tls.as_ref();
        let default_bind = tls_cfg.map(|t| match side {
            Side::A => t.bind,
            Side::B => t.bind_b,
        });
        (
            sh.rt.clone(),
            sh.tls.clone(),
            tls_cfg.is_some_and(|t| t.secure_only),
            sh.side(side).tls_addr.or(default_bind),
        )
    };
    let listener = bind(addr, &rt)?;
    let local = listener.local_addr()?;
    let main_tls = if secure_only { acceptor.clone() } else { None };
    let extra = match (&acceptor, secure_only, tls_bind) {
        (Some(a), false, Some(b)) => Some((bind(b, &rt)?, a.clone())),
        _ => None,
    };
    let tls_local = match &extra {
        Some((l, _)) => Some(l.local_addr()?),
        None if secure_only => Some(local),
        None => None,
    };
    let (stop, stop_rx) = watch::channel(false);
    let task = rt.spawn(accept_loop(
        (listener, main_tls),
        extra,
        eng.clone(),
        side,
        stop_rx,
    ));
    let mut sh = lock(eng);
    let rt = sh.side_mut(side);
    rt.addr = Some(local);
    rt.tls_addr = tls_local;
    rt.stop = Some(stop);
    rt.task = Some(task);
    tracing::info!(%local, ?tls_local, ?side, "CTI simulator listening");
    Ok(local)
}

/// Stops `side`'s listener and closes its connections; the accept task is left in
/// `dying` for whoever needs to wait for the port to be free.
pub(crate) fn stop_side(sh: &mut Shared, side: Side) {
    let rt = sh.side_mut(side);
    if let Some(stop) = rt.stop.take() {
        let _ = stop.send(true);
    }
    rt.state = SideState::Down;
    if let Some(t) = rt.task.take() {
        rt.dying = Some(t);
    }
    let ids: Vec<u64> = sh
        .conns
        .iter()
        .filter(|(_, c)| c.side == side)
        .map(|(id, _)| *id)
        .collect();
    for id in ids {
        sh.close_conn(id);
        sh.conns.remove(&id);
    }
}

type Listener = (TcpListener, Option<tokio_rustls::TlsAcceptor>);

/// Longest TLS handshake the simulator waits for.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

async fn accept_loop(
    main: Listener,
    extra: Option<(TcpListener, tokio_rustls::TlsAcceptor)>,
    eng: Engine,
    side: Side,
    mut stop: watch::Receiver<bool>,
) {
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    loop {
        let extra_accept = async {
            match &extra {
                Some((l, a)) => (l.accept().await, Some(a.clone())),
                None => std::future::pending().await,
            }
        };
        let (accepted, acceptor) = tokio::select! {
            a = main.0.accept() => (a, main.1.clone()),
            a = extra_accept => a,
            _ = stop.changed() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                match acceptor {
                    None => {
                        let id = CONN_IDS.fetch_add(1, Ordering::Relaxed);
                        let (tx, rx) = mpsc::unbounded_channel();
                        lock(&eng).conns.insert(
                            id,
                            ConnRec {
                                side,
                                tx,
                                peer,
                                session: None,
                            },
                        );
                        tasks.push(tokio::spawn(serve(stream, eng.clone(), id, rx)));
                    }
                    Some(a) => tasks.push(tokio::spawn(serve_tls(
                        stream,
                        peer,
                        a,
                        eng.clone(),
                        side,
                        stop.clone(),
                    ))),
                }
                tasks.retain(|t| !t.is_finished());
            }
            Err(e) => tracing::warn!("simulator accept: {e}"),
        }
    }
    drop(main);
    drop(extra);
    for t in tasks {
        let _ = t.await;
    }
}

/// Runs the TLS handshake (bounded), then serves the connection unless the side
/// stopped meanwhile.
async fn serve_tls(
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    eng: Engine,
    side: Side,
    mut stop: watch::Receiver<bool>,
) {
    let handshake = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        acceptor.accept(crate::tls::NoSigPipe(stream)),
    );
    let tls = tokio::select! {
        r = handshake => r,
        _ = stop.changed() => return,
    };
    let tls = match tls {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::info!(%peer, "simulator TLS handshake failed: {e}");
            return;
        }
        Err(_) => {
            tracing::info!(%peer, "simulator TLS handshake timed out");
            return;
        }
    };
    let id = CONN_IDS.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::unbounded_channel();
    {
        let mut sh = lock(&eng);
        // Checked under the lock stop_side holds while it closes connections.
        if *stop.borrow() {
            return;
        }
        sh.conns.insert(
            id,
            ConnRec {
                side,
                tx,
                peer,
                session: None,
            },
        );
    }
    serve(tls, eng, id, rx).await;
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    eng: Engine,
    id: u64,
    mut rx: mpsc::UnboundedReceiver<Out>,
) {
    let counters = lock(&eng).stats.clone();
    let mut splitter = FrameSplitter::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut version: Option<u32> = None;
    'conn: loop {
        tokio::select! {
            biased;
            out = rx.recv() => match out {
                Some(Out::Ev(ev, mid)) => {
                    let v = version.unwrap_or(spec::MIN_PROTOCOL_VERSION);
                    match encode_ev(&ev, mid, v) {
                        Ok(b) => if stream.write_all(&b).await.is_err() { break 'conn },
                        Err(e) => {
                            tracing::error!("simulator could not encode {}: {e}", ev.name);
                            counters.encode_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Some(Out::Bytes(b)) => if stream.write_all(&b).await.is_err() { break 'conn },
                Some(Out::Close) | None => break 'conn,
            },
            read = stream.read(&mut buf) => {
                let n = match read { Ok(0) | Err(_) => break 'conn, Ok(n) => n };
                splitter.push(&buf[..n]);
                loop {
                    match splitter.next_frame() {
                        Ok(Some(frame)) => {
                            let mut sh = lock(&eng);
                            if let Some(v) = super::handlers::handle_frame(&mut sh, id, version, &frame) {
                                version = Some(v);
                            }
                        }
                        Ok(None) => break,
                        Err(_) => {
                            let mut sh = lock(&eng);
                            let ev = Ev::new("FAILURE_EVENT").int("Status", status("E_CTI_INVALID_MESSAGE_LENGTH"));
                            sh.send_ev(id, &ev);
                            sh.close_conn(id);
                            break;
                        }
                    }
                }
            }
        }
    }
    // Drain what was queued before the close (CLOSE_CONF, FAILURE_EVENT, replies).
    while let Ok(out) = rx.try_recv() {
        let b = match out {
            Out::Bytes(b) => b,
            Out::Ev(ev, mid) => match encode_ev(&ev, mid, version.unwrap_or(15)) {
                Ok(b) => b,
                Err(_) => continue,
            },
            Out::Close => break,
        };
        if stream.write_all(&b).await.is_err() {
            break;
        }
    }
    {
        let mut sh = lock(&eng);
        if let Some(c) = sh.conns.remove(&id) {
            if let Some(s) = c.session {
                let st = status("E_CTI_CLIENT_DISCONNECTED");
                sh.session_closed(s.session_id, c.side, &s, st);
            }
        }
        sh.notify.notify_waiters();
    }
    let _ = stream.shutdown().await;
}

fn encode_ev(ev: &Ev, mid: u32, v: u32) -> Result<Bytes, CodecError> {
    let mut m = ev.build(v)?;
    if mid != 0 && m.get("MonitorID").is_some() {
        m.set_int("MonitorID", mid.into())?;
    }
    codec::encode(&m, v)
}
