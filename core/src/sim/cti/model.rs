//! The simulated peripheral: agents, skill groups with queues, teams and calls with
//! their connections. Sans-IO: operations change the model and record what must be
//! sent ([`Effects`]); the server layer routes the events to sessions and runs timers.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cti::spec;

use super::config::{SimAgent, SimCall, SimConfig, SimDialedNumber, SimTeam};
use super::consts::state;
use super::ev::Ev;
use super::SimError;

/// NULL_CALL_ID / NULL_SKILL_GROUP and other "none" values.
pub(crate) const NULL_ID: u32 = 0xFFFF_FFFF;

/// Seconds since 1970, for TIME fields.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Why an operation was refused: a FAILURE_CONF status or a CONTROL_FAILURE_CONF code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// FAILURE_CONF with this Status Codes name.
    Status(&'static str),
    /// CONTROL_FAILURE_CONF with this ControlFailureCode Values name.
    Control(&'static str),
}

impl Refusal {
    /// The constant's name.
    pub fn name(self) -> &'static str {
        match self {
            Refusal::Status(n) | Refusal::Control(n) => n,
        }
    }
}

impl From<Refusal> for SimError {
    fn from(r: Refusal) -> Self {
        SimError::Refused(r.name())
    }
}

/// Where an event goes.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    /// A call event.
    Call {
        /// ConnectionCallID it is about (for monitors and BEGIN_CALL bookkeeping).
        call: u32,
        /// Agents whose Client Events sessions get it.
        agents: Vec<usize>,
        /// Devices of the call (for device monitors).
        devices: Vec<String>,
        /// Whether ALL_EVENTS sessions get it.
        bridges: bool,
        /// Also every session that has seen the call's BEGIN_CALL_EVENT.
        to_seen: bool,
        /// The BEGIN_CALL_EVENT to send first to a session that has not seen the call.
        begin: Option<Arc<Ev>>,
    },
    /// An AGENT_STATE_EVENT of one agent.
    AgentState(usize),
    /// An event for the sessions of some agents (and bridges when set).
    Agents {
        /// The agents.
        agents: Vec<usize>,
        /// Whether ALL_EVENTS sessions get it too.
        bridges: bool,
    },
    /// Every open session.
    All,
}

/// One event to send.
#[derive(Debug, Clone)]
pub(crate) struct Emit {
    /// The message.
    pub ev: Arc<Ev>,
    /// Its audience.
    pub route: Route,
}

/// A timed follow-up the server schedules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The ringing agent answers.
    Answer {
        /// Call.
        call: u32,
        /// Agent index.
        agent: usize,
    },
    /// The caller hangs up.
    Hangup {
        /// Call.
        call: u32,
    },
}

/// What an operation produced.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    /// Events in order.
    pub emits: Vec<Emit>,
    /// Timers to start.
    pub timers: Vec<(Duration, Timer)>,
}

impl Effects {
    /// Adds an event.
    pub fn emit(&mut self, ev: Ev, route: Route) {
        self.emits.push(Emit {
            ev: Arc::new(ev),
            route,
        });
    }
}

/// Per-agent counters for QUERY_AGENT_STATISTICS_CONF.
#[derive(Debug, Default, Clone)]
pub(crate) struct AgentStats {
    pub handled: u32,
    pub handled_talk: Duration,
    pub out_calls: u32,
    pub internal: u32,
    pub internal_rcvd: u32,
    pub held: u32,
    pub barge_in: u32,
    pub intercept: u32,
    pub monitor: u32,
    pub whisper: u32,
    pub emergency: u32,
    pub avail: Duration,
    pub not_ready: Duration,
}

/// One agent.
#[derive(Debug)]
pub(crate) struct Agent {
    pub cfg: SimAgent,
    pub state: u16,
    pub reason: u16,
    pub since: Instant,
    /// State to return to when the agent's calls end.
    pub before_call: u16,
    pub logged_in_at: Instant,
    pub skill_groups: Vec<u32>,
    pub stats: AgentStats,
    pub greeting: bool,
}

impl Agent {
    fn new(cfg: SimAgent, st: u16) -> Self {
        let now = Instant::now();
        Agent {
            skill_groups: cfg.skill_groups.clone(),
            cfg,
            state: st,
            reason: 0,
            since: now,
            before_call: st,
            logged_in_at: now,
            stats: AgentStats::default(),
            greeting: true,
        }
    }

    /// The instrument, or the extension when none is configured.
    pub fn instrument(&self) -> &str {
        self.cfg
            .instrument
            .as_deref()
            .unwrap_or(&self.cfg.extension)
    }

    /// Whether `id` names this agent's device (extension or instrument).
    pub fn has_device(&self, id: &str) -> bool {
        self.cfg.extension == id || self.cfg.instrument.as_deref() == Some(id)
    }
}

/// A skill group and its queue.
#[derive(Debug)]
pub(crate) struct Group {
    pub number: u32,
    pub id: u32,
    pub name: String,
    pub queue: VecDeque<u32>,
    pub calls_queued: u32,
}

/// One device's connection to a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conn {
    /// ConnectionDeviceID (the device string).
    pub device: String,
    /// DeviceIDType name of the device.
    pub dev_type: &'static str,
    /// The agent, for agent devices.
    pub agent: Option<usize>,
    /// LocalConnectionState name.
    pub lcs: &'static str,
    /// Whether the connection is an ACD-routed delivery (the agent is RESERVED while it rings).
    pub acd: bool,
}

impl Conn {
    pub fn external(device: &str, lcs: &'static str) -> Self {
        Conn {
            device: device.to_owned(),
            dev_type: "DEVID_EXTERNAL",
            agent: None,
            lcs,
            acd: false,
        }
    }

    pub fn agent(a: usize, ext: &str, lcs: &'static str, acd: bool) -> Self {
        Conn {
            device: ext.to_owned(),
            dev_type: "DEVID_DEVICE_IDENTIFIER",
            agent: Some(a),
            lcs,
            acd,
        }
    }
}

/// One call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub id: u32,
    pub call_type: &'static str,
    pub line_type: &'static str,
    pub ani: String,
    pub dnis: String,
    pub dialed: Option<String>,
    pub ced: Option<String>,
    pub vars: [Option<String>; 10],
    pub named: Vec<(String, String)>,
    pub arrays: Vec<(u8, String, String)>,
    pub wrapup: Option<String>,
    pub conns: Vec<Conn>,
    pub skill_group: Option<u32>,
    pub queued: bool,
    pub answer_after_ms: Option<u64>,
    pub talk_ms: Option<u64>,
    pub started: Instant,
    pub name: Option<String>,
    /// For a silent-monitor/whisper call, the call being monitored.
    pub monitors: Option<u32>,
    pub recording: bool,
}

impl Call {
    fn new(id: u32, call_type: &'static str, line_type: &'static str) -> Self {
        Call {
            id,
            call_type,
            line_type,
            ani: String::new(),
            dnis: String::new(),
            dialed: None,
            ced: None,
            vars: Default::default(),
            named: Vec::new(),
            arrays: Vec::new(),
            wrapup: None,
            conns: Vec::new(),
            skill_group: None,
            queued: false,
            answer_after_ms: None,
            talk_ms: None,
            started: Instant::now(),
            name: None,
            monitors: None,
            recording: false,
        }
    }

    /// The connection of `device`.
    pub fn conn(&self, device: &str) -> Option<&Conn> {
        self.conns.iter().find(|c| c.device == device)
    }

    /// The connection of agent `a`.
    pub fn agent_conn(&self, a: usize) -> Option<&Conn> {
        self.conns.iter().find(|c| c.agent == Some(a))
    }

    fn agent_conn_mut(&mut self, a: usize) -> Option<&mut Conn> {
        self.conns.iter_mut().find(|c| c.agent == Some(a))
    }

    /// Agents with a connection.
    pub fn agents(&self) -> Vec<usize> {
        self.conns.iter().filter_map(|c| c.agent).collect()
    }

    /// The first device that is not an agent (the caller or the called number).
    pub fn external_device(&self) -> Option<&str> {
        self.conns
            .iter()
            .find(|c| c.agent.is_none())
            .map(|c| c.device.as_str())
    }
}

/// The whole peripheral.
#[derive(Debug)]
pub(crate) struct Model {
    pub peripheral_id: u32,
    pub agents: Vec<Agent>,
    pub groups: Vec<Group>,
    pub teams: Vec<SimTeam>,
    pub dialed: Vec<SimDialedNumber>,
    pub calls: BTreeMap<u32, Call>,
    /// Calls without a skill group waiting for any agent.
    pub unassigned_queue: VecDeque<u32>,
    pub call_names: HashMap<String, u32>,
    pub next_call_id: u32,
    pub online: bool,
    pub auto_answer_ms: Option<u64>,
    pub calls_started: u64,
    pub calls_ended: u64,
}

/// Parses a state name from the configuration.
pub(crate) fn parse_state(name: &str) -> Result<u16, SimError> {
    spec::constant("AgentState Values", name)
        .and_then(|v| u16::try_from(v).ok())
        .ok_or_else(|| SimError::Invalid(format!("unknown agent state {name:?}")))
}

impl Model {
    /// Builds the model from the configuration.
    pub fn new(cfg: &SimConfig) -> Result<Self, SimError> {
        let mut m = Model {
            peripheral_id: cfg.peripheral_id,
            agents: Vec::new(),
            groups: Vec::new(),
            teams: cfg.teams.clone(),
            dialed: cfg.dialed_numbers.clone(),
            calls: BTreeMap::new(),
            unassigned_queue: VecDeque::new(),
            call_names: HashMap::new(),
            next_call_id: 0x0100_0000,
            online: true,
            auto_answer_ms: cfg.auto_answer_ms,
            calls_started: 0,
            calls_ended: 0,
        };
        for g in &cfg.skill_groups {
            m.add_group(g.number, g.id, g.name.clone());
        }
        for a in &cfg.agents {
            m.add_agent(a.clone())?;
        }
        Ok(m)
    }

    /// Adds a skill group (ignored when the number exists).
    pub fn add_group(&mut self, number: u32, id: Option<u32>, name: Option<String>) {
        if self.groups.iter().any(|g| g.number == number) {
            return;
        }
        self.groups.push(Group {
            number,
            id: id.unwrap_or(1000 + number),
            name: name.unwrap_or_else(|| format!("SG{number}")),
            queue: VecDeque::new(),
            calls_queued: 0,
        });
    }

    /// Adds an agent; its skill groups are created when unknown.
    pub fn add_agent(&mut self, a: SimAgent) -> Result<usize, SimError> {
        if self.agents.iter().any(|x| x.cfg.agent_id == a.agent_id) {
            return Err(SimError::Invalid(format!(
                "agent {} configured twice",
                a.agent_id
            )));
        }
        let st = match &a.state {
            Some(n) => parse_state(n)?,
            None => state("AGENT_STATE_NOT_READY"),
        };
        if let Some(s) = &a.after_call_state {
            parse_state(s)?;
        }
        for g in &a.skill_groups {
            self.add_group(*g, None, None);
        }
        self.agents.push(Agent::new(a, st));
        Ok(self.agents.len() - 1)
    }

    /// Index of the agent with this ID.
    pub fn agent_by_id(&self, id: &str) -> Option<usize> {
        self.agents.iter().position(|a| a.cfg.agent_id == id)
    }

    /// Index of the agent owning this device (extension or instrument).
    pub fn agent_by_device(&self, dev: &str) -> Option<usize> {
        self.agents.iter().position(|a| a.has_device(dev))
    }

    /// Finds a call by ID.
    pub fn call(&self, id: u32) -> Result<&Call, Refusal> {
        self.calls
            .get(&id)
            .ok_or(Refusal::Control("CF_INVALID_CSTA_CALL_IDENTIFIER"))
    }

    pub(crate) fn call_mut(&mut self, id: u32) -> Result<&mut Call, Refusal> {
        self.calls
            .get_mut(&id)
            .ok_or(Refusal::Control("CF_INVALID_CSTA_CALL_IDENTIFIER"))
    }

    /// A fresh ConnectionCallID.
    pub fn new_call(&mut self, call_type: &'static str, line_type: &'static str) -> u32 {
        loop {
            self.next_call_id = self.next_call_id.wrapping_add(1);
            let id = self.next_call_id;
            if id != 0 && id != NULL_ID && !self.calls.contains_key(&id) {
                self.calls.insert(id, Call::new(id, call_type, line_type));
                self.calls_started += 1;
                return id;
            }
        }
    }

    /// Copies call context from a scripted call description.
    pub fn set_call_data(&mut self, id: u32, sc: &SimCall) {
        if let Some(c) = self.calls.get_mut(&id) {
            c.ani.clone_from(&sc.ani);
            c.dnis.clone_from(&sc.dnis);
            c.ced.clone_from(&sc.caller_entered_digits);
            for (i, v) in sc.call_variables.iter().take(10).enumerate() {
                c.vars[i] = Some(v.clone());
            }
            c.named.clone_from(&sc.named_variables);
            c.arrays = sc
                .named_arrays
                .iter()
                .map(|(n, i, v)| (*i, n.clone(), v.clone()))
                .collect();
            c.answer_after_ms = sc.answer_after_ms;
            c.talk_ms = sc.talk_ms;
            c.name.clone_from(&sc.name);
            if let Some(n) = &sc.name {
                self.call_names.insert(n.clone(), id);
            }
        }
    }

    // -----------------------------------------------------------------------
    // Event builders.

    fn base(&self, name: &'static str) -> Ev {
        Ev::new(name)
            .int("MonitorID", 0)
            .int("PeripheralID", self.peripheral_id)
            .k(
                "PeripheralType",
                "PeripheralType Values",
                "PT_ENTERPRISE_AGENT",
            )
    }

    /// A call event about `device`'s connection to `call`.
    pub fn call_ev(&self, name: &'static str, call: &Call, device: &str) -> Ev {
        self.base(name)
            .k(
                "ConnectionDeviceIDType",
                "ConnectionDeviceIDType Values",
                "CONNECTION_ID_STATIC",
            )
            .int("ConnectionCallID", call.id)
            .s("ConnectionDeviceID", device)
    }

    /// Adds the skill group fields of `call`.
    pub fn with_group(&self, ev: Ev, call: &Call) -> Ev {
        let g = call
            .skill_group
            .and_then(|n| self.groups.iter().find(|g| g.number == n));
        ev.int("ServiceNumber", NULL_ID)
            .int("ServiceID", NULL_ID)
            .int("SkillGroupNumber", g.map_or(NULL_ID, |g| g.number))
            .int("SkillGroupID", g.map_or(NULL_ID, |g| g.id))
            .int("SkillGroupPriority", 0)
    }

    /// Adds the call context (ANI, DNIS, variables) of `call`.
    pub fn with_call_data(ev: Ev, call: &Call) -> Ev {
        let mut ev = ev
            .s("ANI", &call.ani)
            .s("DNIS", &call.dnis)
            .opt_s("DialedNumber", call.dialed.as_deref())
            .opt_s("CallerEnteredDigits", call.ced.as_deref());
        const VARS: [&str; 10] = [
            "CallVariable1",
            "CallVariable2",
            "CallVariable3",
            "CallVariable4",
            "CallVariable5",
            "CallVariable6",
            "CallVariable7",
            "CallVariable8",
            "CallVariable9",
            "CallVariable10",
        ];
        for (i, v) in call.vars.iter().enumerate() {
            if let Some(v) = v {
                ev = ev.s(VARS[i], v);
            }
        }
        if let Some(w) = &call.wrapup {
            ev = ev.s("CallWrapupData", w);
        }
        for (n, v) in &call.named {
            ev = ev.var(n, v);
        }
        for (i, n, v) in &call.arrays {
            ev = ev.array(*i, n, v);
        }
        ev
    }

    /// The BEGIN_CALL_EVENT describing `call` (its first connection's view).
    pub fn begin_ev(&self, call: &Call) -> Ev {
        let dev = call.conns.first().map_or("", |c| c.device.as_str());
        let ev = self
            .call_ev("BEGIN_CALL_EVENT", call, dev)
            .k("CallType", "CallType Values", call.call_type)
            .int("CalledPartyDisposition", 0);
        Self::with_call_data(ev, call)
    }

    /// The route of an event about `call`, with extra agents (ones that just left).
    pub fn route(&self, call: &Call, extra: &[usize], to_seen: bool) -> Route {
        let mut agents = call.agents();
        agents.extend_from_slice(extra);
        Route::Call {
            call: call.id,
            agents,
            devices: call.conns.iter().map(|c| c.device.clone()).collect(),
            bridges: true,
            to_seen,
            begin: Some(Arc::new(self.begin_ev(call))),
        }
    }

    /// Emits a call event to the call's parties, bridges and monitors.
    pub fn emit_call(&self, fx: &mut Effects, call: u32, ev: Ev, extra: &[usize]) {
        if let Some(c) = self.calls.get(&call) {
            let route = self.route(c, extra, false);
            fx.emit(ev, route);
        }
    }

    /// The AGENT_STATE_EVENT of agent `a` as it is now.
    pub fn agent_state_ev(&self, a: usize) -> Ev {
        let ag = &self.agents[a];
        let first = ag
            .skill_groups
            .first()
            .and_then(|n| self.groups.iter().find(|g| g.number == *n));
        let mut ev = Ev::new("AGENT_STATE_EVENT")
            .int("MonitorID", 0)
            .int("PeripheralID", self.peripheral_id)
            .int("SessionID", 0)
            .k(
                "PeripheralType",
                "PeripheralType Values",
                "PT_ENTERPRISE_AGENT",
            )
            .int("SkillGroupState", ag.state)
            .int("StateDuration", 0)
            .int("SkillGroupNumber", first.map_or(NULL_ID, |g| g.number))
            .int("SkillGroupID", first.map_or(NULL_ID, |g| g.id))
            .int("SkillGroupPriority", 0)
            .int("AgentState", ag.state)
            .int("EventReasonCode", ag.reason)
            .int("MRDID", 1)
            .int("NumTasks", u32::from(self.on_call(a)))
            .int("AgentMode", 1)
            .int("MaxTaskLimit", 1)
            .int("ICMAgentID", 5000 + a as i64)
            .int("AgentAvailabilityStatus", 0)
            .int("DepartmentID", 0)
            .s("AgentID", &ag.cfg.agent_id)
            .s("AgentExtension", &ag.cfg.extension)
            .s("AgentInstrument", ag.instrument());
        for n in &ag.skill_groups {
            if let Some(g) = self.groups.iter().find(|g| g.number == *n) {
                ev = ev
                    .int("FltSkillGroupNumber", g.number)
                    .int("FltSkillGroupID", g.id)
                    .int("FltSkillGroupPriority", 0)
                    .int("FltSkillGroupState", ag.state);
            }
        }
        ev
    }

    // -----------------------------------------------------------------------
    // Agent state.

    /// Whether agent `a` has any connection.
    pub fn on_call(&self, a: usize) -> bool {
        self.calls.values().any(|c| c.agent_conn(a).is_some())
    }

    /// Sets an agent's state and emits its AGENT_STATE_EVENT.
    pub fn set_state(&mut self, a: usize, st: u16, reason: u16, fx: &mut Effects) {
        let now = Instant::now();
        let ag = &mut self.agents[a];
        let spent = now.saturating_duration_since(ag.since);
        if ag.state == state("AGENT_STATE_AVAILABLE") {
            ag.stats.avail += spent;
        } else if ag.state == state("AGENT_STATE_NOT_READY") {
            ag.stats.not_ready += spent;
        }
        if st == state("AGENT_STATE_LOGIN") || ag.state == state("AGENT_STATE_LOGOUT") {
            ag.logged_in_at = now;
        }
        ag.state = st;
        ag.reason = reason;
        ag.since = now;
        let ev = self.agent_state_ev(a);
        fx.emit(ev, Route::AgentState(a));
        if st == state("AGENT_STATE_AVAILABLE") {
            self.route_waiting(fx);
        }
    }

    /// Brings agent `a`'s state in line with its connections: TALKING while connected
    /// or dialing, HOLD when everything is held, RESERVED while an ACD call rings, and
    /// back to the pre-call (or configured after-call) state when the calls are gone.
    pub fn refresh_agent(&mut self, a: usize, fx: &mut Effects) {
        let mut connected = false;
        let mut held = false;
        let mut ringing = false;
        for c in self.calls.values() {
            for conn in c.conns.iter().filter(|x| x.agent == Some(a)) {
                match conn.lcs {
                    "LCS_CONNECT" | "LCS_INITIATE" => connected = true,
                    "LCS_HOLD" => held = true,
                    "LCS_ALERTING" if conn.acd => ringing = true,
                    _ => {}
                }
            }
        }
        let busy = [
            state("AGENT_STATE_TALKING"),
            state("AGENT_STATE_HOLD"),
            state("AGENT_STATE_RESERVED"),
        ];
        let want = if connected {
            Some(busy[0])
        } else if held {
            Some(busy[1])
        } else if ringing {
            Some(busy[2])
        } else {
            None
        };
        let cur = self.agents[a].state;
        match want {
            Some(st) if st != cur => {
                if !busy.contains(&cur) {
                    self.agents[a].before_call = cur;
                }
                self.set_state(a, st, 0, fx);
            }
            Some(_) => {}
            None if busy.contains(&cur) => {
                let ag = &self.agents[a];
                let after = ag
                    .cfg
                    .after_call_state
                    .as_deref()
                    .and_then(|s| parse_state(s).ok())
                    .unwrap_or(ag.before_call);
                self.set_state(a, after, 0, fx);
            }
            None => {}
        }
    }

    /// Whether agent `a` may take a call of skill group `sg`.
    pub fn eligible(&self, a: usize, sg: Option<u32>) -> bool {
        let ag = &self.agents[a];
        ag.state == state("AGENT_STATE_AVAILABLE")
            && sg.is_none_or(|g| ag.skill_groups.contains(&g))
            && !self.on_call(a)
    }

    /// The longest-available eligible agent.
    pub fn pick_agent(&self, sg: Option<u32>) -> Option<usize> {
        (0..self.agents.len())
            .filter(|&a| self.eligible(a, sg))
            .min_by_key(|&a| self.agents[a].since)
    }

    /// Routes queued calls to agents that became available.
    pub fn route_waiting(&mut self, fx: &mut Effects) {
        loop {
            let mut next = None;
            let queued: Vec<u32> = self
                .groups
                .iter()
                .flat_map(|g| g.queue.iter().copied())
                .chain(self.unassigned_queue.iter().copied())
                .collect();
            for call in queued {
                let sg = self.calls.get(&call).and_then(|c| c.skill_group);
                if let Some(a) = self.pick_agent(sg) {
                    next = Some((call, a));
                    break;
                }
            }
            let Some((call, a)) = next else { return };
            self.deliver(call, a, fx);
        }
    }

    /// The skill group a dialed number routes to.
    pub fn group_of_dnis(&self, dnis: &str) -> Option<u32> {
        self.dialed
            .iter()
            .find(|d| d.number == dnis)
            .map(|d| d.skill_group)
    }

    /// Agents of a team.
    pub fn team_members(&self, team: u32) -> Vec<usize> {
        (0..self.agents.len())
            .filter(|&a| self.agents[a].cfg.team_id == Some(team))
            .collect()
    }

    /// The supervisor of agent `a`'s team (any supervisor when the agent has no team).
    pub fn supervisor_of(&self, a: usize) -> Option<usize> {
        let team = self.agents[a].cfg.team_id;
        (0..self.agents.len()).find(|&s| {
            s != a
                && self.agents[s].cfg.supervisor
                && (team.is_none() || self.agents[s].cfg.team_id == team)
        })
    }

    /// Mutable access to agent `a`'s connection on `call`.
    pub(crate) fn agent_conn_mut(&mut self, call: u32, a: usize) -> Option<&mut Conn> {
        self.calls.get_mut(&call).and_then(|c| c.agent_conn_mut(a))
    }

    /// Skill-group numbers with their SkillGroupID, for CONF lists.
    pub fn group(&self, number: u32) -> Option<&Group> {
        self.groups.iter().find(|g| g.number == number)
    }

    /// A constant used for timers: ring time before an agent answers by itself.
    pub fn answer_delay(&self, call: &Call) -> Option<Duration> {
        call.answer_after_ms
            .or(self.auto_answer_ms)
            .map(Duration::from_millis)
    }
}
