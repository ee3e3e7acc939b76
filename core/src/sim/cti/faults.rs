//! Request fault injection: answer chosen requests with a failure, late, never, or
//! with a broken frame.

use serde::Deserialize;

use crate::cti::spec;

use super::consts::ConstRef;
use super::{Side, SimError};

/// What to do with a request a fault rule matches.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Answer FAILURE_CONF with this status (name or number) instead of processing.
    FailureConf {
        /// Status Codes value.
        status: ConstRef,
    },
    /// Answer CONTROL_FAILURE_CONF instead of processing.
    ControlFailure {
        /// ControlFailureCode Values value.
        failure_code: ConstRef,
        /// PeripheralErrorCode.
        #[serde(default)]
        peripheral_error: u32,
    },
    /// Process the request but send its confirmation this many milliseconds late.
    Delay {
        /// Delay in milliseconds.
        delay_ms: u64,
    },
    /// Process the request but send no confirmation.
    Drop,
    /// Neither process nor answer the request.
    Ignore,
    /// Close the connection instead of answering.
    Close,
    /// Answer with a malformed frame (the confirmation's type with a 3-byte body).
    Malformed,
}

/// A fault rule: `action` for the next `times` requests called `request`
/// (`"*"`: any request), optionally only on one side.
///
/// JSON: `{"request":"MAKE_CALL_REQ","times":1,"action":"control_failure",
/// "failure_code":"CF_RESOURCE_BUSY","peripheral_error":42}`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct RequestFault {
    /// Request message name, e.g. `HOLD_CALL_REQ`, or `*`.
    pub request: String,
    /// How many matching requests it applies to (absent: all of them).
    #[serde(default)]
    pub times: Option<u32>,
    /// Only requests arriving on this side.
    #[serde(default)]
    pub side: Option<Side>,
    /// What to do.
    #[serde(flatten)]
    pub action: FaultAction,
}

impl RequestFault {
    /// A rule for every `request` (use the builder methods to narrow it).
    pub fn new(request: impl Into<String>, action: FaultAction) -> Self {
        RequestFault {
            request: request.into(),
            times: None,
            side: None,
            action,
        }
    }

    /// Applies to the next `n` matching requests only.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Applies on `side` only.
    pub fn on(mut self, side: Side) -> Self {
        self.side = Some(side);
        self
    }

    /// Reads a rule from JSON.
    pub fn from_json(text: &str) -> Result<Self, SimError> {
        let f: Self = serde_json::from_str(text).map_err(|e| SimError::Invalid(e.to_string()))?;
        f.validate()?;
        Ok(f)
    }

    /// Checks the message name and constants.
    pub fn validate(&self) -> Result<(), SimError> {
        if self.request != "*" && spec::message_by_name(&self.request).is_none() {
            return Err(SimError::Invalid(format!(
                "unknown message {:?}",
                self.request
            )));
        }
        match &self.action {
            FaultAction::FailureConf { status } => {
                status.resolve(&["Status Codes"])?;
            }
            FaultAction::ControlFailure { failure_code, .. } => {
                failure_code.resolve(&[
                    "ControlFailureCode Values",
                    "Extended Control Failure Codes",
                ])?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// The active rules.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Vec<RequestFault>,
}

impl Faults {
    pub fn add(&mut self, f: RequestFault) {
        self.rules.push(f);
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The action for request `name` on `side`, consuming one use of the rule.
    pub fn take(&mut self, name: &str, side: Side) -> Option<FaultAction> {
        let i = self.rules.iter().position(|r| {
            (r.request == "*" || r.request == name) && r.side.is_none_or(|s| s == side)
        })?;
        let action = self.rules[i].action.clone();
        if let Some(n) = self.rules[i].times.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.rules.remove(i);
            }
        }
        Some(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_run_out() {
        let f = RequestFault::from_json(
            r#"{"request":"HOLD_CALL_REQ","times":1,"action":"failure_conf","status":"E_CTI_INVALID_CALLID"}"#,
        )
        .unwrap();
        let mut faults = Faults::default();
        faults.add(f);
        assert!(faults.take("MAKE_CALL_REQ", Side::A).is_none());
        assert!(matches!(
            faults.take("HOLD_CALL_REQ", Side::A),
            Some(FaultAction::FailureConf { .. })
        ));
        assert!(faults.take("HOLD_CALL_REQ", Side::A).is_none());
        assert!(RequestFault::from_json(r#"{"request":"NOPE","action":"drop"}"#).is_err());
        assert!(RequestFault::from_json(
            r#"{"request":"*","action":"failure_conf","status":"E_NOPE"}"#
        )
        .is_err());
    }
}
