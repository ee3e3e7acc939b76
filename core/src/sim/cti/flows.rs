//! Call flows on the peripheral model, each with the event sequence a CTI Server sends.
//!
//! The sequences (also in `docs/simulator.md`):
//! * inbound, agent available: BEGIN_CALL, AGENT_STATE(RESERVED), CALL_DELIVERED;
//!   answered: CALL_ESTABLISHED, AGENT_STATE(TALKING); no agent: BEGIN_CALL,
//!   CALL_QUEUED, later CALL_DEQUEUED then as above.
//! * release: CALL_CONNECTION_CLEARED, then when fewer than two parties remain
//!   CALL_CLEARED, END_CALL and AGENT_STATE (after-call state).
//! * outbound: BEGIN_CALL, CALL_SERVICE_INITIATED, AGENT_STATE(TALKING),
//!   CALL_ORIGINATED, CALL_DELIVERED, then CALL_ESTABLISHED when the far end answers
//!   (an external number answers at once, an agent when it answers).
//! * hold/retrieve: CALL_HELD + AGENT_STATE(HOLD) / CALL_RETRIEVED + AGENT_STATE(TALKING).
//! * consultation: CALL_HELD on the original call, then the outbound sequence on a new
//!   call of type CONSULT; transfer: CALL_TRANSFERRED, END_CALL of the consult call,
//!   END_CALL of the original call for the transferring agent only; conference:
//!   CALL_CONFERENCED, END_CALL of the consult call.

use std::time::Duration;

use super::config::SimCall;
use super::consts::state;
use super::ev::Ev;
use super::model::{Conn, Effects, Model, Refusal, Route, Timer, NULL_ID};

type Flow<T = ()> = Result<T, Refusal>;

const NO_ACTIVE: Refusal = Refusal::Control("CF_NO_ACTIVE_CALL");
const NO_HELD: Refusal = Refusal::Control("CF_NO_HELD_CALL");
const BAD_CONN: Refusal = Refusal::Control("CF_INVALID_CSTA_CONNECTION_IDENTIFIER");

/// Supervisory actions (SUPERVISE_CALL_REQ.SupervisoryAction field note: 0 clear,
/// 1 monitor, 2 whisper, 3 barge-in, 4 intercept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Supervise {
    Clear,
    Monitor,
    Whisper,
    BargeIn,
    Intercept,
}

impl Supervise {
    pub fn from_code(v: u32) -> Option<Self> {
        Some(match v {
            0 => Supervise::Clear,
            1 => Supervise::Monitor,
            2 => Supervise::Whisper,
            3 => Supervise::BargeIn,
            4 => Supervise::Intercept,
            _ => return None,
        })
    }
}

impl Model {
    fn dev_ev(ev: Ev, field: &'static str, ty_field: &'static str, conn: Option<&Conn>) -> Ev {
        match conn {
            Some(c) => ev
                .k(ty_field, "DeviceIDType Values", c.dev_type)
                .s(field, &c.device),
            None => ev.k(ty_field, "DeviceIDType Values", "DEVID_NONE"),
        }
    }

    /// CALL_DELIVERED_EVENT for `device` ringing on `call`.
    fn delivered_ev(&self, call: u32, device: &str, cause: &str) -> Option<Ev> {
        let c = self.calls.get(&call)?;
        let conn = c.conn(device)?;
        let calling = c.conns.first();
        let ev = self.call_ev("CALL_DELIVERED_EVENT", c, device);
        let ev = self.with_group(ev, c).int("LineHandle", 0).k(
            "LineType",
            "LineType Values",
            c.line_type,
        );
        let ev = Self::dev_ev(ev, "AlertingDeviceID", "AlertingDeviceType", Some(conn));
        let ev = Self::dev_ev(ev, "CallingDeviceID", "CallingDeviceType", calling);
        let ev = ev
            .k(
                "CalledDeviceType",
                "DeviceIDType Values",
                "DEVID_DEVICE_IDENTIFIER",
            )
            .s("CalledDeviceID", c.dialed.as_deref().unwrap_or(&c.dnis))
            .k(
                "LastRedirectDeviceType",
                "DeviceIDType Values",
                "DEVID_NONE",
            )
            .k(
                "LocalConnectionState",
                "LocalConnectionState Values",
                "LCS_ALERTING",
            )
            .k("EventCause", "EventCause Values", cause);
        Some(Self::with_call_data(ev, c))
    }

    /// CALL_ESTABLISHED_EVENT for `device` answering `call`.
    fn established_ev(&self, call: u32, device: &str, cause: &str) -> Option<Ev> {
        let c = self.calls.get(&call)?;
        let conn = c.conn(device)?;
        let ev = self.call_ev("CALL_ESTABLISHED_EVENT", c, device);
        let ev = self.with_group(ev, c).int("LineHandle", 0).k(
            "LineType",
            "LineType Values",
            c.line_type,
        );
        let ev = Self::dev_ev(ev, "AnsweringDeviceID", "AnsweringDeviceType", Some(conn));
        let ev = Self::dev_ev(ev, "CallingDeviceID", "CallingDeviceType", c.conns.first());
        Some(
            ev.k(
                "CalledDeviceType",
                "DeviceIDType Values",
                "DEVID_DEVICE_IDENTIFIER",
            )
            .s("CalledDeviceID", c.dialed.as_deref().unwrap_or(&c.dnis))
            .k(
                "LastRedirectDeviceType",
                "DeviceIDType Values",
                "DEVID_NONE",
            )
            .k(
                "LocalConnectionState",
                "LocalConnectionState Values",
                "LCS_CONNECT",
            )
            .k("EventCause", "EventCause Values", cause),
        )
    }

    fn simple_ev(
        &self,
        name: &'static str,
        call: u32,
        device: &str,
        (dev_field, type_field): (&'static str, &'static str),
        lcs: &str,
        cause: &str,
    ) -> Option<Ev> {
        let c = self.calls.get(&call)?;
        let conn = c.conn(device).cloned().unwrap_or_else(|| Conn {
            device: device.to_owned(),
            dev_type: "DEVID_DEVICE_IDENTIFIER",
            agent: None,
            lcs: "LCS_NULL",
            acd: false,
        });
        let ev = self.call_ev(name, c, device);
        let ev = Self::dev_ev(ev, dev_field, type_field, Some(&conn));
        Some(
            ev.k("LocalConnectionState", "LocalConnectionState Values", lcs)
                .k("EventCause", "EventCause Values", cause),
        )
    }

    // -----------------------------------------------------------------------
    // Inbound.

    /// Offers an inbound call: routed to an available agent, else queued.
    pub fn offer(&mut self, sc: &SimCall, fx: &mut Effects) -> Result<u32, super::SimError> {
        sc.check()?;
        let target = match &sc.agent_id {
            Some(id) => {
                let a = self
                    .agent_by_id(id)
                    .ok_or_else(|| super::SimError::UnknownAgent(id.clone()))?;
                if !self.eligible(a, None) {
                    return Err(super::SimError::AgentNotAvailable {
                        agent: id.clone(),
                        state: super::consts::state_name(self.agents[a].state).to_owned(),
                    });
                }
                Some(a)
            }
            None => None,
        };
        let sg = sc.skill_group.or_else(|| self.group_of_dnis(&sc.dnis));
        if let Some(n) = sg {
            self.add_group(n, None, None);
        }
        let id = self.new_call("CALLTYPE_ACD_IN", "LINETYPE_INBOUND_ACD");
        self.set_call_data(id, sc);
        if let Some(c) = self.calls.get_mut(&id) {
            c.skill_group = sg;
            c.conns.push(Conn::external(&sc.ani, "LCS_CONNECT"));
        }
        if let Some(c) = self.calls.get(&id) {
            let begin = self.begin_ev(c);
            let route = self.route(c, &[], false);
            fx.emit(begin, route);
        }
        match target.or_else(|| self.pick_agent(sg)) {
            Some(a) => self.deliver(id, a, fx),
            None => self.enqueue(id, fx),
        }
        Ok(id)
    }

    fn enqueue(&mut self, id: u32, fx: &mut Effects) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        c.queued = true;
        let sg = c.skill_group;
        let num_queued = match sg.and_then(|n| self.groups.iter_mut().find(|g| g.number == n)) {
            Some(g) => {
                g.queue.push_back(id);
                g.calls_queued += 1;
                g.queue.len()
            }
            None => {
                self.unassigned_queue.push_back(id);
                self.unassigned_queue.len()
            }
        };
        let Some(c) = self.calls.get(&id) else { return };
        let caller = c.conns.first().map_or(String::new(), |x| x.device.clone());
        let mut ev = self
            .call_ev("CALL_QUEUED_EVENT", c, &caller)
            .int("ServiceNumber", NULL_ID)
            .int("ServiceID", NULL_ID)
            .k("QueueDeviceType", "DeviceIDType Values", "DEVID_QUEUE")
            .s(
                "QueueDeviceID",
                sg.map_or_else(|| "default".to_owned(), |n| n.to_string()),
            )
            .k("CallingDeviceType", "DeviceIDType Values", "DEVID_EXTERNAL")
            .s("CallingDeviceID", &c.ani)
            .k(
                "CalledDeviceType",
                "DeviceIDType Values",
                "DEVID_DEVICE_IDENTIFIER",
            )
            .s("CalledDeviceID", &c.dnis)
            .k(
                "LastRedirectDeviceType",
                "DeviceIDType Values",
                "DEVID_NONE",
            )
            .int("NumQueued", num_queued as i64)
            .k(
                "LocalConnectionState",
                "LocalConnectionState Values",
                "LCS_QUEUED",
            )
            .k("EventCause", "EventCause Values", "CEC_NONE");
        if let Some(g) = sg.and_then(|n| self.group(n)) {
            ev = ev
                .int("SkillGroupNumber", g.number)
                .int("SkillGroupID", g.id)
                .int("SkillGroupPriority", 0);
        }
        self.emit_call(fx, id, ev, &[]);
    }

    fn dequeue(&mut self, id: u32, fx: &mut Effects, emit: bool) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        if !c.queued {
            return;
        }
        c.queued = false;
        let sg = c.skill_group;
        let left = match sg.and_then(|n| self.groups.iter_mut().find(|g| g.number == n)) {
            Some(g) => {
                g.queue.retain(|x| *x != id);
                g.queue.len()
            }
            None => {
                self.unassigned_queue.retain(|x| *x != id);
                self.unassigned_queue.len()
            }
        };
        if !emit {
            return;
        }
        let Some(c) = self.calls.get(&id) else { return };
        let caller = c.conns.first().map_or(String::new(), |x| x.device.clone());
        let mut ev = self
            .call_ev("CALL_DEQUEUED_EVENT", c, &caller)
            .k("QueueDeviceType", "DeviceIDType Values", "DEVID_QUEUE")
            .int("ServiceNumber", NULL_ID)
            .int("ServiceID", NULL_ID)
            .int("NumQueued", left as i64)
            .k(
                "LocalConnectionState",
                "LocalConnectionState Values",
                "LCS_NULL",
            )
            .k("EventCause", "EventCause Values", "CEC_NONE");
        if let Some(g) = sg.and_then(|n| self.group(n)) {
            ev = ev
                .int("SkillGroupNumber", g.number)
                .int("SkillGroupID", g.id)
                .int("SkillGroupPriority", 0);
        }
        self.emit_call(fx, id, ev, &[]);
    }

    /// Delivers (rings) a call at agent `a`: CALL_DEQUEUED when queued,
    /// AGENT_STATE(RESERVED), CALL_DELIVERED; starts the auto-answer timer.
    pub fn deliver(&mut self, id: u32, a: usize, fx: &mut Effects) {
        self.dequeue(id, fx, true);
        let ext = self.agents[a].cfg.extension.clone();
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        c.conns.push(Conn::agent(a, &ext, "LCS_ALERTING", true));
        let delay = self.calls.get(&id).and_then(|c| self.answer_delay(c));
        self.refresh_agent(a, fx);
        if let Some(ev) = self.delivered_ev(id, &ext, "CEC_NEW_CALL") {
            self.emit_call(fx, id, ev, &[]);
        }
        if let Some(d) = delay {
            fx.timers.push((d, Timer::Answer { call: id, agent: a }));
        }
    }

    /// The legacy scripted call: BEGIN_CALL, CALL_DELIVERED, CALL_ESTABLISHED,
    /// AGENT_STATE(TALKING), CALL_CLEARED, END_CALL, AGENT_STATE(back), all at once.
    pub fn scripted_call(
        &mut self,
        sc: &SimCall,
        fx: &mut Effects,
    ) -> Result<u32, super::SimError> {
        sc.check()?;
        let a = match &sc.agent_id {
            Some(id) => self
                .agent_by_id(id)
                .ok_or_else(|| super::SimError::UnknownAgent(id.clone()))?,
            None if self.agents.is_empty() => {
                return Err(super::SimError::UnknownAgent(String::new()))
            }
            None => 0,
        };
        if self.agents[a].state != state("AGENT_STATE_AVAILABLE") {
            return Err(super::SimError::AgentNotAvailable {
                agent: self.agents[a].cfg.agent_id.clone(),
                state: super::consts::state_name(self.agents[a].state).to_owned(),
            });
        }
        let ext = self.agents[a].cfg.extension.clone();
        let id = self.new_call("CALLTYPE_ACD_IN", "LINETYPE_INBOUND_ACD");
        self.set_call_data(id, sc);
        if let Some(c) = self.calls.get_mut(&id) {
            c.conns.push(Conn::external(&sc.ani, "LCS_CONNECT"));
            c.conns.push(Conn::agent(a, &ext, "LCS_ALERTING", false));
        }
        if let Some(c) = self.calls.get(&id) {
            let begin = self.call_ev("BEGIN_CALL_EVENT", c, &ext);
            let begin =
                Self::with_call_data(begin.k("CallType", "CallType Values", c.call_type), c);
            let route = self.route(c, &[], false);
            fx.emit(begin, route);
        }
        if let Some(ev) = self.delivered_ev(id, &ext, "CEC_NEW_CALL") {
            self.emit_call(fx, id, ev, &[]);
        }
        if let Some(conn) = self.agent_conn_mut(id, a) {
            conn.lcs = "LCS_CONNECT";
        }
        if let Some(ev) = self.established_ev(id, &ext, "CEC_NONE") {
            self.emit_call(fx, id, ev, &[]);
        }
        self.refresh_agent(a, fx);
        self.agents[a].stats.handled += 1;
        self.end_call(id, true, &[], fx);
        Ok(id)
    }

    // -----------------------------------------------------------------------
    // Answer and release.

    /// Agent `a` answers its ringing connection on `call`.
    pub fn answer(&mut self, call: u32, a: usize, fx: &mut Effects) -> Flow {
        let c = self.call(call)?;
        let conn = c
            .agent_conn(a)
            .filter(|x| x.lcs == "LCS_ALERTING")
            .ok_or(Refusal::Control("CF_NO_CALL_TO_ANSWER"))?;
        let dev = conn.device.clone();
        let talk = c.talk_ms;
        let inbound = c.call_type == "CALLTYPE_ACD_IN";
        let c = self.call_mut(call)?;
        for x in c.conns.iter_mut() {
            if x.device == dev || x.lcs == "LCS_INITIATE" {
                x.lcs = "LCS_CONNECT";
            }
        }
        if let Some(ev) = self.established_ev(call, &dev, "CEC_NONE") {
            self.emit_call(fx, call, ev, &[]);
        }
        let agents = self.call(call)?.agents();
        for x in agents {
            self.refresh_agent(x, fx);
        }
        if inbound {
            self.agents[a].stats.handled += 1;
        } else {
            self.agents[a].stats.internal_rcvd += 1;
        }
        if let Some(t) = talk {
            fx.timers
                .push((Duration::from_millis(t), Timer::Hangup { call }));
        }
        Ok(())
    }

    /// Removes `device`'s connection: CALL_CONNECTION_CLEARED, then the call ends when
    /// fewer than two parties remain (or only external parties).
    pub fn release(&mut self, call: u32, device: &str, cause: &str, fx: &mut Effects) -> Flow {
        self.release_then(call, device, cause, true, fx)
    }

    fn release_then(
        &mut self,
        call: u32,
        device: &str,
        cause: &str,
        refresh: bool,
        fx: &mut Effects,
    ) -> Flow {
        let c = self.call(call)?;
        let conn = c
            .conn(device)
            .cloned()
            .ok_or(Refusal::Control("CF_NO_CONNECTION_TO_CLEAR"))?;
        let ev = self
            .simple_ev(
                "CALL_CONNECTION_CLEARED_EVENT",
                call,
                device,
                ("ReleasingDeviceID", "ReleasingDeviceType"),
                "LCS_NULL",
                cause,
            )
            .ok_or(BAD_CONN)?;
        self.emit_call(fx, call, ev, &[]);
        if let Some(c) = self.calls.get_mut(&call) {
            c.conns.retain(|x| x.device != device);
        }
        let leaver: Vec<usize> = conn.agent.into_iter().collect();
        if refresh {
            self.settle(call, &leaver, fx);
        } else {
            self.settle(call, &[], fx);
        }
        for a in leaver {
            if self.calls.contains_key(&call) {
                // The call goes on without this agent.
                self.end_for(call, a, fx);
            }
            if refresh {
                self.refresh_agent(a, fx);
            }
        }
        Ok(())
    }

    /// Ends the call when it no longer has two parties, or no agent is left on it.
    fn settle(&mut self, call: u32, left: &[usize], fx: &mut Effects) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        if c.queued {
            if c.conns.is_empty() {
                self.dequeue(call, fx, false);
                self.end_call(call, true, left, fx);
            }
            return;
        }
        if c.conns.len() < 2 {
            self.end_call(call, true, left, fx);
        } else if c.conns.iter().all(|x| x.agent.is_none()) {
            // The call left the peripheral: nothing more to report on it.
            self.end_call(call, false, left, fx);
        }
    }

    /// END_CALL_EVENT for one agent that left a call which goes on.
    fn end_for(&mut self, call: u32, a: usize, fx: &mut Effects) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let dev = self.agents[a].cfg.extension.clone();
        let ev = self.call_ev("END_CALL_EVENT", c, &dev);
        fx.emit(
            ev,
            Route::Call {
                call,
                agents: vec![a],
                devices: vec![dev],
                bridges: false,
                to_seen: false,
                begin: None,
            },
        );
    }

    /// Ends a call: CALL_CLEARED (when `cleared`), END_CALL, after-call agent states.
    pub fn end_call(&mut self, call: u32, cleared: bool, extra: &[usize], fx: &mut Effects) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let dev = c
            .conns
            .iter()
            .find(|x| x.agent.is_some())
            .or(c.conns.first())
            .map_or_else(|| c.ani.clone(), |x| x.device.clone());
        let route = self.route(c, extra, true);
        if cleared {
            let ev = self
                .call_ev("CALL_CLEARED_EVENT", c, &dev)
                .k(
                    "LocalConnectionState",
                    "LocalConnectionState Values",
                    "LCS_NULL",
                )
                .k("EventCause", "EventCause Values", "CEC_NONE");
            fx.emit(ev, route.clone());
        }
        fx.emit(self.call_ev("END_CALL_EVENT", c, &dev), route);
        let agents = c.agents();
        let was_queued = c.queued;
        if was_queued {
            self.dequeue(call, fx, false);
        }
        if let Some(c) = self.calls.remove(&call) {
            if let Some(n) = c.name {
                self.call_names.remove(&n);
            }
            self.calls_ended += 1;
        }
        for a in agents.into_iter().chain(extra.iter().copied()) {
            self.refresh_agent(a, fx);
        }
    }

    /// CLEAR_CALL: every party is released.
    pub fn clear_call(&mut self, call: u32, fx: &mut Effects) -> Flow {
        self.call(call)?;
        self.end_call(call, true, &[], fx);
        Ok(())
    }

    /// The caller (first external party) hangs up; a call without one is cleared.
    pub fn hangup(&mut self, call: u32, fx: &mut Effects) -> Flow {
        let c = self.call(call)?;
        match c.external_device().map(str::to_owned) {
            Some(d) => self.release(call, &d, "CEC_NONE", fx),
            None => self.clear_call(call, fx),
        }
    }

    // -----------------------------------------------------------------------
    // Outbound.

    /// Agent `a` places a call to `dialed` (MAKE_CALL_REQ, and the second leg of
    /// consultation, assist and emergency calls). Returns the new ConnectionCallID.
    pub fn make_call(
        &mut self,
        a: usize,
        dialed: &str,
        call_type: Option<&'static str>,
        fx: &mut Effects,
    ) -> Flow<u32> {
        if dialed.is_empty() {
            return Err(Refusal::Control("CF_INVALID_CALLED_DEVICE"));
        }
        if self.agents[a].state == state("AGENT_STATE_LOGOUT") {
            return Err(Refusal::Status("E_CTI_AGENT_NOT_LOGGED_ON"));
        }
        if self.calls.values().any(|c| {
            c.agent_conn(a)
                .is_some_and(|x| matches!(x.lcs, "LCS_CONNECT" | "LCS_INITIATE"))
        }) {
            return Err(Refusal::Control("CF_INVALID_OBJECT_STATE"));
        }
        let target = self.agent_by_device(dialed).filter(|t| *t != a);
        let (ty, line) = match (call_type, target) {
            (Some(t), _) => (t, "LINETYPE_INSIDE"),
            (None, Some(_)) => ("CALLTYPE_AGENT_INSIDE", "LINETYPE_INSIDE"),
            (None, None) => ("CALLTYPE_AGENT_OUT", "LINETYPE_OUTBOUND"),
        };
        let ext = self.agents[a].cfg.extension.clone();
        let id = self.new_call(ty, line);
        if let Some(c) = self.calls.get_mut(&id) {
            c.ani.clone_from(&ext);
            c.dnis = dialed.to_owned();
            c.dialed = Some(dialed.to_owned());
            c.conns.push(Conn::agent(a, &ext, "LCS_INITIATE", false));
        }
        self.dial(id, a, dialed, target, fx);
        if target.is_some() {
            self.agents[a].stats.internal += 1;
        } else {
            self.agents[a].stats.out_calls += 1;
        }
        Ok(id)
    }

    /// The events of a call being dialed by agent `a` to `dialed`.
    fn dial(&mut self, id: u32, a: usize, dialed: &str, target: Option<usize>, fx: &mut Effects) {
        let ext = self.agents[a].cfg.extension.clone();
        if let Some(c) = self.calls.get(&id) {
            let begin = self.begin_ev(c);
            let route = self.route(c, &[], false);
            fx.emit(begin, route);
            let ev = self.call_ev("CALL_SERVICE_INITIATED_EVENT", c, &ext);
            let ev = self
                .with_group(ev, c)
                .int("LineHandle", 0)
                .k("LineType", "LineType Values", c.line_type)
                .k(
                    "CallingDeviceType",
                    "DeviceIDType Values",
                    "DEVID_DEVICE_IDENTIFIER",
                )
                .s("CallingDeviceID", &ext)
                .k(
                    "LocalConnectionState",
                    "LocalConnectionState Values",
                    "LCS_INITIATE",
                )
                .k("EventCause", "EventCause Values", "CEC_NONE");
            self.emit_call(fx, id, ev, &[]);
        }
        self.refresh_agent(a, fx);
        if let Some(c) = self.calls.get(&id) {
            let ev = self.call_ev("CALL_ORIGINATED_EVENT", c, &ext);
            let ev = self
                .with_group(ev, c)
                .int("LineHandle", 0)
                .k("LineType", "LineType Values", c.line_type)
                .k(
                    "CallingDeviceType",
                    "DeviceIDType Values",
                    "DEVID_DEVICE_IDENTIFIER",
                )
                .s("CallingDeviceID", &ext)
                .k(
                    "CalledDeviceType",
                    "DeviceIDType Values",
                    "DEVID_DEVICE_IDENTIFIER",
                )
                .s("CalledDeviceID", dialed)
                .k(
                    "LocalConnectionState",
                    "LocalConnectionState Values",
                    "LCS_INITIATE",
                )
                .k("EventCause", "EventCause Values", "CEC_NONE");
            self.emit_call(fx, id, ev, &[]);
        }
        self.ring(id, dialed, target, "CEC_NEW_CALL", fx);
    }

    /// Rings `dialed` on call `id`: an agent rings until it answers, an external number
    /// answers at once.
    fn ring(
        &mut self,
        id: u32,
        dialed: &str,
        target: Option<usize>,
        cause: &str,
        fx: &mut Effects,
    ) {
        match target {
            Some(b) => {
                let bext = self.agents[b].cfg.extension.clone();
                if let Some(c) = self.calls.get_mut(&id) {
                    c.conns.push(Conn::agent(b, &bext, "LCS_ALERTING", false));
                }
                if let Some(ev) = self.delivered_ev(id, &bext, cause) {
                    self.emit_call(fx, id, ev, &[]);
                }
                if let Some(d) = self.auto_answer_ms {
                    fx.timers.push((
                        Duration::from_millis(d),
                        Timer::Answer { call: id, agent: b },
                    ));
                }
            }
            None => {
                if let Some(c) = self.calls.get_mut(&id) {
                    c.conns.push(Conn::external(dialed, "LCS_ALERTING"));
                }
                if let Some(ev) = self.delivered_ev(id, dialed, cause) {
                    self.emit_call(fx, id, ev, &[]);
                }
                if let Some(c) = self.calls.get_mut(&id) {
                    for x in c.conns.iter_mut() {
                        if x.device == dialed || x.lcs == "LCS_INITIATE" {
                            x.lcs = "LCS_CONNECT";
                        }
                    }
                }
                if let Some(ev) = self.established_ev(id, dialed, "CEC_NONE") {
                    self.emit_call(fx, id, ev, &[]);
                }
            }
        }
    }

    // -----------------------------------------------------------------------
    // Hold, retrieve, alternate, reconnect.

    fn agent_lcs(&self, call: u32, a: usize) -> Flow<&'static str> {
        Ok(self
            .call(call)?
            .agent_conn(a)
            .ok_or(Refusal::Status("E_CTI_NOT_CALL_PARTY"))?
            .lcs)
    }

    /// Agent `a` holds `call`: CALL_HELD, AGENT_STATE(HOLD) when nothing else is active.
    pub fn hold(&mut self, call: u32, a: usize, fx: &mut Effects) -> Flow {
        self.hold_then(call, a, true, fx)
    }

    fn hold_then(&mut self, call: u32, a: usize, refresh: bool, fx: &mut Effects) -> Flow {
        if self.agent_lcs(call, a)? != "LCS_CONNECT" {
            return Err(NO_ACTIVE);
        }
        if let Some(x) = self.agent_conn_mut(call, a) {
            x.lcs = "LCS_HOLD";
        }
        let ext = self.agents[a].cfg.extension.clone();
        if let Some(ev) = self.simple_ev(
            "CALL_HELD_EVENT",
            call,
            &ext,
            ("HoldingDeviceID", "HoldingDeviceType"),
            "LCS_HOLD",
            "CEC_NONE",
        ) {
            self.emit_call(fx, call, ev, &[]);
        }
        self.agents[a].stats.held += 1;
        if refresh {
            self.refresh_agent(a, fx);
        }
        Ok(())
    }

    /// Agent `a` retrieves held `call`: CALL_RETRIEVED, AGENT_STATE(TALKING).
    pub fn retrieve(&mut self, call: u32, a: usize, fx: &mut Effects) -> Flow {
        if self.agent_lcs(call, a)? != "LCS_HOLD" {
            return Err(NO_HELD);
        }
        if let Some(x) = self.agent_conn_mut(call, a) {
            x.lcs = "LCS_CONNECT";
        }
        let ext = self.agents[a].cfg.extension.clone();
        if let Some(ev) = self.simple_ev(
            "CALL_RETRIEVED_EVENT",
            call,
            &ext,
            ("RetrievingDeviceID", "RetrievingDeviceType"),
            "LCS_CONNECT",
            "CEC_NONE",
        ) {
            self.emit_call(fx, call, ev, &[]);
        }
        self.refresh_agent(a, fx);
        Ok(())
    }

    /// ALTERNATE: hold `active`, retrieve `held`.
    pub fn alternate(&mut self, active: u32, held: u32, a: usize, fx: &mut Effects) -> Flow {
        if self.agent_lcs(held, a)? != "LCS_HOLD" {
            return Err(NO_HELD);
        }
        self.hold_then(active, a, false, fx)?;
        self.retrieve(held, a, fx)
    }

    /// RECONNECT: drop the agent from `active` and retrieve `held`.
    pub fn reconnect(&mut self, active: u32, held: u32, a: usize, fx: &mut Effects) -> Flow {
        if self.agent_lcs(held, a)? != "LCS_HOLD" {
            return Err(NO_HELD);
        }
        self.agent_lcs(active, a)?;
        let ext = self.agents[a].cfg.extension.clone();
        self.release_then(active, &ext, "CEC_NONE", false, fx)?;
        self.retrieve(held, a, fx)
    }

    // -----------------------------------------------------------------------
    // Consultation, transfer, conference.

    /// Agent `a` holds `active` and dials `dialed` on a new CONSULT call.
    pub fn consult(&mut self, active: u32, a: usize, dialed: &str, fx: &mut Effects) -> Flow<u32> {
        if dialed.is_empty() {
            return Err(Refusal::Control("CF_INVALID_CALLED_DEVICE"));
        }
        // The agent goes straight from the held call to dialing: no HOLD state between.
        self.hold_then(active, a, false, fx)?;
        let src = self.call(active)?.clone();
        let target = self.agent_by_device(dialed).filter(|t| *t != a);
        let ext = self.agents[a].cfg.extension.clone();
        let id = self.new_call("CALLTYPE_CONSULT", "LINETYPE_INSIDE");
        if let Some(c) = self.calls.get_mut(&id) {
            c.ani.clone_from(&src.ani);
            c.dnis = dialed.to_owned();
            c.dialed = Some(dialed.to_owned());
            c.vars = src.vars.clone();
            c.named = src.named.clone();
            c.arrays = src.arrays.clone();
            c.skill_group = src.skill_group;
            c.conns.push(Conn::agent(a, &ext, "LCS_INITIATE", false));
        }
        self.dial(id, a, dialed, target, fx);
        Ok(id)
    }

    fn parties(&self, call: u32) -> Ev {
        let mut ev = Ev::new("CALL_TRANSFERRED_EVENT");
        if let Some(c) = self.calls.get(&call) {
            for x in &c.conns {
                ev = ev
                    .int("ConnectedPartyCallID", call)
                    .k(
                        "ConnectedPartyDeviceIDType",
                        "ConnectionDeviceIDType Values",
                        "CONNECTION_ID_STATIC",
                    )
                    .s("ConnectedPartyDeviceID", &x.device);
            }
        }
        ev
    }

    /// Copies the ConnectedParty lists of `call` into `ev` (and NumParties).
    pub fn with_parties(&self, ev: Ev, call: u32) -> Ev {
        let n = self.calls.get(&call).map_or(0, |c| c.conns.len());
        let mut ev = ev.int("NumParties", n as i64);
        ev.extend(self.parties(call));
        ev
    }

    /// Moves every party except agent `a` from `from` to `to`; removes `a` from `from`.
    fn merge_calls(&mut self, from: u32, to: u32, a: usize) -> Vec<Conn> {
        let moved: Vec<Conn> = self
            .calls
            .get_mut(&from)
            .map(|c| {
                let (mine, others): (Vec<Conn>, Vec<Conn>) =
                    c.conns.drain(..).partition(|x| x.agent == Some(a));
                c.conns = mine;
                others
            })
            .unwrap_or_default();
        if let Some(c) = self.calls.get_mut(&to) {
            c.conns.extend(moved.iter().cloned());
        }
        moved
    }

    fn two_call_ev(
        &self,
        name: &'static str,
        primary: u32,
        secondary: u32,
        ext: &str,
        cause: &str,
    ) -> Ev {
        let sg = self.calls.get(&primary);
        let ev = Ev::new(name)
            .int("MonitorID", 0)
            .int("PeripheralID", self.peripheral_id)
            .k(
                "PeripheralType",
                "PeripheralType Values",
                "PT_ENTERPRISE_AGENT",
            )
            .k(
                "PrimaryDeviceIDType",
                "ConnectionDeviceIDType Values",
                "CONNECTION_ID_STATIC",
            )
            .int("PrimaryCallID", primary)
            .s("PrimaryDeviceID", ext)
            .int("LineHandle", 0)
            .k(
                "LineType",
                "LineType Values",
                sg.map_or("LINETYPE_INSIDE", |c| c.line_type),
            )
            .int("SkillGroupNumber", NULL_ID)
            .int("SkillGroupID", NULL_ID)
            .int("SkillGroupPriority", 0)
            .k(
                "SecondaryDeviceIDType",
                "ConnectionDeviceIDType Values",
                if secondary == NULL_ID {
                    "CONNECTION_ID_NONE"
                } else {
                    "CONNECTION_ID_STATIC"
                },
            )
            .int("SecondaryCallID", secondary)
            .k(
                "LocalConnectionState",
                "LocalConnectionState Values",
                "LCS_CONNECT",
            )
            .k("EventCause", "EventCause Values", cause);
        if secondary == NULL_ID {
            ev
        } else {
            ev.s("SecondaryDeviceID", ext)
        }
    }

    fn check_consult(&self, active: u32, held: u32, a: usize) -> Flow<Vec<Conn>> {
        if self.agent_lcs(held, a)? != "LCS_HOLD" {
            return Err(NO_HELD);
        }
        let lcs = self.agent_lcs(active, a)?;
        if lcs == "LCS_HOLD" {
            return Err(NO_ACTIVE);
        }
        let others: Vec<Conn> = self
            .call(active)?
            .conns
            .iter()
            .filter(|x| x.agent != Some(a))
            .cloned()
            .collect();
        if others.is_empty() {
            return Err(Refusal::Control("CF_NO_CALL_TO_COMPLETE"));
        }
        Ok(others)
    }

    /// Completes a consultation transfer: the consulted parties join `held`, agent `a`
    /// leaves both calls. Returns the NumParties of the resulting call.
    pub fn transfer(&mut self, active: u32, held: u32, a: usize, fx: &mut Effects) -> Flow<usize> {
        let targets = self.check_consult(active, held, a)?;
        let ext = self.agents[a].cfg.extension.clone();
        let added = targets.first().map_or(String::new(), |c| c.device.clone());
        let extra: Vec<usize> = targets.iter().filter_map(|c| c.agent).collect();
        self.merge_calls(active, held, a);
        if let Some(c) = self.calls.get_mut(&held) {
            c.conns.retain(|x| x.agent != Some(a));
        }
        let mut ev = self.two_call_ev("CALL_TRANSFERRED_EVENT", held, active, &ext, "CEC_TRANSFER");
        ev = ev
            .k(
                "TransferringDeviceType",
                "DeviceIDType Values",
                "DEVID_DEVICE_IDENTIFIER",
            )
            .s("TransferringDeviceID", &ext)
            .k(
                "TransferredDeviceType",
                "DeviceIDType Values",
                "DEVID_DEVICE_IDENTIFIER",
            )
            .s("TransferredDeviceID", &added);
        let ev = self.with_parties(ev, held);
        let n = self.calls.get(&held).map_or(0, |c| c.conns.len());
        let mut leavers = vec![a];
        leavers.extend(extra.iter().copied());
        self.emit_call(fx, held, ev, &[a]);
        // The consult call is gone; its remaining connection (the agent's) goes with it.
        if let Some(c) = self.calls.get(&active) {
            let route = self.route(c, &extra, true);
            fx.emit(self.call_ev("END_CALL_EVENT", c, &ext), route);
        }
        if let Some(c) = self.calls.remove(&active) {
            if let Some(name) = c.name {
                self.call_names.remove(&name);
            }
            self.calls_ended += 1;
        }
        self.end_for(held, a, fx);
        self.settle(held, &[], fx);
        for x in leavers {
            self.refresh_agent(x, fx);
        }
        Ok(n)
    }

    /// Completes a consultation conference: the consulted parties join `held` with the
    /// agent. Returns NumParties.
    pub fn conference(
        &mut self,
        active: u32,
        held: u32,
        a: usize,
        fx: &mut Effects,
    ) -> Flow<usize> {
        let targets = self.check_consult(active, held, a)?;
        let ext = self.agents[a].cfg.extension.clone();
        let added = targets.first().map_or(String::new(), |c| c.device.clone());
        self.merge_calls(active, held, a);
        if let Some(x) = self.agent_conn_mut(held, a) {
            x.lcs = "LCS_CONNECT";
        }
        let ev = self
            .two_call_ev("CALL_CONFERENCED_EVENT", held, active, &ext, "CEC_NONE")
            .k(
                "ControllerDeviceType",
                "DeviceIDType Values",
                "DEVID_DEVICE_IDENTIFIER",
            )
            .s("ControllerDeviceID", &ext)
            .k(
                "AddedPartyDeviceType",
                "DeviceIDType Values",
                "DEVID_DEVICE_IDENTIFIER",
            )
            .s("AddedPartyDeviceID", &added);
        let ev = self.with_parties(ev, held);
        let n = self.calls.get(&held).map_or(0, |c| c.conns.len());
        self.emit_call(fx, held, ev, &[]);
        if let Some(c) = self.calls.get(&active) {
            let route = self.route(c, &[], true);
            fx.emit(self.call_ev("END_CALL_EVENT", c, &ext), route);
        }
        if let Some(c) = self.calls.remove(&active) {
            if let Some(name) = c.name {
                self.call_names.remove(&name);
            }
            self.calls_ended += 1;
        }
        let agents = self.call(held)?.agents();
        for x in agents {
            self.refresh_agent(x, fx);
        }
        Ok(n)
    }

    /// Single-step (blind) transfer of `call` by agent `a` to `dialed`.
    pub fn single_step_transfer(
        &mut self,
        call: u32,
        a: usize,
        dialed: &str,
        fx: &mut Effects,
    ) -> Flow {
        if dialed.is_empty() {
            return Err(Refusal::Control("CF_INVALID_CALLED_DEVICE"));
        }
        if self.agent_lcs(call, a)? == "LCS_ALERTING" {
            return Err(NO_ACTIVE);
        }
        let ext = self.agents[a].cfg.extension.clone();
        let ev = self
            .two_call_ev(
                "CALL_TRANSFERRED_EVENT",
                call,
                NULL_ID,
                &ext,
                "CEC_TRANSFER",
            )
            .k(
                "TransferringDeviceType",
                "DeviceIDType Values",
                "DEVID_DEVICE_IDENTIFIER",
            )
            .s("TransferringDeviceID", &ext)
            .k(
                "TransferredDeviceType",
                "DeviceIDType Values",
                "DEVID_DEVICE_IDENTIFIER",
            )
            .s("TransferredDeviceID", dialed);
        if let Some(c) = self.calls.get_mut(&call) {
            c.conns.retain(|x| x.agent != Some(a));
        }
        let ev = self.with_parties(ev, call);
        self.emit_call(fx, call, ev, &[a]);
        self.end_for(call, a, fx);
        self.refresh_agent(a, fx);
        let target = self.agent_by_device(dialed).filter(|t| *t != a);
        self.ring(call, dialed, target, "CEC_TRANSFER", fx);
        self.settle(call, &[], fx);
        Ok(())
    }

    /// Deflects the call ringing at agent `a` to `dialed`: CALL_DIVERTED, then it rings there.
    pub fn deflect(&mut self, call: u32, a: usize, dialed: &str, fx: &mut Effects) -> Flow {
        if self.agent_lcs(call, a)? != "LCS_ALERTING" {
            return Err(Refusal::Control("CF_INVALID_OBJECT_STATE"));
        }
        if dialed.is_empty() {
            return Err(Refusal::Control("CF_INVALID_CALLED_DEVICE"));
        }
        let ext = self.agents[a].cfg.extension.clone();
        if let Some(ev) = self.simple_ev(
            "CALL_DIVERTED_EVENT",
            call,
            &ext,
            ("DivertingDeviceID", "DivertingDeviceType"),
            "LCS_NULL",
            "CEC_REDIRECTED",
        ) {
            let ev = ev
                .int("ServiceNumber", NULL_ID)
                .int("ServiceID", NULL_ID)
                .k(
                    "CalledDeviceType",
                    "DeviceIDType Values",
                    "DEVID_DEVICE_IDENTIFIER",
                )
                .s("CalledDeviceID", dialed);
            self.emit_call(fx, call, ev, &[]);
        }
        if let Some(c) = self.calls.get_mut(&call) {
            c.conns.retain(|x| x.agent != Some(a));
        }
        self.end_for(call, a, fx);
        self.refresh_agent(a, fx);
        let target = self.agent_by_device(dialed).filter(|t| *t != a);
        self.ring(call, dialed, target, "CEC_REDIRECTED", fx);
        self.settle(call, &[], fx);
        Ok(())
    }

    // -----------------------------------------------------------------------
    // Call data.

    /// Emits CALL_DATA_UPDATE_EVENT with the call's current context.
    pub fn data_updated(&self, call: u32, fx: &mut Effects) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let dev = c.conns.first().map_or("", |x| x.device.as_str()).to_owned();
        let ev = self
            .call_ev("CALL_DATA_UPDATE_EVENT", c, &dev)
            .k("CallType", "CallType Values", c.call_type)
            .k(
                "NewConnectionDeviceIDType",
                "ConnectionDeviceIDType Values",
                "CONNECTION_ID_STATIC",
            )
            .int("NewConnectionCallID", call)
            .s("NewConnectionDeviceID", &dev)
            .int("CalledPartyDisposition", 0)
            .int("CampaignID", 0)
            .int("QueryRuleID", 0);
        let ev = Self::with_call_data(ev, c);
        self.emit_call(fx, call, ev, &[]);
    }

    // -----------------------------------------------------------------------
    // Supervisor.

    /// A supervisory action of supervisor `s` on agent `a`'s call `call`. Returns the
    /// ConnectionCallID the confirmation reports.
    pub fn supervise(
        &mut self,
        s: usize,
        a: usize,
        call: u32,
        action: Supervise,
        fx: &mut Effects,
    ) -> Flow<u32> {
        let sext = self.agents[s].cfg.extension.clone();
        let monitor_call = self
            .calls
            .values()
            .find(|c| c.monitors.is_some() && c.agent_conn(s).is_some())
            .map(|c| c.id);
        match action {
            Supervise::Monitor | Supervise::Whisper => {
                self.call(call)?;
                if monitor_call.is_some() || self.on_call(s) {
                    return Err(Refusal::Control("CF_INVALID_OBJECT_STATE"));
                }
                let ty = if action == Supervise::Monitor {
                    "CALLTYPE_SUPERVISOR_MONITOR"
                } else {
                    "CALLTYPE_SUPERVISOR_WHISPER"
                };
                let cause = if action == Supervise::Monitor {
                    "CEC_SUPERVISOR_MONITOR"
                } else {
                    "CEC_SUPERVISOR_WHISPER"
                };
                let aext = self.agents[a].cfg.extension.clone();
                let id = self.new_call(ty, "LINETYPE_SILENT_MONITOR");
                if let Some(c) = self.calls.get_mut(&id) {
                    c.monitors = Some(call);
                    c.ani.clone_from(&sext);
                    c.dnis.clone_from(&aext);
                    c.conns.push(Conn::agent(s, &sext, "LCS_CONNECT", false));
                    c.conns.push(Conn::external(&aext, "LCS_CONNECT"));
                }
                if let Some(c) = self.calls.get(&id) {
                    let begin = self.begin_ev(c);
                    let route = self.route(c, &[], false);
                    fx.emit(begin, route);
                }
                if let Some(ev) = self.established_ev(id, &sext, cause) {
                    self.emit_call(fx, id, ev, &[]);
                }
                if action == Supervise::Monitor {
                    self.agents[s].stats.monitor += 1;
                } else {
                    self.agents[s].stats.whisper += 1;
                }
                self.refresh_agent(s, fx);
                Ok(id)
            }
            Supervise::BargeIn | Supervise::Intercept => {
                let c = self.call(call)?;
                let aext = self.agents[a].cfg.extension.clone();
                if c.agent_conn(a).is_none() {
                    return Err(Refusal::Status("E_CTI_NOT_CALL_PARTY"));
                }
                if c.agent_conn(s).is_none() {
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.conns.push(Conn::agent(s, &sext, "LCS_CONNECT", false));
                    }
                    if let Some(m) = monitor_call {
                        // The supervisor leaves the silent-monitor call for the real one.
                        self.end_call(m, true, &[], fx);
                    }
                    let ev = self
                        .two_call_ev(
                            "CALL_CONFERENCED_EVENT",
                            call,
                            NULL_ID,
                            &aext,
                            "CEC_SUPERVISOR_BARGE_IN",
                        )
                        .k(
                            "ControllerDeviceType",
                            "DeviceIDType Values",
                            "DEVID_DEVICE_IDENTIFIER",
                        )
                        .s("ControllerDeviceID", &aext)
                        .k(
                            "AddedPartyDeviceType",
                            "DeviceIDType Values",
                            "DEVID_DEVICE_IDENTIFIER",
                        )
                        .s("AddedPartyDeviceID", &sext);
                    let ev = self.with_parties(ev, call);
                    self.emit_call(fx, call, ev, &[]);
                    self.agents[s].stats.barge_in += 1;
                    self.refresh_agent(s, fx);
                }
                if action == Supervise::Intercept {
                    self.agents[s].stats.intercept += 1;
                    self.release(call, &aext, "CEC_SUPERVISOR_INTERCEPT", fx)?;
                }
                Ok(call)
            }
            Supervise::Clear => {
                if let Some(m) = monitor_call {
                    self.end_call(m, true, &[], fx);
                    return Ok(m);
                }
                if self.call(call)?.agent_conn(s).is_none() {
                    return Err(Refusal::Status("E_CTI_NOT_CALL_PARTY"));
                }
                self.release(call, &sext, "CEC_SUPERVISOR_CLEAR", fx)?;
                Ok(call)
            }
        }
    }

    /// Peripheral goes offline (every call ends with END_CALL) or back online.
    pub fn set_online(&mut self, online: bool, fx: &mut Effects) {
        self.online = online;
        if !online {
            let ids: Vec<u32> = self.calls.keys().copied().collect();
            for id in ids {
                self.end_call(id, false, &[], fx);
            }
        }
    }
}
