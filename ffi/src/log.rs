//! Logging, session statistics and metrics of the C ABI.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use cce::log::{Level, LogError, LogSink};

use super::{cce_status, cti_session, guard, session_of, set_error, to_c_string, write_out};

/// Severity of a log record (also the `level` argument of [`cce_set_log_callback`]).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // CCE_LOG_OFF is for C callers only.
pub enum cce_log_level {
    /// No records (as a threshold: logging off).
    CCE_LOG_OFF = 0,
    /// Failures.
    CCE_LOG_ERROR = 1,
    /// Conditions an operator should know about (e.g. TLS verification off).
    CCE_LOG_WARN = 2,
    /// Session life; wire trace records (target `libcce::wire`).
    CCE_LOG_INFO = 3,
    /// Details for debugging.
    CCE_LOG_DEBUG = 4,
    /// Everything.
    CCE_LOG_TRACE = 5,
}

/// Receives one log record: its level, target (the library module, or `libcce::wire`
/// for wire trace records), message, and the `user_data` given to
/// [`cce_set_log_callback`]. The strings are valid only during the call.
pub type cce_log_cb = Option<
    unsafe extern "C" fn(
        level: cce_log_level,
        target: *const c_char,
        message: *const c_char,
        user_data: *mut c_void,
    ),
>;

struct CSink {
    cb: unsafe extern "C" fn(cce_log_level, *const c_char, *const c_char, *mut c_void),
    user_data: *mut c_void,
}

// SAFETY: the caller of cce_set_log_callback promises that the callback may be called
// from any thread with this user_data (documented there).
unsafe impl Send for CSink {}
// SAFETY: as above.
unsafe impl Sync for CSink {}

fn c_level(level: Level) -> cce_log_level {
    match level {
        Level::Error => cce_log_level::CCE_LOG_ERROR,
        Level::Warn => cce_log_level::CCE_LOG_WARN,
        Level::Info => cce_log_level::CCE_LOG_INFO,
        Level::Debug => cce_log_level::CCE_LOG_DEBUG,
        Level::Trace => cce_log_level::CCE_LOG_TRACE,
    }
}

fn c_text(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

impl LogSink for CSink {
    fn log(&self, level: Level, target: &str, message: &str) {
        let target = c_text(target);
        let message = c_text(message);
        // SAFETY: the callback and user_data were given together by the host, which
        // promised they stay valid until the callback is replaced.
        unsafe {
            (self.cb)(
                c_level(level),
                target.as_ptr(),
                message.as_ptr(),
                self.user_data,
            )
        }
    }
}

/// Routes the library's log records at `level` (a [`cce_log_level`]: `CCE_LOG_ERROR` ..
/// `CCE_LOG_TRACE`) and above to `callback`. `CCE_LOG_OFF` or a NULL callback turns
/// logging off. Replaces any earlier callback, and the `CCE_LOG` environment variable
/// (`CCE_LOG=debug` sends records to standard error when no callback is set).
///
/// The callback is called from any thread (library threads such as "cce-rt" and the
/// threads calling libcce), possibly concurrently: it must be thread-safe, return
/// quickly and not throw or longjmp. Records emitted by libcce calls made inside the
/// callback are dropped. When this function returns, no call of the previous callback
/// is in progress, so its `user_data` may be freed; calling it from inside the callback
/// returns `CCE_ERR_WOULD_DEADLOCK`. Secrets (passwords, tokens) never appear in records.
/// Wire traces (session key `"trace": true`) arrive at `CCE_LOG_INFO` under the target
/// `libcce::wire`.
///
/// # Safety
/// `callback` must be callable from any thread with `user_data` until it is replaced.
#[no_mangle]
pub unsafe extern "C" fn cce_set_log_callback(
    level: i32,
    callback: cce_log_cb,
    user_data: *mut c_void,
) -> cce_status {
    guard(|| {
        if !(0..=5).contains(&level) {
            return Err(set_error(
                cce_status::CCE_ERR_INVALID_ARGUMENT,
                &format!("log level {level}: expected 0 (off) to 5 (trace)"),
                None,
            ));
        }
        let level = Level::from_number(level.into());
        let sink: Option<Arc<dyn LogSink>> = match callback {
            Some(cb) => Some(Arc::new(CSink { cb, user_data })),
            None => None,
        };
        cce::log::set_sink(level, sink).map_err(|e| {
            let status = match e {
                LogError::FromSink => cce_status::CCE_ERR_WOULD_DEADLOCK,
                _ => cce_status::CCE_ERR_INVALID_ARGUMENT,
            };
            set_error(status, &e.to_string(), None)
        })
    })
}

/// The session's counters as JSON: `frames_in`, `frames_out`, `bytes_in`, `bytes_out`,
/// `decode_errors`, `unrecognized`, `opens`, `reconnects`, `failovers`, `heartbeats`,
/// `heartbeat_rtt_ms` (`last`/`avg`/`max`), `requests`, `request_latency_ms`
/// (`p50`/`p99`), `ms_since_last_frame` (durations `null` until measured). Counts
/// survive reconnects. Free with `cce_string_free`.
///
/// # Safety
/// `json_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn cti_stats(
    session: *const cti_session,
    json_out: *mut *mut c_char,
) -> cce_status {
    guard(|| {
        let s = session_of(session)?;
        // SAFETY: forwarded caller promise.
        unsafe { write_out(json_out, to_c_string(s.stats_json()), "json_out") }
    })
}

/// Every live CTI session's counters in the Prometheus text exposition format (serve
/// it as `/metrics`). Free with `cce_string_free`.
///
/// # Safety
/// `text_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn cce_metrics_text(text_out: *mut *mut c_char) -> cce_status {
    guard(|| {
        let text = cce::cti::stats::metrics_text();
        // SAFETY: forwarded caller promise.
        unsafe { write_out(text_out, to_c_string(text), "text_out") }
    })
}
