//! Duplex simulator: side A and B sharing one peripheral, killing and restarting sides,
//! heartbeats per side, v24+ active/standby with the maintenance handshake, and call
//! state for clients reconnecting after a failover.

mod sim_common;

use bytes::Bytes;
use cce::cti::codec::Message;
use cce::cti::spec;
use cce::sim::cti::{CtiSimulator, Side, SideState, SimCall, SimConfig};
use sim_common::*;

fn ab(sim: &CtiSimulator) -> (std::net::SocketAddr, std::net::SocketAddr) {
    (
        sim.side_addr(Side::A).unwrap(),
        sim.side_addr(Side::B).unwrap(),
    )
}

fn standby_capable(v: u32, agent: &str) -> Open {
    let o = Open::agent(v, agent);
    let s = o.services | svc(&["CTI_SERVICE_ACTIVE_STANDBY"]);
    o.services(s)
}

fn raw(name: &str) -> Message {
    Message::raw(spec::message_by_name(name).unwrap(), Bytes::new())
}

#[tokio::test]
async fn kill_fails_over_and_restart_comes_back_as_standby() {
    let sim = CtiSimulator::start(SimConfig::duplex()).await.unwrap();
    let (a, b) = ab(&sim);
    assert_eq!(sim.side_state(Side::A), SideState::Active);
    assert_eq!(sim.side_state(Side::B), SideState::Standby);

    let (mut s, conf) = Raw::open(a, &Open::agent(15, "1001")).await;
    assert!(conf.get("SessionType").is_none(), "v15 has no SessionType");
    // A v15 client cannot use the standby side.
    let (_, refused) = Raw::open_any(b, &Open::agent(15, "1001").id("x")).await;
    assert_eq!(
        refused.u32("Status"),
        Some(status("E_CTI_CTI_SERVER_OFFLINE"))
    );

    sim.kill_side(Side::A);
    assert!(s.recv_or_closed().await.is_none(), "side A's sockets close");
    assert_eq!(sim.side_state(Side::A), SideState::Down);
    assert_eq!(sim.side_state(Side::B), SideState::Active);
    assert!(
        tokio::net::TcpStream::connect(a).await.is_err(),
        "listener closed"
    );

    let (mut s, _) = Raw::open(b, &Open::agent(15, "1001")).await;
    s.sync().await;
    let again = sim.restart_side(Side::A).await.unwrap();
    assert_eq!(again, a, "same port");
    assert_eq!(sim.side_state(Side::A), SideState::Standby);
    let (_, refused) = Raw::open_any(a, &Open::agent(15, "1001").id("y")).await;
    assert_eq!(
        refused.u32("Status"),
        Some(status("E_CTI_CTI_SERVER_OFFLINE"))
    );
    assert!(sim.restart_side(Side::A).await.is_err(), "already running");
    sim.stop().await;
}

#[tokio::test]
async fn standby_sessions_become_active_with_the_calls_in_progress() {
    let sim = CtiSimulator::start(SimConfig::duplex()).await.unwrap();
    let (a, b) = ab(&sim);
    sim.set_agent_state("1001", "AGENT_STATE_AVAILABLE", 0)
        .unwrap();
    let (mut on_a, conf) = Raw::open(a, &standby_capable(24, "1001")).await;
    assert_eq!(
        conf.u32("SessionType"),
        Some(k("SessionType", "Active") as u32)
    );
    let bridge_o = Open::bridge(24).services(svc(&[
        "CTI_SERVICE_ALL_EVENTS",
        "CTI_SERVICE_ACTIVE_STANDBY",
    ]));
    let (mut bridge_b, conf) = Raw::open(b, &bridge_o).await;
    assert_eq!(
        conf.u32("SessionType"),
        Some(k("SessionType", "Standby") as u32)
    );
    let (mut on_b, conf) = Raw::open(b, &standby_capable(24, "1001")).await;
    assert_eq!(
        conf.u32("SessionType"),
        Some(k("SessionType", "Standby") as u32)
    );
    assert_eq!(sim.session_count_on(Side::B), 2);

    // A standby session answers heartbeats only.
    on_b.sync().await;
    let (_, r) = on_b.request(on_b.req("QUERY_AGENT_STATE_REQ")).await;
    assert_eq!(r.u32("Status"), Some(status("E_CTI_SERVER_NOT_MASTER")));

    let id = sim
        .offer_call(&SimCall {
            ani: "5551234".into(),
            ..SimCall::default()
        })
        .unwrap();
    sim.answer_call(id, None).unwrap();
    assert!(
        on_b.sync().await.is_empty(),
        "standby sessions get no events"
    );
    assert_eq!(names(&on_a.sync().await).len(), 5);

    sim.kill_side(Side::A);
    assert!(on_a.recv_or_closed().await.is_none());
    let got = on_b.sync().await;
    assert_eq!(
        names(&got),
        [
            "STANDBY_ACTIVE_EVENT_MSG",
            "BEGIN_CALL_EVENT",
            "CALL_ESTABLISHED_EVENT",
            "CALL_ESTABLISHED_EVENT"
        ]
    );
    assert_eq!(got[1].u32("ConnectionCallID"), Some(id));
    let cause = k("EventCause Values", "CEC_CALL_PARTY_UPDATE_IND") as u32;
    assert!(got[2..].iter().all(|m| m.u32("EventCause") == Some(cause)));
    let got = bridge_b.sync().await;
    assert_eq!(
        names(&got)[..2],
        ["STANDBY_ACTIVE_EVENT_MSG", "BEGIN_CALL_EVENT"]
    );
    // Now requests work on B.
    let (_, r) = on_b.request(on_b.req("QUERY_AGENT_STATE_REQ")).await;
    assert_eq!(r.u32("AgentState"), Some(st("AGENT_STATE_TALKING")));
    sim.stop().await;
}

#[tokio::test]
async fn reconnecting_clients_get_begin_call_for_calls_in_progress() {
    for v in [15, 24] {
        let sim = CtiSimulator::start(SimConfig::duplex()).await.unwrap();
        let (a, b) = ab(&sim);
        let (mut s, _) = Raw::open(a, &Open::agent(v, "1001")).await;
        sim.set_agent_state("1001", "AGENT_STATE_AVAILABLE", 0)
            .unwrap();
        let id = sim
            .offer_call(&SimCall {
                ani: "5551234".into(),
                call_variables: vec!["v1".into()],
                ..SimCall::default()
            })
            .unwrap();
        sim.answer_call(id, None).unwrap();
        s.sync().await;
        // Side A hangs: heartbeats go unanswered while TCP stays up.
        sim.set_answer_heartbeats_on(Side::A, false);
        let hb = s.req("HEARTBEAT_REQ");
        s.send(hb).await;
        let (_, q) = s.request(s.req("QUERY_AGENT_STATE_REQ")).await;
        assert_eq!(
            q.name(),
            "QUERY_AGENT_STATE_CONF",
            "answered before any HEARTBEAT_CONF"
        );
        assert_eq!(sim.unanswered_heartbeats(), 1);
        // The PG fails over to B; the same client reconnects there.
        sim.switch_active(Side::B).unwrap();
        let (mut s2, conf) = Raw::open(b, &Open::agent(v, "1001")).await;
        assert_eq!(conf.u32("AgentState"), Some(st("AGENT_STATE_TALKING")));
        let got = s2.sync().await;
        assert_eq!(
            names(&got),
            [
                "BEGIN_CALL_EVENT",
                "CALL_ESTABLISHED_EVENT",
                "CALL_ESTABLISHED_EVENT"
            ],
            "v{v}"
        );
        assert_eq!(got[0].u32("ConnectionCallID"), Some(id));
        assert_eq!(got[0].str("CallVariable1"), Some("v1"));
        // The old session on the hung side stays open, unanswered (the client's
        // heartbeat timer is what ends it).
        assert_eq!(sim.session_count_on(Side::A), 1);
        sim.hangup(id).unwrap();
        assert_eq!(names(&s2.sync().await).last(), Some(&"AGENT_STATE_EVENT"));
        sim.stop().await;
    }
}

#[tokio::test]
async fn heartbeats_per_side() {
    let sim = CtiSimulator::start(SimConfig::duplex()).await.unwrap();
    let (a, b) = ab(&sim);
    sim.set_answer_heartbeats_on(Side::B, false);
    let (mut on_a, _) = Raw::open(a, &standby_capable(24, "1001")).await;
    let (mut on_b, _) = Raw::open(b, &standby_capable(24, "1001")).await;
    on_a.sync().await;
    on_b.send(on_b.req("HEARTBEAT_REQ")).await;
    on_b.send(on_b.req("HEARTBEAT_REQ")).await;
    let (_, r) = on_b.request(on_b.req("QUERY_AGENT_STATE_REQ")).await;
    assert_eq!(r.name(), "FAILURE_CONF");
    assert_eq!(sim.unanswered_heartbeats(), 2);
    sim.set_answer_heartbeats_on(Side::B, true);
    on_b.sync().await;
    sim.stop().await;
}

async fn maintenance_world() -> (CtiSimulator, Raw, Raw) {
    let mut cfg = SimConfig::duplex();
    cfg.maintenance_timeout_ms = 1000;
    let sim = CtiSimulator::start(cfg).await.unwrap();
    let (a, b) = ab(&sim);
    let (on_a, _) = Raw::open(a, &standby_capable(24, "1001")).await;
    let (on_b, _) = Raw::open(b, &standby_capable(24, "1001")).await;
    (sim, on_a, on_b)
}

#[tokio::test]
async fn maintenance_handshake_accepted() {
    let (sim, mut on_a, mut on_b) = maintenance_world().await;
    let (a, _) = ab(&sim);
    // A v15 client on side A cannot take part: it is closed when A goes down.
    let (mut legacy, _) = Raw::open(
        a,
        &Open::bridge(15).services(svc(&["CTI_SERVICE_ALL_EVENTS"])),
    )
    .await;
    let client = async {
        let req = on_a.recv().await;
        assert_eq!(req.name(), "ACTIVE_MAINTENANCE_REQ_MSG");
        let mut resp = on_a.req("ACTIVE_MAINTENANCE_RESP_MSG");
        resp.set_int("MaintenanceModeAccepted", 1).unwrap();
        resp.set_int("InvokeID", req.u32("InvokeID").unwrap().into())
            .unwrap();
        let b = cce::cti::codec::encode(&resp, 24).unwrap();
        on_a.send_bytes(&b).await;
        let ev = on_a.recv().await;
        assert_eq!(ev.name(), "ACTIVE_MAINTENANCE_EVENT_MSG");
        assert_eq!(ev.u32("MaintenanceModeStatus"), Some(1));
        // Side B announces it is active; then stop using side A.
        assert_eq!(on_b.recv().await.name(), "STANDBY_ACTIVE_EVENT_MSG");
        on_a.send(raw("STOPPING_REQUESTS_TO_THIS_SIDE_IND")).await;
        assert!(
            on_a.recv_or_closed().await.is_none(),
            "side A closes the socket"
        );
    };
    let (outcome, ()) = tokio::join!(sim.maintenance(Side::A), client);
    let outcome = outcome.unwrap();
    assert!(outcome.accepted);
    assert_eq!(outcome.accepted_by, ["desk-1001"]);
    assert_eq!(outcome.stopped, 1);
    assert_eq!(outcome.forced, 1);
    let got = legacy.until("FAILURE_EVENT").await;
    let ev = got.last().unwrap();
    assert_eq!(
        ev.u32("Status"),
        Some(status("E_CTI_SERVER_IN_MAINTENANCE_MODE"))
    );
    assert_eq!(sim.side_state(Side::A), SideState::Maintenance);
    assert_eq!(sim.side_state(Side::B), SideState::Active);
    let (_, refused) = Raw::open_any(a, &Open::agent(24, "1001").id("late")).await;
    assert_eq!(
        refused.u32("Status"),
        Some(status("E_CTI_SERVER_IN_MAINTENANCE_MODE"))
    );
    // B serves requests now.
    let (_, r) = on_b.request(on_b.req("QUERY_AGENT_STATE_REQ")).await;
    assert_eq!(r.name(), "QUERY_AGENT_STATE_CONF");
    sim.end_maintenance(Side::A).unwrap();
    assert_eq!(sim.side_state(Side::A), SideState::Standby);
    sim.stop().await;
}

#[tokio::test]
async fn maintenance_handshake_rejected_or_unanswered() {
    let (sim, mut on_a, _on_b) = maintenance_world().await;
    let client = async {
        let req = on_a.recv().await;
        let mut resp = on_a.req("ACTIVE_MAINTENANCE_RESP_MSG");
        resp.set_int("MaintenanceModeAccepted", 0).unwrap();
        resp.set_int("InvokeID", req.u32("InvokeID").unwrap().into())
            .unwrap();
        on_a.send_bytes(&cce::cti::codec::encode(&resp, 24).unwrap())
            .await;
        let ev = on_a.recv().await;
        assert_eq!(ev.u32("MaintenanceModeStatus"), Some(0));
    };
    let (outcome, ()) = tokio::join!(sim.maintenance(Side::A), client);
    let outcome = outcome.unwrap();
    assert!(!outcome.accepted);
    assert_eq!(outcome.rejected_by, ["desk-1001"]);
    assert_eq!(sim.side_state(Side::A), SideState::Active);
    on_a.sync().await;

    // No answer counts as a rejection (after maintenance_timeout_ms).
    let outcome = sim.maintenance(Side::A).await.unwrap();
    assert!(!outcome.accepted);
    assert_eq!(outcome.no_answer, ["desk-1001"]);
    let got = on_a.sync().await;
    assert_eq!(
        names(&got),
        ["ACTIVE_MAINTENANCE_REQ_MSG", "ACTIVE_MAINTENANCE_EVENT_MSG"]
    );
    assert!(sim.maintenance(Side::B).await.is_err(), "B is not active");
    sim.stop().await;
}
