//! Failover connection against simulators: side A/B failover with the model kept,
//! heartbeat loss, requests while disconnected, typed helpers and typed errors.

use std::time::Duration;

use cce::cti::codec::{encode, Message};
use cce::cti::connection::{ConnectionConfig, ConnectionEvent, CtiConnection, CtiEvent, CtiEvents};
use cce::cti::model::{CallKey, Change};
use cce::cti::reconnect::{ReconnectPolicy, Side};
use cce::cti::session::{CloseReason, RequestError, SessionConfig};
use cce::cti::spec;
use cce::cti::typed::{AgentState, ConstValue, QueryAgentStateReq, SetAgentStateReq};
use cce::sim::cti::{CtiSimulator, SimConfig};

mod sim_common;

const WAIT: Duration = Duration::from_secs(10);

fn agent_cfg(version: u32) -> SessionConfig {
    let mut cfg = SessionConfig::new("failover-test", version);
    cfg.services = spec::constant("CTI Service Masks", "CTI_SERVICE_CLIENT_EVENTS").unwrap()
        | spec::constant("CTI Service Masks", "CTI_SERVICE_CLIENT_CONTROL").unwrap();
    cfg.peripheral_id = 5000;
    cfg.agent_id = Some("1001".into());
    cfg
}

fn fast(mut cfg: ConnectionConfig) -> ConnectionConfig {
    cfg.reconnect = ReconnectPolicy {
        expected_clients: 0,
        ..Default::default()
    }
    .scaled(0.001);
    cfg.connect_timeout = Duration::from_secs(2);
    cfg
}

/// Waits for the first event `pick` accepts, skipping the others.
async fn until<T>(events: &mut CtiEvents, mut pick: impl FnMut(&CtiEvent) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(ev)) => {
                if let Some(t) = pick(&ev) {
                    return t;
                }
            }
            Ok(None) => panic!("event stream ended"),
            Err(_) => panic!("expected event did not arrive within {WAIT:?}"),
        }
    }
}

fn begin_call(version: u32, call_id: u32) -> Vec<u8> {
    let mut m = Message::new("BEGIN_CALL_EVENT", version).unwrap();
    m.set_int("PeripheralID", 5000)
        .unwrap()
        .set_int("ConnectionCallID", call_id.into())
        .unwrap()
        .set_int("CallType", 1)
        .unwrap()
        .set_str("ConnectionDeviceID", "5001")
        .unwrap()
        .set_str("ANI", "5551234")
        .unwrap();
    encode(&m, version).unwrap().to_vec()
}

fn key(call_id: u32) -> CallKey {
    CallKey {
        peripheral_id: 5000,
        call_id,
    }
}

#[tokio::test]
async fn killing_side_a_moves_to_side_b_and_keeps_the_calls_in_progress() {
    let sim_a = CtiSimulator::start(SimConfig::default()).await.unwrap();
    let sim_b = CtiSimulator::start(SimConfig::default()).await.unwrap();
    let mut cfg = fast(
        ConnectionConfig::new(agent_cfg(24), sim_a.local_addr().to_string())
            .with_side_b(sim_b.local_addr().to_string()),
    );
    cfg.resync_window = Duration::from_secs(3);
    let (conn, mut events) = CtiConnection::connect(cfg).await.unwrap();
    let first = until(&mut events, |e| match e {
        CtiEvent::Connection(c) => Some(c.clone()),
        _ => None,
    })
    .await;
    assert!(matches!(
        first,
        ConnectionEvent::Connected {
            side: Side::A,
            reconnected: false,
            ..
        }
    ));

    // Two calls in progress on side A.
    sim_a.send_raw(&begin_call(24, 1));
    sim_a.send_raw(&begin_call(24, 2));
    until(&mut events, |e| match e {
        CtiEvent::Model(ch) if ch.contains(&Change::CallAdded(key(2))) => Some(()),
        _ => None,
    })
    .await;

    sim_a.stop().await;
    let lost = until(&mut events, |e| match e {
        CtiEvent::Connection(ConnectionEvent::Disconnected { side, .. }) => Some(*side),
        _ => None,
    })
    .await;
    assert_eq!(lost, Side::A);
    let back = until(&mut events, |e| match e {
        CtiEvent::Connection(ConnectionEvent::Connected {
            side, reconnected, ..
        }) => Some((*side, *reconnected)),
        _ => None,
    })
    .await;
    assert_eq!(back, (Side::B, true));
    assert_eq!(conn.side(), Some(Side::B));
    // During the resync the model still shows both calls.
    assert_eq!(conn.with_model(|m| m.calls().len()), 2);

    // Side B re-announces the call that is still up; the other ended meanwhile.
    sim_b.send_raw(&begin_call(24, 2));
    let mut removed = Vec::new();
    until(&mut events, |e| match e {
        CtiEvent::Model(ch) => {
            removed.extend(
                ch.iter()
                    .filter(|c| matches!(c, Change::CallRemoved(_)))
                    .cloned(),
            );
            None
        }
        CtiEvent::Connection(ConnectionEvent::Resynchronized) => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(removed, vec![Change::CallRemoved(key(1))]);
    let calls = conn.with_model(|m| m.calls().into_iter().map(|c| c.key).collect::<Vec<_>>());
    assert_eq!(calls, vec![key(2)]);

    // Requests now go to side B.
    let conf = conn
        .query_agent_state(&QueryAgentStateReq {
            peripheral_id: 5000,
            agent_id: Some(cce::cti::codec::CtiString::new("1001").unwrap()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(conf.agent_id.as_ref().map(|s| s.as_str()), Some("1001"));
    assert_eq!(conn.close().await, CloseReason::Closed);
    sim_b.stop().await;
}

#[tokio::test]
async fn heartbeat_loss_is_detected_after_three_misses_and_the_link_comes_back() {
    let sim = CtiSimulator::start(SimConfig::default()).await.unwrap();
    let mut session = agent_cfg(24);
    session.relaxed_timing = true;
    session.heartbeat_interval = Some(Duration::from_millis(50));
    let cfg = fast(ConnectionConfig::new(session, sim.local_addr().to_string()));
    let (conn, mut events) = CtiConnection::connect(cfg).await.unwrap();
    sim.set_answer_heartbeats(false);
    let reason = until(&mut events, |e| match e {
        CtiEvent::Connection(ConnectionEvent::Disconnected { reason, .. }) => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains("heartbeat"), "{reason}");
    // Declared failed on the third unanswered heartbeat, not later.
    assert_eq!(sim.unanswered_heartbeats(), 3);
    sim.set_answer_heartbeats(true);
    until(&mut events, |e| match e {
        CtiEvent::Connection(ConnectionEvent::Connected {
            reconnected: true, ..
        }) => Some(()),
        _ => None,
    })
    .await;
    assert!(conn.is_connected());
    conn.close().await;
    sim.stop().await;
}

#[tokio::test]
async fn requests_while_disconnected_fail_at_once_and_close_stops_reconnecting() {
    let sim = CtiSimulator::start(SimConfig::default()).await.unwrap();
    let mut cfg = fast(ConnectionConfig::new(
        agent_cfg(15),
        sim.local_addr().to_string(),
    ));
    // Keep the schedule waiting so the link stays down during the checks.
    cfg.reconnect.time_scale = 1.0;
    cfg.reconnect.expected_clients = 0;
    let (conn, mut events) = CtiConnection::connect(cfg).await.unwrap();
    sim.stop().await;
    until(&mut events, |e| match e {
        CtiEvent::Connection(ConnectionEvent::Disconnected { .. }) => Some(()),
        _ => None,
    })
    .await;
    let err = conn
        .query_agent_state(&QueryAgentStateReq::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RequestError::NotConnected(_)), "{err:?}");
    assert!(!conn.is_connected());
    assert_eq!(conn.close().await, CloseReason::Closed);
    let last = until(&mut events, |e| match e {
        CtiEvent::Closed(r) => Some(r.clone()),
        _ => None,
    })
    .await;
    assert_eq!(last, CloseReason::Closed);
    assert!(conn.is_closed());
    let err = conn
        .query_agent_state(&QueryAgentStateReq::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RequestError::SessionClosed(_)), "{err:?}");
}

#[tokio::test]
async fn typed_helpers_return_typed_confirmations_and_typed_failures() {
    for version in [15, 24] {
        let sim = CtiSimulator::start(SimConfig::default()).await.unwrap();
        let cfg = fast(ConnectionConfig::new(
            agent_cfg(version),
            sim.local_addr().to_string(),
        ));
        let (conn, mut events) = CtiConnection::connect(cfg).await.unwrap();
        let available = AgentState::from_raw(
            spec::constant("AgentState Values", "AGENT_STATE_AVAILABLE").unwrap(),
        );
        conn.set_agent_state(&SetAgentStateReq {
            peripheral_id: 5000,
            agent_state: available,
            agent_instrument: cce::cti::codec::CtiString::new("5001"),
            ..Default::default()
        })
        .await
        .unwrap();
        // The model follows the AGENT_STATE_EVENT.
        until(&mut events, |e| match e {
            CtiEvent::Model(_)
                if conn.with_model(|m| {
                    m.agent_by_id("1001").map(|a| a.state_name)
                        == Some(Some("AGENT_STATE_AVAILABLE"))
                }) =>
            {
                Some(())
            }
            _ => None,
        })
        .await;
        let err = conn
            .set_agent_state(&SetAgentStateReq {
                peripheral_id: 5000,
                agent_state: AgentState::from_raw(999),
                agent_instrument: cce::cti::codec::CtiString::new("5001"),
                ..Default::default()
            })
            .await
            .unwrap_err();
        match err {
            RequestError::Failed(s) => assert_eq!(s.name(), Some("E_CTI_INVALID_OBJECT_STATE")),
            other => panic!("expected FAILURE_CONF, got {other:?}"),
        }
        conn.close().await;
        sim.stop().await;
    }
}

#[test]
fn every_request_of_the_catalogue_has_a_helper() {
    use cce::cti::requests::{request_info, REQUESTS};
    let names: Vec<&str> = REQUESTS.iter().map(|r| r.request).collect();
    for must in [
        "SET_AGENT_STATE_REQ",
        "MAKE_CALL_REQ",
        "MAKE_PREDICTIVE_CALL_REQ",
        "ANSWER_CALL_REQ",
        "HOLD_CALL_REQ",
        "RETRIEVE_CALL_REQ",
        "ALTERNATE_CALL_REQ",
        "RECONNECT_CALL_REQ",
        "CONSULTATION_CALL_REQ",
        "TRANSFER_CALL_REQ",
        "CONFERENCE_CALL_REQ",
        "DEFLECT_CALL_REQ",
        "CLEAR_CALL_REQ",
        "CLEAR_CONNECTION_REQ",
        "SEND_DTMF_SIGNAL_REQ",
        "SUPERVISOR_ASSIST_REQ",
        "EMERGENCY_CALL_REQ",
        "BAD_CALL_REQ",
        "SET_CALL_DATA_REQ",
        "RELEASE_CALL_REQ",
        "SET_APP_DATA_REQ",
        "REGISTER_VARIABLES_REQ",
        "QUERY_AGENT_STATISTICS_REQ",
        "QUERY_SKILL_GROUP_STATISTICS_REQ",
        "QUERY_DEVICE_INFO_REQ",
        "SNAPSHOT_CALL_REQ",
        "SNAPSHOT_DEVICE_REQ",
        "MONITOR_START_REQ",
        "MONITOR_STOP_REQ",
        "CHANGE_MONITOR_MASK_REQ",
        "SESSION_MONITOR_START_REQ",
        "LIST_AGENT_TEAM_REQ",
        "MONITOR_AGENT_TEAM_START_REQ",
        "SUPERVISE_CALL_REQ",
        "START_RECORDING_REQ",
        "STOP_RECORDING_REQ",
        "START_NETWORK_RECORDING_REQ",
        "USER_MESSAGE_REQ",
        "CLIENT_EVENT_REPORT_REQ",
        "AGENT_DESK_SETTINGS_REQ",
        "AGENT_GREETING_CONTROL_REQ",
        "SET_DEVICE_ATTRIBUTES_REQ",
        "REGISTER_SERVICE_REQ",
        "UNREGISTER_SERVICE_REQ",
    ] {
        assert!(names.contains(&must), "{must} has no helper");
    }
    // Each pair is a real request/confirmation pair of the catalogue.
    for r in REQUESTS.iter() {
        let req = spec::message_by_name(r.request).unwrap();
        let conf = spec::message_by_name(r.confirmation).unwrap();
        assert_ne!(req.direction, spec::Direction::ToClient, "{}", r.request);
        assert_eq!(
            r.request.trim_end_matches("_REQ"),
            r.confirmation.trim_end_matches("_CONF")
        );
        assert_eq!(conf.name, r.confirmation);
        assert_eq!(request_info(r.helper), Some(r));
    }
}

/// A server that opens the session, reads one request and drops the connection
/// without answering it.
async fn server_that_drops_after_a_request() -> (String, tokio::task::JoinHandle<u32>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut splitter = cce::cti::codec::FrameSplitter::new();
        let mut buf = [0u8; 4096];
        let mut frames = Vec::new();
        while frames.len() < 2 {
            let n = sock.read(&mut buf).await.unwrap();
            assert!(n > 0, "client went away");
            splitter.push(&buf[..n]);
            while let Some(f) = splitter.next_frame().unwrap() {
                if frames.is_empty() {
                    // OPEN_REQ: answer OPEN_CONF.
                    let req = cce::cti::codec::decode_frame(&f, 24, Default::default()).unwrap();
                    let mut conf = Message::new("OPEN_CONF", 24).unwrap();
                    conf.set_int("InvokeID", req.invoke_id().unwrap().into())
                        .unwrap();
                    sock.write_all(&encode(&conf, 24).unwrap()).await.unwrap();
                }
                frames.push(f.msg_type);
            }
        }
        // Drop the connection with the request unanswered.
        frames[1]
    });
    (addr, task)
}

#[tokio::test]
async fn a_request_in_flight_when_the_link_drops_fails_with_connection_lost() {
    let (addr, server) = server_that_drops_after_a_request().await;
    let mut cfg = fast(ConnectionConfig::new(
        SessionConfig::new("inflight", 24),
        addr,
    ));
    cfg.reconnect.time_scale = 1.0; // stay down during the check
    let (conn, mut events) = CtiConnection::connect(cfg).await.unwrap();
    let err = conn
        .query_agent_state(&QueryAgentStateReq::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RequestError::ConnectionLost(_)), "{err:?}");
    let req_type = server.await.unwrap();
    assert_eq!(
        req_type,
        spec::message_by_name("QUERY_AGENT_STATE_REQ")
            .unwrap()
            .msg_type
    );
    until(&mut events, |e| match e {
        CtiEvent::Connection(ConnectionEvent::Disconnected { .. }) => Some(()),
        _ => None,
    })
    .await;
    conn.close().await;
}

#[tokio::test]
async fn every_request_of_the_catalogue_is_answered_through_the_connection() {
    use cce::cti::requests::REQUESTS;
    use cce::cti::session::Mode;
    use cce::sim::cti::{FaultAction, RequestFault};
    for version in [15, 24] {
        let sim = CtiSimulator::start(SimConfig::default()).await.unwrap();
        let mut session = SessionConfig::new("every-request", version)
            .with_mode(Mode::Bridge)
            .with_mode(Mode::Server)
            .with_mode(Mode::Monitor);
        session.request_timeout = Duration::from_secs(5);
        let cfg = fast(ConnectionConfig::new(session, sim.local_addr().to_string()));
        let (conn, _events) = CtiConnection::connect(cfg).await.unwrap();
        let mut confirmed = Vec::new();
        for r in REQUESTS.iter() {
            let spec = spec::message_by_name(r.request).unwrap();
            if spec.since > version {
                continue;
            }
            // Required floating fields filled with placeholders.
            let msg = sim_common::filled(r.request, version);
            match conn.request(msg, None).await {
                Ok(conf) => {
                    assert_eq!(conf.name(), r.confirmation, "v{version} {}", r.request);
                    confirmed.push(r.request);
                }
                Err(RequestError::Failed(_) | RequestError::ControlFailed { .. }) => {}
                Err(other) => panic!("v{version} {} not answered: {other:?}", r.request),
            }
        }
        eprintln!("v{version} confirmed: {confirmed:?}");
        // Requests that need no live call or agent are confirmed, not refused.
        for must in [
            "QUERY_DEVICE_INFO_REQ",
            "CLIENT_EVENT_REPORT_REQ",
            "REGISTER_VARIABLES_REQ",
        ] {
            assert!(
                confirmed.contains(&must),
                "v{version}: {must} not confirmed"
            );
        }

        // A failure injected by the simulator comes back as the matching typed error.
        sim.add_fault(
            RequestFault::new(
                "HOLD_CALL_REQ",
                FaultAction::ControlFailure {
                    failure_code: "CF_INVALID_CSTA_CALL_IDENTIFIER".into(),
                    peripheral_error: 42,
                },
            )
            .times(1),
        )
        .unwrap();
        let err = conn
            .request(Message::new("HOLD_CALL_REQ", version).unwrap(), None)
            .await
            .unwrap_err();
        match err {
            RequestError::ControlFailed {
                name,
                peripheral_error,
                ..
            } => {
                assert_eq!(name, "CF_INVALID_CSTA_CALL_IDENTIFIER");
                assert_eq!(peripheral_error, 42);
            }
            other => panic!("expected CONTROL_FAILURE_CONF, got {other:?}"),
        }
        conn.close().await;
        sim.stop().await;
    }
}
