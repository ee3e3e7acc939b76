//! ECE behind a blocking JSON API: the Messaging API client, the webhook server, the
//! chat web services and the simulator, as the C ABI, Python and Node bindings use them.
//!
//! Errors map to [`ErrorKind`] as follows, with the HTTP status (if any) in
//! `status` and the ECE error name (`Unauthorized`, `StaleConfiguration`, `Timeout`...)
//! in `status_name`: configuration/argument errors and 400 → `InvalidArgument`;
//! 401, 403, 409 and 5xx → `Refused`; 404 (conversation gone) and stopped servers →
//! `Closed`; a 404 of the endpoint itself (`EndpointNotSupported`, e.g. no
//! end-conversation API at the configured path) → `InvalidArgument`; timeouts → `Timeout`; connection and transport failures → `Io`; other
//! statuses and unreadable answers → `Protocol`.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;

use super::pump::{EventPump, Taken};
use super::*;
use crate::ece::chatws::{ChatWsPaths, Survey};
use crate::ece::http::{HttpConfig, RateLimit};
use crate::ece::messaging::{MessageType, StartConversation};
use crate::ece::webhook::{WebhookAuth, WebhookLimits};
use crate::ece::webhook_server::{WebhookConfig, WebhookServer};
use crate::ece::WebhookEvent;
use crate::ece::{self as ece_core, EceError, Secret};
use crate::queue::QueueLimits;
use crate::sim::ece::{EceSimConfig, EceSimulator};

impl From<EceError> for Error {
    fn from(e: EceError) -> Self {
        let kind = match &e {
            EceError::Config(_)
            | EceError::InvalidArgument(_)
            | EceError::BadRequest(_)
            | EceError::Unsupported(_)
            | EceError::EndpointNotSupported(_) => ErrorKind::InvalidArgument,
            EceError::Unauthorized(_)
            | EceError::Forbidden(_)
            | EceError::StaleConfiguration(_)
            | EceError::ServerError(_) => ErrorKind::Refused,
            EceError::NotFound(_) | EceError::Closed => ErrorKind::Closed,
            EceError::Timeout { .. } => ErrorKind::Timeout,
            EceError::Connect { .. } | EceError::Transport { .. } | EceError::Io(_) => {
                ErrorKind::Io
            }
            EceError::UnexpectedStatus(_) | EceError::BadResponse { .. } => ErrorKind::Protocol,
        };
        Error {
            kind,
            message: e.to_string(),
            status: e.status().map(u32::from),
            status_name: Some(e.name().to_owned()),
            protocol: Some(Protocol::Ece),
        }
    }
}

/// HTTP keys shared by the client and chat web services configurations.
const HTTP_KEYS: &[&str] = &[
    "connect_timeout_ms",
    "request_timeout_ms",
    "verify_tls",
    "ca_pem",
    "allow_http",
    "max_response_bytes",
    "max_retries",
    "retry_base_ms",
    "retry_max_ms",
    "rate_limit_per_sec",
    "rate_limit_burst",
    "trace",
];

#[derive(Debug, Default, Deserialize)]
struct HttpJson {
    connect_timeout_ms: Option<u64>,
    request_timeout_ms: Option<u64>,
    verify_tls: Option<bool>,
    ca_pem: Option<String>,
    allow_http: Option<bool>,
    max_response_bytes: Option<usize>,
    max_retries: Option<u32>,
    retry_base_ms: Option<u64>,
    retry_max_ms: Option<u64>,
    rate_limit_per_sec: Option<f64>,
    rate_limit_burst: Option<u32>,
    trace: Option<bool>,
}

impl HttpJson {
    fn apply(self, h: &mut HttpConfig) -> Result<(), Error> {
        if let Some(ms) = self.connect_timeout_ms {
            h.connect_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = self.request_timeout_ms {
            h.request_timeout = Duration::from_millis(ms);
        }
        if let Some(v) = self.verify_tls {
            h.verify_tls = v;
        }
        if let Some(v) = self.trace {
            h.trace = v;
        }
        h.ca_pem = self.ca_pem.or(h.ca_pem.take());
        if let Some(v) = self.allow_http {
            h.allow_http = v;
        }
        if let Some(v) = self.max_response_bytes {
            h.max_response_bytes = v;
        }
        if let Some(v) = self.max_retries {
            h.retry.max_retries = v;
        }
        if let Some(ms) = self.retry_base_ms {
            h.retry.base_delay = Duration::from_millis(ms);
        }
        if let Some(ms) = self.retry_max_ms {
            h.retry.max_delay = Duration::from_millis(ms);
        }
        if let Some(per_second) = self.rate_limit_per_sec {
            if !(per_second.is_finite() && per_second > 0.0) {
                return Err(Error::invalid("rate_limit_per_sec must be > 0"));
            }
            h.rate_limit = Some(RateLimit {
                per_second,
                burst: self.rate_limit_burst.unwrap_or(1),
            });
        }
        Ok(())
    }
}

/// Parses `text` as a JSON object with only `known` keys, into `T` and its HTTP keys.
fn parse_with_http<T: DeserializeOwned>(
    text: &str,
    what: &str,
    known: &[&str],
) -> Result<(T, HttpJson), Error> {
    let v = super::config_json::parse(text, what, &["paths"])?;
    let obj = v
        .as_object()
        .ok_or_else(|| Error::invalid(format!("{what}: expected a JSON object")))?;
    let allowed: BTreeSet<&str> = known.iter().chain(HTTP_KEYS).copied().collect();
    if let Some(k) = obj.keys().find(|k| !allowed.contains(k.as_str())) {
        return Err(Error::invalid(format!("{what}: unknown key {k:?}")));
    }
    let t =
        serde_json::from_value(v.clone()).map_err(|e| Error::invalid(format!("{what}: {e}")))?;
    let h = serde_json::from_value(v).map_err(|e| Error::invalid(format!("{what}: {e}")))?;
    Ok((t, h))
}

#[derive(Debug, Deserialize)]
struct ClientJson {
    server_url: String,
    client_key: String,
    #[serde(deserialize_with = "client_secret")]
    client_secret: Secret,
    entry_point_id: u64,
    api_path: Option<String>,
    force_login: Option<bool>,
    #[serde(default = "default_language")]
    accept_language: Option<String>,
    token_refresh_ratio: Option<f64>,
    end_conversation_path: Option<String>,
}

fn client_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    crate::secret::deserialize_named("client_secret", d)
}

fn webhook_password<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    crate::secret::deserialize_named("auth.basic.password", d)
}

fn bearer_token<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    crate::secret::deserialize_named("auth.bearer", d)
}

fn default_language() -> Option<String> {
    Some("en-us".into())
}

const CLIENT_KEYS: &[&str] = &[
    "server_url",
    "client_key",
    "client_secret",
    "entry_point_id",
    "api_path",
    "force_login",
    "accept_language",
    "token_refresh_ratio",
    "end_conversation_path",
];

/// Parses a Messaging API client configuration. Keys: `server_url`, `client_key`,
/// `client_secret`, `entry_point_id` (required); `api_path`, `force_login` (default
/// true), `accept_language` (default "en-us", null omits), `token_refresh_ratio` (0.9),
/// `end_conversation_path`; HTTP keys `connect_timeout_ms`, `request_timeout_ms`,
/// `verify_tls` (default true), `ca_pem`, `allow_http`, `max_response_bytes`,
/// `max_retries`, `retry_base_ms`, `retry_max_ms`, `rate_limit_per_sec`,
/// `rate_limit_burst`.
pub fn ece_client_config_from_json(text: &str) -> Result<ece_core::ClientConfig, Error> {
    let (j, h): (ClientJson, HttpJson) = parse_with_http(text, "ECE client config", CLIENT_KEYS)?;
    let mut c = ece_core::ClientConfig::new(
        j.server_url,
        j.client_key,
        j.client_secret,
        j.entry_point_id,
    );
    if let Some(p) = j.api_path {
        c.api_path = p;
    }
    if let Some(f) = j.force_login {
        c.force_login = f;
    }
    c.accept_language = j.accept_language;
    if let Some(r) = j.token_refresh_ratio {
        if !(0.0..=1.0).contains(&r) {
            return Err(Error::invalid("token_refresh_ratio must be within 0..1"));
        }
        c.token_refresh_ratio = r;
    }
    if let Some(p) = j.end_conversation_path {
        c.end_conversation_path = p;
    }
    h.apply(&mut c.http)?;
    Ok(c)
}

/// A Messaging API client with a blocking API.
#[derive(Debug)]
pub struct EceClient {
    inner: ece_core::EceClient,
}

impl EceClient {
    /// Builds a client from a JSON configuration (see [`ece_client_config_from_json`]).
    /// No network traffic until the first call.
    pub fn new(config_json: &str) -> Result<Self, Error> {
        let cfg = ece_client_config_from_json(config_json)?;
        // reqwest needs a runtime context to build its connector.
        let inner = rt()?.block_on(async { ece_core::EceClient::new(cfg) })?;
        Ok(EceClient { inner })
    }

    /// The async client.
    pub fn client(&self) -> &ece_core::EceClient {
        &self.inner
    }

    /// Logs in now (replacing any cached token).
    pub fn login(&self) -> Result<(), Error> {
        rt()?.block_on(self.login_async())
    }

    /// [`Self::login`] as a future.
    pub async fn login_async(&self) -> Result<(), Error> {
        Ok(self.inner.login().await?)
    }

    /// Logins made so far.
    pub fn logins(&self) -> u64 {
        self.inner.logins()
    }

    /// The entry point configuration (cached unless `refresh`) as
    /// `{"entry_point_id", "last_modified", "raw"}`.
    pub fn configuration_json(&self, refresh: bool) -> Result<String, Error> {
        rt()?.block_on(self.configuration_json_async(refresh))
    }

    /// [`Self::configuration_json`] as a future.
    pub async fn configuration_json_async(&self, refresh: bool) -> Result<String, Error> {
        let c = self.inner.configuration(refresh).await?;
        Ok(json!({"entry_point_id": c.entry_point_id, "last_modified": c.last_modified, "raw": c.raw})
            .to_string())
    }

    /// Starts a conversation from `{"customer": {"first_name", "last_name", "email",
    /// "phones": [{"number", "type", "country_code", "area_code"}]},
    /// "send_typing_notification": true, "search_contact_on_attribute":
    /// "email.emailAddress", "activity": {extra keys}}`; returns
    /// `{"id", "activity_id", "case_id"}`.
    pub fn start_conversation_json(&self, request_json: &str) -> Result<String, Error> {
        rt()?.block_on(self.start_conversation_json_async(request_json))
    }

    /// [`Self::start_conversation_json`] as a future.
    pub async fn start_conversation_json_async(&self, request_json: &str) -> Result<String, Error> {
        let req: StartConversation = serde_json::from_str(request_json)
            .map_err(|e| Error::invalid(format!("start request: {e}")))?;
        let c = self.inner.start_conversation(&req).await?;
        Ok(serde_json::to_string(&c).unwrap_or_default())
    }

    /// Sends a customer message; `message_type` is `text/html` (default when empty)
    /// or `text/plain`.
    pub fn send_message(
        &self,
        conversation_id: &str,
        content: &str,
        message_type: &str,
    ) -> Result<(), Error> {
        rt()?.block_on(self.send_message_async(conversation_id, content, message_type))
    }

    /// [`Self::send_message`] as a future.
    pub async fn send_message_async(
        &self,
        conversation_id: &str,
        content: &str,
        message_type: &str,
    ) -> Result<(), Error> {
        let t = if message_type.is_empty() {
            MessageType::Html
        } else {
            MessageType::parse(message_type)?
        };
        Ok(self.inner.send_message(conversation_id, t, content).await?)
    }

    /// Ends a conversation (configurable, unverified endpoint).
    pub fn end_conversation(&self, conversation_id: &str) -> Result<(), Error> {
        rt()?.block_on(self.end_conversation_async(conversation_id))
    }

    /// [`Self::end_conversation`] as a future.
    pub async fn end_conversation_async(&self, conversation_id: &str) -> Result<(), Error> {
        Ok(self.inner.end_conversation(conversation_id).await?)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum AuthJson {
    Basic {
        username: String,
        #[serde(deserialize_with = "webhook_password")]
        password: Secret,
    },
    Bearer(#[serde(deserialize_with = "bearer_token")] Secret),
    None(bool),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookJson {
    auth: AuthJson,
    bind: Option<SocketAddr>,
    path: Option<String>,
    max_body_bytes: Option<usize>,
    max_depth: Option<usize>,
    max_events: Option<usize>,
    queue_capacity: Option<usize>,
    dedup_window: Option<usize>,
    max_connections: Option<usize>,
    max_connections_per_peer: Option<usize>,
    first_byte_timeout_ms: Option<u64>,
    read_timeout_ms: Option<u64>,
    tls: Option<crate::ece::TlsIdentity>,
}

/// Parses a webhook server configuration: `auth` is required, one of
/// `{"basic": {"username", "password"}}`, `{"bearer": "<token>"}` or `{"none": true}`
/// (lab use only); optional `bind` (default "127.0.0.1:0"), `path` ("/"),
/// `max_body_bytes`, `max_depth`, `max_events`, `queue_capacity`, `dedup_window`,
/// `max_connections` (256), `max_connections_per_peer` (128), `first_byte_timeout_ms`
/// (2000), `read_timeout_ms`, `tls` (`{"cert_pem", "key_pem"}`: serve HTTPS).
pub fn webhook_config_from_json(text: &str) -> Result<WebhookConfig, Error> {
    let v = super::config_json::parse(text, "webhook config", &[])?;
    let j: WebhookJson =
        serde_json::from_value(v).map_err(|e| Error::invalid(format!("webhook config: {e}")))?;
    let auth = match j.auth {
        AuthJson::Basic { username, password } => WebhookAuth::Basic { username, password },
        AuthJson::Bearer(t) if !t.is_empty() => WebhookAuth::Bearer(t),
        AuthJson::Bearer(_) => return Err(Error::invalid("webhook config: empty bearer token")),
        AuthJson::None(true) => WebhookAuth::AllowUnauthenticated,
        AuthJson::None(false) => {
            return Err(Error::invalid(
                "webhook config: auth {\"none\": false} is not valid",
            ))
        }
    };
    let mut c = WebhookConfig::new(auth);
    if let Some(b) = j.bind {
        c.bind = b;
    }
    if let Some(p) = j.path {
        c.path = p;
    }
    let d = WebhookLimits::default();
    c.limits = WebhookLimits {
        max_body_bytes: j.max_body_bytes.unwrap_or(d.max_body_bytes),
        max_depth: j.max_depth.unwrap_or(d.max_depth),
        max_events: j.max_events.unwrap_or(d.max_events),
    };
    if let Some(v) = j.queue_capacity {
        c.queue_capacity = v;
    }
    if let Some(v) = j.dedup_window {
        c.dedup_window = v;
    }
    if let Some(v) = j.max_connections {
        c.max_connections = v;
    }
    if let Some(v) = j.max_connections_per_peer {
        c.max_connections_per_peer = v;
    }
    if let Some(ms) = j.first_byte_timeout_ms {
        c.first_byte_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = j.read_timeout_ms {
        c.read_timeout = Duration::from_millis(ms);
    }
    c.tls = j.tls;
    Ok(c)
}

/// The webhook server with a blocking API.
#[derive(Debug)]
pub struct EceWebhook {
    server: Mutex<Option<WebhookServer>>,
    events: EventPump<WebhookEvent>,
    addr: SocketAddr,
    url: String,
}

impl EceWebhook {
    /// Starts a webhook server from a JSON configuration (see [`webhook_config_from_json`]).
    pub fn start(config_json: &str) -> Result<Self, Error> {
        let cfg = webhook_config_from_json(config_json)?;
        let (server, events) = rt()?.block_on(WebhookServer::start(cfg))?;
        let events = EventPump::start(
            events,
            QueueLimits::default(),
            |_| std::mem::size_of::<WebhookEvent>() + 1024,
            |_| false,
        )?;
        Ok(EceWebhook {
            addr: server.local_addr(),
            url: server.url(),
            server: Mutex::new(Some(server)),
            events,
        })
    }

    /// Listening address.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// Listening port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The callback URL on this address (`http://127.0.0.1:PORT/PATH`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Waits for the next event (`None`: until one comes) and returns its JSON (see
    /// [`crate::ece::WebhookEvent::to_json`]); `Ok(None)` on timeout; an error of kind
    /// `Closed` once the server stopped and every event was taken.
    pub fn next_event(&self, timeout: Option<Duration>) -> Result<Option<String>, Error> {
        Self::out(self.events.next(timeout)?)
    }

    /// Waits until at least one event is queued (at most `timeout`; `None`: no
    /// limit), then takes up to `max` without waiting more. An empty batch means the
    /// timeout passed; an error of kind `Closed` once the server stopped and every
    /// event was taken.
    pub async fn next_events_async(
        &self,
        max: usize,
        timeout: Option<Duration>,
    ) -> Result<Vec<String>, Error> {
        let Some(first) = Self::out(self.events.next_async(timeout).await?)? else {
            return Ok(Vec::new());
        };
        let mut batch = vec![first];
        while batch.len() < max {
            match Self::out(self.events.try_next()) {
                Ok(Some(ev)) => batch.push(ev),
                Ok(None) => break,
                Err(e) if e.kind == ErrorKind::Closed => break,
                Err(e) => return Err(e),
            }
        }
        Ok(batch)
    }

    fn out(taken: Taken<WebhookEvent>) -> Result<Option<String>, Error> {
        match taken {
            Taken::Event(e) => Ok(Some(e.to_json().to_string())),
            Taken::Nothing => Ok(None),
            Taken::Ended => Err(Error::new(
                ErrorKind::Closed,
                "webhook server stopped: no more events",
            )),
        }
    }

    /// Takes the next event without waiting (`Ok(None)`: none queued now).
    pub fn try_next_event(&self) -> Result<Option<String>, Error> {
        Self::out(self.events.try_next())
    }

    /// Whether an event is queued now.
    pub fn has_queued_events(&self) -> bool {
        self.events.has_queued()
    }

    /// Calls `waker` whenever an event lands in the empty queue (and when it ends).
    pub fn set_event_waker(&self, waker: impl Fn() + Send + Sync + 'static) {
        self.events.set_waker(waker);
    }

    /// Counters as JSON (see [`crate::ece::WebhookStats`]).
    pub fn stats_json(&self) -> Result<String, Error> {
        let guard = self.server.lock().unwrap_or_else(|p| p.into_inner());
        let s = guard
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::Closed, "webhook server stopped"))?;
        Ok(serde_json::to_string(&s.stats()).unwrap_or_default())
    }

    /// Stops the server; queued events can still be read. Fails if already stopped.
    pub fn stop(&self) -> Result<(), Error> {
        let s = self
            .server
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| Error::new(ErrorKind::Closed, "webhook server already stopped"))?;
        rt()?.block_on(s.stop());
        Ok(())
    }
}

impl Drop for EceWebhook {
    fn drop(&mut self) {
        if let Some(s) = self.server.get_mut().ok().and_then(Option::take) {
            if let Ok(rt) = runtime() {
                rt.spawn(s.stop());
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct PathsJson {
    agent_availability: Option<String>,
    capacity: Option<String>,
    live_session_status: Option<String>,
    check_eligibility: Option<String>,
    chat_allowed: Option<String>,
    survey: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChatWsJson {
    base_url: String,
    paths: Option<PathsJson>,
    try_alternate_segment: Option<bool>,
    max_xml_bytes: Option<usize>,
}

/// A chat web services client with a blocking API.
#[derive(Debug)]
pub struct EceChatWs {
    inner: ece_core::ChatWsClient,
}

impl EceChatWs {
    /// Builds a client from JSON: `base_url` (context root, e.g.
    /// "https://ece.example.com/system"; required), `paths` (any of
    /// `agent_availability`, `capacity`, `live_session_status`, `check_eligibility`,
    /// `chat_allowed`, `survey`; `{id}` is replaced), `try_alternate_segment` (default
    /// true), `max_xml_bytes`, and the HTTP keys of the client configuration.
    pub fn new(config_json: &str) -> Result<Self, Error> {
        let (j, h): (ChatWsJson, HttpJson) = parse_with_http(
            config_json,
            "chat web services config",
            &[
                "base_url",
                "paths",
                "try_alternate_segment",
                "max_xml_bytes",
            ],
        )?;
        let mut c = ece_core::ChatWsConfig::new(j.base_url);
        if let Some(p) = j.paths {
            let d = ChatWsPaths::default();
            c.paths = ChatWsPaths {
                agent_availability: p.agent_availability.unwrap_or(d.agent_availability),
                capacity: p.capacity.unwrap_or(d.capacity),
                live_session_status: p.live_session_status.unwrap_or(d.live_session_status),
                check_eligibility: p.check_eligibility.unwrap_or(d.check_eligibility),
                chat_allowed: p.chat_allowed.unwrap_or(d.chat_allowed),
                survey: p.survey.unwrap_or(d.survey),
            };
        }
        if let Some(t) = j.try_alternate_segment {
            c.try_alternate_segment = t;
        }
        if let Some(m) = j.max_xml_bytes {
            c.xml.max_bytes = m;
        }
        h.apply(&mut c.http)?;
        let inner = rt()?.block_on(async { ece_core::ChatWsClient::new(c) })?;
        Ok(EceChatWs { inner })
    }

    /// B1: whether an agent is available.
    pub fn agent_availability(&self, entry_point_id: u64) -> Result<bool, Error> {
        rt()?.block_on(self.agent_availability_async(entry_point_id))
    }

    /// [`Self::agent_availability`] as a future.
    pub async fn agent_availability_async(&self, entry_point_id: u64) -> Result<bool, Error> {
        Ok(self.inner.agent_availability(entry_point_id).await?)
    }

    /// B2: remaining chat slots.
    pub fn capacity(&self, entry_point_id: u64) -> Result<u32, Error> {
        rt()?.block_on(self.capacity_async(entry_point_id))
    }

    /// [`Self::capacity`] as a future.
    pub async fn capacity_async(&self, entry_point_id: u64) -> Result<u32, Error> {
        Ok(self.inner.capacity(entry_point_id).await?)
    }

    /// B3: (estimated wait in seconds, queue depth).
    pub fn live_session_status(&self, entry_point_id: u64) -> Result<(f64, u32), Error> {
        rt()?.block_on(self.live_session_status_async(entry_point_id))
    }

    /// [`Self::live_session_status`] as a future.
    pub async fn live_session_status_async(
        &self,
        entry_point_id: u64,
    ) -> Result<(f64, u32), Error> {
        let s = self.inner.live_session_status(entry_point_id).await?;
        Ok((s.wait_time_secs, s.queue_depth))
    }

    /// B4: (responseType code, name: `eligible`, `no_agent_available`, `queue_full`,
    /// `agent_limit_reached` or `other`).
    pub fn check_eligibility(&self, entry_point_id: u64) -> Result<(u32, &'static str), Error> {
        rt()?.block_on(self.check_eligibility_async(entry_point_id))
    }

    /// [`Self::check_eligibility`] as a future.
    pub async fn check_eligibility_async(
        &self,
        entry_point_id: u64,
    ) -> Result<(u32, &'static str), Error> {
        let e = self.inner.check_eligibility(entry_point_id).await?;
        Ok((e.code(), e.name()))
    }

    /// B5: (allowed, reason as documented or raw).
    pub fn chat_allowed(&self, entry_point_id: u64) -> Result<(bool, Option<String>), Error> {
        rt()?.block_on(self.chat_allowed_async(entry_point_id))
    }

    /// [`Self::chat_allowed`] as a future.
    pub async fn chat_allowed_async(
        &self,
        entry_point_id: u64,
    ) -> Result<(bool, Option<String>), Error> {
        let c = self.inner.chat_allowed(entry_point_id).await?;
        Ok((c.allowed, c.reason.map(|r| r.as_str().to_owned())))
    }

    /// B6: submits `{"sid": "...", "answers": [{"question", "answer"}]}`.
    pub fn submit_survey_json(&self, survey_json: &str) -> Result<(), Error> {
        rt()?.block_on(self.submit_survey_json_async(survey_json))
    }

    /// [`Self::submit_survey_json`] as a future.
    pub async fn submit_survey_json_async(&self, survey_json: &str) -> Result<(), Error> {
        let s: Survey = serde_json::from_str(survey_json)
            .map_err(|e| Error::invalid(format!("survey: {e}")))?;
        Ok(self.inner.submit_survey(&s).await?)
    }
}

/// The ECE simulator with a blocking API.
#[derive(Debug)]
pub struct EceSim {
    sim: Mutex<Option<EceSimulator>>,
    server_url: String,
    chat_base_url: String,
    addr: SocketAddr,
}

impl EceSim {
    /// Starts a simulator from JSON (`{}` or empty: defaults; see
    /// [`crate::sim::ece::EceSimConfig`]).
    pub fn start(config_json: &str) -> Result<Self, Error> {
        let text = super::config_json::normalized_text(config_json, "ECE simulator config", &[])?;
        let cfg = EceSimConfig::from_json(&text)?;
        let sim = rt()?.block_on(EceSimulator::start(cfg))?;
        Ok(EceSim {
            server_url: sim.server_url(),
            chat_base_url: sim.chat_base_url(),
            addr: sim.local_addr(),
            sim: Mutex::new(Some(sim)),
        })
    }

    /// `http://127.0.0.1:PORT`, the client's `server_url`.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// The chat web services `base_url` (`http://127.0.0.1:PORT/system`).
    pub fn chat_base_url(&self) -> &str {
        &self.chat_base_url
    }

    /// Listening port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Runs a JSON command (see [`EceSimulator::control`]) and returns its JSON answer.
    pub fn control(&self, command_json: &str) -> Result<String, Error> {
        let cmd: Json = serde_json::from_str(command_json)
            .map_err(|e| Error::invalid(format!("simulator command: {e}")))?;
        let guard = self.sim.lock().unwrap_or_else(|p| p.into_inner());
        let sim = guard
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::Closed, "simulator stopped"))?;
        Ok(rt()?.block_on(sim.control(&cmd))?.to_string())
    }

    /// Stops the simulator. Fails if already stopped.
    pub fn stop(&self) -> Result<(), Error> {
        let s = self
            .sim
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| Error::new(ErrorKind::Closed, "simulator already stopped"))?;
        rt()?.block_on(s.stop());
        Ok(())
    }
}

impl Drop for EceSim {
    fn drop(&mut self) {
        if let Some(s) = self.sim.get_mut().ok().and_then(Option::take) {
            if let Ok(rt) = runtime() {
                rt.spawn(s.stop());
            }
        }
    }
}
