//! The library's failover connection (`cce::cti::connection`) against the duplex
//! simulator: killing the active side with a call in progress, and the v24 maintenance
//! handshake moving the client to the other side.

use std::time::Duration;

use cce::cti::connection::{ConnectionConfig, ConnectionEvent, CtiConnection, CtiEvent, CtiEvents};
use cce::cti::reconnect::{ReconnectPolicy, Side as ClientSide};
use cce::cti::session::SessionConfig;
use cce::cti::spec;
use cce::sim::cti::{CtiSimulator, Side, SideState, SimCall, SimConfig};

const WAIT: Duration = Duration::from_secs(10);

fn config(sim: &CtiSimulator) -> ConnectionConfig {
    let svc = |n: &str| spec::constant("CTI Service Masks", n).unwrap();
    let mut s = SessionConfig::new("interop", 24);
    s.services = svc("CTI_SERVICE_CLIENT_EVENTS")
        | svc("CTI_SERVICE_CLIENT_CONTROL")
        | svc("CTI_SERVICE_ACTIVE_STANDBY");
    s.peripheral_id = 5000;
    s.agent_id = Some("1001".into());
    let mut cfg = ConnectionConfig::new(s, sim.side_addr(Side::A).unwrap().to_string())
        .with_side_b(sim.side_addr(Side::B).unwrap().to_string());
    cfg.reconnect = ReconnectPolicy {
        expected_clients: 0,
        ..Default::default()
    }
    .scaled(0.001);
    cfg.connect_timeout = Duration::from_secs(2);
    cfg.resync_window = Duration::from_millis(500);
    cfg
}

async fn until<T>(events: &mut CtiEvents, mut pick: impl FnMut(&CtiEvent) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(ev)) => {
                if let Some(t) = pick(&ev) {
                    return t;
                }
            }
            other => panic!("expected event missing: {other:?}"),
        }
    }
}

fn connected(e: &CtiEvent) -> Option<(ClientSide, bool)> {
    match e {
        CtiEvent::Connection(ConnectionEvent::Connected {
            side, reconnected, ..
        }) => Some((*side, *reconnected)),
        _ => None,
    }
}

#[tokio::test]
async fn killing_the_active_side_keeps_the_call_in_progress() {
    let sim = CtiSimulator::start(SimConfig::duplex()).await.unwrap();
    sim.set_agent_state("1001", "AGENT_STATE_AVAILABLE", 0)
        .unwrap();
    let (conn, mut events) = CtiConnection::connect(config(&sim)).await.unwrap();
    assert_eq!(until(&mut events, connected).await, (ClientSide::A, false));
    let id = sim
        .offer_call(&SimCall {
            ani: "5551234".into(),
            ..SimCall::default()
        })
        .unwrap();
    sim.answer_call(id, None).unwrap();
    until(&mut events, |e| match e {
        CtiEvent::Message(m) if m.name() == "CALL_ESTABLISHED_EVENT" => Some(()),
        _ => None,
    })
    .await;
    assert!(conn.with_model(|m| m.call(5000, id).is_some()));

    sim.kill_side(Side::A);
    assert_eq!(until(&mut events, connected).await, (ClientSide::B, true));
    until(&mut events, |e| {
        matches!(e, CtiEvent::Connection(ConnectionEvent::Resynchronized)).then_some(())
    })
    .await;
    assert!(
        conn.with_model(|m| m.call(5000, id).is_some()),
        "the call survived the failover"
    );
    sim.hangup(id).unwrap();
    until(&mut events, |e| match e {
        CtiEvent::Message(m) if m.name() == "END_CALL_EVENT" => Some(()),
        _ => None,
    })
    .await;
    conn.close().await;
    sim.stop().await;
}

#[tokio::test]
async fn maintenance_moves_the_client_to_the_other_side() {
    let mut cfg = SimConfig::duplex();
    cfg.maintenance_timeout_ms = 3000;
    let sim = CtiSimulator::start(cfg).await.unwrap();
    let (conn, mut events) = CtiConnection::connect(config(&sim)).await.unwrap();
    assert_eq!(until(&mut events, connected).await, (ClientSide::A, false));
    let outcome = sim.maintenance(Side::A).await.unwrap();
    assert!(outcome.accepted, "{outcome:?}");
    assert_eq!(outcome.accepted_by, ["interop"]);
    assert_eq!(outcome.stopped, 1, "{outcome:?}");
    assert_eq!(sim.side_state(Side::B), SideState::Active);
    assert_eq!(conn.side(), Some(ClientSide::B));
    let q = cce::cti::codec::Message::new("QUERY_AGENT_STATE_REQ", 24).unwrap();
    let conf = conn.request(q, None).await.unwrap();
    assert_eq!(conf.name(), "QUERY_AGENT_STATE_CONF");
    conn.close().await;
    sim.stop().await;
}
