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
        let token = new_token();
        registry().sims.insert(token, Arc::new(sim));
        // SAFETY: checked non-null above.
        unsafe { write_out(out, token as *mut cce_sim, "out") }
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
        if !call_id_out.is_null() {
            // SAFETY: non-null and writable per the caller.
            unsafe { call_id_out.write(id) };
        }
        Ok(())
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
    guard(|| {
        let s = registry()
            .sims
            .remove(&(sim as usize))
            .ok_or_else(|| invalid_handle("simulator handle"))?;
        s.stop().map_err(|e| fail(&e))
    })
}
