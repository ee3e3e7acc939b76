//! The webhook HTTP server the application embeds: ECE POSTs events here.
//!
//! Each POST is checked (path, method, credentials in constant time, a JSON
//! Content-Type (else 415), size, JSON depth),
//! parsed, routed (see [`EventRouter`]) and answered `204` at once; the events are then
//! read by the application from [`WebhookEvents`] in arrival order, which keeps the
//! order of every conversation. A full queue answers `503` without losing state, so
//! ECE may retry; a retried POST is de-duplicated on event IDs.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde::Serialize;
use tokio::sync::mpsc;

use super::error::EceError;
use super::server::{empty, response, HttpServer, ServerOptions, TlsIdentity};
use super::webhook::{parse_body, EventRouter, WebhookAuth, WebhookEvent, WebhookLimits};

/// An oversized body declared up to this multiple of the limit is read and discarded
/// before the 413 is sent (see `handle`).
const DRAIN_FACTOR: u64 = 8;
/// Never read more than this from a refused body.
const MAX_DRAIN_BYTES: u64 = 16 << 20;

/// Settings of the webhook server.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Address to listen on (default `127.0.0.1:0`: loopback, ephemeral port).
    pub bind: SocketAddr,
    /// Path of the callback URL (default `/`); other paths get 404.
    pub path: String,
    /// Credentials ECE must present.
    pub auth: WebhookAuth,
    /// Body limits.
    pub limits: WebhookLimits,
    /// Events queued for the application before POSTs get 503 (default 10,000).
    pub queue_capacity: usize,
    /// Event IDs remembered for de-duplication (default 4,096).
    pub dedup_window: usize,
    /// Simultaneous connections (default 256). When all are held, the oldest one that
    /// has not sent a byte yet is closed to make room for a new one.
    pub max_connections: usize,
    /// Simultaneous connections of one peer address (default 128), with the same
    /// eviction of connections that never sent a byte.
    pub max_connections_per_peer: usize,
    /// Time a new connection has to send its first byte before it is closed
    /// (default 2 s; ECE sends its request at once).
    pub first_byte_timeout: Duration,
    /// Time allowed to send the headers, and then the body (default 10 s each).
    pub read_timeout: Duration,
    /// Serve HTTPS with this certificate (default: plain HTTP, e.g. behind a proxy).
    pub tls: Option<TlsIdentity>,
}

impl WebhookConfig {
    /// Defaults with the given credentials.
    pub fn new(auth: WebhookAuth) -> Self {
        WebhookConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            path: "/".into(),
            auth,
            limits: WebhookLimits::default(),
            queue_capacity: 10_000,
            dedup_window: 4096,
            max_connections: 256,
            max_connections_per_peer: 128,
            first_byte_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(10),
            tls: None,
        }
    }
}

/// Counters of the webhook server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WebhookStats {
    /// HTTP requests received.
    pub requests: u64,
    /// POSTs accepted (204).
    pub accepted: u64,
    /// Events queued for the application.
    pub events: u64,
    /// Events dropped as duplicates.
    pub duplicates: u64,
    /// Events dropped for lack of a conversation.
    pub unroutable: u64,
    /// Requests refused with 401.
    pub unauthorized: u64,
    /// Bodies refused (400, 408, 413, 415).
    pub bad_bodies: u64,
    /// Requests refused for path or method (404, 405).
    pub bad_requests: u64,
    /// POSTs refused with 503 (queue full or server stopping).
    pub overloaded: u64,
    /// Connections closed to make room before they sent a byte (idle-connection flood).
    pub evicted: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    accepted: AtomicU64,
    unauthorized: AtomicU64,
    bad_bodies: AtomicU64,
    bad_requests: AtomicU64,
    overloaded: AtomicU64,
}

struct State {
    router: EventRouter,
    tx: Option<mpsc::Sender<WebhookEvent>>,
}

struct Shared {
    cfg: WebhookConfig,
    state: Mutex<State>,
    counters: Counters,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bump(&self, c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn refuse_body(&self, status: u16, why: &str) -> Response<Full<Bytes>> {
        self.bump(&self.counters.bad_bodies);
        tracing::warn!(status, reason = why, "ECE webhook body refused");
        response(status, "text/plain; charset=utf-8", format!("{why}\n"))
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        self.bump(&self.counters.requests);
        if req.uri().path() != self.cfg.path {
            self.bump(&self.counters.bad_requests);
            return empty(404);
        }
        if req.method() != hyper::Method::POST {
            self.bump(&self.counters.bad_requests);
            let mut r = empty(405);
            r.headers_mut().insert(
                hyper::header::ALLOW,
                hyper::header::HeaderValue::from_static("POST"),
            );
            return r;
        }
        let auth = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        if !self.cfg.auth.verify(auth) {
            self.bump(&self.counters.unauthorized);
            tracing::warn!("ECE webhook call with missing or wrong credentials refused");
            let mut r = empty(401);
            r.headers_mut().insert(
                hyper::header::WWW_AUTHENTICATE,
                hyper::header::HeaderValue::from_static(self.cfg.auth.challenge()),
            );
            return r;
        }
        let content_type = req
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if !is_json_content_type(content_type) {
            return self.refuse_body(415, "Content-Type must be application/json");
        }
        let max = self.cfg.limits.max_body_bytes;
        let declared = req
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(n) = declared.filter(|n| *n > max as u64) {
            // Read (and discard) a moderately oversized body before answering, so that
            // the sender gets the 413 instead of a reset while it is still writing.
            // Hostile sizes are not read at all.
            let drain_cap = (max as u64)
                .saturating_mul(DRAIN_FACTOR)
                .min(MAX_DRAIN_BYTES);
            if n <= drain_cap {
                let mut body = req.into_body();
                let drain = async {
                    let mut seen = 0u64;
                    while let Some(Ok(frame)) = body.frame().await {
                        seen += frame.data_ref().map_or(0, |d| d.len() as u64);
                        if seen > drain_cap {
                            break;
                        }
                    }
                };
                let _ = tokio::time::timeout(self.cfg.read_timeout, drain).await;
            }
            return self.refuse_body(413, "body too large");
        }
        let body = Limited::new(req.into_body(), max);
        let bytes = match tokio::time::timeout(self.cfg.read_timeout, body.collect()).await {
            Err(_) => return self.refuse_body(408, "body not received in time"),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                return self.refuse_body(413, "body too large")
            }
            Ok(Err(_)) => return self.refuse_body(400, "body could not be read"),
            Ok(Ok(c)) => c.to_bytes(),
        };
        let events = match parse_body(&bytes, &self.cfg.limits) {
            Ok(ev) => ev,
            Err(e) => return self.refuse_body(e.status(), &e.to_string()),
        };
        let mut st = self.state();
        let State { router, tx } = &mut *st;
        let Some(tx) = tx else {
            self.bump(&self.counters.overloaded);
            return empty(503);
        };
        if tx.capacity() < events.len() {
            drop(st);
            self.bump(&self.counters.overloaded);
            tracing::warn!("ECE webhook queue full: answering 503");
            let mut r = empty(503);
            r.headers_mut().insert(
                hyper::header::RETRY_AFTER,
                hyper::header::HeaderValue::from_static("1"),
            );
            return r;
        }
        for ev in router.route(events) {
            // Capacity was checked under the same lock: this cannot fail for lack of room.
            if tx.try_send(ev).is_err() {
                tracing::warn!("ECE webhook event lost: the application stopped reading");
            }
        }
        drop(st);
        self.bump(&self.counters.accepted);
        empty(204)
    }
}

/// True for `application/json` (any case, with or without parameters such as
/// `charset`) and the `application/*+json` types; false for anything else or none.
fn is_json_content_type(value: Option<&str>) -> bool {
    let Some(v) = value else { return false };
    let essence = v
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json") && !sub.contains('/'))
}

/// The events received, in delivery order. Ends (`None`) after the server stopped and
/// every queued event was taken.
#[derive(Debug)]
pub struct WebhookEvents {
    rx: mpsc::Receiver<WebhookEvent>,
}

impl WebhookEvents {
    /// The next event; `None` once the server stopped and the queue is empty.
    pub async fn recv(&mut self) -> Option<WebhookEvent> {
        self.rx.recv().await
    }

    /// The next event if one is queued.
    pub fn try_recv(&mut self) -> Option<WebhookEvent> {
        self.rx.try_recv().ok()
    }
}

/// A running webhook server. [`WebhookServer::stop`] stops it; dropping it stops
/// accepting too (without waiting).
pub struct WebhookServer {
    server: HttpServer,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for WebhookServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookServer")
            .field("addr", &self.server.local_addr())
            .field("auth", &self.shared.cfg.auth)
            .finish_non_exhaustive()
    }
}

impl WebhookServer {
    /// Binds and starts serving; returns the server and its event stream.
    pub async fn start(cfg: WebhookConfig) -> Result<(Self, WebhookEvents), EceError> {
        if !cfg.path.starts_with('/') {
            return Err(EceError::Config(format!(
                "webhook path {:?} must start with /",
                cfg.path
            )));
        }
        if matches!(cfg.auth, WebhookAuth::AllowUnauthenticated) {
            tracing::warn!("ECE webhook server accepts unauthenticated calls (lab use only)");
        }
        let (tx, rx) = mpsc::channel(cfg.queue_capacity.max(1));
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                router: EventRouter::new(cfg.dedup_window),
                tx: Some(tx),
            }),
            counters: Counters::default(),
            cfg,
        });
        let opts = ServerOptions {
            max_connections: shared.cfg.max_connections,
            max_connections_per_peer: shared.cfg.max_connections_per_peer,
            first_byte_timeout: shared.cfg.first_byte_timeout,
            header_timeout: shared.cfg.read_timeout,
            tls: shared
                .cfg
                .tls
                .as_ref()
                .map(TlsIdentity::acceptor)
                .transpose()?,
        };
        let s = shared.clone();
        let server =
            HttpServer::start(shared.cfg.bind, opts, move |req| s.clone().handle(req)).await?;
        Ok((WebhookServer { server, shared }, WebhookEvents { rx }))
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The callback URL on this address (`http(s)://ADDR/PATH`; behind a TLS proxy,
    /// register the proxy's URL in ECE instead).
    pub fn url(&self) -> String {
        format!(
            "{}://{}{}",
            self.server.scheme(),
            self.local_addr(),
            self.shared.cfg.path
        )
    }

    /// Counters.
    pub fn stats(&self) -> WebhookStats {
        let c = &self.shared.counters;
        let r = self.shared.state().router.stats();
        WebhookStats {
            requests: c.requests.load(Ordering::Relaxed),
            accepted: c.accepted.load(Ordering::Relaxed),
            events: r.delivered,
            duplicates: r.duplicates,
            unroutable: r.unroutable,
            unauthorized: c.unauthorized.load(Ordering::Relaxed),
            bad_bodies: c.bad_bodies.load(Ordering::Relaxed),
            bad_requests: c.bad_requests.load(Ordering::Relaxed),
            overloaded: c.overloaded.load(Ordering::Relaxed),
            evicted: self.server.evicted(),
        }
    }

    /// Stops the server. Events already queued can still be read; then the stream ends.
    pub async fn stop(self) {
        self.shared.state().tx = None;
        self.server.stop().await;
    }
}
