//! `cce_sim_*`: the embedded CTI Server simulator.

use super::*;

/// Starts the embedded CTI Server simulator. `config_json` may be NULL or "{}" for the
/// defaults (127.0.0.1, ephemeral port, agent 1001 at extension/instrument 5001,
/// peripheral 5000). On success `*out` is the handle; stop it with [`cce_sim_stop`].
///
/// # Safety
/// `config_json` must be NULL or NUL-terminated; `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_start(
    config_json: *const c_char,
    out: *mut *mut cce_sim,
) -> cce_status {
    guard(|| {
        // SAFETY: forwarded caller promise.
        let cfg = unsafe { arg_str(config_json, "config_json", true) }?.unwrap_or("");
        if out.is_null() {
            return Err(null("out"));
        }
        let sim = CtiSim::start(cfg).map_err(|e| fail(&e))?;
        let h = handle::insert(Arc::new(sim));
        // SAFETY: checked non-null above.
        unsafe { write_out(out, h, "out") }
    })
}

/// The TCP port the simulator listens on (on 127.0.0.1 unless configured otherwise).
///
/// # Safety
/// `port_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_port(sim: *const cce_sim, port_out: *mut u16) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        unsafe { write_out(port_out, s.port(), "port_out") }
    })
}

/// Plays a scripted inbound call to an AVAILABLE agent, e.g.
/// `{"ani":"5551234","dnis":"8000","call_variables":["acct-42"],"named_variables":[["user.id","7"]]}`.
/// Events: BEGIN_CALL, CALL_DELIVERED, CALL_ESTABLISHED, AGENT_STATE (talking),
/// CALL_CLEARED, END_CALL, AGENT_STATE (available). `call_id_out` may be NULL.
///
/// # Safety
/// `call_json` must be NUL-terminated; `call_id_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_inject_call(
    sim: *const cce_sim,
    call_json: *const c_char,
    call_id_out: *mut u32,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let call = unsafe { arg_str(call_json, "call_json", false) }?.unwrap_or_default();
        let id = s.inject_call(call).map_err(|e| fail(&e))?;
        // SAFETY: forwarded caller promise.
        unsafe { write_opt(call_id_out, id) }
    })
}

/// Fault injection: stop (`answer` = false) or resume answering HEARTBEAT_REQ.
#[no_mangle]
pub extern "C" fn cce_sim_set_answer_heartbeats(sim: *const cce_sim, answer: bool) -> cce_status {
    guard(|| {
        sim_of(sim)?
            .set_answer_heartbeats(answer)
            .map_err(|e| fail(&e))
    })
}

/// Number of HEARTBEAT_REQs the simulator received and left unanswered.
///
/// # Safety
/// `count_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_unanswered_heartbeats(
    sim: *const cce_sim,
    count_out: *mut u64,
) -> cce_status {
    guard(|| {
        let n = sim_of(sim)?.unanswered_heartbeats().map_err(|e| fail(&e))?;
        // SAFETY: forwarded caller promise.
        unsafe { write_out(count_out, n, "count_out") }
    })
}

/// Stops the simulator, closes its client sessions and frees the handle.
/// A second call with the same handle returns `CCE_ERR_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn cce_sim_stop(sim: *mut cce_sim) -> cce_status {
    guard(|| handle::remove::<CtiSim>(sim)?.stop().map_err(|e| fail(&e)))
}

/// Borrows a side name ("A" or "B"); NULL is allowed when `optional` (all sides).
///
/// # Safety
/// `p` must be NULL or NUL-terminated.
unsafe fn side_arg<'a>(p: *const c_char, optional: bool) -> Result<Option<&'a str>, cce_status> {
    // SAFETY: forwarded caller promise.
    unsafe { arg_str(p, "side", optional) }
}

/// The TCP port of side "A" or "B". `*port_out` is 0 for side B of a simplex
/// simulator (start with `{"bind_b":"127.0.0.1:0"}` for a duplex pair).
///
/// # Safety
/// `side` must be NUL-terminated; `port_out` writable.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_side_port(
    sim: *const cce_sim,
    side: *const c_char,
    port_out: *mut u16,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let side = unsafe { side_arg(side, false) }?.unwrap_or_default();
        let port = s.side_port(side).map_err(|e| fail(&e))?.unwrap_or(0);
        // SAFETY: forwarded caller promise.
        unsafe { write_out(port_out, port, "port_out") }
    })
}

/// Kills side "A" or "B": its listener and every connection close. When it was active
/// the other side becomes active (its standby sessions get STANDBY_ACTIVE_EVENT).
///
/// # Safety
/// `side` must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_kill_side(sim: *const cce_sim, side: *const c_char) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let side = unsafe { side_arg(side, false) }?.unwrap_or_default();
        s.kill_side(side).map_err(|e| fail(&e))
    })
}

/// Restarts a killed side on its port (standby when the other side is active).
/// `port_out` may be NULL.
///
/// # Safety
/// `side` must be NUL-terminated; `port_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_restart_side(
    sim: *const cce_sim,
    side: *const c_char,
    port_out: *mut u16,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let side = unsafe { side_arg(side, false) }?.unwrap_or_default();
        let port = s.restart_side(side).map_err(|e| fail(&e))?;
        // SAFETY: forwarded caller promise.
        unsafe { write_opt(port_out, port) }
    })
}

/// Makes side "A" or "B" active and the other standby.
///
/// # Safety
/// `side` must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_switch_active(
    sim: *const cce_sim,
    side: *const c_char,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let side = unsafe { side_arg(side, false) }?.unwrap_or_default();
        s.switch_active(side).map_err(|e| fail(&e))
    })
}

/// Stops (`answer` = false) or resumes answering HEARTBEAT_REQ on one side only; the
/// TCP connections stay open.
///
/// # Safety
/// `side` must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_set_answer_heartbeats_on(
    sim: *const cce_sim,
    side: *const c_char,
    answer: bool,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let side = unsafe { side_arg(side, false) }?.unwrap_or_default();
        s.set_answer_heartbeats_on(side, answer)
            .map_err(|e| fail(&e))
    })
}

/// Runs the v24+ maintenance handshake on the active side (blocks until it ends, at
/// most twice `maintenance_timeout_ms`). `outcome_json_out` (may be NULL) receives
/// `{"accepted":bool,"accepted_by":[..],"rejected_by":[..],"no_answer":[..],
/// "stopped":n,"forced":n}`; free it with `cce_string_free`.
///
/// # Safety
/// `side` must be NUL-terminated; `outcome_json_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_maintenance(
    sim: *const cce_sim,
    side: *const c_char,
    outcome_json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let side = unsafe { side_arg(side, false) }?.unwrap_or_default();
        let out = s.maintenance(side).map_err(|e| fail(&e))?;
        // SAFETY: forwarded caller promise.
        unsafe { write_opt_string(outcome_json_out, out) }
    })
}

/// Ends a side's maintenance (it becomes standby).
///
/// # Safety
/// `side` must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_end_maintenance(
    sim: *const cce_sim,
    side: *const c_char,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let side = unsafe { side_arg(side, false) }?.unwrap_or_default();
        s.end_maintenance(side).map_err(|e| fail(&e))
    })
}

/// Adds a request fault rule, e.g.
/// `{"request":"HOLD_CALL_REQ","times":1,"action":"failure_conf","status":"E_CTI_INVALID_CALLID"}`
/// or `{"request":"MAKE_CALL_REQ","action":"control_failure","failure_code":"CF_RESOURCE_BUSY",
/// "peripheral_error":42}`; other actions: `delay` (`delay_ms`), `drop`, `ignore`, `close`,
/// `malformed`. `"request":"*"` matches any request; `"side":"B"` one side only.
///
/// # Safety
/// `fault_json` must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_add_fault(
    sim: *const cce_sim,
    fault_json: *const c_char,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let f = unsafe { arg_str(fault_json, "fault_json", false) }?.unwrap_or_default();
        s.add_fault(f).map_err(|e| fail(&e))
    })
}

/// Removes every request fault rule.
#[no_mangle]
pub extern "C" fn cce_sim_clear_faults(sim: *const cce_sim) -> cce_status {
    guard(|| sim_of(sim)?.clear_faults().map_err(|e| fail(&e)))
}

/// Sends FAILURE_EVENT with `status` (a Status Codes name such as
/// "E_CTI_CTI_SERVER_OFFLINE", or a number) to every session; `side` may be NULL
/// (both sides) or "A"/"B".
///
/// # Safety
/// `status` must be NUL-terminated; `side` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_send_failure_event(
    sim: *const cce_sim,
    status: *const c_char,
    side: *const c_char,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let st = unsafe { arg_str(status, "status", false) }?.unwrap_or_default();
        // SAFETY: forwarded caller promise.
        let side = unsafe { side_arg(side, true) }?;
        s.send_failure_event(st, side).map_err(|e| fail(&e))
    })
}

/// Closes every connection (of one side when `side` is not NULL) without a word.
///
/// # Safety
/// `side` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_close_sessions(
    sim: *const cce_sim,
    side: *const c_char,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let side = unsafe { side_arg(side, true) }?;
        s.close_sessions(side).map_err(|e| fail(&e))
    })
}

/// Sends a malformed frame (END_CALL_EVENT with a 3-byte body) to every connection
/// (of one side when `side` is not NULL).
///
/// # Safety
/// `side` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_send_malformed(
    sim: *const cce_sim,
    side: *const c_char,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let side = unsafe { side_arg(side, true) }?;
        s.send_malformed(side).map_err(|e| fail(&e))
    })
}

/// Writes `len` raw bytes to every connection (fault injection).
///
/// # Safety
/// `data` must point to `len` readable bytes (may be NULL when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn cce_sim_send_raw(
    sim: *const cce_sim,
    data: *const u8,
    len: usize,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        let bytes: &[u8] = if len == 0 {
            &[]
        } else if data.is_null() {
            return Err(null("data"));
        } else {
            // SAFETY: non-null, `len` readable bytes per the caller.
            unsafe { std::slice::from_raw_parts(data, len) }
        };
        s.send_raw(bytes).map_err(|e| fail(&e))
    })
}

/// Offers a live inbound call (JSON as for `cce_sim_inject_call`, plus `skill_group`,
/// `answer_after_ms`, `talk_ms`): routed to an available agent (BEGIN_CALL,
/// AGENT_STATE reserved, CALL_DELIVERED) or queued (BEGIN_CALL, CALL_QUEUED); it rings
/// until answered. `call_id_out` may be NULL.
///
/// # Safety
/// `call_json` must be NUL-terminated; `call_id_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_offer_call(
    sim: *const cce_sim,
    call_json: *const c_char,
    call_id_out: *mut u32,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let call = unsafe { arg_str(call_json, "call_json", false) }?.unwrap_or_default();
        let id = s.offer_call(call).map_err(|e| fail(&e))?;
        // SAFETY: forwarded caller promise.
        unsafe { write_opt(call_id_out, id) }
    })
}

/// The ringing agent (or `agent_id`, may be NULL) answers the call.
///
/// # Safety
/// `agent_id` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_answer_call(
    sim: *const cce_sim,
    call_id: u32,
    agent_id: *const c_char,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let agent = unsafe { arg_str(agent_id, "agent_id", true) }?;
        s.answer_call(call_id, agent).map_err(|e| fail(&e))
    })
}

/// The caller of `call_id` hangs up.
#[no_mangle]
pub extern "C" fn cce_sim_hangup(sim: *const cce_sim, call_id: u32) -> cce_status {
    guard(|| sim_of(sim)?.hangup(call_id).map_err(|e| fail(&e)))
}

/// Sets an agent's state from the peripheral side (`state` is an AgentState name such
/// as "AGENT_STATE_AVAILABLE").
///
/// # Safety
/// `agent_id` and `state` must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_set_agent_state(
    sim: *const cce_sim,
    agent_id: *const c_char,
    state: *const c_char,
    reason: u16,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let agent = unsafe { arg_str(agent_id, "agent_id", false) }?.unwrap_or_default();
        // SAFETY: forwarded caller promise.
        let state = unsafe { arg_str(state, "state", false) }?.unwrap_or_default();
        s.set_agent_state(agent, state, reason)
            .map_err(|e| fail(&e))
    })
}

/// Runs any simulator command given as JSON (`{"op":"kill_side","side":"A"}`,
/// `{"op":"status"}`, ...; see docs/simulator.md) and blocks until it is done.
/// `result_json_out` (may be NULL) receives the result; free it with `cce_string_free`.
///
/// # Safety
/// `command_json` must be NUL-terminated; `result_json_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_command(
    sim: *const cce_sim,
    command_json: *const c_char,
    result_json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let cmd = unsafe { arg_str(command_json, "command_json", false) }?.unwrap_or_default();
        let out = s.command(cmd).map_err(|e| fail(&e))?;
        // SAFETY: forwarded caller promise.
        unsafe { write_opt_string(result_json_out, out) }
    })
}

/// Runs a scenario script (JSON with timed `steps`) to its end. `report_json_out` (may
/// be NULL) receives `{"steps_run":n,"errors":[..],"results":[..]}`.
///
/// # Safety
/// `scenario_json` must be NUL-terminated; `report_json_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cce_sim_run_scenario(
    sim: *const cce_sim,
    scenario_json: *const c_char,
    report_json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let s = sim_of(sim)?;
        // SAFETY: forwarded caller promise.
        let sc = unsafe { arg_str(scenario_json, "scenario_json", false) }?.unwrap_or_default();
        let out = s.run_scenario(sc).map_err(|e| fail(&e))?;
        // SAFETY: forwarded caller promise.
        unsafe { write_opt_string(report_json_out, out) }
    })
}
