//! A small HTTP/1.1 server loop (hyper) shared by the webhook server and the ECE
//! simulator: loopback-friendly, bounded connections, header timeout, stop on demand.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::error::EceError;

/// Connection limits and optional TLS.
#[derive(Clone)]
pub(crate) struct ServerOptions {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
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
        let permits = Arc::new(Semaphore::new(opts.max_connections.max(1)));
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                let permit = tokio::select! {
                    _ = stopped.changed() => break,
                    p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                };
                let stream = tokio::select! {
                    _ = stopped.changed() => break,
                    r = listener.accept() => match r {
                        Ok((s, _)) => s,
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            continue;
                        }
                    },
                };
                // Reap finished connections so the set stays small.
                while conns.try_join_next().is_some() {}
                let handler = handler.clone();
                let tls = opts.tls.clone();
                let timeout = opts.header_timeout;
                conns.spawn(async move {
                    let _permit = permit;
                    match tls {
                        None => serve(stream, timeout, handler).await,
                        Some(acceptor) => {
                            match tokio::time::timeout(
                                timeout,
                                acceptor.accept(crate::tls::NoSigPipe(stream)),
                            )
                            .await
                            {
                                Ok(Ok(tls_stream)) => serve(tls_stream, timeout, handler).await,
                                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                                Err(_) => tracing::debug!("TLS handshake timed out"),
                            }
                        }
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
        })
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
