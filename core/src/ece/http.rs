//! HTTP plumbing shared by the Messaging API and chat web service clients: URL rules,
//! TLS, timeouts, bounded answers, retry policy and an optional rate limit.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use reqwest::Url;

use super::error::{EceError, Operation};
use super::messaging::{Method, Request};

/// Retries with exponential back-off, used only where a retry is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: none).
    pub max_retries: u32,
    /// Delay before the first retry; doubles on each retry.
    pub base_delay: Duration,
    /// Upper bound of one delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `retry` (1-based).
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

/// Whether an error may be retried: for idempotent calls any server or transport
/// failure; for the others only a failed connection (nothing was sent).
pub fn retryable(e: &EceError, idempotent: bool) -> bool {
    match e {
        EceError::Connect { .. } => true,
        EceError::ServerError(_) | EceError::Timeout { .. } | EceError::Transport { .. } => {
            idempotent
        }
        _ => false,
    }
}

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// TCP + TLS connect timeout (default 5 s).
    pub connect_timeout: Duration,
    /// Whole-request timeout (default 30 s).
    pub request_timeout: Duration,
    /// Verify the server certificate (default true). `false` is for lab servers only.
    pub verify_tls: bool,
    /// Extra trusted CA certificates (PEM), e.g. an enterprise CA.
    pub ca_pem: Option<String>,
    /// Allow `http://` to non-loopback hosts (default false; loopback is always allowed).
    pub allow_http: bool,
    /// Largest answer body read (default 1 MiB); more is a `BadResponse`.
    pub max_response_bytes: usize,
    /// Retries of safe calls.
    pub retry: RetryPolicy,
    /// Requests per second allowed (token bucket; `None`, the default: unlimited).
    pub rate_limit: Option<RateLimit>,
    /// Wire trace: each answered call as an INFO record under the target `libcce::wire`
    /// (method, path, status, sizes, time; no bodies, headers or query). Default false.
    pub trace: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            verify_tls: true,
            ca_pem: None,
            allow_http: false,
            max_response_bytes: 1 << 20,
            retry: RetryPolicy::default(),
            rate_limit: None,
            trace: false,
        }
    }
}

/// A client-side rate limit (data sheet E19).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Burst size.
    pub burst: u32,
}

/// A token bucket (sans-IO): how long to wait before the next request.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        TokenBucket {
            limit,
            tokens: f64::from(limit.burst.max(1)),
            last: now,
        }
    }

    /// Takes one token at `now`; returns how long the caller must wait first.
    pub fn take(&mut self, now: Instant) -> Duration {
        let rate = if self.limit.per_second > 0.0 {
            self.limit.per_second
        } else {
            f64::MIN_POSITIVE
        };
        let burst = f64::from(self.limit.burst.max(1));
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.last = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::try_from_secs_f64(-self.tokens / rate).unwrap_or(Duration::MAX)
        }
    }
}

/// True for `localhost` and loopback addresses.
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host_str() {
        Some(h) if h.eq_ignore_ascii_case("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// Parses and checks a server URL: `https://`, or `http://` to loopback or when allowed.
pub fn parse_base_url(s: &str, allow_http: bool) -> Result<Url, EceError> {
    let url = Url::parse(s.trim()).map_err(|e| EceError::Config(format!("URL {s:?}: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http || is_loopback_host(&url) => {}
        "http" => {
            return Err(EceError::Config(format!(
                "URL {s:?}: plain http to a remote host sends credentials in clear; use https or set allow_http"
            )))
        }
        other => return Err(EceError::Config(format!("URL {s:?}: scheme {other:?}"))),
    }
    if url.host_str().is_none() {
        return Err(EceError::Config(format!("URL {s:?} has no host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(EceError::Config(format!(
            "URL {s:?}: no query or fragment allowed"
        )));
    }
    Ok(url)
}

/// Makes ring the process-wide rustls crypto provider unless the host program already
/// installed one (reqwest is built without a provider of its own, so the one TLS stack of
/// the library is rustls on ring, as for the embedded servers).
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: a provider is then in place.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Builds the reqwest client for `base`.
pub fn build_client(cfg: &HttpConfig, base: &Url) -> Result<reqwest::Client, EceError> {
    ensure_crypto_provider();
    let mut b = reqwest::Client::builder()
        .tls_backend_rustls()
        .connect_timeout(cfg.connect_timeout)
        .timeout(cfg.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("libcce/", env!("CARGO_PKG_VERSION")));
    if !cfg.verify_tls {
        tracing::warn!("ECE client: TLS certificate verification is OFF (lab use only)");
        b = b.danger_accept_invalid_certs(true);
    }
    if let Some(pem) = &cfg.ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|e| EceError::Config(format!("ca_pem: {e}")))?;
        if certs.is_empty() {
            return Err(EceError::Config("ca_pem holds no certificate".into()));
        }
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    if is_loopback_host(base) {
        b = b.no_proxy();
    }
    b.build()
        .map_err(|e| EceError::Config(format!("HTTP client: {}", error_chain(&e))))
}

/// The error and its causes, joined with `: `.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn transport_error(op: Operation, e: &reqwest::Error) -> EceError {
    // The error chain names the URL (no secrets there), never a header.
    let reason = error_chain(e);
    if e.is_timeout() {
        EceError::Timeout { op }
    } else if e.is_connect() {
        EceError::Connect { op, reason }
    } else {
        EceError::Transport { op, reason }
    }
}

/// Joins `base` and a relative `path`.
pub fn join(base: &Url, path: &str) -> Result<Url, EceError> {
    let s = format!(
        "{}/{}",
        base.as_str().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    Url::parse(&s).map_err(|e| EceError::Config(format!("URL {s:?}: {e}")))
}

/// An HTTP answer: status and (bounded) body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Sends `req` to `base` and reads the answer (at most `max_body` bytes); with `trace`,
/// logs the exchange under `libcce::wire` (see [`HttpConfig::trace`]).
pub async fn send(
    client: &reqwest::Client,
    base: &Url,
    req: &Request,
    max_body: usize,
    trace: bool,
) -> Result<Answer, EceError> {
    let op = req.op;
    let started = Instant::now();
    let mut url = join(base, &req.path)?;
    let path = url.path().to_owned();
    if !req.query.is_empty() {
        let mut q = url.query_pairs_mut();
        for (k, v) in &req.query {
            q.append_pair(k, v);
        }
    }
    let mut rb = match req.method {
        Method::Get => client.get(url),
        Method::Post => client.post(url),
    };
    let accept = if op.is_chat_ws() {
        "application/xml, text/xml"
    } else {
        "application/json"
    };
    rb = rb.header(reqwest::header::ACCEPT, accept);
    if !req.authorization.is_empty() {
        let mut v =
            reqwest::header::HeaderValue::from_str(req.authorization.expose()).map_err(|_| {
                EceError::Config("credentials hold characters not allowed in a header".into())
            })?;
        v.set_sensitive(true);
        rb = rb.header(reqwest::header::AUTHORIZATION, v);
    }
    if let Some(l) = &req.accept_language {
        rb = rb.header(reqwest::header::ACCEPT_LANGUAGE, l.as_str());
    }
    if let Some(ct) = req.content_type {
        rb = rb.header(reqwest::header::CONTENT_TYPE, ct);
    }
    if !req.body.is_empty() || req.method == Method::Post {
        rb = rb.body(req.body.clone());
    }
    let mut resp = rb.send().await.map_err(|e| transport_error(op, &e))?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport_error(op, &e))? {
        if body.len() + chunk.len() > max_body {
            return Err(EceError::BadResponse {
                op,
                reason: format!("answer larger than {max_body} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    tracing::debug!(op = %op, status, bytes = body.len(), "ECE answer");
    if trace {
        let rec = serde_json::json!({
            "proto": "ece",
            "op": op.to_string(),
            "method": if req.method == Method::Get { "GET" } else { "POST" },
            "path": path,
            "status": status,
            "request_bytes": req.body.len(),
            "response_bytes": body.len(),
            "ms": started.elapsed().as_secs_f64() * 1000.0,
        });
        tracing::info!(target: "libcce::wire", "{rec}");
    }
    Ok(Answer { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_https_except_on_loopback() {
        assert!(parse_base_url("https://ece.example.com", false).is_ok());
        assert!(parse_base_url("http://127.0.0.1:8080", false).is_ok());
        assert!(parse_base_url("http://localhost:1", false).is_ok());
        assert!(parse_base_url("http://[::1]:1", false).is_ok());
        assert!(matches!(
            parse_base_url("http://ece.example.com", false),
            Err(EceError::Config(_))
        ));
        assert!(parse_base_url("http://ece.example.com", true).is_ok());
        assert!(parse_base_url("ftp://x", true).is_err());
        assert!(parse_base_url("https://x/?a=1", true).is_err());
        assert!(parse_base_url("not a url", true).is_err());
    }

    #[test]
    fn join_keeps_the_context_root() {
        let b = parse_base_url("https://h/system/", false).unwrap();
        assert_eq!(
            join(&b, "/egain/chat/x").unwrap().as_str(),
            "https://h/system/egain/chat/x"
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        assert_eq!(p.delay(1), Duration::from_millis(100));
        assert_eq!(p.delay(2), Duration::from_millis(200));
        assert_eq!(p.delay(3), Duration::from_millis(350));
        assert_eq!(p.delay(60), Duration::from_millis(350));
    }

    #[test]
    fn only_safe_failures_are_retried() {
        let op = Operation::SendMessage;
        let connect = EceError::Connect {
            op,
            reason: "refused".into(),
        };
        let timeout = EceError::Timeout { op };
        assert!(retryable(&connect, false));
        assert!(!retryable(&timeout, false));
        assert!(retryable(&timeout, true));
        let conflict = EceError::from_status(super::super::messaging::http_failure(op, 409, b""));
        assert!(!retryable(&conflict, true));
    }

    #[test]
    fn token_bucket_spaces_requests() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(
            RateLimit {
                per_second: 10.0,
                burst: 2,
            },
            t0,
        );
        assert_eq!(b.take(t0), Duration::ZERO);
        assert_eq!(b.take(t0), Duration::ZERO);
        let w = b.take(t0);
        assert!(
            w > Duration::from_millis(90) && w <= Duration::from_millis(100),
            "{w:?}"
        );
        // A second later the bucket is full again (burst 2).
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(b.take(t1), Duration::ZERO);
    }
}
