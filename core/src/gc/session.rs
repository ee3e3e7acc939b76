//! The sans-IO GC session: what to send and when, without any I/O.
//!
//! * Login flow (data sheet §8.2): on link up, `Hello`; once GC answers `System
//!   IN_SERVICE`, a login is sent as `Connect` + `Login` (a login asked for earlier
//!   waits for that answer).
//! * Heartbeat (§8.3, A13): `Hello` while no agent is logged in, `Beat` while one is
//!   (falling back to `Hello` for good if a `Beat` goes unanswered); after
//!   `heartbeat_misses` unanswered heartbeats GC is declared unreachable and
//!   [`Action::Failover`] asks the I/O layer to try the other GC/broker pair.
//! * Recovery (§8.4): `State#RE_LOGIN` → `Connect` + `Login` with the retained
//!   credentials (bounded attempts); `RECONNECT` (O-023) → `Connect` + `GetState`, then the
//!   echoed request; `DESTINATION#<ours>#RECONNECT` and any new link → `Hello`, then
//!   `Connect` + `GetState` for every agent; `SESSION_INVALIDATED` → the agent is
//!   forgotten (no automatic re-login).
//! * Errors follow the "expected client behaviour" column of the GC error table
//!   ([`ErrorCode::behaviour`]): after an error that asks for new credentials or a
//!   valid extension (`SUBSCRIPTION_FAILED`, `WRONG_EXTENSION`,
//!   `CF_INVALID_PASSWORD_SPECIFIED`, ...) the agent's credentials are forgotten at once
//!   (never re-sent on `RE_LOGIN` or a reconnect) and [`Notice::CredentialsRequired`]
//!   asks the application for new ones; `NO_DIALOG_ID` sends `getdialogstate` for the
//!   agent's active dialogs; every other behaviour is the application's to show.
//! * Transfer/conference without a target (A7) use the number of the consult made on
//!   the same dialog, only while that consult is active; otherwise the command fails
//!   with [`CommandError::NoTarget`] and nothing is sent.
//!
//! Drive it with [`Session::link_up`], [`Session::link_down`], [`Session::command`],
//! [`Session::on_event`] and [`Session::on_tick`]; take what to do from
//! [`Session::poll_action`].

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::command::{check_key, Command, CommandError, Request};
use super::errors::{Behaviour, ErrorCode};
use super::event::{AgentState, CallState, Event, EventKind, SystemStatus};
use crate::ece::Secret;

/// Consults remembered per agent (oldest dropped beyond this).
const MAX_CONSULTS: usize = 64;
/// Active dialogs remembered per agent (new ones ignored beyond this).
const MAX_DIALOGS: usize = 256;

/// Session settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// The client destination: event topic, `Hello`/`Beat` key, first `Connect` parameter.
    pub destination: String,
    /// Key for `Hello`/`Beat` when it must differ from the destination (A10).
    pub hello_key: Option<String>,
    /// Heartbeat period (default 10 s).
    pub heartbeat_interval: Duration,
    /// Unanswered heartbeats before GC is declared unreachable (default 3).
    pub heartbeat_misses: u32,
    /// Send `Beat` while an agent is logged in (default true; falls back to `Hello`).
    pub use_beat: bool,
    /// Automatic re-login attempts after `RE_LOGIN` (default 3).
    pub relogin_attempts: u32,
}

impl SessionConfig {
    /// Defaults for `destination`.
    pub fn new(destination: impl Into<String>) -> Self {
        SessionConfig {
            destination: destination.into(),
            hello_key: None,
            heartbeat_interval: Duration::from_secs(10),
            heartbeat_misses: 3,
            use_beat: true,
            relogin_attempts: 3,
        }
    }

    /// Checks the destination and hello key, and that the heartbeat settings are usable.
    pub fn validate(&self) -> Result<(), SessionError> {
        check_key("Hello", "client destination", &self.destination)?;
        if self.destination.contains(['*', '>', '/', ' ']) {
            return Err(SessionError::Config(format!(
                "client destination {:?} is not a valid topic name (no '*', '>', '/' or blanks)",
                self.destination
            )));
        }
        if let Some(k) = &self.hello_key {
            check_key("Hello", "hello key", k)?;
        }
        if self.heartbeat_interval.is_zero() || self.heartbeat_misses == 0 {
            return Err(SessionError::Config(
                "heartbeat interval and miss count must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// Why a command could not be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// No broker connection: the command was not sent.
    #[error("not connected to any broker: {0} was not sent")]
    NotConnected(String),
    /// The command is invalid.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The configuration is invalid.
    #[error("GC session config: {0}")]
    Config(String),
}

/// GC's status as this session sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GcStatus {
    /// No answer yet on this link.
    Unknown,
    /// `System#IN_SERVICE`.
    InService,
    /// `System#OUT_OF_SERVICE`.
    OutOfService,
    /// `System#NOT_REACHABLE` (GC cannot reach Finesse).
    NotReachable,
    /// Heartbeats unanswered.
    Unreachable,
}

/// Library notices for the application, next to GC's own events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "notice")]
pub enum Notice {
    /// A login waits for GC to answer `IN_SERVICE`.
    LoginQueued {
        /// Agent ID.
        agent_id: String,
    },
    /// GC answered none of the last `missed` heartbeats.
    GcUnreachable {
        /// Unanswered heartbeats.
        missed: u32,
    },
    /// Automatic re-login after `RE_LOGIN`.
    ReLogin {
        /// Agent ID.
        agent_id: String,
        /// Attempt number (1-based).
        attempt: u32,
    },
    /// Re-login gave up after the configured attempts.
    ReLoginFailed {
        /// Agent ID.
        agent_id: String,
        /// Attempts made.
        attempts: u32,
    },
    /// Agents were re-bound (`Connect` + `GetState`) after a reconnect/failover/O-023/O-026.
    Recovery {
        /// `link`, `reconnect` (O-023) or `destination` (O-026).
        reason: String,
        /// Agents re-bound.
        agents: Vec<String>,
    },
    /// The agent logged in from another destination; it is forgotten here.
    SessionInvalidated {
        /// Agent ID.
        agent_id: String,
    },
    /// GC refused the agent's credentials or extension: they are forgotten (never
    /// re-sent automatically) and the application must ask the user for new ones
    /// and log in again.
    CredentialsRequired {
        /// Agent ID.
        agent_id: String,
        /// The error code GC sent (`""` when no credentials are known, e.g. O-023
        /// for an agent never logged in here).
        code: String,
        /// What to ask the user for.
        behaviour: Behaviour,
    },
}

/// What the I/O layer must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a request to the GC request queue.
    Send(Request),
    /// Deliver a notice to the application.
    Notify(Notice),
    /// GC is unreachable: switch to the next GC/broker pair, if any.
    Failover,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Login requested, waiting for IN_SERVICE before sending.
    Queued,
    /// Connect + Login sent, or a non-LOGOUT state seen.
    Active,
    /// Logout sent.
    LoggingOut,
}

#[derive(Debug, Clone)]
struct Agent {
    login: Command,
    password: Secret,
    phase: Phase,
    logged_in: bool,
    relogins: u32,
}

/// A consult asked for on `dialog_id`; `leg` is the consult dialog once GC reported it.
#[derive(Debug, Clone)]
struct Consult {
    dialog_id: String,
    number: String,
    leg: Option<String>,
}

fn ended(state: Option<&CallState>) -> bool {
    state.is_some_and(|s| s.is_ended() || *s == CallState::Failed || *s == CallState::NotFound)
}

/// The session state machine.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    link: bool,
    status: GcStatus,
    agents: HashMap<String, Agent>,
    consults: HashMap<String, Vec<Consult>>,
    dialogs: HashMap<String, BTreeSet<String>>,
    actions: VecDeque<Action>,
    outstanding: u32,
    declared_unreachable: bool,
    beat_failed: bool,
    last_was_beat: bool,
    next_beat: Option<Instant>,
    recover_on_service: bool,
}

impl Session {
    /// A session (validates the configuration).
    pub fn new(cfg: SessionConfig) -> Result<Self, SessionError> {
        cfg.validate()?;
        Ok(Session {
            cfg,
            link: false,
            status: GcStatus::Unknown,
            agents: HashMap::new(),
            consults: HashMap::new(),
            dialogs: HashMap::new(),
            actions: VecDeque::new(),
            outstanding: 0,
            declared_unreachable: false,
            beat_failed: false,
            last_was_beat: false,
            next_beat: None,
            recover_on_service: false,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// GC's status.
    pub fn status(&self) -> GcStatus {
        self.status
    }

    /// True while a broker link is up.
    pub fn is_linked(&self) -> bool {
        self.link
    }

    /// Agents with retained credentials, sorted.
    pub fn agents(&self) -> Vec<String> {
        let mut v: Vec<String> = self.agents.keys().cloned().collect();
        v.sort();
        v
    }

    /// Heartbeats sent and not answered yet.
    pub fn unanswered_heartbeats(&self) -> u32 {
        self.outstanding
    }

    /// The next action, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Session::on_tick`] must next be called.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.next_beat.filter(|_| self.link)
    }

    fn hello_key(&self) -> &str {
        self.cfg
            .hello_key
            .as_deref()
            .unwrap_or(&self.cfg.destination)
    }

    fn send(&mut self, cmd: &Command, key: &str) {
        // Commands built here come from validated parts; an error would be a bug,
        // reported as a missing request rather than a panic.
        if let Ok(r) = cmd.encode(key) {
            self.actions.push_back(Action::Send(r));
        }
    }

    fn connect_cmd(&self, password: &Secret) -> Command {
        Command::Connect {
            destination: self.cfg.destination.clone(),
            password: password.clone(),
        }
    }

    /// A broker link is up (first connection, reconnection or failover): `Hello` now,
    /// and agents known from before are re-bound once GC answers `IN_SERVICE`.
    pub fn link_up(&mut self, now: Instant) {
        self.link = true;
        self.status = GcStatus::Unknown;
        self.outstanding = 0;
        self.declared_unreachable = false;
        self.beat_failed = false;
        self.recover_on_service = self.agents.values().any(|a| a.phase != Phase::Queued);
        let hello = Command::Hello;
        let key = self.hello_key().to_owned();
        self.send(&hello, &key);
        self.outstanding = 1;
        self.last_was_beat = false;
        self.next_beat = Some(now + self.cfg.heartbeat_interval);
    }

    /// The broker link is gone.
    pub fn link_down(&mut self) {
        self.link = false;
        self.status = GcStatus::Unknown;
        self.next_beat = None;
        self.outstanding = 0;
    }

    /// Issues a command for `agent_id`; returns the requests to send now, in order.
    /// Logins add `Connect` first and are retained for re-login; a login asked for
    /// before GC answered `IN_SERVICE` is queued (empty result, [`Notice::LoginQueued`]).
    /// A transfer/conference without target takes the number of the consult made on
    /// the same dialog while that consult is still active (A7); without one it fails
    /// with [`CommandError::NoTarget`] and nothing is sent.
    pub fn command(
        &mut self,
        agent_id: &str,
        mut cmd: Command,
    ) -> Result<Vec<Request>, SessionError> {
        if !self.link {
            return Err(SessionError::NotConnected(cmd.wire_name().to_owned()));
        }
        if cmd.is_system() {
            let key = self.hello_key().to_owned();
            return Ok(vec![cmd.encode(&key)?]);
        }
        check_key(cmd.wire_name(), "agent ID", agent_id)?;
        match &mut cmd {
            Command::Login { password, .. } | Command::MobileAgentLogin { password, .. } => {
                let password = password.clone();
                let connect = self.connect_cmd(&password);
                let reqs = vec![connect.encode(agent_id)?, cmd.encode(agent_id)?];
                let queued = self.status != GcStatus::InService;
                self.agents.insert(
                    agent_id.to_owned(),
                    Agent {
                        login: cmd,
                        password,
                        phase: if queued { Phase::Queued } else { Phase::Active },
                        logged_in: false,
                        relogins: 0,
                    },
                );
                if queued {
                    self.actions.push_back(Action::Notify(Notice::LoginQueued {
                        agent_id: agent_id.to_owned(),
                    }));
                    return Ok(Vec::new());
                }
                return Ok(reqs);
            }
            Command::Logout | Command::LogoutWithReason { .. } | Command::ForceLogout => {
                if let Some(a) = self.agents.get_mut(agent_id) {
                    a.phase = Phase::LoggingOut;
                }
            }
            Command::ConsultCall { number, dialog_id } => {
                let consult = Consult {
                    dialog_id: dialog_id.clone(),
                    number: number.clone(),
                    leg: None,
                };
                // Checked before it is remembered: a refused consult is no target.
                let req = cmd.encode(agent_id)?;
                let list = self.consults.entry(agent_id.to_owned()).or_default();
                if list.len() >= MAX_CONSULTS {
                    list.remove(0);
                }
                list.push(consult);
                return Ok(vec![req]);
            }
            Command::TransferCall { target, dialog_id }
            | Command::ConferenceCall { target, dialog_id }
                if target.is_none() =>
            {
                *target = self.active_consult(agent_id, dialog_id);
            }
            _ => {}
        }
        Ok(vec![cmd.encode(agent_id)?])
    }

    /// The number of the latest still-active consult made on `dialog_id` (or whose
    /// consult leg is `dialog_id`).
    fn active_consult(&self, agent_id: &str, dialog_id: &str) -> Option<String> {
        self.consults
            .get(agent_id)?
            .iter()
            .rev()
            .find(|c| c.dialog_id == dialog_id || c.leg.as_deref() == Some(dialog_id))
            .map(|c| c.number.clone())
    }

    /// Follows the agent's dialogs and consults from call events.
    fn track_call(&mut self, agent_id: &str, kind: &EventKind) {
        let (dialog_id, state, consult) = match kind {
            EventKind::InboundCall { call, .. }
            | EventKind::NewInboundCall { call, .. }
            | EventKind::NewOutboundCall { call, .. } => {
                (call.dialog_id.as_deref(), call.state.as_ref(), false)
            }
            EventKind::ConsultCall { call, .. } => {
                (call.dialog_id.as_deref(), call.state.as_ref(), true)
            }
            EventKind::DialogState { dialogs, .. } => {
                (dialogs.dialog_id.as_deref(), dialogs.state.as_ref(), false)
            }
            _ => return,
        };
        let gone = ended(state);
        // Dialogs are followed for the agents logged in here only: events for other
        // agent IDs never grow this map.
        if let (Some(id), true) = (dialog_id, self.agents.contains_key(agent_id)) {
            let set = self.dialogs.entry(agent_id.to_owned()).or_default();
            if gone {
                set.remove(id);
            } else if set.len() < MAX_DIALOGS {
                set.insert(id.to_owned());
            }
            if set.is_empty() {
                self.dialogs.remove(agent_id);
            }
        }
        let Some(list) = self.consults.get_mut(agent_id) else {
            return;
        };
        match (dialog_id, gone) {
            (Some(id), true) => {
                // The call or its consult leg ended: that consult is no target any more.
                let before = list.len();
                list.retain(|c| c.dialog_id != id && c.leg.as_deref() != Some(id));
                if consult && list.len() == before {
                    // A consult that failed before GC named its leg.
                    if let Some(i) = list.iter().rposition(|c| c.leg.is_none()) {
                        list.remove(i);
                    }
                }
            }
            (Some(id), false) if consult && !list.iter().any(|c| c.leg.as_deref() == Some(id)) => {
                if let Some(c) = list.iter_mut().rev().find(|c| c.leg.is_none()) {
                    c.leg = Some(id.to_owned());
                }
            }
            _ => {}
        }
        if list.is_empty() {
            self.consults.remove(agent_id);
        }
    }

    /// Acts on an O-002 error as the GC error table's "expected client behaviour" says.
    fn on_error(&mut self, agent_id: &str, code: &ErrorCode) {
        // A consult GC has not reported yet is taken as the one this error refuses.
        if let Some(list) = self.consults.get_mut(agent_id) {
            list.retain(|c| c.leg.is_some());
            if list.is_empty() {
                self.consults.remove(agent_id);
            }
        }
        let behaviour = code.behaviour();
        match behaviour {
            Behaviour::LoginAgain if self.agents.contains_key(agent_id) => {
                self.agents.remove(agent_id);
                self.actions
                    .push_back(Action::Notify(Notice::SessionInvalidated {
                        agent_id: agent_id.to_owned(),
                    }));
            }
            b if b.invalidates_credentials() && self.agents.contains_key(agent_id) => {
                // Never re-send refused credentials: repeated wrong passwords lock
                // agent accounts.
                self.agents.remove(agent_id);
                self.actions
                    .push_back(Action::Notify(Notice::CredentialsRequired {
                        agent_id: agent_id.to_owned(),
                        code: code.as_str().to_owned(),
                        behaviour,
                    }));
            }
            Behaviour::RefreshDialogs if self.link => {
                let ids: Vec<String> = self
                    .dialogs
                    .get(agent_id)
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default();
                for dialog_id in ids {
                    self.send(&Command::GetDialogState { dialog_id }, agent_id);
                }
            }
            _ => {}
        }
    }

    fn rebind_all(&mut self, reason: &str) {
        let mut ids: Vec<String> = self
            .agents
            .iter()
            .filter(|(_, a)| a.phase != Phase::Queued)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        for id in &ids {
            let connect = self.connect_cmd(&self.agents[id].password);
            self.send(&connect, id);
            self.send(&Command::GetState, id);
        }
        if !ids.is_empty() {
            self.actions.push_back(Action::Notify(Notice::Recovery {
                reason: reason.to_owned(),
                agents: ids,
            }));
        }
    }

    fn flush_queued_logins(&mut self) {
        let mut queued: Vec<String> = self
            .agents
            .iter()
            .filter(|(_, a)| a.phase == Phase::Queued)
            .map(|(id, _)| id.clone())
            .collect();
        queued.sort();
        for id in queued {
            let (connect, login) = {
                let a = &self.agents[&id];
                (self.connect_cmd(&a.password), a.login.clone())
            };
            self.send(&connect, &id);
            self.send(&login, &id);
            if let Some(a) = self.agents.get_mut(&id) {
                a.phase = Phase::Active;
            }
        }
    }

    /// Feeds an event from GC.
    pub fn on_event(&mut self, ev: &Event) {
        match &ev.kind {
            EventKind::System { status, .. } => {
                self.outstanding = 0;
                self.declared_unreachable = false;
                self.status = match status {
                    SystemStatus::InService => GcStatus::InService,
                    SystemStatus::OutOfService => GcStatus::OutOfService,
                    SystemStatus::NotReachable => GcStatus::NotReachable,
                    SystemStatus::Other(_) => self.status,
                };
                if self.status == GcStatus::InService {
                    if self.recover_on_service {
                        self.recover_on_service = false;
                        self.rebind_all("link");
                    }
                    self.flush_queued_logins();
                }
            }
            EventKind::State {
                agent_id, state, ..
            } => self.on_state(agent_id, state),
            EventKind::Error { agent_id, code, .. } => self.on_error(agent_id, code),
            EventKind::Reconnect {
                agent_id, request, ..
            } => {
                let Some(password) = self.agents.get(agent_id).map(|a| a.password.clone()) else {
                    // No credentials here (never logged in, or refused): nothing is
                    // re-bound or replayed; the application must log in.
                    self.actions
                        .push_back(Action::Notify(Notice::CredentialsRequired {
                            agent_id: agent_id.clone(),
                            code: String::new(),
                            behaviour: Behaviour::AskForCredentials,
                        }));
                    return;
                };
                let connect = self.connect_cmd(&password);
                self.send(&connect, agent_id);
                self.send(&Command::GetState, agent_id);
                if let Some(r) = request {
                    self.actions.push_back(Action::Send(r.clone()));
                }
                self.actions.push_back(Action::Notify(Notice::Recovery {
                    reason: "reconnect".into(),
                    agents: vec![agent_id.clone()],
                }));
            }
            EventKind::Destination {
                destination,
                action,
                ..
            } if destination == &self.cfg.destination
                && action.eq_ignore_ascii_case("RECONNECT") =>
            {
                let key = self.hello_key().to_owned();
                self.send(&Command::Hello, &key);
                self.rebind_all("destination");
            }
            kind => {
                if let Some(agent_id) = ev.agent_id() {
                    let agent_id = agent_id.to_owned();
                    self.track_call(&agent_id, kind);
                }
            }
        }
    }

    fn on_state(&mut self, agent_id: &str, state: &AgentState) {
        let max = self.cfg.relogin_attempts;
        let Some(a) = self.agents.get_mut(agent_id) else {
            return;
        };
        match state {
            AgentState::ReLogin => {
                if a.relogins >= max {
                    let attempts = a.relogins;
                    self.agents.remove(agent_id);
                    self.actions
                        .push_back(Action::Notify(Notice::ReLoginFailed {
                            agent_id: agent_id.to_owned(),
                            attempts,
                        }));
                    return;
                }
                a.relogins += 1;
                a.logged_in = false;
                let attempt = a.relogins;
                let (password, login) = (a.password.clone(), a.login.clone());
                let connect = self.connect_cmd(&password);
                self.send(&connect, agent_id);
                self.send(&login, agent_id);
                self.actions.push_back(Action::Notify(Notice::ReLogin {
                    agent_id: agent_id.to_owned(),
                    attempt,
                }));
            }
            AgentState::Logout => {
                // Forget the credentials only for a logout we asked for; a LOGOUT
                // that precedes SESSION_INVALIDATED or a GC restart keeps them.
                a.logged_in = false;
                if a.phase == Phase::LoggingOut {
                    self.agents.remove(agent_id);
                }
            }
            _ => {
                a.relogins = 0;
                a.logged_in = true;
                if a.phase != Phase::LoggingOut {
                    a.phase = Phase::Active;
                }
            }
        }
    }

    /// Heartbeat timer: call at [`Session::next_timeout`].
    pub fn on_tick(&mut self, now: Instant) {
        let Some(due) = self.next_beat.filter(|_| self.link) else {
            return;
        };
        if now < due {
            return;
        }
        if self.outstanding > 0 && self.last_was_beat {
            // The reference client never implemented Beat: fall back to Hello.
            self.beat_failed = true;
        }
        if self.outstanding >= self.cfg.heartbeat_misses && !self.declared_unreachable {
            self.declared_unreachable = true;
            self.status = GcStatus::Unreachable;
            self.actions
                .push_back(Action::Notify(Notice::GcUnreachable {
                    missed: self.outstanding,
                }));
            self.actions.push_back(Action::Failover);
        }
        let beat =
            self.cfg.use_beat && !self.beat_failed && self.agents.values().any(|a| a.logged_in);
        let key = self.hello_key().to_owned();
        self.send(
            if beat {
                &Command::Beat
            } else {
                &Command::Hello
            },
            &key,
        );
        self.last_was_beat = beat;
        self.outstanding = self.outstanding.saturating_add(1);
        self.next_beat = Some(now + self.cfg.heartbeat_interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gc::event::parse;

    fn ev(text: &str) -> Event {
        parse(text, None).expect("parse").remove(0)
    }

    fn drain(s: &mut Session) -> Vec<Action> {
        std::iter::from_fn(|| s.poll_action()).collect()
    }

    fn sent(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Send(r) => Some(format!("{} {}", r.jms_type, r.body)),
                _ => None,
            })
            .collect()
    }

    fn login(pw: &str) -> Command {
        Command::Login {
            password: pw.into(),
            extension: "4012".into(),
        }
    }

    fn session() -> (Session, Instant) {
        let mut s = Session::new(SessionConfig::new("crm-1")).expect("session");
        let t = Instant::now();
        s.link_up(t);
        assert_eq!(sent(&drain(&mut s)), vec!["Hello#crm-1 "]);
        (s, t)
    }

    #[test]
    fn commands_fail_while_disconnected() {
        let mut s = Session::new(SessionConfig::new("crm-1")).expect("session");
        assert_eq!(
            s.command("1001", Command::MakeReady),
            Err(SessionError::NotConnected("MakeReady".into()))
        );
        let (mut s, _) = session();
        s.link_down();
        assert!(matches!(
            s.command("1001", Command::GetState),
            Err(SessionError::NotConnected(_))
        ));
    }

    #[test]
    fn login_waits_for_in_service_then_connect_and_login() {
        let (mut s, _) = session();
        assert_eq!(s.command("1001", login("pw")), Ok(vec![]));
        assert_eq!(
            drain(&mut s),
            vec![Action::Notify(Notice::LoginQueued {
                agent_id: "1001".into()
            })]
        );
        s.on_event(&ev("System#IN_SERVICE"));
        assert_eq!(
            sent(&drain(&mut s)),
            vec!["Connect#1001 crm-1,pw", "Login#1001 pw,4012"]
        );
        // Once in service, a login goes out at once.
        let r = s.command("1002", login("x")).expect("login");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].jms_type, "Connect#1002");
    }

    #[test]
    fn heartbeats_beat_fallback_and_unreachable() {
        let mut cfg = SessionConfig::new("crm-1");
        cfg.heartbeat_interval = Duration::from_secs(1);
        cfg.heartbeat_misses = 2;
        let mut s = Session::new(cfg).expect("session");
        let t = Instant::now();
        s.link_up(t);
        drain(&mut s);
        s.on_event(&ev("System#IN_SERVICE"));
        s.command("1001", login("pw")).expect("login");
        s.on_event(&ev("1001#State#NOT_READY#Al"));
        // Logged in: Beat.
        s.on_tick(t + Duration::from_secs(1));
        assert_eq!(sent(&drain(&mut s)), vec!["Beat#crm-1 "]);
        // Unanswered Beat: Hello from now on.
        s.on_tick(t + Duration::from_secs(2));
        assert_eq!(sent(&drain(&mut s)), vec!["Hello#crm-1 "]);
        // Two unanswered: unreachable, failover, once.
        s.on_tick(t + Duration::from_secs(3));
        let a = drain(&mut s);
        assert!(a.contains(&Action::Notify(Notice::GcUnreachable { missed: 2 })));
        assert!(a.contains(&Action::Failover));
        assert_eq!(s.status(), GcStatus::Unreachable);
        s.on_tick(t + Duration::from_secs(4));
        assert!(!drain(&mut s).contains(&Action::Failover));
        // An answer resets everything.
        s.on_event(&ev("System#IN_SERVICE"));
        assert_eq!(s.unanswered_heartbeats(), 0);
        assert_eq!(s.status(), GcStatus::InService);
        // Not due yet: nothing.
        s.on_tick(t + Duration::from_millis(4500));
        assert!(drain(&mut s).is_empty());
    }

    #[test]
    fn relogin_is_bounded() {
        let mut cfg = SessionConfig::new("crm-1");
        cfg.relogin_attempts = 2;
        let mut s = Session::new(cfg).expect("session");
        s.link_up(Instant::now());
        s.on_event(&ev("System#IN_SERVICE"));
        s.command("1001", login("pw")).expect("login");
        drain(&mut s);
        for attempt in 1..=2 {
            s.on_event(&ev("1001#State#RE_LOGIN"));
            let a = drain(&mut s);
            assert_eq!(
                sent(&a),
                vec!["Connect#1001 crm-1,pw", "Login#1001 pw,4012"]
            );
            assert!(a.contains(&Action::Notify(Notice::ReLogin {
                agent_id: "1001".into(),
                attempt
            })));
        }
        s.on_event(&ev("1001#State#RE_LOGIN"));
        assert_eq!(
            drain(&mut s),
            vec![Action::Notify(Notice::ReLoginFailed {
                agent_id: "1001".into(),
                attempts: 2
            })]
        );
        assert!(s.agents().is_empty());
    }

    #[test]
    fn reconnect_destination_and_new_links_rebind() {
        let (mut s, t) = session();
        s.on_event(&ev("System#IN_SERVICE"));
        s.command("1001", login("pw")).expect("login");
        s.on_event(&ev("1001#State#READY#Al"));
        drain(&mut s);
        // O-023: Connect + GetState, then the echoed request.
        let r = parse("1001#RECONNECT#", Some("MakeReady#1001")).expect("parse");
        s.on_event(&r[0]);
        assert_eq!(
            sent(&drain(&mut s)),
            vec!["Connect#1001 crm-1,pw", "GetState#1001 ", "MakeReady#1001 "]
        );
        // O-026 for another destination: ignored; for ours: Hello + rebind.
        s.on_event(&ev("DESTINATION#other#RECONNECT"));
        assert!(drain(&mut s).is_empty());
        s.on_event(&ev("DESTINATION#crm-1#RECONNECT"));
        assert_eq!(
            sent(&drain(&mut s)),
            vec!["Hello#crm-1 ", "Connect#1001 crm-1,pw", "GetState#1001 "]
        );
        // A new link (broker restart or failover): Hello, then rebind on IN_SERVICE.
        s.link_down();
        s.link_up(t);
        assert_eq!(sent(&drain(&mut s)), vec!["Hello#crm-1 "]);
        s.on_event(&ev("System#IN_SERVICE"));
        let a = drain(&mut s);
        assert_eq!(sent(&a), vec!["Connect#1001 crm-1,pw", "GetState#1001 "]);
        assert!(a.contains(&Action::Notify(Notice::Recovery {
            reason: "link".into(),
            agents: vec!["1001".into()]
        })));
    }

    #[test]
    fn session_invalidated_and_logout_forget_the_agent() {
        let (mut s, _) = session();
        s.on_event(&ev("System#IN_SERVICE"));
        s.command("1001", login("pw")).expect("login");
        s.command("1002", login("pw")).expect("login");
        // GC sends LOGOUT first, then the error.
        s.on_event(&ev("1001#State#LOGOUT#Al"));
        assert_eq!(s.agents(), vec!["1001", "1002"]);
        s.on_event(&ev("1001#Error#SESSION_INVALIDATED"));
        assert_eq!(
            drain(&mut s),
            vec![Action::Notify(Notice::SessionInvalidated {
                agent_id: "1001".into()
            })]
        );
        s.command("1002", Command::Logout).expect("logout");
        s.on_event(&ev("1002#State#LOGOUT#Bo"));
        assert!(s.agents().is_empty());
    }

    #[test]
    fn transfer_defaults_to_the_consulted_number() {
        let (mut s, _) = session();
        s.on_event(&ev("System#IN_SERVICE"));
        s.command("1001", login("pw")).expect("login");
        s.command(
            "1001",
            Command::ConsultCall {
                number: "4013".into(),
                dialog_id: "77".into(),
            },
        )
        .expect("consult");
        let r = s
            .command(
                "1001",
                Command::TransferCall {
                    target: None,
                    dialog_id: "77".into(),
                },
            )
            .expect("transfer");
        assert_eq!(r[0].body, "4013,77");
        assert!(matches!(
            s.command(
                "1002",
                Command::ConferenceCall {
                    target: None,
                    dialog_id: "1".into()
                }
            ),
            Err(SessionError::Command(CommandError::NoTarget { .. }))
        ));
    }

    fn transfer(s: &mut Session, dialog: &str) -> Result<Vec<Request>, SessionError> {
        s.command(
            "1001",
            Command::TransferCall {
                target: None,
                dialog_id: dialog.into(),
            },
        )
    }

    fn consult(s: &mut Session, number: &str, dialog: &str) {
        s.command(
            "1001",
            Command::ConsultCall {
                number: number.into(),
                dialog_id: dialog.into(),
            },
        )
        .expect("consult");
    }

    fn no_target(r: Result<Vec<Request>, SessionError>) -> bool {
        matches!(r, Err(SessionError::Command(CommandError::NoTarget { .. })))
    }

    #[test]
    fn transfer_target_only_from_the_active_consult_on_that_dialog() {
        let (mut s, _) = session();
        s.on_event(&ev("System#IN_SERVICE"));
        s.command("1001", login("pw")).expect("login");
        drain(&mut s);
        // A consult on another dialog is no target for this one.
        consult(&mut s, "4013", "77");
        assert!(no_target(transfer(&mut s, "88")));
        assert!(drain(&mut s).is_empty(), "nothing sent");
        // The consult leg goes active, then ends: no target any more.
        s.on_event(&ev("1001#ConsultCall#ACTIVE#AssDialogID:500#4012##t#Al"));
        assert_eq!(transfer(&mut s, "77").expect("active")[0].body, "4013,77");
        assert_eq!(transfer(&mut s, "500").expect("by leg")[0].body, "4013,500");
        s.on_event(&ev("1001#ConsultCall#DROP#AssDialogID:500#4012##t#Al"));
        assert!(no_target(transfer(&mut s, "77")));
        // A consult whose original call ended is no target either.
        consult(&mut s, "4014", "78");
        s.on_event(&ev("1001#InboundCall#DROP#DialogID:78#Al"));
        assert!(no_target(transfer(&mut s, "78")));
        // A consult GC refused (error before any consult event) is no target.
        consult(&mut s, "4015", "79");
        s.on_event(&ev("1001#Error#CF_INVALID_OBJECT_STATE"));
        assert!(no_target(transfer(&mut s, "79")));
        // A consult that failed before GC named its leg.
        consult(&mut s, "4016", "80");
        s.on_event(&ev("1001#ConsultCall#FAILED#AssDialogID:#busy#Al"));
        assert!(no_target(transfer(&mut s, "80")));
        // An explicit target is always used.
        let r = s
            .command(
                "1001",
                Command::ConferenceCall {
                    target: Some("4999".into()),
                    dialog_id: "81".into(),
                },
            )
            .expect("explicit");
        assert_eq!(r[0].body, "4999,81");
    }

    #[test]
    fn refused_credentials_are_never_resent() {
        use crate::gc::errors::Behaviour;
        let codes = [
            ("SUBSCRIPTION_FAILED", Behaviour::AskForCredentials),
            (
                "UNABLE_TO_SUBSCRIBE_TO_FINESSE",
                Behaviour::AskForCredentials,
            ),
            (
                "CF_INVALID_PASSWORD_SPECIFIED",
                Behaviour::AskForCredentials,
            ),
            ("MISSING_PASSWORD", Behaviour::AskForCredentials),
            ("WRONG_EXTENSION", Behaviour::AskForExtension),
            ("MISSING_EXTENSION", Behaviour::AskForExtension),
            (
                "CF_INVALID_LOGON_DEVICE_SPECIFIED",
                Behaviour::AskForExtension,
            ),
            (
                "CF_INVALID_CSTA_DEVICE_IDENTIFIER",
                Behaviour::AskForExtension,
            ),
            ("USER_NOT_FOUND", Behaviour::ContactAdmin),
            ("LICENSES_EXCEEDED", Behaviour::ContactAdmin),
        ];
        for (code, behaviour) in codes {
            let (mut s, t) = session();
            s.on_event(&ev("System#IN_SERVICE"));
            s.command("1001", login("hunter2")).expect("login");
            drain(&mut s);
            s.on_event(&ev(&format!("1001#Error#{code}")));
            assert_eq!(
                drain(&mut s),
                vec![Action::Notify(Notice::CredentialsRequired {
                    agent_id: "1001".into(),
                    code: code.into(),
                    behaviour
                })],
                "{code}"
            );
            assert!(s.agents().is_empty(), "{code}: credentials forgotten");
            // RE_LOGIN, O-023, O-026 and a new link: nothing re-sent with them.
            s.on_event(&ev("1001#State#RE_LOGIN"));
            let r = parse("1001#RECONNECT#", Some("MakeReady#1001")).expect("parse");
            s.on_event(&r[0]);
            s.on_event(&ev("DESTINATION#crm-1#RECONNECT"));
            s.link_down();
            s.link_up(t);
            s.on_event(&ev("System#IN_SERVICE"));
            let a = drain(&mut s);
            let out = sent(&a);
            assert!(
                out.iter().all(|r| !r.contains("hunter2")
                    && !r.starts_with("Connect")
                    && !r.starts_with("Login")
                    && !r.starts_with("MakeReady")),
                "{code}: {out:?}"
            );
            assert!(a.contains(&Action::Notify(Notice::CredentialsRequired {
                agent_id: "1001".into(),
                code: String::new(),
                behaviour: Behaviour::AskForCredentials
            })));
            // A new Login is the application's, and works.
            assert_eq!(
                sent_now(&mut s, login("fresh")),
                vec!["Connect#1001 crm-1,fresh", "Login#1001 fresh,4012"]
            );
        }
        // Errors that only ask to show and continue keep the credentials.
        for code in [
            "CF_RESOURCE_BUSY",
            "PLEASE_RETRY",
            "MISSING_NUMBER",
            "DOWN",
            "X_NEW",
        ] {
            let (mut s, _) = session();
            s.on_event(&ev("System#IN_SERVICE"));
            s.command("1001", login("pw")).expect("login");
            s.on_event(&ev(&format!("1001#Error#{code}")));
            assert_eq!(s.agents(), vec!["1001"], "{code}");
        }
    }

    fn sent_now(s: &mut Session, cmd: Command) -> Vec<String> {
        s.command("1001", cmd)
            .expect("command")
            .iter()
            .map(|r| format!("{} {}", r.jms_type, r.body))
            .collect()
    }

    #[test]
    fn no_dialog_id_refreshes_the_active_dialogs() {
        let (mut s, _) = session();
        s.on_event(&ev("System#IN_SERVICE"));
        s.command("1001", login("pw")).expect("login");
        // Agents not logged in here are not followed (no growth from foreign IDs).
        s.on_event(&ev("7777#InboundCall#ACTIVE#DialogID:70#555##t#X"));
        assert!(s.dialogs.is_empty());
        s.on_event(&ev("1001#InboundCall#ACTIVE#DialogID:11#555##t#Al"));
        s.on_event(&ev("1001#InboundCall#HELD#DialogID:12#555##t#Al"));
        s.on_event(&ev("1001#InboundCall#DROP#DialogID:12#Al"));
        s.on_event(&ev("1002#InboundCall#ACTIVE#DialogID:13#555##t#Bo"));
        drain(&mut s);
        s.on_event(&ev("1001#Error#NO_DIALOG_ID"));
        assert_eq!(sent(&drain(&mut s)), vec!["getdialogstate#1001 11"]);
    }

    #[test]
    fn passwords_never_show_in_debug_or_errors() {
        let (mut s, _) = session();
        s.on_event(&ev("System#IN_SERVICE"));
        s.command("1001", login("hunter2")).expect("login");
        let e = s
            .command("1002", login("hunter2,x"))
            .expect_err("separator");
        let text = format!("{e} {e:?}");
        assert!(text.contains("password"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        let actions = drain(&mut s);
        let shown = format!("{s:?} {actions:?} {:?}", login("hunter2"));
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn config_is_validated() {
        assert!(Session::new(SessionConfig::new("a#b")).is_err());
        assert!(Session::new(SessionConfig::new("a*")).is_err());
        assert!(Session::new(SessionConfig::new("")).is_err());
        let mut c = SessionConfig::new("ok");
        c.heartbeat_misses = 0;
        assert!(Session::new(c).is_err());
    }
}
