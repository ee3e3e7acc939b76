//! Catalogue lookups the simulator uses: constants by name, event mask bits.

use serde::Deserialize;

use crate::cti::spec;

use super::SimError;

/// Value of constant `name` in `table` (0 and a log line when the catalogue lacks it,
/// which the unit tests rule out for every name the simulator uses).
pub(crate) fn k(table: &str, name: &str) -> u32 {
    spec::constant(table, name).unwrap_or_else(|| {
        tracing::error!(
            table,
            name,
            "simulator: constant missing from the catalogue"
        );
        0
    })
}

/// A status code by name.
pub(crate) fn status(name: &str) -> u32 {
    k("Status Codes", name)
}

/// An AgentState value by name.
pub(crate) fn state(name: &str) -> u16 {
    u16::try_from(k("AgentState Values", name)).unwrap_or(0)
}

/// The name of an AgentState value.
pub(crate) fn state_name(v: u16) -> &'static str {
    spec::table("AgentState Values")
        .and_then(|t| t.name_of(u32::from(v)))
        .unwrap_or("AGENT_STATE_UNKNOWN")
}

/// A CTI Service Masks bit by name.
pub(crate) fn svc(name: &str) -> u32 {
    k("CTI Service Masks", name)
}

/// The CallMsgMask bit that selects event `name` (e.g. CALL_DELIVERED_EVENT ->
/// CALL_DELIVERED_MASK), if the mask table has one.
pub(crate) fn call_mask_bit(name: &str) -> Option<u32> {
    let base = name.strip_suffix("_EVENT")?;
    spec::constant(
        "Unsolicited Call Event Message Masks",
        &format!("{base}_MASK"),
    )
}

/// The AgentStateMask bit for AgentState `v` (AGENT_STATE_TALKING -> AGENT_TALKING_MASK).
pub(crate) fn agent_mask_bit(v: u16) -> Option<u32> {
    let name = spec::table("AgentState Values")?.name_of(u32::from(v))?;
    let base = name.strip_prefix("AGENT_STATE_")?;
    spec::constant("Agent State Masks", &format!("AGENT_{base}_MASK"))
}

/// A constant given as a number or by name (`"E_CTI_INVALID_CALLID"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ConstRef {
    /// A numeric value.
    Num(u32),
    /// A constant name from the relevant table.
    Name(String),
}

impl ConstRef {
    /// Resolves against the first of `tables` that names it.
    pub fn resolve(&self, tables: &[&str]) -> Result<u32, SimError> {
        match self {
            ConstRef::Num(n) => Ok(*n),
            ConstRef::Name(name) => tables
                .iter()
                .find_map(|t| spec::constant(t, name))
                .ok_or_else(|| {
                    SimError::Invalid(format!("unknown constant {name:?} (tables {tables:?})"))
                }),
        }
    }
}

impl From<&str> for ConstRef {
    fn from(s: &str) -> Self {
        ConstRef::Name(s.to_owned())
    }
}

impl From<u32> for ConstRef {
    fn from(n: u32) -> Self {
        ConstRef::Num(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_bits_follow_the_naming_rule() {
        assert_eq!(call_mask_bit("CALL_DELIVERED_EVENT"), Some(1));
        assert_eq!(call_mask_bit("BEGIN_CALL_EVENT"), Some(8192));
        assert_eq!(call_mask_bit("AGENT_STATE_EVENT"), None);
        assert_eq!(agent_mask_bit(state("AGENT_STATE_TALKING")), Some(16));
        assert_eq!(agent_mask_bit(state("AGENT_STATE_LOGIN")), Some(1));
    }
}
