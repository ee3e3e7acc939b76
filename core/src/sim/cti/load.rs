//! Load generation: N agents in a skill group and M inbound calls per second, each
//! answered after a ring time and released after a talk time.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::config::{SimAgent, SimCall};
use super::server::{lock, Engine};
use super::with_engine;
use super::{CtiSimulator, SimError};

/// Load settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadConfig {
    /// Agents to add (available, in `skill_group`).
    pub agents: u32,
    /// Calls offered per second.
    pub calls_per_second: f64,
    /// Calls to offer in total (0: until the simulator stops).
    pub calls: u64,
    /// Ring time before the agent answers.
    pub ring_ms: u64,
    /// Talk time before the caller hangs up.
    pub talk_ms: u64,
    /// Skill group number of the load agents and calls.
    pub skill_group: u32,
    /// AgentID of the first load agent (the others count up).
    pub first_agent_id: u32,
    /// Extension of the first load agent (the others count up).
    pub first_extension: u32,
    /// DNIS of the calls.
    pub dnis: String,
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            agents: 100,
            calls_per_second: 10.0,
            calls: 100,
            ring_ms: 0,
            talk_ms: 1000,
            skill_group: 900,
            first_agent_id: 100_000,
            first_extension: 200_000,
            dnis: "8000".into(),
        }
    }
}

impl LoadConfig {
    /// Reads settings from JSON.
    pub fn from_json(text: &str) -> Result<Self, SimError> {
        serde_json::from_str(text).map_err(|e| SimError::Invalid(e.to_string()))
    }
}

/// What a load run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LoadReport {
    /// Calls offered.
    pub offered: u64,
    /// Calls that ended.
    pub completed: u64,
    /// Calls that could not be offered.
    pub failed: u64,
    /// Most calls waiting in the queue at once.
    pub max_queued: usize,
    /// Wall time of the run in milliseconds.
    pub elapsed_ms: u64,
}

/// A running load generator.
pub struct LoadHandle {
    task: JoinHandle<Result<LoadReport, SimError>>,
}

impl LoadHandle {
    /// Waits until every call was offered and has ended.
    pub async fn wait(self) -> Result<LoadReport, SimError> {
        self.task
            .await
            .map_err(|e| SimError::Invalid(format!("load task failed: {e}")))?
    }

    /// Stops offering calls (calls in progress go on).
    pub fn abort(&self) {
        self.task.abort();
    }
}

impl CtiSimulator {
    /// Adds the load agents and starts offering calls in the background.
    pub fn start_load(&self, cfg: LoadConfig) -> Result<LoadHandle, SimError> {
        if !(cfg.calls_per_second > 0.0 && cfg.calls_per_second.is_finite()) {
            return Err(SimError::Invalid(
                "calls_per_second must be positive".into(),
            ));
        }
        for i in 0..cfg.agents {
            let mut a = SimAgent::new(
                (cfg.first_agent_id + i).to_string(),
                (cfg.first_extension + i).to_string(),
            );
            a.skill_groups = vec![cfg.skill_group];
            a.state = Some("AGENT_STATE_AVAILABLE".into());
            self.add_agent(a)?;
        }
        let engine = self.engine.clone();
        let rt = lock(&engine).rt.clone();
        let task = rt.spawn(async move { run_load(&engine, &cfg).await });
        Ok(LoadHandle { task })
    }
}

async fn run_load(engine: &Engine, cfg: &LoadConfig) -> Result<LoadReport, SimError> {
    let notify = lock(engine).notify.clone();
    let start = Instant::now();
    let gap = Duration::from_secs_f64(1.0 / cfg.calls_per_second);
    let mut report = LoadReport::default();
    let mut ids = Vec::new();
    let mut i: u64 = 0;
    while cfg.calls == 0 || i < cfg.calls {
        tokio::time::sleep_until(start + gap.mul_f64(i as f64)).await;
        let call = SimCall {
            ani: format!("555{:07}", i % 10_000_000),
            dnis: cfg.dnis.clone(),
            skill_group: Some(cfg.skill_group),
            answer_after_ms: Some(cfg.ring_ms),
            talk_ms: Some(cfg.talk_ms),
            call_variables: vec![format!("load-{i}")],
            ..SimCall::default()
        };
        match with_engine(engine, |sh, fx| sh.model.offer(&call, fx)) {
            Ok(id) => {
                report.offered += 1;
                ids.push(id);
            }
            Err(SimError::Stopped) => break,
            Err(_) => report.failed += 1,
        }
        let queued = {
            let sh = lock(engine);
            sh.model
                .groups
                .iter()
                .find(|g| g.number == cfg.skill_group)
                .map_or(0, |g| g.queue.len())
        };
        report.max_queued = report.max_queued.max(queued);
        i += 1;
    }
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (left, stopped) = {
            let sh = lock(engine);
            (
                ids.iter()
                    .filter(|id| sh.model.calls.contains_key(id))
                    .count(),
                sh.stopped,
            )
        };
        report.completed = ids.len() as u64 - left as u64;
        if left == 0 || stopped {
            break;
        }
        // Calls end through timers; wake on every change, and at least every second.
        let _ = tokio::time::timeout(Duration::from_secs(1), notified).await;
    }
    report.elapsed_ms = start.elapsed().as_millis() as u64;
    Ok(report)
}
