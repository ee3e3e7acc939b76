//! Typed, zero-copy CTI events for C: a `cce_event` handle over the received bytes
//! with accessors by field name or id, instead of JSON text per event.
//!
//! Hot-path accessors (`cce_event_u32`, `_str`, ...) catch panics like every other
//! function but do not touch the thread's last error except on failure with a NULL
//! pointer or an unknown id: an absent field is `CCE_ERR_NOT_FOUND` and nothing else.

use std::cell::Cell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, OnceLock};

use cce::api::{CtiSession, EventOut};
use serde_json::Value as Json;

use crate::dispatch::Evented;
use crate::event_fields::{cce_field, FIELD_NAMES};
use crate::handle;
use crate::{cce_status, fail, guard, null, set_error, write_out, UserData};

/// A received event (opaque): valid during the typed callback that got it, or until
/// [`cce_event_release`] for events from [`cti_poll_typed`].
pub struct cce_event {
    out: EventOut,
    /// The JSON text, rendered on first [`cce_event_json`].
    json: OnceLock<CString>,
    /// Copies of strings the wire did not NUL-terminate (rare), kept for the event's life.
    copies: Mutex<Vec<CString>>,
}

impl cce_event {
    fn new(out: EventOut) -> Self {
        cce_event {
            out,
            json: OnceLock::new(),
            copies: Mutex::new(Vec::new()),
        }
    }

    /// `text` as a NUL-terminated pointer: in place when the byte after it is a NUL
    /// inside `backing` (the wire form of CTI strings), else a copy owned by the event.
    fn c_ptr(&self, text: &str, nul_follows: bool) -> *const c_char {
        if nul_follows {
            return text.as_ptr().cast();
        }
        let copy =
            CString::new(text.bytes().filter(|b| *b != 0).collect::<Vec<u8>>()).unwrap_or_default();
        let p = copy.as_ptr();
        // Moving the CString into the vector keeps its heap buffer where it is.
        self.copies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(copy);
        p
    }
}

/// Typed event callback: `event` is valid only during the call.
pub type cti_typed_event_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const cce_event)>;

/// Runs a hot-path accessor: panics become `CCE_ERR_PANIC` (with the last error set);
/// other statuses are returned as they are, without touching the last error.
fn hot(f: impl FnOnce() -> cce_status) -> cce_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(s) => s,
        Err(_) => set_error(
            cce_status::CCE_ERR_PANIC,
            "internal error in an event accessor",
            None,
        ),
    }
}

fn invalid(what: &str) -> cce_status {
    set_error(
        cce_status::CCE_ERR_INVALID_ARGUMENT,
        &format!("{what} must not be NULL"),
        None,
    )
}

/// The event behind `p` (NULL: `None`).
///
/// # Safety
/// `p` is NULL or a live event handed out by this library.
unsafe fn event_ref<'a>(p: *const cce_event) -> Option<&'a cce_event> {
    // SAFETY: per the caller.
    unsafe { p.as_ref() }
}

/// Reads a C string argument for a field name (NULL or non-UTF-8: `None`).
///
/// # Safety
/// `p` is NULL or NUL-terminated.
unsafe fn field_arg<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: per the caller.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

fn name_of_id(id: cce_field) -> Option<&'static str> {
    usize::try_from(id)
        .ok()
        .and_then(|i| FIELD_NAMES.get(i))
        .copied()
}

/// A field's numeric value: from the wire bytes of a CTI message, or from a
/// library event's JSON key (an integer, or a boolean as 0/1).
fn u32_of(ev: &cce_event, field: &str) -> Option<u32> {
    match ev.out.as_event() {
        Some(e) => e.u32(field),
        None => match ev.out.library_json()?.get(field)? {
            Json::Number(n) => n.as_u64().and_then(|v| u32::try_from(v).ok()).or_else(|| {
                n.as_i64()
                    .and_then(|v| i32::try_from(v).ok())
                    .map(|v| v as u32)
            }),
            Json::Bool(b) => Some(u32::from(*b)),
            _ => None,
        },
    }
}

/// A field's text and whether a NUL follows it in memory.
fn str_of<'a>(ev: &'a cce_event, field: &str) -> Option<(&'a str, bool)> {
    match ev.out.as_event() {
        Some(e) => {
            let f = e
                .fields()
                .find(|f| f.field.is_some_and(|x| x.name == field) && f.str().is_some())?;
            let text = f.str()?;
            Some((text, f.data.get(text.len()) == Some(&0)))
        }
        None => match ev.out.library_json()?.get(field)? {
            Json::String(s) => Some((s.as_str(), false)),
            _ => None,
        },
    }
}

fn put_u32(ev: *const cce_event, field: Option<&str>, out: *mut u32) -> cce_status {
    hot(|| {
        // SAFETY: the caller passes NULL or a live event.
        let Some(e) = (unsafe { event_ref(ev) }) else {
            return invalid("event");
        };
        let Some(field) = field else {
            return invalid("field");
        };
        if out.is_null() {
            return invalid("out");
        }
        match u32_of(e, field) {
            Some(v) => {
                // SAFETY: non-null and writable per the caller.
                unsafe { out.write(v) };
                cce_status::CCE_OK
            }
            None => cce_status::CCE_ERR_NOT_FOUND,
        }
    })
}

fn put_str(
    ev: *const cce_event,
    field: Option<&str>,
    out: *mut *const c_char,
    len_out: *mut usize,
) -> cce_status {
    hot(|| {
        // SAFETY: the caller passes NULL or a live event.
        let Some(e) = (unsafe { event_ref(ev) }) else {
            return invalid("event");
        };
        let Some(field) = field else {
            return invalid("field");
        };
        if out.is_null() {
            return invalid("out");
        }
        match str_of(e, field) {
            Some((text, nul)) => {
                let p = e.c_ptr(text, nul);
                // SAFETY: non-null and writable per the caller; len_out may be NULL.
                unsafe {
                    out.write(p);
                    if !len_out.is_null() {
                        len_out.write(text.len());
                    }
                }
                cce_status::CCE_OK
            }
            None => cce_status::CCE_ERR_NOT_FOUND,
        }
    })
}

/// The event's MessageType; 0 for library events (`SESSION_CLOSED`,
/// `CONNECTION_STATE`, ...) and for NULL.
///
/// # Safety
/// `event` is NULL or a live event.
#[no_mangle]
pub unsafe extern "C" fn cce_event_type(event: *const cce_event) -> u32 {
    // SAFETY: per the caller.
    unsafe { event_ref(event) }.map_or(0, |e| e.out.msg_type)
}

/// The event's MessageName (a catalogue name such as `"AGENT_STATE_EVENT"`, or a
/// library event's name such as `"SESSION_CLOSED"`): a static string, never NULL for
/// a valid event ("UNKNOWN" for an unnamed one); NULL for a NULL event.
///
/// # Safety
/// `event` is NULL or a live event.
#[no_mangle]
pub unsafe extern "C" fn cce_event_name(event: *const cce_event) -> *const c_char {
    // SAFETY: per the caller.
    match unsafe { event_ref(event) } {
        Some(e) => static_name(e.out.name()),
        None => std::ptr::null(),
    }
}

/// Names as static C strings: the catalogue's, the library events', "UNKNOWN".
fn static_name(name: &str) -> *const c_char {
    static NAMES: OnceLock<std::collections::HashMap<&'static str, CString>> = OnceLock::new();
    const LIBRARY: &[&str] = &[
        "SESSION_CLOSED",
        "CONNECTION_STATE",
        "DECODE_ERROR",
        "MODEL_CHANGED",
        "UNRECOGNIZED",
        "UNKNOWN",
    ];
    let names = NAMES.get_or_init(|| {
        cce::cti::spec::MESSAGES
            .iter()
            .map(|m| m.name)
            .chain(LIBRARY.iter().copied())
            .filter_map(|n| CString::new(n).ok().map(|c| (n, c)))
            .collect()
    });
    names
        .get(name)
        .or_else(|| names.get("UNKNOWN"))
        .map_or(std::ptr::null(), |c| c.as_ptr())
}

/// A numeric field by name (a fixed field, or the first occurrence of a floating
/// one) as its unsigned bit pattern; for library events, an integer JSON key.
/// `CCE_ERR_NOT_FOUND` when the event has no such field (the last error is not set);
/// NULL arguments are `CCE_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `event` is NULL or a live event; `field` NULL or NUL-terminated; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cce_event_u32(
    event: *const cce_event,
    field: *const c_char,
    out: *mut u32,
) -> cce_status {
    // SAFETY: per the caller.
    put_u32(event, unsafe { field_arg(field) }, out)
}

/// [`cce_event_u32`] as a signed value (CHAR and SHORT sign-extended, INT as is).
///
/// # Safety
/// As [`cce_event_u32`].
#[no_mangle]
pub unsafe extern "C" fn cce_event_i32(
    event: *const cce_event,
    field: *const c_char,
    out: *mut i32,
) -> cce_status {
    // SAFETY: per the caller.
    put_u32(event, unsafe { field_arg(field) }, out.cast::<u32>())
}

/// A STRING field by name (its first occurrence; for library events a string JSON
/// key): `*out` points to `*len_out` bytes followed by a NUL, borrowed from the event
/// (valid as long as it is). `len_out` may be NULL. `CCE_ERR_NOT_FOUND` when absent.
///
/// # Safety
/// `event` is NULL or a live event; `field` NULL or NUL-terminated; outs NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cce_event_str(
    event: *const cce_event,
    field: *const c_char,
    out: *mut *const c_char,
    len_out: *mut usize,
) -> cce_status {
    // SAFETY: per the caller.
    put_str(event, unsafe { field_arg(field) }, out, len_out)
}

/// [`cce_event_u32`] by field id (`CCE_FIELD_<FieldName>`); an unknown id is
/// `CCE_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// As [`cce_event_u32`].
#[no_mangle]
pub unsafe extern "C" fn cce_event_u32_id(
    event: *const cce_event,
    field: cce_field,
    out: *mut u32,
) -> cce_status {
    match name_of_id(field) {
        Some(name) => put_u32(event, Some(name), out),
        None => set_error(
            cce_status::CCE_ERR_INVALID_ARGUMENT,
            "unknown field id",
            None,
        ),
    }
}

/// [`cce_event_str`] by field id (`CCE_FIELD_<FieldName>`); an unknown id is
/// `CCE_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// As [`cce_event_str`].
#[no_mangle]
pub unsafe extern "C" fn cce_event_str_id(
    event: *const cce_event,
    field: cce_field,
    out: *mut *const c_char,
    len_out: *mut usize,
) -> cce_status {
    match name_of_id(field) {
        Some(name) => put_str(event, Some(name), out, len_out),
        None => set_error(
            cce_status::CCE_ERR_INVALID_ARGUMENT,
            "unknown field id",
            None,
        ),
    }
}

/// How many named variables (`NamedVariable` fields) the event carries (0 for a NULL
/// or library event).
///
/// # Safety
/// `event` is NULL or a live event.
#[no_mangle]
pub unsafe extern "C" fn cce_event_named_var_count(event: *const cce_event) -> usize {
    let count = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: per the caller.
        unsafe { event_ref(event) }
            .and_then(|e| e.out.as_event())
            .map_or(0, |e| e.named_vars().count())
    }));
    count.unwrap_or(0)
}

/// The named variable at `index` (wire order): name and value, each NUL-terminated
/// and borrowed from the event; the length pointers may be NULL.
/// `CCE_ERR_NOT_FOUND` when `index` is past the last one.
///
/// # Safety
/// `event` is NULL or a live event; `name`/`value` NULL or writable; lengths NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cce_event_named_var(
    event: *const cce_event,
    index: usize,
    name: *mut *const c_char,
    name_len: *mut usize,
    value: *mut *const c_char,
    value_len: *mut usize,
) -> cce_status {
    hot(|| {
        // SAFETY: per the caller.
        let Some(e) = (unsafe { event_ref(event) }) else {
            return invalid("event");
        };
        if name.is_null() || value.is_null() {
            return invalid("name or value");
        }
        let Some((n, v)) = e.out.as_event().and_then(|ev| ev.named_vars().nth(index)) else {
            return cce_status::CCE_ERR_NOT_FOUND;
        };
        // Wire form `name\0value\0`: both are NUL-terminated in place.
        // SAFETY: non-null and writable per the caller; lengths NULL or writable.
        unsafe {
            name.write(n.as_ptr().cast());
            value.write(v.as_ptr().cast());
            if !name_len.is_null() {
                name_len.write(n.len());
            }
            if !value_len.is_null() {
                value_len.write(v.len());
            }
        }
        cce_status::CCE_OK
    })
}

/// The event as JSON (the same text the JSON callback gets), rendered on first call
/// and cached in the event: `*json_out` is borrowed (valid as long as the event),
/// `*len_out` its length without the NUL (`len_out` may be NULL).
///
/// # Safety
/// `event` is NULL or a live event; outs NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cce_event_json(
    event: *const cce_event,
    json_out: *mut *const c_char,
    len_out: *mut usize,
) -> cce_status {
    hot(|| {
        // SAFETY: per the caller.
        let Some(e) = (unsafe { event_ref(event) }) else {
            return invalid("event");
        };
        if json_out.is_null() {
            return invalid("json_out");
        }
        let text = e.json.get_or_init(|| {
            let mut s = String::with_capacity(256);
            e.out.write_json(&mut s);
            crate::event_c_string(s)
        });
        // SAFETY: non-null and writable per the caller; len_out NULL or writable.
        unsafe {
            json_out.write(text.as_ptr());
            if !len_out.is_null() {
                len_out.write(text.as_bytes().len());
            }
        }
        cce_status::CCE_OK
    })
}

/// Pull mode, typed and non-blocking (sessions opened without a callback): takes up
/// to `max` queued events into `events[0..*count_out]` (0 when none is queued).
/// Release each with [`cce_event_release`]. `CCE_ERR_CLOSED` after the final
/// `SESSION_CLOSED` was taken. Wait on `cti_event_fd` between calls.
///
/// # Safety
/// `events` must point to `max` writable pointers; `count_out` writable.
#[no_mangle]
pub unsafe extern "C" fn cti_poll_typed(
    session: *const crate::cti_session,
    events: *mut *const cce_event,
    max: usize,
    count_out: *mut usize,
) -> cce_status {
    guard(|| {
        let e = handle::get::<Evented<CtiSession>>(session)?;
        let s = e.polled("cti_poll_typed")?;
        let fd = e.fd();
        if events.is_null() || count_out.is_null() {
            return Err(null("output pointer"));
        }
        // SAFETY: checked non-null above.
        unsafe { write_out(count_out, 0, "count_out")? };
        if max == 0 {
            return Ok(());
        }
        if let Some(fd) = &fd {
            fd.drain();
        }
        let batch = s.poll_events(max);
        if let Some(fd) = &fd {
            fd.rearm(s.has_queued_events());
        }
        let batch = batch.map_err(|e| fail(&e))?;
        let n = batch.len().min(max);
        for (i, ev) in batch.into_iter().take(n).enumerate() {
            let p: *const cce_event = Box::into_raw(Box::new(cce_event::new(ev)));
            // SAFETY: i < max, and the caller promised `max` writable entries.
            unsafe { events.add(i).write(p) };
        }
        // SAFETY: checked non-null above.
        unsafe { write_out(count_out, n, "count_out") }
    })
}

/// Frees an event from [`cti_poll_typed`] (NULL is ignored). Never pass an event
/// from a typed callback, or one event twice.
///
/// # Safety
/// `event` is NULL or an unreleased event from [`cti_poll_typed`].
#[no_mangle]
pub unsafe extern "C" fn cce_event_release(event: *const cce_event) {
    if event.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: per the caller, it came from Box::into_raw in cti_poll_typed.
        drop(unsafe { Box::from_raw(event.cast_mut()) });
    }));
}

/// Opens a CTI session like `cti_open`, delivering each event to a typed callback
/// (on the shared callback threads, in order, never two of one session at once): the
/// `cce_event` is valid only during the call. The last event is `SESSION_CLOSED`.
///
/// # Safety
/// As `cti_open`.
#[no_mangle]
pub unsafe extern "C" fn cti_open_typed(
    config_json: *const c_char,
    callback: cti_typed_event_cb,
    user_data: *mut c_void,
    out: *mut *mut crate::cti_session,
) -> cce_status {
    let Some(cb) = callback else {
        return set_error(
            cce_status::CCE_ERR_INVALID_ARGUMENT,
            "callback must not be NULL (use cti_open for pull mode)",
            None,
        );
    };
    let ud = UserData(user_data);
    let deliver = move |ev: EventOut| {
        let event = cce_event::new(ev);
        // SAFETY: the application supplied `cb` and `ud` for exactly this use.
        unsafe { cb(ud.ptr(), &event) };
    };
    // SAFETY: forwarded caller promises.
    unsafe { crate::open_with(config_json, out, deliver) }
}

thread_local! {
    /// The JSON callback's text buffer, reused by every event a pool thread delivers.
    static JSON_BUF: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Starts the JSON callback of `cti_open`: each event is written into a buffer the
/// pool thread reuses (no allocation per event once it has grown).
pub(crate) fn json_delivery(
    cb: unsafe extern "C" fn(*mut c_void, u32, *const c_char),
    ud: UserData,
) -> impl Fn(EventOut) + Send + Sync + 'static {
    move |ev: EventOut| {
        let mut buf = JSON_BUF.take();
        buf.clear();
        let mut text = String::from_utf8(buf).unwrap_or_default();
        ev.write_json(&mut text);
        let mut bytes = text.into_bytes();
        if bytes.contains(&0) {
            // JSON escapes NULs; never in practice.
            bytes.retain(|b| *b != 0);
        }
        bytes.push(0);
        // SAFETY: the application supplied `cb` and `ud` for exactly this use; the text
        // is NUL-terminated and lives until the call returns.
        unsafe { cb(ud.ptr(), ev.msg_type, bytes.as_ptr().cast()) };
        JSON_BUF.set(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_ids_cover_the_catalogue() {
        let mut names: Vec<&str> = cce::cti::spec::MESSAGES
            .iter()
            .flat_map(|m| {
                m.layouts
                    .iter()
                    .flat_map(|l| l.fields.iter().map(|f| f.name))
                    .chain(m.alt_fixed.iter().flat_map(|a| a.iter().map(|f| f.name)))
                    .chain(m.floating.iter().map(|f| f.name))
            })
            .collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names,
            FIELD_NAMES.to_vec(),
            "run python3 tools/gen_event_fields.py"
        );
    }
}
