//! Scenario scripts: JSON lists of timed [`SimCommand`] steps.
//!
//! ```json
//! {
//!   "name": "one inbound call",
//!   "config": { "agents": [{"agent_id": "1001", "extension": "5001"}] },
//!   "steps": [
//!     {"at_ms": 0, "op": "set_agent_state", "agent_id": "1001", "state": "AGENT_STATE_AVAILABLE"},
//!     {"after_ms": 500, "op": "offer_call", "name": "c1", "ani": "5551234", "dnis": "8000"},
//!     {"after_ms": 2000, "op": "hangup", "call": "c1"}
//!   ]
//! }
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::command::SimCommand;
use super::config::SimConfig;
use super::{CtiSimulator, SimError};

/// One step: a command and when to run it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ScenarioStep {
    /// Milliseconds after the scenario start.
    #[serde(default)]
    pub at_ms: Option<u64>,
    /// Milliseconds after the previous step (default 0).
    #[serde(default)]
    pub after_ms: Option<u64>,
    /// The operation.
    #[serde(flatten)]
    pub command: SimCommand,
}

/// A script of timed steps, with the simulator configuration it expects.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// What it shows.
    #[serde(default)]
    pub description: Option<String>,
    /// Simulator settings (used by `cce sim --scenario`; ignored when running the
    /// script on a simulator that already runs).
    #[serde(default)]
    pub config: Option<SimConfig>,
    /// The steps, in order.
    pub steps: Vec<ScenarioStep>,
    /// Runs the steps this many more times (times restart from 0 each round).
    #[serde(default)]
    pub repeat: u32,
}

impl Scenario {
    /// Reads a scenario from JSON.
    pub fn from_json(text: &str) -> Result<Self, SimError> {
        serde_json::from_str(text).map_err(|e| SimError::Invalid(format!("scenario: {e}")))
    }
}

/// What a scenario run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScenarioReport {
    /// Steps run.
    pub steps_run: usize,
    /// `step N (op): error` for each step that failed (the run goes on).
    pub errors: Vec<String>,
    /// Each step's result.
    pub results: Vec<serde_json::Value>,
}

impl CtiSimulator {
    /// Runs a scenario's steps on this simulator, waiting as the steps say.
    pub async fn run_scenario(&self, sc: &Scenario) -> ScenarioReport {
        let mut report = ScenarioReport::default();
        for _round in 0..=sc.repeat {
            let start = Instant::now();
            let mut last = start;
            for (i, step) in sc.steps.iter().enumerate() {
                let when = match (step.at_ms, step.after_ms) {
                    (Some(at), _) => start + Duration::from_millis(at),
                    (None, Some(after)) => last + Duration::from_millis(after),
                    (None, None) => last,
                };
                tokio::time::sleep_until(when).await;
                last = Instant::now().max(when);
                report.steps_run += 1;
                match self.run(step.command.clone()).await {
                    Ok(v) => report.results.push(v),
                    Err(e) => {
                        report.results.push(serde_json::Value::Null);
                        report.errors.push(format!("step {i}: {e}"));
                    }
                }
            }
        }
        report
    }
}
