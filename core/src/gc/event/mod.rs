//! Output messages (GC → client): one typed event model for the `#`-delimited text
//! formats O-001 … O-031 (old and new) and the JSON events (data sheet §4, §5).
//!
//! The format is detected per message (ambiguity A3): a body whose first non-blank
//! character is `{` or `[` is JSON, anything else `#`-text. Extra trailing text fields
//! are kept in `extra`; values outside the documented domains are kept as strings
//! (`Other(..)` variants); unknown messages become [`EventKind::Unknown`].
//!
//! This module holds the model and the entry points; the `#`-text parser is in
//! `text.rs`, the JSON parser in `json.rs`.

use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::command::Request;
use super::errors::ErrorCode;

mod json;
mod text;

use json::json_event;
use text::text_event;

/// Defines an open enum: known wire values plus `Other(String)`, serialised as the string.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $var:ident = $s:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $var,)*
            /// A value outside the data sheet, kept as received.
            Other(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$var => $s,)*
                    $name::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            /// Exact spelling first, then ignoring case and blanks (the vendor's
            /// documents print `REQUIRED_WITH_ WRAP_UP_DATA`).
            fn from(s: &str) -> Self {
                match s {
                    $($s => return $name::$var,)*
                    _ => {}
                }
                let norm: String = s.chars().filter(|c| !c.is_whitespace()).collect();
                $(if norm.eq_ignore_ascii_case($s) { return $name::$var; })*
                $name::Other(s.to_owned())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(d)?;
                Ok($name::from(s.as_str()))
            }
        }
    };
}
pub(crate) use open_enum;

open_enum! {
    /// GC service status (`System` events).
    SystemStatus {
        /// GC is up and connected to Finesse.
        InService = "IN_SERVICE",
        /// GC is out of service.
        OutOfService = "OUT_OF_SERVICE",
        /// GC cannot reach Finesse (O-027).
        NotReachable = "NOT_REACHABLE",
    }
}

open_enum! {
    /// Agent state, including the text-only pseudo-states `RE_LOGIN` and `LOGGED_IN`.
    AgentState {
        /// Unknown: refresh.
        Unknown = "UNKNOWN",
        /// Ready.
        Ready = "READY",
        /// Not ready.
        NotReady = "NOT_READY",
        /// Logged out.
        Logout = "LOGOUT",
        /// Talking.
        Talking = "TALKING",
        /// Reserved (inbound call arriving).
        Reserved = "RESERVED",
        /// Reserved for an outbound call.
        ReservedOutbound = "RESERVED_OUTBOUND",
        /// Reserved for an outbound preview call.
        ReservedOutboundPreview = "RESERVED_OUTBOUND_PREVIEW",
        /// Wrap-up, then not ready.
        Work = "WORK",
        /// Wrap-up, then ready.
        WorkReady = "WORK_READY",
        /// Call on hold.
        Hold = "HOLD",
        /// GC lost the agent: log in again (O-007).
        ReLogin = "RE_LOGIN",
        /// Logged in.
        LoggedIn = "LOGGED_IN",
    }
}

open_enum! {
    /// Call / dialog / participant state (text and Finesse values).
    CallState {
        /// Being set up.
        Initiating = "INITIATING",
        /// Set up.
        Initiated = "INITIATED",
        /// Ringing.
        Alerting = "ALERTING",
        /// Connected.
        Active = "ACTIVE",
        /// Failed.
        Failed = "FAILED",
        /// Ended (text format).
        Drop = "DROP",
        /// Ended (JSON / Finesse).
        Dropped = "DROPPED",
        /// Ended (deleted).
        Deleted = "DELETED",
        /// Accepted.
        Accepted = "ACCEPTED",
        /// On hold.
        Held = "HELD",
        /// In wrap-up.
        WrapUp = "WRAP_UP",
        /// No such dialog (DialogState reply).
        NotFound = "NOT_FOUND",
    }
}

impl CallState {
    /// `DROP`, `DROPPED` and `DELETED` all mean "call ended" (ambiguity A4).
    pub fn is_ended(&self) -> bool {
        matches!(
            self,
            CallState::Drop | CallState::Dropped | CallState::Deleted
        )
    }
}

open_enum! {
    /// Wrap-up mode of an agent (O-011, JSON `wrapUpOnIncoming`).
    WrapUpMode {
        /// Optional.
        Optional = "OPTIONAL",
        /// Required.
        Required = "REQUIRED",
        /// Not allowed.
        NotAllowed = "NOT_ALLOWED",
        /// Required, with wrap-up data.
        RequiredWithWrapUpData = "REQUIRED_WITH_WRAP_UP_DATA",
    }
}

/// Ordered key/value pairs (call variables, queue or phonebook records), serialised as
/// a JSON object in the same order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record(pub Vec<(String, String)>);

impl Record {
    /// The first value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn push(&mut self, k: impl Into<String>, v: impl Into<String>) {
        self.0.push((k.into(), v.into()));
    }
}

impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A team (`{"id", "name"}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Team {
    /// Team ID.
    pub id: String,
    /// Team name (may be empty).
    pub name: String,
}

/// A call participant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Participant {
    /// Media address (extension).
    pub media_address: String,
    /// Participant state.
    pub state: Option<CallState>,
    /// Address type, e.g. `AGENT_DEVICE`.
    pub address_type: String,
}

/// A reason code and its label.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReasonCode {
    /// Code.
    pub code: String,
    /// Label (empty when the GC sent fewer labels than codes).
    pub label: String,
}

/// Call details shared by the call events; absent values are `None`/empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Call {
    /// Dialog ID (for consult events: the associated/consult dialog ID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialog_id: Option<String>,
    /// State.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<CallState>,
    /// Calling party.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_address: Option<String>,
    /// Called party (consult calls).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_address: Option<String>,
    /// Caller's number, from the call variables (`ani`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ani: Option<String>,
    /// Call variables in order (`callVariable1`…, BA outbound variables, ...).
    pub call_variables: Record,
    /// Start time `yyyy-MM-dd HH:mm:ss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Previous dialog (transfers), JSON only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_dialog_id: Option<String>,
    /// Failure cause (`FAILED` text events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_cause: Option<String>,
    /// Agent full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// Call type (outbound calls).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_type: Option<String>,
    /// Participants (JSON only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<Participant>,
}

/// A dialog and its associated dialog (O-014, O-024).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DialogPair {
    /// Dialog ID.
    pub dialog_id: Option<String>,
    /// Dialog state.
    pub state: Option<CallState>,
    /// Calling party.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_address: Option<String>,
    /// Call variables.
    pub call_variables: Record,
    /// Associated dialog ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ass_dialog_id: Option<String>,
    /// Associated dialog state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ass_state: Option<CallState>,
    /// Associated dialog's calling party.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ass_from_address: Option<String>,
    /// Associated dialog's call variables.
    pub ass_call_variables: Record,
}

/// Which wire format a message used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `#`-delimited text.
    Text,
    /// JSON.
    Json,
}

/// One GC event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
    /// The wire format it came in.
    pub format: Format,
    /// JMSType of the message, when set (O-023, O-024).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jms_type: Option<String>,
}

/// The event model. Serialised (for the bindings) with the variant name in `event`
/// and snake_case fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event")]
pub enum EventKind {
    /// GC status (O-004, O-005, O-027, JSON `System`); reply to Hello/Beat.
    System {
        /// Status.
        status: SystemStatus,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// `DESTINATION#<name>#RECONNECT` (O-026).
    Destination {
        /// The client destination concerned.
        destination: String,
        /// The action, normally `RECONNECT`.
        action: String,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// Agent state (O-001, O-006, O-007, JSON `State`).
    State {
        /// Agent ID.
        agent_id: String,
        /// New state (`RE_LOGIN`: log in again).
        state: AgentState,
        /// Not-ready / logout reason code.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason_code: Option<String>,
        /// Agent full name.
        #[serde(skip_serializing_if = "Option::is_none")]
        full_name: Option<String>,
        /// Pending state (UCCE, JSON).
        #[serde(skip_serializing_if = "Option::is_none")]
        pending_state: Option<String>,
        /// State change time (JSON).
        #[serde(skip_serializing_if = "Option::is_none")]
        state_change_time: Option<String>,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// An error (O-002).
    Error {
        /// Agent ID.
        agent_id: String,
        /// Error code (open set).
        code: ErrorCode,
        /// Other fields (detail text).
        detail: Vec<String>,
    },
    /// Status-bar text for the agent (O-003).
    StatusBar {
        /// Agent ID.
        agent_id: String,
        /// Text.
        message: String,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// Control visibility (O-017): `(index, visible flag)` pairs as sent.
    Controls {
        /// Agent ID.
        agent_id: String,
        /// `(index, visibleFlag)` pairs.
        controls: Vec<(String, String)>,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// Agent information at login (O-011, JSON `AgentInfo`).
    AgentInfo {
        /// Agent ID.
        agent_id: String,
        /// First name.
        first_name: String,
        /// Last name.
        last_name: String,
        /// Supervisor flag.
        #[serde(skip_serializing_if = "Option::is_none")]
        supervisor: Option<bool>,
        /// Wrap-up mode.
        #[serde(skip_serializing_if = "Option::is_none")]
        wrap_up_mode: Option<WrapUpMode>,
        /// Full name.
        #[serde(skip_serializing_if = "Option::is_none")]
        full_name: Option<String>,
        /// The agent's team.
        #[serde(skip_serializing_if = "Option::is_none")]
        team: Option<Team>,
        /// Supervised teams.
        teams: Vec<Team>,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// Inbound call state (O-008, JSON `InboundCall`; also transfer/conference results).
    InboundCall {
        /// Agent ID.
        agent_id: String,
        /// The call.
        #[serde(flatten)]
        call: Call,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// A new ringing inbound call (O-009, JSON `NewInboundCall`).
    NewInboundCall {
        /// Agent ID.
        agent_id: String,
        /// The call.
        #[serde(flatten)]
        call: Call,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// A new outbound call (O-028, JSON `NewOutboundCall`/`NewOutboundPreviewCall`).
    NewOutboundCall {
        /// Agent ID.
        agent_id: String,
        /// True for a preview call (accept/reject/close it).
        preview: bool,
        /// The call.
        #[serde(flatten)]
        call: Call,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// Consult call state (O-010, JSON `ConsultCall`); `dialog_id` is the consult dialog.
    ConsultCall {
        /// Agent ID.
        agent_id: String,
        /// The consult call.
        #[serde(flatten)]
        call: Call,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// Supervisor's team IDs (O-012).
    TeamIds {
        /// Supervisor ID.
        agent_id: String,
        /// Team IDs.
        team_ids: Vec<String>,
        /// Full name.
        #[serde(skip_serializing_if = "Option::is_none")]
        full_name: Option<String>,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// Supervisor's team names (O-013).
    TeamNames {
        /// Supervisor ID.
        agent_id: String,
        /// Team names.
        team_names: Vec<String>,
        /// Full name.
        #[serde(skip_serializing_if = "Option::is_none")]
        full_name: Option<String>,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// Reply to getdialogstate / getdialogstatecontrols (O-014, O-015, O-018, JSON).
    DialogState {
        /// Agent ID.
        agent_id: String,
        /// Dialog type (O-015 only).
        #[serde(skip_serializing_if = "Option::is_none")]
        dialog_type: Option<String>,
        /// Full name.
        #[serde(skip_serializing_if = "Option::is_none")]
        full_name: Option<String>,
        /// The dialog and its associated dialog.
        #[serde(flatten)]
        dialogs: DialogPair,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// Dialogs after a GC failover (O-024).
    DialogStatus {
        /// Agent ID.
        agent_id: String,
        /// Call type (from the JMSType).
        #[serde(skip_serializing_if = "Option::is_none")]
        call_type: Option<String>,
        /// The dialog and its associated dialog.
        #[serde(flatten)]
        dialogs: DialogPair,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// Reason codes (O-016, JSON `ReasonCodes`).
    ReasonCodes {
        /// Agent ID.
        agent_id: String,
        /// Category: `WrapUp`, `LOGOUT`, `NOT_READY`.
        category: String,
        /// Codes with labels.
        codes: Vec<ReasonCode>,
        /// Full name.
        #[serde(skip_serializing_if = "Option::is_none")]
        full_name: Option<String>,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// Queue statistics (O-019): one record per queue.
    QueueList {
        /// Supervisor ID.
        agent_id: String,
        /// Records (`QueueName`, `CallsInQueue`, ...).
        queues: Vec<Record>,
    },
    /// Agents: team users (O-020) or all logged-in agents (JSON `Agents`). Keys are
    /// lowerCamelCase (`firstName`, `lastName`, `extension`, `loginID`, `state`, ...).
    Agents {
        /// Requesting agent (text form only).
        #[serde(skip_serializing_if = "Option::is_none")]
        agent_id: Option<String>,
        /// One record per user.
        users: Vec<Record>,
    },
    /// A team member's state changed (O-021; member ID, if any, in `extra`).
    TeamMemberStateChanged {
        /// Supervisor ID.
        agent_id: String,
        /// Team ID.
        team_id: String,
        /// New state.
        state: AgentState,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// Conference participants (O-022).
    ConferenceParticipants {
        /// Supervisor ID.
        agent_id: String,
        /// Extensions.
        extensions: Vec<String>,
        /// Extra fields.
        extra: Vec<String>,
    },
    /// GC could not serve a request (O-023): send Connect + GetState, then replay it.
    Reconnect {
        /// Agent ID.
        agent_id: String,
        /// The echoed request (JMSType from the event, body from field 2 on). In JSON
        /// the body of a Connect/Login is `<redacted>`.
        #[serde(
            skip_serializing_if = "Option::is_none",
            serialize_with = "ser_redacted_request"
        )]
        request: Option<Request>,
        /// The echoed body (`<redacted>` for a Connect/Login).
        body: String,
    },
    /// Phonebooks (O-029, O-030, default sample, JSON `Phonebooks`): `name`, `id`, ...
    Phonebooks {
        /// True for `TeamPhoneBooks` (O-030).
        team: bool,
        /// One record per phonebook.
        phonebooks: Vec<Record>,
    },
    /// Contacts of a phonebook (O-031, default sample, JSON `PhonebookContacts`).
    PhonebookContacts {
        /// Phonebook ID, when sent.
        #[serde(skip_serializing_if = "Option::is_none")]
        phonebook_id: Option<String>,
        /// One record per contact.
        contacts: Vec<Record>,
    },
    /// GC-to-GC agent sync (O-025); the password it carries is dropped.
    ConnectorSync {
        /// Agent ID.
        agent_id: String,
    },
    /// A text message that matches no documented format.
    Unknown {
        /// Its `#` fields.
        fields: Vec<String>,
    },
    /// A JSON event of an unknown `type`.
    UnknownJson {
        /// Its `type`, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        type_name: Option<String>,
        /// The object.
        value: Json,
    },
}

fn ser_redacted_request<S: serde::Serializer>(
    r: &Option<Request>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    match r {
        None => s.serialize_none(),
        Some(r) => {
            let mut st = s.serialize_struct("Request", 2)?;
            st.serialize_field("jms_type", &r.jms_type)?;
            st.serialize_field("body", r.redacted_body())?;
            st.end()
        }
    }
}

impl Event {
    /// The agent an event is about, when it names one.
    pub fn agent_id(&self) -> Option<&str> {
        use EventKind::*;
        match &self.kind {
            State { agent_id, .. }
            | Error { agent_id, .. }
            | StatusBar { agent_id, .. }
            | Controls { agent_id, .. }
            | AgentInfo { agent_id, .. }
            | InboundCall { agent_id, .. }
            | NewInboundCall { agent_id, .. }
            | NewOutboundCall { agent_id, .. }
            | ConsultCall { agent_id, .. }
            | TeamIds { agent_id, .. }
            | TeamNames { agent_id, .. }
            | DialogState { agent_id, .. }
            | DialogStatus { agent_id, .. }
            | ReasonCodes { agent_id, .. }
            | QueueList { agent_id, .. }
            | TeamMemberStateChanged { agent_id, .. }
            | ConferenceParticipants { agent_id, .. }
            | Reconnect { agent_id, .. }
            | ConnectorSync { agent_id } => Some(agent_id),
            Agents { agent_id, .. } => agent_id.as_deref(),
            _ => None,
        }
    }

    /// The variant name (`"State"`, `"InboundCall"`, ...), as in the JSON `event` key.
    pub fn name(&self) -> &'static str {
        use EventKind::*;
        match &self.kind {
            System { .. } => "System",
            Destination { .. } => "Destination",
            State { .. } => "State",
            Error { .. } => "Error",
            StatusBar { .. } => "StatusBar",
            Controls { .. } => "Controls",
            AgentInfo { .. } => "AgentInfo",
            InboundCall { .. } => "InboundCall",
            NewInboundCall { .. } => "NewInboundCall",
            NewOutboundCall { .. } => "NewOutboundCall",
            ConsultCall { .. } => "ConsultCall",
            TeamIds { .. } => "TeamIds",
            TeamNames { .. } => "TeamNames",
            DialogState { .. } => "DialogState",
            DialogStatus { .. } => "DialogStatus",
            ReasonCodes { .. } => "ReasonCodes",
            QueueList { .. } => "QueueList",
            Agents { .. } => "Agents",
            TeamMemberStateChanged { .. } => "TeamMemberStateChanged",
            ConferenceParticipants { .. } => "ConferenceParticipants",
            Reconnect { .. } => "Reconnect",
            Phonebooks { .. } => "Phonebooks",
            PhonebookContacts { .. } => "PhonebookContacts",
            ConnectorSync { .. } => "ConnectorSync",
            Unknown { .. } => "Unknown",
            UnknownJson { .. } => "UnknownJson",
        }
    }

    /// The event as a JSON value (`{"event": ..., "format": ..., ...}`). An `Error`
    /// event also carries the GC error table's columns for its code: `origin`
    /// (`Finesse`, `Gc`, `Unknown`), `behaviour` (the expected client behaviour, e.g.
    /// `AskForCredentials`), `description` and `user_message` (the suggested display
    /// text, `null` for a code outside the tables).
    pub fn to_json(&self) -> Json {
        let mut v = serde_json::to_value(self).unwrap_or_else(
            |e| serde_json::json!({"event": "Unknown", "fields": [], "error": e.to_string()}),
        );
        if let (EventKind::Error { code, .. }, Some(o)) = (&self.kind, v.as_object_mut()) {
            o.insert("origin".into(), code.origin().as_str().into());
            o.insert("behaviour".into(), code.behaviour().as_str().into());
            o.insert("description".into(), code.description().into());
            o.insert(
                "user_message".into(),
                super::errors::user_message(&format!("Error#{code}")).into(),
            );
        }
        v
    }
}

/// Why a message could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The body is empty or blank.
    #[error("GC event: empty message")]
    Empty,
    /// The body is not UTF-8.
    #[error("GC event: body is not UTF-8")]
    NotUtf8,
    /// The body looked like JSON but is not valid JSON (or not an object/array of objects).
    #[error("GC event: bad JSON: {0}")]
    Json(String),
    /// A known event with too few fields.
    #[error("GC event {event}: {reason} in {text:?}")]
    Malformed {
        /// Event name.
        event: &'static str,
        /// What is missing.
        reason: &'static str,
        /// The message (truncated).
        text: String,
    },
}

/// Parses a message body (bytes as received) with its JMSType, if any.
pub fn parse_bytes(body: &[u8], jms_type: Option<&str>) -> Result<Vec<Event>, EventError> {
    let text = std::str::from_utf8(body).map_err(|_| EventError::NotUtf8)?;
    parse(text, jms_type)
}

/// Parses a message body into events: usually one; a JSON array gives one per object.
pub fn parse(body: &str, jms_type: Option<&str>) -> Result<Vec<Event>, EventError> {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return Err(EventError::Empty);
    }
    let jms_type = jms_type.filter(|t| !t.is_empty()).map(str::to_owned);
    let looks_json = trimmed.starts_with('{')
        || (trimmed.starts_with('[') && trimmed[1..].trim_start().starts_with(['{', ']']));
    if looks_json {
        let v: Json = serde_json::from_str(trimmed).map_err(|e| EventError::Json(e.to_string()))?;
        let objects = match v {
            Json::Object(o) => vec![o],
            Json::Array(items) => items
                .into_iter()
                .map(|i| match i {
                    Json::Object(o) => Ok(o),
                    _ => Err(EventError::Json("array item is not an object".into())),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(EventError::Json("not an object or array".into())),
        };
        return Ok(objects
            .into_iter()
            .map(|o| Event {
                kind: json_event(o),
                format: Format::Json,
                jms_type: jms_type.clone(),
            })
            .collect());
    }
    let kind = text_event(trimmed, jms_type.as_deref())?;
    Ok(vec![Event {
        kind,
        format: Format::Text,
        jms_type,
    }])
}

#[cfg(test)]
mod tests;
