//! Fault injection: request fault rules (FAILURE_CONF, CONTROL_FAILURE_CONF, delay,
//! drop, ignore, close, malformed), FAILURE_EVENT, closed sockets and malformed frames.

mod sim_common;

use std::time::{Duration, Instant};

use cce::sim::cti::{ConstRef, CtiSimulator, FaultAction, RequestFault, Side, SimConfig};
use sim_common::*;

async fn agent(sim: &CtiSimulator, v: u32) -> Raw {
    let (mut s, _) = Raw::open(sim.local_addr(), &Open::agent(v, "1001")).await;
    s.sync().await;
    s
}

fn set_state(r: &Raw, s: &str) -> cce::cti::codec::Message {
    r.req("SET_AGENT_STATE_REQ").i("AgentState", st(s).into())
}

#[tokio::test]
async fn failure_conf_and_control_failure_rules() {
    let sim = CtiSimulator::start(SimConfig::default()).await.unwrap();
    let mut s = agent(&sim, 24).await;
    sim.add_fault(
        RequestFault::new(
            "SET_AGENT_STATE_REQ",
            FaultAction::FailureConf {
                status: ConstRef::from("E_CTI_INVALID_AGENT_DATA"),
            },
        )
        .times(1),
    )
    .unwrap();
    let (before, r) = s.request(set_state(&s, "AGENT_STATE_AVAILABLE")).await;
    assert!(before.is_empty());
    assert_eq!(r.name(), "FAILURE_CONF");
    assert_eq!(r.u32("Status"), Some(status("E_CTI_INVALID_AGENT_DATA")));
    assert!(
        s.sync().await.is_empty(),
        "the failed request changed nothing"
    );
    assert_eq!(
        sim.agent_state("1001"),
        Some(st("AGENT_STATE_NOT_READY") as u16)
    );
    // Used up: the next one works.
    assert_eq!(
        names(&s.ok(set_state(&s, "AGENT_STATE_AVAILABLE")).await),
        ["AGENT_STATE_EVENT"]
    );

    let f = RequestFault::from_json(
        r#"{"request":"MAKE_CALL_REQ","action":"control_failure",
            "failure_code":"CF_RESOURCE_BUSY","peripheral_error":42}"#,
    )
    .unwrap();
    sim.add_fault(f).unwrap();
    for _ in 0..2 {
        let mk = s.req("MAKE_CALL_REQ").s("DialedNumber", "9001");
        let (_, r) = s.request(mk).await;
        assert_eq!(r.name(), "CONTROL_FAILURE_CONF");
        assert_eq!(
            r.u32("FailureCode"),
            Some(k("ControlFailureCode Values", "CF_RESOURCE_BUSY") as u32)
        );
        assert_eq!(r.u32("PeripheralErrorCode"), Some(42));
    }
    sim.clear_faults();
    let mk = s.req("MAKE_CALL_REQ").s("DialedNumber", "9001");
    let (_, r) = s.request(mk).await;
    assert_eq!(r.name(), "MAKE_CALL_CONF");
    assert!(sim
        .add_fault(RequestFault::new("NO_SUCH_REQ", FaultAction::Drop))
        .is_err());
    sim.stop().await;
}

#[tokio::test]
async fn drop_delay_and_ignore() {
    let sim = CtiSimulator::start(SimConfig::default()).await.unwrap();
    let mut s = agent(&sim, 15).await;
    // Drop: processed (the event comes) but never confirmed.
    sim.add_fault(RequestFault::new("SET_AGENT_STATE_REQ", FaultAction::Drop).times(1))
        .unwrap();
    s.send(set_state(&s, "AGENT_STATE_AVAILABLE")).await;
    assert_eq!(names(&s.sync().await), ["AGENT_STATE_EVENT"]);

    // Delay: the event first, the confirmation at least delay_ms later.
    sim.add_fault(
        RequestFault::new("SET_AGENT_STATE_REQ", FaultAction::Delay { delay_ms: 300 }).times(1),
    )
    .unwrap();
    let t0 = Instant::now();
    let id = s.send(set_state(&s, "AGENT_STATE_NOT_READY")).await;
    assert_eq!(names(&s.sync().await), ["AGENT_STATE_EVENT"]);
    let conf = s.recv().await;
    assert_eq!(conf.name(), "SET_AGENT_STATE_CONF");
    assert_eq!(conf.invoke_id(), Some(id));
    assert!(t0.elapsed() >= Duration::from_millis(300));

    // Ignore: neither processed nor answered.
    sim.add_fault(RequestFault::new("SET_AGENT_STATE_REQ", FaultAction::Ignore).times(1))
        .unwrap();
    s.send(set_state(&s, "AGENT_STATE_AVAILABLE")).await;
    assert!(s.sync().await.is_empty());
    assert_eq!(
        sim.agent_state("1001"),
        Some(st("AGENT_STATE_NOT_READY") as u16)
    );

    // Heartbeats can be dropped too.
    sim.add_fault(RequestFault::new("HEARTBEAT_REQ", FaultAction::Drop).times(1))
        .unwrap();
    s.send(s.req("HEARTBEAT_REQ")).await;
    s.sync().await;
    assert_eq!(sim.unanswered_heartbeats(), 1);
    sim.stop().await;
}

#[tokio::test]
async fn close_and_malformed_replies() {
    let sim = CtiSimulator::start(SimConfig::default()).await.unwrap();
    let mut s = agent(&sim, 24).await;
    sim.add_fault(RequestFault::new("QUERY_AGENT_STATE_REQ", FaultAction::Malformed).times(1))
        .unwrap();
    s.send(s.req("QUERY_AGENT_STATE_REQ")).await;
    let f = s.recv_frame().await.unwrap();
    assert_eq!(f.msg_type, 37, "QUERY_AGENT_STATE_CONF type");
    assert_eq!(f.body.len(), 3);
    s.sync().await;

    sim.add_fault(RequestFault::new("*", FaultAction::Close).times(1))
        .unwrap();
    s.send(s.req("QUERY_AGENT_STATE_REQ")).await;
    assert!(s.recv_or_closed().await.is_none());

    // OPEN_REQ can be refused on purpose.
    sim.add_fault(
        RequestFault::new(
            "OPEN_REQ",
            FaultAction::FailureConf {
                status: ConstRef::from("E_CTI_CTI_SERVER_OFFLINE"),
            },
        )
        .times(1),
    )
    .unwrap();
    let (_, r) = Raw::open_any(sim.local_addr(), &Open::agent(24, "1001")).await;
    assert_eq!(r.u32("Status"), Some(status("E_CTI_CTI_SERVER_OFFLINE")));
    agent(&sim, 24).await;
    sim.stop().await;
}

#[tokio::test]
async fn failure_event_close_and_malformed_frames_on_demand() {
    let sim = CtiSimulator::start(SimConfig::duplex()).await.unwrap();
    let mut s = agent(&sim, 24).await;
    sim.send_failure_event(&ConstRef::from("E_CTI_CTI_SERVER_OFFLINE"), None)
        .unwrap();
    let ev = s.recv().await;
    assert_eq!(ev.name(), "FAILURE_EVENT");
    assert_eq!(ev.u32("Status"), Some(status("E_CTI_CTI_SERVER_OFFLINE")));
    assert!(sim
        .send_failure_event(&ConstRef::from("E_NOPE"), None)
        .is_err());

    sim.send_malformed(Some(Side::A));
    let f = s.recv_frame().await.unwrap();
    assert_eq!(f.msg_type, 24);
    assert_eq!(f.body.len(), 3);

    // Side-specific rules apply to that side only.
    sim.add_fault(RequestFault::new("QUERY_AGENT_STATE_REQ", FaultAction::Drop).on(Side::B))
        .unwrap();
    let (_, r) = s.request(s.req("QUERY_AGENT_STATE_REQ")).await;
    assert_eq!(r.name(), "QUERY_AGENT_STATE_CONF");

    sim.close_sessions(None);
    assert!(s.recv_or_closed().await.is_none());
    assert_eq!(sim.encode_errors(), 0);
    sim.stop().await;
}
