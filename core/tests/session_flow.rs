//! One agent session against the embedded simulator, at protocol versions 15 and 24.

use std::time::Duration;

use cce::cti::client::{Client, ClientEvent, Events};
use cce::cti::codec::Message;
use cce::cti::session::{CloseReason, RequestError, SessionConfig, SessionError};
use cce::cti::spec;
use cce::sim::cti::{CtiSimulator, SimCall, SimConfig};

fn agent_cfg(version: u32) -> SessionConfig {
    let mut cfg = SessionConfig::new("flow-test", version);
    cfg.services = spec::constant("CTI Service Masks", "CTI_SERVICE_CLIENT_EVENTS").unwrap()
        | spec::constant("CTI Service Masks", "CTI_SERVICE_CLIENT_CONTROL").unwrap();
    cfg.peripheral_id = 5000;
    cfg.agent_id = Some("1001".into());
    cfg
}

async fn next_message(events: &mut Events) -> Message {
    match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
        Ok(Some(ClientEvent::Message(m))) => m.to_message().expect("owned"),
        Ok(Some(other)) => panic!("unexpected event {other:?}"),
        Ok(None) => panic!("event stream ended"),
        Err(_) => panic!("no event within 10 s"),
    }
}

fn state(name: &str) -> i64 {
    i64::from(spec::constant("AgentState Values", name).unwrap())
}

async fn agent_flow(version: u32) {
    let sim = CtiSimulator::start(SimConfig::default()).await.unwrap();
    let (client, mut events) = Client::connect(sim.local_addr(), agent_cfg(version))
        .await
        .unwrap();
    assert_eq!(client.open_conf().name(), "OPEN_CONF");
    assert_eq!(client.open_conf().str("AgentID"), Some("1001"));

    let mut set = Message::new("SET_AGENT_STATE_REQ", version).unwrap();
    set.set_int("PeripheralID", 5000)
        .unwrap()
        .set_int("AgentState", state("AGENT_STATE_AVAILABLE"))
        .unwrap()
        .set_str("AgentInstrument", "5001")
        .unwrap();
    let conf = client.request(set, None).await.unwrap();
    assert_eq!(conf.name(), "SET_AGENT_STATE_CONF");
    let ev = next_message(&mut events).await;
    assert_eq!(ev.name(), "AGENT_STATE_EVENT");
    assert_eq!(ev.u32("AgentState"), Some(3));

    let mut query = Message::new("QUERY_AGENT_STATE_REQ", version).unwrap();
    query.set_str("AgentID", "1001").unwrap();
    let conf = client.request(query, None).await.unwrap();
    assert_eq!(conf.name(), "QUERY_AGENT_STATE_CONF");
    assert_eq!(conf.u32("AgentState"), Some(3));

    let call = SimCall {
        ani: "5551234".into(),
        dnis: "8000".into(),
        call_variables: vec!["acct-42".into(), "gold".into()],
        named_variables: vec![("user.crm.id".into(), "C-7".into())],
        ..SimCall::default()
    };
    let call_id = sim.inject_call(&call).unwrap();
    let names: Vec<&str> = vec![
        "BEGIN_CALL_EVENT",
        "CALL_DELIVERED_EVENT",
        "CALL_ESTABLISHED_EVENT",
        "AGENT_STATE_EVENT",
        "CALL_CLEARED_EVENT",
        "END_CALL_EVENT",
        "AGENT_STATE_EVENT",
    ];
    let mut got = Vec::new();
    for _ in &names {
        got.push(next_message(&mut events).await);
    }
    assert_eq!(got.iter().map(Message::name).collect::<Vec<_>>(), names);
    let begin = &got[0];
    assert_eq!(begin.u32("ConnectionCallID"), Some(call_id));
    assert_eq!(begin.str("ANI"), Some("5551234"));
    assert_eq!(begin.str("DNIS"), Some("8000"));
    assert_eq!(begin.str("CallVariable1"), Some("acct-42"));
    assert_eq!(begin.str("CallVariable2"), Some("gold"));
    assert_eq!(begin.u32("NumNamedVariables"), Some(1));
    assert_eq!(
        got[3].u32("AgentState"),
        Some(state("AGENT_STATE_TALKING") as u32)
    );
    assert_eq!(client.close().await, CloseReason::Closed);
    match events.recv().await {
        Some(ClientEvent::Closed(CloseReason::Closed)) => {}
        other => panic!("expected Closed, got {other:?}"),
    }
    sim.stop().await;
}

#[tokio::test]
async fn agent_session_v15() {
    agent_flow(15).await;
}

#[tokio::test]
async fn agent_session_v24() {
    agent_flow(24).await;
}

#[tokio::test]
async fn agent_session_v25() {
    agent_flow(25).await;
}

#[tokio::test]
async fn open_refused_for_bad_version_and_missing_client_id() {
    let sim = CtiSimulator::start(SimConfig::default()).await.unwrap();
    // Version 14 cannot be configured, so forge the OPEN_REQ bytes by hand:
    // header (len 48, type 3), InvokeID 1, VersionNumber 14, IdleTimeout 0xFFFFFFFF,
    // eight zero UINTs, then ClientID "x" (tag 1, len 2) and ClientPassword (tag 2, len 0).
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut raw = vec![
        0, 0, 0, 48, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 14, 0xFF, 0xFF, 0xFF, 0xFF,
    ];
    raw.extend_from_slice(&[0u8; 32]);
    raw.extend_from_slice(&[1, 2, b'x', 0, 2, 0]);
    assert_eq!(raw.len(), 8 + 4 + 44 - 4 + 6 - 2 + 2);
    let mut s = tokio::net::TcpStream::connect(sim.local_addr())
        .await
        .unwrap();
    s.write_all(&raw).await.unwrap();
    let mut reply = [0u8; 16];
    s.read_exact(&mut reply).await.unwrap();
    // FAILURE_CONF: length 8, type 1, InvokeID 1, Status 1 (E_CTI_INVALID_VERSION).
    assert_eq!(reply, [0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]);

    // A refused OPEN_REQ surfaces as a typed error naming the status.
    let mut cfg = agent_cfg(24);
    cfg.agent_id = Some("9999".into());
    match Client::connect(sim.local_addr(), cfg).await {
        Err(SessionError::OpenRefused(st)) => {
            assert_eq!(st.name(), Some("E_CTI_INVALID_AGENT_DATA"))
        }
        other => panic!("expected OpenRefused, got {:?}", other.map(|_| ())),
    }
    sim.stop().await;
}

#[tokio::test]
async fn request_refused_by_the_simulator_is_a_typed_error() {
    let sim = CtiSimulator::start(SimConfig::default()).await.unwrap();
    let (client, _events) = Client::connect(sim.local_addr(), agent_cfg(24))
        .await
        .unwrap();
    let mut set = Message::new("SET_AGENT_STATE_REQ", 24).unwrap();
    set.set_int("AgentState", 999).unwrap();
    match client.request(set, None).await {
        Err(RequestError::Failed(st)) => assert_eq!(st.name(), Some("E_CTI_INVALID_OBJECT_STATE")),
        other => panic!("expected FAILURE_CONF, got {other:?}"),
    }
    client.close().await;
    sim.stop().await;
}

#[tokio::test]
async fn heartbeat_loss_is_detected_after_three_misses() {
    let sim = CtiSimulator::start(SimConfig::default()).await.unwrap();
    let mut cfg = agent_cfg(24);
    cfg.heartbeat_interval = Some(Duration::from_millis(50));
    cfg.relaxed_timing = true;
    let (_client, mut events) = Client::connect(sim.local_addr(), cfg).await.unwrap();
    sim.set_answer_heartbeats(false);
    let reason = loop {
        match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Some(ClientEvent::Closed(r))) => break r,
            Ok(Some(_)) => continue,
            other => panic!("session did not fail: {other:?}"),
        }
    };
    assert_eq!(
        reason,
        CloseReason::Failed(SessionError::HeartbeatTimeout(3))
    );
    assert_eq!(sim.unanswered_heartbeats(), 3);
    sim.stop().await;
}

#[tokio::test]
async fn malformed_frames_give_errors() {
    let sim = CtiSimulator::start(SimConfig::default()).await.unwrap();
    let (_client, mut events) = Client::connect(sim.local_addr(), agent_cfg(24))
        .await
        .unwrap();
    // END_CALL_EVENT (type 24) with a 3-byte body: shorter than its fixed part.
    sim.send_raw(&[0, 0, 0, 3, 0, 0, 0, 24, 1, 2, 3]);
    match events.recv().await {
        Some(ClientEvent::DecodeError(e)) => assert_eq!(e.kind(), "ShortFixedPart"),
        other => panic!("expected a decode error, got {other:?}"),
    }
    // A header claiming 1 MB: the stream is broken and the session fails.
    sim.send_raw(&[0, 0x10, 0, 0, 0, 0, 0, 9]);
    match events.recv().await {
        Some(ClientEvent::Closed(CloseReason::Failed(SessionError::Protocol(e)))) => {
            assert_eq!(e.kind(), "MessageTooLong")
        }
        other => panic!("expected a protocol failure, got {other:?}"),
    }
    sim.stop().await;
}

#[tokio::test]
async fn sending_on_a_closed_session_is_an_error_not_a_silent_drop() {
    let sim = CtiSimulator::start(SimConfig::default()).await.unwrap();
    let (client, _events) = Client::connect(sim.local_addr(), agent_cfg(24))
        .await
        .unwrap();
    assert_eq!(client.close().await, CloseReason::Closed);
    assert!(client.is_closed());
    let msg = Message::new("QUERY_AGENT_STATE_REQ", 24).unwrap();
    assert!(matches!(
        client.send(msg.clone()),
        Err(RequestError::SessionClosed(_))
    ));
    assert!(matches!(
        client.request(msg, None).await,
        Err(RequestError::SessionClosed(_))
    ));
    sim.stop().await;
}
