//! The live model at bridge scale: 10,000 agents with calls, through a failover resync.

use cce::cti::codec::Message;
use cce::cti::model::{CallKey, Change, Model};
use cce::cti::spec;

fn agent_event(i: u32, state: &str) -> Message {
    let mut m = Message::new("AGENT_STATE_EVENT", 24).unwrap();
    m.set_int("PeripheralID", 5000)
        .unwrap()
        .set_int(
            "AgentState",
            spec::constant("AgentState Values", state).unwrap().into(),
        )
        .unwrap()
        .set_int("SkillGroupNumber", i64::from(i % 50))
        .unwrap()
        .set_str("AgentID", &format!("{}", 100_000 + i))
        .unwrap()
        .set_str("AgentExtension", &format!("{}", 200_000 + i))
        .unwrap();
    m
}

fn call_event(name: &str, call: u32, device: u32) -> Message {
    let mut m = Message::new(name, 24).unwrap();
    m.set_int("PeripheralID", 5000)
        .unwrap()
        .set_int("ConnectionCallID", call.into())
        .unwrap()
        .set_str("ConnectionDeviceID", &format!("{}", 200_000 + device))
        .unwrap();
    if name == "BEGIN_CALL_EVENT" {
        m.set_str("ANI", &format!("555{call:07}")).unwrap();
    }
    m
}

#[test]
fn ten_thousand_agents_stay_consistent_across_a_resync() {
    const AGENTS: u32 = 10_000;
    let mut model = Model::new();
    for i in 0..AGENTS {
        model.apply(&agent_event(i, "AGENT_STATE_AVAILABLE"));
    }
    // Every other agent takes a call.
    for i in (0..AGENTS).step_by(2) {
        model.apply(&call_event("BEGIN_CALL_EVENT", i + 1, i));
        model.apply(&call_event("CALL_ESTABLISHED_EVENT", i + 1, i));
        model.apply(&agent_event(i, "AGENT_STATE_TALKING"));
    }
    assert_eq!(model.agents().len(), AGENTS as usize);
    assert_eq!(model.calls().len(), (AGENTS / 2) as usize);

    // Link lost. While it was down, calls of agents divisible by 4 ended; after the
    // reconnect the server re-announces the others and reports every agent's state.
    model.begin_resync();
    for i in (0..AGENTS).step_by(2) {
        if i % 4 != 0 {
            model.apply(&call_event("BEGIN_CALL_EVENT", i + 1, i));
            model.apply(&agent_event(i, "AGENT_STATE_TALKING"));
        } else {
            model.apply(&agent_event(i, "AGENT_STATE_AVAILABLE"));
        }
    }
    let removed = model.end_resync();
    assert_eq!(removed.len(), (AGENTS / 4) as usize);
    assert!(removed.iter().all(
        |c| matches!(c, Change::CallRemoved(CallKey { call_id, .. }) if (call_id - 1) % 4 == 0)
    ));

    // Consistency: every remaining call belongs to a talking agent and vice versa.
    let calls = model.calls();
    assert_eq!(calls.len(), (AGENTS / 4) as usize);
    for c in &calls {
        let device = c.parties.keys().next().unwrap();
        let agent_idx: u32 = device.parse::<u32>().unwrap() - 200_000;
        let a = model
            .agent(5000, &format!("{}", 100_000 + agent_idx))
            .unwrap();
        assert_eq!(a.state_name, Some("AGENT_STATE_TALKING"));
        assert_eq!(
            c.ani.as_deref(),
            Some(format!("555{:07}", c.key.call_id).as_str())
        );
    }
    let talking = model
        .agents()
        .iter()
        .filter(|a| a.state_name == Some("AGENT_STATE_TALKING"))
        .count();
    assert_eq!(talking, calls.len());
    assert_eq!(model.skill_groups().len(), 50);
}
