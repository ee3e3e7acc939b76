//! Webhooks from ECE, as pure functions: credential check, body parsing into typed
//! events, and routing (ordering, de-duplication, conversation tracking).
//! [`super::webhook_server`] puts these behind an HTTP server.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::secret::Secret;

/// How webhook calls must authenticate (the External-App Authentication profile).
#[derive(Clone)]
pub enum WebhookAuth {
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
    /// `Authorization: Bearer <token>` with this exact token.
    Bearer(Secret),
    /// `Authorization: Bearer <token>` accepted when the validator returns true
    /// (OAuth 2.0 profiles, data sheet E10).
    BearerValidator(Arc<dyn Fn(&str) -> bool + Send + Sync>),
    /// No check at all: lab use only, never in production.
    AllowUnauthenticated,
}

impl fmt::Debug for WebhookAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookAuth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            WebhookAuth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            WebhookAuth::BearerValidator(_) => f.write_str("BearerValidator(..)"),
            WebhookAuth::AllowUnauthenticated => f.write_str("AllowUnauthenticated"),
        }
    }
}

fn strip_scheme<'a>(header: &'a [u8], scheme: &str) -> Option<&'a [u8]> {
    let n = scheme.len();
    if header.len() > n && header[..n].eq_ignore_ascii_case(scheme.as_bytes()) && header[n] == b' '
    {
        Some(header[n + 1..].trim_ascii())
    } else {
        None
    }
}

impl WebhookAuth {
    /// Checks an `Authorization` header value. Secrets are compared in constant time.
    pub fn verify(&self, header: Option<&[u8]>) -> bool {
        match self {
            WebhookAuth::AllowUnauthenticated => true,
            WebhookAuth::Basic { username, password } => {
                let Some(encoded) = header.and_then(|h| strip_scheme(h, "Basic")) else {
                    return false;
                };
                use base64::Engine as _;
                let Ok(given) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
                    return false;
                };
                let expected = format!("{username}:{}", password.expose());
                bool::from(given.as_slice().ct_eq(expected.as_bytes()))
            }
            WebhookAuth::Bearer(token) => header
                .and_then(|h| strip_scheme(h, "Bearer"))
                .is_some_and(|t| bool::from(t.ct_eq(token.expose().as_bytes()))),
            WebhookAuth::BearerValidator(f) => header
                .and_then(|h| strip_scheme(h, "Bearer"))
                .and_then(|t| std::str::from_utf8(t).ok())
                .is_some_and(|t| f(t)),
        }
    }

    /// The `WWW-Authenticate` challenge to send with a 401.
    pub fn challenge(&self) -> &'static str {
        match self {
            WebhookAuth::Basic { .. } => "Basic realm=\"ece-webhook\"",
            _ => "Bearer realm=\"ece-webhook\"",
        }
    }
}

/// Limits applied to webhook bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookLimits {
    /// Largest body accepted (default 1 MiB); more gets 413.
    pub max_body_bytes: usize,
    /// Deepest JSON nesting accepted (default 32); more gets 400.
    pub max_depth: usize,
    /// Most events in one POST (default 1000); more gets 413.
    pub max_events: usize,
}

impl Default for WebhookLimits {
    fn default() -> Self {
        WebhookLimits {
            max_body_bytes: 1 << 20,
            max_depth: 32,
            max_events: 1000,
        }
    }
}

/// Why a webhook body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Larger than the limit.
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    /// More events than the limit.
    #[error("more than {0} events")]
    TooManyEvents(usize),
    /// Nested deeper than the limit.
    #[error("JSON nested deeper than {0}")]
    TooDeep(usize),
    /// An XML body: only the JSON callback format is supported (data sheet E11).
    #[error("XML callbacks are not supported: register the application with the JSON format")]
    Xml,
    /// Not JSON.
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// JSON, but not `{"message":[...]}` with event objects.
    #[error("not a webhook envelope: {0}")]
    Envelope(String),
}

impl BodyError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            BodyError::TooLarge(_) | BodyError::TooManyEvents(_) => 413,
            BodyError::Xml => 415,
            _ => 400,
        }
    }
}

/// What the event is (`type.value`, compared case-insensitively; data sheet E3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// An agent took the conversation (`assigned`).
    Assigned,
    /// The agent started typing (`startTyping`).
    StartTyping,
    /// The agent stopped typing (`endTyping`).
    EndTyping,
    /// An agent message (`text/html` or `text/plain`); the content is in `content`.
    Message(MessageFormat),
    /// The conversation ended (`complete`): the last event of a conversation.
    Complete,
    /// Any other type (transfer, page push, attachments...), raw value kept.
    Other(String),
}

/// Format of a message event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageFormat {
    /// `text/html`.
    Html,
    /// `text/plain`.
    Plain,
}

impl EventKind {
    /// Classifies a `type.value`.
    pub fn parse(value: &str) -> Self {
        let v = value.trim();
        let is = |s: &str| v.eq_ignore_ascii_case(s);
        if is("assigned") {
            EventKind::Assigned
        } else if is("startTyping") {
            EventKind::StartTyping
        } else if is("endTyping") {
            EventKind::EndTyping
        } else if is("text/html") {
            EventKind::Message(MessageFormat::Html)
        } else if is("text/plain") {
            EventKind::Message(MessageFormat::Plain)
        } else if is("complete") {
            EventKind::Complete
        } else {
            EventKind::Other(value.to_owned())
        }
    }

    /// Stable name used in JSON renderings: `assigned`, `startTyping`, `endTyping`,
    /// `message`, `complete` or `other`.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Assigned => "assigned",
            EventKind::StartTyping => "startTyping",
            EventKind::EndTyping => "endTyping",
            EventKind::Message(_) => "message",
            EventKind::Complete => "complete",
            EventKind::Other(_) => "other",
        }
    }
}

/// An ECE user (agent) as named in events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EceUser {
    /// `name`.
    pub name: Option<String>,
    /// `screenName`.
    pub screen_name: Option<String>,
}

/// Who sent the event (`sender.type`, data sheet E13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderKind {
    /// `system`.
    System,
    /// `user` (an agent).
    User,
    /// Anything else, kept raw.
    Other(String),
}

/// One event from a webhook body, before routing.
#[derive(Debug, Clone, PartialEq)]
pub struct EventData {
    /// Kind.
    pub kind: EventKind,
    /// The raw `type.value`.
    pub type_value: String,
    /// `content` (message text/HTML or system text), when present.
    pub content: Option<String>,
    /// `sender.type`, when present.
    pub sender: Option<SenderKind>,
    /// The agent: `type.user` (assigned) or else `sender.user`.
    pub agent: Option<EceUser>,
    /// `timeStamp`, epoch milliseconds.
    pub timestamp_ms: Option<i64>,
    /// Event ID (`id`), used for de-duplication.
    pub id: Option<String>,
    /// The event object as received (unknown keys included).
    pub raw: Value,
    /// What was repaired in this event, e.g. an escaped lone UTF-16 surrogate (a Java
    /// server cutting an emoji in half) replaced by U+FFFD. Empty for a clean event.
    pub warnings: Vec<String>,
}

/// A parsed event whose conversation may be missing (data sheet E12).
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedEvent {
    /// `conversation.id`, when present.
    pub conversation_id: Option<String>,
    /// The rest.
    pub data: EventData,
}

/// An event delivered to the application.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// Conversation ID.
    pub conversation_id: String,
    /// The event.
    pub data: EventData,
}

impl WebhookEvent {
    /// JSON rendering used by the bindings: `{"type", "type_value", "conversation_id",
    /// "id", "timestamp", "content", "sender", "agent", "raw"}` (absent values are null),
    /// plus `"warnings": [...]` when something in the event was repaired.
    pub fn to_json(&self) -> Value {
        let d = &self.data;
        let mut v = serde_json::json!({
            "type": d.kind.name(),
            "type_value": d.type_value,
            "conversation_id": self.conversation_id,
            "id": d.id,
            "timestamp": d.timestamp_ms,
            "content": d.content,
            "sender": d.sender.as_ref().map(|s| match s {
                SenderKind::System => "system".to_owned(),
                SenderKind::User => "user".to_owned(),
                SenderKind::Other(o) => o.clone(),
            }),
            "agent": d.agent,
            "raw": d.raw,
        });
        if let (false, Some(o)) = (d.warnings.is_empty(), v.as_object_mut()) {
            o.insert("warnings".into(), serde_json::json!(d.warnings));
        }
        if let (EventKind::Message(f), Some(o)) = (&d.kind, v.as_object_mut()) {
            o.insert(
                "format".into(),
                Value::from(match f {
                    MessageFormat::Html => "html",
                    MessageFormat::Plain => "plain",
                }),
            );
        }
        v
    }
}

/// Deepest nesting of `[`/`{` in a JSON text, stopping early past `limit`.
fn nesting_exceeds(body: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn opt_string(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn user(v: Option<&Value>) -> Option<EceUser> {
    let o = v?.as_object()?;
    Some(EceUser {
        name: opt_string(o.get("name")),
        screen_name: opt_string(o.get("screenName")),
    })
}

fn parse_event(v: &Value) -> Result<ParsedEvent, BodyError> {
    let o = v
        .as_object()
        .ok_or_else(|| BodyError::Envelope("an event is not an object".into()))?;
    let type_value = match o.get("type") {
        Some(Value::Object(t)) => opt_string(t.get("value")),
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
    .ok_or_else(|| BodyError::Envelope("an event has no type.value".into()))?;
    let conversation_id = match o.get("conversation") {
        Some(Value::Object(c)) => opt_string(c.get("id")),
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
    .filter(|s| !s.is_empty());
    let sender = o.get("sender").and_then(Value::as_object);
    let kind = EventKind::parse(&type_value);
    let agent = user(o.get("type").and_then(|t| t.get("user")))
        .or_else(|| user(sender.and_then(|s| s.get("user"))));
    let sender_kind = sender
        .and_then(|s| s.get("type"))
        .and_then(Value::as_str)
        .map(|t| {
            if t.eq_ignore_ascii_case("system") {
                SenderKind::System
            } else if t.eq_ignore_ascii_case("user") {
                SenderKind::User
            } else {
                SenderKind::Other(t.to_owned())
            }
        });
    let timestamp_ms = match o.get("timeStamp") {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    Ok(ParsedEvent {
        conversation_id,
        data: EventData {
            kind,
            type_value,
            content: opt_string(o.get("content")),
            sender: sender_kind,
            agent,
            timestamp_ms,
            id: opt_string(o.get("id")),
            raw: v.clone(),
            warnings: Vec::new(),
        },
    })
}

/// Stands in for an escaped lone surrogate while the body is parsed (a noncharacter,
/// reserved for such internal use), so that each replacement is found in its event.
const SURROGATE_MARK: char = '\u{FDD0}';
const SURROGATE_MARK_ESCAPE: &[u8; 6] = b"\\ufdd0";

fn hex4(b: &[u8]) -> Option<u16> {
    let s = std::str::from_utf8(b.get(..4)?).ok()?;
    u16::from_str_radix(s, 16).ok()
}

/// Replaces every escaped lone UTF-16 surrogate (`\ud83d` without its pair, or a
/// trailing one alone) by `replacement` (a 6-byte escape: offsets are unchanged).
/// Returns `None` when there is none.
fn replace_lone_surrogates(body: &[u8], replacement: &[u8; 6]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < body.len() {
        if body[i] != b'\\' {
            i += 1;
            continue;
        }
        if body.get(i + 1) != Some(&b'u') {
            i += 2;
            continue;
        }
        let Some(v) = body.get(i + 2..).and_then(hex4) else {
            i += 2;
            continue;
        };
        let lone = match v {
            0xD800..=0xDBFF => {
                let next = body.get(i + 6..i + 8) == Some(b"\\u");
                let low = body.get(i + 8..).and_then(hex4);
                if next && matches!(low, Some(0xDC00..=0xDFFF)) {
                    i += 12;
                    continue;
                }
                true
            }
            0xDC00..=0xDFFF => true,
            _ => false,
        };
        if lone {
            out.get_or_insert_with(|| body.to_vec())[i..i + 6].copy_from_slice(replacement);
        }
        i += 6;
    }
    out
}

/// Replaces `mark` by U+FFFD in every string (and key) of `v`; returns how many.
fn unmark(v: &mut Value, mark: char) -> usize {
    match v {
        Value::String(s) if s.contains(mark) => {
            let n = s.matches(mark).count();
            *s = s.replace(mark, "\u{FFFD}");
            n
        }
        Value::Array(a) => a.iter_mut().map(|x| unmark(x, mark)).sum(),
        Value::Object(o) => {
            let mut n = 0;
            if o.keys().any(|k| k.contains(mark)) {
                let old = std::mem::take(o);
                for (k, x) in old {
                    n += k.matches(mark).count();
                    o.insert(k.replace(mark, "\u{FFFD}"), x);
                }
            }
            n + o.values_mut().map(|x| unmark(x, mark)).sum::<usize>()
        }
        _ => 0,
    }
}

/// Parses a webhook body `{"message":[event, ...]}` (a lone event object in place of
/// the array is accepted too). Unknown keys are ignored; events are kept in array order.
pub fn parse_body(body: &[u8], limits: &WebhookLimits) -> Result<Vec<ParsedEvent>, BodyError> {
    if body.len() > limits.max_body_bytes {
        return Err(BodyError::TooLarge(limits.max_body_bytes));
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'<') {
        return Err(BodyError::Xml);
    }
    if nesting_exceeds(body, limits.max_depth) {
        return Err(BodyError::TooDeep(limits.max_depth));
    }
    // An escaped lone surrogate (what a Java server emits when it cuts an emoji in
    // half) is not valid JSON text; rather than refuse the whole batch, it becomes
    // U+FFFD with a warning on its event. The marker is used only when the body does
    // not hold it already; otherwise the replacement is U+FFFD directly and the
    // events holding U+FFFD get the warning.
    let text = String::from_utf8_lossy(body);
    let mark_free =
        !text.contains(SURROGATE_MARK) && !text.to_ascii_lowercase().contains("\\ufdd0");
    let (replacement, mark) = if mark_free {
        (SURROGATE_MARK_ESCAPE, SURROGATE_MARK)
    } else {
        (b"\\ufffd", '\u{FFFD}')
    };
    let repaired = replace_lone_surrogates(body, replacement);
    let body = repaired.as_deref().unwrap_or(body);
    let mut v: Value =
        serde_json::from_slice(body).map_err(|e| BodyError::Malformed(e.to_string()))?;
    let list = match v.get_mut("message") {
        Some(Value::Array(a)) => a.as_mut_slice(),
        Some(o @ Value::Object(_)) => std::slice::from_mut(o),
        _ => return Err(BodyError::Envelope("no \"message\" array".into())),
    };
    if list.len() > limits.max_events {
        return Err(BodyError::TooManyEvents(limits.max_events));
    }
    list.iter_mut()
        .map(|ev| {
            let replaced = if repaired.is_some() {
                unmark(ev, mark)
            } else {
                0
            };
            let mut parsed = parse_event(ev)?;
            if replaced > 0 {
                parsed.data.warnings.push(format!(
                    "{replaced} escaped lone UTF-16 surrogate(s) replaced by U+FFFD"
                ));
            }
            Ok(parsed)
        })
        .collect()
}

/// Counters of what the router did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RouterStats {
    /// Events delivered.
    pub delivered: u64,
    /// Events dropped as duplicates (same conversation and `id`).
    pub duplicates: u64,
    /// Events dropped for lack of a conversation ID with no single active conversation.
    pub unroutable: u64,
}

/// Orders, de-duplicates and routes parsed events (data sheet E9, E12).
///
/// Within one POST, events are ordered by `timeStamp` then array order (an event
/// without a time stamp keeps its place after the one before it). Events with the same
/// conversation and `id` as one of the last `dedup_window` events are dropped. An event
/// without a conversation ID goes to the only active conversation, or is dropped.
#[derive(Debug, Clone)]
pub struct EventRouter {
    dedup_window: usize,
    recent: VecDeque<(String, String)>,
    recent_set: HashSet<(String, String)>,
    active: VecDeque<String>,
    stats: RouterStats,
}

/// Most conversations tracked as active (the oldest are forgotten beyond this).
const MAX_ACTIVE: usize = 65_536;

impl EventRouter {
    /// A router remembering the last `dedup_window` event IDs.
    pub fn new(dedup_window: usize) -> Self {
        EventRouter {
            dedup_window,
            recent: VecDeque::new(),
            recent_set: HashSet::new(),
            active: VecDeque::new(),
            stats: RouterStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> RouterStats {
        self.stats
    }

    /// Conversations seen and not completed, oldest first.
    pub fn active(&self) -> impl Iterator<Item = &str> {
        self.active.iter().map(String::as_str)
    }

    fn remember(&mut self, key: (String, String)) -> bool {
        if self.dedup_window == 0 {
            return true;
        }
        if self.recent_set.contains(&key) {
            return false;
        }
        if self.recent.len() >= self.dedup_window {
            if let Some(old) = self.recent.pop_front() {
                self.recent_set.remove(&old);
            }
        }
        self.recent_set.insert(key.clone());
        self.recent.push_back(key);
        true
    }

    /// Routes the events of one POST; returns those to deliver, in delivery order.
    pub fn route(&mut self, batch: Vec<ParsedEvent>) -> Vec<WebhookEvent> {
        // Sort key: time stamp carried forward over events that lack one.
        let mut last = i64::MIN;
        let mut keyed: Vec<(i64, ParsedEvent)> = batch
            .into_iter()
            .map(|e| {
                if let Some(t) = e.data.timestamp_ms {
                    last = t;
                }
                (last, e)
            })
            .collect();
        keyed.sort_by_key(|(t, _)| *t); // stable: array order among equal keys
        let mut out = Vec::with_capacity(keyed.len());
        for (_, e) in keyed {
            let conv = match e.conversation_id {
                Some(c) => c,
                None if self.active.len() == 1 => match self.active.front() {
                    Some(c) => c.clone(),
                    None => continue,
                },
                None => {
                    tracing::warn!(
                        active = self.active.len(),
                        "ECE webhook event without conversation id dropped"
                    );
                    self.stats.unroutable += 1;
                    continue;
                }
            };
            if let Some(id) = &e.data.id {
                if !self.remember((conv.clone(), id.clone())) {
                    self.stats.duplicates += 1;
                    continue;
                }
            }
            if e.data.kind == EventKind::Complete {
                self.active.retain(|c| c != &conv);
            } else if !self.active.contains(&conv) {
                if self.active.len() >= MAX_ACTIVE {
                    self.active.pop_front();
                }
                self.active.push_back(conv.clone());
            }
            self.stats.delivered += 1;
            out.push(WebhookEvent {
                conversation_id: conv,
                data: e.data,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSIGNED: &str = r#"{"message":[{"conversation":{"id":"1ff6d-4d78-4406-966d-e948c4"},
      "type":{"value":"assigned","user":{"name":"1 Agent","screenName":"agent1"}},
      "content":"You are now chatting with agent1","sender":{"type":"system"},
      "timeStamp":1742834034000,"id":"4844574856"}]}"#;

    const BATCH: &str = r#"{"message":[
      {"conversation":{"id":"c1"},"type":{"value":"endTyping"},
       "sender":{"type":"user","user":{"name":"1 Agent","screenName":"agent1"}},
       "timeStamp":1742834050000,"id":"7111400674"},
      {"conversation":{"id":"c1"},"type":{"value":"text/html"},"content":"Howdy.",
       "sender":{"type":"user","user":{"name":"1 Agent","screenName":"agent1"}},
       "timeStamp":1742834050000,"id":"1692527591"}]}"#;

    fn parse(s: &str) -> Vec<ParsedEvent> {
        parse_body(s.as_bytes(), &WebhookLimits::default()).unwrap()
    }

    #[test]
    fn parses_the_documented_samples() {
        let e = &parse(ASSIGNED)[0];
        assert_eq!(
            e.conversation_id.as_deref(),
            Some("1ff6d-4d78-4406-966d-e948c4")
        );
        assert_eq!(e.data.kind, EventKind::Assigned);
        assert_eq!(e.data.sender, Some(SenderKind::System));
        assert_eq!(
            e.data.agent.as_ref().unwrap().screen_name.as_deref(),
            Some("agent1")
        );
        assert_eq!(e.data.timestamp_ms, Some(1742834034000));
        assert_eq!(e.data.id.as_deref(), Some("4844574856"));

        let b = parse(BATCH);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].data.kind, EventKind::EndTyping);
        assert_eq!(b[1].data.kind, EventKind::Message(MessageFormat::Html));
        assert_eq!(b[1].data.content.as_deref(), Some("Howdy."));

        let c = parse(
            r#"{"message":[{"conversation":{"id":"ca2c588e"},"type":{"value":"complete"},
            "content":"IMIUser2 has ended the chat","sender":{"type":"system"},
            "timeStamp":1624144754000,"id":"3118908847","client":{"x":1}}]}"#,
        );
        assert_eq!(c[0].data.kind, EventKind::Complete);
    }

    #[test]
    fn unknown_types_are_kept_raw_and_case_is_ignored() {
        let e = &parse(
            r#"{"message":[{"conversation":{"id":"c"},"type":{"value":"Transfer"},"x":[1]}]}"#,
        )[0];
        assert_eq!(e.data.kind, EventKind::Other("Transfer".into()));
        assert_eq!(e.data.raw["x"][0], 1);
        assert_eq!(EventKind::parse("STARTTYPING"), EventKind::StartTyping);
        assert_eq!(
            EventKind::parse("Text/Plain"),
            EventKind::Message(MessageFormat::Plain)
        );
    }

    #[test]
    fn hostile_bodies_are_refused_with_4xx() {
        let l = WebhookLimits {
            max_body_bytes: 100,
            max_depth: 4,
            max_events: 2,
        };
        let err = |b: &[u8]| parse_body(b, &l).unwrap_err();
        assert_eq!(err(&[b' '; 101]).status(), 413);
        assert_eq!(err(b"[[[[[1]]]]]"), BodyError::TooDeep(4));
        assert_eq!(err(b"<message/>"), BodyError::Xml);
        assert_eq!(err(b"<message/>").status(), 415);
        assert!(matches!(err(b"{\"message\":"), BodyError::Malformed(_)));
        assert!(matches!(err(b"\xff\xfe"), BodyError::Malformed(_)));
        assert!(matches!(err(br#"{"msg":[]}"#), BodyError::Envelope(_)));
        assert!(matches!(err(br#"{"message":[1]}"#), BodyError::Envelope(_)));
        assert!(matches!(
            err(br#"{"message":[{"id":"1"}]}"#),
            BodyError::Envelope(_)
        ));
        assert_eq!(
            err(br#"{"message":[{"type":"a"},{"type":"a"},{"type":"a"}]}"#),
            BodyError::TooManyEvents(2)
        );
        // Brackets inside strings do not count as nesting.
        assert!(parse_body(br#"{"message":[],"s":"[[[[[[\"[[["}"#, &l).is_ok());
    }

    #[test]
    fn a_lone_surrogate_becomes_u_fffd_with_a_warning_on_its_event_only() {
        let l = WebhookLimits::default();
        // Event 1 ends in a cut emoji (high surrogate alone), event 2 is clean and holds
        // a whole pair, event 3 has a trailing surrogate alone in its content.
        let body = br#"{"message":[
            {"type":{"value":"text/plain"},"id":"1","conversation":{"id":"c"},"content":"hi \ud83d"},
            {"type":{"value":"text/plain"},"id":"2","conversation":{"id":"c"},"content":"ok \ud83d\ude00"},
            {"type":{"value":"text/plain"},"id":"3","conversation":{"id":"c"},"content":"\ude00 x"}
        ]}"#;
        let ev = parse_body(body, &l).expect("accepted");
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[0].data.content.as_deref(), Some("hi \u{FFFD}"));
        assert_eq!(ev[0].data.warnings.len(), 1);
        assert_eq!(ev[1].data.content.as_deref(), Some("ok \u{1F600}"));
        assert!(ev[1].data.warnings.is_empty());
        assert_eq!(ev[2].data.content.as_deref(), Some("\u{FFFD} x"));
        assert_eq!(ev[2].data.raw["content"], "\u{FFFD} x");
        assert_eq!(ev[2].data.warnings.len(), 1);
        // An escaped backslash followed by "ud83d" is text, not an escape.
        let ev = parse_body(
            br#"{"message":[{"type":{"value":"a"},"content":"\\ud83d"}]}"#,
            &l,
        )
        .expect("ok");
        assert_eq!(ev[0].data.content.as_deref(), Some("\\ud83d"));
        assert!(ev[0].data.warnings.is_empty());
        // A body already holding the marker character still works.
        let ev = parse_body(
            br#"{"message":[{"type":{"value":"a"},"content":"\ufdd0 \ud800"}]}"#,
            &l,
        )
        .expect("ok");
        assert_eq!(ev[0].data.content.as_deref(), Some("\u{FDD0} \u{FFFD}"));
        assert_eq!(ev[0].data.warnings.len(), 1);
    }

    #[test]
    fn router_orders_dedups_and_routes() {
        let mut r = EventRouter::new(16);
        let ev = |id: &str, ts: Option<i64>, conv: Option<&str>, kind: &str| ParsedEvent {
            conversation_id: conv.map(str::to_owned),
            data: EventData {
                kind: EventKind::parse(kind),
                type_value: kind.into(),
                content: None,
                sender: None,
                agent: None,
                timestamp_ms: ts,
                id: Some(id.into()),
                raw: Value::Null,
                warnings: Vec::new(),
            },
        };
        let out = r.route(vec![
            ev("b", Some(20), Some("c1"), "text/html"),
            ev("a", Some(10), Some("c1"), "assigned"),
            ev("c", None, Some("c1"), "endTyping"),
        ]);
        // "c" has no time stamp: it takes the one of the event before it ("a", 10).
        let ids: Vec<_> = out.iter().map(|e| e.data.id.clone().unwrap()).collect();
        assert_eq!(ids, ["a", "c", "b"]);
        // Redelivery of the same POST: all duplicates.
        assert!(r
            .route(vec![ev("a", Some(10), Some("c1"), "assigned")])
            .is_empty());
        assert_eq!(r.stats().duplicates, 1);
        // Same id in another conversation is not a duplicate.
        assert_eq!(
            r.route(vec![ev("a", Some(1), Some("c2"), "assigned")])
                .len(),
            1
        );
        // Two active conversations: an event without conversation is dropped.
        assert!(r.route(vec![ev("x", None, None, "startTyping")]).is_empty());
        assert_eq!(r.stats().unroutable, 1);
        r.route(vec![ev("z", None, Some("c2"), "complete")]);
        let out = r.route(vec![ev("y", None, None, "startTyping")]);
        assert_eq!(out[0].conversation_id, "c1");
        assert_eq!(r.active().collect::<Vec<_>>(), ["c1"]);
    }

    #[test]
    fn credentials_are_checked() {
        let basic = WebhookAuth::Basic {
            username: "ece".into(),
            password: Secret::new("pw"),
        };
        let good = format!("Basic {}", super::super::messaging::base64(b"ece:pw"));
        assert!(basic.verify(Some(good.as_bytes())));
        assert!(basic.verify(Some(good.replace("Basic", "basic").as_bytes())));
        let bad = format!("Basic {}", super::super::messaging::base64(b"ece:pX"));
        assert!(!basic.verify(Some(bad.as_bytes())));
        assert!(!basic.verify(Some(b"Basic !!!")));
        assert!(!basic.verify(Some(b"Bearer pw")));
        assert!(!basic.verify(None));
        let bearer = WebhookAuth::Bearer(Secret::new("t0k"));
        assert!(bearer.verify(Some(b"Bearer t0k")));
        assert!(!bearer.verify(Some(b"Bearer t0")));
        assert!(!bearer.verify(Some(b"Bearer")));
        let v = WebhookAuth::BearerValidator(Arc::new(|t| t.starts_with("ok")));
        assert!(v.verify(Some(b"Bearer ok-1")));
        assert!(!v.verify(Some(b"Bearer no")));
        assert!(!format!("{basic:?} {bearer:?}").contains("pw"));
        assert!(!format!("{bearer:?}").contains("t0k"));
    }
}
