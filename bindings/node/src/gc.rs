//! `NativeGcSession`, `NativeGcSim` and the GC codec functions (Generic Connector over
//! ActiveMQ). Calls that wait on the broker return Promises settled from the library
//! runtime; events go to JavaScript in batches (see [`crate::pump`]).

use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::pump::{Batch, BatchFn};

use cce::api::{GcSession, GcSim};

/// Encodes a GC command given as JSON; returns `[jmsType, body]`.
#[napi]
pub fn gc_encode_command(command_json: String) -> napi::Result<Vec<String>> {
    guarded(|| api::gc_encode_command(&command_json).map(|(t, b)| vec![t, b]))
}

/// Parses one GC message body; returns a JSON array of events.
#[napi]
pub fn gc_parse_event(body: Buffer, jms_type: Option<String>) -> napi::Result<String> {
    guarded(|| api::gc_parse_event(&body, jms_type.as_deref()))
}

/// A GC client session. Created by [`open_gc_session`].
#[napi]
pub struct NativeGcSession {
    inner: Arc<GcSession>,
    pumping: AtomicBool,
}

/// Connects a GC session from a JSON configuration; resolves once a broker link is up.
#[napi(ts_return_type = "Promise<NativeGcSession>")]
pub fn open_gc_session(env: &Env, config_json: String) -> napi::Result<Object<'_>> {
    promise::spawn(env, async move {
        GcSession::open_async(&config_json)
            .await
            .map(|s| NativeGcSession {
                inner: Arc::new(s),
                pumping: AtomicBool::new(false),
            })
    })
}

#[napi]
impl NativeGcSession {
    /// Sends a command given as JSON; resolves once the broker has it.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn send_json<'env>(
        &self,
        env: &'env Env,
        command_json: String,
    ) -> napi::Result<Object<'env>> {
        let s = Arc::clone(&self.inner);
        promise::spawn(env, async move { s.send_json_async(&command_json).await })
    }

    /// Link and GC status as JSON.
    #[napi(getter)]
    pub fn state_json(&self) -> String {
        self.inner.state_json()
    }

    /// Starts delivering events to `handler(eventsJsonArray, last, error)` in
    /// batches, until `{"event":"Closed"}`. Once only.
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
                let json = pump::json_array(batch.iter().map(|e| e.json.as_str()));
                Ok(Some(Batch { json, last }))
            }
        });
        Ok(())
    }

    /// Closes the broker link; safe to call more than once.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let s = Arc::clone(&self.inner);
        promise::spawn(env, async move { s.close_async().await })
    }
}

/// A GC simulator on a broker. Created by [`start_gc_sim`].
#[napi]
pub struct NativeGcSim {
    inner: Arc<GcSim>,
}

/// Starts a GC simulator from a JSON configuration (`broker` required).
#[napi(ts_return_type = "Promise<NativeGcSim>")]
pub fn start_gc_sim(env: &Env, config_json: String) -> napi::Result<Object<'_>> {
    promise::blocking(env, move || {
        GcSim::start(&config_json).map(|s| NativeGcSim { inner: Arc::new(s) })
    })
}

#[napi]
impl NativeGcSim {
    /// Performs a control action given as JSON; returns its JSON result.
    #[napi]
    pub fn control_json(&self, action_json: String) -> napi::Result<String> {
        guarded(|| self.inner.control(&action_json))
    }

    /// Stops the simulator; rejects with kind `Closed` if already stopped.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn stop<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let s = Arc::clone(&self.inner);
        promise::blocking(env, move || s.stop())
    }
}
