//! Output messages (GC → client): one typed event model for the `#`-delimited text
//! formats O-001 … O-031 (old and new) and the JSON events (data sheet §4, §5).
//!
//! The format is detected per message (ambiguity A3): a body whose first non-blank
//! character is `{` or `[` is JSON, anything else `#`-text. Extra trailing text fields
//! are kept in `extra`; values outside the documented domains are kept as strings
//! (`Other(..)` variants); unknown messages become [`EventKind::Unknown`].

use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::command::Request;
use super::errors::ErrorCode;

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

// ---------------------------------------------------------------------------
// Text format

const AGENT_EVENTS: &[&str] = &[
    "State",
    "Error",
    "Control",
    "InboundCall",
    "NewInboundCall",
    "NewOutboundCall",
    "NewOutboundPreviewCall",
    "ConsultCall",
    "AgentInfo",
    "TeamInfoIDs",
    "TeamInfoNames",
    "DialogState",
    "ReasonCodes",
    "QueueList",
    "TeamUsersList",
    "TeamMemberStateChanged",
    "ConferenceParticipants",
    "RECONNECT",
    "DialogStatus",
];

fn opt(fields: &[String], i: usize) -> Option<String> {
    fields
        .get(i)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn rest(fields: &[String], from: usize) -> Vec<String> {
    fields
        .get(from..)
        .map(<[String]>::to_vec)
        .unwrap_or_default()
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

/// `k=v|k=v` call variables (a trailing `>` from the doc's format is stripped).
fn call_vars_pipe(s: &str) -> Record {
    let s = s.trim().trim_end_matches('>');
    let mut r = Record::default();
    for (i, item) in s.split('|').enumerate() {
        if item.is_empty() {
            continue;
        }
        match item.split_once('=') {
            Some((k, v)) => r.push(k.trim(), v),
            None => r.push(format!("callVariable{}", i + 1), item),
        }
    }
    r
}

/// O-009/O-028 field 3: new `<ani>|k=v|…` or `ani=<ani>|…`; old `<ani>,<cv1>,<cv2>…`.
fn ani_and_vars(s: &str) -> (Option<String>, Record) {
    let s = s.trim().trim_end_matches('>');
    let mut vars = Record::default();
    if !s.contains('|') && !s.contains('=') && s.contains(',') {
        let mut items = s.split(',');
        let ani = items.next().map(str::to_owned).filter(|a| !a.is_empty());
        for (i, v) in items.enumerate() {
            vars.push(format!("callVariable{}", i + 1), v);
        }
        return (ani, vars);
    }
    let mut items = s.split('|');
    let first = items.next().unwrap_or_default();
    let ani = match first.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("ani") => Some(v.to_owned()),
        Some((k, v)) => {
            vars.push(k.trim(), v);
            None
        }
        None => Some(first.to_owned()).filter(|a| !a.is_empty()),
    };
    for item in items.filter(|i| !i.is_empty()) {
        match item.split_once('=') {
            Some((k, v)) => vars.push(k.trim(), v),
            None => vars.push(format!("callVariable{}", vars.0.len() + 1), item),
        }
    }
    (ani, vars)
}

/// `Prefix:<value>` → value (prefix compared case-insensitively), else `None`.
fn prefixed(s: &str, prefix: &str) -> Option<String> {
    let s = s.trim();
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s[prefix.len()..].trim().to_owned())
}

/// `k:v,k:v` (split on the first `:`), with lowerCamelCase keys when `camel`.
fn colon_record(s: &str, camel: bool) -> Record {
    let mut r = Record::default();
    for item in s.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (k, v) = item.split_once(':').unwrap_or((item, ""));
        let k = k.trim();
        let k = if camel { lower_camel(k) } else { k.to_owned() };
        r.push(k, v.trim());
    }
    r
}

/// `k=v,k=v` record.
fn eq_record(s: &str) -> Record {
    let mut r = Record::default();
    for item in s.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        r.push(k.trim(), v.trim());
    }
    r
}

fn lower_camel(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn malformed(event: &'static str, reason: &'static str, text: &str) -> EventError {
    EventError::Malformed {
        event,
        reason,
        text: truncate(text),
    }
}

fn text_event(text: &str, jms_type: Option<&str>) -> Result<EventKind, EventError> {
    // Optional surrounding brackets (phonebook samples, A11).
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    let f: Vec<String> = inner.split('#').map(str::to_owned).collect();
    let f0 = f[0].trim();
    let f1 = f.get(1).map(|s| s.trim()).unwrap_or_default();
    if f.len() >= 2 && AGENT_EVENTS.contains(&f1) {
        return agent_event(f0.to_owned(), f1, &f, text, jms_type);
    }
    if f.len() == 2 && f1 == "LOGOUT" {
        // O-006: legacy logout.
        return Ok(EventKind::State {
            agent_id: f0.to_owned(),
            state: AgentState::Logout,
            reason_code: None,
            full_name: None,
            pending_state: None,
            state_change_time: None,
            extra: Vec::new(),
        });
    }
    if f0.eq_ignore_ascii_case("System") && f.len() >= 2 {
        return Ok(EventKind::System {
            status: SystemStatus::from(f1),
            extra: rest(&f, 2),
        });
    }
    if f0.eq_ignore_ascii_case("DESTINATION") && f.len() >= 3 {
        return Ok(EventKind::Destination {
            destination: f1.to_owned(),
            action: f[2].trim().to_owned(),
            extra: rest(&f, 3),
        });
    }
    if f0.eq_ignore_ascii_case("Phonebooks") || f0.eq_ignore_ascii_case("TeamPhoneBooks") {
        return Ok(EventKind::Phonebooks {
            team: f0.eq_ignore_ascii_case("TeamPhoneBooks"),
            phonebooks: phonebook_records(&f[1..]),
        });
    }
    if f0.eq_ignore_ascii_case("PhonebookContacts") {
        return Ok(contact_records(&f[1..]));
    }
    if f0 == "AgentState" && f.len() >= 3 {
        return Ok(EventKind::ConnectorSync {
            agent_id: f1.to_owned(),
        });
    }
    if f.len() >= 5 && f[2].trim() == "DialogState" {
        // O-015: <agent>#<dialog_type>#DialogState#<state>#<dialog_id>#<full name>
        return Ok(EventKind::DialogState {
            agent_id: f0.to_owned(),
            dialog_type: Some(f1.to_owned()),
            full_name: opt(&f, 5),
            dialogs: DialogPair {
                dialog_id: opt(&f, 4),
                state: opt(&f, 3).map(|s| CallState::from(s.as_str())),
                ..DialogPair::default()
            },
            extra: rest(&f, 6),
        });
    }
    Ok(EventKind::Unknown { fields: f })
}

fn phonebook_records(f: &[String]) -> Vec<Record> {
    let joined = f.join("#");
    if !joined.contains(':') && joined.contains('=') {
        // Sample layout: <Book1>=<id1>|<Book2>=<id2>
        return joined
            .split(['|', '#'])
            .filter(|i| !i.trim().is_empty())
            .map(|i| {
                let (name, id) = i.split_once('=').unwrap_or((i, ""));
                Record(vec![
                    ("name".into(), name.trim().to_owned()),
                    ("id".into(), id.trim().to_owned()),
                ])
            })
            .collect();
    }
    f.iter()
        .filter(|r| !r.trim().is_empty())
        .map(|r| colon_record(r, false))
        .collect()
}

fn contact_records(f: &[String]) -> EventKind {
    let first = f.first().map(|s| s.trim()).unwrap_or_default();
    if !first.is_empty() && !first.contains(':') && !first.contains('=') {
        // Sample layout: PhonebookContacts#<id>#name=..,phoneNumber=..,contactId=..|name=..
        let contacts = f[1..]
            .join("#")
            .split(['|', '#'])
            .filter(|i| !i.trim().is_empty())
            .map(eq_record)
            .collect();
        return EventKind::PhonebookContacts {
            phonebook_id: Some(first.to_owned()),
            contacts,
        };
    }
    EventKind::PhonebookContacts {
        phonebook_id: None,
        contacts: f
            .iter()
            .filter(|r| !r.trim().is_empty())
            .map(|r| colon_record(r, false))
            .collect(),
    }
}

/// `DialogID:<id>` / `AssDialogID:<id>` at `f[3]`, then the rest of the call fields.
fn call_fields(f: &[String], id_prefix: &str) -> (Call, Vec<String>) {
    let mut call = Call {
        state: opt(f, 2).map(|s| CallState::from(s.as_str())),
        ..Call::default()
    };
    let mut i = 3;
    if let Some(id) = f.get(3).and_then(|s| prefixed(s, id_prefix)) {
        call.dialog_id = Some(id);
        i = 4;
    }
    let tail = rest(f, i);
    let failed = matches!(call.state, Some(CallState::Failed));
    if failed {
        call.failure_cause = opt(&tail, 0);
        call.full_name = opt(&tail, 1);
        return (call, rest(&tail, 2));
    }
    if tail.len() == 1 {
        call.full_name = opt(&tail, 0);
        return (call, Vec::new());
    }
    call.from_address = opt(&tail, 0);
    if let Some(v) = tail.get(1) {
        call.call_variables = call_vars_pipe(v);
        call.ani = call.call_variables.get("ani").map(str::to_owned);
    }
    call.start_time = opt(&tail, 2);
    call.full_name = opt(&tail, 3);
    (call, rest(&tail, 4))
}

fn agent_event(
    agent_id: String,
    name: &str,
    f: &[String],
    text: &str,
    jms_type: Option<&str>,
) -> Result<EventKind, EventError> {
    let need = |n: usize, event: &'static str| {
        if f.len() < n {
            Err(malformed(event, "too few fields", text))
        } else {
            Ok(())
        }
    };
    Ok(match name {
        "State" => {
            need(3, "State")?;
            let state = AgentState::from(f[2].trim());
            // old: id#State#st#name — new: id#State#st#reason#name[#extra…]
            let (reason_code, full_name, extra) = if f.len() == 4 {
                (None, opt(f, 3), Vec::new())
            } else {
                (opt(f, 3), opt(f, 4), rest(f, 5))
            };
            EventKind::State {
                agent_id,
                state,
                reason_code,
                full_name,
                pending_state: None,
                state_change_time: None,
                extra,
            }
        }
        "Error" => {
            need(3, "Error")?;
            let is_code = |s: &str| {
                let s = s.trim();
                !s.is_empty()
                    && s.starts_with(|c: char| c.is_ascii_uppercase())
                    && s.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            };
            let tail = rest(f, 2);
            match tail.iter().position(|s| is_code(s)) {
                Some(i) => {
                    let mut detail = tail.clone();
                    let code = detail.remove(i);
                    EventKind::Error {
                        agent_id,
                        code: ErrorCode::from(code.trim()),
                        detail,
                    }
                }
                None => EventKind::Error {
                    agent_id,
                    code: ErrorCode::Other(tail[0].trim().to_owned()),
                    detail: rest(&tail, 1),
                },
            }
        }
        "Control" => {
            need(3, "Control")?;
            if f[2].trim() == "PrintStatusBar" {
                EventKind::StatusBar {
                    agent_id,
                    message: f.get(3).cloned().unwrap_or_default(),
                    extra: rest(f, 4),
                }
            } else {
                let controls = f[2]
                    .split('|')
                    .filter(|c| !c.trim().is_empty())
                    .map(|c| {
                        let (i, v) = c.split_once(',').unwrap_or((c, ""));
                        (i.trim().to_owned(), v.trim().to_owned())
                    })
                    .collect();
                EventKind::Controls {
                    agent_id,
                    controls,
                    extra: rest(f, 3),
                }
            }
        }
        "AgentInfo" => {
            need(4, "AgentInfo")?;
            let supervisor = opt(f, 4).and_then(|s| match s.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            });
            let wrap_up_mode = opt(f, 5).map(|s| WrapUpMode::from(s.as_str()));
            // Supervisor form ([WPF]): 6 = <label>:<count>, 7 = teams, 8 = full name.
            let long = f.len() >= 9 && f[6].contains(':');
            let (teams, full_name, extra) = if long {
                let teams = list(&f[7])
                    .into_iter()
                    .map(|t| match t.split_once(':') {
                        Some((id, name)) => Team {
                            id: id.to_owned(),
                            name: name.to_owned(),
                        },
                        None => Team {
                            id: t,
                            name: String::new(),
                        },
                    })
                    .collect();
                let mut extra = vec![f[6].clone()];
                extra.extend(rest(f, 9));
                (teams, opt(f, 8), extra)
            } else {
                (Vec::new(), opt(f, 6), rest(f, 7))
            };
            EventKind::AgentInfo {
                agent_id,
                first_name: f[2].clone(),
                last_name: f[3].clone(),
                supervisor,
                wrap_up_mode,
                full_name,
                team: None,
                teams,
                extra,
            }
        }
        "InboundCall" => {
            need(3, "InboundCall")?;
            let (call, extra) = call_fields(f, "DialogID:");
            EventKind::InboundCall {
                agent_id,
                call,
                extra,
            }
        }
        "ConsultCall" => {
            need(3, "ConsultCall")?;
            let (call, extra) = call_fields(f, "AssDialogID:");
            EventKind::ConsultCall {
                agent_id,
                call,
                extra,
            }
        }
        "NewInboundCall" | "NewOutboundCall" | "NewOutboundPreviewCall" => {
            need(3, "NewInboundCall")?;
            let (ani, call_variables) = f.get(3).map(|s| ani_and_vars(s)).unwrap_or_default();
            let call = Call {
                from_address: opt(f, 2),
                ani,
                call_variables,
                dialog_id: f.get(4).and_then(|s| prefixed(s, "DialogID:")),
                call_type: jms_type
                    .filter(|_| name != "NewInboundCall")
                    .map(str::to_owned),
                ..Call::default()
            };
            let extra = rest(f, 5);
            if name == "NewInboundCall" {
                EventKind::NewInboundCall {
                    agent_id,
                    call,
                    extra,
                }
            } else {
                EventKind::NewOutboundCall {
                    agent_id,
                    preview: name == "NewOutboundPreviewCall",
                    call,
                    extra,
                }
            }
        }
        "TeamInfoIDs" | "TeamInfoNames" => {
            need(3, "TeamInfo")?;
            // id#TeamInfoIDs#TeamID#a,b,c#full name (the literal may be missing).
            let (items, next) = match f[2].trim() {
                "TeamID" | "TeamName" => (f.get(3).map(|s| list(s)).unwrap_or_default(), 4),
                _ => (list(&f[2]), 3),
            };
            let full_name = opt(f, next);
            let extra = rest(f, next + 1);
            if name == "TeamInfoIDs" {
                EventKind::TeamIds {
                    agent_id,
                    team_ids: items,
                    full_name,
                    extra,
                }
            } else {
                EventKind::TeamNames {
                    agent_id,
                    team_names: items,
                    full_name,
                    extra,
                }
            }
        }
        "DialogState" => {
            need(3, "DialogState")?;
            // O-014: id#DialogState#state#dialogId#full#from#vars#assId#assState#assFrom#assVars
            let vars = |i: usize| f.get(i).map(|s| call_vars_pipe(s)).unwrap_or_default();
            EventKind::DialogState {
                agent_id,
                dialog_type: None,
                full_name: opt(f, 4),
                dialogs: DialogPair {
                    state: opt(f, 2).map(|s| CallState::from(s.as_str())),
                    dialog_id: opt(f, 3),
                    from_address: opt(f, 5),
                    call_variables: vars(6),
                    ass_dialog_id: opt(f, 7),
                    ass_state: opt(f, 8).map(|s| CallState::from(s.as_str())),
                    ass_from_address: opt(f, 9),
                    ass_call_variables: vars(10),
                },
                extra: rest(f, 11),
            }
        }
        "DialogStatus" => {
            need(4, "DialogStatus")?;
            let vars = |i: usize| f.get(i).map(|s| call_vars_pipe(s)).unwrap_or_default();
            let st = |i: usize| opt(f, i).map(|s| CallState::from(s.as_str()));
            let (dialogs, extra) = if f.len() <= 6 {
                // form 1: id#DialogStatus#dialogId#state#assId#assState
                (
                    DialogPair {
                        dialog_id: opt(f, 2),
                        state: st(3),
                        ass_dialog_id: opt(f, 4),
                        ass_state: st(5),
                        ..DialogPair::default()
                    },
                    Vec::new(),
                )
            } else {
                // form 2: id#DialogStatus#dialogId#state#from#vars#assId#assState#assFrom#assVars
                (
                    DialogPair {
                        dialog_id: opt(f, 2),
                        state: st(3),
                        from_address: opt(f, 4),
                        call_variables: vars(5),
                        ass_dialog_id: opt(f, 6),
                        ass_state: st(7),
                        ass_from_address: opt(f, 8),
                        ass_call_variables: vars(9),
                    },
                    rest(f, 10),
                )
            };
            EventKind::DialogStatus {
                agent_id,
                call_type: jms_type.map(str::to_owned),
                dialogs,
                extra,
            }
        }
        "ReasonCodes" => {
            need(4, "ReasonCodes")?;
            let category = prefixed(&f[2], "Category:").unwrap_or_else(|| f[2].trim().to_owned());
            let codes_s = prefixed(&f[3], "Codes:").unwrap_or_else(|| f[3].clone());
            let (labels_s, next) = match f.get(4).and_then(|s| prefixed(s, "Labels:")) {
                Some(l) => (l, 5),
                None => (String::new(), 4),
            };
            let labels: Vec<String> = labels_s.split(',').map(|s| s.trim().to_owned()).collect();
            let codes = list(&codes_s)
                .into_iter()
                .enumerate()
                .map(|(i, code)| ReasonCode {
                    code,
                    label: labels.get(i).cloned().unwrap_or_default(),
                })
                .collect();
            EventKind::ReasonCodes {
                agent_id,
                category,
                codes,
                full_name: opt(f, next),
                extra: rest(f, next + 1),
            }
        }
        "QueueList" => EventKind::QueueList {
            agent_id,
            queues: f[2..]
                .iter()
                .filter(|r| !r.trim().is_empty())
                .map(|r| colon_record(r, false))
                .collect(),
        },
        "TeamUsersList" => EventKind::Agents {
            agent_id: Some(agent_id),
            users: f[2..]
                .iter()
                .filter(|r| !r.trim().is_empty())
                .map(|r| colon_record(r, true))
                .collect(),
        },
        "TeamMemberStateChanged" => {
            need(4, "TeamMemberStateChanged")?;
            EventKind::TeamMemberStateChanged {
                agent_id,
                team_id: f[2].trim().to_owned(),
                state: AgentState::from(f[3].trim()),
                extra: rest(f, 4),
            }
        }
        "ConferenceParticipants" => EventKind::ConferenceParticipants {
            agent_id,
            extensions: f.get(2).map(|s| list(s)).unwrap_or_default(),
            extra: rest(f, 3),
        },
        "RECONNECT" => {
            let body = rest(f, 2).join("#");
            let request = jms_type.map(|t| Request {
                jms_type: t.to_owned(),
                body: body.clone(),
            });
            // An echoed Connect/Login carries a password: shown nowhere.
            let body = match &request {
                Some(r) => r.redacted_body().to_owned(),
                None => body,
            };
            EventKind::Reconnect {
                agent_id,
                request,
                body,
            }
        }
        _ => EventKind::Unknown { fields: f.to_vec() },
    })
}

// ---------------------------------------------------------------------------
// JSON format

/// A scalar as a string: strings as they are, numbers and booleans printed, null/absent `None`.
fn js(o: &Map<String, Json>, key: &str) -> Option<String> {
    match o.get(key)? {
        Json::String(s) => Some(s.clone()),
        Json::Null => None,
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

fn scalar(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn obj_record(v: &Json, camel: bool) -> Record {
    let mut r = Record::default();
    if let Json::Object(o) = v {
        for (k, v) in o {
            let k = if camel { lower_camel(k) } else { k.clone() };
            r.push(k, scalar(v));
        }
    }
    r
}

fn records(o: &Map<String, Json>, key: &str) -> Vec<Record> {
    match o.get(key) {
        Some(Json::Array(a)) => a.iter().map(|v| obj_record(v, false)).collect(),
        _ => Vec::new(),
    }
}

/// `callVariables`: an array of single-key objects, or an object.
fn json_vars(o: &Map<String, Json>) -> Record {
    let mut r = Record::default();
    match o.get("callVariables") {
        Some(Json::Array(a)) => {
            for item in a {
                if let Json::Object(m) = item {
                    for (k, v) in m {
                        r.push(k.clone(), scalar(v));
                    }
                }
            }
        }
        Some(Json::Object(m)) => {
            for (k, v) in m {
                r.push(k.clone(), scalar(v));
            }
        }
        _ => {}
    }
    r
}

fn json_participants(o: &Map<String, Json>) -> Vec<Participant> {
    match o.get("participants") {
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(|p| p.as_object())
            .map(|p| Participant {
                media_address: js(p, "mediaAddress").unwrap_or_default(),
                state: js(p, "state").map(|s| CallState::from(s.as_str())),
                address_type: js(p, "addressType").unwrap_or_default(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn json_team(v: &Json) -> Option<Team> {
    let o = v.as_object()?;
    Some(Team {
        id: js(o, "id").unwrap_or_default(),
        name: js(o, "name").unwrap_or_default(),
    })
}

fn json_call(o: &Map<String, Json>, id_key: &str) -> Call {
    let call_variables = json_vars(o);
    Call {
        dialog_id: js(o, id_key),
        state: js(o, "state").map(|s| CallState::from(s.as_str())),
        from_address: js(o, "fromAddress"),
        to_address: js(o, "toAddress"),
        ani: call_variables.get("ani").map(str::to_owned),
        start_time: js(o, "startTime"),
        prev_dialog_id: js(o, "prevDialogId"),
        failure_cause: None,
        full_name: None,
        call_type: js(o, "calltype").or_else(|| js(o, "callType")),
        participants: json_participants(o),
        call_variables,
    }
}

/// Keys of `o` not in `known`, as `key=value` strings.
fn json_extra(o: &Map<String, Json>, known: &[&str]) -> Vec<String> {
    o.iter()
        .filter(|(k, _)| k.as_str() != "type" && !known.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={}", scalar(v)))
        .collect()
}

const CALL_KEYS: &[&str] = &[
    "dialogId",
    "assDialogId",
    "state",
    "fromAddress",
    "toAddress",
    "startTime",
    "prevDialogId",
    "callVariables",
    "participants",
    "agentId",
    "calltype",
    "callType",
];

fn json_event(o: Map<String, Json>) -> EventKind {
    let type_name = js(&o, "type");
    let agent = || js(&o, "agentId").unwrap_or_default();
    match type_name.as_deref() {
        Some(t) if t.eq_ignore_ascii_case("System") => EventKind::System {
            status: SystemStatus::from(js(&o, "status").unwrap_or_default().as_str()),
            extra: json_extra(&o, &["status"]),
        },
        Some("State") => EventKind::State {
            agent_id: agent(),
            state: AgentState::from(js(&o, "state").unwrap_or_default().as_str()),
            reason_code: js(&o, "reasonCode").filter(|s| !s.is_empty()),
            full_name: None,
            pending_state: js(&o, "pendingState").filter(|s| !s.is_empty()),
            state_change_time: js(&o, "stateChangeTime").filter(|s| !s.is_empty()),
            extra: json_extra(
                &o,
                &[
                    "agentId",
                    "state",
                    "reasonCode",
                    "pendingState",
                    "stateChangeTime",
                    "stateChangeTimeString",
                ],
            ),
        },
        Some("AgentInfo") => EventKind::AgentInfo {
            agent_id: agent(),
            first_name: js(&o, "firstName").unwrap_or_default(),
            last_name: js(&o, "lastName").unwrap_or_default(),
            supervisor: match o.get("supervisor") {
                Some(Json::Bool(b)) => Some(*b),
                Some(Json::String(s)) => s.parse().ok(),
                _ => None,
            },
            wrap_up_mode: js(&o, "wrapUpOnIncoming")
                .filter(|s| !s.is_empty())
                .map(|s| WrapUpMode::from(s.as_str())),
            full_name: None,
            team: o.get("team").and_then(json_team),
            teams: match o.get("teams") {
                Some(Json::Array(a)) => a.iter().filter_map(json_team).collect(),
                _ => Vec::new(),
            },
            extra: json_extra(
                &o,
                &[
                    "agentId",
                    "firstName",
                    "lastName",
                    "supervisor",
                    "wrapUpOnIncoming",
                    "team",
                    "teams",
                ],
            ),
        },
        Some("InboundCall") => EventKind::InboundCall {
            agent_id: agent(),
            call: json_call(&o, "dialogId"),
            extra: json_extra(&o, CALL_KEYS),
        },
        Some("NewInboundCall") => EventKind::NewInboundCall {
            agent_id: agent(),
            call: json_call(&o, "dialogId"),
            extra: json_extra(&o, CALL_KEYS),
        },
        Some(t @ ("NewOutboundCall" | "NewOutboundPreviewCall")) => EventKind::NewOutboundCall {
            agent_id: agent(),
            preview: t == "NewOutboundPreviewCall",
            call: json_call(&o, "dialogId"),
            extra: json_extra(&o, CALL_KEYS),
        },
        Some("ConsultCall") => EventKind::ConsultCall {
            agent_id: agent(),
            call: json_call(&o, "assDialogId"),
            extra: json_extra(&o, CALL_KEYS),
        },
        Some("ReasonCodes") => EventKind::ReasonCodes {
            agent_id: agent(),
            category: js(&o, "category").unwrap_or_default(),
            codes: match o.get("reasonCodes") {
                Some(Json::Array(a)) => a
                    .iter()
                    .filter_map(|c| c.as_object())
                    .flat_map(|m| {
                        m.iter().map(|(k, v)| ReasonCode {
                            code: k.clone(),
                            label: scalar(v),
                        })
                    })
                    .collect(),
                _ => Vec::new(),
            },
            full_name: None,
            extra: json_extra(&o, &["agentId", "category", "reasonCodes"]),
        },
        Some("DialogState") => EventKind::DialogState {
            agent_id: agent(),
            dialog_type: None,
            full_name: None,
            dialogs: DialogPair {
                dialog_id: js(&o, "dialogId"),
                state: js(&o, "state").map(|s| CallState::from(s.as_str())),
                ..DialogPair::default()
            },
            extra: json_extra(&o, &["agentId", "dialogId", "state"]),
        },
        Some("Agents") => EventKind::Agents {
            agent_id: js(&o, "agentId"),
            users: match o.get("users") {
                Some(Json::Array(a)) => a.iter().map(|v| obj_record(v, true)).collect(),
                _ => Vec::new(),
            },
        },
        Some(t @ ("Phonebooks" | "TeamPhonebooks" | "TeamPhoneBooks")) => EventKind::Phonebooks {
            team: t != "Phonebooks",
            phonebooks: records(&o, "phonebooks"),
        },
        Some("PhonebookContacts") => EventKind::PhonebookContacts {
            phonebook_id: js(&o, "phonebookId"),
            contacts: records(&o, "contacts"),
        },
        _ => EventKind::UnknownJson {
            type_name,
            value: Json::Object(o),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(body: &str) -> EventKind {
        let mut v = parse(body, None).expect("parse");
        assert_eq!(v.len(), 1);
        v.remove(0).kind
    }

    #[test]
    fn state_old_new_and_longer() {
        match one("1001#State#READY#Al Smith") {
            EventKind::State {
                state,
                full_name,
                reason_code,
                ..
            } => {
                assert_eq!(state, AgentState::Ready);
                assert_eq!(full_name.as_deref(), Some("Al Smith"));
                assert_eq!(reason_code, None);
            }
            other => panic!("{other:?}"),
        }
        match one("1001#State#NOT_READY#12#Al Smith#x#y#Al#z#4012") {
            EventKind::State {
                state,
                full_name,
                reason_code,
                extra,
                ..
            } => {
                assert_eq!(state, AgentState::NotReady);
                assert_eq!(reason_code.as_deref(), Some("12"));
                assert_eq!(full_name.as_deref(), Some("Al Smith"));
                assert_eq!(extra, vec!["x", "y", "Al", "z", "4012"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            one("1001#State#RE_LOGIN"),
            EventKind::State {
                state: AgentState::ReLogin,
                ..
            }
        ));
        assert!(matches!(
            one("1001#LOGOUT"),
            EventKind::State {
                state: AgentState::Logout,
                ..
            }
        ));
        match one("1001#State#ON_BREAK#Al") {
            EventKind::State { state, .. } => {
                assert_eq!(state, AgentState::Other("ON_BREAK".into()))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn system_destination_and_case() {
        assert!(matches!(
            one("System#IN_SERVICE"),
            EventKind::System {
                status: SystemStatus::InService,
                ..
            }
        ));
        assert!(matches!(
            one("SYSTEM#OUT_OF_SERVICE\n"),
            EventKind::System {
                status: SystemStatus::OutOfService,
                ..
            }
        ));
        assert!(matches!(
            one("System#NOT_REACHABLE"),
            EventKind::System {
                status: SystemStatus::NotReachable,
                ..
            }
        ));
        match one("DESTINATION#crm-7#RECONNECT") {
            EventKind::Destination {
                destination,
                action,
                ..
            } => assert_eq!(
                (destination.as_str(), action.as_str()),
                ("crm-7", "RECONNECT")
            ),
            other => panic!("{other:?}"),
        }
        // An agent called "System" still gets agent events.
        assert!(matches!(
            one("System#State#READY#x"),
            EventKind::State { .. }
        ));
    }

    #[test]
    fn errors_take_the_first_code_like_field() {
        match one("1001#Error#CF_RESOURCE_BUSY") {
            EventKind::Error { code, detail, .. } => {
                assert_eq!(code, ErrorCode::CfResourceBusy);
                assert!(detail.is_empty());
            }
            other => panic!("{other:?}"),
        }
        match one("1001#Error#Login failed#SUBSCRIPTION_FAILED#more") {
            EventKind::Error { code, detail, .. } => {
                assert_eq!(code, ErrorCode::SubscriptionFailed);
                assert_eq!(detail, vec!["Login failed", "more"]);
            }
            other => panic!("{other:?}"),
        }
        match one("1001#Error#something odd") {
            EventKind::Error { code, .. } => {
                assert_eq!(code, ErrorCode::Other("something odd".into()))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn inbound_call_formats() {
        match one("1001#InboundCall#ACTIVE#DialogID:77#5551234#callVariable1=a|acct=42#2024-01-02 10:11:12#Al#x") {
            EventKind::InboundCall { call, extra, .. } => {
                assert_eq!(call.dialog_id.as_deref(), Some("77"));
                assert_eq!(call.state, Some(CallState::Active));
                assert_eq!(call.from_address.as_deref(), Some("5551234"));
                assert_eq!(call.call_variables.get("acct"), Some("42"));
                assert_eq!(call.start_time.as_deref(), Some("2024-01-02 10:11:12"));
                assert_eq!(call.full_name.as_deref(), Some("Al"));
                assert_eq!(extra, vec!["x"]);
            }
            other => panic!("{other:?}"),
        }
        match one("1001#InboundCall#DROP#DialogID:77#Al") {
            EventKind::InboundCall { call, .. } => {
                assert!(call.state.as_ref().is_some_and(CallState::is_ended));
                assert_eq!(call.full_name.as_deref(), Some("Al"));
            }
            other => panic!("{other:?}"),
        }
        match one("1001#InboundCall#FAILED#DialogID:77#BUSY#Al") {
            EventKind::InboundCall { call, .. } => {
                assert_eq!(call.failure_cause.as_deref(), Some("BUSY"));
                assert_eq!(call.full_name.as_deref(), Some("Al"));
            }
            other => panic!("{other:?}"),
        }
        // Without the DialogID part (only sent for some states).
        match one("1001#InboundCall#ALERTING#5551234#a=1#2024-01-02 10:11:12#Al") {
            EventKind::InboundCall { call, .. } => {
                assert_eq!(call.dialog_id, None);
                assert_eq!(call.from_address.as_deref(), Some("5551234"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn new_calls_old_and_new_ani() {
        match one(
            "1001#NewInboundCall#5551234#5551234|callVariable1=a|callVariable2=b>#DialogID:77",
        ) {
            EventKind::NewInboundCall { call, .. } => {
                assert_eq!(call.ani.as_deref(), Some("5551234"));
                assert_eq!(call.call_variables.get("callVariable2"), Some("b"));
                assert_eq!(call.dialog_id.as_deref(), Some("77"));
            }
            other => panic!("{other:?}"),
        }
        match one("1001#NewInboundCall#5551234#5551234,a,b#DialogID:77") {
            EventKind::NewInboundCall { call, .. } => {
                assert_eq!(call.ani.as_deref(), Some("5551234"));
                assert_eq!(call.call_variables.get("callVariable1"), Some("a"));
            }
            other => panic!("{other:?}"),
        }
        match one("1001#NewOutboundCall#8000#ani=5551234|BACampaign=c1|BAStatus=x#DialogID:78") {
            EventKind::NewOutboundCall { call, preview, .. } => {
                assert!(!preview);
                assert_eq!(call.ani.as_deref(), Some("5551234"));
                assert_eq!(call.call_variables.get("BACampaign"), Some("c1"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn consult_dialog_and_status() {
        match one("1001#ConsultCall#INITIATED#AssDialogID:88#4012#a=1#2024-01-02 10:11:12#Al") {
            EventKind::ConsultCall { call, .. } => {
                assert_eq!(call.dialog_id.as_deref(), Some("88"));
                assert_eq!(call.state, Some(CallState::Initiated));
            }
            other => panic!("{other:?}"),
        }
        match one("1001#DialogState#ACTIVE#77#Al#555#a=1#88#HELD#4013#b=2#tail") {
            EventKind::DialogState { dialogs, extra, .. } => {
                assert_eq!(dialogs.dialog_id.as_deref(), Some("77"));
                assert_eq!(dialogs.ass_state, Some(CallState::Held));
                assert_eq!(dialogs.ass_call_variables.get("b"), Some("2"));
                assert_eq!(extra, vec!["tail"]);
            }
            other => panic!("{other:?}"),
        }
        match one("1001#CONSULT#DialogState#ACTIVE#77#Al") {
            EventKind::DialogState {
                dialog_type,
                dialogs,
                ..
            } => {
                assert_eq!(dialog_type.as_deref(), Some("CONSULT"));
                assert_eq!(dialogs.dialog_id.as_deref(), Some("77"));
            }
            other => panic!("{other:?}"),
        }
        let ev = parse("1001#DialogStatus#77#ACTIVE#88#HELD", Some("INBOUND")).expect("parse");
        match &ev[0].kind {
            EventKind::DialogStatus {
                call_type, dialogs, ..
            } => {
                assert_eq!(call_type.as_deref(), Some("INBOUND"));
                assert_eq!(dialogs.ass_dialog_id.as_deref(), Some("88"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reason_codes_lists_and_supervisor() {
        match one("1001#ReasonCodes#Category:NOT_READY#Codes:1,2 #Labels:Lunch,Break#Al") {
            EventKind::ReasonCodes {
                category,
                codes,
                full_name,
                ..
            } => {
                assert_eq!(category, "NOT_READY");
                assert_eq!(codes.len(), 2);
                assert_eq!(codes[1].code, "2");
                assert_eq!(codes[1].label, "Break");
                assert_eq!(full_name.as_deref(), Some("Al"));
            }
            other => panic!("{other:?}"),
        }
        match one("9#QueueList#QueueName:Q1,CallsInQueue:2,StartTimeOfLongestCallInQueue:2024-01-02 10:11:12#QueueName:Q2,CallsInQueue:0") {
            EventKind::QueueList { queues, .. } => {
                assert_eq!(queues.len(), 2);
                assert_eq!(
                    queues[0].get("StartTimeOfLongestCallInQueue"),
                    Some("2024-01-02 10:11:12")
                );
            }
            other => panic!("{other:?}"),
        }
        match one("9#TeamUsersList#FirstName:Al,LastName:S,Extension:4012,LoginID:1001,State:READY")
        {
            EventKind::Agents { users, .. } => {
                assert_eq!(users[0].get("firstName"), Some("Al"));
                assert_eq!(users[0].get("loginID"), Some("1001"));
            }
            other => panic!("{other:?}"),
        }
        match one("9#TeamInfoIDs#TeamID#7,8 #Boss") {
            EventKind::TeamIds {
                team_ids,
                full_name,
                ..
            } => {
                assert_eq!(team_ids, vec!["7", "8"]);
                assert_eq!(full_name.as_deref(), Some("Boss"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            one("9#TeamMemberStateChanged#7#READY#1001"),
            EventKind::TeamMemberStateChanged { state: AgentState::Ready, ref extra, .. } if extra == &["1001"]
        ));
        match one("1001#AgentInfo#Al#Smith#true#REQUIRED_WITH_ WRAP_UP_DATA#Al Smith") {
            EventKind::AgentInfo {
                supervisor,
                wrap_up_mode,
                full_name,
                ..
            } => {
                assert_eq!(supervisor, Some(true));
                assert_eq!(wrap_up_mode, Some(WrapUpMode::RequiredWithWrapUpData));
                assert_eq!(full_name.as_deref(), Some("Al Smith"));
            }
            other => panic!("{other:?}"),
        }
        match one("1001#AgentInfo#Al#Smith#true#OPTIONAL#Teams:2#7,8#Al Smith") {
            EventKind::AgentInfo {
                teams, full_name, ..
            } => {
                assert_eq!(teams.len(), 2);
                assert_eq!(full_name.as_deref(), Some("Al Smith"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reconnect_echo_and_sync() {
        let ev = parse("1001#RECONNECT#secret,4012", Some("Login#1001")).expect("parse");
        match &ev[0].kind {
            EventKind::Reconnect { request, .. } => {
                let r = request.as_ref().expect("request");
                assert_eq!(r.jms_type, "Login#1001");
                assert_eq!(r.body, "secret,4012");
            }
            other => panic!("{other:?}"),
        }
        match one("AgentState#1001#pw#4012#2024-01-01 00:00:00") {
            EventKind::ConnectorSync { agent_id } => assert_eq!(agent_id, "1001"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn phonebooks_both_text_layouts() {
        match one("Phonebooks#name:Global,type:GLOBAL,id:1#name:Team,type:TEAM,id:2") {
            EventKind::Phonebooks { team, phonebooks } => {
                assert!(!team);
                assert_eq!(phonebooks[1].get("id"), Some("2"));
            }
            other => panic!("{other:?}"),
        }
        match one("[Phonebooks#Global=1|Team=2]") {
            EventKind::Phonebooks { phonebooks, .. } => {
                assert_eq!(phonebooks[1].get("name"), Some("Team"));
                assert_eq!(phonebooks[1].get("id"), Some("2"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            one("TeamPhoneBooks#name:T,type:TEAM,id:3"),
            EventKind::Phonebooks { team: true, .. }
        ));
        match one("PhonebookContacts#description:d,firstName:A,lastName:B,phoneNumber:555,id:9") {
            EventKind::PhonebookContacts { contacts, .. } => {
                assert_eq!(contacts[0].get("phoneNumber"), Some("555"))
            }
            other => panic!("{other:?}"),
        }
        match one("[PhonebookContacts#1#name=A B,phoneNumber=555,contactId=9|name=C,phoneNumber=556,contactId=10]") {
            EventKind::PhonebookContacts {
                phonebook_id,
                contacts,
            } => {
                assert_eq!(phonebook_id.as_deref(), Some("1"));
                assert_eq!(contacts.len(), 2);
                assert_eq!(contacts[1].get("contactId"), Some("10"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_events_from_the_data_sheet() {
        assert!(matches!(
            one(r#"{"type":"System","status":"IN_SERVICE"}"#),
            EventKind::System {
                status: SystemStatus::InService,
                ..
            }
        ));
        match one(
            r#"{"type":"State","agentId":"1001","state":"NOT_READY","reasonCode":"12","stateChangeTimeString":"","pendingState":"","stateChangeTime":"2024-01-02 10:11:12","newKey":5}"#,
        ) {
            EventKind::State {
                state,
                reason_code,
                extra,
                ..
            } => {
                assert_eq!(state, AgentState::NotReady);
                assert_eq!(reason_code.as_deref(), Some("12"));
                assert_eq!(extra, vec!["newKey=5"]);
            }
            other => panic!("{other:?}"),
        }
        match one(
            r#"{"type":"InboundCall","dialogId":"16871253","state":"ACTIVE","startTime":"2024-01-02 10:11:12","prevDialogId":null,"fromAddress":"5551234","callVariables":[{"callVariable1":"a"},{"ani":"5551234"}],"participants":[{"mediaAddress":"4012","state":"ACTIVE","addressType":"AGENT_DEVICE"}],"agentId":"1001"}"#,
        ) {
            EventKind::InboundCall { call, .. } => {
                assert_eq!(call.dialog_id.as_deref(), Some("16871253"));
                assert_eq!(call.ani.as_deref(), Some("5551234"));
                assert_eq!(call.prev_dialog_id, None);
                assert_eq!(call.participants[0].media_address, "4012");
            }
            other => panic!("{other:?}"),
        }
        match one(
            r#"{"type":"ConsultCall","state":"INITIATED","assDialogId":"88","fromAddress":"4012","toAddress":"4013","agentId":"1001"}"#,
        ) {
            EventKind::ConsultCall { call, .. } => {
                assert_eq!(call.dialog_id.as_deref(), Some("88"));
                assert_eq!(call.to_address.as_deref(), Some("4013"));
            }
            other => panic!("{other:?}"),
        }
        match one(
            r#"{"type":"ReasonCodes","category":"WrapUp","reasonCodes":[{"1":"Complaint"},{"2":"Inquiry New"}],"agentId":"1001"}"#,
        ) {
            EventKind::ReasonCodes { codes, .. } => assert_eq!(codes[1].label, "Inquiry New"),
            other => panic!("{other:?}"),
        }
        match one(r#"[{"type":"Phonebooks","phonebooks":[{"name":"G","id":1}]}]"#) {
            EventKind::Phonebooks { phonebooks, .. } => {
                assert_eq!(phonebooks[0].get("id"), Some("1"))
            }
            other => panic!("{other:?}"),
        }
        match one(
            r#"[{"type":"Agents","users":[{"firstName":"A","lastName":"B","extension":"4012"}]}]"#,
        ) {
            EventKind::Agents { users, .. } => assert_eq!(users[0].get("extension"), Some("4012")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            one(
                r#"{"type":"NewOutboundPreviewCall","dialogId":"5","fromAddress":"x","callVariables":[],"calltype":"calltype","agentId":"1"}"#
            ),
            EventKind::NewOutboundCall { preview: true, .. }
        ));
        assert!(matches!(
            one(r#"{"type":"Brand New","x":1}"#),
            EventKind::UnknownJson { type_name: Some(ref t), .. } if t == "Brand New"
        ));
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert_eq!(parse("  ", None), Err(EventError::Empty));
        assert!(matches!(parse("{oops", None), Err(EventError::Json(_))));
        assert!(
            matches!(parse("[1,2]", None), Ok(ref v) if matches!(v[0].kind, EventKind::Unknown { .. }))
        );
        assert!(matches!(parse("[{}, 3]", None), Err(EventError::Json(_))));
        assert_eq!(parse_bytes(b"\xff", None), Err(EventError::NotUtf8));
        assert!(matches!(
            parse("1001#ReasonCodes#x", None),
            Err(EventError::Malformed {
                event: "ReasonCodes",
                ..
            })
        ));
        assert!(matches!(one("hello world"), EventKind::Unknown { .. }));
    }

    #[test]
    fn json_rendering_is_flat_and_tagged() {
        let ev =
            &parse("1001#InboundCall#ACTIVE#DialogID:77#555#a=1#t#Al", None).expect("parse")[0];
        let j = ev.to_json();
        assert_eq!(j["event"], "InboundCall");
        assert_eq!(j["format"], "text");
        assert_eq!(j["agent_id"], "1001");
        assert_eq!(j["dialog_id"], "77");
        assert_eq!(j["state"], "ACTIVE");
        assert_eq!(j["call_variables"]["a"], "1");
    }
}
