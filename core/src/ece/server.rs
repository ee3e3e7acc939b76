//! A small HTTP/1.1 server loop (hyper) shared by the webhook server and the ECE
//! simulator: loopback-friendly, bounded connections, header timeout, stop on demand.
//!
//! Idle connections cannot starve real requests: at most `max_connections` connections
//! serve requests and as many again may wait for their first byte; a connection must
//! send that byte within the first-byte deadline; one peer may hold at most
//! `max_connections_per_peer`; and when a limit is reached, the oldest connection that
//! has not sent a byte yet is closed to make room for the new one (a new connection
//! is refused only when no held connection is idle).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::error::EceError;

/// Connection limits and optional TLS.
#[derive(Clone)]
pub(crate) struct ServerOptions {
    pub max_connections: usize,
    pub max_connections_per_peer: usize,
    pub first_byte_timeout: Duration,
    pub header_timeout: Duration,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// One held connection.
struct Held {
    peer: IpAddr,
    /// Set once the peer sent its first byte; from then on it is never evicted.
    started: Arc<AtomicBool>,
    /// Closes the connection when sent (or dropped).
    evict: oneshot::Sender<()>,
}

impl Held {
    /// True once the peer sent a byte.
    fn has_sent(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }
}

/// The connections held, oldest first, with per-peer counts.
#[derive(Default)]
struct Registry {
    held: BTreeMap<u64, Held>,
    per_peer: HashMap<IpAddr, usize>,
    next_id: u64,
    evicted: u64,
}

/// What a newly accepted connection gets: its id, its "started" flag and the
/// receiver that tells it to close.
type Admission = (u64, Arc<AtomicBool>, oneshot::Receiver<()>);

impl Registry {
    /// Closes the oldest connection that has not sent a byte (of `peer` only, when
    /// given). False when there is none.
    fn evict_oldest_idle(&mut self, peer: Option<IpAddr>) -> bool {
        let victim = self
            .held
            .iter()
            .filter(|(_, h)| peer.is_none_or(|p| h.peer == p))
            .find(|(_, h)| !h.has_sent())
            .map(|(id, _)| *id);
        match victim.and_then(|id| self.remove(id)) {
            Some(h) => {
                self.evicted += 1;
                let _ = h.evict.send(());
                true
            }
            None => false,
        }
    }

    /// Admits a new connection from `peer` as waiting for its first byte. At most
    /// `max_waiting` connections wait and one peer holds at most `per_peer_max`;
    /// at a limit the oldest waiting one (of that peer, for the per-peer limit) is
    /// closed to make room. `None`: no connection can make room, refuse this one.
    fn admit(
        &mut self,
        peer: IpAddr,
        max_waiting: usize,
        per_peer_max: usize,
    ) -> Option<Admission> {
        while self.per_peer.get(&peer).copied().unwrap_or(0) >= per_peer_max {
            if !self.evict_oldest_idle(Some(peer)) {
                return None;
            }
        }
        while self.held.values().filter(|h| !h.has_sent()).count() >= max_waiting {
            if !self.evict_oldest_idle(None) {
                return None;
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        let started = Arc::new(AtomicBool::new(false));
        let (evict, rx) = oneshot::channel();
        self.held.insert(
            id,
            Held {
                peer,
                started: started.clone(),
                evict,
            },
        );
        *self.per_peer.entry(peer).or_insert(0) += 1;
        Some((id, started, rx))
    }

    /// A connection sent its first byte: it may proceed if fewer than `max` others
    /// are serving requests.
    fn activate(&mut self, id: u64, max: usize) -> bool {
        let busy = self
            .held
            .iter()
            .filter(|(other, h)| **other != id && h.started.load(Ordering::Acquire))
            .count();
        match self.held.get(&id) {
            Some(h) if busy < max => {
                h.started.store(true, Ordering::Release);
                true
            }
            _ => false,
        }
    }

    fn remove(&mut self, id: u64) -> Option<Held> {
        let h = self.held.remove(&id)?;
        if let Some(n) = self.per_peer.get_mut(&h.peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_peer.remove(&h.peer);
            }
        }
        Some(h)
    }
}

fn lock(r: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    r.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes a connection from the registry when its task ends, however it ends.
struct Release(Arc<Mutex<Registry>>, u64);

impl Drop for Release {
    fn drop(&mut self) {
        lock(&self.0).remove(self.1);
    }
}

/// Waits until the peer sent at least one byte (or closed, or failed): false when it
/// did not within `deadline`.
async fn first_byte(stream: &tokio::net::TcpStream, deadline: Duration) -> bool {
    let mut b = [0u8; 1];
    matches!(
        tokio::time::timeout(deadline, stream.peek(&mut b)).await,
        Ok(Ok(n)) if n > 0
    )
}

/// A server certificate chain and its private key, in PEM.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsIdentity {
    /// Certificate chain (PEM), leaf first.
    pub cert_pem: String,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_pem: String,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsIdentity { key_pem: <redacted>, .. }")
    }
}

impl TlsIdentity {
    /// The TLS acceptor for this identity (TLS 1.2/1.3, HTTP/1.1 by ALPN).
    pub(crate) fn acceptor(&self) -> Result<tokio_rustls::TlsAcceptor, EceError> {
        crate::tls::TlsServerConfig::from_pem(self.cert_pem.clone(), self.key_pem.clone())
            .acceptor(&[b"http/1.1"])
            .map_err(|e| EceError::Config(e.to_string()))
    }
}

/// Serves one connection.
async fn serve<S, F, Fut>(io: S, header_timeout: Duration, handler: F)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let h = handler.clone();
        async move { Ok::<_, std::convert::Infallible>(h(req).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(io), service);
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "HTTP connection ended with an error");
    }
}

/// A running server. [`HttpServer::stop`] stops it and waits; dropping it stops
/// accepting too, without waiting.
pub(crate) struct HttpServer {
    addr: SocketAddr,
    tls: bool,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
    registry: Arc<Mutex<Registry>>,
}

/// A response with a body.
pub(crate) fn response(
    status: u16,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

/// A response without a body.
pub(crate) fn empty(status: u16) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r
}

impl HttpServer {
    /// Binds `addr` and serves every request with `handler`.
    pub(crate) async fn start<F, Fut>(
        addr: SocketAddr,
        opts: ServerOptions,
        handler: F,
    ) -> Result<Self, EceError>
    where
        F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
    {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| EceError::Io(format!("cannot listen on {addr}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| EceError::Io(e.to_string()))?;
        let tls = opts.tls.is_some();
        let (shutdown, mut stopped) = watch::channel(false);
        let registry = Arc::new(Mutex::new(Registry::default()));
        let reg = registry.clone();
        let max = opts.max_connections.max(1);
        let per_peer_max = opts.max_connections_per_peer.max(1);
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                let (stream, peer) = tokio::select! {
                    _ = stopped.changed() => break,
                    r = listener.accept() => match r {
                        Ok(s) => s,
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            continue;
                        }
                    },
                };
                // Reap finished connections so the set stays small.
                while conns.try_join_next().is_some() {}
                // As many connections again as may be served can wait for their first byte.
                let Some((id, started, evicted)) = lock(&reg).admit(peer.ip(), max, per_peer_max)
                else {
                    tracing::debug!(%peer, "connection refused: every held connection is busy");
                    drop(stream);
                    continue;
                };
                let release = Release(reg.clone(), id);
                let reg_task = reg.clone();
                let handler = handler.clone();
                let tls = opts.tls.clone();
                let timeout = opts.header_timeout;
                let first_byte_timeout = opts.first_byte_timeout;
                conns.spawn(async move {
                    let _release = release;
                    let work = async move {
                        if !first_byte(&stream, first_byte_timeout).await {
                            tracing::debug!(%peer, "no request within the first-byte deadline");
                            return;
                        }
                        started.store(true, Ordering::Release);
                        if !lock(&reg_task).activate(id, max) {
                            tracing::debug!(%peer, "connection refused: every slot is serving");
                            return;
                        }
                        match tls {
                            None => serve(stream, timeout, handler).await,
                            Some(acceptor) => {
                                match tokio::time::timeout(
                                    timeout,
                                    acceptor.accept(crate::tls::NoSigPipe(stream)),
                                )
                                .await
                                {
                                    Ok(Ok(s)) => serve(s, timeout, handler).await,
                                    Ok(Err(e)) => {
                                        tracing::debug!(error = %e, "TLS handshake failed")
                                    }
                                    Err(_) => tracing::debug!("TLS handshake timed out"),
                                }
                            }
                        }
                    };
                    tokio::select! {
                        _ = evicted => tracing::debug!(%peer, "idle connection evicted"),
                        () = work => {}
                    }
                });
            }
            conns.shutdown().await;
        });
        Ok(HttpServer {
            addr,
            tls,
            shutdown,
            task,
            registry,
        })
    }

    /// Connections closed to make room before they sent a byte.
    pub(crate) fn evicted(&self) -> u64 {
        lock(&self.registry).evicted
    }

    /// The bound address.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https` when serving TLS, else `http`.
    pub(crate) fn scheme(&self) -> &'static str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }

    /// Stops accepting, closes open connections and waits for the loop to end.
    pub(crate) async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}
