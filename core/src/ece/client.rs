//! The Messaging API client (async, over reqwest): token cache, configuration cache,
//! conversation start with 409 recovery, customer messages, conversation end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::Url;

use super::error::EceError;
use super::http::{self, Answer, HttpConfig, TokenBucket};
use super::messaging::{
    self, Conversation, Credentials, EntryPointConfig, MessageType, Request, StartConversation,
};
use super::token::{parse_token, TokenCache};
use crate::secret::Secret;

/// Settings of a Messaging API client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// ECE web server, e.g. `https://ece.example.com` (http only to loopback or with
    /// `http.allow_http`).
    pub server_url: String,
    /// API path below the server (default [`messaging::DEFAULT_API_PATH`]).
    pub api_path: String,
    /// Client Key and Secret of the registered application.
    pub credentials: Credentials,
    /// Entry point ID.
    pub entry_point_id: u64,
    /// Send `forceLogin=yes` at login (default true, data sheet E5). Instances sharing a
    /// client key may then invalidate each other's tokens.
    pub force_login: bool,
    /// `Accept-Language` of the login (default `en-us`; `None` omits it).
    pub accept_language: Option<String>,
    /// Fraction of the token lifetime after which a new login is made (default 0.9).
    pub token_refresh_ratio: f64,
    /// End-conversation path relative to the API path (unverified guess by default, E1).
    pub end_conversation_path: String,
    /// HTTP, TLS, timeout, retry and rate-limit settings.
    pub http: HttpConfig,
}

impl ClientConfig {
    /// Settings with the defaults for `server_url`, credentials and entry point.
    pub fn new(
        server_url: impl Into<String>,
        client_key: impl Into<String>,
        client_secret: impl Into<Secret>,
        entry_point_id: u64,
    ) -> Self {
        ClientConfig {
            server_url: server_url.into(),
            api_path: messaging::DEFAULT_API_PATH.into(),
            credentials: Credentials {
                client_key: client_key.into(),
                client_secret: client_secret.into(),
            },
            entry_point_id,
            force_login: true,
            accept_language: Some("en-us".into()),
            token_refresh_ratio: 0.9,
            end_conversation_path: messaging::DEFAULT_END_CONVERSATION_PATH.into(),
            http: HttpConfig::default(),
        }
    }
}

struct Inner {
    cfg: ClientConfig,
    http: reqwest::Client,
    base: Url,
    token: tokio::sync::Mutex<TokenCache>,
    config: tokio::sync::Mutex<Option<EntryPointConfig>>,
    bucket: Option<Mutex<TokenBucket>>,
    logins: AtomicU64,
}

/// A Messaging API client. Cheap to clone; clones share the token and configuration.
#[derive(Clone)]
pub struct EceClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EceClient")
            .field("base", &self.inner.base.as_str())
            .field("client_key", &self.inner.cfg.credentials.client_key)
            .field("entry_point_id", &self.inner.cfg.entry_point_id)
            .finish_non_exhaustive()
    }
}

impl EceClient {
    /// Validates the settings and builds the client (no network traffic yet).
    pub fn new(cfg: ClientConfig) -> Result<Self, EceError> {
        if cfg.credentials.client_key.is_empty() || cfg.credentials.client_secret.is_empty() {
            return Err(EceError::Config(
                "client_key and client_secret are required".into(),
            ));
        }
        let server = http::parse_base_url(&cfg.server_url, cfg.http.allow_http)?;
        let base = http::join(&server, &cfg.api_path)?;
        let client = http::build_client(&cfg.http, &base)?;
        let bucket = cfg
            .http
            .rate_limit
            .map(|l| Mutex::new(TokenBucket::new(l, Instant::now())));
        Ok(EceClient {
            inner: Arc::new(Inner {
                token: tokio::sync::Mutex::new(TokenCache::new(cfg.token_refresh_ratio)),
                config: tokio::sync::Mutex::new(None),
                http: client,
                base,
                bucket,
                logins: AtomicU64::new(0),
                cfg,
            }),
        })
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }

    /// Logins made so far.
    pub fn logins(&self) -> u64 {
        self.inner.logins.load(Ordering::Relaxed)
    }

    async fn exchange(&self, req: &Request) -> Result<Answer, EceError> {
        if let Some(b) = &self.inner.bucket {
            let wait = b
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        let a = http::send(
            &self.inner.http,
            &self.inner.base,
            req,
            self.inner.cfg.http.max_response_bytes,
            self.inner.cfg.http.trace,
        )
        .await?;
        messaging::check_status(req.op, a.status, &a.body)?;
        Ok(a)
    }

    /// Sends `req`, retrying per the policy when `retryable`.
    async fn exchange_with_retries(
        &self,
        build: impl Fn() -> Result<Request, EceError>,
        idempotent: bool,
    ) -> Result<Answer, EceError> {
        let policy = self.inner.cfg.http.retry;
        let mut retry = 0;
        loop {
            match self.exchange(&build()?).await {
                Err(e) if retry < policy.max_retries && http::retryable(&e, idempotent) => {
                    retry += 1;
                    tracing::info!(error = %e, retry, "ECE call failed; retrying");
                    tokio::time::sleep(policy.delay(retry)).await;
                }
                other => return other,
            }
        }
    }

    async fn token(&self) -> Result<Secret, EceError> {
        let mut cache = self.inner.token.lock().await;
        if let Some(t) = cache.current(Instant::now()) {
            return Ok(t.clone());
        }
        let cfg = &self.inner.cfg;
        let a = self
            .exchange_with_retries(
                || {
                    Ok(messaging::token_request(
                        &cfg.credentials,
                        cfg.force_login,
                        cfg.accept_language.as_deref(),
                    ))
                },
                true,
            )
            .await?;
        let grant = parse_token(&a.body).map_err(|reason| EceError::BadResponse {
            op: super::error::Operation::Login,
            reason,
        })?;
        self.inner.logins.fetch_add(1, Ordering::Relaxed);
        tracing::info!(lifetime_s = grant.lifetime.as_secs(), "ECE login");
        Ok(cache.store(grant, Instant::now()))
    }

    /// Logs in now, replacing any cached token.
    pub async fn login(&self) -> Result<(), EceError> {
        self.inner.token.lock().await.clear();
        self.token().await.map(drop)
    }

    /// A Bearer call: on 401 the token is dropped and the call made once more after a
    /// fresh login.
    async fn authed(
        &self,
        build: impl Fn(&Secret) -> Result<Request, EceError>,
        idempotent: bool,
    ) -> Result<Answer, EceError> {
        let token = self.token().await?;
        match self
            .exchange_with_retries(|| build(&token), idempotent)
            .await
        {
            Err(EceError::Unauthorized(h)) => {
                tracing::info!(op = %h.op, "ECE answered 401; logging in again");
                self.inner.token.lock().await.invalidate(&token);
                let token = self.token().await?;
                self.exchange_with_retries(|| build(&token), idempotent)
                    .await
            }
            other => other,
        }
    }

    /// The entry point configuration: cached unless `refresh`.
    pub async fn configuration(&self, refresh: bool) -> Result<EntryPointConfig, EceError> {
        let mut cached = self.inner.config.lock().await;
        if let (false, Some(c)) = (refresh, cached.as_ref()) {
            return Ok(c.clone());
        }
        let ep = self.inner.cfg.entry_point_id;
        let a = self
            .authed(|t| Ok(messaging::configuration_request(t, ep)), true)
            .await?;
        let c = messaging::parse_configuration(&a.body, ep).map_err(|reason| {
            EceError::BadResponse {
                op: super::error::Operation::Configuration,
                reason,
            }
        })?;
        *cached = Some(c.clone());
        Ok(c)
    }

    /// Starts a conversation. On 409 (stale `lastModified`) the configuration is fetched
    /// again and the start retried once. Never retried after a timeout or a server error:
    /// ECE may have created the conversation.
    pub async fn start_conversation(
        &self,
        req: &StartConversation,
    ) -> Result<Conversation, EceError> {
        let cfg = self.configuration(false).await?;
        let a = match self
            .authed(|t| Ok(messaging::start_request(t, &cfg, req)), false)
            .await
        {
            Err(EceError::StaleConfiguration(_)) => {
                tracing::info!("ECE answered 409 to start; refreshing the configuration");
                let cfg = self.configuration(true).await?;
                self.authed(|t| Ok(messaging::start_request(t, &cfg, req)), false)
                    .await?
            }
            other => other?,
        };
        messaging::parse_start(&a.body).map_err(|reason| EceError::BadResponse {
            op: super::error::Operation::StartConversation,
            reason,
        })
    }

    /// Sends a customer message. Never re-sent after a timeout, transport or server
    /// error (it may have been accepted); 409 is returned as `StaleConfiguration`.
    pub async fn send_message(
        &self,
        conversation_id: &str,
        message_type: MessageType,
        content: &str,
    ) -> Result<(), EceError> {
        self.authed(
            |t| messaging::send_message_request(t, conversation_id, message_type, content),
            false,
        )
        .await
        .map(drop)
    }

    /// Ends a conversation through the configured end path (unverified, data sheet E1).
    /// A `complete` webhook should follow. A 404 with ECE's JSON error body is
    /// [`EceError::NotFound`] (no such conversation: treat it as ended); a bare 404
    /// (the server has no endpoint at that path) is [`EceError::EndpointNotSupported`].
    pub async fn end_conversation(&self, conversation_id: &str) -> Result<(), EceError> {
        let path = &self.inner.cfg.end_conversation_path;
        self.authed(|t| messaging::end_request(t, path, conversation_id), false)
            .await
            .map(drop)
            .map_err(EceError::endpoint_missing_if_bare_404)
    }
}
