//! Input commands (client → GC): the catalogue of the data sheet §3 and their wire form.
//!
//! A command becomes a [`Request`]: JMSType `<Command>#<agentId>` (system commands:
//! `<Command>#<client_destination>`) and a text body of comma-joined parameters
//! (data sheet §2, ambiguity A1). Parameters containing the protocol separators
//! `,` `#` `|` (or control characters) are refused before anything is sent.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ece::Secret;

/// One request on the wire: the JMSType and the text body.
///
/// `Debug` hides the body of the commands that carry a password (`Connect`, `Login`,
/// `MobileAgentLogin`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// JMSType, e.g. `Login#1001`.
    pub jms_type: String,
    /// Text body, e.g. `secret,4012` (empty for commands without parameters).
    pub body: String,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("jms_type", &self.jms_type)
            .field("body", &self.redacted_body())
            .finish()
    }
}

/// True for the command names whose body carries a password.
pub fn carries_secret(command_name: &str) -> bool {
    ["connect", "login", "mobileagentlogin"]
        .iter()
        .any(|c| command_name.eq_ignore_ascii_case(c))
}

impl Request {
    /// The body for logs and errors: `<redacted>` when the command carries a password.
    pub fn redacted_body(&self) -> &str {
        if carries_secret(self.command_name()) {
            "<redacted>"
        } else {
            &self.body
        }
    }

    /// The command name: the JMSType up to the first `#`.
    pub fn command_name(&self) -> &str {
        self.jms_type.split('#').next().unwrap_or_default()
    }

    /// The key after the first `#` (agent ID, or client destination).
    pub fn key(&self) -> &str {
        self.jms_type.split_once('#').map_or("", |(_, k)| k)
    }
}

/// A parameter or key the GC cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A value contains `,`, `#` or `|` (the protocol separators) or a control character.
    #[error("{command}: {what} {value:?} contains {found:?}; GC parameters must not contain ',' '#' '|' or control characters")]
    Separator {
        /// Command name.
        command: &'static str,
        /// Which parameter.
        what: &'static str,
        /// The offending value.
        value: String,
        /// The first offending character.
        found: char,
    },
    /// A secret parameter (a password) contains a separator; the value is not shown.
    #[error("{command}: {what} contains {found:?}; GC parameters must not contain ',' '#' '|' or control characters")]
    SecretSeparator {
        /// Command name.
        command: &'static str,
        /// Which parameter.
        what: &'static str,
        /// The first offending character.
        found: char,
    },
    /// A key (agent ID or destination) is empty.
    #[error("{command}: {what} must not be empty")]
    Empty {
        /// Command name.
        command: &'static str,
        /// Which parameter.
        what: &'static str,
    },
    /// A completing transfer/conference has no target and no consult made on that
    /// dialog is still active: nothing was sent.
    #[error("{command}: no target given and no active ConsultCall on dialog {dialog_id:?}; nothing was sent")]
    NoTarget {
        /// Command name.
        command: &'static str,
        /// The dialog.
        dialog_id: String,
    },
}

/// The first character of `s` that may not appear in a GC parameter.
pub fn forbidden_char(s: &str) -> Option<char> {
    s.chars()
        .find(|c| matches!(c, ',' | '#' | '|') || c.is_control())
}

/// The parameters that hold secrets: their values never appear in errors.
const SECRET_PARAMS: &[&str] = &["password"];

fn check(command: &'static str, what: &'static str, value: &str) -> Result<(), CommandError> {
    match forbidden_char(value) {
        Some(found) if SECRET_PARAMS.contains(&what) => Err(CommandError::SecretSeparator {
            command,
            what,
            found,
        }),
        Some(found) => Err(CommandError::Separator {
            command,
            what,
            value: value.to_owned(),
            found,
        }),
        None => Ok(()),
    }
}

/// Checks a key (agent ID or client destination): non-empty, no separators.
pub fn check_key(command: &'static str, what: &'static str, key: &str) -> Result<(), CommandError> {
    if key.is_empty() {
        return Err(CommandError::Empty { command, what });
    }
    check(command, what, key)
}

/// Serialises a secret command parameter as its value (the JSON command form).
fn ser_secret<S: serde::Serializer>(v: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.expose())
}

/// Deserialises a secret from a JSON string; any other type is refused without
/// echoing the value (serde's own message would quote a number).
pub(crate) fn de_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    d.deserialize_any(SecretVisitor)
}

/// Deserialises an optional secret (`null` or absent: `None`), as [`de_secret`].
pub(crate) fn de_opt_secret<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Secret>, D::Error> {
    d.deserialize_option(OptSecretVisitor)
}

struct SecretVisitor;

macro_rules! refuse_without_value {
    ($($name:ident: $t:ty),*) => {
        $(fn $name<E: serde::de::Error>(self, _: $t) -> Result<Self::Value, E> {
            Err(E::custom("a password or passcode must be a JSON string (value not shown)"))
        })*
    };
}

impl<'de> serde::de::Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Secret, E> {
        Ok(Secret::new(v))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Secret, E> {
        Ok(Secret::new(v))
    }

    refuse_without_value!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_i128: i128,
        visit_u128: u128, visit_f64: f64, visit_char: char, visit_bytes: &[u8]);
}

struct OptSecretVisitor;

impl<'de> serde::de::Visitor<'de> for OptSecretVisitor {
    type Value = Option<Secret>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        de_secret(d).map(Some)
    }
}

/// Every input command of the data sheet §3. Agent commands are addressed with
/// [`Command::encode`]`(agent_id)`; [`Command::Hello`] and [`Command::Beat`] with the
/// client destination.
///
/// In JSON (bindings) a command is an object tagged by `command` with snake_case
/// parameters, e.g. `{"command":"Login","password":"x","extension":"4012"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", deny_unknown_fields)]
pub enum Command {
    // --- system / session
    /// `Hello#<destination>`: heartbeat while no agent is logged in.
    Hello,
    /// `Beat#<destination>`: heartbeat while an agent is logged in.
    Beat,
    /// `Connect#<agent>` `<destination>,<password>`: binds the agent to a destination.
    Connect {
        /// Client destination (the event topic).
        destination: String,
        /// Agent password.
        #[serde(serialize_with = "ser_secret", deserialize_with = "de_secret")]
        password: Secret,
    },
    // --- agent state
    /// `Login#<agent>` `<password>,<extension>`.
    Login {
        /// Agent password.
        #[serde(serialize_with = "ser_secret", deserialize_with = "de_secret")]
        password: Secret,
        /// Agent extension.
        extension: String,
    },
    /// `MobileAgentLogin#<agent>` `<password>,<extension>,<phone>,<true|false>` (UCCE only).
    MobileAgentLogin {
        /// Agent password.
        #[serde(serialize_with = "ser_secret", deserialize_with = "de_secret")]
        password: Secret,
        /// Agent extension.
        extension: String,
        /// The mobile agent's phone number.
        phone: String,
        /// `true`: call by call; `false`: nailed connection.
        call_by_call: bool,
    },
    /// `Logout#<agent>`.
    Logout,
    /// `logoutwithreason#<agent>` `<reason>`.
    LogoutWithReason {
        /// Logout reason code.
        reason_code: String,
    },
    /// `force_logout#<agent>`.
    ForceLogout,
    /// `MakeReady#<agent>`.
    MakeReady,
    /// `MakeNotReady#<agent>`.
    MakeNotReady,
    /// `MakeNotReadyWithReason#<agent>` `<reason>`.
    MakeNotReadyWithReason {
        /// Not-ready reason code.
        reason_code: String,
    },
    /// `makeworknotready#<agent>`.
    MakeWorkNotReady,
    /// `makeworkready#<agent>`.
    MakeWorkReady,
    /// `GetState#<agent>`.
    GetState,
    /// `refresh#<agent>`.
    Refresh,
    /// `reasoncodelogout#<agent>`.
    ReasonCodesLogout,
    /// `reasoncodenotready#<agent>`.
    ReasonCodesNotReady,
    /// `wrapupreasoncode#<agent>`.
    WrapUpReasonCodes,
    // --- calls / dialogs
    /// `MakeCall#<agent>` `<number>`.
    MakeCall {
        /// Number to dial.
        number: String,
    },
    /// `AnswerCall#<agent>` `<dialog>`.
    AnswerCall {
        /// Dialog ID.
        dialog_id: String,
    },
    /// `HoldCall#<agent>` `<dialog>`.
    HoldCall {
        /// Dialog ID.
        dialog_id: String,
    },
    /// `RetrieveCall#<agent>` `<dialog>`.
    RetrieveCall {
        /// Dialog ID.
        dialog_id: String,
    },
    /// `ReleaseCall#<agent>` `<dialog>`.
    ReleaseCall {
        /// Dialog ID.
        dialog_id: String,
    },
    /// `Transfer_sst#<agent>` `<number>,<dialog>`: single-step transfer (UCCE only).
    SingleStepTransfer {
        /// Transfer target.
        number: String,
        /// Dialog ID.
        dialog_id: String,
    },
    /// `ConsultCall#<agent>` `<number>,<dialog>`: consult for transfer or conference.
    ConsultCall {
        /// Consulted party.
        number: String,
        /// The active dialog.
        dialog_id: String,
    },
    /// `TransferCall#<agent>` `<target>,<dialog>`. `target` absent: the number of the
    /// preceding ConsultCall on that dialog (ambiguity A7).
    TransferCall {
        /// First parameter (documented as `<agent_extension>`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        /// Dialog ID.
        dialog_id: String,
    },
    /// `Conferencecall#<agent>` `<target>,<dialog>`; `target` as for [`Command::TransferCall`].
    ConferenceCall {
        /// First parameter (documented as `<agent_extension>`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        /// Dialog ID.
        dialog_id: String,
    },
    /// `getdialogstate#<agent>` `<dialog>`.
    GetDialogState {
        /// Dialog ID.
        dialog_id: String,
    },
    /// `getdialogstatecontrols#<agent>` `<dialog>`.
    GetDialogStateControls {
        /// Dialog ID.
        dialog_id: String,
    },
    /// `wrapup#<agent>` `<reason>,<dialog>` (no reply).
    WrapUp {
        /// Wrap-up reason.
        reason: String,
        /// Dialog ID.
        dialog_id: String,
    },
    /// `getDialogParticipants#<agent>` `<dialog>` (deprecated).
    GetDialogParticipants {
        /// Dialog ID.
        dialog_id: String,
    },
    /// `getallagents#<agent>`.
    GetAllAgents,
    /// `update_call_variable#<agent>` `<dialog>,<name>,<value>`.
    UpdateCallVariable {
        /// Dialog ID.
        dialog_id: String,
        /// Variable name.
        name: String,
        /// New value.
        value: String,
    },
    /// `AcceptOutboundPreview#<agent>` `<dialog>,ACCEPT`.
    AcceptOutboundPreview {
        /// Dialog ID.
        dialog_id: String,
    },
    /// `RejectOutboundPreview#<agent>` `<dialog>,REJECT`.
    RejectOutboundPreview {
        /// Dialog ID.
        dialog_id: String,
    },
    /// `CloseOutboundPreview#<agent>` `<dialog>,CLOSE`.
    CloseOutboundPreview {
        /// Dialog ID.
        dialog_id: String,
    },
    /// `ZOOMPauseRecording#<agent>`.
    ZoomPauseRecording,
    /// `ZOOMResumeRecording#<agent>`.
    ZoomResumeRecording,
    // --- supervisor
    /// `getqueuelist#<agent>`.
    GetQueueList,
    /// `silentmonitor#<agent>` `<extension>`.
    SilentMonitor {
        /// Extension of the monitored agent.
        extension: String,
    },
    /// `endsilentmonitor#<agent>` `<dialog>`.
    EndSilentMonitor {
        /// Dialog ID.
        dialog_id: String,
    },
    /// `dropparticipant#<agent>` `<extension>,<dialog>`.
    DropParticipant {
        /// Extension to drop.
        extension: String,
        /// Dialog ID.
        dialog_id: String,
    },
    /// `getteamusers#<agent>` `<team>` or `<team>,true` (also subscribe to its events).
    GetTeamUsers {
        /// Team ID.
        team_id: String,
        /// Subscribe to the team's state changes (O-021).
        #[serde(default)]
        subscribe: bool,
    },
    /// `getteamuserstate#<agent>` `<member>`.
    GetTeamUserState {
        /// Team member's login ID.
        member_id: String,
    },
    /// `bargein#<agent>` `<member>,<dialog>`.
    BargeIn {
        /// Team member's login ID.
        member_id: String,
        /// Dialog ID.
        dialog_id: String,
    },
    // --- phonebooks
    /// `GetPhonebooks#<agent>`.
    GetPhonebooks,
    /// `GetTeamPhonebooks#<agent>`.
    GetTeamPhonebooks,
    /// `GetPhonebookContacts#<agent>` `<phonebook>`.
    GetPhonebookContacts {
        /// Phonebook ID.
        phonebook_id: String,
    },
}

impl Command {
    /// The command name sent on the wire (the JMSType prefix), spelled as the vendor does.
    pub fn wire_name(&self) -> &'static str {
        use Command::*;
        match self {
            Hello => "Hello",
            Beat => "Beat",
            Connect { .. } => "Connect",
            Login { .. } => "Login",
            MobileAgentLogin { .. } => "MobileAgentLogin",
            Logout => "Logout",
            LogoutWithReason { .. } => "logoutwithreason",
            ForceLogout => "force_logout",
            MakeReady => "MakeReady",
            MakeNotReady => "MakeNotReady",
            MakeNotReadyWithReason { .. } => "MakeNotReadyWithReason",
            MakeWorkNotReady => "makeworknotready",
            MakeWorkReady => "makeworkready",
            GetState => "GetState",
            Refresh => "refresh",
            ReasonCodesLogout => "reasoncodelogout",
            ReasonCodesNotReady => "reasoncodenotready",
            WrapUpReasonCodes => "wrapupreasoncode",
            MakeCall { .. } => "MakeCall",
            AnswerCall { .. } => "AnswerCall",
            HoldCall { .. } => "HoldCall",
            RetrieveCall { .. } => "RetrieveCall",
            ReleaseCall { .. } => "ReleaseCall",
            SingleStepTransfer { .. } => "Transfer_sst",
            ConsultCall { .. } => "ConsultCall",
            TransferCall { .. } => "TransferCall",
            ConferenceCall { .. } => "Conferencecall",
            GetDialogState { .. } => "getdialogstate",
            GetDialogStateControls { .. } => "getdialogstatecontrols",
            WrapUp { .. } => "wrapup",
            GetDialogParticipants { .. } => "getDialogParticipants",
            GetAllAgents => "getallagents",
            UpdateCallVariable { .. } => "update_call_variable",
            AcceptOutboundPreview { .. } => "AcceptOutboundPreview",
            RejectOutboundPreview { .. } => "RejectOutboundPreview",
            CloseOutboundPreview { .. } => "CloseOutboundPreview",
            ZoomPauseRecording => "ZOOMPauseRecording",
            ZoomResumeRecording => "ZOOMResumeRecording",
            GetQueueList => "getqueuelist",
            SilentMonitor { .. } => "silentmonitor",
            EndSilentMonitor { .. } => "endsilentmonitor",
            DropParticipant { .. } => "dropparticipant",
            GetTeamUsers { .. } => "getteamusers",
            GetTeamUserState { .. } => "getteamuserstate",
            BargeIn { .. } => "bargein",
            GetPhonebooks => "GetPhonebooks",
            GetTeamPhonebooks => "GetTeamPhonebooks",
            GetPhonebookContacts { .. } => "GetPhonebookContacts",
        }
    }

    /// True for the system commands keyed by the client destination (`Hello`, `Beat`).
    pub fn is_system(&self) -> bool {
        matches!(self, Command::Hello | Command::Beat)
    }

    /// The parameters in wire order, each with its name (for error messages).
    /// A missing transfer/conference target is an error: fill it first.
    pub fn params(&self) -> Result<Vec<(&'static str, &str)>, CommandError> {
        use Command::*;
        let no_target = |command, dialog_id: &str| CommandError::NoTarget {
            command,
            dialog_id: dialog_id.to_owned(),
        };
        Ok(match self {
            Hello | Beat | Logout | ForceLogout | MakeReady | MakeNotReady | MakeWorkNotReady
            | MakeWorkReady | GetState | Refresh | ReasonCodesLogout | ReasonCodesNotReady
            | WrapUpReasonCodes | GetAllAgents | ZoomPauseRecording | ZoomResumeRecording
            | GetQueueList | GetPhonebooks | GetTeamPhonebooks => vec![],
            Connect {
                destination,
                password,
            } => vec![
                ("destination", destination),
                ("password", password.expose()),
            ],
            Login {
                password,
                extension,
            } => vec![("password", password.expose()), ("extension", extension)],
            MobileAgentLogin {
                password,
                extension,
                phone,
                call_by_call,
            } => vec![
                ("password", password.expose()),
                ("extension", extension),
                ("phone", phone),
                ("call_by_call", if *call_by_call { "true" } else { "false" }),
            ],
            LogoutWithReason { reason_code } | MakeNotReadyWithReason { reason_code } => {
                vec![("reason_code", reason_code)]
            }
            MakeCall { number } => vec![("number", number)],
            AnswerCall { dialog_id }
            | HoldCall { dialog_id }
            | RetrieveCall { dialog_id }
            | ReleaseCall { dialog_id }
            | GetDialogState { dialog_id }
            | GetDialogStateControls { dialog_id }
            | GetDialogParticipants { dialog_id }
            | EndSilentMonitor { dialog_id } => vec![("dialog_id", dialog_id)],
            SingleStepTransfer { number, dialog_id } | ConsultCall { number, dialog_id } => {
                vec![("number", number), ("dialog_id", dialog_id)]
            }
            TransferCall { target, dialog_id } => vec![
                (
                    "target",
                    target
                        .as_deref()
                        .ok_or_else(|| no_target("TransferCall", dialog_id))?,
                ),
                ("dialog_id", dialog_id),
            ],
            ConferenceCall { target, dialog_id } => vec![
                (
                    "target",
                    target
                        .as_deref()
                        .ok_or_else(|| no_target("Conferencecall", dialog_id))?,
                ),
                ("dialog_id", dialog_id),
            ],
            WrapUp { reason, dialog_id } => vec![("reason", reason), ("dialog_id", dialog_id)],
            UpdateCallVariable {
                dialog_id,
                name,
                value,
            } => vec![("dialog_id", dialog_id), ("name", name), ("value", value)],
            AcceptOutboundPreview { dialog_id } => {
                vec![("dialog_id", dialog_id), ("action", "ACCEPT")]
            }
            RejectOutboundPreview { dialog_id } => {
                vec![("dialog_id", dialog_id), ("action", "REJECT")]
            }
            CloseOutboundPreview { dialog_id } => {
                vec![("dialog_id", dialog_id), ("action", "CLOSE")]
            }
            SilentMonitor { extension } => vec![("extension", extension)],
            DropParticipant {
                extension,
                dialog_id,
            } => vec![("extension", extension), ("dialog_id", dialog_id)],
            GetTeamUsers { team_id, subscribe } => {
                let mut v = vec![("team_id", team_id.as_str())];
                if *subscribe {
                    v.push(("subscribe", "true"));
                }
                v
            }
            GetTeamUserState { member_id } => vec![("member_id", member_id)],
            BargeIn {
                member_id,
                dialog_id,
            } => vec![("member_id", member_id), ("dialog_id", dialog_id)],
            GetPhonebookContacts { phonebook_id } => vec![("phonebook_id", phonebook_id)],
        })
    }

    /// Encodes the command for `key` (the agent ID; the client destination for
    /// `Hello`/`Beat`). Refuses separators in the key or any parameter.
    pub fn encode(&self, key: &str) -> Result<Request, CommandError> {
        let name = self.wire_name();
        let what = if self.is_system() {
            "client destination"
        } else {
            "agent ID"
        };
        check_key(name, what, key)?;
        let params = self.params()?;
        for (what, value) in &params {
            check(name, what, value)?;
        }
        let body = params.iter().map(|(_, v)| *v).collect::<Vec<_>>().join(",");
        Ok(Request {
            jms_type: format!("{name}#{key}"),
            body,
        })
    }

    /// Parses a request back into a command (used by the simulator). Unknown names and
    /// missing parameters give `None`; extra parameters are ignored. Command names
    /// compare case-insensitively.
    pub fn decode(req: &Request) -> Option<(String, Command)> {
        use Command::*;
        let (name, key) = req.jms_type.split_once('#')?;
        let p: Vec<String> = if req.body.is_empty() {
            Vec::new()
        } else {
            req.body.split(',').map(str::to_owned).collect()
        };
        let at = |i: usize| p.get(i).cloned();
        let cmd = match name.to_ascii_lowercase().as_str() {
            "hello" => Hello,
            "beat" => Beat,
            "connect" => Connect {
                destination: at(0)?,
                password: Secret::new(at(1).unwrap_or_default()),
            },
            "login" => Login {
                password: Secret::new(at(0).unwrap_or_default()),
                extension: at(1).unwrap_or_default(),
            },
            "mobileagentlogin" => MobileAgentLogin {
                password: Secret::new(at(0).unwrap_or_default()),
                extension: at(1).unwrap_or_default(),
                phone: at(2).unwrap_or_default(),
                call_by_call: at(3).is_some_and(|v| v.eq_ignore_ascii_case("true")),
            },
            "logout" => Logout,
            "logoutwithreason" => LogoutWithReason {
                reason_code: at(0).unwrap_or_default(),
            },
            "force_logout" => ForceLogout,
            "makeready" => MakeReady,
            "makenotready" => MakeNotReady,
            "makenotreadywithreason" => MakeNotReadyWithReason {
                reason_code: at(0).unwrap_or_default(),
            },
            "makeworknotready" => MakeWorkNotReady,
            "makeworkready" => MakeWorkReady,
            "getstate" => GetState,
            "refresh" => Refresh,
            "reasoncodelogout" => ReasonCodesLogout,
            "reasoncodenotready" => ReasonCodesNotReady,
            "wrapupreasoncode" => WrapUpReasonCodes,
            "makecall" => MakeCall {
                number: at(0).unwrap_or_default(),
            },
            "answercall" => AnswerCall { dialog_id: at(0)? },
            "holdcall" => HoldCall { dialog_id: at(0)? },
            "retrievecall" => RetrieveCall { dialog_id: at(0)? },
            "releasecall" => ReleaseCall { dialog_id: at(0)? },
            "transfer_sst" => SingleStepTransfer {
                number: at(0)?,
                dialog_id: at(1)?,
            },
            "consultcall" => ConsultCall {
                number: at(0)?,
                dialog_id: at(1)?,
            },
            "transfercall" => TransferCall {
                target: Some(at(0)?),
                dialog_id: at(1)?,
            },
            "conferencecall" => ConferenceCall {
                target: Some(at(0)?),
                dialog_id: at(1)?,
            },
            "getdialogstate" => GetDialogState { dialog_id: at(0)? },
            "getdialogstatecontrols" => GetDialogStateControls { dialog_id: at(0)? },
            "wrapup" => WrapUp {
                reason: at(0)?,
                dialog_id: at(1)?,
            },
            "getdialogparticipants" => GetDialogParticipants { dialog_id: at(0)? },
            "getallagents" => GetAllAgents,
            "update_call_variable" => UpdateCallVariable {
                dialog_id: at(0)?,
                name: at(1)?,
                value: at(2).unwrap_or_default(),
            },
            "acceptoutboundpreview" => AcceptOutboundPreview { dialog_id: at(0)? },
            "rejectoutboundpreview" => RejectOutboundPreview { dialog_id: at(0)? },
            "closeoutboundpreview" => CloseOutboundPreview { dialog_id: at(0)? },
            "zoompauserecording" => ZoomPauseRecording,
            "zoomresumerecording" => ZoomResumeRecording,
            "getqueuelist" => GetQueueList,
            "silentmonitor" => SilentMonitor { extension: at(0)? },
            "endsilentmonitor" => EndSilentMonitor { dialog_id: at(0)? },
            "dropparticipant" => DropParticipant {
                extension: at(0)?,
                dialog_id: at(1)?,
            },
            "getteamusers" => GetTeamUsers {
                team_id: at(0)?,
                subscribe: at(1).is_some_and(|v| v.eq_ignore_ascii_case("true")),
            },
            "getteamuserstate" => GetTeamUserState { member_id: at(0)? },
            "bargein" => BargeIn {
                member_id: at(0)?,
                dialog_id: at(1)?,
            },
            "getphonebooks" => GetPhonebooks,
            "getteamphonebooks" => GetTeamPhonebooks,
            "getphonebookcontacts" => GetPhonebookContacts {
                phonebook_id: at(0)?,
            },
            _ => return None,
        };
        Some((key.to_owned(), cmd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(c: Command, key: &str) -> (String, String) {
        let r = c.encode(key).expect("encode");
        (r.jms_type, r.body)
    }

    #[test]
    fn login_matches_the_data_sheet() {
        assert_eq!(
            enc(
                Command::Login {
                    password: "secret".into(),
                    extension: "4012".into()
                },
                "1001"
            ),
            ("Login#1001".into(), "secret,4012".into())
        );
        assert_eq!(
            enc(Command::Hello, "192.168.1.148"),
            ("Hello#192.168.1.148".into(), String::new())
        );
        assert_eq!(
            enc(
                Command::Connect {
                    destination: "crm-7".into(),
                    password: "pw".into()
                },
                "1001"
            ),
            ("Connect#1001".into(), "crm-7,pw".into())
        );
    }

    #[test]
    fn vendor_spellings_and_literal_tokens() {
        let c = |cmd: Command| enc(cmd, "a1");
        assert_eq!(c(Command::MakeWorkReady).0, "makeworkready#a1");
        assert_eq!(
            c(Command::ConferenceCall {
                target: Some("4013".into()),
                dialog_id: "77".into()
            }),
            ("Conferencecall#a1".into(), "4013,77".into())
        );
        assert_eq!(
            c(Command::RejectOutboundPreview {
                dialog_id: "9".into()
            })
            .1,
            "9,REJECT"
        );
        assert_eq!(
            c(Command::GetTeamUsers {
                team_id: "7".into(),
                subscribe: true
            })
            .1,
            "7,true"
        );
        assert_eq!(
            c(Command::MobileAgentLogin {
                password: "p".into(),
                extension: "1".into(),
                phone: "555".into(),
                call_by_call: false
            })
            .1,
            "p,1,555,false"
        );
        assert_eq!(c(Command::ZoomPauseRecording).0, "ZOOMPauseRecording#a1");
    }

    #[test]
    fn separators_are_refused_with_a_clear_error() {
        for bad in ["a,b", "a#b", "a|b", "a\nb", "a\0b"] {
            let e = Command::MakeCall { number: bad.into() }
                .encode("1001")
                .expect_err("refused");
            assert!(
                matches!(e, CommandError::Separator { what: "number", .. }),
                "{e}"
            );
            assert!(e.to_string().contains("must not contain"));
        }
        assert!(matches!(
            Command::GetState.encode("10#01"),
            Err(CommandError::Separator {
                what: "agent ID",
                ..
            })
        ));
        assert!(matches!(
            Command::Hello.encode(""),
            Err(CommandError::Empty { .. })
        ));
        assert!(matches!(
            Command::TransferCall {
                target: None,
                dialog_id: "5".into()
            }
            .encode("1"),
            Err(CommandError::NoTarget { .. })
        ));
    }

    #[test]
    fn json_form_and_decode_round_trip() {
        let cmds: Vec<Command> = serde_json::from_str(
            r#"[{"command":"Login","password":"x","extension":"4012"},
                {"command":"MakeNotReadyWithReason","reason_code":"12"},
                {"command":"TransferCall","target":"4013","dialog_id":"5"},
                {"command":"GetTeamUsers","team_id":"7"},
                {"command":"AcceptOutboundPreview","dialog_id":"9"},
                {"command":"GetPhonebooks"}]"#,
        )
        .expect("json");
        for c in cmds {
            let r = c.encode("1001").expect("encode");
            let (key, back) = Command::decode(&r).expect("decode");
            assert_eq!(key, "1001");
            assert_eq!(back, c);
        }
        assert!(serde_json::from_str::<Command>(r#"{"command":"Login","pasword":"x"}"#).is_err());
    }
}
