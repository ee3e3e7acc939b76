//! Node.js binding of libcce (N-API, via napi-rs 2).
//!
//! This is the native half of the npm package `libcce`; `index.js` wraps it in the
//! public JavaScript API. The native layer is deliberately thin: it forwards JSON
//! strings to [`cce::api`] and back.
//!
//! * Calls that may block return Promises, so the JavaScript thread never waits on
//!   the network: opening a session, a request and closing run as [`AsyncTask`]s
//!   on the libuv thread pool; waiting for an event, which lasts as long as the
//!   session, runs on the library's own blocking pool (see
//!   [`NativeSession::next_event`]).
//! * Quick calls (simulator control, `sendJson`, encode/decode) are synchronous.
//! * Every entry point catches panics, so none crosses into Node.
//! * Failures are JavaScript `Error`s whose message is [`ERROR_PREFIX`] followed by
//!   a JSON object `{"kind", "message", "status", "statusName"}`; `index.js`
//!   turns those into `CceError` objects with `code`, `status` and `statusName`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use cce::api::{self, CtiSession, CtiSim, ErrorKind};
use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, JsObject, Status, Task};
use napi_derive::napi;
use serde_json::json;

mod ece;
pub mod gc;
pub mod log;
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

/// The library's tokio runtime.
fn runtime() -> Result<&'static tokio::runtime::Runtime, api::Error> {
    cce::runtime::runtime().map_err(|message| api::Error {
        kind: ErrorKind::Io,
        message,
        status: None,
        status_name: None,
        protocol: None,
    })
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

// ---------------------------------------------------------------------------
// Session

/// An open CTI session. Created by [`open_session`].
#[napi]
pub struct NativeSession {
    inner: Arc<CtiSession>,
}

/// One event as the pump in `index.js` receives it.
#[napi(object)]
pub struct NativeEvent {
    /// MessageType (0 for library events such as `SESSION_CLOSED`).
    pub msg_type: u32,
    /// The event rendered as JSON.
    pub json: String,
    /// True for `SESSION_CLOSED`, the last event of a session.
    pub last: bool,
}

impl From<api::EventOut> for NativeEvent {
    fn from(e: api::EventOut) -> Self {
        let (msg_type, last) = (e.msg_type, e.last);
        NativeEvent {
            msg_type,
            json: e.into_json(),
            last,
        }
    }
}

/// Background job of [`open_session`].
pub struct OpenTask {
    config_json: String,
}

impl Task for OpenTask {
    type Output = CtiSession;
    type JsValue = NativeSession;

    fn compute(&mut self) -> napi::Result<CtiSession> {
        guarded(|| CtiSession::open(&self.config_json))
    }

    fn resolve(&mut self, _env: Env, output: CtiSession) -> napi::Result<NativeSession> {
        Ok(NativeSession {
            inner: Arc::new(output),
        })
    }
}

/// Connects and opens a session from a JSON configuration; resolves to the session
/// once OPEN_CONF has arrived.
#[napi(ts_return_type = "Promise<NativeSession>")]
pub fn open_session(config_json: String) -> AsyncTask<OpenTask> {
    AsyncTask::new(OpenTask { config_json })
}

/// Background job of [`NativeSession::request_json`].
pub struct RequestTask {
    session: Arc<CtiSession>,
    msg_json: String,
    timeout: Option<Duration>,
}

impl Task for RequestTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> napi::Result<String> {
        guarded(|| {
            self.session
                .request_json(&self.msg_json, self.timeout)
                .map(|(_, j)| j)
        })
    }

    fn resolve(&mut self, _env: Env, output: String) -> napi::Result<String> {
        Ok(output)
    }
}

/// Background job of [`NativeSession::call_json`].
pub struct CallTask {
    session: Arc<CtiSession>,
    name: String,
    fields_json: String,
    timeout: Option<Duration>,
}

impl Task for CallTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> napi::Result<String> {
        guarded(|| {
            self.session
                .call_json(&self.name, &self.fields_json, self.timeout)
                .map(|(_, j)| j)
        })
    }

    fn resolve(&mut self, _env: Env, output: String) -> napi::Result<String> {
        Ok(output)
    }
}

/// Every request of the catalogue as JSON (`request`, `confirmation`, `helper`, `service`).
#[napi]
pub fn requests_json() -> String {
    api::requests_json()
}

/// Background job of [`NativeSession::close`].
pub struct CloseTask {
    session: Arc<CtiSession>,
}

impl Task for CloseTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> napi::Result<String> {
        guarded(|| self.session.close())
    }

    fn resolve(&mut self, _env: Env, output: String) -> napi::Result<String> {
        Ok(output)
    }
}

#[napi]
impl NativeSession {
    /// The OPEN_CONF as JSON.
    #[napi(getter)]
    pub fn open_conf_json(&self) -> napi::Result<String> {
        guarded(|| Ok(self.inner.open_conf_json()))
    }

    /// Protocol version of the session.
    #[napi(getter)]
    pub fn version(&self) -> u32 {
        self.inner.version()
    }

    /// Sends a message given as JSON without waiting; returns its InvokeID.
    #[napi]
    pub fn send_json(&self, msg_json: String) -> napi::Result<u32> {
        guarded(|| self.inner.send_json(&msg_json))
    }

    /// Sends a request given as JSON; resolves to the confirmation's JSON.
    /// `timeout_ms` absent: the session's request timeout.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn request_json(
        &self,
        msg_json: String,
        timeout_ms: Option<f64>,
    ) -> napi::Result<AsyncTask<RequestTask>> {
        let timeout = guarded(|| timeout(timeout_ms))?;
        Ok(AsyncTask::new(RequestTask {
            session: Arc::clone(&self.inner),
            msg_json,
            timeout,
        }))
    }

    /// Sends the request `name` (message or helper name) with its fields as a JSON
    /// object; resolves to the confirmation's JSON.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn call_json(
        &self,
        name: String,
        fields_json: String,
        timeout_ms: Option<f64>,
    ) -> napi::Result<AsyncTask<CallTask>> {
        let timeout = guarded(|| timeout(timeout_ms))?;
        Ok(AsyncTask::new(CallTask {
            session: Arc::clone(&self.inner),
            name,
            fields_json,
            timeout,
        }))
    }

    /// The live agent/call model as JSON.
    #[napi]
    pub fn model_json(&self) -> napi::Result<String> {
        guarded(|| Ok(self.inner.model_json()))
    }

    /// The link state as JSON (`connected`, `closed`, `side`).
    #[napi]
    pub fn state_json(&self) -> napi::Result<String> {
        guarded(|| Ok(self.inner.state_json()))
    }

    /// The session's counters as JSON.
    #[napi]
    pub fn stats_json(&self) -> napi::Result<String> {
        guarded(|| Ok(self.inner.stats_json()))
    }

    /// Replaces the TLS settings (JSON object or `null`); they apply from the next
    /// reconnect on.
    #[napi]
    pub fn set_tls_json(&self, tls_json: String) -> napi::Result<()> {
        guarded(|| self.inner.set_tls_json(&tls_json))
    }

    /// Waits for the next event; resolves to null when `timeout_ms` passes first.
    /// Rejects with kind `Closed` once the final `SESSION_CLOSED` has been taken.
    ///
    /// Unlike the other blocking calls this one does not use the libuv thread pool:
    /// a session waits for events most of its life, and a few sessions would
    /// otherwise hold all of the pool's threads (4 by default), stalling requests
    /// and the application's own file and DNS work. The wait runs on the blocking
    /// thread pool of the library's tokio runtime, and the promise is settled
    /// through a thread-safe function, which keeps Node's event loop alive meanwhile.
    #[napi(ts_return_type = "Promise<NativeEvent | null>")]
    pub fn next_event(&self, env: Env, timeout_ms: Option<f64>) -> napi::Result<JsObject> {
        let timeout = guarded(|| timeout(timeout_ms))?;
        let rt = guarded(runtime)?;
        let (deferred, promise) = env.create_deferred()?;
        let session = Arc::clone(&self.inner);
        // The closure always settles the promise: `guarded` turns panics into errors.
        rt.spawn_blocking(move || match guarded(|| session.next_event(timeout)) {
            Ok(out) => deferred.resolve(move |_env| Ok(out.map(NativeEvent::from))),
            Err(e) => deferred.reject(e),
        });
        Ok(promise)
    }

    /// Closes the session (CLOSE_REQ, then at most the close timeout); resolves to
    /// the SESSION_CLOSED JSON. Safe to call more than once.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn close(&self) -> AsyncTask<CloseTask> {
        AsyncTask::new(CloseTask {
            session: Arc::clone(&self.inner),
        })
    }
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
