//! `ece_*`: Cisco Enterprise Chat and Email — Messaging API client, webhook server,
//! chat web services and the embedded ECE simulator.
//!
//! Same conventions as the rest of libcce. For ECE calls that failed on an HTTP
//! answer, [`cce_last_error_cti_status`] gives the HTTP status (e.g. 409) and
//! [`cce_last_error`] names the ECE error (e.g. "stale configuration: ...").
//! Status mapping: 400 and bad arguments → `CCE_ERR_INVALID_ARGUMENT`; 401, 403,
//! 409, 5xx → `CCE_ERR_REFUSED`; 404 (conversation gone) → `CCE_ERR_CLOSED`;
//! timeouts → `CCE_ERR_TIMEOUT`; connection/TLS failures → `CCE_ERR_IO`; other
//! statuses and unreadable answers → `CCE_ERR_PROTOCOL`.

use super::*;

use cce::api::{EceChatWs, EceClient, EceSim, EceWebhook};

/// A Messaging API client (opaque).
pub struct ece_client {
    _private: [u8; 0],
}

/// A running webhook server (opaque).
pub struct ece_webhook {
    _private: [u8; 0],
}

/// A chat web services client (opaque).
pub struct ece_chatws {
    _private: [u8; 0],
}

/// A running ECE simulator (opaque).
pub struct ece_sim {
    _private: [u8; 0],
}

/// Webhook event callback: `json` is the event (see `docs/ece.md`), valid only
/// during the call.
pub type ece_event_cb = Option<unsafe extern "C" fn(user_data: *mut c_void, json: *const c_char)>;

impl Source for EceWebhook {
    type Event = String;
    const NOUN: &'static str = "webhook server";
    /// Longest wait of [`ece_webhook_stop`] for the callback to take the queued events.
    const CLOSE_GRACE: Duration = Duration::from_secs(5);

    fn wait_next(&self, timeout: Duration) -> Result<Option<String>, Error> {
        self.next_event(Some(timeout))
    }

    fn shut(&self) -> Result<(), Error> {
        self.stop()
    }

    fn try_next(&self) -> Next<String> {
        match self.try_next_event() {
            Ok(Some(json)) => Next::Event(json, false),
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

impl Handle for EceClient {
    type C = ece_client;
    const NAME: &'static str = "ece_client";
}

impl Handle for Evented<EceWebhook> {
    type C = ece_webhook;
    const NAME: &'static str = "ece_webhook";
}

impl Handle for EceChatWs {
    type C = ece_chatws;
    const NAME: &'static str = "ece_chatws";
}

impl Handle for EceSim {
    type C = ece_sim;
    const NAME: &'static str = "ece_sim";
}

fn client_of(h: *const ece_client) -> Result<Arc<EceClient>, cce_status> {
    handle::get(h)
}

fn webhook_of(h: *const ece_webhook) -> Result<Arc<EceWebhook>, cce_status> {
    Ok(handle::get::<Evented<EceWebhook>>(h)?.source().clone())
}

fn chatws_of(h: *const ece_chatws) -> Result<Arc<EceChatWs>, cce_status> {
    handle::get(h)
}

// ---------------------------------------------------------------------------
// Messaging API client.

/// Creates a Messaging API client (no network traffic yet). `config_json` keys:
/// `server_url` (https, or http to loopback / with `allow_http`), `client_key`,
/// `client_secret`, `entry_point_id` (required); `force_login` (default true),
/// `accept_language`, `token_refresh_ratio` (0.9), `end_conversation_path`,
/// `connect_timeout_ms`, `request_timeout_ms`, `verify_tls` (default true), `ca_pem`,
/// `max_retries`, `retry_base_ms`, `rate_limit_per_sec`, `rate_limit_burst`, `trace`
/// (each call as a `libcce::wire` log record; no bodies).
/// Free it with [`ece_client_free`]. Calls on one client may come from any thread.
///
/// # Safety
/// `config_json` must be NUL-terminated; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn ece_client_new(
    config_json: *const c_char,
    out: *mut *mut ece_client,
) -> cce_status {
    guard(|| {
        // SAFETY: forwarded caller promise.
        let cfg = unsafe { req_str(config_json, "config_json") }?;
        if out.is_null() {
            return Err(null("out"));
        }
        let c = EceClient::new(cfg).map_err(|e| fail(&e))?;
        let h = handle::insert(Arc::new(c));
        // SAFETY: checked non-null above.
        unsafe { write_out(out, h, "out") }
    })
}

/// Frees a client. A second call returns `CCE_ERR_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn ece_client_free(client: *mut ece_client) -> cce_status {
    guard(|| handle::remove::<EceClient>(client).map(drop))
}

/// Logs in now (OAuth2 client credentials), replacing any cached token. Other calls
/// log in by themselves when needed; this checks the credentials early.
#[no_mangle]
pub extern "C" fn ece_client_login(client: *const ece_client) -> cce_status {
    guard(|| client_of(client)?.login().map_err(|e| fail(&e)))
}

/// The entry point configuration as `{"entry_point_id","last_modified","raw"}`
/// (cached unless `refresh`). Free `*json_out` with [`cce_string_free`].
///
/// # Safety
/// `json_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ece_client_configuration(
    client: *const ece_client,
    refresh: bool,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let c = client_of(client)?;
        if json_out.is_null() {
            return Err(null("json_out"));
        }
        let j = c.configuration_json(refresh).map_err(|e| fail(&e))?;
        // SAFETY: checked non-null above.
        unsafe { write_out(json_out, to_c_string(j), "json_out") }
    })
}

/// Starts a conversation. `request_json`: `{"customer":{"first_name","last_name",
/// "email","phones":[{"number","type","country_code","area_code"}]},
/// "send_typing_notification":true,"search_contact_on_attribute":"email.emailAddress"}`
/// (every key optional). A 409 is recovered once by refetching the configuration.
/// `*result_json_out` is `{"id","activity_id","case_id"}` (free with
/// [`cce_string_free`]); `id` is the conversation ID used by later calls and events.
///
/// # Safety
/// `request_json` must be NUL-terminated; `result_json_out` writable.
#[no_mangle]
pub unsafe extern "C" fn ece_client_start_conversation(
    client: *const ece_client,
    request_json: *const c_char,
    result_json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let c = client_of(client)?;
        // SAFETY: forwarded caller promise.
        let req = unsafe { req_str(request_json, "request_json") }?;
        if result_json_out.is_null() {
            return Err(null("result_json_out"));
        }
        let j = c.start_conversation_json(req).map_err(|e| fail(&e))?;
        // SAFETY: checked non-null above.
        unsafe { write_out(result_json_out, to_c_string(j), "result_json_out") }
    })
}

/// Sends a customer message. `message_type`: "text/html" (NULL: the default) or
/// "text/plain". Never re-sent after a timeout or server error: it may have been
/// accepted. `CCE_ERR_CLOSED` (HTTP 404): the conversation is gone.
///
/// # Safety
/// Strings must be NUL-terminated (`message_type` may be NULL).
#[no_mangle]
pub unsafe extern "C" fn ece_client_send_message(
    client: *const ece_client,
    conversation_id: *const c_char,
    content: *const c_char,
    message_type: *const c_char,
) -> cce_status {
    guard(|| {
        let c = client_of(client)?;
        // SAFETY: forwarded caller promise.
        let (conv, text, ty) = unsafe {
            (
                req_str(conversation_id, "conversation_id")?,
                req_str(content, "content")?,
                arg_str(message_type, "message_type", true)?.unwrap_or(""),
            )
        };
        c.send_message(conv, text, ty).map_err(|e| fail(&e))
    })
}

/// Ends a conversation (endpoint unverified: see `end_conversation_path` and
/// `docs/ece.md`). A `complete` event should follow on the webhook.
///
/// # Safety
/// `conversation_id` must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn ece_client_end_conversation(
    client: *const ece_client,
    conversation_id: *const c_char,
) -> cce_status {
    guard(|| {
        let c = client_of(client)?;
        // SAFETY: forwarded caller promise.
        let conv = unsafe { req_str(conversation_id, "conversation_id") }?;
        c.end_conversation(conv).map_err(|e| fail(&e))
    })
}

// ---------------------------------------------------------------------------
// Webhook server.

/// Starts the webhook server ECE posts events to. `config_json`: `auth` (required:
/// `{"basic":{"username","password"}}`, `{"bearer":"<token>"}`, or `{"none":true}` for
/// lab use), `bind` (default "127.0.0.1:0"), `path` ("/"), `max_body_bytes`,
/// `max_depth`, `max_events`, `queue_capacity`, `dedup_window`, `max_connections`,
/// `read_timeout_ms`.
///
/// Events: with a `callback`, libcce calls it on the shared callback threads (see
/// [`cce_set_callback_threads`]), in arrival order (so in order per conversation), never
/// concurrently, with the event as JSON: `{"type":"assigned"|"startTyping"|
/// "endTyping"|"message"|"complete"|"other","type_value","conversation_id","id",
/// "timestamp","content","sender","agent":{"name","screen_name"},"format","raw"}`.
/// The callback may call other libcce functions but not [`ece_webhook_stop`] on its
/// own server (`CCE_ERR_WOULD_DEADLOCK`). With `callback` NULL, pull events with
/// [`ece_webhook_poll_event`].
///
/// # Safety
/// `config_json` NUL-terminated; `out` writable; `user_data` valid until
/// `ece_webhook_stop` returns.
#[no_mangle]
pub unsafe extern "C" fn ece_webhook_start(
    config_json: *const c_char,
    callback: ece_event_cb,
    user_data: *mut c_void,
    out: *mut *mut ece_webhook,
) -> cce_status {
    guard(|| {
        // SAFETY: forwarded caller promise.
        let cfg = unsafe { req_str(config_json, "config_json") }?;
        if out.is_null() {
            return Err(null("out"));
        }
        let hook = EceWebhook::start(cfg).map_err(|e| fail(&e))?;
        let deliver = callback.map(|cb| {
            let ud = UserData(user_data);
            move |json: String| {
                let json = event_c_string(json);
                // SAFETY: the application supplied `cb` and `ud` for exactly this use.
                unsafe { cb(ud.ptr(), json.as_ptr()) };
            }
        });
        let h = handle::insert(Arc::new(Evented::start(hook, deliver)?));
        // SAFETY: checked non-null above.
        unsafe { write_out(out, h, "out") }
    })
}

/// The port the webhook server listens on.
///
/// # Safety
/// `port_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ece_webhook_port(
    hook: *const ece_webhook,
    port_out: *mut u16,
) -> cce_status {
    guard(|| {
        let h = webhook_of(hook)?;
        // SAFETY: forwarded caller promise.
        unsafe { write_out(port_out, h.port(), "port_out") }
    })
}

/// The callback URL on the listening address ("http://127.0.0.1:PORT/PATH"); free
/// with [`cce_string_free`]. Behind a TLS proxy, register the proxy's URL in ECE.
///
/// # Safety
/// `url_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ece_webhook_url(
    hook: *const ece_webhook,
    url_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let h = webhook_of(hook)?;
        if url_out.is_null() {
            return Err(null("url_out"));
        }
        // SAFETY: checked non-null above.
        unsafe { write_out(url_out, to_c_string(h.url().to_owned()), "url_out") }
    })
}

/// Pull mode (servers started without a callback): waits up to `timeout_ms` for the
/// next event. `CCE_ERR_TIMEOUT` when none came; `CCE_ERR_CLOSED` once the server was
/// stopped and every event taken. Free `*json_out` with [`cce_string_free`].
///
/// # Safety
/// `json_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ece_webhook_poll_event(
    hook: *const ece_webhook,
    timeout_ms: u32,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let e = handle::get::<Evented<EceWebhook>>(hook)?;
        e.polled("ece_webhook_poll_event")?;
        if json_out.is_null() {
            return Err(null("json_out"));
        }
        let j = e.poll(timeout_ms, "ece_webhook_poll_event")?;
        // SAFETY: checked non-null above.
        unsafe { write_out(json_out, to_c_string(j), "json_out") }
    })
}

/// Counters as JSON: `{"requests","accepted","events","duplicates","unroutable",
/// "unauthorized","bad_bodies","bad_requests","overloaded"}`; free with
/// [`cce_string_free`].
///
/// # Safety
/// `json_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ece_webhook_stats(
    hook: *const ece_webhook,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let h = webhook_of(hook)?;
        if json_out.is_null() {
            return Err(null("json_out"));
        }
        let j = h.stats_json().map_err(|e| fail(&e))?;
        // SAFETY: checked non-null above.
        unsafe { write_out(json_out, to_c_string(j), "json_out") }
    })
}

/// Stops the server, lets the callback take the events already queued (for at most
/// 5 s; then `CCE_ERR_TIMEOUT`, stopped all the same), and frees the handle; after it
/// returns no new callback of the server starts. Returns `CCE_ERR_WOULD_DEADLOCK` (and leaves the
/// server running) when called from the server's own callback.
#[no_mangle]
pub extern "C" fn ece_webhook_stop(hook: *mut ece_webhook) -> cce_status {
    guard(|| dispatch::close::<EceWebhook>(hook, "ece_webhook_stop"))
}

// ---------------------------------------------------------------------------
// Chat web services.

/// Creates a chat web services client. `config_json`: `base_url` (context root, e.g.
/// "https://ece.example.com/system"; required), `paths` (override any of
/// `agent_availability`, `capacity`, `live_session_status`, `check_eligibility`,
/// `chat_allowed`, `survey`; `{id}` is the entry point), `try_alternate_segment`
/// (default true), `max_xml_bytes`, and the HTTP keys of [`ece_client_new`].
///
/// # Safety
/// `config_json` NUL-terminated; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn ece_chatws_new(
    config_json: *const c_char,
    out: *mut *mut ece_chatws,
) -> cce_status {
    guard(|| {
        // SAFETY: forwarded caller promise.
        let cfg = unsafe { req_str(config_json, "config_json") }?;
        if out.is_null() {
            return Err(null("out"));
        }
        let c = EceChatWs::new(cfg).map_err(|e| fail(&e))?;
        let h = handle::insert(Arc::new(c));
        // SAFETY: checked non-null above.
        unsafe { write_out(out, h, "out") }
    })
}

/// Frees a chat web services client.
#[no_mangle]
pub extern "C" fn ece_chatws_free(ws: *mut ece_chatws) -> cce_status {
    guard(|| handle::remove::<EceChatWs>(ws).map(drop))
}

/// agentAvailability: whether an agent is available for the entry point's chats.
///
/// # Safety
/// `available_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ece_chatws_agent_availability(
    ws: *const ece_chatws,
    entry_point_id: u64,
    available_out: *mut bool,
) -> cce_status {
    guard(|| {
        let w = chatws_of(ws)?;
        if available_out.is_null() {
            return Err(null("available_out"));
        }
        let v = w.agent_availability(entry_point_id).map_err(|e| fail(&e))?;
        // SAFETY: checked non-null above.
        unsafe { write_out(available_out, v, "available_out") }
    })
}

/// capacity: remaining chat slots of the entry point's agents.
///
/// # Safety
/// `slots_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ece_chatws_capacity(
    ws: *const ece_chatws,
    entry_point_id: u64,
    slots_out: *mut u32,
) -> cce_status {
    guard(|| {
        let w = chatws_of(ws)?;
        if slots_out.is_null() {
            return Err(null("slots_out"));
        }
        let v = w.capacity(entry_point_id).map_err(|e| fail(&e))?;
        // SAFETY: checked non-null above.
        unsafe { write_out(slots_out, v, "slots_out") }
    })
}

/// liveSessionStatus: estimated wait (seconds) and queue depth.
///
/// # Safety
/// Out pointers must be writable.
#[no_mangle]
pub unsafe extern "C" fn ece_chatws_live_session_status(
    ws: *const ece_chatws,
    entry_point_id: u64,
    wait_seconds_out: *mut f64,
    queue_depth_out: *mut u32,
) -> cce_status {
    guard(|| {
        let w = chatws_of(ws)?;
        require_out!(wait_seconds_out, queue_depth_out);
        let (wait, depth) = w
            .live_session_status(entry_point_id)
            .map_err(|e| fail(&e))?;
        // SAFETY: checked non-null above.
        unsafe {
            write_out(wait_seconds_out, wait, "wait_seconds_out")?;
            write_out(queue_depth_out, depth, "queue_depth_out")
        }
    })
}

/// checkEligibility: `responseType` (0 eligible, 1 no agent available, 2 queue full,
/// 3 agent concurrent-task limit reached, other values as received).
///
/// # Safety
/// `response_type_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ece_chatws_check_eligibility(
    ws: *const ece_chatws,
    entry_point_id: u64,
    response_type_out: *mut u32,
) -> cce_status {
    guard(|| {
        let w = chatws_of(ws)?;
        if response_type_out.is_null() {
            return Err(null("response_type_out"));
        }
        let (code, _) = w.check_eligibility(entry_point_id).map_err(|e| fail(&e))?;
        // SAFETY: checked non-null above.
        unsafe { write_out(response_type_out, code, "response_type_out") }
    })
}

/// chatAllowed: whether a chat may start, and (when not) the reason, e.g.
/// "queue_depth_reached", "agent_not_available", "service_not_running",
/// "invalid_entry_point", "entry_point_inactive", "Other" or a raw unknown value.
/// `reason_out` may be NULL; otherwise it receives the reason or NULL (free with
/// [`cce_string_free`]).
///
/// # Safety
/// `allowed_out` writable; `reason_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ece_chatws_chat_allowed(
    ws: *const ece_chatws,
    entry_point_id: u64,
    allowed_out: *mut bool,
    reason_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let w = chatws_of(ws)?;
        if allowed_out.is_null() {
            return Err(null("allowed_out"));
        }
        let (allowed, reason) = w.chat_allowed(entry_point_id).map_err(|e| fail(&e))?;
        // SAFETY: checked non-null above; reason_out checked before use.
        unsafe {
            write_out(allowed_out, allowed, "allowed_out")?;
            if !reason_out.is_null() {
                reason_out.write(reason.map_or(std::ptr::null_mut(), to_c_string));
            }
        }
        Ok(())
    })
}

/// Submits a survey: `{"sid":"<chat session id>","answers":[{"question","answer"}]}`.
///
/// # Safety
/// `survey_json` must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn ece_chatws_submit_survey(
    ws: *const ece_chatws,
    survey_json: *const c_char,
) -> cce_status {
    guard(|| {
        let w = chatws_of(ws)?;
        // SAFETY: forwarded caller promise.
        let s = unsafe { req_str(survey_json, "survey_json") }?;
        w.submit_survey_json(s).map_err(|e| fail(&e))
    })
}

// ---------------------------------------------------------------------------
// ECE simulator.

/// Starts the embedded ECE simulator (plain HTTP on 127.0.0.1, ephemeral port).
/// `config_json` may be NULL or "{}": client key "sim-key", secret "sim-secret", entry
/// point 1001, context root "/system", an agent that echoes and completes on "bye".
/// Stop it with [`ece_sim_stop`].
///
/// # Safety
/// `config_json` NULL or NUL-terminated; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn ece_sim_start(
    config_json: *const c_char,
    out: *mut *mut ece_sim,
) -> cce_status {
    guard(|| {
        // SAFETY: forwarded caller promise.
        let cfg = unsafe { arg_str(config_json, "config_json", true) }?.unwrap_or("");
        if out.is_null() {
            return Err(null("out"));
        }
        let s = EceSim::start(cfg).map_err(|e| fail(&e))?;
        let h = handle::insert(Arc::new(s));
        // SAFETY: checked non-null above.
        unsafe { write_out(out, h, "out") }
    })
}

/// The simulator's URLs: `server_url_out` gets "http://127.0.0.1:PORT" (the client's
/// `server_url`), `chat_base_url_out` the chat web services `base_url`. Either may be
/// NULL; free the strings with [`cce_string_free`].
///
/// # Safety
/// Out pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ece_sim_urls(
    sim: *const ece_sim,
    server_url_out: *mut *mut c_char,
    chat_base_url_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let s = handle::get::<EceSim>(sim)?;
        // SAFETY: each pointer is checked before use.
        unsafe {
            if !server_url_out.is_null() {
                server_url_out.write(to_c_string(s.server_url().to_owned()));
            }
            if !chat_base_url_out.is_null() {
                chat_base_url_out.write(to_c_string(s.chat_base_url().to_owned()));
            }
        }
        Ok(())
    })
}

/// Runs a simulator command given as JSON, e.g. `{"op":"set_webhook","url":"...",
/// "basic":{"username":"u","password":"p"}}`, `{"op":"fail_next","endpoint":"start",
/// "status":409}`, `{"op":"expire_tokens"}`, `{"op":"agent_say","conversation_id":"..",
/// "text":".."}`, `{"op":"webhook_raw","body":"{"}`, `{"op":"wait_idle"}`,
/// `{"op":"stats"}` (full list in `docs/ece.md`). `result_json_out` may be NULL;
/// otherwise it receives the answer (free with [`cce_string_free`]).
///
/// # Safety
/// `command_json` NUL-terminated; `result_json_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ece_sim_control(
    sim: *const ece_sim,
    command_json: *const c_char,
    result_json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let s = handle::get::<EceSim>(sim)?;
        // SAFETY: forwarded caller promise.
        let cmd = unsafe { req_str(command_json, "command_json") }?;
        let r = s.control(cmd).map_err(|e| fail(&e))?;
        // SAFETY: forwarded caller promise.
        unsafe { write_opt_string(result_json_out, r) }
    })
}

/// Stops the simulator and frees the handle.
#[no_mangle]
pub extern "C" fn ece_sim_stop(sim: *mut ece_sim) -> cce_status {
    guard(|| handle::remove::<EceSim>(sim)?.stop().map_err(|e| fail(&e)))
}
