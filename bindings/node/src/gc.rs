//! `NativeGcSession`, `NativeGcSim` and the GC codec functions (Generic Connector over
//! ActiveMQ). Calls that may wait on the broker return Promises.

use super::*;

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
}

/// One GC event as the pump in `gc.js` receives it.
#[napi(object)]
pub struct NativeGcEvent {
    /// The event as JSON.
    pub json: String,
    /// True for `{"event":"Closed"}`, the last event.
    pub last: bool,
}

/// Background job of [`open_gc_session`].
pub struct GcOpenTask {
    config_json: String,
}

impl Task for GcOpenTask {
    type Output = GcSession;
    type JsValue = NativeGcSession;

    fn compute(&mut self) -> napi::Result<GcSession> {
        guarded(|| GcSession::open(&self.config_json))
    }

    fn resolve(&mut self, _env: Env, output: GcSession) -> napi::Result<NativeGcSession> {
        Ok(NativeGcSession {
            inner: Arc::new(output),
        })
    }
}

/// Connects a GC session from a JSON configuration; resolves once a broker link is up.
#[napi(ts_return_type = "Promise<NativeGcSession>")]
pub fn open_gc_session(config_json: String) -> AsyncTask<GcOpenTask> {
    AsyncTask::new(GcOpenTask { config_json })
}

/// Background job of [`NativeGcSession::send_json`] and [`NativeGcSession::close`].
pub struct GcSessionTask {
    session: Arc<GcSession>,
    command_json: Option<String>,
}

impl Task for GcSessionTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<()> {
        guarded(|| match &self.command_json {
            Some(c) => self.session.send_json(c),
            None => self.session.close(),
        })
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> napi::Result<()> {
        Ok(())
    }
}

#[napi]
impl NativeGcSession {
    /// Sends a command given as JSON; resolves once the broker has it.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn send_json(&self, command_json: String) -> AsyncTask<GcSessionTask> {
        AsyncTask::new(GcSessionTask {
            session: Arc::clone(&self.inner),
            command_json: Some(command_json),
        })
    }

    /// Link and GC status as JSON.
    #[napi(getter)]
    pub fn state_json(&self) -> String {
        self.inner.state_json()
    }

    /// Waits for the next event; resolves to null when `timeout_ms` passes first.
    /// Runs on the library's blocking pool, like `NativeSession::next_event`.
    #[napi(ts_return_type = "Promise<NativeGcEvent | null>")]
    pub fn next_event(&self, env: Env, timeout_ms: Option<f64>) -> napi::Result<JsObject> {
        let timeout = guarded(|| timeout(timeout_ms))?;
        let rt = guarded(runtime)?;
        let (deferred, promise) = env.create_deferred()?;
        let session = Arc::clone(&self.inner);
        rt.spawn_blocking(move || match guarded(|| session.next_event(timeout)) {
            Ok(out) => deferred.resolve(move |_env| {
                Ok(out.map(|e| NativeGcEvent {
                    json: e.json,
                    last: e.last,
                }))
            }),
            Err(e) => deferred.reject(e),
        });
        Ok(promise)
    }

    /// Closes the broker link; safe to call more than once.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self) -> AsyncTask<GcSessionTask> {
        AsyncTask::new(GcSessionTask {
            session: Arc::clone(&self.inner),
            command_json: None,
        })
    }
}

/// A GC simulator on a broker. Created by [`start_gc_sim`].
#[napi]
pub struct NativeGcSim {
    inner: Arc<GcSim>,
}

/// Background job of [`start_gc_sim`].
pub struct GcSimStartTask {
    config_json: String,
}

impl Task for GcSimStartTask {
    type Output = GcSim;
    type JsValue = NativeGcSim;

    fn compute(&mut self) -> napi::Result<GcSim> {
        guarded(|| GcSim::start(&self.config_json))
    }

    fn resolve(&mut self, _env: Env, output: GcSim) -> napi::Result<NativeGcSim> {
        Ok(NativeGcSim {
            inner: Arc::new(output),
        })
    }
}

/// Starts a GC simulator from a JSON configuration (`broker` required).
#[napi(ts_return_type = "Promise<NativeGcSim>")]
pub fn start_gc_sim(config_json: String) -> AsyncTask<GcSimStartTask> {
    AsyncTask::new(GcSimStartTask { config_json })
}

/// Background job of [`NativeGcSim::stop`].
pub struct GcSimStopTask {
    sim: Arc<GcSim>,
}

impl Task for GcSimStopTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<()> {
        guarded(|| self.sim.stop())
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> napi::Result<()> {
        Ok(())
    }
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
    pub fn stop(&self) -> AsyncTask<GcSimStopTask> {
        AsyncTask::new(GcSimStopTask {
            sim: Arc::clone(&self.inner),
        })
    }
}
