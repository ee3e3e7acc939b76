//! Node.js binding of libcce (N-API, via napi-rs 3).
//!
//! This is the native half of the npm package `libcce`; `index.js` wraps it in the
//! public JavaScript API. The native layer is deliberately thin: it forwards JSON
//! strings to [`cce::api`] and back.
//!
//! * Calls that wait return Promises settled from the library's own tokio runtime
//!   ([`promise`]): the facade's futures run there, so neither libuv's thread pool
//!   nor a thread per call or per session is used.
//! * Events reach JavaScript in batches through one thread-safe function per
//!   session ([`pump`]).
//! * Quick calls (simulator control, `sendJson`, encode/decode) are synchronous.
//! * Every entry point catches panics, so none crosses into Node.
//! * Failures are JavaScript `Error`s whose message is [`ERROR_PREFIX`] followed by
//!   a JSON object `{"kind", "message", "status", "statusName"}`; `index.js`
//!   turns those into `CceError` objects with `code`, `status` and `statusName`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use cce::api::{self, CtiSim, ErrorKind};
use napi::bindgen_prelude::{Buffer, Object};
use napi::{Env, Status};
use napi_derive::napi;
use serde_json::json;

mod ece;
pub mod gc;
pub mod log;
mod promise;
mod pump;
pub mod session;
mod sim;

/// Prefix of the message of every error raised by this addon; a JSON object follows.
pub const ERROR_PREFIX: &str = "cce-error:";

/// The message of the JavaScript error for a core error: prefix, then JSON.
fn error_message(e: &api::Error) -> String {
    let detail = json!({
        "kind": e.kind.name(),
        "message": e.message,
        "status": e.status,
        "statusName": e.status_name,
        "protocol": e.protocol.map(|p| p.name()),
    });
    format!("{ERROR_PREFIX}{detail}")
}

/// The message of the JavaScript error for a panic caught at the boundary.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    let detail = json!({
        "kind": "Internal",
        "message": format!("internal error in libcce: {what}"),
        "status": null,
        "statusName": null,
    });
    format!("{ERROR_PREFIX}{detail}")
}

/// The JavaScript error for a core error.
fn to_napi(e: &api::Error) -> napi::Error {
    napi::Error::new(Status::GenericFailure, error_message(e))
}

/// Runs `f`, turning a core error or a panic into a JavaScript error.
fn guarded<T>(f: impl FnOnce() -> Result<T, api::Error>) -> napi::Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_napi(&e)),
        Err(p) => Err(napi::Error::new(
            Status::GenericFailure,
            panic_message(p.as_ref()),
        )),
    }
}

/// A core error of `kind` with `message`.
fn core_error(kind: ErrorKind, message: String) -> api::Error {
    api::Error {
        kind,
        message,
        status: None,
        status_name: None,
        protocol: None,
    }
}

/// Converts an optional JavaScript timeout in milliseconds.
fn timeout(ms: Option<f64>) -> Result<Option<Duration>, api::Error> {
    match ms {
        None => Ok(None),
        Some(ms) if ms.is_finite() && ms >= 0.0 && ms <= u32::MAX as f64 => {
            Ok(Some(Duration::from_secs_f64(ms / 1000.0)))
        }
        Some(ms) => Err(api::Error::invalid(format!(
            "timeout must be a finite number of milliseconds >= 0, got {ms}"
        ))),
    }
}

// ---------------------------------------------------------------------------
// Codec

/// Decodes one whole message (header included) at `version`; returns its JSON.
/// `strict` (default true) false reads tolerantly (deviations listed in `_warnings`).
#[napi]
pub fn decode_json(bytes: Buffer, version: u32, strict: Option<bool>) -> napi::Result<String> {
    let strict = strict.unwrap_or(true);
    guarded(|| api::decode_json_with(&bytes, version, strict).map(|(_, j)| j))
}

/// Encodes a message given as JSON at `version`; returns the frame (header included).
#[napi]
pub fn encode_json(msg_json: String, version: u32) -> napi::Result<Buffer> {
    guarded(|| api::encode_json(&msg_json, version)).map(Buffer::from)
}

/// A streaming decoder for messages received in pieces (synchronous; wraps
/// [`api::StreamDecoder`]).
#[napi]
pub struct NativeStreamDecoder {
    inner: api::StreamDecoder,
}

#[napi]
impl NativeStreamDecoder {
    /// A decoder for a session at `version` (15..=25; else `InvalidArgument`).
    #[napi(factory)]
    pub fn create(version: u32) -> napi::Result<Self> {
        guarded(|| api::StreamDecoder::new(version)).map(|inner| NativeStreamDecoder { inner })
    }

    /// Appends received bytes.
    #[napi]
    pub fn push(&mut self, bytes: Buffer) -> napi::Result<()> {
        guarded(|| {
            self.inner.push(&bytes);
            Ok(())
        })
    }

    /// The next whole message's JSON, or null when more bytes are needed. Fails with
    /// kind `Codec` for a message that cannot be decoded (the stream goes on) or a
    /// length over 12,492, which breaks the stream: every later call fails too.
    #[napi]
    pub fn next_json(&mut self) -> napi::Result<Option<String>> {
        guarded(|| self.inner.next().map(|m| m.map(|(_, j)| j)))
    }

    /// Bytes buffered while waiting for the rest of a message.
    #[napi(getter)]
    pub fn pending(&self) -> f64 {
        // A count that will never reach 2^53: a plain JavaScript number.
        self.inner.pending() as f64
    }
}

/// Every request of the catalogue as JSON (`request`, `confirmation`, `helper`, `service`).
#[napi]
pub fn requests_json() -> String {
    api::requests_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(msg: &str) -> serde_json::Value {
        let body = msg.strip_prefix(ERROR_PREFIX).expect("prefix");
        serde_json::from_str(body).expect("json")
    }

    #[test]
    fn errors_carry_kind_status_and_name() {
        let e = api::Error {
            kind: ErrorKind::Refused,
            message: "refused".into(),
            status: Some(9),
            status_name: Some("E_CTI_INVALID_AGENT_DATA".into()),
            protocol: Some(api::Protocol::Cti),
        };
        let d = detail(&error_message(&e));
        assert_eq!(d["kind"], "Refused");
        assert_eq!(d["message"], "refused");
        assert_eq!(d["status"], 9);
        assert_eq!(d["statusName"], "E_CTI_INVALID_AGENT_DATA");

        let d = detail(&error_message(&api::Error::invalid("bad")));
        assert_eq!(d["kind"], "InvalidArgument");
        assert!(d["status"].is_null() && d["statusName"].is_null());
    }

    #[test]
    fn panics_become_internal_errors() {
        let r: napi::Result<()> = guarded(|| panic!("boom"));
        let err = r.expect_err("panic is an error");
        let d = detail(&err.reason);
        assert_eq!(d["kind"], "Internal");
        assert!(d["message"].as_str().is_some_and(|m| m.contains("boom")));
    }

    #[test]
    fn timeouts_are_validated() {
        assert_eq!(timeout(None).ok(), Some(None));
        assert_eq!(
            timeout(Some(1500.0)).ok(),
            Some(Some(Duration::from_millis(1500)))
        );
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e12] {
            let e = timeout(Some(bad)).expect_err("invalid");
            assert_eq!(e.kind, ErrorKind::InvalidArgument);
        }
    }
}
