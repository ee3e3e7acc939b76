//! Load generation: 1,000 agents and 100 calls per second, every call's event sequence
//! well formed as a bridge (ALL_EVENTS) sees it; and a run small enough to queue.
//! Bounded by call count, not by wall-clock assertions.

mod sim_common;

use std::collections::{BTreeMap, HashMap};

use cce::cti::codec::Message;
use cce::sim::cti::{CtiSimulator, LoadConfig, SimConfig};
use sim_common::*;

/// Checks one call's events against the inbound sequence:
/// BEGIN_CALL [CALL_QUEUED CALL_DEQUEUED] CALL_DELIVERED CALL_ESTABLISHED
/// CALL_CONNECTION_CLEARED CALL_CLEARED END_CALL.
fn well_formed(seq: &[&str]) -> bool {
    let queued = [
        "BEGIN_CALL_EVENT",
        "CALL_QUEUED_EVENT",
        "CALL_DEQUEUED_EVENT",
        "CALL_DELIVERED_EVENT",
        "CALL_ESTABLISHED_EVENT",
        "CALL_CONNECTION_CLEARED_EVENT",
        "CALL_CLEARED_EVENT",
        "END_CALL_EVENT",
    ];
    let direct: Vec<&str> = queued
        .iter()
        .copied()
        .filter(|n| !n.contains("QUEUED"))
        .collect();
    seq == queued || seq == direct.as_slice()
}

async fn run(agents: u32, cps: f64, calls: u64, talk_ms: u64) -> (usize, usize) {
    let sim = CtiSimulator::start(SimConfig {
        agents: vec![],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let o = Open::bridge(24).services(svc(&["CTI_SERVICE_ALL_EVENTS"]));
    let (mut bridge, _) = Raw::open(sim.local_addr(), &o).await;
    bridge.sync().await;
    let load = sim
        .start_load(LoadConfig {
            agents,
            calls_per_second: cps,
            calls,
            ring_ms: 0,
            talk_ms,
            ..LoadConfig::default()
        })
        .unwrap();
    // Read while the load runs so the bridge never falls behind.
    let reader = tokio::spawn(async move {
        let mut got: Vec<Message> = Vec::new();
        let mut ended = 0;
        while ended < calls {
            let m = bridge.recv().await;
            if m.name() == "END_CALL_EVENT" {
                ended += 1;
            }
            got.push(m);
        }
        got.extend(bridge.sync().await);
        got
    });
    let report = load.wait().await.unwrap();
    assert_eq!(report.offered, calls);
    assert_eq!(report.completed, calls);
    assert_eq!(report.failed, 0);
    let got = reader.await.unwrap();

    let mut per_call: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    let mut per_agent: HashMap<String, Vec<u32>> = HashMap::new();
    for m in &got {
        if m.name() == "AGENT_STATE_EVENT" {
            per_agent
                .entry(m.str("AgentID").unwrap().to_owned())
                .or_default()
                .push(m.u32("AgentState").unwrap());
        } else {
            let id = m
                .u32("ConnectionCallID")
                .expect("call event without a call ID");
            per_call.entry(id).or_default().push(m.name());
        }
    }
    assert_eq!(per_call.len() as u64, calls, "every call reported");
    let mut queued = 0;
    for (id, seq) in &per_call {
        assert!(well_formed(seq), "call {id}: {seq:?}");
        queued += usize::from(seq.len() == 8);
    }
    // Each agent (added available) cycles RESERVED -> TALKING -> AVAILABLE.
    let (avail, reserved, talking) = (
        st("AGENT_STATE_AVAILABLE"),
        st("AGENT_STATE_RESERVED"),
        st("AGENT_STATE_TALKING"),
    );
    for (agent, states) in &per_agent {
        assert_eq!(states.len() % 3, 0, "agent {agent}: {states:?}");
        for cycle in states.chunks(3) {
            assert_eq!(
                cycle,
                [reserved, talking, avail],
                "agent {agent}: {states:?}"
            );
        }
    }
    assert!(per_agent.len() <= agents as usize);
    assert!(sim.calls().is_empty());
    assert_eq!(sim.encode_errors(), 0);
    sim.stop().await;
    (per_call.len(), queued)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_agents_hundred_calls_per_second() {
    let (calls, _) = run(1000, 100.0, 300, 200).await;
    assert_eq!(calls, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn few_agents_many_calls_queue_and_drain() {
    let (calls, queued) = run(3, 300.0, 60, 20).await;
    assert_eq!(calls, 60);
    assert!(queued > 0, "calls had to wait for an agent");
}
