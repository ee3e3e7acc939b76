//! An embedded ECE simulator: Messaging API v19, an agent that answers through the
//! application's webhook, and the XML chat web services.
//!
//! It listens on plain HTTP on loopback (the client accepts `http://` to loopback).
//! It issues tokens with a configurable lifetime and rejects expired ones with 401,
//! serves the entry point configuration and answers 409 to a start with a stale
//! `lastModified`, starts conversations, accepts messages, and plays an agent:
//! `assigned` after a start; `startTyping`, then `endTyping` and a reply in one POST
//! after each customer message; `complete` after the configured farewell or an end
//! request. Webhook POSTs are made one at a time, in order. Faults (any status, once or
//! more) and delays can be injected per endpoint.
//!
//! Control it with the methods of [`EceSimulator`] or with JSON commands
//! ([`EceSimulator::control`]), which the bindings use.

// Request handlers return their early HTTP answers as `Err(Response)`.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use crate::ece::chatws::{parse_survey, Survey};
use crate::ece::error::EceError;
use crate::ece::messaging::base64;
use crate::ece::server::{empty, response, HttpServer, ServerOptions, TlsIdentity};
use crate::ece::xml::XmlLimits;
use crate::secret::Secret;

/// An endpoint of the simulator, for fault injection and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimEndpoint {
    /// OAuth2 token.
    Token,
    /// Entry point configuration.
    Configuration,
    /// Conversation start.
    Start,
    /// sendmessage.
    SendMessage,
    /// Conversation end.
    End,
    /// agentAvailability.
    AgentAvailability,
    /// capacity.
    Capacity,
    /// liveSessionStatus.
    LiveSessionStatus,
    /// checkEligibility.
    CheckEligibility,
    /// chatAllowed.
    ChatAllowed,
    /// Survey POST.
    Survey,
}

/// How the simulator authenticates its webhook calls.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimWebhook {
    /// The application's callback URL.
    pub url: String,
    /// Basic credentials (`{"username","password"}`).
    #[serde(default)]
    pub basic: Option<SimBasic>,
    /// Bearer token.
    #[serde(default)]
    pub bearer: Option<Secret>,
    /// CA certificate (PEM) to trust for an `https://` webhook URL.
    #[serde(default)]
    pub ca_pem: Option<String>,
}

/// Basic credentials.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimBasic {
    /// User name.
    pub username: String,
    /// Password.
    pub password: Secret,
}

impl std::fmt::Debug for SimBasic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimBasic")
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

impl SimWebhook {
    fn authorization(&self) -> Option<String> {
        if let Some(b) = &self.basic {
            Some(format!(
                "Basic {}",
                base64(format!("{}:{}", b.username, b.password.expose()).as_bytes())
            ))
        } else {
            self.bearer
                .as_ref()
                .map(|t| format!("Bearer {}", t.expose()))
        }
    }
}

/// The simulated agent.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimAgentConfig {
    /// `name`.
    pub name: String,
    /// `screenName`.
    pub screen_name: String,
    /// Reply to each customer message: `"echo"` (default: `You said: <text>`), any
    /// other text (sent as is), or `null` (no reply, no typing).
    pub reply: Option<String>,
    /// A customer message equal to this (case-insensitive, tags stripped) ends the
    /// conversation after the reply (default `bye`; `null`: never).
    pub complete_on: Option<String>,
    /// Send `assigned` after each start (default true).
    pub assign: bool,
}

impl Default for SimAgentConfig {
    fn default() -> Self {
        SimAgentConfig {
            name: "1 Agent".into(),
            screen_name: "agent1".into(),
            reply: Some("echo".into()),
            complete_on: Some("bye".into()),
            assign: true,
        }
    }
}

/// Answers of the chat web services.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimChatStatus {
    /// agentAvailability `available`.
    pub available: bool,
    /// capacity `count`.
    pub slots: u32,
    /// liveSessionStatus `waitTime`.
    pub wait_time: f64,
    /// liveSessionStatus `queueDepth`.
    pub queue_depth: u32,
    /// checkEligibility `responseType`.
    pub eligibility: u32,
    /// chatAllowed `allowed`.
    pub allowed: bool,
    /// chatAllowed `reason` (when not allowed).
    pub reason: Option<String>,
}

impl Default for SimChatStatus {
    fn default() -> Self {
        SimChatStatus {
            available: true,
            slots: 4,
            wait_time: 3.0,
            queue_depth: 1,
            eligibility: 0,
            allowed: true,
            reason: None,
        }
    }
}

/// Which `endpoint`/`entrypoint` path segments the chat web services answer on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimChatPaths {
    /// Both segments for every service (default).
    #[default]
    Both,
    /// Only the Developer's Guide paths (capacity, checkEligibility under `endpoint`).
    Guide,
    /// Only `entrypoint` everywhere (as observed in one deployment).
    Entrypoint,
}

/// Simulator settings (JSON keys are the field names).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EceSimConfig {
    /// Address to listen on (default `127.0.0.1:0`).
    pub bind: SocketAddr,
    /// Client Key accepted at login (default `sim-key`).
    pub client_key: String,
    /// Client Secret accepted at login (default `sim-secret`).
    pub client_secret: Secret,
    /// Token lifetime in seconds (default 86400).
    pub token_lifetime_secs: u64,
    /// Entry point IDs (default `[1001]`).
    pub entry_points: Vec<u64>,
    /// Context root (default `/system`).
    pub context_root: String,
    /// Where the agent's events go (can be set later).
    pub webhook: Option<SimWebhook>,
    /// Agent behaviour.
    pub agent: SimAgentConfig,
    /// Chat web service answers.
    pub chat: SimChatStatus,
    /// Chat web service path segments served.
    pub chat_paths: SimChatPaths,
    /// Serve HTTPS with this certificate (default: plain HTTP).
    pub tls: Option<TlsIdentity>,
}

impl Default for EceSimConfig {
    fn default() -> Self {
        EceSimConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_key: "sim-key".into(),
            client_secret: "sim-secret".into(),
            token_lifetime_secs: 86_400,
            entry_points: vec![1001],
            context_root: "/system".into(),
            webhook: None,
            agent: SimAgentConfig::default(),
            chat: SimChatStatus::default(),
            chat_paths: SimChatPaths::Both,
            tls: None,
        }
    }
}

impl EceSimConfig {
    /// Parses settings from JSON (empty or `{}`: defaults).
    pub fn from_json(text: &str) -> Result<Self, EceError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(text)
            .map_err(|e| EceError::Config(format!("ECE simulator config: {e}")))
    }
}

/// A message the simulator received from the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimMessage {
    /// `type.value`.
    #[serde(rename = "type")]
    pub message_type: String,
    /// `content`.
    pub content: String,
}

/// A conversation as the simulator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct SimConversation {
    /// Conversation ID.
    pub id: String,
    /// Entry point.
    pub entry_point: u64,
    /// Customer e-mail, when given.
    pub email: Option<String>,
    /// Whether typing notifications were requested.
    pub typing: bool,
    /// Customer messages received.
    pub messages: Vec<SimMessage>,
    /// Whether the conversation ended.
    pub ended: bool,
}

/// Outcome of one webhook POST.
#[derive(Debug, Clone, Serialize)]
pub struct SimDelivery {
    /// Conversation the POST was about (empty for raw posts).
    pub conversation_id: String,
    /// `type.value`s of its events.
    pub types: Vec<String>,
    /// HTTP status answered, if the call completed.
    pub status: Option<u16>,
    /// Transport error, if any.
    pub error: Option<String>,
}

/// What the simulator has seen.
#[derive(Debug, Clone, Serialize)]
pub struct SimStats {
    /// Successful logins.
    pub logins: u64,
    /// Requests per endpoint.
    pub requests: HashMap<SimEndpoint, u64>,
    /// Conversations in start order.
    pub conversations: Vec<SimConversation>,
    /// Webhook POSTs in order (the last 1,000).
    pub deliveries: Vec<SimDelivery>,
    /// Surveys received.
    pub surveys: Vec<Survey>,
}

#[derive(Debug, Clone)]
struct Fault {
    status: u16,
    remaining: u32,
}

struct State {
    tokens: HashMap<String, Instant>,
    logins: u64,
    last_modified: HashMap<u64, String>,
    conversations: Vec<SimConversation>,
    faults: HashMap<SimEndpoint, Fault>,
    delays: HashMap<SimEndpoint, Duration>,
    xml_overrides: HashMap<SimEndpoint, String>,
    webhook: Option<SimWebhook>,
    chat: SimChatStatus,
    surveys: Vec<Survey>,
    requests: HashMap<SimEndpoint, u64>,
    deliveries: VecDeque<SimDelivery>,
    next_id: u64,
    token_lifetime: Duration,
}

struct Outgoing {
    conversation_id: String,
    body: Vec<u8>,
    types: Vec<String>,
    /// `Some(h)`: send this Authorization (or none) instead of the configured one.
    authorization: Option<Option<String>>,
    content_type: String,
    reply: Option<tokio::sync::oneshot::Sender<Result<u16, String>>>,
}

struct Shared {
    cfg: EceSimConfig,
    api_prefix: String,
    chat_prefix: String,
    state: Mutex<State>,
    outbox: mpsc::UnboundedSender<Outgoing>,
    pending: watch::Sender<usize>,
}

/// Aborts the task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A running ECE simulator. [`EceSimulator::stop`] stops it; dropping it does too
/// (without waiting).
pub struct EceSimulator {
    shared: Arc<Shared>,
    server: HttpServer,
    _worker: AbortOnDrop,
}

impl std::fmt::Debug for EceSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EceSimulator")
            .field("addr", &self.server.local_addr())
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for epoch milliseconds.
fn iso8601(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil-from-days (H. Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

fn json_response(status: u16, v: &Value) -> Response<Full<Bytes>> {
    response(status, "application/json", v.to_string())
}

fn error_response(status: u16, message: &str) -> Response<Full<Bytes>> {
    json_response(
        status,
        &json!({"code": format!("{status}-000"), "message": message}),
    )
}

fn xml_response(body: String) -> Response<Full<Bytes>> {
    response(200, "application/xml", body)
}

const XML_DECL: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;
const XML_NS: &str = r#"xmlns:ns2="http://bindings.egain.com/chat" xmlns:ns3="jabber:client" xmlns:ns4="urn:ietf:params:xml:ns:xmpp-stanzas" xmlns:ns5="http://jabber.org/protocol/httpbind""#;

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

fn query_param(req: &Request<Incoming>, key: &str) -> Option<String> {
    req.uri().query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then(|| v.to_owned())
    })
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn next_id(st: &mut State) -> u64 {
        st.next_id += 1;
        st.next_id
    }

    fn new_conversation_id() -> String {
        let r: u128 = rand::random();
        let h = format!("{r:032x}");
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    /// Queues a webhook POST with `events` for `conversation_id`.
    fn post_events(&self, conversation_id: &str, events: Vec<Value>) {
        let types = events
            .iter()
            .map(|e| e["type"]["value"].as_str().unwrap_or_default().to_owned())
            .collect();
        let body = json!({ "message": events }).to_string().into_bytes();
        self.enqueue(Outgoing {
            conversation_id: conversation_id.to_owned(),
            body,
            types,
            authorization: None,
            content_type: "application/json".into(),
            reply: None,
        });
    }

    fn enqueue(&self, o: Outgoing) {
        self.pending.send_modify(|n| *n += 1);
        if self.outbox.send(o).is_err() {
            self.pending.send_modify(|n| *n = n.saturating_sub(1));
        }
    }

    fn event(
        &self,
        st: &mut State,
        conv: &str,
        type_value: &str,
        content: Option<&str>,
        system: bool,
    ) -> Value {
        let agent = json!({"name": self.cfg.agent.name, "screenName": self.cfg.agent.screen_name});
        let mut e = json!({
            "conversation": {"id": conv},
            "type": {"value": type_value},
            "sender": if system { json!({"type": "system"}) } else { json!({"type": "user", "user": agent}) },
            "timeStamp": now_ms(),
            "id": Self::next_id(st).to_string(),
        });
        if type_value == "assigned" {
            e["type"]["user"] = agent;
        }
        if let Some(c) = content {
            e["content"] = json!(c);
        }
        e
    }

    /// Counts a request to `ep`; returns its delay, if any.
    fn count(&self, ep: SimEndpoint) -> Option<Duration> {
        let mut st = self.state();
        *st.requests.entry(ep).or_default() += 1;
        st.delays.get(&ep).copied()
    }

    /// The injected fault answer for `ep`, if one is due.
    fn fault(&self, ep: SimEndpoint) -> Option<Response<Full<Bytes>>> {
        let mut st = self.state();
        let fault = st.faults.get_mut(&ep)?;
        fault.remaining -= 1;
        let status = fault.status;
        if fault.remaining == 0 {
            st.faults.remove(&ep);
        }
        Some(error_response(status, "injected fault"))
    }

    fn check_bearer(&self, req: &Request<Incoming>) -> Result<(), Response<Full<Bytes>>> {
        let h = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some(token) = h.strip_prefix("Bearer ") else {
            return Err(error_response(
                401,
                "Authorization header missing or malformed",
            ));
        };
        let st = self.state();
        match st.tokens.get(token) {
            Some(exp) if Instant::now() < *exp => Ok(()),
            Some(_) => Err(error_response(401, "session expired")),
            None => Err(error_response(401, "no session matches the token")),
        }
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_owned();
        let Some(ep) = self.endpoint_of(req.method(), &path) else {
            return empty(404);
        };
        if let Some(d) = self.count(ep) {
            tokio::time::sleep(d).await;
        }
        if let Some(r) = self.fault(ep) {
            return r;
        }
        match ep {
            SimEndpoint::Token => self.token(req).await,
            SimEndpoint::Configuration => self.configuration(req),
            SimEndpoint::Start => self.start(req).await,
            SimEndpoint::SendMessage => self.send_message(req).await,
            SimEndpoint::End => self.end(req).await,
            SimEndpoint::Survey => self.survey(req).await,
            chat => self.chat(chat, &path),
        }
    }

    fn endpoint_of(&self, method: &hyper::Method, path: &str) -> Option<SimEndpoint> {
        let post = method == hyper::Method::POST;
        if let Some(rest) = path.strip_prefix(&self.api_prefix) {
            return match (post, rest) {
                (true, "/authentication/oauth2/token") => Some(SimEndpoint::Token),
                (false, "/messaging/configuration") => Some(SimEndpoint::Configuration),
                (true, "/messaging/conversation/start") => Some(SimEndpoint::Start),
                (true, "/messaging/sendmessage") => Some(SimEndpoint::SendMessage),
                (true, "/messaging/conversation/end") => Some(SimEndpoint::End),
                _ => None,
            };
        }
        let rest = path.strip_prefix(&self.chat_prefix)?;
        let (segment, rest) = rest.trim_start_matches('/').split_once('/')?;
        if post {
            return (segment == "entrypoint" && rest == "survey").then_some(SimEndpoint::Survey);
        }
        let (name, _id) = rest.split_once('/')?;
        let ep = match name {
            "agentAvailability" => SimEndpoint::AgentAvailability,
            "capacity" => SimEndpoint::Capacity,
            "liveSessionStatus" => SimEndpoint::LiveSessionStatus,
            "checkEligibility" => SimEndpoint::CheckEligibility,
            "chatAllowed" => SimEndpoint::ChatAllowed,
            _ => return None,
        };
        let guide_segment = match ep {
            SimEndpoint::Capacity | SimEndpoint::CheckEligibility => "endpoint",
            _ => "entrypoint",
        };
        let ok = match self.cfg.chat_paths {
            SimChatPaths::Both => segment == "endpoint" || segment == "entrypoint",
            SimChatPaths::Guide => segment == guide_segment,
            SimChatPaths::Entrypoint => segment == "entrypoint",
        };
        ok.then_some(ep)
    }

    async fn body(req: Request<Incoming>) -> Result<Bytes, Response<Full<Bytes>>> {
        match Limited::new(req.into_body(), 1 << 20).collect().await {
            Ok(c) => Ok(c.to_bytes()),
            Err(_) => Err(error_response(413, "body too large")),
        }
    }

    async fn json_body(req: Request<Incoming>) -> Result<Value, Response<Full<Bytes>>> {
        let b = Self::body(req).await?;
        serde_json::from_slice(&b).map_err(|e| {
            error_response(400, &format!("Illegal unquoted character or bad JSON: {e}"))
        })
    }

    async fn token(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let expected = format!(
            "Basic {}",
            base64(
                format!(
                    "{}:{}",
                    self.cfg.client_key,
                    self.cfg.client_secret.expose()
                )
                .as_bytes()
            )
        );
        let given = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .map(|v| v.as_bytes() == expected.as_bytes())
            .unwrap_or(false);
        if !given {
            return error_response(401, "invalid client credentials");
        }
        let body = match Self::body(req).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        if !String::from_utf8_lossy(&body)
            .split('&')
            .any(|kv| kv == "grant_type=client_credentials")
        {
            return error_response(400, "grant_type=client_credentials required");
        }
        let token = Self::new_conversation_id();
        let mut st = self.state();
        let lifetime = st.token_lifetime;
        st.tokens.insert(token.clone(), Instant::now() + lifetime);
        st.logins += 1;
        json_response(
            200,
            &json!({"access_token": token, "expires_in": lifetime.as_secs(), "token_type": "Bearer"}),
        )
    }

    fn configuration(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        if let Err(r) = self.check_bearer(&req) {
            return r;
        }
        let Some(ep) = query_param(&req, "entrypoint").and_then(|v| v.parse::<u64>().ok()) else {
            return error_response(400, "entrypoint parameter required");
        };
        let st = self.state();
        match st.last_modified.get(&ep) {
            Some(date) => json_response(
                200,
                &json!({"entryPointConfiguration": [{
                    "entryPoint": {"id": ep},
                    "lastModified": {"date": date},
                    "name": format!("Simulated entry point {ep}"),
                    "active": true,
                }]}),
            ),
            None => error_response(403, "entry point not assigned to this application"),
        }
    }

    async fn start(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        if let Err(r) = self.check_bearer(&req) {
            return r;
        }
        let typing = query_param(&req, "sendTypingNotification").as_deref() == Some("yes");
        let body = match Self::json_body(req).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        let ep = match body.pointer("/entryPointConfiguration/entryPoint/id") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        let Some(ep) = ep else {
            return error_response(400, "entryPointConfiguration.entryPoint.id required");
        };
        let date = body
            .pointer("/entryPointConfiguration/lastModified/date")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let email = body
            .pointer("/activity/customer/contacts/contact/0/email/0/emailAddress")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut st = self.state();
        match st.last_modified.get(&ep) {
            None => return error_response(403, "entry point not assigned to this application"),
            Some(current) if current != date => {
                return error_response(409, "lastModified date differs from the server's")
            }
            Some(_) => {}
        }
        let id = Self::new_conversation_id();
        let activity = Self::next_id(&mut st);
        let case = Self::next_id(&mut st);
        st.conversations.push(SimConversation {
            id: id.clone(),
            entry_point: ep,
            email,
            typing,
            messages: Vec::new(),
            ended: false,
        });
        if self.cfg.agent.assign {
            let text = format!("You are now chatting with {}", self.cfg.agent.screen_name);
            let ev = self.event(&mut st, &id, "assigned", Some(&text), true);
            drop(st);
            self.post_events(&id, vec![ev]);
        }
        json_response(
            200,
            &json!({"activity": {"case": {"id": case}, "id": activity}, "id": id}),
        )
    }

    async fn send_message(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        if let Err(r) = self.check_bearer(&req) {
            return r;
        }
        let body = match Self::json_body(req).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        let conv = body
            .pointer("/conversation/id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mtype = body
            .pointer("/type/value")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(content) = body.get("content").and_then(Value::as_str) else {
            return error_response(400, "content required");
        };
        if mtype != "text/html" && mtype != "text/plain" {
            return error_response(400, "type.value must be text/html or text/plain");
        }
        let mut st = self.state();
        let Some(c) = st
            .conversations
            .iter_mut()
            .find(|c| c.id == conv && !c.ended)
        else {
            return error_response(404, "Conversation ID does not exist");
        };
        c.messages.push(SimMessage {
            message_type: mtype.to_owned(),
            content: content.to_owned(),
        });
        let typing = c.typing;
        let text = strip_tags(content);
        let done = self
            .cfg
            .agent
            .complete_on
            .as_ref()
            .is_some_and(|w| w.eq_ignore_ascii_case(&text));
        if done {
            c.ended = true;
        }
        let conv = conv.to_owned();
        let reply = match self.cfg.agent.reply.as_deref() {
            None => None,
            Some("echo") => Some(format!("You said: {text}")),
            Some(t) => Some(t.to_owned()),
        };
        let mut posts = Vec::new();
        if let Some(reply) = reply {
            let mut batch = Vec::new();
            if typing {
                posts.push(vec![self.event(&mut st, &conv, "startTyping", None, false)]);
                batch.push(self.event(&mut st, &conv, "endTyping", None, false));
            }
            batch.push(self.event(&mut st, &conv, "text/html", Some(&reply), false));
            posts.push(batch);
        }
        if done {
            let text = format!("{} has ended the chat", self.cfg.agent.screen_name);
            posts.push(vec![self.event(
                &mut st,
                &conv,
                "complete",
                Some(&text),
                true,
            )]);
        }
        drop(st);
        for p in posts {
            self.post_events(&conv, p);
        }
        empty(204)
    }

    async fn end(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        if let Err(r) = self.check_bearer(&req) {
            return r;
        }
        let body = match Self::json_body(req).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        let conv = body
            .pointer("/conversation/id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match self.complete(conv, "The customer has ended the chat") {
            Ok(()) => empty(204),
            Err(_) => error_response(404, "Conversation ID does not exist"),
        }
    }

    fn complete(&self, conv: &str, text: &str) -> Result<(), EceError> {
        let mut st = self.state();
        let c = st
            .conversations
            .iter_mut()
            .find(|c| c.id == conv && !c.ended)
            .ok_or_else(|| EceError::InvalidArgument(format!("no active conversation {conv:?}")))?;
        c.ended = true;
        let ev = self.event(&mut st, conv, "complete", Some(text), true);
        drop(st);
        self.post_events(conv, vec![ev]);
        Ok(())
    }

    async fn survey(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let body = match Self::body(req).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        match parse_survey(&body, &XmlLimits::default()) {
            Ok(s) => {
                self.state().surveys.push(s);
                empty(204)
            }
            Err(e) => response(400, "text/plain", e.to_string()),
        }
    }

    fn chat(&self, ep: SimEndpoint, path: &str) -> Response<Full<Bytes>> {
        let st = self.state();
        if let Some(x) = st.xml_overrides.get(&ep) {
            return xml_response(x.clone());
        }
        let known = path
            .rsplit('/')
            .next()
            .and_then(|id| id.parse::<u64>().ok())
            .is_some_and(|id| st.last_modified.contains_key(&id));
        let c = &st.chat;
        let x = match ep {
            SimEndpoint::ChatAllowed if !known => {
                format!(r#"{XML_DECL}<chatAllowed {XML_NS} allowed="false" reason="invalid_entry_point"/>"#)
            }
            _ if !known => return response(500, "text/plain", "unknown entry point"),
            SimEndpoint::AgentAvailability => {
                format!(r#"{XML_DECL}<agentAvailability {XML_NS} available="{}"/>"#, c.available)
            }
            SimEndpoint::Capacity => format!(
                "{XML_DECL}<availableSlots {XML_NS}><ns2:count>{}</ns2:count></availableSlots>",
                c.slots
            ),
            SimEndpoint::LiveSessionStatus => format!(
                "{XML_DECL}<sessionStatus {XML_NS}><ns2:waitTime>{:.1}</ns2:waitTime><ns2:queueDepth>{}</ns2:queueDepth></sessionStatus>",
                c.wait_time, c.queue_depth
            ),
            SimEndpoint::CheckEligibility => format!(
                r#"{XML_DECL}<checkEligibility {XML_NS} responseType="{}"/>"#,
                c.eligibility
            ),
            SimEndpoint::ChatAllowed => match (&c.allowed, &c.reason) {
                (false, Some(r)) => format!(
                    r#"{XML_DECL}<chatAllowed {XML_NS} allowed="false" reason="{}"/>"#,
                    quick_xml::escape::escape(r.as_str())
                ),
                (a, _) => format!(r#"{XML_DECL}<chatAllowed {XML_NS} allowed="{a}"/>"#),
            },
            _ => return empty(404),
        };
        xml_response(x)
    }
}

fn webhook_client(ca_pem: Option<&str>) -> Result<reqwest::Client, String> {
    crate::ece::http::ensure_crypto_provider();
    let mut b = reqwest::Client::builder()
        .tls_backend_rustls()
        .no_proxy()
        .timeout(Duration::from_secs(10));
    if let Some(pem) = ca_pem {
        for c in reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| e.to_string())? {
            b = b.add_root_certificate(c);
        }
    }
    b.build().map_err(|e| e.to_string())
}

async fn deliver(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
    // One HTTP client, rebuilt when the trusted CA of the webhook changes.
    let mut ca: Option<String> = None;
    let mut client = webhook_client(None);
    while let Some(o) = rx.recv().await {
        let webhook = shared.state().webhook.clone();
        let want = webhook.as_ref().and_then(|w| w.ca_pem.clone());
        if want != ca {
            client = webhook_client(want.as_deref());
            ca = want;
        }
        let result = match (&client, webhook) {
            (Err(e), _) => Err(e.to_string()),
            (_, None) => Err("no webhook configured".to_owned()),
            (Ok(client), Some(w)) => {
                let mut rb = client
                    .post(&w.url)
                    .header(reqwest::header::CONTENT_TYPE, o.content_type.as_str())
                    .body(o.body);
                let auth = match o.authorization {
                    Some(a) => a,
                    None => w.authorization(),
                };
                if let Some(a) = auth {
                    rb = rb.header(reqwest::header::AUTHORIZATION, a);
                }
                match rb.send().await {
                    Ok(r) => Ok(r.status().as_u16()),
                    Err(e) => Err(crate::ece::http::error_chain(&e)),
                }
            }
        };
        if let Err(e) = &result {
            tracing::warn!(error = %e, "ECE simulator: webhook POST failed");
        }
        {
            let mut st = shared.state();
            if st.deliveries.len() >= 1000 {
                st.deliveries.pop_front();
            }
            st.deliveries.push_back(SimDelivery {
                conversation_id: o.conversation_id,
                types: o.types,
                status: result.as_ref().ok().copied(),
                error: result.as_ref().err().cloned(),
            });
        }
        if let Some(reply) = o.reply {
            let _ = reply.send(result);
        }
        shared.pending.send_modify(|n| *n = n.saturating_sub(1));
    }
}

fn field<'a>(cmd: &'a Value, key: &str) -> Result<&'a Value, EceError> {
    cmd.get(key)
        .ok_or_else(|| EceError::InvalidArgument(format!("command needs \"{key}\"")))
}

fn str_field<'a>(cmd: &'a Value, key: &str) -> Result<&'a str, EceError> {
    field(cmd, key)?
        .as_str()
        .ok_or_else(|| EceError::InvalidArgument(format!("\"{key}\" must be a string")))
}

fn endpoint(cmd: &Value) -> Result<SimEndpoint, EceError> {
    serde_json::from_value(field(cmd, "endpoint")?.clone())
        .map_err(|e| EceError::InvalidArgument(format!("endpoint: {e}")))
}

impl EceSimulator {
    /// Starts the simulator.
    pub async fn start(cfg: EceSimConfig) -> Result<Self, EceError> {
        let root = format!("/{}", cfg.context_root.trim_matches('/'));
        let root = if root == "/" { String::new() } else { root };
        let date = iso8601(now_ms());
        let (outbox, rx) = mpsc::unbounded_channel();
        let (pending, _) = watch::channel(0usize);
        let shared = Arc::new(Shared {
            api_prefix: format!("{root}/ws/v19/clientapplications"),
            chat_prefix: format!("{root}/egain/chat"),
            state: Mutex::new(State {
                tokens: HashMap::new(),
                logins: 0,
                last_modified: cfg
                    .entry_points
                    .iter()
                    .map(|e| (*e, date.clone()))
                    .collect(),
                conversations: Vec::new(),
                faults: HashMap::new(),
                delays: HashMap::new(),
                xml_overrides: HashMap::new(),
                webhook: cfg.webhook.clone(),
                chat: cfg.chat.clone(),
                surveys: Vec::new(),
                requests: HashMap::new(),
                deliveries: VecDeque::new(),
                next_id: 4_844_574_856,
                token_lifetime: Duration::from_secs(cfg.token_lifetime_secs),
            }),
            cfg,
            outbox,
            pending,
        });
        let worker = tokio::spawn(deliver(shared.clone(), rx));
        let s = shared.clone();
        let opts = ServerOptions {
            max_connections: 128,
            max_connections_per_peer: 128,
            first_byte_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            tls: shared
                .cfg
                .tls
                .as_ref()
                .map(TlsIdentity::acceptor)
                .transpose()?,
        };
        let server =
            HttpServer::start(shared.cfg.bind, opts, move |req| s.clone().handle(req)).await?;
        Ok(EceSimulator {
            shared,
            server,
            _worker: AbortOnDrop(worker),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Server URL for [`crate::ece::ClientConfig::server_url`] (`http://127.0.0.1:PORT`,
    /// or `https://` when serving TLS).
    pub fn server_url(&self) -> String {
        format!("{}://{}", self.server.scheme(), self.local_addr())
    }

    /// Context root URL for the chat web services (`http://127.0.0.1:PORT/system`).
    pub fn chat_base_url(&self) -> String {
        let root = self.shared.cfg.context_root.trim_matches('/');
        if root.is_empty() {
            self.server_url()
        } else {
            format!("{}/{root}", self.server_url())
        }
    }

    /// The settings.
    pub fn config(&self) -> &EceSimConfig {
        &self.shared.cfg
    }

    /// Sets (or clears) where the agent's webhook POSTs go.
    pub fn set_webhook(&self, webhook: Option<SimWebhook>) {
        self.shared.state().webhook = webhook;
    }

    /// The next `count` requests to `endpoint` get `status` (401, 409, 500...).
    pub fn fail_next(&self, endpoint: SimEndpoint, status: u16, count: u32) {
        let mut st = self.shared.state();
        if count == 0 {
            st.faults.remove(&endpoint);
        } else {
            st.faults.insert(
                endpoint,
                Fault {
                    status,
                    remaining: count,
                },
            );
        }
    }

    /// Delays every answer of `endpoint` (zero: no delay).
    pub fn set_delay(&self, endpoint: SimEndpoint, delay: Duration) {
        let mut st = self.shared.state();
        if delay.is_zero() {
            st.delays.remove(&endpoint);
        } else {
            st.delays.insert(endpoint, delay);
        }
    }

    /// Serves this XML for a chat web service instead of the computed answer (`None`:
    /// back to normal).
    pub fn set_xml(&self, endpoint: SimEndpoint, xml: Option<String>) {
        let mut st = self.shared.state();
        match xml {
            Some(x) => st.xml_overrides.insert(endpoint, x),
            None => st.xml_overrides.remove(&endpoint),
        };
    }

    /// Changes the chat web service answers.
    pub fn set_chat_status(&self, status: SimChatStatus) {
        self.shared.state().chat = status;
    }

    /// Changes the lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.state().token_lifetime = lifetime;
    }

    /// Expires every token issued so far: the next Bearer call gets 401.
    pub fn expire_tokens(&self) {
        self.shared.state().tokens.clear();
    }

    /// Changes the entry point's `lastModified`: the next start with the old one gets 409.
    pub fn touch_configuration(&self, entry_point: u64) -> Result<(), EceError> {
        let mut st = self.shared.state();
        let date = st
            .last_modified
            .get_mut(&entry_point)
            .ok_or_else(|| EceError::InvalidArgument(format!("no entry point {entry_point}")))?;
        // Strictly later than the current value, even within the same millisecond.
        let mut ms = now_ms();
        while iso8601(ms) <= *date {
            ms += 1000;
        }
        *date = iso8601(ms);
        Ok(())
    }

    /// The agent sends `text` (with typing before it when the conversation asked for it).
    pub fn agent_say(&self, conversation_id: &str, text: &str) -> Result<(), EceError> {
        let sh = &self.shared;
        let mut st = sh.state();
        let typing = st
            .conversations
            .iter()
            .find(|c| c.id == conversation_id && !c.ended)
            .ok_or_else(|| {
                EceError::InvalidArgument(format!("no active conversation {conversation_id:?}"))
            })?
            .typing;
        let mut posts = Vec::new();
        let mut batch = Vec::new();
        if typing {
            posts.push(vec![sh.event(
                &mut st,
                conversation_id,
                "startTyping",
                None,
                false,
            )]);
            batch.push(sh.event(&mut st, conversation_id, "endTyping", None, false));
        }
        batch.push(sh.event(&mut st, conversation_id, "text/html", Some(text), false));
        posts.push(batch);
        drop(st);
        for p in posts {
            sh.post_events(conversation_id, p);
        }
        Ok(())
    }

    /// The agent sends an event of any `type.value` (e.g. `transfer`), for testing
    /// unknown event types.
    pub fn agent_event(
        &self,
        conversation_id: &str,
        type_value: &str,
        content: Option<&str>,
    ) -> Result<(), EceError> {
        let sh = &self.shared;
        let mut st = sh.state();
        if !st.conversations.iter().any(|c| c.id == conversation_id) {
            return Err(EceError::InvalidArgument(format!(
                "no conversation {conversation_id:?}"
            )));
        }
        let ev = sh.event(&mut st, conversation_id, type_value, content, false);
        drop(st);
        sh.post_events(conversation_id, vec![ev]);
        Ok(())
    }

    /// The agent ends the conversation (`complete`).
    pub fn agent_complete(&self, conversation_id: &str) -> Result<(), EceError> {
        let text = format!("{} has ended the chat", self.shared.cfg.agent.screen_name);
        self.shared.complete(conversation_id, &text)
    }

    /// POSTs `body` to the webhook as is, after the queued POSTs, and returns the
    /// status it answered. `authorization`: `None` sends the configured credentials,
    /// `Some(None)` none, `Some(Some(h))` this header.
    pub async fn webhook_raw(
        &self,
        body: Vec<u8>,
        content_type: &str,
        authorization: Option<Option<String>>,
    ) -> Result<u16, EceError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.shared.enqueue(Outgoing {
            conversation_id: String::new(),
            body,
            types: Vec::new(),
            authorization,
            content_type: content_type.to_owned(),
            reply: Some(tx),
        });
        match rx.await {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(e)) => Err(EceError::Io(format!("webhook POST failed: {e}"))),
            Err(_) => Err(EceError::Closed),
        }
    }

    /// Waits until every queued webhook POST was made; false on timeout.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let mut rx = self.shared.pending.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// What the simulator has seen.
    pub fn stats(&self) -> SimStats {
        let st = self.shared.state();
        SimStats {
            logins: st.logins,
            requests: st.requests.clone(),
            conversations: st.conversations.clone(),
            deliveries: st.deliveries.iter().cloned().collect(),
            surveys: st.surveys.clone(),
        }
    }

    /// Runs a JSON command, as the bindings do. `{"op": ...}` with:
    /// `set_webhook` (`url`, `basic`/`bearer`; no `url`: clear), `fail_next` (`endpoint`,
    /// `status`, `count` = 1), `set_delay` (`endpoint`, `ms`), `set_xml` (`endpoint`,
    /// `xml` or null), `set_chat` (chat status fields), `set_token_lifetime` (`secs`),
    /// `expire_tokens`, `touch_configuration` (`entry_point`), `agent_say`
    /// (`conversation_id`, `text`), `agent_event` (`conversation_id`, `type`,
    /// `content`), `agent_complete` (`conversation_id`), `webhook_raw` (`body`,
    /// `content_type` = application/json, `authorization`: omitted = configured, null =
    /// none, string = this header; returns `{"status"}`), `wait_idle` (`timeout_ms` =
    /// 5000; returns `{"idle"}`), `stats`. Returns a JSON object (`{}` when nothing to say).
    pub async fn control(&self, cmd: &Value) -> Result<Value, EceError> {
        let op = str_field(cmd, "op")?;
        let conv = || str_field(cmd, "conversation_id");
        match op {
            "set_webhook" => {
                let w = if cmd.get("url").is_some() {
                    let mut c = cmd.clone();
                    if let Some(o) = c.as_object_mut() {
                        o.remove("op");
                    }
                    Some(
                        serde_json::from_value::<SimWebhook>(c)
                            .map_err(|e| EceError::InvalidArgument(format!("set_webhook: {e}")))?,
                    )
                } else {
                    None
                };
                self.set_webhook(w);
            }
            "fail_next" => {
                let status = field(cmd, "status")?
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .filter(|s| (100..=599).contains(s))
                    .ok_or_else(|| EceError::InvalidArgument("status must be 100..599".into()))?;
                let count = cmd.get("count").and_then(Value::as_u64).unwrap_or(1);
                self.fail_next(
                    endpoint(cmd)?,
                    status,
                    u32::try_from(count).unwrap_or(u32::MAX),
                );
            }
            "set_delay" => {
                let ms = field(cmd, "ms")?
                    .as_u64()
                    .ok_or_else(|| EceError::InvalidArgument("ms must be a number".into()))?;
                self.set_delay(endpoint(cmd)?, Duration::from_millis(ms));
            }
            "set_xml" => {
                let xml = cmd.get("xml").and_then(Value::as_str).map(str::to_owned);
                self.set_xml(endpoint(cmd)?, xml);
            }
            "set_chat" => {
                let mut c = cmd.clone();
                if let Some(o) = c.as_object_mut() {
                    o.remove("op");
                }
                let mut merged = serde_json::to_value(&self.shared.state().chat)
                    .map_err(|e| EceError::InvalidArgument(e.to_string()))?;
                if let (Some(m), Some(o)) = (merged.as_object_mut(), c.as_object()) {
                    for (k, v) in o {
                        m.insert(k.clone(), v.clone());
                    }
                }
                let status: SimChatStatus = serde_json::from_value(merged)
                    .map_err(|e| EceError::InvalidArgument(format!("set_chat: {e}")))?;
                self.set_chat_status(status);
            }
            "set_token_lifetime" => {
                let secs = field(cmd, "secs")?
                    .as_u64()
                    .ok_or_else(|| EceError::InvalidArgument("secs must be a number".into()))?;
                self.set_token_lifetime(Duration::from_secs(secs));
            }
            "expire_tokens" => self.expire_tokens(),
            "touch_configuration" => {
                let ep = field(cmd, "entry_point")?.as_u64().ok_or_else(|| {
                    EceError::InvalidArgument("entry_point must be a number".into())
                })?;
                self.touch_configuration(ep)?;
            }
            "agent_say" => self.agent_say(conv()?, str_field(cmd, "text")?)?,
            "agent_event" => self.agent_event(
                conv()?,
                str_field(cmd, "type")?,
                cmd.get("content").and_then(Value::as_str),
            )?,
            "agent_complete" => self.agent_complete(conv()?)?,
            "webhook_raw" => {
                let body = str_field(cmd, "body")?.as_bytes().to_vec();
                let ct = cmd
                    .get("content_type")
                    .and_then(Value::as_str)
                    .unwrap_or("application/json");
                let auth = match cmd.get("authorization") {
                    None => None,
                    Some(Value::Null) => Some(None),
                    Some(Value::String(s)) => Some(Some(s.clone())),
                    Some(_) => {
                        return Err(EceError::InvalidArgument(
                            "authorization must be a string or null".into(),
                        ))
                    }
                };
                let status = self.webhook_raw(body, ct, auth).await?;
                return Ok(json!({ "status": status }));
            }
            "wait_idle" => {
                let ms = cmd
                    .get("timeout_ms")
                    .and_then(Value::as_u64)
                    .unwrap_or(5000);
                let idle = self.wait_idle(Duration::from_millis(ms)).await;
                return Ok(json!({ "idle": idle }));
            }
            "stats" => {
                return serde_json::to_value(self.stats())
                    .map_err(|e| EceError::InvalidArgument(e.to_string()))
            }
            other => {
                return Err(EceError::InvalidArgument(format!(
                    "unknown command {other:?}"
                )))
            }
        }
        Ok(json!({}))
    }

    /// Stops the simulator (pending webhook POSTs are dropped).
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_formats_epoch_millis() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_742_777_954_000), "2025-03-24T00:59:14.000Z");
        assert_eq!(iso8601(951_782_400_123), "2000-02-29T00:00:00.123Z");
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let cfg = EceSimConfig::from_json(
            r#"{"webhook":{"url":"http://x","basic":{"username":"u","password":"hook-pw"},"bearer":"tok-123"}}"#,
        )
        .unwrap();
        let dbg = format!("{cfg:?}");
        assert!(
            !dbg.contains("sim-secret") && !dbg.contains("hook-pw") && !dbg.contains("tok-123")
        );
    }

    #[test]
    fn strips_tags() {
        assert_eq!(strip_tags(" <p>Bye</p> "), "Bye");
    }

    #[test]
    fn conversation_ids_look_like_uuids() {
        let id = Shared::new_conversation_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }
}
