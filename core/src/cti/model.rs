//! The live agent/call model: agents, calls and skill groups kept current from the
//! event stream, without I/O.
//!
//! Feed every message the session receives to [`Model::apply`]; it returns what
//! changed. After a reconnect, call [`Model::begin_resync`] before the new session's
//! events and [`Model::end_resync`] once the server has re-announced the calls in
//! progress (BEGIN_CALL_EVENTs, snapshots): calls that were not re-announced are
//! removed then, so the model never shows a call that ended while the link was down,
//! and never drops one that is still up.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::codec::{Message, Value};
use super::event::Event;
use super::spec;

/// Identifies an agent: its peripheral and AgentID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AgentKey {
    /// PeripheralID.
    pub peripheral_id: u32,
    /// AgentID (login ID).
    pub agent_id: String,
}

/// Identifies a call: its peripheral and ConnectionCallID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CallKey {
    /// PeripheralID.
    pub peripheral_id: u32,
    /// ConnectionCallID.
    pub call_id: u32,
}

/// An agent's membership in one skill group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentSkillGroup {
    /// SkillGroupID (0xFFFFFFFF when unknown).
    pub skill_group_id: u32,
    /// SkillGroupPriority.
    pub priority: u16,
    /// Agent state in this skill group (AgentState table).
    pub state: u16,
}

/// What the model knows about an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agent {
    /// PeripheralID and AgentID.
    #[serde(flatten)]
    pub key: AgentKey,
    /// AgentExtension, if reported.
    pub extension: Option<String>,
    /// AgentInstrument, if reported.
    pub instrument: Option<String>,
    /// Current AgentState value.
    pub state: u16,
    /// Its name in the AgentState table, when known.
    pub state_name: Option<&'static str>,
    /// EventReasonCode of the last state change (0 when none).
    pub reason_code: u16,
    /// Number of active tasks (NumTasks).
    pub num_tasks: u16,
    /// Skill groups by SkillGroupNumber.
    pub skill_groups: BTreeMap<u32, AgentSkillGroup>,
}

/// One device's connection to a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Party {
    /// LocalConnectionState value as last reported for this device.
    pub state: u16,
    /// Its name in the LocalConnectionState table, when known.
    pub state_name: Option<&'static str>,
}

/// What the model knows about a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Call {
    /// PeripheralID and ConnectionCallID.
    #[serde(flatten)]
    pub key: CallKey,
    /// CallType value (0 until reported).
    pub call_type: u16,
    /// ANI.
    pub ani: Option<String>,
    /// DNIS.
    pub dnis: Option<String>,
    /// DialedNumber.
    pub dialed_number: Option<String>,
    /// CallVariable1 to CallVariable10 (index 0 is CallVariable1).
    pub call_variables: [Option<String>; 10],
    /// Named variables (ECC), by name.
    pub named_variables: BTreeMap<String, String>,
    /// Connected devices by ConnectionDeviceID, with their connection state.
    pub parties: BTreeMap<String, Party>,
    /// CallWrapupData.
    pub wrapup_data: Option<String>,
    /// Whether the call was re-announced since the last [`Model::begin_resync`].
    #[serde(skip)]
    confirmed: bool,
}

/// Skill group figures reported by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillGroup {
    /// PeripheralID.
    pub peripheral_id: u32,
    /// SkillGroupNumber.
    pub number: u32,
    /// SkillGroupID, when known.
    pub id: Option<u32>,
    /// Agents known to be in this skill group, by AgentID.
    pub agents: Vec<String>,
}

/// Something the model changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change")]
pub enum Change {
    /// An agent appeared or changed.
    AgentUpdated(AgentKey),
    /// A call appeared.
    CallAdded(CallKey),
    /// A call changed (data, parties or states).
    CallUpdated(CallKey),
    /// A call ended (END_CALL_EVENT, or not re-announced after a reconnect).
    CallRemoved(CallKey),
    /// A peripheral's online status changed.
    PeripheralUpdated {
        /// PeripheralID.
        peripheral_id: u32,
        /// Whether it is online.
        online: bool,
    },
}

/// The live model. Cheap to query; updated by [`Model::apply`].
#[derive(Debug, Default, Clone)]
pub struct Model {
    agents: HashMap<AgentKey, Agent>,
    calls: HashMap<CallKey, Call>,
    peripherals: BTreeMap<u32, bool>,
    resyncing: bool,
}

/// What the model reads from a message: implemented by the owned [`Message`] and by a
/// received [`Event`] (read straight from its bytes, no decode).
pub trait ModelInput {
    /// Canonical message name.
    fn name(&self) -> &'static str;
    /// A fixed field, or the first occurrence of a numeric floating field.
    fn u32(&self, field: &str) -> Option<u32>;
    /// The first occurrence of a STRING field.
    fn str(&self, field: &str) -> Option<&str>;
    /// Every occurrence of a floating field, as a number where it is one.
    fn all_u32(&self, field: &str) -> Vec<Option<u32>>;
    /// Every occurrence of a floating field, as text where it is a STRING.
    fn all_str(&self, field: &str) -> Vec<Option<&str>>;
    /// The named variables, in wire order.
    fn named_vars(&self) -> Vec<(&str, &str)>;
}

impl ModelInput for Message {
    fn name(&self) -> &'static str {
        Message::name(self)
    }
    fn u32(&self, field: &str) -> Option<u32> {
        Message::u32(self, field)
    }
    fn str(&self, field: &str) -> Option<&str> {
        Message::str(self, field)
    }
    fn all_u32(&self, field: &str) -> Vec<Option<u32>> {
        self.get_all(field).into_iter().map(Value::as_u32).collect()
    }
    fn all_str(&self, field: &str) -> Vec<Option<&str>> {
        self.get_all(field).into_iter().map(Value::as_str).collect()
    }
    fn named_vars(&self) -> Vec<(&str, &str)> {
        self.get_all("NamedVariable")
            .into_iter()
            .filter_map(|v| match v {
                Value::NamedVar(nv) => Some((nv.name.as_str(), nv.value.as_str())),
                _ => None,
            })
            .collect()
    }
}

impl ModelInput for Event {
    fn name(&self) -> &'static str {
        Event::name(self)
    }
    fn u32(&self, field: &str) -> Option<u32> {
        Event::u32(self, field)
    }
    fn str(&self, field: &str) -> Option<&str> {
        Event::str(self, field)
    }
    fn all_u32(&self, field: &str) -> Vec<Option<u32>> {
        let Some((_, want)) = self.spec().float_by_name(field) else {
            return Vec::new();
        };
        self.fields()
            .filter(|f| f.field.is_some_and(|x| std::ptr::eq(x, want)))
            .map(|f| f.u32())
            .collect()
    }
    fn all_str(&self, field: &str) -> Vec<Option<&str>> {
        let Some((_, want)) = self.spec().float_by_name(field) else {
            return Vec::new();
        };
        self.fields()
            .filter(|f| f.field.is_some_and(|x| std::ptr::eq(x, want)))
            .map(|f| f.str())
            .collect()
    }
    fn named_vars(&self) -> Vec<(&str, &str)> {
        Event::named_vars(self).collect()
    }
}

fn text(m: &impl ModelInput, name: &str) -> Option<String> {
    m.str(name).map(str::to_owned)
}

/// CallVariable1..10.
const CALL_VARIABLES: [&str; 10] = [
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

fn const_name(table: &str, v: u16) -> Option<&'static str> {
    spec::table(table).and_then(|t| t.name_of(u32::from(v)))
}

fn u16_of(m: &impl ModelInput, name: &str) -> Option<u16> {
    m.u32(name).map(|v| v as u16)
}

impl Model {
    /// An empty model.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every agent, sorted by key.
    pub fn agents(&self) -> Vec<&Agent> {
        let mut v: Vec<&Agent> = self.agents.values().collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
    }

    /// One agent.
    pub fn agent(&self, peripheral_id: u32, agent_id: &str) -> Option<&Agent> {
        self.agents.get(&AgentKey {
            peripheral_id,
            agent_id: agent_id.to_owned(),
        })
    }

    /// The first agent with this AgentID on any peripheral.
    pub fn agent_by_id(&self, agent_id: &str) -> Option<&Agent> {
        self.agents
            .values()
            .filter(|a| a.key.agent_id == agent_id)
            .min_by_key(|a| a.key.peripheral_id)
    }

    /// Every call, sorted by key.
    pub fn calls(&self) -> Vec<&Call> {
        let mut v: Vec<&Call> = self.calls.values().collect();
        v.sort_by_key(|c| c.key);
        v
    }

    /// One call.
    pub fn call(&self, peripheral_id: u32, call_id: u32) -> Option<&Call> {
        self.calls.get(&CallKey {
            peripheral_id,
            call_id,
        })
    }

    /// Skill groups derived from the agents' memberships, sorted by (peripheral, number).
    pub fn skill_groups(&self) -> Vec<SkillGroup> {
        let mut groups: BTreeMap<(u32, u32), SkillGroup> = BTreeMap::new();
        for a in self.agents() {
            for (num, sg) in &a.skill_groups {
                let g = groups
                    .entry((a.key.peripheral_id, *num))
                    .or_insert_with(|| SkillGroup {
                        peripheral_id: a.key.peripheral_id,
                        number: *num,
                        id: None,
                        agents: Vec::new(),
                    });
                if sg.skill_group_id != u32::MAX {
                    g.id = Some(sg.skill_group_id);
                }
                g.agents.push(a.key.agent_id.clone());
            }
        }
        groups.into_values().collect()
    }

    /// Known peripherals and whether each is online.
    pub fn peripherals(&self) -> &BTreeMap<u32, bool> {
        &self.peripherals
    }

    /// The whole model as JSON: `{"agents":[...],"calls":[...],"skill_groups":[...],"peripherals":{...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "agents": self.agents(),
            "calls": self.calls(),
            "skill_groups": self.skill_groups(),
            "peripherals": self.peripherals.iter().map(|(k, v)| (k.to_string(), serde_json::Value::Bool(*v))).collect::<serde_json::Map<_, _>>(),
        })
    }

    /// Marks every call as unconfirmed: the link dropped and a new session is opening.
    pub fn begin_resync(&mut self) {
        self.resyncing = true;
        for c in self.calls.values_mut() {
            c.confirmed = false;
        }
    }

    /// Whether a resync is in progress.
    pub fn is_resyncing(&self) -> bool {
        self.resyncing
    }

    /// Ends a resync: removes the calls that were not re-announced.
    pub fn end_resync(&mut self) -> Vec<Change> {
        if !self.resyncing {
            return Vec::new();
        }
        self.resyncing = false;
        let mut gone: Vec<CallKey> = self
            .calls
            .values()
            .filter(|c| !c.confirmed)
            .map(|c| c.key)
            .collect();
        gone.sort();
        for k in &gone {
            self.calls.remove(k);
        }
        gone.into_iter().map(Change::CallRemoved).collect()
    }

    /// Whether [`Model::apply`] reads messages of this name (the others leave the
    /// model as it is): agent state and snapshots (AGENT_STATE_EVENT,
    /// QUERY_AGENT_STATE_CONF, OPEN_CONF), SYSTEM_EVENT and the call events (CALL_*_EVENT,
    /// BEGIN_CALL_EVENT, END_CALL_EVENT).
    pub fn reads(name: &str) -> bool {
        matches!(
            name,
            "AGENT_STATE_EVENT"
                | "QUERY_AGENT_STATE_CONF"
                | "OPEN_CONF"
                | "SYSTEM_EVENT"
                | "BEGIN_CALL_EVENT"
                | "END_CALL_EVENT"
        ) || (name.starts_with("CALL_") && name.ends_with("_EVENT"))
    }

    /// [`Model::apply`] for a received event, read straight from its bytes; message
    /// types the model does not read (see [`Model::reads`]) cost one name comparison.
    pub fn apply_event(&mut self, ev: &Event) -> Vec<Change> {
        if !Self::reads(ev.name()) {
            return Vec::new();
        }
        self.apply(ev)
    }

    /// Updates the model from one received message and says what changed.
    pub fn apply(&mut self, m: &impl ModelInput) -> Vec<Change> {
        let mut out = Vec::new();
        match m.name() {
            "AGENT_STATE_EVENT" => self.on_agent_state(m, &mut out),
            "QUERY_AGENT_STATE_CONF" | "OPEN_CONF" => self.on_agent_snapshot(m, &mut out),
            "SYSTEM_EVENT" => self.on_system(m, &mut out),
            "BEGIN_CALL_EVENT" | "CALL_DATA_UPDATE_EVENT" => self.on_call_data(m, &mut out),
            "END_CALL_EVENT" => {
                if let Some(key) = self.call_key(m, "ConnectionCallID") {
                    if self.calls.remove(&key).is_some() {
                        out.push(Change::CallRemoved(key));
                    }
                }
            }
            "CALL_CONNECTION_CLEARED_EVENT" => {
                if let (Some(key), Some(dev)) = (
                    self.call_key(m, "ConnectionCallID"),
                    m.str("ConnectionDeviceID"),
                ) {
                    if let Some(c) = self.calls.get_mut(&key) {
                        if c.parties.remove(dev).is_some() {
                            out.push(Change::CallUpdated(key));
                        }
                    }
                }
            }
            "CALL_TRANSFERRED_EVENT" | "CALL_CONFERENCED_EVENT" => self.on_merge(m, &mut out),
            name if name.starts_with("CALL_") && name.ends_with("_EVENT") => {
                self.on_call_event(m, &mut out)
            }
            _ => {}
        }
        out
    }

    fn call_key(&self, m: &impl ModelInput, id_field: &str) -> Option<CallKey> {
        Some(CallKey {
            peripheral_id: m.u32("PeripheralID")?,
            call_id: m.u32(id_field)?,
        })
    }

    fn call_entry(&mut self, key: CallKey, out: &mut Vec<Change>) -> &mut Call {
        let added = !self.calls.contains_key(&key);
        let resyncing = self.resyncing;
        let c = self.calls.entry(key).or_insert_with(|| Call {
            key,
            call_type: 0,
            ani: None,
            dnis: None,
            dialed_number: None,
            call_variables: Default::default(),
            named_variables: BTreeMap::new(),
            parties: BTreeMap::new(),
            wrapup_data: None,
            confirmed: true,
        });
        if resyncing {
            c.confirmed = true;
        }
        out.push(if added {
            Change::CallAdded(key)
        } else {
            Change::CallUpdated(key)
        });
        c
    }

    fn on_call_data(&mut self, m: &impl ModelInput, out: &mut Vec<Change>) {
        let Some(key) = self.call_key(m, "ConnectionCallID") else {
            return;
        };
        // CALL_DATA_UPDATE_EVENT may move the call to a new ConnectionCallID.
        let new_key = m
            .u32("NewConnectionCallID")
            .filter(|id| *id != key.call_id && *id != 0 && *id != u32::MAX)
            .map(|id| CallKey { call_id: id, ..key });
        if let Some(nk) = new_key {
            if let Some(mut c) = self.calls.remove(&key) {
                c.key = nk;
                self.calls.insert(nk, c);
                out.push(Change::CallRemoved(key));
            }
        }
        let key = new_key.unwrap_or(key);
        let c = self.call_entry(key, out);
        if let Some(t) = u16_of(m, "CallType") {
            c.call_type = t;
        }
        for (field, slot) in [
            ("ANI", &mut c.ani),
            ("DNIS", &mut c.dnis),
            ("DialedNumber", &mut c.dialed_number),
            ("CallWrapupData", &mut c.wrapup_data),
        ] {
            if let Some(v) = text(m, field) {
                *slot = Some(v);
            }
        }
        for (slot, field) in c.call_variables.iter_mut().zip(CALL_VARIABLES) {
            if let Some(v) = text(m, field) {
                *slot = Some(v);
            }
        }
        for (name, value) in m.named_vars() {
            c.named_variables.insert(name.to_owned(), value.to_owned());
        }
        if let Some(dev) = m.str("ConnectionDeviceID").filter(|d| !d.is_empty()) {
            c.parties.entry(dev.to_owned()).or_insert(Party {
                state: 0xFFFF,
                state_name: None,
            });
        }
    }

    fn on_call_event(&mut self, m: &impl ModelInput, out: &mut Vec<Change>) {
        let Some(key) = self.call_key(m, "ConnectionCallID") else {
            return;
        };
        let state = u16_of(m, "LocalConnectionState");
        let device = text(m, "ConnectionDeviceID").filter(|d| !d.is_empty());
        let c = self.call_entry(key, out);
        for (field, slot) in [("ANI", &mut c.ani), ("DNIS", &mut c.dnis)] {
            if let Some(v) = text(m, field) {
                *slot = Some(v);
            }
        }
        if let Some(dev) = device {
            let p = c.parties.entry(dev).or_insert(Party {
                state: 0xFFFF,
                state_name: None,
            });
            if let Some(s) = state {
                p.state = s;
                p.state_name = const_name("LocalConnectionState Values", s);
            }
        }
    }

    fn on_merge(&mut self, m: &impl ModelInput, out: &mut Vec<Change>) {
        // The secondary call's parties join the primary call; the secondary call ends.
        let (Some(primary), Some(secondary)) = (
            self.call_key(m, "PrimaryCallID"),
            self.call_key(m, "SecondaryCallID"),
        ) else {
            return;
        };
        let moved = if primary != secondary {
            self.calls.remove(&secondary)
        } else {
            None
        };
        if moved.is_some() {
            out.push(Change::CallRemoved(secondary));
        }
        let state = u16_of(m, "LocalConnectionState");
        let c = self.call_entry(primary, out);
        if let Some(s) = moved {
            for (dev, p) in s.parties {
                c.parties.entry(dev).or_insert(p);
            }
            for (k, v) in s.named_variables {
                c.named_variables.entry(k).or_insert(v);
            }
        }
        for dev_field in ["TransferringDeviceID", "TransferredDeviceID"] {
            if m.name() == "CALL_TRANSFERRED_EVENT" && dev_field == "TransferringDeviceID" {
                // The transferring party leaves the call.
                if let Some(d) = m.str(dev_field) {
                    c.parties.remove(d);
                }
                continue;
            }
            if let Some(d) = m.str(dev_field).filter(|d| !d.is_empty()) {
                c.parties.entry(d.to_owned()).or_insert(Party {
                    state: 0xFFFF,
                    state_name: None,
                });
            }
        }
        for d in m.all_str("ConnectedPartyDeviceID") {
            if let Some(d) = d.filter(|d| !d.is_empty()) {
                c.parties.entry(d.to_owned()).or_insert(Party {
                    state: 0xFFFF,
                    state_name: None,
                });
            }
        }
        if let (Some(dev), Some(s)) = (m.str("PrimaryDeviceID"), state) {
            if let Some(p) = c.parties.get_mut(dev) {
                p.state = s;
                p.state_name = const_name("LocalConnectionState Values", s);
            }
        }
    }

    fn agent_entry(&mut self, key: AgentKey) -> &mut Agent {
        self.agents.entry(key.clone()).or_insert_with(|| Agent {
            key,
            extension: None,
            instrument: None,
            state: 0xFFFF,
            state_name: None,
            reason_code: 0,
            num_tasks: 0,
            skill_groups: BTreeMap::new(),
        })
    }

    fn on_agent_state(&mut self, m: &impl ModelInput, out: &mut Vec<Change>) {
        let Some(agent_id) = m
            .str("AgentID")
            .or_else(|| m.str("AgentIDLong"))
            .filter(|s| !s.is_empty())
        else {
            return;
        };
        let key = AgentKey {
            peripheral_id: m.u32("PeripheralID").unwrap_or(u32::MAX),
            agent_id: agent_id.to_owned(),
        };
        let a = self.agent_entry(key.clone());
        if let Some(s) = u16_of(m, "AgentState") {
            a.state = s;
            a.state_name = const_name("AgentState Values", s);
        }
        a.reason_code = u16_of(m, "EventReasonCode").unwrap_or(0);
        if let Some(n) = u16_of(m, "NumTasks") {
            a.num_tasks = n;
        }
        if let Some(x) = text(m, "AgentExtension") {
            a.extension = Some(x);
        }
        if let Some(x) = text(m, "AgentInstrument") {
            a.instrument = Some(x);
        }
        // The skill group the event is about (0xFFFFFFFF = none).
        if let Some(num) = m.u32("SkillGroupNumber").filter(|n| *n != u32::MAX) {
            a.skill_groups.insert(
                num,
                AgentSkillGroup {
                    skill_group_id: m.u32("SkillGroupID").unwrap_or(u32::MAX),
                    priority: u16_of(m, "SkillGroupPriority").unwrap_or(0),
                    state: u16_of(m, "SkillGroupState").unwrap_or(a.state),
                },
            );
        }
        // The floating per-skill-group lists (FltSkillGroup*).
        let nums = m.all_u32("FltSkillGroupNumber");
        let ids = m.all_u32("FltSkillGroupID");
        let prios = m.all_u32("FltSkillGroupPriority");
        let states = m.all_u32("FltSkillGroupState");
        for (i, num) in nums.iter().enumerate() {
            let Some(num) = *num else { continue };
            a.skill_groups.insert(
                num,
                AgentSkillGroup {
                    skill_group_id: ids.get(i).copied().flatten().unwrap_or(u32::MAX),
                    priority: prios.get(i).copied().flatten().unwrap_or(0) as u16,
                    state: states
                        .get(i)
                        .copied()
                        .flatten()
                        .map_or(a.state, |v| v as u16),
                },
            );
        }
        out.push(Change::AgentUpdated(key));
    }

    fn on_agent_snapshot(&mut self, m: &impl ModelInput, out: &mut Vec<Change>) {
        // OPEN_CONF and QUERY_AGENT_STATE_CONF describe the session's own agent.
        let Some(agent_id) = m.str("AgentID").filter(|s| !s.is_empty()) else {
            return;
        };
        let peripheral_id = m
            .all_u32("FltPeripheralID")
            .first()
            .copied()
            .flatten()
            .or_else(|| m.u32("PeripheralID"))
            .or_else(|| {
                self.agents
                    .keys()
                    .find(|k| k.agent_id == agent_id)
                    .map(|k| k.peripheral_id)
            })
            .unwrap_or(u32::MAX);
        let key = AgentKey {
            peripheral_id,
            agent_id: agent_id.to_owned(),
        };
        let a = self.agent_entry(key.clone());
        if let Some(s) = u16_of(m, "AgentState") {
            a.state = s;
            a.state_name = const_name("AgentState Values", s);
        }
        if let Some(x) = text(m, "AgentExtension") {
            a.extension = Some(x);
        }
        if let Some(x) = text(m, "AgentInstrument") {
            a.instrument = Some(x);
        }
        if let Some(n) = u16_of(m, "NumTasks") {
            a.num_tasks = n;
        }
        let nums = m.all_u32("SkillGroupNumber");
        let ids = m.all_u32("SkillGroupID");
        let prios = m.all_u32("SkillGroupPriority");
        let states = m.all_u32("SkillGroupState");
        if !nums.is_empty() {
            a.skill_groups.clear();
        }
        for (i, num) in nums.iter().enumerate() {
            let Some(num) = *num else { continue };
            a.skill_groups.insert(
                num,
                AgentSkillGroup {
                    skill_group_id: ids.get(i).copied().flatten().unwrap_or(u32::MAX),
                    priority: prios.get(i).copied().flatten().unwrap_or(0) as u16,
                    state: states
                        .get(i)
                        .copied()
                        .flatten()
                        .map_or(a.state, |v| v as u16),
                },
            );
        }
        out.push(Change::AgentUpdated(key));
    }

    fn on_system(&mut self, m: &impl ModelInput, out: &mut Vec<Change>) {
        let event = m
            .u32("SystemEventID")
            .and_then(|v| spec::table("SystemEventID Values").and_then(|t| t.name_of(v)));
        let online = match event {
            Some("SYS_PERIPHERAL_ONLINE") => true,
            Some("SYS_PERIPHERAL_OFFLINE") => false,
            _ => return,
        };
        let Some(pid) = m.u32("SystemEventArg1") else {
            return;
        };
        if self.peripherals.insert(pid, online) != Some(online) {
            out.push(Change::PeripheralUpdated {
                peripheral_id: pid,
                online,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(name: &str, ints: &[(&str, i64)], strs: &[(&str, &str)]) -> Message {
        let mut m = Message::new(name, 24).unwrap();
        for (k, v) in ints {
            m.set_int(k, *v).unwrap();
        }
        for (k, v) in strs {
            m.set_str(k, v).unwrap();
        }
        m
    }

    fn state(name: &str) -> i64 {
        i64::from(spec::constant("LocalConnectionState Values", name).unwrap())
    }

    fn begin(call: i64, dev: &str) -> Message {
        let mut m = msg(
            "BEGIN_CALL_EVENT",
            &[
                ("PeripheralID", 5000),
                ("ConnectionCallID", call),
                ("CallType", 1),
            ],
            &[
                ("ConnectionDeviceID", dev),
                ("ANI", "5551234"),
                ("CallVariable3", "acct-9"),
            ],
        );
        m.add_named_var("user.case", "42").unwrap();
        m.update_counts().unwrap();
        m
    }

    #[test]
    fn a_call_lives_from_begin_to_end_with_party_states() {
        let mut model = Model::new();
        let key = CallKey {
            peripheral_id: 5000,
            call_id: 7,
        };
        assert_eq!(model.apply(&begin(7, "5001")), vec![Change::CallAdded(key)]);
        let est = msg(
            "CALL_ESTABLISHED_EVENT",
            &[
                ("PeripheralID", 5000),
                ("ConnectionCallID", 7),
                ("LocalConnectionState", state("LCS_CONNECT")),
            ],
            &[("ConnectionDeviceID", "5001")],
        );
        assert_eq!(model.apply(&est), vec![Change::CallUpdated(key)]);
        let c = model.call(5000, 7).unwrap();
        assert_eq!(c.ani.as_deref(), Some("5551234"));
        assert_eq!(c.call_variables[2].as_deref(), Some("acct-9"));
        assert_eq!(
            c.named_variables.get("user.case").map(String::as_str),
            Some("42")
        );
        assert_eq!(c.parties["5001"].state_name, Some("LCS_CONNECT"));
        let end = msg(
            "END_CALL_EVENT",
            &[("PeripheralID", 5000), ("ConnectionCallID", 7)],
            &[("ConnectionDeviceID", "5001")],
        );
        assert_eq!(model.apply(&end), vec![Change::CallRemoved(key)]);
        assert!(model.calls().is_empty());
        // A second END_CALL_EVENT changes nothing.
        assert!(model.apply(&end).is_empty());
    }

    /// The same messages read from their bytes (a received Event) and from the owned
    /// form build the same model and report the same changes.
    #[test]
    fn events_and_messages_build_the_same_model() {
        let ready = spec::constant("AgentState Values", "AGENT_STATE_AVAILABLE").unwrap();
        let mut agent = msg(
            "AGENT_STATE_EVENT",
            &[
                ("PeripheralID", 5000),
                ("AgentState", ready.into()),
                ("EventReasonCode", 7),
                ("SkillGroupNumber", 12),
                ("SkillGroupID", 5012),
                ("NumTasks", 1),
            ],
            &[("AgentID", "1001"), ("AgentExtension", "5001")],
        );
        for (n, id) in [(3, 5003), (4, 5004)] {
            agent
                .push_floating("FltSkillGroupNumber", Value::Int(n))
                .unwrap();
            agent
                .push_floating("FltSkillGroupID", Value::UInt(id))
                .unwrap();
        }
        agent.update_counts().unwrap();
        let est = msg(
            "CALL_ESTABLISHED_EVENT",
            &[
                ("PeripheralID", 5000),
                ("ConnectionCallID", 1),
                ("LocalConnectionState", state("LCS_CONNECT")),
            ],
            &[("ConnectionDeviceID", "5001")],
        );
        let transfer = msg(
            "CALL_TRANSFERRED_EVENT",
            &[
                ("PeripheralID", 5000),
                ("PrimaryCallID", 1),
                ("SecondaryCallID", 2),
            ],
            &[
                ("TransferringDeviceID", "5001"),
                ("TransferredDeviceID", "5002"),
            ],
        );
        let sequence = [
            agent,
            begin(1, "5001"),
            begin(2, "5003"),
            est,
            transfer,
            msg("HEARTBEAT_CONF", &[("InvokeID", 1)], &[]),
        ];
        let (mut owned, mut viewed) = (Model::new(), Model::new());
        for m in &sequence {
            let ev = Event::from_message(m, 24).unwrap();
            assert_eq!(owned.apply(m), viewed.apply_event(&ev), "{}", m.name());
        }
        assert_eq!(owned.to_json(), viewed.to_json());
        assert_eq!(owned.calls().len(), 1);
        assert_eq!(owned.agent(5000, "1001").unwrap().skill_groups.len(), 3);
    }

    #[test]
    fn agent_state_events_track_state_reason_and_skill_groups() {
        let mut model = Model::new();
        let ready = spec::constant("AgentState Values", "AGENT_STATE_AVAILABLE").unwrap();
        let m = msg(
            "AGENT_STATE_EVENT",
            &[
                ("PeripheralID", 5000),
                ("AgentState", ready.into()),
                ("EventReasonCode", 0),
                ("SkillGroupNumber", 12),
                ("SkillGroupID", 5012),
                ("SkillGroupState", ready.into()),
            ],
            &[("AgentID", "1001"), ("AgentExtension", "5001")],
        );
        let key = AgentKey {
            peripheral_id: 5000,
            agent_id: "1001".into(),
        };
        assert_eq!(model.apply(&m), vec![Change::AgentUpdated(key)]);
        let a = model.agent(5000, "1001").unwrap();
        assert_eq!(a.state_name, Some("AGENT_STATE_AVAILABLE"));
        assert_eq!(a.extension.as_deref(), Some("5001"));
        assert_eq!(a.skill_groups[&12].skill_group_id, 5012);
        let groups = model.skill_groups();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].agents, vec!["1001".to_string()]);
        let nr = spec::constant("AgentState Values", "AGENT_STATE_NOT_READY").unwrap();
        let m = msg(
            "AGENT_STATE_EVENT",
            &[
                ("PeripheralID", 5000),
                ("AgentState", nr.into()),
                ("EventReasonCode", 33),
                ("SkillGroupNumber", 0xFFFF_FFFF),
            ],
            &[("AgentID", "1001")],
        );
        model.apply(&m);
        let a = model.agent_by_id("1001").unwrap();
        assert_eq!(
            (a.state_name, a.reason_code),
            (Some("AGENT_STATE_NOT_READY"), 33)
        );
        assert_eq!(a.skill_groups.len(), 1, "membership kept");
    }

    #[test]
    fn transfer_moves_parties_to_the_primary_call_and_drops_the_consult_call() {
        let mut model = Model::new();
        model.apply(&begin(1, "5001"));
        model.apply(&begin(2, "5001"));
        let m = msg(
            "CALL_TRANSFERRED_EVENT",
            &[
                ("PeripheralID", 5000),
                ("PrimaryCallID", 1),
                ("SecondaryCallID", 2),
            ],
            &[
                ("TransferringDeviceID", "5001"),
                ("TransferredDeviceID", "5002"),
            ],
        );
        let changes = model.apply(&m);
        assert!(changes.contains(&Change::CallRemoved(CallKey {
            peripheral_id: 5000,
            call_id: 2
        })));
        let c = model.call(5000, 1).unwrap();
        assert!(c.parties.contains_key("5002"));
        assert!(
            !c.parties.contains_key("5001"),
            "the transferring agent left"
        );
        assert_eq!(model.calls().len(), 1);
    }

    #[test]
    fn resync_keeps_reannounced_calls_and_drops_the_others() {
        let mut model = Model::new();
        model.apply(&begin(1, "5001"));
        model.apply(&begin(2, "5002"));
        model.begin_resync();
        assert!(model.is_resyncing());
        model.apply(&begin(2, "5002"));
        assert_eq!(
            model.end_resync(),
            vec![Change::CallRemoved(CallKey {
                peripheral_id: 5000,
                call_id: 1
            })]
        );
        assert_eq!(model.calls().len(), 1);
        assert_eq!(model.call(5000, 2).unwrap().ani.as_deref(), Some("5551234"));
        assert!(model.end_resync().is_empty());
    }

    #[test]
    fn call_data_update_can_rename_the_call_and_system_events_track_peripherals() {
        let mut model = Model::new();
        model.apply(&begin(1, "5001"));
        let m = msg(
            "CALL_DATA_UPDATE_EVENT",
            &[
                ("PeripheralID", 5000),
                ("ConnectionCallID", 1),
                ("NewConnectionCallID", 9),
            ],
            &[("CallVariable1", "x")],
        );
        model.apply(&m);
        assert!(model.call(5000, 1).is_none());
        let c = model.call(5000, 9).unwrap();
        assert_eq!(c.call_variables[0].as_deref(), Some("x"));
        assert_eq!(c.call_variables[2].as_deref(), Some("acct-9"));
        let off = spec::constant("SystemEventID Values", "SYS_PERIPHERAL_OFFLINE").unwrap();
        let m = msg(
            "SYSTEM_EVENT",
            &[("SystemEventID", off.into()), ("SystemEventArg1", 5000)],
            &[],
        );
        assert_eq!(
            model.apply(&m),
            vec![Change::PeripheralUpdated {
                peripheral_id: 5000,
                online: false
            }]
        );
        assert_eq!(model.peripherals().get(&5000), Some(&false));
        let json = model.to_json();
        assert_eq!(json["calls"][0]["call_id"], 9);
        assert_eq!(json["peripherals"]["5000"], false);
    }
}
