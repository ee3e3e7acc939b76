//! Request handling: OPEN_REQ and every client request of the catalogue, each answered
//! with its confirmation (or FAILURE_CONF / CONTROL_FAILURE_CONF) and the events the
//! request causes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::cti::codec::{self, DecodeOptions, Frame, Message, Value};
use crate::cti::spec::{self, Direction};

use super::consts::{k, state, status, svc};
use super::ev::Ev;
use super::faults::FaultAction;
use super::flows::Supervise;
use super::model::{now_secs, Effects, Model, Refusal, Route, NULL_ID};
use super::server::{Maint, Monitor, MonitorKind, Out, Sess, Shared};
use super::SideState;

type Handled = Result<(Option<Ev>, Effects), Refusal>;

fn invoke_of(body: &[u8]) -> u32 {
    body.get(0..4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn failure_conf(invoke: u32, st: &str) -> Ev {
    Ev::new("FAILURE_CONF")
        .int("InvokeID", invoke)
        .int("Status", status(st))
}

fn control_failure(invoke: u32, code: u32, perr: u32) -> Ev {
    Ev::new("CONTROL_FAILURE_CONF")
        .int("InvokeID", invoke)
        .int("FailureCode", code)
        .int("PeripheralErrorCode", perr)
}

fn refusal_ev(invoke: u32, r: Refusal) -> Ev {
    match r {
        Refusal::Status(s) => failure_conf(invoke, s),
        Refusal::Control(c) => control_failure(invoke, k("ControlFailureCode Values", c), 0),
    }
}

/// A malformed frame of `msg_type`: a 3-byte body, shorter than any fixed part.
pub(crate) fn malformed(msg_type: u32) -> Bytes {
    let mut v = vec![0, 0, 0, 3];
    v.extend_from_slice(&msg_type.to_be_bytes());
    v.extend_from_slice(&[0xDE, 0xAD, 0xBF]);
    Bytes::from(v)
}

/// Handles one frame of connection `conn`; returns the session version once OPEN_REQ
/// succeeded.
pub(crate) fn handle_frame(
    sh: &mut Shared,
    conn: u64,
    version: Option<u32>,
    frame: &Frame,
) -> Option<u32> {
    let invoke = invoke_of(&frame.body);
    let Some(v) = version else {
        if frame.msg_type != spec::message_by_name("OPEN_REQ").map_or(3, |m| m.msg_type) {
            // Anything before OPEN_REQ: refuse and drop the connection.
            sh.send_ev(conn, &failure_conf(invoke, "E_CTI_SESSION_NOT_OPEN"));
            sh.close_conn(conn);
            return None;
        }
        return open(sh, conn, frame, invoke);
    };
    let req = match codec::decode_frame(frame, v, DecodeOptions::tolerant()) {
        Ok(r) => r,
        Err(codec::CodecError::UnknownType { .. })
        | Err(codec::CodecError::TypeNotInVersion { .. }) => {
            sh.send_ev(
                conn,
                &failure_conf(invoke, "E_CTI_INVALID_MSG_TYPE_FOR_VERSION"),
            );
            return None;
        }
        Err(_) => {
            sh.send_ev(conn, &failure_conf(invoke, "E_CTI_BAD_MESSAGE_FORMAT"));
            return None;
        }
    };
    request(sh, conn, req, invoke);
    None
}

fn side_of(sh: &Shared, conn: u64) -> super::Side {
    sh.conns.get(&conn).map_or(super::Side::A, |c| c.side)
}

fn session(sh: &Shared, conn: u64) -> Option<&Sess> {
    sh.conns.get(&conn).and_then(|c| c.session.as_ref())
}

fn session_mut(sh: &mut Shared, conn: u64) -> Option<&mut Sess> {
    sh.conns.get_mut(&conn).and_then(|c| c.session.as_mut())
}

// ---------------------------------------------------------------------------
// OPEN_REQ

fn open(sh: &mut Shared, conn: u64, frame: &Frame, invoke: u32) -> Option<u32> {
    let side = side_of(sh, conn);
    match sh.faults.take("OPEN_REQ", side) {
        None | Some(FaultAction::Delay { .. }) => {}
        Some(action) => {
            apply_fault_reply(sh, conn, invoke, &action, "OPEN_CONF");
            return None;
        }
    }
    match open_session(sh, conn, frame, invoke) {
        Ok(v) => Some(v),
        Err(st) => {
            sh.send_ev(conn, &failure_conf(invoke, st));
            sh.close_conn(conn);
            None
        }
    }
}

fn open_session(
    sh: &mut Shared,
    conn: u64,
    frame: &Frame,
    invoke: u32,
) -> Result<u32, &'static str> {
    let version = frame
        .body
        .get(4..8)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    if codec::check_version(version).is_err()
        || sh.cfg.protocol_version.is_some_and(|only| only != version)
    {
        return Err("E_CTI_INVALID_VERSION");
    }
    let req = codec::decode_frame(frame, version, DecodeOptions::tolerant())
        .map_err(|_| "E_CTI_BAD_MESSAGE_FORMAT")?;
    let client_id = req.str("ClientID").unwrap_or("").to_owned();
    if client_id.is_empty() || req.get("ClientPassword").is_none() {
        return Err("E_CTI_REQUIRED_DATA_MISSING");
    }
    let idle = req.u32("IdleTimeout").unwrap_or(0);
    if idle < crate::cti::session::MIN_IDLE_TIMEOUT_SECS {
        return Err("E_CTI_INVALID_TIMEOUT");
    }
    if let Some(pw) = &sh.cfg.password {
        let given = match req.get("ClientPassword") {
            Some(Value::Unspec(b)) => b.clone(),
            _ => Bytes::new(),
        };
        if given.as_ref() != pw.as_bytes() {
            return Err("E_CTI_INVALID_PASSWORD");
        }
    }
    let requested = req.u32("ServicesRequested").unwrap_or(0);
    let side = side_of(sh, conn);
    let standby = match sh.side(side).state {
        SideState::Active => false,
        SideState::Standby => {
            if version >= 24 && requested & svc("CTI_SERVICE_ACTIVE_STANDBY") != 0 {
                true
            } else {
                let st = sh.cfg.standby_refusal.clone();
                return Err(spec::table("Status Codes")
                    .and_then(|t| t.entries.iter().find(|e| e.name == st))
                    .map_or("E_CTI_CTI_SERVER_OFFLINE", |e| e.name));
            }
        }
        SideState::Maintenance => return Err("E_CTI_SERVER_IN_MAINTENANCE_MODE"),
        SideState::Down => return Err("E_CTI_CTI_SERVER_OFFLINE"),
    };
    let wants_client_events = requested & svc("CTI_SERVICE_CLIENT_EVENTS") != 0;
    let ids = [
        req.str("AgentID").filter(|s| !s.is_empty()),
        req.str("AgentExtension").filter(|s| !s.is_empty()),
        req.str("AgentInstrument").filter(|s| !s.is_empty()),
    ];
    let mut agent = None;
    if ids.iter().any(Option::is_some) {
        let m = &sh.model;
        let found = m.agents.iter().position(|a| {
            ids[0].is_none_or(|x| x == a.cfg.agent_id)
                && ids[1].is_none_or(|x| x == a.cfg.extension)
                && ids[2].is_none_or(|x| a.has_device(x))
        });
        match found {
            Some(i) => agent = Some(i),
            None => {
                let known = m.agents.iter().any(|a| {
                    ids[0] == Some(a.cfg.agent_id.as_str())
                        || ids[1] == Some(a.cfg.extension.as_str())
                        || ids[2].is_some_and(|x| a.has_device(x))
                });
                return Err(if known {
                    "E_CTI_INCONSISTENT_AGENT_DATA"
                } else {
                    "E_CTI_INVALID_AGENT_DATA"
                });
            }
        }
    } else if wants_client_events {
        return Err("E_CTI_REQUIRED_DATA_MISSING");
    }
    if let (Some(i), false) = (agent, standby) {
        // Each side is its own CTI Server: only its own sessions hold devices.
        let holders: Vec<(u64, bool)> = sh
            .conns
            .iter()
            .filter(|(id, c)| **id != conn && c.side == side)
            .filter_map(|(id, c)| c.session.as_ref().map(|s| (*id, s)))
            .filter(|(_, s)| !s.standby && s.agent == Some(i) && s.client_events())
            .map(|(id, s)| (id, s.client_id == client_id))
            .collect();
        if wants_client_events {
            if holders.iter().any(|(_, same)| !same) {
                return Err("E_CTI_DEVICE_IN_USE");
            }
            // The same client opened again: the old session ends.
            for (old, _) in holders {
                sh.fail_conn(old, "E_CTI_NEW_SESSION_OPENED");
            }
        }
    }
    let supported = crate::cti::session::all_bits("CTI Service Masks") & !svc("Unused");
    let services = requested & supported;
    let session_id = sh.next_id();
    let online = sh.model.online;
    let mut conf = Ev::new("OPEN_CONF")
        .int("InvokeID", invoke)
        .int("ServicesGranted", services)
        .int("MonitorID", 0)
        .int(
            "PGStatus",
            if online {
                0
            } else {
                k("PGStatusCode Values", "PGS_PERIPHERAL_OFFLINE")
            },
        )
        .int("ICMCentralControllerTime", now_secs())
        .int("PeripheralOnline", i64::from(online))
        .k(
            "PeripheralType",
            "PeripheralType Values",
            "PT_ENTERPRISE_AGENT",
        )
        .int("AgentState", agent.map_or(0, |i| sh.model.agents[i].state))
        .int("DepartmentID", 0)
        .k(
            "SessionType",
            "SessionType",
            if standby { "Standby" } else { "Active" },
        );
    if let Some(i) = agent {
        let a = &sh.model.agents[i];
        conf = conf
            .s("AgentExtension", &a.cfg.extension)
            .s("AgentID", &a.cfg.agent_id)
            .s("AgentInstrument", a.instrument());
    }
    conf = conf
        .int("NumPeripherals", 1)
        .int("FltPeripheralID", sh.model.peripheral_id)
        .int("MultilineAgentControl", 0);
    let sess = Sess {
        version,
        session_id,
        client_id: client_id.clone(),
        signature: req.str("ClientSignature").map(str::to_owned),
        services,
        call_mask: req.u32("CallMsgMask").unwrap_or(0),
        agent_mask: req.u32("AgentStateMask").unwrap_or(0),
        agent,
        standby,
        monitors: Vec::new(),
        seen: HashSet::new(),
        last_agent: HashMap::new(),
        maint: None,
    };
    let all_events = sess.all_events();
    let signature = sess.signature.clone();
    if let Some(c) = sh.conns.get_mut(&conn) {
        c.session = Some(sess);
    }
    sh.send_ev(conn, &conf);
    if !standby {
        if all_events {
            let ev = system_event(
                &sh.model,
                if online {
                    "SYS_PERIPHERAL_ONLINE"
                } else {
                    "SYS_PERIPHERAL_OFFLINE"
                },
                None,
            );
            sh.send_ev(conn, &ev);
        }
        sh.send_call_snapshot(conn);
    }
    let opened = Ev::new("CLIENT_SESSION_OPENED_EVENT")
        .int("SessionID", session_id)
        .int("PeripheralID", sh.model.peripheral_id)
        .int("ServicesGranted", services)
        .int("CallMsgMask", req.u32("CallMsgMask").unwrap_or(0))
        .int("AgentStateMask", req.u32("AgentStateMask").unwrap_or(0))
        .int(
            "ClientPort",
            sh.conns.get(&conn).map_or(0, |c| c.peer.port()),
        )
        .s(
            "ClientAddress",
            sh.conns
                .get(&conn)
                .map_or_else(String::new, |c| c.peer.ip().to_string()),
        )
        .s("ClientID", &client_id)
        .opt_s("ClientSignature", signature.as_deref());
    sh.to_session_monitors(session_id, Arc::new(opened));
    Ok(version)
}

/// A SYSTEM_EVENT about the peripheral (or a text broadcast).
pub(crate) fn system_event(m: &Model, id: &str, text: Option<&str>) -> Ev {
    Ev::new("SYSTEM_EVENT")
        .int(
            "PGStatus",
            if m.online {
                0
            } else {
                k("PGStatusCode Values", "PGS_PERIPHERAL_OFFLINE")
            },
        )
        .int("ICMCentralControllerTime", now_secs())
        .k("SystemEventID", "SystemEventID Values", id)
        .int("SystemEventArg1", m.peripheral_id)
        .int("SystemEventArg2", 0)
        .int("SystemEventArg3", 0)
        .k("EventDeviceType", "DeviceIDType Values", "DEVID_NONE")
        .opt_s("Text", text)
}

// ---------------------------------------------------------------------------
// Requests.

/// The service a request needs, if the simulator enforces one.
fn required_service(name: &str) -> Option<&'static [&'static str]> {
    const CONTROL: &[&str] = &["CTI_SERVICE_CLIENT_CONTROL"];
    Some(match name {
        "SET_AGENT_STATE_REQ" => &["CTI_SERVICE_CLIENT_CONTROL", "CTI_AGENT_STATE_CONTROL_ONLY"],
        "ALTERNATE_CALL_REQ"
        | "ANSWER_CALL_REQ"
        | "CLEAR_CALL_REQ"
        | "CLEAR_CONNECTION_REQ"
        | "CONFERENCE_CALL_REQ"
        | "CONSULTATION_CALL_REQ"
        | "DEFLECT_CALL_REQ"
        | "HOLD_CALL_REQ"
        | "MAKE_CALL_REQ"
        | "MAKE_PREDICTIVE_CALL_REQ"
        | "RECONNECT_CALL_REQ"
        | "RETRIEVE_CALL_REQ"
        | "TRANSFER_CALL_REQ"
        | "SEND_DTMF_SIGNAL_REQ"
        | "SUPERVISOR_ASSIST_REQ"
        | "EMERGENCY_CALL_REQ"
        | "BAD_CALL_REQ"
        | "AGENT_GREETING_CONTROL_REQ" => CONTROL,
        "SET_CALL_DATA_REQ" | "RELEASE_CALL_REQ" => &["CTI_SERVICE_CALL_DATA_UPDATE"],
        "MONITOR_START_REQ" | "MONITOR_STOP_REQ" | "CHANGE_MONITOR_MASK_REQ" => {
            &["CTI_SERVICE_PERIPHERAL_MONITOR"]
        }
        "SESSION_MONITOR_START_REQ" | "SESSION_MONITOR_STOP_REQ" => &["CTI_SERVICE_CLIENT_MONITOR"],
        "SUPERVISE_CALL_REQ"
        | "LIST_AGENT_TEAM_REQ"
        | "MONITOR_AGENT_TEAM_START_REQ"
        | "MONITOR_AGENT_TEAM_STOP_REQ" => &["CTI_SERVICE_SUPERVISOR"],
        "REGISTER_SERVICE_REQ" | "UNREGISTER_SERVICE_REQ" => &["CTI_SERVICE_SERVER"],
        _ => return None,
    })
}

/// The confirmation name of a request (REQ -> CONF; special cases by catalogue lookup).
pub(crate) fn conf_name(req: &str) -> Option<&'static str> {
    let base = req.strip_suffix("_REQ")?;
    spec::message_by_name(&format!("{base}_CONF"))
        .filter(|m| m.direction != Direction::ToServer && m.documented)
        .map(|m| m.name)
}

fn apply_fault_reply(sh: &mut Shared, conn: u64, invoke: u32, action: &FaultAction, conf: &str) {
    match action {
        FaultAction::FailureConf { status: s } => {
            let code = s.resolve(&["Status Codes"]).unwrap_or(0);
            sh.send_ev(
                conn,
                &Ev::new("FAILURE_CONF")
                    .int("InvokeID", invoke)
                    .int("Status", code),
            );
        }
        FaultAction::ControlFailure {
            failure_code,
            peripheral_error,
        } => {
            let code = failure_code
                .resolve(&[
                    "ControlFailureCode Values",
                    "Extended Control Failure Codes",
                ])
                .unwrap_or(0);
            sh.send_ev(conn, &control_failure(invoke, code, *peripheral_error));
        }
        FaultAction::Close => sh.close_conn(conn),
        FaultAction::Malformed => {
            let t = spec::message_by_name(conf).map_or(1, |m| m.msg_type);
            sh.send_bytes(conn, malformed(t));
        }
        FaultAction::Drop | FaultAction::Ignore | FaultAction::Delay { .. } => {}
    }
}

fn request(sh: &mut Shared, conn: u64, req: Message, invoke: u32) {
    let name = req.name();
    let side = side_of(sh, conn);
    let Some(sess) = session(sh, conn) else {
        return;
    };
    let (standby, services) = (sess.standby, sess.services);
    let fault = sh.faults.take(name, side);
    let conf = conf_name(name).unwrap_or("FAILURE_CONF");
    if let Some(a) = &fault {
        if !matches!(a, FaultAction::Drop | FaultAction::Delay { .. }) {
            apply_fault_reply(sh, conn, invoke, a, conf);
            return;
        }
    }
    match name {
        "HEARTBEAT_REQ" => {
            if sh.side(side).answer_heartbeats && fault.is_none() {
                sh.send_ev(conn, &Ev::new("HEARTBEAT_CONF").int("InvokeID", invoke));
            } else {
                sh.side_mut(side).unanswered += 1;
            }
            return;
        }
        "CLOSE_REQ" => {
            if fault.is_none() {
                sh.send_ev(conn, &Ev::new("CLOSE_CONF").int("InvokeID", invoke));
            }
            sh.close_conn(conn);
            return;
        }
        "ACTIVE_MAINTENANCE_RESP_MSG" => {
            let accepted = req.u32("MaintenanceModeAccepted").unwrap_or(0) == 1;
            if let Some(s) = session_mut(sh, conn) {
                if s.maint == Some(Maint::Asked(invoke)) {
                    s.maint = Some(Maint::Answered(accepted));
                }
            }
            sh.notify.notify_waiters();
            return;
        }
        "STOPPING_REQUESTS_TO_THIS_SIDE_IND" => {
            sh.close_conn(conn);
            return;
        }
        _ => {}
    }
    if standby {
        sh.send_ev(conn, &failure_conf(invoke, "E_CTI_SERVER_NOT_MASTER"));
        return;
    }
    if req.spec().direction == Direction::ToClient {
        sh.send_ev(
            conn,
            &failure_conf(invoke, "E_CTI_INVALID_MSG_TYPE_FOR_VERSION"),
        );
        return;
    }
    if sh.cfg.enforce_services {
        if let Some(need) = required_service(name) {
            if !need.iter().any(|s| services & svc(s) != 0) {
                sh.send_ev(conn, &failure_conf(invoke, "E_CTI_FUNCTION_NOT_AVAILABLE"));
                return;
            }
        }
    }
    let handled = if name.starts_with("CONFIG_REQUEST") {
        config_request(sh, conn, &req);
        return;
    } else {
        handle(sh, conn, &req, invoke)
    };
    match handled {
        Ok((conf_ev, fx)) => {
            let ignore = session(sh, conn).is_some_and(|s| s.has("CTI_SERVICE_IGNORE_CONF"))
                && req.spec().service == "Client Control"
                && name != "QUERY_AGENT_STATE_REQ";
            if let Some(c) = conf_ev.filter(|_| !ignore) {
                match fault {
                    Some(FaultAction::Drop) => {}
                    Some(FaultAction::Delay { delay_ms }) => {
                        let v = session(sh, conn).map_or(15, |s| s.version);
                        if let (Ok(b), Some(rec)) = (
                            c.build(v).and_then(|m| codec::encode(&m, v)),
                            sh.conns.get(&conn),
                        ) {
                            let tx = rec.tx.clone();
                            sh.rt.spawn(async move {
                                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                                let _ = tx.send(Out::Bytes(b));
                            });
                        }
                    }
                    _ => sh.send_ev(conn, &c),
                }
            }
            sh.apply(fx);
        }
        Err(r) => sh.send_ev(conn, &refusal_ev(invoke, r)),
    }
}

fn conf(name: &'static str, invoke: u32) -> Ev {
    Ev::new(name).int("InvokeID", invoke)
}

fn ok(ev: Ev) -> Handled {
    Ok((Some(ev), Effects::default()))
}

/// The agent a request acts for: named by AgentInstrument/AgentExtension/AgentID (or
/// `device`), else the session's own agent.
fn actor(sh: &Shared, conn: u64, req: &Message, device: Option<&str>) -> Result<usize, Refusal> {
    let m = &sh.model;
    let named = req
        .str("AgentInstrument")
        .filter(|s| !s.is_empty())
        .and_then(|d| m.agent_by_device(d))
        .or_else(|| {
            req.str("AgentExtension")
                .filter(|s| !s.is_empty())
                .and_then(|d| m.agent_by_device(d))
        })
        .or_else(|| req.str("AgentID").and_then(|d| m.agent_by_id(d)))
        .or_else(|| device.and_then(|d| m.agent_by_device(d)));
    if let Some(a) = named {
        return Ok(a);
    }
    if req.str("AgentInstrument").is_some_and(|s| !s.is_empty())
        || req.str("AgentID").is_some_and(|s| !s.is_empty())
    {
        return Err(Refusal::Status("E_CTI_INVALID_AGENT_DATA"));
    }
    session(sh, conn)
        .and_then(|s| s.agent)
        .ok_or(Refusal::Status("E_CTI_INVALID_AGENT_DATA"))
}

/// The call a request names: `field` when valid, else the agent's only/first call.
fn call_of(m: &Model, req: &Message, field: &str, a: usize) -> Result<u32, Refusal> {
    match req.u32(field) {
        Some(id) if id != NULL_ID && id != 0 => m.call(id).map(|c| c.id),
        _ => m
            .calls
            .values()
            .find(|c| c.agent_conn(a).is_some())
            .map(|c| c.id)
            .ok_or(Refusal::Control("CF_NO_ACTIVE_CALL")),
    }
}

fn peripheral_ok(m: &Model, req: &Message) -> Result<(), Refusal> {
    match req.u32("PeripheralID") {
        Some(p) if p != m.peripheral_id && p != NULL_ID && p != 0 => {
            Err(Refusal::Status("E_CTI_INVALID_PERIPHERAL_ID"))
        }
        _ => Ok(()),
    }
}

fn handle(sh: &mut Shared, conn: u64, req: &Message, invoke: u32) -> Handled {
    let name = req.name();
    peripheral_ok(&sh.model, req)?;
    let mut fx = Effects::default();
    let Some(cname) = conf_name(name).filter(|_| req.spec().documented) else {
        // Undocumented requests (ARM, task routing) have no layout to answer with.
        return Err(Refusal::Status("E_CTI_FUNCTION_NOT_AVAILABLE"));
    };
    let c = conf(cname, invoke);
    match name {
        "QUERY_AGENT_STATE_REQ" => {
            let a = actor(sh, conn, req, None)?;
            ok(query_agent_state(&sh.model, a, c))
        }
        "SET_AGENT_STATE_REQ" => set_agent_state(sh, conn, req, c),
        "MAKE_CALL_REQ" => {
            let a = actor(sh, conn, req, None)?;
            let dialed = req.str("DialedNumber").unwrap_or("").to_owned();
            let id = sh.model.make_call(a, &dialed, None, &mut fx)?;
            set_call_vars(&mut sh.model, id, req);
            Ok((Some(new_call_conf(&sh.model, c, id, a)), fx))
        }
        "MAKE_PREDICTIVE_CALL_REQ" => {
            let id = sh.model.new_call("CALLTYPE_AUTO_OUT", "LINETYPE_OUTBOUND");
            let dev = req.str("DialedNumber").unwrap_or("").to_owned();
            if let Some(call) = sh.model.calls.get_mut(&id) {
                call.dnis.clone_from(&dev);
                call.dialed = Some(dev.clone());
            }
            // Not modelled further: the dialer call is reported ended at once.
            sh.model.end_call(id, false, &[], &mut fx);
            Ok((
                Some(
                    c.int("NewConnectionCallID", id)
                        .k(
                            "NewConnectionDeviceIDType",
                            "ConnectionDeviceIDType Values",
                            "CONNECTION_ID_STATIC",
                        )
                        .s("NewConnectionDeviceID", &dev)
                        .int("LineHandle", 0)
                        .k("LineType", "LineType Values", "LINETYPE_OUTBOUND"),
                ),
                Effects::default(),
            ))
        }
        "ANSWER_CALL_REQ" => {
            let a = actor(sh, conn, req, req.str("ConnectionDeviceID"))?;
            let call = call_of(&sh.model, req, "ConnectionCallID", a)?;
            sh.model.answer(call, a, &mut fx)?;
            Ok((Some(c), fx))
        }
        "CLEAR_CALL_REQ" => {
            let id = req.u32("ConnectionCallID").unwrap_or(NULL_ID);
            sh.model.clear_call(id, &mut fx)?;
            Ok((Some(c), fx))
        }
        "CLEAR_CONNECTION_REQ" => {
            let id = req.u32("ConnectionCallID").unwrap_or(NULL_ID);
            let dev = match req.str("ConnectionDeviceID").filter(|s| !s.is_empty()) {
                Some(d) => d.to_owned(),
                None => {
                    let a = actor(sh, conn, req, None)?;
                    sh.model.agents[a].cfg.extension.clone()
                }
            };
            let dev = resolve_device(&sh.model, &dev);
            sh.model.release(id, &dev, "CEC_NONE", &mut fx)?;
            Ok((Some(c), fx))
        }
        "HOLD_CALL_REQ" | "RETRIEVE_CALL_REQ" => {
            let (cf, df) = if name == "HOLD_CALL_REQ" {
                ("ConnectionCallID", "ConnectionDeviceID")
            } else {
                ("HeldConnectionCallID", "HeldConnectionDeviceID")
            };
            let a = actor(sh, conn, req, req.str(df))?;
            let call = call_of(&sh.model, req, cf, a)?;
            if name == "HOLD_CALL_REQ" {
                sh.model.hold(call, a, &mut fx)?;
            } else {
                sh.model.retrieve(call, a, &mut fx)?;
            }
            Ok((Some(c), fx))
        }
        "ALTERNATE_CALL_REQ" | "RECONNECT_CALL_REQ" => {
            let a = actor(sh, conn, req, req.str("ActiveConnectionDeviceID"))?;
            let active = sh
                .model
                .call(req.u32("ActiveConnectionCallID").unwrap_or(NULL_ID))?
                .id;
            let other_field = if name == "ALTERNATE_CALL_REQ" {
                "OtherConnectionCallID"
            } else {
                "HeldConnectionCallID"
            };
            let held = sh.model.call(req.u32(other_field).unwrap_or(NULL_ID))?.id;
            if name == "ALTERNATE_CALL_REQ" {
                sh.model.alternate(active, held, a, &mut fx)?;
            } else {
                sh.model.reconnect(active, held, a, &mut fx)?;
            }
            Ok((Some(c), fx))
        }
        "CONSULTATION_CALL_REQ" => {
            let a = actor(sh, conn, req, req.str("ActiveConnectionDeviceID"))?;
            let active = call_of(&sh.model, req, "ActiveConnectionCallID", a)?;
            let dialed = req.str("DialedNumber").unwrap_or("").to_owned();
            let id = sh.model.consult(active, a, &dialed, &mut fx)?;
            set_call_vars(&mut sh.model, id, req);
            Ok((Some(new_call_conf(&sh.model, c, id, a)), fx))
        }
        "TRANSFER_CALL_REQ" | "CONFERENCE_CALL_REQ" => {
            let a = actor(sh, conn, req, req.str("ActiveConnectionDeviceID"))?;
            let active = call_of(&sh.model, req, "ActiveConnectionCallID", a)?;
            let held_id = req.u32("HeldConnectionCallID").unwrap_or(NULL_ID);
            if name == "TRANSFER_CALL_REQ" && held_id == NULL_ID {
                let dialed = req.str("DialedNumber").unwrap_or("").to_owned();
                sh.model.single_step_transfer(active, a, &dialed, &mut fx)?;
                let c = c
                    .int("NewConnectionCallID", active)
                    .k(
                        "NewConnectionDeviceIDType",
                        "ConnectionDeviceIDType Values",
                        "CONNECTION_ID_NONE",
                    )
                    .int("LineHandle", 0)
                    .k("LineType", "LineType Values", "LINETYPE_INSIDE");
                return Ok((Some(sh.model.with_parties(c, active)), fx));
            }
            let held = sh.model.call(held_id)?.id;
            let n = if name == "TRANSFER_CALL_REQ" {
                sh.model.transfer(active, held, a, &mut fx)?
            } else {
                sh.model.conference(active, held, a, &mut fx)?
            };
            let ext = sh.model.agents[a].cfg.extension.clone();
            let mut c = c
                .int("NewConnectionCallID", held)
                .k(
                    "NewConnectionDeviceIDType",
                    "ConnectionDeviceIDType Values",
                    "CONNECTION_ID_STATIC",
                )
                .s("NewConnectionDeviceID", &ext)
                .int("LineHandle", 0)
                .k("LineType", "LineType Values", "LINETYPE_INSIDE");
            c = sh.model.with_parties(c, held);
            let _ = n;
            Ok((Some(c), fx))
        }
        "DEFLECT_CALL_REQ" => {
            let a = actor(sh, conn, req, req.str("ConnectionDeviceID"))?;
            let call = call_of(&sh.model, req, "ConnectionCallID", a)?;
            let to = req.str("CalledDeviceID").unwrap_or("").to_owned();
            sh.model.deflect(call, a, &to, &mut fx)?;
            Ok((Some(c), fx))
        }
        "SEND_DTMF_SIGNAL_REQ" => {
            let a = actor(sh, conn, req, req.str("ConnectionDeviceID"))?;
            let call = call_of(&sh.model, req, "ConnectionCallID", a)?;
            let digits = req.str("DTMFString").unwrap_or("");
            if digits.is_empty()
                || !digits
                    .chars()
                    .all(|ch| ch.is_ascii_digit() || matches!(ch, '*' | '#' | 'A'..='D'))
            {
                return Err(Refusal::Status("E_CTI_INVALID_DIGITS"));
            }
            if sh.model.call(call)?.agent_conn(a).map(|x| x.lcs) != Some("LCS_CONNECT") {
                return Err(Refusal::Control("CF_NO_ACTIVE_CALL"));
            }
            ok(c)
        }
        "SET_CALL_DATA_REQ" => {
            let id = req.u32("ConnectionCallID").unwrap_or(NULL_ID);
            sh.model.call(id)?;
            set_call_vars(&mut sh.model, id, req);
            if let Some(call) = sh.model.calls.get_mut(&id) {
                if let Some(ani) = req.str("ANI") {
                    call.ani = ani.to_owned();
                }
                if let Some(w) = req.str("CallWrapupData") {
                    call.wrapup = Some(w.to_owned());
                }
                if let Some(d) = req.str("CallerEnteredDigits") {
                    call.ced = Some(d.to_owned());
                }
            }
            sh.model.data_updated(id, &mut fx);
            Ok((Some(c), fx))
        }
        "RELEASE_CALL_REQ" => {
            let id = req.u32("ConnectionCallID").unwrap_or(NULL_ID);
            if id == NULL_ID {
                return Err(Refusal::Status("E_CTI_INVALID_CALLID"));
            }
            ok(c)
        }
        "SNAPSHOT_CALL_REQ" => {
            let id = req.u32("ConnectionCallID").unwrap_or(NULL_ID);
            let call = sh
                .model
                .calls
                .get(&id)
                .ok_or(Refusal::Status("E_CTI_INVALID_CALLID"))?;
            let mut c = Model::with_call_data(
                c.k("CallType", "CallType Values", call.call_type)
                    .int("CalledPartyDisposition", 0),
                call,
            );
            for x in &call.conns {
                c = c
                    .int("CallConnectionCallID", call.id)
                    .k(
                        "CallConnectionDeviceIDType",
                        "ConnectionDeviceIDType Values",
                        "CONNECTION_ID_STATIC",
                    )
                    .s("CallConnectionDeviceID", &x.device)
                    .k("CallDeviceType", "DeviceIDType Values", x.dev_type)
                    .s("CallDeviceID", &x.device)
                    .k(
                        "CallDeviceConnectionState",
                        "LocalConnectionState Values",
                        x.lcs,
                    );
            }
            ok(c)
        }
        "SNAPSHOT_DEVICE_REQ" => {
            let dev = match req.str("AgentInstrument").filter(|s| !s.is_empty()) {
                Some(d) => d.to_owned(),
                None => {
                    let a = actor(sh, conn, req, None)?;
                    sh.model.agents[a].cfg.extension.clone()
                }
            };
            let dev = resolve_device(&sh.model, &dev);
            let mut c = c;
            for call in sh.model.calls.values() {
                if let Some(x) = call.conn(&dev) {
                    let silent = if call.monitors.is_some() {
                        "SILENT_MONITOR_INITIATOR"
                    } else {
                        "SILENT_MONITOR_NONE"
                    };
                    c = c
                        .int("CallConnectionCallID", call.id)
                        .k(
                            "CallConnectionDeviceIDType",
                            "ConnectionDeviceIDType Values",
                            "CONNECTION_ID_STATIC",
                        )
                        .s("CallConnectionDeviceID", &x.device)
                        .k("CallState", "LocalConnectionState Values", x.lcs)
                        .k(
                            "SilentMonitorStatus",
                            "Silent Monitor Status Values",
                            silent,
                        );
                }
            }
            ok(c)
        }
        "QUERY_DEVICE_INFO_REQ" => {
            if let Some(d) = req.str("AgentInstrument").filter(|s| !s.is_empty()) {
                if sh.model.agent_by_device(d).is_none() {
                    return Err(Refusal::Status("E_CTI_INVALID_DEVICE"));
                }
            }
            ok(c.k(
                "PeripheralType",
                "PeripheralType Values",
                "PT_ENTERPRISE_AGENT",
            )
            .k("TypeOfDevice", "TypeOfDevice Values", "DEVT_STATION")
            .k("ClassOfDevice", "ClassOfDevice Values", "DEVC_VOICE")
            .int("MaxActiveCalls", 1)
            .int("MaxHeldCalls", 1)
            .int("MaxDevicesInConference", 6)
            .int("MakeCallSetup", 0)
            .int("TransferConferenceSetup", 0)
            .int("CallEventsSupported", 0xFFFF_FFFFu32)
            .int("CallControlSupported", 0xFFFF_FFFFu32)
            .int("OtherFeaturesSupported", 0)
            .int("LineHandle", 0)
            .k("LineType", "LineType Values", "LINETYPE_INBOUND_ACD")
            .int("LineHandle", 1)
            .k("LineType", "LineType Values", "LINETYPE_OUTBOUND"))
        }
        "QUERY_AGENT_STATISTICS_REQ" => {
            let a = actor(sh, conn, req, None)?;
            ok(agent_statistics(&sh.model, a, c))
        }
        "QUERY_SKILL_GROUP_STATISTICS_REQ" => {
            let n = req.u32("SkillGroupNumber").unwrap_or(NULL_ID);
            let id = req.u32("SkillGroupID").unwrap_or(NULL_ID);
            let g = sh
                .model
                .groups
                .iter()
                .find(|g| (n != NULL_ID && g.number == n) || (id != NULL_ID && g.id == id))
                .ok_or(Refusal::Status("E_CTI_INVALID_SKILL_GROUP"))?;
            ok(group_statistics(&sh.model, g.number, c))
        }
        "MONITOR_START_REQ" => {
            let call = req.u32("ConnectionCallID").unwrap_or(0);
            let kind = if call != 0 && call != NULL_ID {
                sh.model
                    .call(call)
                    .map_err(|_| Refusal::Status("E_CTI_INVALID_CALLID"))?;
                MonitorKind::Call(call)
            } else {
                let d = req
                    .str("MonitoredDeviceID")
                    .filter(|s| !s.is_empty())
                    .ok_or(Refusal::Status("E_CTI_REQUIRED_DATA_MISSING"))?;
                MonitorKind::Device(resolve_device(&sh.model, d))
            };
            let id = sh.next_id();
            add_monitor(sh, conn, id, kind, req)?;
            ok(c.int("MonitorID", id))
        }
        "MONITOR_STOP_REQ" | "SESSION_MONITOR_STOP_REQ" | "MONITOR_AGENT_TEAM_STOP_REQ" => {
            let id = req.u32("MonitorID").unwrap_or(0);
            let s = session_mut(sh, conn).ok_or(Refusal::Status("E_CTI_SESSION_NOT_OPEN"))?;
            let before = s.monitors.len();
            s.monitors.retain(|m| m.id != id);
            if s.monitors.len() == before {
                return Err(Refusal::Status("E_CTI_INVALID_MONITORID"));
            }
            ok(c)
        }
        "CHANGE_MONITOR_MASK_REQ" => {
            let id = req.u32("MonitorID").unwrap_or(0);
            let s = session_mut(sh, conn).ok_or(Refusal::Status("E_CTI_SESSION_NOT_OPEN"))?;
            let m = s
                .monitors
                .iter_mut()
                .find(|m| m.id == id)
                .ok_or(Refusal::Status("E_CTI_INVALID_MONITORID"))?;
            m.call_mask = req.u32("CallMsgMask").unwrap_or(m.call_mask);
            m.agent_mask = req.u32("AgentStateMask").unwrap_or(m.agent_mask);
            ok(c)
        }
        "SESSION_MONITOR_START_REQ" => {
            let sid = req.u32("SessionID").unwrap_or(0);
            let own = session(sh, conn).map_or(0, |s| s.session_id);
            if sid == own {
                return Err(Refusal::Status("E_CTI_SESSION_MONITOR_IS_CLIENTS"));
            }
            let exists = sh
                .conns
                .values()
                .any(|c| c.session.as_ref().is_some_and(|s| s.session_id == sid));
            if !exists {
                return Err(Refusal::Status("E_CTI_CLIENT_NOT_FOUND"));
            }
            let id = sh.next_id();
            add_monitor(sh, conn, id, MonitorKind::Session(sid), req)?;
            ok(c.int("MonitorID", id))
        }
        "MONITOR_AGENT_TEAM_START_REQ" => {
            let team = req.u32("TeamID").unwrap_or(0);
            if !sh.model.teams.iter().any(|t| t.id == team)
                && sh.model.team_members(team).is_empty()
            {
                return Err(Refusal::Status("E_CTI_TEAM_NOT_FOUND"));
            }
            let id = sh.next_id();
            add_monitor(sh, conn, id, MonitorKind::Team(team), req)?;
            let mut ev = Ev::new("AGENT_TEAM_CONFIG_EVENT")
                .int("PeripheralID", sh.model.peripheral_id)
                .int("TeamID", team)
                .int("ConfigOperation", 1)
                .int("DepartmentID", 0)
                .opt_s(
                    "AgentTeamName",
                    sh.model
                        .teams
                        .iter()
                        .find(|t| t.id == team)
                        .and_then(|t| t.name.as_deref()),
                );
            for a in sh.model.team_members(team) {
                let ag = &sh.model.agents[a];
                ev = ev
                    .s("AtcAgentID", &ag.cfg.agent_id)
                    .int("AgentFlags", i64::from(ag.cfg.supervisor))
                    .int("AtcAgentState", ag.state)
                    .int("AtcStateDuration", ag.since.elapsed().as_secs() as i64);
            }
            // The confirmation, then the team's configuration, to the requester only.
            sh.send_ev(conn, &c.int("MonitorID", id));
            sh.send_ev(conn, &ev);
            Ok((None, Effects::default()))
        }
        "LIST_AGENT_TEAM_REQ" => {
            let mut teams: Vec<u32> = sh.model.teams.iter().map(|t| t.id).collect();
            for a in &sh.model.agents {
                if let Some(t) = a.cfg.team_id {
                    if !teams.contains(&t) {
                        teams.push(t);
                    }
                }
            }
            let mut c = c.int("SegmentNumber", 1).int("More", 0);
            for t in teams {
                c = c.int("TeamID", t);
            }
            ok(c)
        }
        "SUPERVISE_CALL_REQ" => supervise(sh, conn, req, c),
        "SUPERVISOR_ASSIST_REQ" | "EMERGENCY_CALL_REQ" => {
            let a = actor(sh, conn, req, req.str("ConnectionDeviceID"))?;
            let s = sh
                .model
                .supervisor_of(a)
                .ok_or(Refusal::Status("E_CTI_SUPERVISOR_NOT_FOUND"))?;
            let sext = sh.model.agents[s].cfg.extension.clone();
            let emergency = name == "EMERGENCY_CALL_REQ";
            let (call, id) = match sh
                .model
                .calls
                .values()
                .find(|c| c.agent_conn(a).is_some())
                .map(|c| c.id)
            {
                Some(call) if emergency => (call, call),
                _ => {
                    let ty = if emergency {
                        "CALLTYPE_EMERGENCY"
                    } else {
                        "CALLTYPE_ASSIST"
                    };
                    let id = sh.model.make_call(a, &sext, Some(ty), &mut fx)?;
                    (id, id)
                }
            };
            let ext = sh.model.agents[a].cfg.extension.clone();
            if emergency {
                sh.model.agents[a].stats.emergency += 1;
                let ag = &sh.model.agents[a];
                let ev = Ev::new("EMERGENCY_CALL_EVENT")
                    .int("PeripheralID", sh.model.peripheral_id)
                    .int("ConnectionCallID", call)
                    .k(
                        "ConnectionDeviceIDType",
                        "ConnectionDeviceIDType Values",
                        "CONNECTION_ID_STATIC",
                    )
                    .int("SessionID", session(sh, conn).map_or(0, |s| s.session_id))
                    .s("ConnectionDeviceID", &ext)
                    .s(
                        "ClientID",
                        session(sh, conn).map_or("", |s| s.client_id.as_str()),
                    )
                    .s("AgentExtension", &ag.cfg.extension)
                    .s("AgentID", &ag.cfg.agent_id)
                    .s("AgentInstrument", ag.instrument());
                fx.emit(
                    ev,
                    Route::Agents {
                        agents: vec![s],
                        bridges: true,
                    },
                );
            }
            Ok((
                Some(
                    c.int("ConnectionCallID", id)
                        .k(
                            "ConnectionDeviceIDType",
                            "ConnectionDeviceIDType Values",
                            "CONNECTION_ID_STATIC",
                        )
                        .s("ConnectionDeviceID", &ext)
                        .int("LineHandle", 0)
                        .k("LineType", "LineType Values", "LINETYPE_SUPERVISOR"),
                ),
                fx,
            ))
        }
        "USER_MESSAGE_REQ" => {
            user_message(sh, conn, req)?;
            ok(c)
        }
        "AGENT_DESK_SETTINGS_REQ" => ok(c
            .int("PeripheralID", sh.model.peripheral_id)
            .int("RingNoAnswerTime", 15)
            .int("LogoutNonActivityTime", 0)
            .int("WorkModeTimer", 0)),
        "REGISTER_SERVICE_REQ" => {
            let id = sh.next_id();
            sh.registered_services.insert(id);
            ok(c.int("RegisteredServiceID", id))
        }
        "UNREGISTER_SERVICE_REQ" => {
            let id = req.u32("RegisteredServiceID").unwrap_or(0);
            if !sh.registered_services.remove(&id) {
                return Err(Refusal::Status("E_CTI_INVALID_SERVICE"));
            }
            ok(c)
        }
        "START_RECORDING_REQ" => {
            let id = req.u32("ConnectionCallID").unwrap_or(NULL_ID);
            sh.model
                .call(id)
                .map_err(|_| Refusal::Status("E_CTI_INVALID_CALLID"))?;
            let sid = sh.next_id();
            ok(c.int("SessionID", sid).int("ServerData", 0))
        }
        "START_NETWORK_RECORDING_REQ" | "STOP_NETWORK_RECORDING_REQ" => {
            let id = req.u32("ConnectionCallID").unwrap_or(NULL_ID);
            let start = name == "START_NETWORK_RECORDING_REQ";
            let call = sh.model.call_mut(id)?;
            if call.recording == start {
                return Err(Refusal::Control("CF_INVALID_OBJECT_STATE"));
            }
            call.recording = start;
            let dev = req
                .str("ConnectionDeviceID")
                .map(str::to_owned)
                .or_else(|| {
                    call.conns
                        .iter()
                        .find(|x| x.agent.is_some())
                        .map(|x| x.device.clone())
                })
                .unwrap_or_default();
            let ev = Ev::new(if start {
                "NETWORK_RECORDING_STARTED_EVENT"
            } else {
                "NETWORK_RECORDING_ENDED_EVENT"
            })
            .int("MonitorID", 0)
            .int("PeripheralID", sh.model.peripheral_id)
            .int("ConnectionCallID", id)
            .k(
                "ConnectionDeviceIDType",
                "ConnectionDeviceIDType Values",
                "CONNECTION_ID_STATIC",
            )
            .k(
                "RecordingDeviceType",
                "DeviceIDType Values",
                "DEVID_DEVICE_IDENTIFIER",
            )
            .s("ConnectionDeviceID", &dev)
            .s("RecordingDeviceID", "recorder");
            sh.model.emit_call(&mut fx, id, ev, &[]);
            Ok((Some(c), fx))
        }
        "SET_AGENT_SERVICE_DATA_REQ" => ok(c.int("Status", 0)),
        "AGENT_GREETING_CONTROL_REQ" => {
            let a = actor(sh, conn, req, None)?;
            // AgentAction 0 stops the playing greeting; 1/2 turn the feature on/off.
            match req.u32("AgentAction").unwrap_or(0) {
                1 => sh.model.agents[a].greeting = true,
                2 => sh.model.agents[a].greeting = false,
                _ => {}
            }
            ok(c)
        }
        // CLIENT_EVENT_REPORT, REGISTER_VARIABLES, SET_APP_DATA, BAD_CALL,
        // SET_DEVICE_ATTRIBUTES, STOP_RECORDING and the rest: confirmed, no events.
        _ => ok(c),
    }
}

fn resolve_device(m: &Model, dev: &str) -> String {
    // An instrument names the agent's extension connection.
    m.agent_by_device(dev)
        .map_or_else(|| dev.to_owned(), |a| m.agents[a].cfg.extension.clone())
}

fn new_call_conf(m: &Model, c: Ev, id: u32, a: usize) -> Ev {
    let line = m
        .calls
        .get(&id)
        .map_or("LINETYPE_OUTBOUND", |x| x.line_type);
    c.int("NewConnectionCallID", id)
        .k(
            "NewConnectionDeviceIDType",
            "ConnectionDeviceIDType Values",
            "CONNECTION_ID_STATIC",
        )
        .s("NewConnectionDeviceID", &m.agents[a].cfg.extension)
        .int("LineHandle", 0)
        .k("LineType", "LineType Values", line)
}

fn set_call_vars(m: &mut Model, id: u32, req: &Message) {
    let Some(call) = m.calls.get_mut(&id) else {
        return;
    };
    for (i, slot) in call.vars.iter_mut().enumerate() {
        if let Some(v) = req.str(&format!("CallVariable{}", i + 1)) {
            *slot = Some(v.to_owned());
        }
    }
    for v in req.get_all("NamedVariable") {
        if let Value::NamedVar(n) = v {
            match call.named.iter_mut().find(|(k, _)| *k == n.name) {
                Some(slot) => slot.1.clone_from(&n.value),
                None => call.named.push((n.name.clone(), n.value.clone())),
            }
        }
    }
    for v in req.get_all("NamedArray") {
        if let Value::NamedArray(n) = v {
            call.arrays.push((n.index, n.name.clone(), n.value.clone()));
        }
    }
    if let Some(w) = req.str("CallWrapupData") {
        call.wrapup = Some(w.to_owned());
    }
}

fn add_monitor(
    sh: &mut Shared,
    conn: u64,
    id: u32,
    kind: MonitorKind,
    req: &Message,
) -> Result<(), Refusal> {
    let s = session_mut(sh, conn).ok_or(Refusal::Status("E_CTI_SESSION_NOT_OPEN"))?;
    if s.monitors.iter().any(|m| m.kind == kind) {
        return Err(Refusal::Status(match kind {
            MonitorKind::Session(_) => "E_CTI_SESSION_MONITOR_ALREADY_EXISTS",
            MonitorKind::Team(_) => "E_CTI_AGENT_TEAM_MONITOR_ALREADY_EXISTS",
            _ => "E_CTI_MONITOR_ALREADY_EXISTS",
        }));
    }
    s.monitors.push(Monitor {
        id,
        kind,
        call_mask: req.u32("CallMsgMask").unwrap_or(s.call_mask),
        agent_mask: req.u32("AgentStateMask").unwrap_or(s.agent_mask),
    });
    Ok(())
}

fn query_agent_state(m: &Model, a: usize, c: Ev) -> Ev {
    let ag = &m.agents[a];
    let mut c = c
        .int("AgentState", ag.state)
        .int("MRDID", 1)
        .int("NumTasks", u32::from(m.on_call(a)))
        .int("AgentMode", 1)
        .int("MaxTaskLimit", 1)
        .int("ICMAgentID", 5000 + a as i64)
        .int("AgentAvailabilityStatus", 0)
        .int("DepartmentID", 0)
        .s("AgentID", &ag.cfg.agent_id)
        .s("AgentExtension", &ag.cfg.extension)
        .s("AgentInstrument", ag.instrument());
    for n in &ag.skill_groups {
        if let Some(g) = m.group(*n) {
            c = c
                .int("SkillGroupNumber", g.number)
                .int("SkillGroupID", g.id)
                .int("SkillGroupPriority", 0)
                .int("SkillGroupState", ag.state);
        }
    }
    c
}

fn set_agent_state(sh: &mut Shared, conn: u64, req: &Message, c: Ev) -> Handled {
    let a = actor(sh, conn, req, None)?;
    let raw = req.u32("AgentState").unwrap_or(u32::MAX);
    let valid = spec::table("AgentState Values")
        .and_then(|t| t.name_of(raw))
        .is_some();
    let st = u16::try_from(raw)
        .ok()
        .filter(|_| valid)
        .ok_or(Refusal::Status("E_CTI_INVALID_OBJECT_STATE"))?;
    let reason = u16::try_from(req.u32("EventReasonCode").unwrap_or(0)).unwrap_or(0);
    let m = &mut sh.model;
    let logged_out = m.agents[a].state == state("AGENT_STATE_LOGOUT");
    if logged_out && st != state("AGENT_STATE_LOGIN") {
        return Err(Refusal::Status("E_CTI_AGENT_NOT_LOGGED_ON"));
    }
    let settable = [
        "AGENT_STATE_LOGIN",
        "AGENT_STATE_LOGOUT",
        "AGENT_STATE_NOT_READY",
        "AGENT_STATE_AVAILABLE",
        "AGENT_STATE_WORK_NOT_READY",
        "AGENT_STATE_WORK_READY",
    ];
    if !settable.iter().any(|n| state(n) == st) {
        return Err(Refusal::Status("E_CTI_INVALID_OBJECT_STATE"));
    }
    let mut fx = Effects::default();
    if m.on_call(a) {
        // On a call only the state after the call may change (or a wrap-up state).
        if st == state("AGENT_STATE_LOGOUT") || st == state("AGENT_STATE_LOGIN") {
            return Err(Refusal::Status("E_CTI_INVALID_OBJECT_STATE"));
        }
        m.agents[a].before_call = st;
        return Ok((Some(c), fx));
    }
    let groups: Vec<u32> = req
        .get_all("SkillGroupNumber")
        .iter()
        .filter_map(|v| v.as_u32())
        .filter(|n| *n != NULL_ID)
        .collect();
    if st == state("AGENT_STATE_LOGIN") {
        if !groups.is_empty() {
            for g in &groups {
                m.add_group(*g, None, None);
            }
            m.agents[a].skill_groups = groups;
        }
        if logged_out {
            m.set_state(a, st, reason, &mut fx);
        }
        m.set_state(a, state("AGENT_STATE_NOT_READY"), reason, &mut fx);
    } else {
        m.set_state(a, st, reason, &mut fx);
    }
    Ok((Some(c), fx))
}

fn agent_statistics(m: &Model, a: usize, c: Ev) -> Ev {
    let ag = &m.agents[a];
    let s = &ag.stats;
    let now_in = ag.since.elapsed();
    let avail = s.avail
        + if ag.state == state("AGENT_STATE_AVAILABLE") {
            now_in
        } else {
            Duration::ZERO
        };
    let nr = s.not_ready
        + if ag.state == state("AGENT_STATE_NOT_READY") {
            now_in
        } else {
            Duration::ZERO
        };
    let logged = ag.logged_in_at.elapsed().as_secs() as i64;
    c.int("PeripheralID", m.peripheral_id)
        .int("AvailTimeSession", avail.as_secs() as i64)
        .int("LoggedOnTimeSession", logged)
        .int("NotReadyTimeSession", nr.as_secs() as i64)
        .int("AgentOutCallsSession", s.out_calls)
        .int("HandledCallsSession", s.handled)
        .int(
            "HandledCallsTalkTimeSession",
            s.handled_talk.as_secs() as i64,
        )
        .int("IncomingCallsHeldSession", s.held)
        .int("InternalCallsSession", s.internal)
        .int("InternalCallsRcvdSession", s.internal_rcvd)
        .int("BargeInCallsSession", s.barge_in)
        .int("InterceptCallsSession", s.intercept)
        .int("MonitorCallsSession", s.monitor)
        .int("WhisperCallsSession", s.whisper)
        .int("EmergencyCallsSession", s.emergency)
        .int("AvailTimeToday", avail.as_secs() as i64)
        .int("LoggedOnTimeToday", logged)
        .int("NotReadyTimeToday", nr.as_secs() as i64)
        .int("AgentOutCallsToday", s.out_calls)
        .int("HandledCallsToday", s.handled)
        .s("AgentExtension", &ag.cfg.extension)
        .s("AgentID", &ag.cfg.agent_id)
        .s("AgentInstrument", ag.instrument())
}

fn group_statistics(m: &Model, number: u32, c: Ev) -> Ev {
    let members: Vec<&super::model::Agent> = m
        .agents
        .iter()
        .filter(|a| a.skill_groups.contains(&number))
        .collect();
    let count = |names: &[&str]| -> i64 {
        members
            .iter()
            .filter(|a| names.iter().any(|n| state(n) == a.state))
            .count() as i64
    };
    let g = m.group(number);
    let queued = g.map_or(0, |g| g.queue.len()) as i64;
    let longest = g
        .and_then(|g| g.queue.front())
        .and_then(|id| m.calls.get(id))
        .map_or(0, |c| c.started.elapsed().as_secs() as i64);
    c.int("PeripheralID", m.peripheral_id)
        .int("SkillGroupNumber", number)
        .int("SkillGroupID", g.map_or(NULL_ID, |g| g.id))
        .int(
            "AgentsLoggedOn",
            members.len() as i64 - count(&["AGENT_STATE_LOGOUT"]),
        )
        .int("AgentsAvail", count(&["AGENT_STATE_AVAILABLE"]))
        .int("AgentsNotReady", count(&["AGENT_STATE_NOT_READY"]))
        .int(
            "AgentsReady",
            members.len() as i64 - count(&["AGENT_STATE_LOGOUT", "AGENT_STATE_NOT_READY"]),
        )
        .int("AgentsTalkingIn", count(&["AGENT_STATE_TALKING"]))
        .int("AgentsWorkNotReady", count(&["AGENT_STATE_WORK_NOT_READY"]))
        .int("AgentsWorkReady", count(&["AGENT_STATE_WORK_READY"]))
        .int("AgentsReserved", count(&["AGENT_STATE_RESERVED"]))
        .int("AgentsHold", count(&["AGENT_STATE_HOLD"]))
        .int("CallsQNow", queued)
        .int("LongestCallQNow", longest)
        .int("CallsQToday", g.map_or(0, |g| g.calls_queued))
}

fn supervise(sh: &mut Shared, conn: u64, req: &Message, c: Ev) -> Handled {
    let s = match req.str("SupervisorInstrument").filter(|x| !x.is_empty()) {
        Some(d) => sh
            .model
            .agent_by_device(d)
            .ok_or(Refusal::Status("E_CTI_INVALID_DEVICE"))?,
        None => session(sh, conn)
            .and_then(|x| x.agent)
            .ok_or(Refusal::Status("E_CTI_REQUIRED_DATA_MISSING"))?,
    };
    if !sh.model.agents[s].cfg.supervisor {
        return Err(Refusal::Status("E_CTI_SUPERVISOR_NOT_FOUND"));
    }
    let action = req
        .u32("SupervisoryAction")
        .and_then(Supervise::from_code)
        .ok_or(Refusal::Status("E_CTI_INVALID_SUPERVISORY_ACTION"))?;
    let m = &sh.model;
    let agent = req
        .str("AgentInstrument")
        .or(req.str("AgentExtension"))
        .filter(|x| !x.is_empty())
        .and_then(|d| m.agent_by_device(d))
        .or_else(|| req.str("AgentID").and_then(|d| m.agent_by_id(d)));
    let call_id = req.u32("AgentConnectionCallID").unwrap_or(NULL_ID);
    let (a, call) = match (agent, call_id) {
        (Some(a), id) if id != NULL_ID && id != 0 => (a, id),
        (Some(a), _) => {
            let call = m
                .calls
                .values()
                .find(|c| c.monitors.is_none() && c.agent_conn(a).is_some())
                .map(|c| c.id);
            match (call, action) {
                (Some(c), _) => (a, c),
                (None, Supervise::Clear) => (a, NULL_ID),
                (None, _) => return Err(Refusal::Status("E_CTI_NO_CALL_ACTIVE")),
            }
        }
        (None, id) => {
            let call = m
                .call(id)
                .map_err(|_| Refusal::Status("E_CTI_INVALID_CALLID"))?;
            let a = call
                .conns
                .iter()
                .filter_map(|x| x.agent)
                .find(|x| *x != s)
                .ok_or(Refusal::Status("E_CTI_INVALID_AGENT_DATA"))?;
            (a, id)
        }
    };
    let mut fx = Effects::default();
    let id = sh.model.supervise(s, a, call, action, &mut fx)?;
    let sext = sh.model.agents[s].cfg.extension.clone();
    Ok((
        Some(
            c.int("ConnectionCallID", id)
                .k(
                    "ConnectionDeviceIDType",
                    "ConnectionDeviceIDType Values",
                    "CONNECTION_ID_STATIC",
                )
                .s("ConnectionDeviceID", &sext),
        ),
        fx,
    ))
}

/// USER_MESSAGE_REQ: Distribution 0 to a client, 1 to the supervisor, 2 to the team,
/// 3 to everyone (field note of USER_MESSAGE_REQ.Distribution).
fn user_message(sh: &mut Shared, conn: u64, req: &Message) -> Result<(), Refusal> {
    let dist = req.u32("Distribution").unwrap_or(0);
    let text = req.str("Text").unwrap_or("").to_owned();
    let (from, from_agent) =
        session(sh, conn).map_or((String::new(), None), |s| (s.client_id.clone(), s.agent));
    let sender = actor(sh, conn, req, None).ok().or(from_agent);
    let targets: Vec<u64> = match dist {
        0 => {
            let to = req
                .str("ClientID")
                .ok_or(Refusal::Status("E_CTI_REQUIRED_DATA_MISSING"))?;
            let ids: Vec<u64> = sh
                .conns
                .iter()
                .filter(|(_, c)| {
                    c.session
                        .as_ref()
                        .is_some_and(|s| s.client_id == to && !s.standby)
                })
                .map(|(id, _)| *id)
                .collect();
            if ids.is_empty() {
                return Err(Refusal::Status("E_CTI_CLIENT_NOT_FOUND"));
            }
            ids
        }
        1 | 2 => {
            let a = sender.ok_or(Refusal::Status("E_CTI_INVALID_AGENT_DATA"))?;
            let team = sh.model.agents[a].cfg.team_id;
            let wanted: Vec<usize> = if dist == 1 {
                sh.model.supervisor_of(a).into_iter().collect()
            } else {
                team.map(|t| sh.model.team_members(t)).unwrap_or_default()
            };
            if wanted.is_empty() {
                return Err(Refusal::Status(if dist == 1 {
                    "E_CTI_SUPERVISOR_NOT_FOUND"
                } else {
                    "E_CTI_TEAM_NOT_FOUND"
                }));
            }
            sh.conns
                .iter()
                .filter(|(id, c)| {
                    **id != conn
                        && c.session.as_ref().is_some_and(|s| {
                            !s.standby && s.agent.is_some_and(|x| wanted.contains(&x))
                        })
                })
                .map(|(id, _)| *id)
                .collect()
        }
        3 => sh
            .conns
            .iter()
            .filter(|(_, c)| c.session.as_ref().is_some_and(|s| !s.standby))
            .map(|(id, _)| *id)
            .collect(),
        _ => return Err(Refusal::Status("E_CTI_INVALID_DISTRIBUTION_TYPE")),
    };
    let ev = Ev::new("USER_MESSAGE_EVENT")
        .int("ICMCentralControllerTime", now_secs())
        .int("Distribution", dist)
        .s("ClientID", &from)
        .s("Text", &text);
    // Sent right away: they travel on other connections than the confirmation's,
    // except a message to oneself, which arrives before the confirmation.
    let ev = Arc::new(ev);
    for t in targets {
        if let Some(c) = sh.conns.get(&t) {
            let _ = c.tx.send(Out::Ev(ev.clone(), 0));
        }
    }
    Ok(())
}

/// CONFIG_REQUEST_KEY_EVENT / CONFIG_REQUEST_EVENT: the configuration as events.
fn config_request(sh: &mut Shared, conn: u64, req: &Message) {
    let key = Bytes::from_static(b"SIMKEY01");
    if req.name() == "CONFIG_REQUEST_KEY_EVENT" {
        let ev = Ev::new("CONFIG_KEY_EVENT")
            .int("ConfigKeyStatus", 0)
            .bytes("SkillGroupConfigKey", key.clone())
            .bytes("AgentConfigKey", key.clone())
            .bytes("DeviceConfigKey", key);
        sh.send_ev(conn, &ev);
        return;
    }
    let m = &sh.model;
    let mut evs = vec![Ev::new("CONFIG_BEGIN_EVENT").int("ConfigType", 0).int(
        "ConfigInformation",
        req.u32("ConfigInformation").unwrap_or(0),
    )];
    let mut sg = Ev::new("CONFIG_SKILL_GROUP_EVENT");
    for g in &m.groups {
        sg = sg
            .int("RecordType", 1)
            .int("FltPeripheralID", m.peripheral_id)
            .int("PeripheralNumber", g.number)
            .int("SkillGroupSkillTargetID", g.id)
            .s("PeripheralName", &g.name);
    }
    if !m.groups.is_empty() {
        evs.push(sg);
    }
    let mut ag = Ev::new("CONFIG_AGENT_EVENT");
    for a in &m.agents {
        ag = ag
            .int("RecordType", 1)
            .int("FltPeripheralID", m.peripheral_id)
            .s("LoginID", &a.cfg.agent_id)
            .s("Extension", &a.cfg.extension)
            .int("NumSkills", 0)
            .int("NumMRDs", 0);
    }
    if !m.agents.is_empty() && m.agents.len() <= 50 {
        evs.push(ag);
    }
    evs.push(Ev::new("CONFIG_END_EVENT").int("ConfigEndStatus", 0));
    for e in evs {
        sh.send_ev(conn, &e);
    }
}

/// Used by the maintenance handshake.
pub(crate) fn maintenance_req(invoke: u32) -> Ev {
    Ev::new("ACTIVE_MAINTENANCE_REQ_MSG").int("InvokeID", invoke)
}

/// Used by the maintenance handshake.
pub(crate) fn maintenance_event(go: bool) -> Ev {
    Ev::new("ACTIVE_MAINTENANCE_EVENT_MSG").int("MaintenanceModeStatus", i64::from(go))
}

/// An unsolicited FAILURE_EVENT.
pub(crate) fn failure_event(st: u32) -> Ev {
    Ev::new("FAILURE_EVENT").int("Status", st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_request_has_a_confirmation() {
        for m in spec::MESSAGES {
            if m.direction != Direction::ToServer || !m.documented || !m.name.ends_with("_REQ") {
                continue;
            }
            assert!(conf_name(m.name).is_some(), "{}", m.name);
        }
    }
}
