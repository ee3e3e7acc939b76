//! The v19 Messaging API as pure functions: request building and answer parsing.
//! [`super::client`] sends these requests over HTTP.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::error::{EceError, HttpFailure, Operation};
use crate::secret::Secret;

/// Path of the Messaging API below the server URL.
pub const DEFAULT_API_PATH: &str = "/system/ws/v19/clientapplications";

/// Unverified guess for the end-conversation endpoint (data sheet E1), relative to the
/// API path. Confirm against a live ECE before relying on it.
pub const DEFAULT_END_CONVERSATION_PATH: &str = "messaging/conversation/end";

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
}

/// An HTTP request, independent of any HTTP library.
#[derive(Debug, Clone)]
pub struct Request {
    /// The call, for error messages.
    pub op: Operation,
    /// Method.
    pub method: Method,
    /// Path relative to the API base (no leading `/`).
    pub path: String,
    /// Query parameters, in order.
    pub query: Vec<(&'static str, String)>,
    /// Value of the `Authorization` header.
    pub authorization: Secret,
    /// `Content-Type` of the body, when there is one.
    pub content_type: Option<&'static str>,
    /// `Accept-Language`, when set.
    pub accept_language: Option<String>,
    /// Body bytes (empty: none).
    pub body: Vec<u8>,
}

/// Client credentials of a registered ECE application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Client Key.
    pub client_key: String,
    /// Client Secret.
    pub client_secret: Secret,
}

/// Encodes bytes as standard base64.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `Basic base64(key:secret)`.
pub fn basic_authorization(user: &str, password: &Secret) -> Secret {
    Secret::new(format!(
        "Basic {}",
        base64(format!("{user}:{}", password.expose()).as_bytes())
    ))
}

/// `Bearer <token>`.
pub fn bearer_authorization(token: &Secret) -> Secret {
    Secret::new(format!("Bearer {}", token.expose()))
}

/// The OAuth2 client-credentials login (`forceLogin=yes` when `force_login`).
pub fn token_request(
    creds: &Credentials,
    force_login: bool,
    accept_language: Option<&str>,
) -> Request {
    Request {
        op: Operation::Login,
        method: Method::Post,
        path: "authentication/oauth2/token".into(),
        query: if force_login {
            vec![("forceLogin", "yes".into())]
        } else {
            Vec::new()
        },
        authorization: basic_authorization(&creds.client_key, &creds.client_secret),
        content_type: Some("application/x-www-form-urlencoded"),
        accept_language: accept_language.map(str::to_owned),
        body: b"grant_type=client_credentials".to_vec(),
    }
}

/// The entry point configuration GET.
pub fn configuration_request(token: &Secret, entry_point_id: u64) -> Request {
    Request {
        op: Operation::Configuration,
        method: Method::Get,
        path: "messaging/configuration".into(),
        query: vec![("entrypoint", entry_point_id.to_string())],
        authorization: bearer_authorization(token),
        content_type: None,
        accept_language: None,
        body: Vec::new(),
    }
}

/// What conversation start needs from the entry point configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryPointConfig {
    /// `entryPoint.id` with the JSON type the server used (data sheet E4).
    pub entry_point_id: Value,
    /// `lastModified.date`, echoed in conversation start.
    pub last_modified: String,
    /// The whole configuration element, unknown keys included.
    pub raw: Value,
}

fn id_matches(v: &Value, want: u64) -> bool {
    match v {
        Value::Number(n) => n.as_u64() == Some(want),
        Value::String(s) => s.trim().parse::<u64>().ok() == Some(want),
        _ => false,
    }
}

/// Parses the configuration answer and picks the element of `entry_point_id`
/// (or the only element when none carries that ID).
pub fn parse_configuration(body: &[u8], entry_point_id: u64) -> Result<EntryPointConfig, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("configuration JSON: {e}"))?;
    let list = match v.get("entryPointConfiguration") {
        Some(Value::Array(a)) => a.clone(),
        Some(o @ Value::Object(_)) => vec![o.clone()],
        _ => return Err("no entryPointConfiguration".into()),
    };
    let chosen = list
        .iter()
        .find(|e| {
            e.pointer("/entryPoint/id")
                .is_some_and(|id| id_matches(id, entry_point_id))
        })
        .or_else(|| if list.len() == 1 { list.first() } else { None })
        .ok_or_else(|| format!("entry point {entry_point_id} not in the configuration"))?;
    let last_modified = chosen
        .pointer("/lastModified/date")
        .and_then(Value::as_str)
        .ok_or("no lastModified.date")?
        .to_owned();
    let entry_point_id = match chosen.pointer("/entryPoint/id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        _ => Value::from(entry_point_id),
    };
    Ok(EntryPointConfig {
        entry_point_id,
        last_modified,
        raw: chosen.clone(),
    })
}

/// A customer phone number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phone {
    /// Number (`phoneNo`).
    pub number: String,
    /// Type, e.g. `home` (`type.value`).
    #[serde(default, rename = "type")]
    pub phone_type: Option<String>,
    /// Country code.
    #[serde(default)]
    pub country_code: Option<String>,
    /// Area code.
    #[serde(default)]
    pub area_code: Option<String>,
}

/// Customer contact data sent with conversation start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone numbers.
    #[serde(default)]
    pub phones: Vec<Phone>,
    /// `customer.type.value` (default `individual`).
    #[serde(default)]
    pub customer_type: Option<String>,
}

fn yes() -> bool {
    true
}

fn email_attribute() -> Option<String> {
    Some("email.emailAddress".into())
}

/// A conversation start request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartConversation {
    /// The customer.
    #[serde(default)]
    pub customer: Customer,
    /// `sendTypingNotification=yes|no` (default yes: agent typing webhooks).
    #[serde(default = "yes")]
    pub send_typing_notification: bool,
    /// `searchContactOnAttribute` (default `email.emailAddress`; `null` omits it).
    #[serde(default = "email_attribute")]
    pub search_contact_on_attribute: Option<String>,
    /// Extra keys merged into `activity` (ECE custom activity attributes).
    #[serde(default)]
    pub activity: Option<Map<String, Value>>,
}

impl StartConversation {
    /// A start request for `customer` with the defaults of the data sheet.
    pub fn new(customer: Customer) -> Self {
        StartConversation {
            customer,
            send_typing_notification: true,
            search_contact_on_attribute: email_attribute(),
            activity: None,
        }
    }
}

fn contact_json(c: &Customer) -> Value {
    let mut contact = Map::new();
    if let Some(f) = &c.first_name {
        contact.insert("firstName".into(), json!(f));
    }
    if let Some(l) = &c.last_name {
        contact.insert("lastName".into(), json!(l));
    }
    if !c.phones.is_empty() {
        let phones: Vec<Value> = c
            .phones
            .iter()
            .map(|p| {
                let mut o = Map::new();
                if let Some(t) = &p.phone_type {
                    o.insert("type".into(), json!({ "value": t }));
                }
                o.insert("phoneNo".into(), json!(p.number));
                if let Some(cc) = &p.country_code {
                    o.insert("countryCode".into(), json!(cc));
                }
                if let Some(a) = &p.area_code {
                    o.insert("areaCode".into(), json!(a));
                }
                Value::Object(o)
            })
            .collect();
        contact.insert("phone".into(), Value::Array(phones));
    }
    if let Some(e) = &c.email {
        contact.insert("email".into(), json!([{ "emailAddress": e }]));
    }
    Value::Object(contact)
}

/// The request body of conversation start.
pub fn start_body(cfg: &EntryPointConfig, req: &StartConversation) -> Value {
    let mut activity = Map::new();
    activity.insert(
        "customer".into(),
        json!({
            "type": { "value": req.customer.customer_type.as_deref().unwrap_or("individual") },
            "contacts": { "contact": [contact_json(&req.customer)] },
        }),
    );
    if let Some(extra) = &req.activity {
        for (k, v) in extra {
            activity.insert(k.clone(), v.clone());
        }
    }
    json!({
        "entryPointConfiguration": {
            "entryPoint": { "id": cfg.entry_point_id },
            "lastModified": { "date": cfg.last_modified },
        },
        "activity": Value::Object(activity),
    })
}

/// The conversation start POST.
pub fn start_request(token: &Secret, cfg: &EntryPointConfig, req: &StartConversation) -> Request {
    let mut query = vec![(
        "sendTypingNotification",
        if req.send_typing_notification {
            "yes"
        } else {
            "no"
        }
        .to_owned(),
    )];
    if let Some(a) = &req.search_contact_on_attribute {
        query.push(("searchContactOnAttribute", a.clone()));
    }
    Request {
        op: Operation::StartConversation,
        method: Method::Post,
        path: "messaging/conversation/start".into(),
        query,
        authorization: bearer_authorization(token),
        content_type: Some("application/json"),
        accept_language: None,
        body: start_body(cfg, req).to_string().into_bytes(),
    }
}

/// A started conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conversation {
    /// Conversation ID (opaque string): used by later calls and every webhook.
    pub id: String,
    /// `activity.id`, when present.
    pub activity_id: Option<i64>,
    /// `activity.case.id`, when present.
    pub case_id: Option<i64>,
}

/// Parses the start answer; the top-level `id` is required (data sheet E6).
pub fn parse_start(body: &[u8]) -> Result<Conversation, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("start JSON: {e}"))?;
    let id = match v.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err("no conversation id".into()),
    };
    Ok(Conversation {
        id,
        activity_id: v.pointer("/activity/id").and_then(Value::as_i64),
        case_id: v.pointer("/activity/case/id").and_then(Value::as_i64),
    })
}

/// Type of a customer message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageType {
    /// `text/html` (confirmed).
    #[default]
    Html,
    /// `text/plain` (inferred).
    Plain,
}

impl MessageType {
    /// The `type.value` string.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Html => "text/html",
            MessageType::Plain => "text/plain",
        }
    }

    /// Parses `text/html`, `text/plain`, `html` or `plain` (any case).
    pub fn parse(s: &str) -> Result<Self, EceError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text/html" | "html" => Ok(MessageType::Html),
            "text/plain" | "plain" | "text" => Ok(MessageType::Plain),
            _ => Err(EceError::InvalidArgument(format!(
                "message type {s:?}: expected text/html or text/plain"
            ))),
        }
    }
}

fn check_conversation_id(id: &str) -> Result<(), EceError> {
    if id.trim().is_empty() {
        return Err(EceError::InvalidArgument("empty conversation id".into()));
    }
    Ok(())
}

/// The sendmessage POST.
pub fn send_message_request(
    token: &Secret,
    conversation_id: &str,
    message_type: MessageType,
    content: &str,
) -> Result<Request, EceError> {
    check_conversation_id(conversation_id)?;
    let body = json!({
        "conversation": { "id": conversation_id },
        "type": { "value": message_type.as_str() },
        "content": content,
    });
    Ok(Request {
        op: Operation::SendMessage,
        method: Method::Post,
        path: "messaging/sendmessage".into(),
        query: Vec::new(),
        authorization: bearer_authorization(token),
        content_type: Some("application/json"),
        accept_language: None,
        body: body.to_string().into_bytes(),
    })
}

/// The end-conversation POST to `path` (configurable: the endpoint is unverified, E1).
pub fn end_request(token: &Secret, path: &str, conversation_id: &str) -> Result<Request, EceError> {
    check_conversation_id(conversation_id)?;
    Ok(Request {
        op: Operation::EndConversation,
        method: Method::Post,
        path: path.trim_start_matches('/').to_owned(),
        query: Vec::new(),
        authorization: bearer_authorization(token),
        content_type: Some("application/json"),
        accept_language: None,
        body: json!({ "conversation": { "id": conversation_id } })
            .to_string()
            .into_bytes(),
    })
}

const MAX_KEPT_BODY: usize = 2048;

fn string_field(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match v.get(*k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Describes an error answer: status, JSON `code`/`message` if present, raw body (E7).
pub fn http_failure(op: Operation, status: u16, body: &[u8]) -> HttpFailure {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let obj = parsed.as_ref().map(|v| match v {
        Value::Array(a) => a.first().cloned().unwrap_or(Value::Null),
        Value::Object(o) => match o.get("errors") {
            Some(Value::Array(a)) if !a.is_empty() => a[0].clone(),
            _ => v.clone(),
        },
        other => other.clone(),
    });
    let (code, message) = match &obj {
        Some(o) => (
            string_field(o, &["code", "errorCode"]),
            string_field(
                o,
                &["message", "error_description", "developerMessage", "error"],
            ),
        ),
        None => (None, None),
    };
    let mut cut = body.len().min(MAX_KEPT_BODY);
    while cut > 0 && std::str::from_utf8(&body[..cut]).is_err() {
        cut -= 1;
    }
    HttpFailure {
        op,
        status,
        code,
        message,
        body: String::from_utf8_lossy(&body[..cut]).into_owned(),
    }
}

/// `Ok` for 2xx; the typed error for anything else.
pub fn check_status(op: Operation, status: u16, body: &[u8]) -> Result<(), EceError> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(EceError::from_status(http_failure(op, status, body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> EntryPointConfig {
        parse_configuration(
            br#"{"entryPointConfiguration":[{"entryPoint":{"id":1001},"lastModified":{"date":"2025-03-24T00:59:14.000Z"},"x":1}]}"#,
            1001,
        )
        .unwrap()
    }

    #[test]
    fn login_request_matches_the_data_sheet() {
        let r = token_request(
            &Credentials {
                client_key: "key".into(),
                client_secret: Secret::new("secret"),
            },
            true,
            Some("en-us"),
        );
        assert_eq!(r.path, "authentication/oauth2/token");
        assert_eq!(r.query, vec![("forceLogin", "yes".to_string())]);
        assert_eq!(r.authorization.expose(), "Basic a2V5OnNlY3JldA==");
        assert_eq!(r.body, b"grant_type=client_credentials");
        assert_eq!(r.content_type, Some("application/x-www-form-urlencoded"));
        assert!(!format!("{r:?}").contains("a2V5OnNlY3JldA"));
    }

    #[test]
    fn configuration_keeps_the_id_type_and_date() {
        let c = cfg();
        assert_eq!(c.entry_point_id, json!(1001));
        assert_eq!(c.last_modified, "2025-03-24T00:59:14.000Z");
        let two = br#"{"entryPointConfiguration":[
            {"entryPoint":{"id":"7"},"lastModified":{"date":"a"}},
            {"entryPoint":{"id":8},"lastModified":{"date":"b"}}]}"#;
        assert_eq!(
            parse_configuration(two, 7).unwrap().entry_point_id,
            json!("7")
        );
        assert_eq!(parse_configuration(two, 8).unwrap().last_modified, "b");
        assert!(parse_configuration(two, 9).is_err());
        assert!(parse_configuration(br#"{"entryPointConfiguration":[{}]}"#, 1).is_err());
        assert!(parse_configuration(b"[]", 1).is_err());
    }

    #[test]
    fn start_body_matches_the_documented_shape() {
        let req = StartConversation::new(Customer {
            first_name: Some("David".into()),
            last_name: Some("Macias API".into()),
            email: Some("david@davidapi.com".into()),
            phones: vec![Phone {
                number: "2145555555".into(),
                phone_type: Some("home".into()),
                country_code: Some("1".into()),
                area_code: Some("214".into()),
            }],
            customer_type: None,
        });
        let r = start_request(&Secret::new("tok"), &cfg(), &req);
        assert_eq!(
            r.query,
            vec![
                ("sendTypingNotification", "yes".to_string()),
                ("searchContactOnAttribute", "email.emailAddress".to_string())
            ]
        );
        assert_eq!(r.authorization.expose(), "Bearer tok");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            json!({
              "entryPointConfiguration": {
                "entryPoint": { "id": 1001 },
                "lastModified": { "date": "2025-03-24T00:59:14.000Z" }
              },
              "activity": { "customer": {
                  "type": { "value": "individual" },
                  "contacts": { "contact": [ {
                        "firstName": "David", "lastName": "Macias API",
                        "phone": [ { "type": { "value": "home" }, "phoneNo": "2145555555",
                                     "countryCode": "1", "areaCode": "214" } ],
                        "email": [ { "emailAddress": "david@davidapi.com" } ] } ] } } }
            })
        );
    }

    #[test]
    fn start_answer_needs_an_id() {
        let c = parse_start(
            br#"{ "activity": { "case": { "id": 1971 }, "id": 3032 }, "id": "1ff6d-4d78-4406-966d-e948c4" }"#,
        )
        .unwrap();
        assert_eq!(c.id, "1ff6d-4d78-4406-966d-e948c4");
        assert_eq!((c.activity_id, c.case_id), (Some(3032), Some(1971)));
        assert!(parse_start(br#"{"activity":{}}"#).is_err());
        assert!(parse_start(br#"{"id":""}"#).is_err());
    }

    #[test]
    fn send_message_body() {
        let r = send_message_request(&Secret::new("t"), "c-1", MessageType::Html, "Hi <b>x</b>")
            .unwrap();
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"conversation":{"id":"c-1"},"type":{"value":"text/html"},"content":"Hi <b>x</b>"})
        );
        assert!(send_message_request(&Secret::new("t"), " ", MessageType::Plain, "x").is_err());
        assert_eq!(
            MessageType::parse("TEXT/PLAIN").unwrap(),
            MessageType::Plain
        );
        assert!(MessageType::parse("image/png").is_err());
    }

    #[test]
    fn every_documented_status_has_its_error() {
        let op = Operation::SendMessage;
        assert!(check_status(op, 204, b"").is_ok());
        let name = |s| check_status(op, s, b"").unwrap_err().name();
        assert_eq!(name(400), "BadRequest");
        assert_eq!(name(401), "Unauthorized");
        assert_eq!(name(403), "Forbidden");
        assert_eq!(name(404), "NotFound");
        assert_eq!(name(409), "StaleConfiguration");
        assert_eq!(name(500), "ServerError");
        assert_eq!(name(503), "ServerError");
        assert_eq!(name(418), "UnexpectedStatus");
        let e = check_status(op, 400, br#"{"code":"400-115","message":"closed"}"#).unwrap_err();
        let h = e.http().unwrap();
        assert_eq!(h.code.as_deref(), Some("400-115"));
        assert_eq!(h.message.as_deref(), Some("closed"));
        let big = vec![b'x'; 10_000];
        assert_eq!(http_failure(op, 500, &big).body.len(), MAX_KEPT_BODY);
    }
}
