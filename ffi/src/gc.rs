//! `gc_*`: the Generic Connector client and simulator (over an ActiveMQ STOMP broker).
//!
//! Same conventions as the CTI functions: opaque handles, `cce_status` results, the
//! thread-local last error, and events as JSON delivered to a callback (on the shared
//! callback threads) or pulled with [`gc_poll_event`].

use super::*;

use cce::api::{GcEventOut, GcSession, GcSim};

impl Source for GcSession {
    type Event = GcEventOut;
    const NOUN: &'static str = "session";
    /// Longest wait of [`gc_close`] for the callback to take the final event.
    const CLOSE_GRACE: Duration = Duration::from_secs(5);

    fn wait_next(&self, timeout: Duration) -> Result<Option<GcEventOut>, Error> {
        self.next_event(Some(timeout))
    }

    fn shut(&self) -> Result<(), Error> {
        self.close()
    }

    fn try_next(&self) -> Next<GcEventOut> {
        match self.try_next_event() {
            Ok(Some(ev)) => {
                let last = ev.last;
                Next::Event(ev, last)
            }
            Ok(None) => Next::Empty,
            Err(_) => Next::Done,
        }
    }

    fn has_pending(&self) -> bool {
        self.has_queued_events()
    }

    fn set_waker(&self, waker: Box<dyn Fn() + Send + Sync>) {
        self.set_event_waker(waker);
    }
}

/// An open GC client session (opaque).
pub struct gc_session {
    _private: [u8; 0],
}

/// A running GC simulator (opaque).
pub struct gc_sim {
    _private: [u8; 0],
}

/// GC event callback: `json` is the event (`{"event": "State", ...}`), valid only
/// during the call. The last call of a session carries `{"event":"Closed"}`.
pub type gc_event_cb = Option<unsafe extern "C" fn(user_data: *mut c_void, json: *const c_char)>;

impl Handle for Evented<GcSession> {
    type C = gc_session;
    const NAME: &'static str = "gc_session";
}

impl Handle for GcSim {
    type C = gc_sim;
    const NAME: &'static str = "gc_sim";
}

fn gc_session_of(h: *const gc_session) -> Result<Arc<GcSession>, cce_status> {
    Ok(handle::get::<Evented<GcSession>>(h)?.source().clone())
}

/// Opens a GC client session: connects to the first reachable broker of the list,
/// subscribes to the destination topic and sends `Hello`. Reconnection (with backoff)
/// and failover to the next GC/broker pair then happen in the background.
///
/// `config_json` keys: `brokers` ("host:port" or a list, local site first; required),
/// `destination` (default `<host>-<pid>`), `request_queue` (default "Connector1"),
/// `broker_login`, `broker_passcode`, `hello_key`, `heartbeat_ms` (10000),
/// `heartbeat_misses` (3), `use_beat`, `relogin_attempts` (3), `connect_timeout_ms`,
/// `receipt_timeout_ms`, `stomp_heartbeat_ms`, `reconnect_min_ms`, `reconnect_max_ms`,
/// `properties`, `event_queue` (10000), `command_queue` (1000), `overflow`
/// ("back_pressure": stop reading the broker while the event queue is full; "close":
/// end with `{"event":"Overrun"}`), `close_timeout_ms` (2000), `trace` (true: wire
/// trace of every STOMP frame to the log callback, target `libcce::wire`), `trace_file`
/// (wire trace appended to this path as JSON lines).
///
/// `Error` events carry the GC error table's columns: `origin`, `behaviour` (the
/// expected client behaviour), `description`, `user_message`.
///
/// Events: with a `callback`, libcce calls it on the shared callback threads (see
/// [`cce_set_callback_threads`]), in arrival order, never two at once; the last call is `{"event":"Closed"}`. The
/// callback may call `gc_send`, but not `gc_close` on its own session
/// (`CCE_ERR_WOULD_DEADLOCK`). With `callback` NULL, pull events with [`gc_poll_event`].
/// No reachable broker gives `CCE_ERR_IO` (or `CCE_ERR_TIMEOUT`, `CCE_ERR_REFUSED`).
///
/// # Safety
/// `config_json` must be NUL-terminated; `out` writable; `user_data` must stay valid
/// until `gc_close` returns.
#[no_mangle]
pub unsafe extern "C" fn gc_open(
    config_json: *const c_char,
    callback: gc_event_cb,
    user_data: *mut c_void,
    out: *mut *mut gc_session,
) -> cce_status {
    guard(|| {
        // SAFETY: forwarded caller promise.
        let cfg = unsafe { arg_str(config_json, "config_json", false) }?.unwrap_or_default();
        if out.is_null() {
            return Err(null("out"));
        }
        let session = GcSession::open(cfg).map_err(|e| fail(&e))?;
        let deliver = callback.map(|cb| {
            let ud = UserData(user_data);
            move |ev: GcEventOut| {
                let json = event_c_string(ev.json);
                // SAFETY: the application supplied `cb` and `ud` for exactly this use.
                unsafe { cb(ud.ptr(), json.as_ptr()) };
            }
        });
        let h = handle::insert(Arc::new(Evented::start(session, deliver)?));
        // SAFETY: checked non-null above.
        unsafe { write_out(out, h, "out") }
    })
}

/// Sends a command given as JSON, e.g.
/// `{"command":"Login","agent_id":"1001","password":"pw","extension":"4012"}`, and
/// returns once the broker has it (GC's answers arrive as events). A parameter
/// containing `,` `#` or `|`, or a `TransferCall`/`ConferenceCall` without `target`
/// and no active consult on that dialog, gives `CCE_ERR_INVALID_ARGUMENT` and nothing
/// is sent; a command while no broker link is up gives `CCE_ERR_DISCONNECTED`
/// (nothing sent, not queued: retry after `Connected`); a full command queue gives
/// `CCE_ERR_QUEUE_FULL` (nothing sent). `CCE_ERR_TIMEOUT` means the broker did not
/// confirm in time: the outcome is unknown (GC may still execute the command).
/// Passwords never appear in `cce_last_error`.
///
/// # Safety
/// `command_json` must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn gc_send(
    session: *const gc_session,
    command_json: *const c_char,
) -> cce_status {
    guard(|| {
        let s = gc_session_of(session)?;
        // SAFETY: forwarded caller promise.
        let cmd = unsafe { arg_str(command_json, "command_json", false) }?.unwrap_or_default();
        s.send_json(cmd).map_err(|e| fail(&e))
    })
}

/// Pull mode (sessions opened without a callback): waits up to `timeout_ms` for the
/// next event. `CCE_ERR_TIMEOUT` when none came, `CCE_ERR_CLOSED` after
/// `{"event":"Closed"}` was taken. Free `*json_out` with [`cce_string_free`].
///
/// # Safety
/// `json_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn gc_poll_event(
    session: *const gc_session,
    timeout_ms: u32,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let e = handle::get::<Evented<GcSession>>(session)?;
        e.polled("gc_poll_event")?;
        if json_out.is_null() {
            return Err(null("json_out"));
        }
        let ev = e.poll(timeout_ms, "gc_poll_event")?;
        // SAFETY: checked non-null above.
        unsafe { write_out(json_out, to_c_string(ev.json), "json_out") }
    })
}

/// The session's link and GC status as JSON: `{"broker": "host:port" or null,
/// "gc": "Unknown" | "InService" | "OutOfService" | "NotReachable" | "Unreachable",
/// "events_queued": n or null, "events_high_water": n, "events_dropped": n}`.
/// Free `*json_out` with [`cce_string_free`].
///
/// # Safety
/// `json_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn gc_state(
    session: *const gc_session,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let s = gc_session_of(session)?;
        // SAFETY: forwarded caller promise.
        unsafe { write_out(json_out, to_c_string(s.state_json()), "json_out") }
    })
}

/// Closes the session, waits (at most 5 s) for the callback to take `{"event":"Closed"}`,
/// and frees the handle; after it returns no new callback of the session starts (if
/// the callback was still busy, `CCE_ERR_TIMEOUT`: closed all the same). The broker
/// link closes within `close_timeout_ms` plus 0.5 s whatever the broker does; events
/// still queued are dropped. A second call gives `CCE_ERR_INVALID_HANDLE`; a call from the
/// session's own callback gives `CCE_ERR_WOULD_DEADLOCK` and leaves it open.
#[no_mangle]
pub extern "C" fn gc_close(session: *mut gc_session) -> cce_status {
    guard(|| dispatch::close::<GcSession>(session, "gc_close"))
}

/// Encodes a command given as JSON to its wire form without sending it: the JMSType
/// (e.g. "Login#1001") and the body (e.g. "pw,4012"). Free both with
/// [`cce_string_free`]. For `Hello`/`Beat`, `agent_id` is the client destination.
///
/// # Safety
/// `command_json` must be NUL-terminated; the out pointers writable.
#[no_mangle]
pub unsafe extern "C" fn gc_encode_command(
    command_json: *const c_char,
    jms_type_out: *mut *mut c_char,
    body_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        // SAFETY: forwarded caller promise.
        let cmd = unsafe { arg_str(command_json, "command_json", false) }?.unwrap_or_default();
        require_out!(jms_type_out, body_out);
        let (t, b) = cce::api::gc_encode_command(cmd).map_err(|e| fail(&e))?;
        // SAFETY: checked non-null above.
        unsafe {
            write_out(jms_type_out, to_c_string(t), "jms_type_out")?;
            write_out(body_out, to_c_string(b), "body_out")
        }
    })
}

/// Parses one GC message body (`len` bytes; text `#` format or JSON, detected per
/// message) with its JMSType (NULL when unset) into a JSON array of events. Free
/// `*json_out` with [`cce_string_free`]. Bad input gives `CCE_ERR_CODEC`.
///
/// # Safety
/// `body` must point to `len` readable bytes; `jms_type` NULL or NUL-terminated;
/// `json_out` writable.
#[no_mangle]
pub unsafe extern "C" fn gc_parse_event(
    body: *const u8,
    len: usize,
    jms_type: *const c_char,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        if body.is_null() && len != 0 {
            return Err(null("body"));
        }
        // SAFETY: forwarded caller promise.
        let t = unsafe { arg_str(jms_type, "jms_type", true) }?;
        if json_out.is_null() {
            return Err(null("json_out"));
        }
        let data = if len == 0 {
            &[][..]
        } else {
            // SAFETY: the caller promises `len` readable bytes.
            unsafe { std::slice::from_raw_parts(body, len) }
        };
        let j = cce::api::gc_parse_event(data, t).map_err(|e| fail(&e))?;
        // SAFETY: checked non-null above.
        unsafe { write_out(json_out, to_c_string(j), "json_out") }
    })
}

/// Starts a GC simulator on a broker: `config_json` needs `broker` ("host:port", or
/// "embedded" for an in-memory broker on 127.0.0.1 whose address the action
/// `{"action":"broker"}` returns as `"host:port"`); optional `request_queue` ("Connector1"), `format` ("json" or "text"), `agents`
/// (default 1001/1002 and supervisor 9001, password "secret"), reason codes.
///
/// # Safety
/// `config_json` must be NUL-terminated; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn gc_sim_start(
    config_json: *const c_char,
    out: *mut *mut gc_sim,
) -> cce_status {
    guard(|| {
        // SAFETY: forwarded caller promise.
        let cfg = unsafe { arg_str(config_json, "config_json", false) }?.unwrap_or_default();
        if out.is_null() {
            return Err(null("out"));
        }
        let sim = GcSim::start(cfg).map_err(|e| fail(&e))?;
        let h = handle::insert(Arc::new(sim));
        // SAFETY: checked non-null above.
        unsafe { write_out(out, h, "out") }
    })
}

/// Controls the simulator with a JSON action, e.g.
/// `{"action":"inject_call","agent_id":"1001","from":"5551234"}` (returns the dialog
/// ID), `send_error`, `fail_next`, `forget_agent`, `reconnect_next`,
/// `invalidate_session`, `destination_reconnect`, `set_in_service`,
/// `set_answer_heartbeats`, `set_format`, `agent_state`, `requests`, `broker` (the
/// broker's "host:port", e.g. of the embedded one). `*result_out`
/// (may be NULL) gets the JSON result; free it with [`cce_string_free`].
///
/// # Safety
/// `action_json` must be NUL-terminated; `result_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn gc_sim_control(
    sim: *const gc_sim,
    action_json: *const c_char,
    result_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let s = handle::get::<GcSim>(sim)?;
        // SAFETY: forwarded caller promise.
        let action = unsafe { arg_str(action_json, "action_json", false) }?.unwrap_or_default();
        let r = s.control(action).map_err(|e| fail(&e))?;
        // SAFETY: forwarded caller promise.
        unsafe { write_opt_string(result_out, r) }
    })
}

/// Stops the simulator and frees the handle. A second call gives
/// `CCE_ERR_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn gc_sim_stop(sim: *mut gc_sim) -> cce_status {
    guard(|| handle::remove::<GcSim>(sim)?.stop().map_err(|e| fail(&e)))
}
