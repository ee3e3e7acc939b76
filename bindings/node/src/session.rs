//! `NativeSession`: an open CTI session. Requests, open and close are promises
//! settled from the library runtime; events go to JavaScript in batches.

use std::sync::atomic::{AtomicBool, Ordering};

use cce::api::CtiSession;

use super::*;
use crate::pump::{Batch, BatchFn};

/// An open CTI session. Created by [`open_session`].
#[napi]
pub struct NativeSession {
    inner: Arc<CtiSession>,
    pumping: AtomicBool,
}

impl NativeSession {
    fn new(inner: CtiSession) -> Self {
        NativeSession {
            inner: Arc::new(inner),
            pumping: AtomicBool::new(false),
        }
    }
}

/// Connects and opens a session from a JSON configuration; resolves to the session
/// once OPEN_CONF has arrived.
#[napi(ts_return_type = "Promise<NativeSession>")]
pub fn open_session(env: &Env, config_json: String) -> napi::Result<Object<'_>> {
    promise::spawn(env, async move {
        CtiSession::open_async(&config_json)
            .await
            .map(NativeSession::new)
    })
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
    pub fn request_json<'env>(
        &self,
        env: &'env Env,
        msg_json: String,
        timeout_ms: Option<f64>,
    ) -> napi::Result<Object<'env>> {
        let t = guarded(|| timeout(timeout_ms))?;
        let s = Arc::clone(&self.inner);
        promise::spawn(env, async move {
            s.request_json_async(&msg_json, t).await.map(|(_, j)| j)
        })
    }

    /// Sends the request `name` (message or helper name) with its fields as a JSON
    /// object; resolves to the confirmation's JSON.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn call_json<'env>(
        &self,
        env: &'env Env,
        name: String,
        fields_json: String,
        timeout_ms: Option<f64>,
    ) -> napi::Result<Object<'env>> {
        let t = guarded(|| timeout(timeout_ms))?;
        let s = Arc::clone(&self.inner);
        promise::spawn(env, async move {
            s.call_json_async(&name, &fields_json, t)
                .await
                .map(|(_, j)| j)
        })
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

    /// Starts delivering events to `handler(eventsJsonArray, last, error)` in
    /// batches, until the final `SESSION_CLOSED` (see [`crate::pump`]). Once only:
    /// a second call fails with kind `InvalidArgument`.
    #[napi(
        ts_args_type = "handler: (eventsJson: string, last: boolean, error: string | null) => Promise<void> | undefined"
    )]
    pub fn start_events(&self, handler: BatchFn) -> napi::Result<()> {
        if self.pumping.swap(true, Ordering::AcqRel) {
            return Err(to_napi(&api::Error::invalid(
                "events are already being delivered",
            )));
        }
        let s = Arc::clone(&self.inner);
        pump::start(handler, move |max, wait| {
            let s = Arc::clone(&s);
            async move {
                let batch = s.next_events_async(max, Some(wait)).await?;
                if batch.is_empty() {
                    return Ok(None);
                }
                let last = batch.last().is_some_and(|e| e.last);
                let json = pump::json_array(batch.iter().map(|e| e.json()));
                Ok(Some(Batch { json, last }))
            }
        });
        Ok(())
    }

    /// Closes the session (CLOSE_REQ, then at most the close timeout); resolves to
    /// the SESSION_CLOSED JSON. Safe to call more than once.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn close<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let s = Arc::clone(&self.inner);
        promise::spawn(env, async move { s.close_async().await })
    }
}
