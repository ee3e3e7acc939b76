//! ECE natives: the Messaging API client, webhook server, chat web services and the
//! simulator, over `cce::api::{EceClient, EceWebhook, EceChatWs, EceSim}`.
//!
//! Every call that may touch the network returns a Promise settled from the
//! library's own runtime (the facade's futures; see [`crate::promise`]); quick calls
//! are synchronous. `ece.js` wraps these in the public API.

use super::*;

/// A JavaScript number as an entry point ID (a non-negative safe integer).
fn entry_point(id: f64) -> Result<u64, api::Error> {
    if id.is_finite() && id >= 0.0 && id.fract() == 0.0 && id <= 9_007_199_254_740_991.0 {
        Ok(id as u64)
    } else {
        Err(api::Error::invalid(format!(
            "entry point ID must be a non-negative integer, got {id}"
        )))
    }
}

/// The Messaging API client.
#[napi]
pub struct NativeEceClient {
    inner: Arc<api::EceClient>,
}

#[napi]
impl NativeEceClient {
    /// Builds a client from a JSON configuration (no network traffic yet).
    #[napi(factory)]
    pub fn create(config_json: String) -> napi::Result<Self> {
        guarded(|| api::EceClient::new(&config_json))
            .map(|c| NativeEceClient { inner: Arc::new(c) })
    }

    /// Logins made so far.
    #[napi(getter)]
    pub fn logins(&self) -> f64 {
        self.inner.logins() as f64
    }

    /// Logs in now.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn login<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let c = Arc::clone(&self.inner);
        promise::spawn(env, async move { c.login_async().await })
    }

    /// The entry point configuration as JSON.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn configuration_json<'env>(
        &self,
        env: &'env Env,
        refresh: bool,
    ) -> napi::Result<Object<'env>> {
        let c = Arc::clone(&self.inner);
        promise::spawn(
            env,
            async move { c.configuration_json_async(refresh).await },
        )
    }

    /// Starts a conversation from a JSON request; resolves to JSON `{"id", ...}`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn start_conversation_json<'env>(
        &self,
        env: &'env Env,
        request_json: String,
    ) -> napi::Result<Object<'env>> {
        let c = Arc::clone(&self.inner);
        promise::spawn(env, async move {
            c.start_conversation_json_async(&request_json).await
        })
    }

    /// Sends a customer message.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn send_message<'env>(
        &self,
        env: &'env Env,
        conversation_id: String,
        content: String,
        message_type: String,
    ) -> napi::Result<Object<'env>> {
        let c = Arc::clone(&self.inner);
        promise::spawn(env, async move {
            c.send_message_async(&conversation_id, &content, &message_type)
                .await
        })
    }

    /// Ends a conversation.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn end_conversation<'env>(
        &self,
        env: &'env Env,
        conversation_id: String,
    ) -> napi::Result<Object<'env>> {
        let c = Arc::clone(&self.inner);
        promise::spawn(env, async move {
            c.end_conversation_async(&conversation_id).await
        })
    }
}

/// The webhook server.
#[napi]
pub struct NativeEceWebhook {
    inner: Arc<api::EceWebhook>,
}

#[napi]
impl NativeEceWebhook {
    /// Starts a webhook server from a JSON configuration.
    #[napi(factory)]
    pub fn start(config_json: String) -> napi::Result<Self> {
        guarded(|| api::EceWebhook::start(&config_json))
            .map(|w| NativeEceWebhook { inner: Arc::new(w) })
    }

    /// Listening port.
    #[napi(getter)]
    pub fn port(&self) -> u32 {
        u32::from(self.inner.port())
    }

    /// Callback URL on the listening address.
    #[napi(getter)]
    pub fn url(&self) -> String {
        self.inner.url().to_owned()
    }

    /// Waits for the next event; resolves to its JSON, or null after `timeout_ms`.
    /// Rejects with kind `Closed` once stopped and drained.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn next_event<'env>(
        &self,
        env: &'env Env,
        timeout_ms: Option<f64>,
    ) -> napi::Result<Object<'env>> {
        let t = guarded(|| timeout(timeout_ms))?;
        let w = Arc::clone(&self.inner);
        promise::spawn(env, async move {
            Ok(w.next_events_async(1, t).await?.into_iter().next())
        })
    }

    /// Waits for events (at most `timeout_ms`) and takes up to `max` of those queued
    /// (the batch of everything that arrived together); resolves to the text of a
    /// JSON array of them, `[]` after the timeout. Rejects with kind `Closed` once
    /// stopped and drained.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn next_events_json<'env>(
        &self,
        env: &'env Env,
        max: u32,
        timeout_ms: Option<f64>,
    ) -> napi::Result<Object<'env>> {
        let t = guarded(|| timeout(timeout_ms))?;
        let w = Arc::clone(&self.inner);
        let max = usize::try_from(max.max(1)).unwrap_or(1);
        promise::spawn(env, async move {
            let batch = w.next_events_async(max, t).await?;
            Ok(pump::json_array(batch.iter().map(String::as_str)))
        })
    }

    /// Counters as JSON.
    #[napi]
    pub fn stats_json(&self) -> napi::Result<String> {
        guarded(|| self.inner.stats_json())
    }

    /// Stops the server.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn stop<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let w = Arc::clone(&self.inner);
        promise::blocking(env, move || w.stop())
    }
}

/// The chat web services client.
#[napi]
pub struct NativeEceChatWs {
    inner: Arc<api::EceChatWs>,
}

#[napi]
impl NativeEceChatWs {
    /// Builds a client from a JSON configuration.
    #[napi(factory)]
    pub fn create(config_json: String) -> napi::Result<Self> {
        guarded(|| api::EceChatWs::new(&config_json))
            .map(|w| NativeEceChatWs { inner: Arc::new(w) })
    }

    /// agentAvailability.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn agent_availability<'env>(
        &self,
        env: &'env Env,
        entry_point_id: f64,
    ) -> napi::Result<Object<'env>> {
        let id = guarded(|| entry_point(entry_point_id))?;
        let w = Arc::clone(&self.inner);
        promise::spawn(env, async move { w.agent_availability_async(id).await })
    }

    /// capacity.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn capacity<'env>(
        &self,
        env: &'env Env,
        entry_point_id: f64,
    ) -> napi::Result<Object<'env>> {
        let id = guarded(|| entry_point(entry_point_id))?;
        let w = Arc::clone(&self.inner);
        promise::spawn(env, async move { w.capacity_async(id).await })
    }

    /// liveSessionStatus as JSON `{"wait_time", "queue_depth"}`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn live_session_status_json<'env>(
        &self,
        env: &'env Env,
        entry_point_id: f64,
    ) -> napi::Result<Object<'env>> {
        let id = guarded(|| entry_point(entry_point_id))?;
        let w = Arc::clone(&self.inner);
        promise::spawn(env, async move {
            w.live_session_status_async(id)
                .await
                .map(|(t, d)| json!({"wait_time": t, "queue_depth": d}).to_string())
        })
    }

    /// checkEligibility as JSON `{"code", "name"}`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn check_eligibility_json<'env>(
        &self,
        env: &'env Env,
        entry_point_id: f64,
    ) -> napi::Result<Object<'env>> {
        let id = guarded(|| entry_point(entry_point_id))?;
        let w = Arc::clone(&self.inner);
        promise::spawn(env, async move {
            w.check_eligibility_async(id)
                .await
                .map(|(c, n)| json!({"code": c, "name": n}).to_string())
        })
    }

    /// chatAllowed as JSON `{"allowed", "reason"}`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn chat_allowed_json<'env>(
        &self,
        env: &'env Env,
        entry_point_id: f64,
    ) -> napi::Result<Object<'env>> {
        let id = guarded(|| entry_point(entry_point_id))?;
        let w = Arc::clone(&self.inner);
        promise::spawn(env, async move {
            w.chat_allowed_async(id)
                .await
                .map(|(a, r)| json!({"allowed": a, "reason": r}).to_string())
        })
    }

    /// Submits a survey given as JSON.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn submit_survey_json<'env>(
        &self,
        env: &'env Env,
        survey_json: String,
    ) -> napi::Result<Object<'env>> {
        let w = Arc::clone(&self.inner);
        promise::spawn(env, async move {
            w.submit_survey_json_async(&survey_json).await
        })
    }
}

/// The ECE simulator.
#[napi]
pub struct NativeEceSim {
    inner: Arc<api::EceSim>,
}

#[napi]
impl NativeEceSim {
    /// Starts a simulator from a JSON configuration.
    #[napi(factory)]
    pub fn start(config_json: String) -> napi::Result<Self> {
        guarded(|| api::EceSim::start(&config_json)).map(|s| NativeEceSim { inner: Arc::new(s) })
    }

    /// `http://127.0.0.1:PORT`.
    #[napi(getter)]
    pub fn server_url(&self) -> String {
        self.inner.server_url().to_owned()
    }

    /// Chat web services base URL.
    #[napi(getter)]
    pub fn chat_base_url(&self) -> String {
        self.inner.chat_base_url().to_owned()
    }

    /// Listening port.
    #[napi(getter)]
    pub fn port(&self) -> u32 {
        u32::from(self.inner.port())
    }

    /// Runs a JSON command; resolves to its JSON answer.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn control<'env>(
        &self,
        env: &'env Env,
        command_json: String,
    ) -> napi::Result<Object<'env>> {
        let s = Arc::clone(&self.inner);
        promise::blocking(env, move || s.control(&command_json))
    }

    /// Stops the simulator.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn stop<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let s = Arc::clone(&self.inner);
        promise::blocking(env, move || s.stop())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_points_are_safe_integers() {
        assert_eq!(entry_point(1001.0).ok(), Some(1001));
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, 1e17] {
            assert!(entry_point(bad).is_err(), "{bad}");
        }
    }
}
