//! `libcce`: the synchronous C ABI over the `cce` crate.
//!
//! Conventions (repeated in `include/cce.h`):
//! - Every function returns a [`cce_status`]; `CCE_OK` is 0. On failure, a message is
//!   available from [`cce_last_error`] on the same thread until the next libcce call.
//! - Handles (`cce_sim*`, `cti_session*`, `gc_session*`, ...) are opaque tokens in one
//!   table ([`handle`]), never dereferenced by the library: a NULL, stale or
//!   already-closed handle gives `CCE_ERR_INVALID_HANDLE`, a handle of another type
//!   `CCE_ERR_INVALID_ARGUMENT`, never a crash. Every function is safe to call from
//!   any thread.
//! - Strings passed in are NUL-terminated UTF-8 and only borrowed for the call.
//!   Strings and byte buffers returned through `char**`/`uint8_t**` belong to the
//!   caller and must be freed with [`cce_string_free`] / [`cce_bytes_free`].
//! - No Rust panic crosses the boundary: one is caught and reported as `CCE_ERR_PANIC`.
#![allow(non_camel_case_types)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used)]

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cce::api::{self, CtiSession, CtiSim, Error, ErrorKind, EventOut, StreamDecoder};

mod dispatch;
mod ece;
mod event;
pub mod event_fields;
mod gc;
mod handle;
mod log;
mod sim;
pub mod tls;
pub mod version;
mod wakefd;

use dispatch::{Evented, Next, Source};
use handle::{arg_str, null, req_str, require_out, write_opt, write_opt_string, write_out, Handle};

/// Result of every libcce call.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum cce_status {
    /// Success.
    CCE_OK = 0,
    /// A required pointer argument was NULL.
    CCE_ERR_NULL_POINTER = 1,
    /// An argument (JSON, configuration, text, a handle of another type) is invalid.
    CCE_ERR_INVALID_ARGUMENT = 2,
    /// The handle is NULL, unknown, or already closed/stopped.
    CCE_ERR_INVALID_HANDLE = 3,
    /// Network or OS failure.
    CCE_ERR_IO = 4,
    /// No answer (or no event) within the time allowed.
    CCE_ERR_TIMEOUT = 5,
    /// The CTI Server refused (FAILURE_CONF); see [`cce_last_error_cti_status`].
    CCE_ERR_REFUSED = 6,
    /// Call control failed (CONTROL_FAILURE_CONF); see [`cce_last_error_cti_status`].
    CCE_ERR_CONTROL_FAILED = 7,
    /// The session or simulator is closed.
    CCE_ERR_CLOSED = 8,
    /// A message could not be encoded or decoded.
    CCE_ERR_CODEC = 9,
    /// The server broke the protocol or stopped answering heartbeats.
    CCE_ERR_PROTOCOL = 10,
    /// The call would deadlock (e.g. `cti_close` from inside the session's own callback).
    CCE_ERR_WOULD_DEADLOCK = 11,
    /// An internal error was caught at the boundary (a bug: please report it).
    CCE_ERR_PANIC = 12,
    /// The link to the server is down and being re-established; retry later.
    CCE_ERR_DISCONNECTED = 13,
    /// The TLS handshake failed (a plain server or client, no common version...).
    CCE_ERR_TLS_HANDSHAKE = 14,
    /// A certificate was not accepted; [`cce_last_error_code`] gives the reason
    /// (`CCE_CERT_EXPIRED`, `CCE_CERT_UNKNOWN_ISSUER`, ...).
    CCE_ERR_CERTIFICATE_INVALID = 15,
    /// A bounded queue is full (too many commands waiting to be written); nothing was
    /// sent. Retry later.
    CCE_ERR_QUEUE_FULL = 16,
    /// The event has no such field (typed event accessors; the last error is not set).
    CCE_ERR_NOT_FOUND = 17,
}

/// A running CTI Server simulator (opaque).
pub struct cce_sim {
    _private: [u8; 0],
}

/// A streaming decoder for partial reads (opaque).
pub struct cce_stream {
    _private: [u8; 0],
}

/// An open CTI session (opaque).
pub struct cti_session {
    _private: [u8; 0],
}

/// Event callback: `msg_type` is the MessageType (0 for library events such as
/// `SESSION_CLOSED`), `json` the event rendered as JSON, valid only during the call.
pub type cti_event_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, msg_type: u32, json: *const c_char)>;

struct LastError {
    kind: cce_status,
    message: CString,
    protocol: Option<api::Protocol>,
    code: i64,
    code_name: CString,
}

impl LastError {
    fn none() -> Self {
        LastError {
            kind: cce_status::CCE_OK,
            message: CString::default(),
            protocol: None,
            code: -1,
            code_name: CString::default(),
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<LastError> = RefCell::new(LastError::none());
}

fn c_text(s: &str) -> CString {
    CString::new(s.bytes().filter(|b| *b != 0).collect::<Vec<u8>>()).unwrap_or_default()
}

/// Records a library-level error (no protocol, no code).
fn set_error(status: cce_status, message: &str, cti_status: Option<u32>) -> cce_status {
    record(LastError {
        kind: status,
        message: c_text(message),
        protocol: cti_status.map(|_| api::Protocol::Cti),
        code: cti_status.map_or(-1, i64::from),
        code_name: CString::default(),
    })
}

fn record(last: LastError) -> cce_status {
    let status = last.kind;
    LAST_ERROR.with(|e| *e.borrow_mut() = last);
    status
}

fn clear_error() {
    LAST_ERROR.with(|e| *e.borrow_mut() = LastError::none());
}

fn status_of(kind: ErrorKind) -> cce_status {
    match kind {
        ErrorKind::InvalidArgument => cce_status::CCE_ERR_INVALID_ARGUMENT,
        ErrorKind::Io => cce_status::CCE_ERR_IO,
        ErrorKind::Timeout => cce_status::CCE_ERR_TIMEOUT,
        ErrorKind::Refused => cce_status::CCE_ERR_REFUSED,
        ErrorKind::ControlFailed => cce_status::CCE_ERR_CONTROL_FAILED,
        ErrorKind::Closed => cce_status::CCE_ERR_CLOSED,
        ErrorKind::Codec => cce_status::CCE_ERR_CODEC,
        ErrorKind::Protocol => cce_status::CCE_ERR_PROTOCOL,
        ErrorKind::Disconnected => cce_status::CCE_ERR_DISCONNECTED,
        ErrorKind::QueueFull => cce_status::CCE_ERR_QUEUE_FULL,
        ErrorKind::TlsHandshake => cce_status::CCE_ERR_TLS_HANDSHAKE,
        ErrorKind::CertificateInvalid => cce_status::CCE_ERR_CERTIFICATE_INVALID,
    }
}

fn fail(e: &Error) -> cce_status {
    record(LastError {
        kind: status_of(e.kind),
        message: c_text(&e.message),
        protocol: e.protocol,
        code: e.status.map_or(-1, i64::from),
        code_name: c_text(e.status_name.as_deref().unwrap_or("")),
    })
}

type FfiResult = Result<(), cce_status>;

/// Runs `f`, converting panics and errors into a status with the last error set.
fn guard(f: impl FnOnce() -> FfiResult) -> cce_status {
    clear_error();
    cce::log::init_from_env();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => cce_status::CCE_OK,
        Ok(Err(status)) => status,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_error(
                cce_status::CCE_ERR_PANIC,
                &format!("internal error: {what}"),
                None,
            )
        }
    }
}

fn to_c_string(s: String) -> *mut c_char {
    let clean: Vec<u8> = s.into_bytes().into_iter().filter(|b| *b != 0).collect();
    CString::new(clean).unwrap_or_default().into_raw()
}

// ---------------------------------------------------------------------------
// Handles of this module.

impl Handle for Evented<CtiSession> {
    type C = cti_session;
    const NAME: &'static str = "cti_session";
}

impl Handle for CtiSim {
    type C = cce_sim;
    const NAME: &'static str = "cce_sim";
}

impl Handle for Mutex<StreamDecoder> {
    type C = cce_stream;
    const NAME: &'static str = "cce_stream";
}

fn sim_of(h: *const cce_sim) -> Result<Arc<CtiSim>, cce_status> {
    handle::get(h)
}

fn session_of(h: *const cti_session) -> Result<Arc<CtiSession>, cce_status> {
    Ok(handle::get::<Evented<CtiSession>>(h)?.source().clone())
}

// ---------------------------------------------------------------------------
// Library-wide.

/// The message of the last failed libcce call on this thread ("" if it succeeded).
/// The pointer stays valid until the next libcce call on the same thread; do not free it.
#[no_mangle]
pub extern "C" fn cce_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().message.as_ptr())
}

/// The CTI status or failure code carried by the last error on this thread
/// (e.g. 1 for E_CTI_INVALID_VERSION), or -1 if there was none or the error does not
/// come from CTI (an ECE HTTP status is [`cce_last_error_code`], never here).
#[no_mangle]
pub extern "C" fn cce_last_error_cti_status() -> i64 {
    LAST_ERROR.with(|e| {
        let e = e.borrow();
        if e.protocol == Some(api::Protocol::Cti) {
            e.code
        } else {
            -1
        }
    })
}

/// The status the last failed libcce call on this thread returned (`CCE_OK` if it
/// succeeded): the error's kind.
#[no_mangle]
pub extern "C" fn cce_last_error_kind() -> cce_status {
    LAST_ERROR.with(|e| e.borrow().kind)
}

/// The name of `status` as a static string, e.g. `"CCE_ERR_TIMEOUT"` for
/// `CCE_ERR_TIMEOUT`; `"CCE_ERR_UNKNOWN"` for a value that is no `cce_status` (e.g. from a
/// newer header). Takes an `int32_t`, not the enum, so that any value is safe to pass.
/// Never NULL; do not free.
#[no_mangle]
pub extern "C" fn cce_status_name(status: i32) -> *const c_char {
    use cce_status::*;
    let name: &'static CStr = match status {
        s if s == CCE_OK as i32 => c"CCE_OK",
        s if s == CCE_ERR_NULL_POINTER as i32 => c"CCE_ERR_NULL_POINTER",
        s if s == CCE_ERR_INVALID_ARGUMENT as i32 => c"CCE_ERR_INVALID_ARGUMENT",
        s if s == CCE_ERR_INVALID_HANDLE as i32 => c"CCE_ERR_INVALID_HANDLE",
        s if s == CCE_ERR_IO as i32 => c"CCE_ERR_IO",
        s if s == CCE_ERR_TIMEOUT as i32 => c"CCE_ERR_TIMEOUT",
        s if s == CCE_ERR_REFUSED as i32 => c"CCE_ERR_REFUSED",
        s if s == CCE_ERR_CONTROL_FAILED as i32 => c"CCE_ERR_CONTROL_FAILED",
        s if s == CCE_ERR_CLOSED as i32 => c"CCE_ERR_CLOSED",
        s if s == CCE_ERR_CODEC as i32 => c"CCE_ERR_CODEC",
        s if s == CCE_ERR_PROTOCOL as i32 => c"CCE_ERR_PROTOCOL",
        s if s == CCE_ERR_WOULD_DEADLOCK as i32 => c"CCE_ERR_WOULD_DEADLOCK",
        s if s == CCE_ERR_PANIC as i32 => c"CCE_ERR_PANIC",
        s if s == CCE_ERR_DISCONNECTED as i32 => c"CCE_ERR_DISCONNECTED",
        s if s == CCE_ERR_TLS_HANDSHAKE as i32 => c"CCE_ERR_TLS_HANDSHAKE",
        s if s == CCE_ERR_CERTIFICATE_INVALID as i32 => c"CCE_ERR_CERTIFICATE_INVALID",
        s if s == CCE_ERR_QUEUE_FULL as i32 => c"CCE_ERR_QUEUE_FULL",
        s if s == CCE_ERR_NOT_FOUND as i32 => c"CCE_ERR_NOT_FOUND",
        _ => c"CCE_ERR_UNKNOWN",
    };
    name.as_ptr()
}

/// The protocol the last error on this thread comes from: `"cti"`, `"gc"`, `"ece"`,
/// or `""` for a library-level error (bad argument, handle...) or none. Static; do
/// not free.
#[no_mangle]
pub extern "C" fn cce_last_error_protocol() -> *const c_char {
    let name: &'static CStr = match LAST_ERROR.with(|e| e.borrow().protocol) {
        Some(api::Protocol::Cti) => c"cti",
        Some(api::Protocol::Gc) => c"gc",
        Some(api::Protocol::Ece) => c"ece",
        None => c"",
    };
    name.as_ptr()
}

/// The protocol's code carried by the last error on this thread: a CTI status or
/// failure code (protocol `"cti"`), an HTTP status (protocol `"ece"`), or -1 if none.
#[no_mangle]
pub extern "C" fn cce_last_error_code() -> i64 {
    LAST_ERROR.with(|e| e.borrow().code)
}

/// The name of [`cce_last_error_code`] (e.g. `"E_CTI_INVALID_VERSION"`, or the ECE
/// error name such as `"NotFound"`), or `""`. Valid until the next libcce call on this
/// thread; do not free.
#[no_mangle]
pub extern "C" fn cce_last_error_code_name() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().code_name.as_ptr())
}

/// The library version, e.g. "0.1.0": the `CCE_VERSION_MAJOR.MINOR.PATCH` of the header
/// the program was built with, unless it runs with another libcce. Static; do not free.
#[no_mangle]
pub extern "C" fn cce_version() -> *const c_char {
    static VERSION: &[u8] = concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes();
    VERSION.as_ptr().cast()
}

/// Frees a string returned by libcce. NULL is ignored.
///
/// # Safety
/// `s` must be NULL or a string returned by libcce that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn cce_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: the caller passes a pointer from CString::into_raw, freed once.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// Frees a byte buffer returned by libcce ([`cce_encode`]). NULL is ignored.
///
/// # Safety
/// `bytes`/`len` must be exactly what libcce returned, not freed yet.
#[no_mangle]
pub unsafe extern "C" fn cce_bytes_free(bytes: *mut u8, len: usize) {
    if !bytes.is_null() {
        // SAFETY: built from a boxed slice of exactly `len` bytes in cce_encode.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(bytes, len)) });
    }
}

// ---------------------------------------------------------------------------
// Codec.

/// Decodes one whole CTI message (8-byte header included) at protocol `version`.
/// On success `*msg_type_out` is its MessageType and `*json_out` its JSON (free it
/// with [`cce_string_free`]).
///
/// # Safety
/// `bytes` must point to `len` readable bytes; the out pointers must be writable.
#[no_mangle]
pub unsafe extern "C" fn cce_decode(
    bytes: *const u8,
    len: usize,
    version: u32,
    msg_type_out: *mut u32,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        if bytes.is_null() {
            return Err(null("bytes"));
        }
        require_out!(msg_type_out, json_out);
        // SAFETY: the caller promises `len` readable bytes at `bytes`.
        let data = unsafe { std::slice::from_raw_parts(bytes, len) };
        let (t, j) = api::decode_json(data, version).map_err(|e| fail(&e))?;
        // SAFETY: checked non-null above.
        unsafe {
            write_out(msg_type_out, t, "msg_type_out")?;
            write_out(json_out, to_c_string(j), "json_out")
        }
    })
}

/// [`cce_decode_ex`] flag: read tolerantly. A count field that disagrees with the
/// fields it counts, or a known field whose length does not fit its type, is kept (the
/// count as received, the field as `{"_raw": "<hex>"}`) and listed in the JSON's
/// `_warnings` array instead of failing with `CCE_ERR_CODEC`.
pub const CCE_DECODE_TOLERANT: u32 = 1;

/// [`cce_decode`] with `flags`: 0 is strict (as `cce_decode`), [`CCE_DECODE_TOLERANT`]
/// reads tolerantly. Unknown flag bits are `CCE_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `bytes` must point to `len` readable bytes; the out pointers must be writable.
#[no_mangle]
pub unsafe extern "C" fn cce_decode_ex(
    bytes: *const u8,
    len: usize,
    version: u32,
    flags: u32,
    msg_type_out: *mut u32,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        if bytes.is_null() {
            return Err(null("bytes"));
        }
        require_out!(msg_type_out, json_out);
        if flags & !CCE_DECODE_TOLERANT != 0 {
            return Err(fail(&api::Error::invalid(format!(
                "unknown cce_decode_ex flags {flags:#x}"
            ))));
        }
        // SAFETY: the caller promises `len` readable bytes at `bytes`.
        let data = unsafe { std::slice::from_raw_parts(bytes, len) };
        let strict = flags & CCE_DECODE_TOLERANT == 0;
        let (t, j) = api::decode_json_with(data, version, strict).map_err(|e| fail(&e))?;
        // SAFETY: checked non-null above.
        unsafe {
            write_out(msg_type_out, t, "msg_type_out")?;
            write_out(json_out, to_c_string(j), "json_out")
        }
    })
}

/// Encodes a message given as JSON (see the README for the format) at protocol
/// `version`, header included. Free `*bytes_out` with [`cce_bytes_free`]`(*bytes_out, *len_out)`.
///
/// # Safety
/// `json` must be a NUL-terminated string; the out pointers must be writable.
#[no_mangle]
pub unsafe extern "C" fn cce_encode(
    json: *const c_char,
    version: u32,
    bytes_out: *mut *mut u8,
    len_out: *mut usize,
) -> cce_status {
    guard(|| {
        // SAFETY: forwarded caller promise.
        let json = unsafe { arg_str(json, "json", false) }?.unwrap_or_default();
        require_out!(bytes_out, len_out);
        let bytes = api::encode_json(json, version).map_err(|e| fail(&e))?;
        let boxed = bytes.into_boxed_slice();
        let len = boxed.len();
        let ptr = Box::into_raw(boxed).cast::<u8>();
        // SAFETY: checked non-null above.
        unsafe {
            write_out(len_out, len, "len_out")?;
            write_out(bytes_out, ptr, "bytes_out")
        }
    })
}

/// Creates a streaming decoder for a session at protocol `version`: push bytes as they
/// arrive with [`cce_stream_push`], take whole messages with [`cce_stream_next`], free
/// it with [`cce_stream_free`]. A stream is not thread-safe to share without your own lock
/// (calls are serialised internally, but message order then depends on your threads).
///
/// # Safety
/// `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn cce_stream_new(version: u32, out: *mut *mut cce_stream) -> cce_status {
    guard(|| {
        if out.is_null() {
            return Err(null("out"));
        }
        let s = StreamDecoder::new(version).map_err(|e| fail(&e))?;
        let h = handle::insert(Arc::new(Mutex::new(s)));
        // SAFETY: checked non-null above.
        unsafe { write_out(out, h, "out") }
    })
}

fn stream_of(h: *const cce_stream) -> Result<Arc<Mutex<StreamDecoder>>, cce_status> {
    handle::get(h)
}

/// Appends `len` received bytes to the stream.
///
/// # Safety
/// `bytes` must point to `len` readable bytes (may be NULL when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn cce_stream_push(
    stream: *const cce_stream,
    bytes: *const u8,
    len: usize,
) -> cce_status {
    guard(|| {
        let s = stream_of(stream)?;
        if len == 0 {
            return Ok(());
        }
        if bytes.is_null() {
            return Err(null("bytes"));
        }
        // SAFETY: the caller promises `len` readable bytes.
        let data = unsafe { std::slice::from_raw_parts(bytes, len) };
        s.lock().unwrap_or_else(|p| p.into_inner()).push(data);
        Ok(())
    })
}

/// Takes the next whole message: `CCE_OK` with its type and JSON (free with
/// [`cce_string_free`]), or `CCE_OK` with `*json_out` NULL when more bytes are needed.
/// `CCE_ERR_CODEC` for a message that cannot be decoded (the stream goes on) or a
/// broken stream (length over 12,492: every later call fails too).
///
/// # Safety
/// Out pointers must be writable.
#[no_mangle]
pub unsafe extern "C" fn cce_stream_next(
    stream: *const cce_stream,
    msg_type_out: *mut u32,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let s = stream_of(stream)?;
        require_out!(msg_type_out, json_out);
        let next = s.lock().unwrap_or_else(|p| p.into_inner()).next();
        let (t, j) = match next.map_err(|e| fail(&e))? {
            Some((t, j)) => (t, to_c_string(j)),
            None => (0, std::ptr::null_mut()),
        };
        // SAFETY: checked non-null above.
        unsafe {
            write_out(msg_type_out, t, "msg_type_out")?;
            write_out(json_out, j, "json_out")
        }
    })
}

/// Frees a stream. A second call returns `CCE_ERR_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn cce_stream_free(stream: *mut cce_stream) -> cce_status {
    guard(|| handle::remove::<Mutex<StreamDecoder>>(stream).map(drop))
}

// ---------------------------------------------------------------------------
// CTI sessions.

struct UserData(*mut c_void);
// SAFETY: the pointer is only handed back to the application's callback, one call at a
// time; the application owns what it points to and promised it outlives the session.
unsafe impl Send for UserData {}
// SAFETY: as above: the library never reads or writes through the pointer.
unsafe impl Sync for UserData {}

impl UserData {
    /// The pointer (a method, so that closures capture the whole `UserData`).
    fn ptr(&self) -> *mut c_void {
        self.0
    }
}

impl Source for CtiSession {
    type Event = EventOut;
    const NOUN: &'static str = "session";
    const CLOSE_GRACE: Duration = dispatch::CALLBACK_GRACE;

    fn wait_next(&self, timeout: Duration) -> Result<Option<EventOut>, Error> {
        self.next_event(Some(timeout))
    }

    fn shut(&self) -> Result<(), Error> {
        self.close().map(drop)
    }

    fn try_next(&self) -> Next<EventOut> {
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

/// A C string from event text (a NUL inside would end it early; JSON escapes them).
fn event_c_string(text: String) -> CString {
    CString::new(text).unwrap_or_else(|e| {
        let clean: Vec<u8> = e.into_vec().into_iter().filter(|b| *b != 0).collect();
        CString::new(clean).unwrap_or_default()
    })
}

/// Opens a CTI session and blocks until OPEN_CONF or failure.
///
/// `config_json` keys: `address` ("host:port", required), `client_id` (required),
/// `version` (15..25, default 24), `client_password`, `services` (number or
/// "CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL"), `peripheral_id`,
/// `agent_id`, `agent_extension`, `agent_instrument`, `heartbeat_ms` (default 90000;
/// 0 turns heartbeats off), `open_timeout_ms`, `close_timeout_ms`, `request_timeout_ms`,
/// `strict_decode` (default false: messages with count mismatches or wrongly sized
/// fields are delivered with `_warnings` instead of as DECODE_ERROR). Every key may
/// be given in camelCase too (`clientId`; not both spellings); masks also take a list
/// of names or numbers (`["CTI_SERVICE_CLIENT_EVENTS","CTI_SERVICE_CLIENT_CONTROL"]`).
///
/// Failover: `address_b` (side B) turns on reconnection (`reconnect`: true/false to
/// choose), following the guide's A/B schedule (`expected_clients` sets the random
/// spread, `reconnect_time_scale` scales every wait, `connect_timeout_ms`). While the
/// link is down, requests fail with `CCE_ERR_DISCONNECTED`; requests in flight when it
/// drops fail the same way. The application is told with `CONNECTION_STATE` events
/// (msg_type 0; `state` is `Disconnected`, `AttemptFailed`, `Connected`,
/// `BecameActive` or `Resynchronized`). `active_standby` requests the v24+
/// active/standby service; `model_events` adds `MODEL_CHANGED` events (see [`cti_model`]).
///
/// Events: with a `callback`, libcce calls it on a small shared pool of library-owned
/// threads (see [`cce_set_callback_threads`]), for each session in arrival order and
/// never two at once; the last call is a `SESSION_CLOSED` event (msg_type 0). The
/// callback may call `cti_send`, `cti_request` and `cce_sim_*`, but must not call
/// `cti_close` on its own session (that returns `CCE_ERR_WOULD_DEADLOCK`) and must not
/// throw C++ exceptions. A slow callback holds one pool thread: other sessions keep
/// going on the others. With `callback` NULL, pull events with [`cti_poll_event`] or
/// [`cti_poll_events`] (optionally waiting on [`cti_event_fd`]). A refused OPEN_REQ
/// returns `CCE_ERR_REFUSED` with the status in [`cce_last_error_cti_status`].
///
/// Back-pressure: events wait in a bounded queue (`event_queue_events`, default
/// 10,000; `event_queue_bytes`, default 4 MiB). When it is full, `overrun` decides:
/// `"block"` (default) stops reading the socket until the application catches up
/// (heartbeats and timers keep running; the server sees TCP back-pressure), `"close"`
/// ends the session with a `SESSION_CLOSED` event whose `reason` is `ConsumerOverrun`.
/// With `"block"`, a request made while the queue is full may wait for its answer
/// behind the queued events (up to its timeout). `command_queue` (default 1,024) bounds
/// the messages waiting to be written: beyond it `cti_send`/`cti_request` fail at once
/// with `CCE_ERR_QUEUE_FULL`. See [`cti_queue_stats`].
///
/// # Safety
/// `config_json` must be NUL-terminated; `out` writable; `user_data` must stay valid
/// until `cti_close` returns.
#[no_mangle]
pub unsafe extern "C" fn cti_open(
    config_json: *const c_char,
    callback: cti_event_cb,
    user_data: *mut c_void,
    out: *mut *mut cti_session,
) -> cce_status {
    guard(|| {
        // SAFETY: forwarded caller promise.
        let cfg = unsafe { arg_str(config_json, "config_json", false) }?.unwrap_or_default();
        if out.is_null() {
            return Err(null("out"));
        }
        let session = CtiSession::open(cfg).map_err(|e| fail(&e))?;
        let deliver = callback.map(|cb| event::json_delivery(cb, UserData(user_data)));
        let h = handle::insert(Arc::new(Evented::start(session, deliver)?));
        // SAFETY: checked non-null above.
        unsafe { write_out(out, h, "out") }
    })
}

/// `cti_open` with the event callback `deliver` (the typed callback's open).
///
/// # Safety
/// As `cti_open`.
unsafe fn open_with(
    config_json: *const c_char,
    out: *mut *mut cti_session,
    deliver: impl Fn(EventOut) + Send + Sync + 'static,
) -> cce_status {
    guard(|| {
        // SAFETY: forwarded caller promise.
        let cfg = unsafe { arg_str(config_json, "config_json", false) }?.unwrap_or_default();
        if out.is_null() {
            return Err(null("out"));
        }
        let session = CtiSession::open(cfg).map_err(|e| fail(&e))?;
        let h = handle::insert(Arc::new(Evented::start(session, Some(deliver))?));
        // SAFETY: checked non-null above.
        unsafe { write_out(out, h, "out") }
    })
}

/// The OPEN_CONF of the session as JSON (free with [`cce_string_free`]).
///
/// # Safety
/// `json_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn cti_open_conf(
    session: *const cti_session,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let s = session_of(session)?;
        // SAFETY: forwarded caller promise.
        unsafe { write_out(json_out, to_c_string(s.open_conf_json()), "json_out") }
    })
}

/// Sends a message given as JSON without waiting, e.g.
/// `{"MessageName":"SET_AGENT_STATE_REQ","AgentState":"AGENT_STATE_AVAILABLE","AgentInstrument":"5001"}`.
/// The InvokeID is assigned when absent and written to `*invoke_id_out` (may be NULL);
/// the confirmation arrives as an event.
///
/// # Safety
/// `msg_json` must be NUL-terminated; `invoke_id_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cti_send(
    session: *const cti_session,
    msg_json: *const c_char,
    invoke_id_out: *mut u32,
) -> cce_status {
    guard(|| {
        let s = session_of(session)?;
        // SAFETY: forwarded caller promise.
        let msg = unsafe { arg_str(msg_json, "msg_json", false) }?.unwrap_or_default();
        let id = s.send_json(msg).map_err(|e| fail(&e))?;
        // SAFETY: forwarded caller promise.
        unsafe { write_opt(invoke_id_out, id) }
    })
}

/// Sends a request given as JSON and blocks until its confirmation, a failure or
/// `timeout_ms` (0: the session's request timeout, 10 s by default). On success the
/// confirmation's type and JSON are written out (free the JSON with [`cce_string_free`]).
/// FAILURE_CONF gives `CCE_ERR_REFUSED`, CONTROL_FAILURE_CONF `CCE_ERR_CONTROL_FAILED`,
/// both with the code in [`cce_last_error_cti_status`] and its name in [`cce_last_error`].
///
/// # Safety
/// `msg_json` must be NUL-terminated; out pointers writable.
#[no_mangle]
pub unsafe extern "C" fn cti_request(
    session: *const cti_session,
    msg_json: *const c_char,
    timeout_ms: u32,
    msg_type_out: *mut u32,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let s = session_of(session)?;
        // SAFETY: forwarded caller promise.
        let msg = unsafe { arg_str(msg_json, "msg_json", false) }?.unwrap_or_default();
        require_out!(msg_type_out, json_out);
        let timeout = (timeout_ms != 0).then(|| Duration::from_millis(u64::from(timeout_ms)));
        let (t, j) = s.request_json(msg, timeout).map_err(|e| fail(&e))?;
        // SAFETY: checked non-null above.
        unsafe {
            write_out(msg_type_out, t, "msg_type_out")?;
            write_out(json_out, to_c_string(j), "json_out")
        }
    })
}

/// Sends the request `name` — a message name (`"MAKE_CALL_REQ"`) or helper name
/// (`"make_call"`; see [`cce_cti_requests`]) — with its fields as a JSON object (NULL or
/// `""` for none), and blocks like [`cti_request`] for the confirmation.
///
/// # Safety
/// `name` must be NUL-terminated, `fields_json` NULL or NUL-terminated; out pointers writable.
#[no_mangle]
pub unsafe extern "C" fn cti_call(
    session: *const cti_session,
    name: *const c_char,
    fields_json: *const c_char,
    timeout_ms: u32,
    msg_type_out: *mut u32,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let s = session_of(session)?;
        // SAFETY: forwarded caller promise.
        let name = unsafe { arg_str(name, "name", false) }?.unwrap_or_default();
        // SAFETY: forwarded caller promise.
        let fields = unsafe { arg_str(fields_json, "fields_json", true) }?.unwrap_or("");
        require_out!(msg_type_out, json_out);
        let timeout = (timeout_ms != 0).then(|| Duration::from_millis(u64::from(timeout_ms)));
        let (t, j) = s.call_json(name, fields, timeout).map_err(|e| fail(&e))?;
        // SAFETY: checked non-null above.
        unsafe {
            write_out(msg_type_out, t, "msg_type_out")?;
            write_out(json_out, to_c_string(j), "json_out")
        }
    })
}

/// The live agent/call model of the session as JSON:
/// `{"agents":[...],"calls":[...],"skill_groups":[...],"peripherals":{...}}`.
/// Kept current from the event stream and across reconnects. Free with [`cce_string_free`].
///
/// # Safety
/// `json_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn cti_model(
    session: *const cti_session,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let s = session_of(session)?;
        // SAFETY: forwarded caller promise.
        unsafe { write_out(json_out, to_c_string(s.model_json()), "json_out") }
    })
}

/// The link state as JSON: `{"connected":bool,"closed":bool,"side":"A"|"B"|null}`.
/// While reconnecting, requests fail with `CCE_ERR_DISCONNECTED`. Free with [`cce_string_free`].
///
/// # Safety
/// `json_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn cti_state(
    session: *const cti_session,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let s = session_of(session)?;
        // SAFETY: forwarded caller promise.
        unsafe { write_out(json_out, to_c_string(s.state_json()), "json_out") }
    })
}

/// Every request of the catalogue as JSON:
/// `[{"request":"MAKE_CALL_REQ","confirmation":"MAKE_CALL_CONF","helper":"make_call","service":"..."},...]`.
/// Free with [`cce_string_free`].
///
/// # Safety
/// `json_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn cce_cti_requests(json_out: *mut *mut c_char) -> cce_status {
    guard(|| {
        // SAFETY: forwarded caller promise.
        unsafe { write_out(json_out, to_c_string(api::requests_json()), "json_out") }
    })
}

/// Pull mode (sessions opened without a callback): waits up to `timeout_ms` for the
/// next event. Returns `CCE_ERR_TIMEOUT` when none came, `CCE_ERR_CLOSED` after the
/// final `SESSION_CLOSED` event was taken. Free `*json_out` with [`cce_string_free`].
///
/// # Safety
/// Out pointers must be writable.
#[no_mangle]
pub unsafe extern "C" fn cti_poll_event(
    session: *const cti_session,
    timeout_ms: u32,
    msg_type_out: *mut u32,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let e = handle::get::<Evented<CtiSession>>(session)?;
        e.polled("cti_poll_event")?;
        require_out!(msg_type_out, json_out);
        let ev = e.poll(timeout_ms, "cti_poll_event")?;
        // SAFETY: checked non-null above.
        unsafe {
            write_out(msg_type_out, ev.msg_type, "msg_type_out")?;
            write_out(json_out, to_c_string(ev.into_json()), "json_out")
        }
    })
}

/// One event of a [`cti_poll_events`] batch.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cti_event {
    /// MessageType (0 for library events such as `SESSION_CLOSED`).
    pub msg_type: u32,
    /// The event as JSON; owned by the caller (free with [`cti_events_free`] or
    /// [`cce_string_free`]).
    pub json: *mut c_char,
}

/// Pull mode, batched: waits up to `timeout_ms` for a first event, then takes every
/// event already queued, up to `max`, into `events[0..*count_out]` (one call, one
/// wake-up). `CCE_OK` with `*count_out` 0 when none came in time; `CCE_ERR_CLOSED`
/// after the final `SESSION_CLOSED` was taken. Free the texts with [`cti_events_free`].
///
/// # Safety
/// `events` must point to `max` writable `cti_event`s; `count_out` writable.
#[no_mangle]
pub unsafe extern "C" fn cti_poll_events(
    session: *const cti_session,
    events: *mut cti_event,
    max: usize,
    timeout_ms: u32,
    count_out: *mut usize,
) -> cce_status {
    guard(|| {
        let e = handle::get::<Evented<CtiSession>>(session)?;
        let s = e.polled("cti_poll_events")?;
        let fd = e.fd();
        require_out!(events, count_out);
        // SAFETY: checked non-null above.
        unsafe { write_out(count_out, 0, "count_out")? };
        if max == 0 {
            return Ok(());
        }
        if let Some(fd) = &fd {
            fd.drain();
        }
        let mut batch = Vec::new();
        let first = if s.has_queued_events() {
            s.try_next_event()
        } else {
            s.next_event(Some(Duration::from_millis(u64::from(timeout_ms))))
        };
        match first {
            Ok(Some(ev)) => batch.push(ev),
            Ok(None) => {}
            Err(e) => {
                if let Some(fd) = &fd {
                    fd.rearm(s.has_queued_events());
                }
                return Err(fail(&e));
            }
        }
        if !batch.is_empty() && !batch.iter().any(|e| e.last) {
            // The session may end with this batch: what came before the end still counts.
            if let Ok(more) = s.poll_events(max - batch.len()) {
                batch.extend(more);
            }
        }
        if let Some(fd) = &fd {
            fd.rearm(s.has_queued_events());
        }
        let n = batch.len();
        for (i, ev) in batch.into_iter().enumerate() {
            let item = cti_event {
                msg_type: ev.msg_type,
                json: event_c_string(ev.into_json()).into_raw(),
            };
            // SAFETY: i < max, and the caller promised `max` writable entries.
            unsafe { events.add(i).write(item) };
        }
        // SAFETY: checked non-null above.
        unsafe { write_out(count_out, n, "count_out") }
    })
}

/// Frees the texts of `count` events filled by [`cti_poll_events`] (not the array).
///
/// # Safety
/// `events` must hold `count` entries filled by [`cti_poll_events`], not freed yet.
#[no_mangle]
pub unsafe extern "C" fn cti_events_free(events: *mut cti_event, count: usize) {
    if events.is_null() {
        return;
    }
    for i in 0..count {
        // SAFETY: the caller promises `count` entries from cti_poll_events.
        let ev = unsafe { &mut *events.add(i) };
        // SAFETY: each json came from CString::into_raw and is freed once (then NULLed).
        unsafe { cce_string_free(ev.json) };
        ev.json = std::ptr::null_mut();
    }
}

/// Pull mode: a file descriptor that is readable while events are queued, for a host
/// event loop (poll/epoll/select, libuv, asyncio `add_reader`) to wait on instead of a
/// thread. Wait for it, then call [`cti_poll_events`] (or [`cti_poll_event`] with
/// timeout 0) until no event is left; those calls clear it. The library owns the
/// descriptor (do not read or close it); it stays open until [`cti_close`].
///
/// # Safety
/// `fd_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn cti_event_fd(session: *const cti_session, fd_out: *mut i32) -> cce_status {
    guard(|| {
        if fd_out.is_null() {
            return Err(null("fd_out"));
        }
        let e = handle::get::<Evented<CtiSession>>(session)?;
        e.polled("cti_event_fd")?;
        let fd = e.fd_or_create().map_err(|e| {
            set_error(
                cce_status::CCE_ERR_IO,
                &format!("cannot create the event descriptor: {e}"),
                None,
            )
        })?;
        // SAFETY: checked non-null above.
        unsafe { write_out(fd_out, fd.raw(), "fd_out") }
    })
}

/// The session's event queue figures as JSON (free with [`cce_string_free`]):
/// `{"depth_events":N,"depth_bytes":N,"high_water_events":N,"high_water_bytes":N,
/// "dropped":N,"delivered":N}`. `delivered` counts the events the application took;
/// `dropped` counts events discarded at close and, with
/// `overrun: "close"`, the events that did not fit.
///
/// # Safety
/// `json_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn cti_queue_stats(
    session: *const cti_session,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let s = session_of(session)?;
        // SAFETY: forwarded caller promise.
        unsafe { write_out(json_out, to_c_string(s.queue_stats_json()), "json_out") }
    })
}

/// Sets the number of threads that run event callbacks for every CTI session, GC
/// session and ECE webhook server (1..64; default 2). Call it before the first handle
/// with a callback is opened; later calls return `CCE_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn cce_set_callback_threads(threads: u32) -> cce_status {
    guard(|| {
        dispatch::set_threads(threads as usize)
            .map_err(|e| set_error(cce_status::CCE_ERR_INVALID_ARGUMENT, &e, None))
    })
}

/// Closes the session (CLOSE_REQ, then at most the close timeout, 5 s by default, for
/// CLOSE_CONF), drops the events still queued (counted in [`cti_queue_stats`]),
/// delivers `SESSION_CLOSED` to the callback, and frees the handle. It returns within
/// the close timeout plus about one second whatever the peer or the callback does:
/// after it returns, no new callback of the session starts. If a callback is still
/// running after that second, `SESSION_CLOSED` is not delivered and the call returns
/// `CCE_ERR_TIMEOUT` (the session is closed and the handle freed all the same; keep
/// `user_data` valid until that callback returns). A second call returns
/// `CCE_ERR_INVALID_HANDLE`. Calling it from the session's own callback returns
/// `CCE_ERR_WOULD_DEADLOCK` and leaves the session open.
#[no_mangle]
pub extern "C" fn cti_close(session: *mut cti_session) -> cce_status {
    guard(|| dispatch::close::<CtiSession>(session, "cti_close"))
}
