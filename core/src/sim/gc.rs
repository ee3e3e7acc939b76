//! A Generic Connector simulator that sits on a broker like the real GC.
//!
//! It consumes the request queue (default `Connector1`), answers on each client's
//! destination topic, and plays the agent side of Finesse: Hello/Beat, Connect, Login,
//! state changes, calls (answer, hold, consult, transfer, conference, outbound
//! preview), reason codes, phonebooks and supervisor queries, in JSON or `#`-text.
//! Fault injection: errors, out-of-service, unanswered heartbeats (to trigger client
//! failover), `RE_LOGIN`, `RECONNECT` (O-023), `DESTINATION…RECONNECT` (O-026) and
//! `SESSION_INVALIDATED`. It reconnects to its broker after a broker restart.
//!
//! [`broker::StompBroker`] is a minimal in-memory broker to run it without ActiveMQ.

pub mod broker;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value as Json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::gc::command::{Command, Request};
use crate::gc::transport::{
    BrokerAddr, Destination, LinkEvent, LinkOptions, LinkSender, OutMessage, StompTransport,
    Transport, TransportError,
};

/// Simulator errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GcSimError {
    /// Bad configuration or control request.
    #[error("GC simulator: {0}")]
    Invalid(String),
    /// The broker could not be reached at start.
    #[error("GC simulator: {0}")]
    Broker(#[from] TransportError),
    /// The simulator is not linked to its broker right now.
    #[error("GC simulator: not connected to the broker")]
    NotConnected,
}

/// Output format of the simulated GC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SimFormat {
    /// JSON events (where the data sheet documents a JSON form).
    Json,
    /// `#`-delimited text (new formats).
    Text,
}

/// A simulated agent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimAgent {
    /// Login ID.
    pub id: String,
    /// Password.
    pub password: String,
    /// Extension (informational: any numeric extension is accepted at login).
    #[serde(default)]
    pub extension: String,
    /// First name.
    #[serde(default)]
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// Supervisor flag.
    #[serde(default)]
    pub supervisor: bool,
    /// Team ID.
    #[serde(default = "default_team")]
    pub team: String,
}

fn default_team() -> String {
    "1".into()
}

/// Simulator settings (JSON keys in snake_case).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcSimConfig {
    /// Broker `host:port`.
    pub broker: String,
    /// Broker login.
    #[serde(default)]
    pub login: Option<String>,
    /// Broker passcode.
    #[serde(default)]
    pub passcode: Option<String>,
    /// Request queue (default `Connector1`).
    #[serde(default = "default_queue")]
    pub request_queue: String,
    /// Output format (default JSON).
    #[serde(default = "default_format")]
    pub format: SimFormat,
    /// Agents (default: 1001/1002 with password "secret", supervisor 9001; team 1).
    #[serde(default = "default_agents")]
    pub agents: Vec<SimAgent>,
    /// Not-ready reason codes `[code, label]`.
    #[serde(default = "default_not_ready")]
    pub not_ready_codes: Vec<(String, String)>,
    /// Logout reason codes.
    #[serde(default = "default_logout")]
    pub logout_codes: Vec<(String, String)>,
    /// Wrap-up reason codes.
    #[serde(default = "default_wrapup")]
    pub wrapup_codes: Vec<(String, String)>,
}

fn default_queue() -> String {
    "Connector1".into()
}
fn default_format() -> SimFormat {
    SimFormat::Json
}
fn agent(id: &str, first: &str, last: &str, ext: &str, sup: bool) -> SimAgent {
    SimAgent {
        id: id.into(),
        password: "secret".into(),
        extension: ext.into(),
        first_name: first.into(),
        last_name: last.into(),
        supervisor: sup,
        team: "1".into(),
    }
}
fn default_agents() -> Vec<SimAgent> {
    vec![
        agent("1001", "Alice", "Agent", "4001", false),
        agent("1002", "Bob", "Agent", "4002", false),
        agent("9001", "Sue", "Supervisor", "4009", true),
    ]
}
fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| ((*a).into(), (*b).into())).collect()
}
fn default_not_ready() -> Vec<(String, String)> {
    pairs(&[("1", "Lunch"), ("2", "Break"), ("3", "Meeting")])
}
fn default_logout() -> Vec<(String, String)> {
    pairs(&[("10", "End of shift")])
}
fn default_wrapup() -> Vec<(String, String)> {
    pairs(&[("1", "Complaint"), ("2", "Inquiry New")])
}

impl GcSimConfig {
    /// Defaults for a broker address.
    pub fn new(broker: impl Into<String>) -> Self {
        GcSimConfig {
            broker: broker.into(),
            login: None,
            passcode: None,
            request_queue: default_queue(),
            format: default_format(),
            agents: default_agents(),
            not_ready_codes: default_not_ready(),
            logout_codes: default_logout(),
            wrapup_codes: default_wrapup(),
        }
    }

    /// Parses a JSON configuration (`broker` required).
    pub fn from_json(text: &str) -> Result<Self, GcSimError> {
        serde_json::from_str(text).map_err(|e| GcSimError::Invalid(format!("config: {e}")))
    }
}

#[derive(Debug, Clone)]
struct AgentRt {
    cfg: SimAgent,
    destination: Option<String>,
    extension: String,
    logged_in: bool,
    state: String,
    reason: String,
    forgotten: bool,
    reconnect_next: bool,
    fail_next: Option<String>,
    team_subscriptions: Vec<String>,
}

#[derive(Debug, Clone)]
struct Dialog {
    id: String,
    agent: String,
    state: String,
    from: String,
    to: String,
    vars: Vec<(String, String)>,
    start: String,
    consult_of: Option<String>,
    participants: Vec<String>,
    preview: bool,
}

struct SimState {
    cfg: GcSimConfig,
    format: SimFormat,
    in_service: bool,
    answer_heartbeats: bool,
    agents: HashMap<String, AgentRt>,
    dialogs: HashMap<String, Dialog>,
    next_dialog: u64,
    requests: VecDeque<Request>,
    link: Option<LinkSender>,
    heartbeats_unanswered: u64,
}

const REQUEST_LOG: usize = 1000;

fn now_string() -> String {
    // Simulated Finesse time: seconds since the epoch rendered as yyyy-MM-dd HH:mm:ss (UTC).
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (H. Hinnant), for a readable timestamp without a date crate.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// One message to publish: topic, body, JMSType.
type Out = (String, String, String);

impl SimState {
    fn full_name(&self, agent: &str) -> String {
        self.agents
            .get(agent)
            .map(|a| format!("{} {}", a.cfg.first_name, a.cfg.last_name))
            .unwrap_or_default()
    }

    fn dest(&self, agent: &str) -> Option<String> {
        self.agents.get(agent).and_then(|a| a.destination.clone())
    }

    fn to_agent(&self, out: &mut Vec<Out>, agent: &str, body: String) {
        if let Some(d) = self.dest(agent) {
            out.push((d, body, String::new()));
        }
    }

    fn json_mode(&self) -> bool {
        self.format == SimFormat::Json
    }

    fn error(&self, out: &mut Vec<Out>, agent: &str, code: &str) {
        // No JSON form is documented for errors: always text (O-002).
        self.to_agent(out, agent, format!("{agent}#Error#{code}"));
    }

    fn state_event(&self, out: &mut Vec<Out>, agent: &str) {
        let Some(a) = self.agents.get(agent) else {
            return;
        };
        let body = if self.json_mode() {
            json!({"type": "State", "agentId": agent, "state": a.state, "reasonCode": a.reason,
                   "stateChangeTimeString": "", "pendingState": "", "stateChangeTime": now_string()})
            .to_string()
        } else {
            format!(
                "{agent}#State#{}#{}#{}",
                a.state,
                a.reason,
                self.full_name(agent)
            )
        };
        self.to_agent(out, agent, body);
        // Supervisors subscribed to this agent's team.
        let team = a.cfg.team.clone();
        let state = a.state.clone();
        for (sup, s) in &self.agents {
            if s.team_subscriptions.contains(&team) {
                if let Some(d) = &s.destination {
                    out.push((
                        d.clone(),
                        format!("{sup}#TeamMemberStateChanged#{team}#{state}#{agent}"),
                        String::new(),
                    ));
                }
            }
        }
    }

    fn set_state(&mut self, out: &mut Vec<Out>, agent: &str, state: &str, reason: &str) {
        if let Some(a) = self.agents.get_mut(agent) {
            a.state = state.into();
            a.reason = reason.into();
        }
        self.state_event(out, agent);
    }

    fn agent_info(&self, out: &mut Vec<Out>, agent: &str) {
        let Some(a) = self.agents.get(agent) else {
            return;
        };
        let c = &a.cfg;
        let body = if self.json_mode() {
            let teams: Vec<Json> = if c.supervisor {
                vec![json!({"id": c.team, "name": format!("Team {}", c.team)})]
            } else {
                vec![]
            };
            json!({"type": "AgentInfo", "firstName": c.first_name, "lastName": c.last_name,
                   "supervisor": c.supervisor, "wrapUpOnIncoming": "OPTIONAL", "teams": teams,
                   "team": {"id": c.team, "name": format!("Team {}", c.team)}, "agentId": agent})
            .to_string()
        } else {
            format!(
                "{agent}#AgentInfo#{}#{}#{}#OPTIONAL#{}",
                c.first_name,
                c.last_name,
                c.supervisor,
                self.full_name(agent)
            )
        };
        self.to_agent(out, agent, body);
    }

    /// `callVariables` as the documented samples show it: `callVariable1` ..
    /// `callVariable10` always (empty when unset), then other variables (e.g. `BA*`),
    /// then `ani`.
    fn vars_json(d: &Dialog) -> Json {
        let get = |k: &str| d.vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let mut v: Vec<Json> = (1..=10)
            .map(|i| {
                let k = format!("callVariable{i}");
                let val = get(&k).unwrap_or("");
                json!({ k: val })
            })
            .collect();
        let numbered = |k: &str| {
            k.strip_prefix("callVariable")
                .and_then(|n| n.parse::<u8>().ok())
                .is_some_and(|n| (1..=10).contains(&n))
        };
        v.extend(
            d.vars
                .iter()
                .filter(|(k, _)| !numbered(k))
                .map(|(k, v)| json!({ k.clone(): v })),
        );
        v.push(json!({"ani": d.from}));
        Json::Array(v)
    }

    /// The dialog associated with `d` during a consult: its original call, or its
    /// active consult leg.
    fn associated(&self, d: &Dialog) -> Option<&Dialog> {
        match &d.consult_of {
            Some(orig) => self.dialogs.get(orig),
            None => self
                .dialogs
                .values()
                .find(|x| x.consult_of.as_deref() == Some(d.id.as_str()) && x.state != "DROPPED"),
        }
    }

    fn vars_text(d: &Dialog) -> String {
        d.vars
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("|")
    }

    fn participants_json(&self, d: &Dialog) -> Json {
        Json::Array(
            d.participants
                .iter()
                .map(|p| {
                    let agent_device = self.agents.values().any(|a| &a.extension == p);
                    json!({"mediaAddress": p, "state": d.state,
                           "addressType": if agent_device { "AGENT_DEVICE" } else { "" }})
                })
                .collect(),
        )
    }

    fn call_event(&self, out: &mut Vec<Out>, d: &Dialog) {
        let agent = &d.agent;
        let ended = d.state == "DROPPED";
        let body = if d.consult_of.is_some() {
            if self.json_mode() {
                json!({"type": "ConsultCall", "state": d.state, "assDialogId": d.id,
                       "fromAddress": d.from, "toAddress": d.to, "startTime": d.start,
                       "callVariables": Self::vars_json(d), "participants": self.participants_json(d),
                       "agentId": agent})
                .to_string()
            } else {
                let st = if ended { "DROP" } else { d.state.as_str() };
                format!(
                    "{agent}#ConsultCall#{st}#AssDialogID:{}#{}#{}#{}#{}",
                    d.id,
                    d.from,
                    Self::vars_text(d),
                    d.start,
                    self.full_name(agent)
                )
            }
        } else if self.json_mode() {
            if ended {
                json!({"type": "InboundCall", "dialogId": d.id, "prevDialogId": null,
                       "state": "DROPPED", "agentId": agent})
                .to_string()
            } else {
                json!({"type": "InboundCall", "dialogId": d.id, "state": d.state,
                       "startTime": d.start, "prevDialogId": null, "fromAddress": d.from,
                       "callVariables": Self::vars_json(d), "participants": self.participants_json(d),
                       "agentId": agent})
                .to_string()
            }
        } else if ended {
            format!(
                "{agent}#InboundCall#DROP#DialogID:{}#{}",
                d.id,
                self.full_name(agent)
            )
        } else {
            format!(
                "{agent}#InboundCall#{}#DialogID:{}#{}#{}#{}#{}",
                d.state,
                d.id,
                d.from,
                Self::vars_text(d),
                d.start,
                self.full_name(agent)
            )
        };
        self.to_agent(out, agent, body);
    }

    fn new_call_event(&self, out: &mut Vec<Out>, d: &Dialog) {
        let agent = &d.agent;
        let (jtype, ttype) = if d.preview {
            ("NewOutboundPreviewCall", "NewOutboundPreviewCall")
        } else {
            ("NewInboundCall", "NewInboundCall")
        };
        let body = if self.json_mode() {
            let mut j = json!({"type": jtype, "dialogId": d.id, "fromAddress": d.from,
                               "callVariables": Self::vars_json(d), "agentId": agent});
            if d.preview {
                j["calltype"] = "OUTBOUND_PREVIEW".into();
            }
            j.to_string()
        } else {
            let vars = Self::vars_text(d);
            let sep = if vars.is_empty() { "" } else { "|" };
            let ani = if d.preview {
                format!("ani={}", d.to)
            } else {
                d.from.clone()
            };
            format!(
                "{agent}#{ttype}#{}#{ani}{sep}{vars}#DialogID:{}",
                d.from, d.id
            )
        };
        self.to_agent(out, agent, body);
    }

    fn new_dialog(&mut self, agent: &str, from: &str, to: &str, state: &str) -> Dialog {
        self.next_dialog += 1;
        let d = Dialog {
            id: format!("{}", 16_871_252 + self.next_dialog),
            agent: agent.into(),
            state: state.into(),
            from: from.into(),
            to: to.into(),
            vars: Vec::new(),
            start: now_string(),
            consult_of: None,
            participants: vec![from.into(), to.into()],
            preview: false,
        };
        self.dialogs.insert(d.id.clone(), d.clone());
        d
    }

    fn update_dialog(&mut self, out: &mut Vec<Out>, id: &str, state: &str) {
        let Some(d) = self.dialogs.get_mut(id) else {
            return;
        };
        d.state = state.into();
        let d = d.clone();
        if state == "DROPPED" {
            self.dialogs.remove(id);
        }
        self.call_event(out, &d);
    }

    fn agent_dialog(&self, agent: &str, id: &str) -> Option<Dialog> {
        self.dialogs.get(id).filter(|d| d.agent == agent).cloned()
    }

    fn after_call(&mut self, out: &mut Vec<Out>, agent: &str) {
        if !self.dialogs.values().any(|d| d.agent == agent) {
            self.set_state(out, agent, "READY", "");
        }
    }

    fn reason_codes(&self, out: &mut Vec<Out>, agent: &str, category: &str) {
        let codes = match category {
            "LOGOUT" => &self.cfg.logout_codes,
            "NOT_READY" => &self.cfg.not_ready_codes,
            _ => &self.cfg.wrapup_codes,
        };
        let body = if self.json_mode() {
            let list: Vec<Json> = codes.iter().map(|(c, l)| json!({ c.clone(): l })).collect();
            json!({"type": "ReasonCodes", "category": category, "reasonCodes": list, "agentId": agent})
                .to_string()
        } else {
            let c: Vec<&str> = codes.iter().map(|(c, _)| c.as_str()).collect();
            let l: Vec<&str> = codes.iter().map(|(_, l)| l.as_str()).collect();
            format!(
                "{agent}#ReasonCodes#Category:{category}#Codes:{}#Labels:{}#{}",
                c.join(","),
                l.join(","),
                self.full_name(agent)
            )
        };
        self.to_agent(out, agent, body);
    }

    fn users(&self, out: &mut Vec<Out>, agent: &str, team: Option<&str>) {
        let mut members: Vec<&AgentRt> = self
            .agents
            .values()
            .filter(|a| team.is_none_or(|t| a.cfg.team == t))
            .filter(|a| team.is_some() || a.logged_in)
            .collect();
        members.sort_by(|a, b| a.cfg.id.cmp(&b.cfg.id));
        let body = if self.json_mode() {
            let users: Vec<Json> = members
                .iter()
                .map(|a| {
                    json!({"firstName": a.cfg.first_name, "lastName": a.cfg.last_name,
                                "extension": a.extension, "loginId": a.cfg.id, "state": a.state})
                })
                .collect();
            json!([{"type": "Agents", "users": users}]).to_string()
        } else {
            let recs: Vec<String> = members
                .iter()
                .map(|a| {
                    format!(
                        "FirstName:{},LastName:{},Extension:{},LoginID:{},State:{},PendingState:,MediaType:1,StateChangeTime:{}",
                        a.cfg.first_name, a.cfg.last_name, a.extension, a.cfg.id, a.state, now_string()
                    )
                })
                .collect();
            format!("{agent}#TeamUsersList#{}", recs.join("#"))
        };
        self.to_agent(out, agent, body);
    }

    fn phonebooks(&self, out: &mut Vec<Out>, agent: &str, team: bool) {
        let books: Vec<(&str, &str, &str)> = if team {
            vec![("Team Book", "TEAM", "2")]
        } else {
            vec![("Global Book", "GLOBAL", "1"), ("Team Book", "TEAM", "2")]
        };
        let body = if self.json_mode() {
            let list: Vec<Json> = books
                .iter()
                .map(|(n, _, id)| json!({"name": n, "id": id}))
                .collect();
            json!([{"type": "Phonebooks", "phonebooks": list}]).to_string()
        } else {
            let recs: Vec<String> = books
                .iter()
                .map(|(n, t, id)| format!("name:{n},type:{t},id:{id}"))
                .collect();
            let head = if team { "TeamPhoneBooks" } else { "Phonebooks" };
            format!("{head}#{}", recs.join("#"))
        };
        self.to_agent(out, agent, body);
    }

    fn contacts(&self, out: &mut Vec<Out>, agent: &str, book: &str) {
        let contacts = [
            ("Carol", "Customer", "5550101", "11"),
            ("Dan", "Dealer", "5550102", "12"),
        ];
        let body = if self.json_mode() {
            let list: Vec<Json> = contacts
                .iter()
                .map(|(f, l, p, id)| json!({"firstName": f, "lastName": l, "phoneNumber": p, "contactId": id}))
                .collect();
            json!([{"type": "PhonebookContacts", "phonebookId": book, "contacts": list}])
                .to_string()
        } else {
            let recs: Vec<String> = contacts
                .iter()
                .map(|(f, l, p, id)| {
                    format!(
                        "description:{f} {l},firstName:{f},lastName:{l},phoneNumber:{p},id:{id}"
                    )
                })
                .collect();
            format!("PhonebookContacts#{}", recs.join("#"))
        };
        self.to_agent(out, agent, body);
    }

    /// Handles one request; returns what to publish.
    fn handle(&mut self, req: Request) -> Vec<Out> {
        let mut out = Vec::new();
        if self.requests.len() >= REQUEST_LOG {
            self.requests.pop_front();
        }
        self.requests.push_back(req.clone());
        let Some((key, cmd)) = Command::decode(&req) else {
            return out;
        };
        match &cmd {
            Command::Hello | Command::Beat => {
                if self.answer_heartbeats {
                    let status = if self.in_service {
                        "IN_SERVICE"
                    } else {
                        "OUT_OF_SERVICE"
                    };
                    let body = if self.json_mode() {
                        json!({"type": "System", "status": status}).to_string()
                    } else {
                        format!("System#{status}")
                    };
                    out.push((key, body, String::new()));
                } else {
                    self.heartbeats_unanswered += 1;
                }
                return out;
            }
            Command::Connect { destination, .. } => {
                let Some(a) = self.agents.get_mut(&key) else {
                    return out;
                };
                let old = a.destination.replace(destination.clone());
                let was_logged_in = a.logged_in;
                if let Some(old) = old.filter(|o| o != destination && was_logged_in) {
                    // Logged in elsewhere: the old destination loses the session.
                    let name = self.full_name(&key);
                    out.push((
                        old.clone(),
                        format!("{key}#State#LOGOUT##{name}"),
                        String::new(),
                    ));
                    out.push((
                        old,
                        format!("{key}#Error#SESSION_INVALIDATED"),
                        String::new(),
                    ));
                }
                return out;
            }
            _ => {}
        }
        let Some(a) = self.agents.get_mut(&key) else {
            // Unknown agent: nobody to answer (no destination).
            return out;
        };
        if let Some(code) = a.fail_next.take() {
            self.error(&mut out, &key, &code);
            return out;
        }
        if a.reconnect_next {
            a.reconnect_next = false;
            if let Some(d) = a.destination.clone() {
                out.push((
                    d,
                    format!("{key}#RECONNECT#{}", req.body),
                    req.jms_type.clone(),
                ));
            }
            return out;
        }
        let is_login = matches!(
            cmd,
            Command::Login { .. } | Command::MobileAgentLogin { .. }
        );
        if a.forgotten && !is_login {
            // This GC does not know the agent (never logged in here, or lost after an
            // abnormal failover): O-007.
            self.to_agent(&mut out, &key, format!("{key}#State#RE_LOGIN"));
            return out;
        }
        let read_only = matches!(cmd, Command::GetState | Command::Refresh);
        if !is_login && !a.logged_in && !read_only {
            self.error(&mut out, &key, "CF_INVALID_OBJECT_STATE");
            return out;
        }
        self.command(&mut out, &key, cmd);
        out
    }

    fn command(&mut self, out: &mut Vec<Out>, agent: &str, cmd: Command) {
        use Command::*;
        match cmd {
            Login {
                password,
                extension,
            }
            | MobileAgentLogin {
                password,
                extension,
                ..
            } => {
                let expected = self.agents.get(agent).map(|a| a.cfg.password.clone());
                if password.is_empty() {
                    return self.error(out, agent, "MISSING_PASSWORD");
                }
                if expected.as_deref() != Some(password.expose()) {
                    return self.error(out, agent, "SUBSCRIPTION_FAILED");
                }
                if extension.is_empty() {
                    return self.error(out, agent, "MISSING_EXTENSION");
                }
                if !extension.chars().all(|c| c.is_ascii_digit()) {
                    return self.error(out, agent, "WRONG_EXTENSION");
                }
                if let Some(a) = self.agents.get_mut(agent) {
                    a.logged_in = true;
                    a.forgotten = false;
                    a.extension = extension;
                }
                self.set_state(out, agent, "NOT_READY", "");
                self.agent_info(out, agent);
            }
            Logout | ForceLogout => self.logout(out, agent, ""),
            LogoutWithReason { reason_code } => {
                if reason_code.is_empty() {
                    return self.error(out, agent, "MISSING_REASON_CODE");
                }
                self.logout(out, agent, &reason_code);
            }
            MakeReady => self.change_state(out, agent, "READY", ""),
            MakeNotReady => self.change_state(out, agent, "NOT_READY", ""),
            MakeNotReadyWithReason { reason_code } => {
                if reason_code.is_empty() {
                    return self.error(out, agent, "MISSING_REASON_CODE");
                }
                self.change_state(out, agent, "NOT_READY", &reason_code);
            }
            MakeWorkNotReady => self.change_state(out, agent, "WORK", ""),
            MakeWorkReady => self.change_state(out, agent, "WORK_READY", ""),
            GetState | Refresh => self.state_event(out, agent),
            ReasonCodesLogout => self.reason_codes(out, agent, "LOGOUT"),
            ReasonCodesNotReady => self.reason_codes(out, agent, "NOT_READY"),
            WrapUpReasonCodes => self.reason_codes(out, agent, "WrapUp"),
            MakeCall { number } => {
                if number.is_empty() {
                    return self.error(out, agent, "MISSING_NUMBER");
                }
                if !number.chars().all(|c| c.is_ascii_digit() || c == '+') {
                    return self.error(out, agent, "BAD_DESTINATION");
                }
                let ext = self
                    .agents
                    .get(agent)
                    .map(|a| a.extension.clone())
                    .unwrap_or_default();
                let d = self.new_dialog(agent, &ext, &number, "INITIATED");
                self.call_event(out, &d);
                self.update_dialog(out, &d.id, "ACTIVE");
                self.set_state(out, agent, "TALKING", "");
            }
            AnswerCall { dialog_id } => match self.agent_dialog(agent, &dialog_id) {
                Some(d) if d.state == "ALERTING" => {
                    self.update_dialog(out, &d.id, "ACTIVE");
                    self.set_state(out, agent, "TALKING", "");
                }
                _ => self.error(out, agent, "NO_DIALOG_ID"),
            },
            HoldCall { dialog_id } => match self.agent_dialog(agent, &dialog_id) {
                Some(d) if d.state == "ACTIVE" => {
                    self.update_dialog(out, &d.id, "HELD");
                    self.set_state(out, agent, "HOLD", "");
                }
                Some(_) => self.error(out, agent, "CF_INVALID_OBJECT_STATE"),
                None => self.error(out, agent, "NO_DIALOG_ID"),
            },
            RetrieveCall { dialog_id } => match self.agent_dialog(agent, &dialog_id) {
                Some(d) if d.state == "HELD" => {
                    self.update_dialog(out, &d.id, "ACTIVE");
                    self.set_state(out, agent, "TALKING", "");
                }
                Some(_) => self.error(out, agent, "CF_INVALID_OBJECT_STATE"),
                None => self.error(out, agent, "NO_DIALOG_ID"),
            },
            ReleaseCall { dialog_id } => match self.agent_dialog(agent, &dialog_id) {
                Some(d) => {
                    self.update_dialog(out, &d.id, "DROPPED");
                    if let Some(orig) = d.consult_of {
                        // Releasing the consult leg: the original call stays held.
                        if self.dialogs.contains_key(&orig) {
                            return;
                        }
                    }
                    // Releasing a call also ends its consult legs.
                    let legs: Vec<String> = self
                        .dialogs
                        .values()
                        .filter(|x| x.consult_of.as_deref() == Some(d.id.as_str()))
                        .map(|x| x.id.clone())
                        .collect();
                    for l in legs {
                        self.update_dialog(out, &l, "DROPPED");
                    }
                    self.after_call(out, agent);
                }
                None => self.error(out, agent, "NO_DIALOG_ID"),
            },
            SingleStepTransfer { number, dialog_id } => {
                match self.agent_dialog(agent, &dialog_id) {
                    Some(_) if number.is_empty() => self.error(out, agent, "MISSING_NUMBER"),
                    Some(d) => {
                        self.update_dialog(out, &d.id, "DROPPED");
                        self.after_call(out, agent);
                    }
                    None => self.error(out, agent, "NO_DIALOG_ID"),
                }
            }
            ConsultCall { number, dialog_id } => match self.agent_dialog(agent, &dialog_id) {
                Some(_) if number.is_empty() => self.error(out, agent, "MISSING_NUMBER"),
                Some(d) if d.state == "ACTIVE" || d.state == "HELD" => {
                    if d.state == "ACTIVE" {
                        self.update_dialog(out, &d.id, "HELD");
                    }
                    let ext = self
                        .agents
                        .get(agent)
                        .map(|a| a.extension.clone())
                        .unwrap_or_default();
                    let mut c = self.new_dialog(agent, &ext, &number, "INITIATED");
                    c.consult_of = Some(d.id.clone());
                    c.vars = d.vars.clone();
                    self.dialogs.insert(c.id.clone(), c.clone());
                    self.call_event(out, &c);
                    self.update_dialog(out, &c.id, "ACTIVE");
                    self.set_state(out, agent, "TALKING", "");
                }
                Some(_) => self.error(out, agent, "CF_INVALID_OBJECT_STATE"),
                None => self.error(out, agent, "NO_DIALOG_ID"),
            },
            TransferCall { target, dialog_id } => {
                self.complete_consult(out, agent, target, &dialog_id, false)
            }
            ConferenceCall { target, dialog_id } => {
                self.complete_consult(out, agent, target, &dialog_id, true)
            }
            GetDialogState { dialog_id } => {
                let d = self.agent_dialog(agent, &dialog_id);
                let state = d
                    .as_ref()
                    .map_or("NOT_FOUND".to_owned(), |d| d.state.clone());
                let body = if self.json_mode() {
                    json!({"type": "DialogState", "dialogId": dialog_id, "state": state, "agentId": agent})
                        .to_string()
                } else {
                    let (from, vars) = d
                        .as_ref()
                        .map(|d| (d.from.clone(), Self::vars_text(d)))
                        .unwrap_or_default();
                    // O-014: during a consult, the associated dialog follows:
                    // #<associated_dialog_ID>#AssDialogState#<fromAddress>#<Call-Variables>
                    let assoc = d
                        .as_ref()
                        .and_then(|d| self.associated(d))
                        .map_or(String::new(), |a| {
                            format!("#{}#{}#{}#{}", a.id, a.state, a.from, Self::vars_text(a))
                        });
                    format!(
                        "{agent}#DialogState#{state}#{dialog_id}#{}#{from}#{vars}{assoc}",
                        self.full_name(agent)
                    )
                };
                self.to_agent(out, agent, body);
            }
            GetDialogStateControls { dialog_id } => {
                let d = self.agent_dialog(agent, &dialog_id);
                let state = d
                    .as_ref()
                    .map_or("NOT_FOUND".to_owned(), |d| d.state.clone());
                let kind = match d {
                    Some(d) if d.consult_of.is_some() => "CONSULT",
                    _ => "INBOUND",
                };
                let body = format!(
                    "{agent}#{kind}#DialogState#{state}#{dialog_id}#{}",
                    self.full_name(agent)
                );
                self.to_agent(out, agent, body);
            }
            UpdateCallVariable {
                dialog_id,
                name,
                value,
            } => match self
                .dialogs
                .get_mut(&dialog_id)
                .filter(|d| d.agent == agent)
            {
                Some(d) => {
                    match d.vars.iter_mut().find(|(k, _)| *k == name) {
                        Some(v) => v.1 = value,
                        None => d.vars.push((name, value)),
                    }
                    let d = d.clone();
                    self.call_event(out, &d);
                }
                None => self.error(out, agent, "NO_DIALOG_ID"),
            },
            AcceptOutboundPreview { dialog_id } => match self.agent_dialog(agent, &dialog_id) {
                Some(d) if d.preview => {
                    self.update_dialog(out, &d.id, "ACTIVE");
                    self.set_state(out, agent, "TALKING", "");
                }
                _ => self.error(out, agent, "NO_DIALOG_ID"),
            },
            RejectOutboundPreview { dialog_id } | CloseOutboundPreview { dialog_id } => {
                match self.agent_dialog(agent, &dialog_id) {
                    Some(d) if d.preview => {
                        self.update_dialog(out, &d.id, "DROPPED");
                        self.after_call(out, agent);
                    }
                    _ => self.error(out, agent, "NO_DIALOG_ID"),
                }
            }
            GetAllAgents => self.users(out, agent, None),
            GetTeamUsers { team_id, subscribe } => {
                if subscribe {
                    if let Some(a) = self.agents.get_mut(agent) {
                        if !a.team_subscriptions.contains(&team_id) {
                            a.team_subscriptions.push(team_id.clone());
                        }
                    }
                }
                self.users(out, agent, Some(&team_id));
            }
            GetTeamUserState { member_id } => {
                if let Some(m) = self.agents.get(&member_id) {
                    let body = format!(
                        "{agent}#TeamMemberStateChanged#{}#{}#{member_id}",
                        m.cfg.team, m.state
                    );
                    self.to_agent(out, agent, body);
                }
            }
            GetQueueList => {
                let waiting = self
                    .dialogs
                    .values()
                    .filter(|d| d.state == "ALERTING")
                    .count();
                let ready = self.agents.values().filter(|a| a.state == "READY").count();
                let nr = self
                    .agents
                    .values()
                    .filter(|a| a.state == "NOT_READY")
                    .count();
                let talking = self
                    .agents
                    .values()
                    .filter(|a| a.state == "TALKING")
                    .count();
                let body = format!(
                    "{agent}#QueueList#QueueName:Sales,AgentsNotReady:{nr},AgentsReady:{ready},AgentsTalkingInbound:{talking},AgentsTalkingInternal:0,AgentsTalkingOutbound:0,AgentsWrapUpNotReady:0,AgentsWrapUpReady:0,CallsInQueue:{waiting},StartTimeOfLongestCallInQueue:{}",
                    now_string()
                );
                self.to_agent(out, agent, body);
            }
            DropParticipant {
                extension,
                dialog_id,
            } => match self.dialogs.get_mut(&dialog_id) {
                Some(d) => {
                    d.participants.retain(|p| *p != extension);
                    let list = d.participants.join(",");
                    self.to_agent(out, agent, format!("{agent}#ConferenceParticipants#{list}"));
                }
                None => self.error(out, agent, "NO_DIALOG_ID"),
            },
            GetPhonebooks => self.phonebooks(out, agent, false),
            GetTeamPhonebooks => self.phonebooks(out, agent, true),
            GetPhonebookContacts { phonebook_id } => self.contacts(out, agent, &phonebook_id),
            // No documented reply.
            WrapUp { .. }
            | GetDialogParticipants { .. }
            | ZoomPauseRecording
            | ZoomResumeRecording
            | SilentMonitor { .. }
            | EndSilentMonitor { .. }
            | BargeIn { .. }
            | Hello
            | Beat
            | Connect { .. } => {}
        }
    }

    /// TransferCall / Conferencecall: ends the consult leg, then drops the call from this
    /// agent (transfer) or joins the consulted party (conference).
    fn complete_consult(
        &mut self,
        out: &mut Vec<Out>,
        agent: &str,
        target: Option<String>,
        dialog_id: &str,
        conference: bool,
    ) {
        let Some(d) = self.agent_dialog(agent, dialog_id) else {
            return self.error(out, agent, "NO_DIALOG_ID");
        };
        let leg = self
            .dialogs
            .values()
            .find(|x| x.consult_of.as_deref() == Some(d.id.as_str()))
            .cloned();
        let Some(leg) = leg else {
            return self.error(out, agent, "CF_INVALID_OBJECT_STATE");
        };
        self.update_dialog(out, &leg.id, "DROPPED");
        if conference {
            if let Some(x) = self.dialogs.get_mut(&d.id) {
                x.state = "ACTIVE".into();
                let t = target.unwrap_or(leg.to.clone());
                if !x.participants.contains(&t) {
                    x.participants.push(t);
                }
            }
            if let Some(x) = self.dialogs.get(&d.id).cloned() {
                self.call_event(out, &x);
            }
            self.set_state(out, agent, "TALKING", "");
        } else {
            self.update_dialog(out, &d.id, "DROPPED");
            self.after_call(out, agent);
        }
    }

    fn change_state(&mut self, out: &mut Vec<Out>, agent: &str, state: &str, reason: &str) {
        if self.dialogs.values().any(|d| d.agent == agent) {
            return self.error(out, agent, "CF_INVALID_OBJECT_STATE");
        }
        self.set_state(out, agent, state, reason);
    }

    fn logout(&mut self, out: &mut Vec<Out>, agent: &str, reason: &str) {
        if let Some(a) = self.agents.get_mut(agent) {
            a.logged_in = false;
        }
        self.set_state(out, agent, "LOGOUT", reason);
    }
}

/// A running GC simulator.
pub struct GcSimulator {
    state: Arc<Mutex<SimState>>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    linked: watch::Receiver<bool>,
}

fn lock(s: &Mutex<SimState>) -> MutexGuard<'_, SimState> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

impl GcSimulator {
    /// Connects to the broker (failing if it is unreachable now) and starts serving.
    pub async fn start(cfg: GcSimConfig) -> Result<Self, GcSimError> {
        if cfg.agents.iter().any(|a| a.id.is_empty()) {
            return Err(GcSimError::Invalid("agent IDs must not be empty".into()));
        }
        let transport = StompTransport::new(LinkOptions {
            heartbeat: Duration::from_secs(2),
            ..LinkOptions::default()
        });
        let broker = BrokerAddr {
            addr: cfg.broker.clone(),
            login: cfg.login.clone(),
            passcode: cfg.passcode.clone().map(crate::ece::Secret::new),
        };
        let subs = vec![Destination::Queue(cfg.request_queue.clone())];
        let first = transport.connect(&broker, &subs).await?;
        let agents = cfg
            .agents
            .iter()
            .map(|a| {
                (
                    a.id.clone(),
                    AgentRt {
                        cfg: a.clone(),
                        destination: None,
                        extension: a.extension.clone(),
                        logged_in: false,
                        state: "LOGOUT".into(),
                        reason: String::new(),
                        forgotten: true,
                        reconnect_next: false,
                        fail_next: None,
                        team_subscriptions: Vec::new(),
                    },
                )
            })
            .collect();
        let state = Arc::new(Mutex::new(SimState {
            format: cfg.format,
            cfg,
            in_service: true,
            answer_heartbeats: true,
            agents,
            dialogs: HashMap::new(),
            next_dialog: 0,
            requests: VecDeque::new(),
            link: None,
            heartbeats_unanswered: 0,
        }));
        let (stop, stop_rx) = watch::channel(false);
        let (linked_tx, linked) = watch::channel(false);
        let task = tokio::spawn(serve(
            transport,
            broker,
            subs,
            first,
            state.clone(),
            stop_rx,
            linked_tx,
        ));
        Ok(GcSimulator {
            state,
            stop,
            task: Some(task),
            linked,
        })
    }

    /// Waits until the simulator is linked to its broker (after a broker restart).
    pub async fn wait_linked(&self, within: Duration) -> bool {
        let mut rx = self.linked.clone();
        tokio::time::timeout(within, rx.wait_for(|l| *l))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    fn publish(&self, st: &SimState, out: Vec<Out>) -> Result<(), GcSimError> {
        publish(st, out)
    }

    /// Plays an inbound call to a logged-in agent: NewInboundCall, then InboundCall
    /// ALERTING (agent RESERVED). Returns the dialog ID.
    pub fn inject_call(
        &self,
        agent_id: &str,
        from: &str,
        call_variables: &[(String, String)],
    ) -> Result<String, GcSimError> {
        let mut st = lock(&self.state);
        if !st.agents.get(agent_id).is_some_and(|a| a.logged_in) {
            return Err(GcSimError::Invalid(format!(
                "agent {agent_id} is not logged in"
            )));
        }
        let to = st
            .agents
            .get(agent_id)
            .map(|a| a.extension.clone())
            .unwrap_or_default();
        let mut d = st.new_dialog(agent_id, from, &to, "ALERTING");
        d.vars = call_variables.to_vec();
        st.dialogs.insert(d.id.clone(), d.clone());
        let mut out = Vec::new();
        st.new_call_event(&mut out, &d);
        st.call_event(&mut out, &d);
        st.set_state(&mut out, agent_id, "RESERVED", "");
        self.publish(&st, out)?;
        Ok(d.id)
    }

    /// Offers an outbound preview call (NewOutboundPreviewCall); returns the dialog ID.
    pub fn inject_preview_call(
        &self,
        agent_id: &str,
        number: &str,
        call_variables: &[(String, String)],
    ) -> Result<String, GcSimError> {
        let mut st = lock(&self.state);
        if !st.agents.get(agent_id).is_some_and(|a| a.logged_in) {
            return Err(GcSimError::Invalid(format!(
                "agent {agent_id} is not logged in"
            )));
        }
        let ext = st
            .agents
            .get(agent_id)
            .map(|a| a.extension.clone())
            .unwrap_or_default();
        let mut d = st.new_dialog(agent_id, &ext, number, "INITIATED");
        d.preview = true;
        d.vars = call_variables.to_vec();
        st.dialogs.insert(d.id.clone(), d.clone());
        let mut out = Vec::new();
        st.new_call_event(&mut out, &d);
        st.set_state(&mut out, agent_id, "RESERVED_OUTBOUND_PREVIEW", "");
        self.publish(&st, out)?;
        Ok(d.id)
    }

    /// Sends an O-002 error to the agent now.
    pub fn send_error(&self, agent_id: &str, code: &str) -> Result<(), GcSimError> {
        let st = lock(&self.state);
        let mut out = Vec::new();
        st.error(&mut out, agent_id, code);
        self.publish(&st, out)
    }

    /// The agent's next request is answered with this error instead.
    pub fn fail_next(&self, agent_id: &str, code: &str) -> Result<(), GcSimError> {
        self.with_agent(agent_id, |a| a.fail_next = Some(code.to_owned()))
    }

    /// GC "forgets" the agent (abnormal failover): its next request gets `RE_LOGIN`.
    pub fn forget_agent(&self, agent_id: &str) -> Result<(), GcSimError> {
        self.with_agent(agent_id, |a| {
            a.forgotten = true;
            a.logged_in = false;
        })
    }

    /// The agent's next request is echoed back as O-023 `RECONNECT`.
    pub fn reconnect_next(&self, agent_id: &str) -> Result<(), GcSimError> {
        self.with_agent(agent_id, |a| a.reconnect_next = true)
    }

    /// Publishes O-026 `DESTINATION#<destination>#RECONNECT` to that destination.
    pub fn destination_reconnect(&self, destination: &str) -> Result<(), GcSimError> {
        let st = lock(&self.state);
        publish(
            &st,
            vec![(
                destination.to_owned(),
                format!("DESTINATION#{destination}#RECONNECT"),
                String::new(),
            )],
        )
    }

    /// The agent logged in elsewhere: LOGOUT, then `SESSION_INVALIDATED`.
    pub fn invalidate_session(&self, agent_id: &str) -> Result<(), GcSimError> {
        let mut st = lock(&self.state);
        let mut out = Vec::new();
        if let Some(a) = st.agents.get_mut(agent_id) {
            a.logged_in = false;
            a.state = "LOGOUT".into();
        }
        st.to_agent(
            &mut out,
            agent_id,
            format!("{agent_id}#State#LOGOUT##{}", st.full_name(agent_id)),
        );
        st.error(&mut out, agent_id, "SESSION_INVALIDATED");
        self.publish(&st, out)
    }

    /// Publishes a raw message to a destination topic (fault injection).
    pub fn send_raw(
        &self,
        destination: &str,
        body: &str,
        jms_type: &str,
    ) -> Result<(), GcSimError> {
        let st = lock(&self.state);
        publish(
            &st,
            vec![(destination.to_owned(), body.to_owned(), jms_type.to_owned())],
        )
    }

    /// In service (`System#IN_SERVICE`) or not (`OUT_OF_SERVICE`).
    pub fn set_in_service(&self, on: bool) {
        lock(&self.state).in_service = on;
    }

    /// Answer Hello/Beat or not (simulates a dead GC behind a live broker).
    pub fn set_answer_heartbeats(&self, on: bool) {
        lock(&self.state).answer_heartbeats = on;
    }

    /// Hello/Beat requests left unanswered so far.
    pub fn unanswered_heartbeats(&self) -> u64 {
        lock(&self.state).heartbeats_unanswered
    }

    /// Switches the output format.
    pub fn set_format(&self, format: SimFormat) {
        lock(&self.state).format = format;
    }

    /// An agent's state (`LOGOUT`, `READY`, ...), `None` for an unknown agent.
    pub fn agent_state(&self, agent_id: &str) -> Option<String> {
        lock(&self.state)
            .agents
            .get(agent_id)
            .map(|a| a.state.clone())
    }

    /// The destination an agent is bound to.
    pub fn agent_destination(&self, agent_id: &str) -> Option<String> {
        lock(&self.state).dest(agent_id)
    }

    /// Requests received so far (the last 1000), oldest first.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.state).requests.iter().cloned().collect()
    }

    fn with_agent(&self, agent_id: &str, f: impl FnOnce(&mut AgentRt)) -> Result<(), GcSimError> {
        let mut st = lock(&self.state);
        let a = st
            .agents
            .get_mut(agent_id)
            .ok_or_else(|| GcSimError::Invalid(format!("unknown agent {agent_id}")))?;
        f(a);
        Ok(())
    }

    /// Performs a control action given as JSON (for the bindings):
    /// `{"action": "inject_call", "agent_id": "1001", "from": "5551234", "call_variables": {"k": "v"}}`,
    /// `inject_preview_call` (`number`), `send_error` / `fail_next` (`code`),
    /// `forget_agent`, `reconnect_next`, `invalidate_session` (`agent_id`),
    /// `destination_reconnect` (`destination`), `send_raw` (`destination`, `body`, `jms_type`),
    /// `set_in_service` / `set_answer_heartbeats` (`on`), `set_format` (`format`),
    /// `agent_state`, `agent_destination` (`agent_id`), `requests`, `unanswered_heartbeats`.
    /// Returns a JSON result (`null` when there is nothing to return).
    pub fn control(&self, action_json: &str) -> Result<Json, GcSimError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Ctl {
            action: String,
            #[serde(default)]
            agent_id: String,
            #[serde(default)]
            from: String,
            #[serde(default)]
            number: String,
            #[serde(default)]
            code: String,
            #[serde(default)]
            destination: String,
            #[serde(default)]
            body: String,
            #[serde(default)]
            jms_type: String,
            #[serde(default)]
            on: Option<bool>,
            #[serde(default)]
            format: Option<SimFormat>,
            #[serde(default)]
            call_variables: serde_json::Map<String, Json>,
        }
        let c: Ctl = serde_json::from_str(action_json)
            .map_err(|e| GcSimError::Invalid(format!("control: {e}")))?;
        let vars: Vec<(String, String)> = c
            .call_variables
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect();
        let on = || {
            c.on.ok_or_else(|| GcSimError::Invalid(format!("{}: needs \"on\"", c.action)))
        };
        Ok(match c.action.as_str() {
            "inject_call" => json!(self.inject_call(&c.agent_id, &c.from, &vars)?),
            "inject_preview_call" => {
                json!(self.inject_preview_call(&c.agent_id, &c.number, &vars)?)
            }
            "send_error" => {
                self.send_error(&c.agent_id, &c.code)?;
                Json::Null
            }
            "fail_next" => {
                self.fail_next(&c.agent_id, &c.code)?;
                Json::Null
            }
            "forget_agent" => {
                self.forget_agent(&c.agent_id)?;
                Json::Null
            }
            "reconnect_next" => {
                self.reconnect_next(&c.agent_id)?;
                Json::Null
            }
            "invalidate_session" => {
                self.invalidate_session(&c.agent_id)?;
                Json::Null
            }
            "destination_reconnect" => {
                self.destination_reconnect(&c.destination)?;
                Json::Null
            }
            "send_raw" => {
                self.send_raw(&c.destination, &c.body, &c.jms_type)?;
                Json::Null
            }
            "set_in_service" => {
                self.set_in_service(on()?);
                Json::Null
            }
            "set_answer_heartbeats" => {
                self.set_answer_heartbeats(on()?);
                Json::Null
            }
            "set_format" => {
                let f = c
                    .format
                    .ok_or_else(|| GcSimError::Invalid("set_format: needs \"format\"".into()))?;
                self.set_format(f);
                Json::Null
            }
            "agent_state" => json!(self.agent_state(&c.agent_id)),
            "agent_destination" => json!(self.agent_destination(&c.agent_id)),
            "unanswered_heartbeats" => json!(self.unanswered_heartbeats()),
            "requests" => json!(self
                .requests()
                .iter()
                .map(|r| json!({"jms_type": r.jms_type, "body": r.body}))
                .collect::<Vec<_>>()),
            other => return Err(GcSimError::Invalid(format!("unknown action {other:?}"))),
        })
    }

    /// Stops serving and closes the broker link.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for GcSimulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn publish(st: &SimState, out: Vec<Out>) -> Result<(), GcSimError> {
    let Some(link) = &st.link else {
        return if out.is_empty() {
            Ok(())
        } else {
            Err(GcSimError::NotConnected)
        };
    };
    for (topic, body, jms_type) in out {
        link.send_nowait(OutMessage {
            destination: Destination::Topic(topic),
            jms_type,
            body,
            properties: Vec::new(),
        })
        .map_err(|_| GcSimError::NotConnected)?;
    }
    Ok(())
}

async fn serve(
    transport: StompTransport,
    broker: BrokerAddr,
    subs: Vec<Destination>,
    first: crate::gc::transport::Link,
    state: Arc<Mutex<SimState>>,
    mut stop: watch::Receiver<bool>,
    linked: watch::Sender<bool>,
) {
    let mut link = Some(first);
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(l) = link.take() else {
            // Reconnect with backoff until stopped.
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return,
            }
            match transport.connect(&broker, &subs).await {
                Ok(l) => {
                    backoff = Duration::from_millis(100);
                    link = Some(l);
                }
                Err(_) => backoff = (backoff * 2).min(Duration::from_secs(2)),
            }
            continue;
        };
        let crate::gc::transport::Link { sender, mut events } = l;
        lock(&state).link = Some(sender.clone());
        let _ = linked.send(true);
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(LinkEvent::Message(m)) => {
                        let Some(jms_type) = m.jms_type else { continue };
                        let req = Request { jms_type, body: String::from_utf8_lossy(&m.body).into_owned() };
                        let mut st = lock(&state);
                        let out = st.handle(req);
                        let _ = publish(&st, out);
                    }
                    _ => break,
                },
                _ = stop.changed() => {
                    lock(&state).link = None;
                    sender.close().await;
                    return;
                }
            }
        }
        lock(&state).link = None;
        let _ = linked.send(false);
    }
}
