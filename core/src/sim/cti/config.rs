//! Simulator settings and call descriptions, readable from JSON.

use std::net::SocketAddr;

use serde::Deserialize;

use super::SimError;

/// One simulated agent.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SimAgent {
    /// ACD login ID.
    pub agent_id: String,
    /// Teleset extension (the agent's device).
    pub extension: String,
    /// Instrument number.
    #[serde(default)]
    pub instrument: Option<String>,
    /// Initial state name (default `AGENT_STATE_NOT_READY`; `AGENT_STATE_LOGOUT` for a
    /// logged-out agent).
    #[serde(default)]
    pub state: Option<String>,
    /// Skill group numbers the agent belongs to (empty: only calls without a skill group).
    #[serde(default)]
    pub skill_groups: Vec<u32>,
    /// Agent team ID.
    #[serde(default)]
    pub team_id: Option<u32>,
    /// Whether the agent is a supervisor (of its team).
    #[serde(default)]
    pub supervisor: bool,
    /// State after a call ends (default: the state the agent had before the call), e.g.
    /// `AGENT_STATE_WORK_NOT_READY` for wrap-up.
    #[serde(default)]
    pub after_call_state: Option<String>,
}

impl SimAgent {
    /// An agent with ID and extension, everything else default.
    pub fn new(agent_id: impl Into<String>, extension: impl Into<String>) -> Self {
        let extension = extension.into();
        SimAgent {
            agent_id: agent_id.into(),
            instrument: Some(extension.clone()),
            extension,
            state: None,
            skill_groups: Vec::new(),
            team_id: None,
            supervisor: false,
            after_call_state: None,
        }
    }
}

/// A skill group with its queue.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SimSkillGroup {
    /// SkillGroupNumber on the peripheral.
    pub number: u32,
    /// SkillGroupID (default: 1000 + number).
    #[serde(default)]
    pub id: Option<u32>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// An agent team.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SimTeam {
    /// TeamID.
    pub id: u32,
    /// Team name.
    #[serde(default)]
    pub name: Option<String>,
}

/// A dialed number (DNIS) routed to a skill group.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SimDialedNumber {
    /// The dialed number string.
    pub number: String,
    /// Skill group number calls to it queue on.
    pub skill_group: u32,
}

/// Simulator settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Side A address; `127.0.0.1:0` picks a free loopback port.
    pub bind: SocketAddr,
    /// Side B address: set it to run a duplex pair sharing one peripheral.
    pub bind_b: Option<SocketAddr>,
    /// PeripheralID the simulated PG reports.
    pub peripheral_id: u32,
    /// Agents of the peripheral.
    pub agents: Vec<SimAgent>,
    /// Skill groups.
    pub skill_groups: Vec<SimSkillGroup>,
    /// Agent teams.
    pub teams: Vec<SimTeam>,
    /// Dialed numbers and the skill group each routes to.
    pub dialed_numbers: Vec<SimDialedNumber>,
    /// When set, OPEN_REQ must carry this ClientPassword.
    pub password: Option<String>,
    /// Agents answer ringing calls by themselves after this many milliseconds
    /// (default: they wait for ANSWER_CALL_REQ or a scripted answer).
    pub auto_answer_ms: Option<u64>,
    /// Refuse requests whose service the session was not granted
    /// (E_CTI_FUNCTION_NOT_AVAILABLE). Default true.
    pub enforce_services: bool,
    /// How long the maintenance handshake waits for ACTIVE_MAINTENANCE_RESP and for
    /// STOPPING_REQUESTS_TO_THIS_SIDE_IND (5000 ms, as the guide says).
    pub maintenance_timeout_ms: u64,
    /// Status a standby side refuses unsuitable clients with (default
    /// `E_CTI_CTI_SERVER_OFFLINE`; DECISIONS.md item 49 lists the alternatives).
    pub standby_refusal: String,
    /// Accept only this protocol version (others get E_CTI_INVALID_VERSION); default:
    /// any of 15 to 25.
    pub protocol_version: Option<u32>,
    /// Secured connections (TLS) on each side, beside the plain port (mixed mode) or
    /// instead of it (`secure_only`).
    pub tls: Option<SimTls>,
}

/// The simulator's TLS listeners: the server identity, optionally a client CA (then
/// client certificates are required, as a CTI Server with mutual TLS does).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SimTls {
    /// Server certificate chain (PEM, leaf first).
    pub cert_pem: Option<String>,
    /// A file holding `cert_pem`.
    pub cert_file: Option<std::path::PathBuf>,
    /// Server private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_pem: Option<crate::ece::Secret>,
    /// A file holding `key_pem`.
    pub key_file: Option<std::path::PathBuf>,
    /// CA client certificates must chain to; set: client certificates are required.
    pub client_ca_pem: Option<String>,
    /// A file holding `client_ca_pem`.
    pub client_ca_file: Option<std::path::PathBuf>,
    /// Only TLS: the plain listeners (`bind`, `bind_b`) speak TLS instead.
    pub secure_only: bool,
    /// Side A's TLS listener in mixed mode (default `127.0.0.1:0`, a free port; a real
    /// CTI Server uses 42030 + 40 x instance).
    pub bind: SocketAddr,
    /// Side B's TLS listener in mixed mode (default `127.0.0.1:0`; a real CTI Server
    /// uses 43030 + 40 x instance). Used only when `bind_b` is set.
    pub bind_b: SocketAddr,
}

impl Default for SimTls {
    fn default() -> Self {
        SimTls {
            cert_pem: None,
            cert_file: None,
            key_pem: None,
            key_file: None,
            client_ca_pem: None,
            client_ca_file: None,
            secure_only: false,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            bind_b: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

impl SimTls {
    /// The listener identity.
    pub fn server_config(&self) -> crate::tls::TlsServerConfig {
        crate::tls::TlsServerConfig {
            cert_pem: self.cert_pem.clone(),
            cert_file: self.cert_file.clone(),
            key_pem: self.key_pem.clone(),
            key_file: self.key_file.clone(),
            client_ca_pem: self.client_ca_pem.clone(),
            client_ca_file: self.client_ca_file.clone(),
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            bind_b: None,
            peripheral_id: 5000,
            agents: vec![SimAgent::new("1001", "5001")],
            skill_groups: Vec::new(),
            teams: Vec::new(),
            dialed_numbers: Vec::new(),
            password: None,
            auto_answer_ms: None,
            enforce_services: true,
            maintenance_timeout_ms: 5000,
            standby_refusal: "E_CTI_CTI_SERVER_OFFLINE".into(),
            protocol_version: None,
            tls: None,
        }
    }
}

impl SimConfig {
    /// Reads settings from JSON (`{}` or empty gives the defaults).
    pub fn from_json(text: &str) -> Result<Self, SimError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(text).map_err(|e| SimError::Invalid(e.to_string()))
    }

    /// The defaults with a second listener (side B) on another free loopback port.
    pub fn duplex() -> Self {
        SimConfig {
            bind_b: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            ..Self::default()
        }
    }
}

/// A call offered to the simulated peripheral.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SimCall {
    /// Agent to deliver the call to (default: routing picks one).
    pub agent_id: Option<String>,
    /// Skill group to queue on (default: from the dialed number, else any agent).
    pub skill_group: Option<u32>,
    /// Caller number.
    pub ani: String,
    /// Dialed number identification.
    pub dnis: String,
    /// Digits the caller entered in the IVR.
    pub caller_entered_digits: Option<String>,
    /// CallVariable1..10 (missing entries are not sent).
    pub call_variables: Vec<String>,
    /// Expanded call variables as (name, value).
    pub named_variables: Vec<(String, String)>,
    /// Expanded call arrays as (name, index, value).
    pub named_arrays: Vec<(String, u8, String)>,
    /// The ringing agent answers after this many milliseconds (overrides
    /// `SimConfig::auto_answer_ms`).
    pub answer_after_ms: Option<u64>,
    /// The caller hangs up this many milliseconds after the call is answered.
    pub talk_ms: Option<u64>,
    /// A name scenario steps use to refer to the call.
    pub name: Option<String>,
}

impl SimCall {
    /// Reads a call from JSON, e.g. `{"ani":"5551234","dnis":"8000","call_variables":["a"]}`.
    pub fn from_json(text: &str) -> Result<Self, SimError> {
        serde_json::from_str(text).map_err(|e| SimError::Invalid(e.to_string()))
    }

    pub(crate) fn check(&self) -> Result<(), SimError> {
        if self.call_variables.len() > 10 {
            return Err(SimError::Invalid("at most 10 call variables".into()));
        }
        Ok(())
    }
}

/// Call context a scripted update sets (absent items are unchanged).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SimCallData {
    /// New ANI.
    pub ani: Option<String>,
    /// CallVariable1..10 by position; `null` entries are unchanged.
    pub call_variables: Vec<Option<String>>,
    /// Named variables to set.
    pub named_variables: Vec<(String, String)>,
    /// Wrap-up data.
    pub wrapup: Option<String>,
}
