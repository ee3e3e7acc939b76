//! GC client ↔ simulator through a real Apache ActiveMQ broker (STOMP).
//!
//! Needs `CCE_STOMP_ADDR=host:port` (`make test-gc` starts a broker and sets it). In a
//! plain `cargo test` without it these tests say so and pass; with
//! `CCE_REQUIRE_BROKER=1` (set by `make test-gc`) a missing broker is a failure.

mod gc_common;

use std::time::Duration;

use cce::gc::client::{ClientEvent, GcClient};
use cce::gc::command::Command;
use cce::gc::transport::{
    BrokerAddr, Destination, LinkEvent, LinkOptions, OutMessage, StompTransport, Transport,
};
use cce::sim::gc::SimFormat;
use gc_common::*;

fn broker_addr() -> Option<String> {
    match std::env::var("CCE_STOMP_ADDR") {
        Ok(a) if !a.is_empty() => Some(a),
        _ => {
            assert!(
                std::env::var_os("CCE_REQUIRE_BROKER").is_none(),
                "CCE_REQUIRE_BROKER is set but CCE_STOMP_ADDR is not"
            );
            eprintln!(
                "SKIPPED: CCE_STOMP_ADDR is not set; run `make test-gc` to test against ActiveMQ"
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activemq_call_flow_json() {
    let Some(addr) = broker_addr() else { return };
    call_flow(&addr, SimFormat::Json).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activemq_call_flow_text() {
    let Some(addr) = broker_addr() else { return };
    call_flow(&addr, SimFormat::Text).await;
}

/// What the GC sees on the wire: a JMS TextMessage (no content-length) with the
/// JMSType in `type`, on the request queue; events come back on the destination topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activemq_wire_format_is_what_gc_expects() {
    let Some(addr) = broker_addr() else { return };
    let queue = unique("Connector");
    let dest = unique("crm");
    // A raw consumer standing in for GC.
    let t = StompTransport::new(LinkOptions::default());
    let mut gc = t
        .connect(
            &BrokerAddr::new(addr.clone()),
            &[Destination::Queue(queue.clone())],
        )
        .await
        .expect("raw consumer");
    let (client, mut ev) = GcClient::connect(client_config(&dest, &[addr], &queue))
        .await
        .expect("client");
    // The client's Hello, then a Login (queued until IN_SERVICE).
    let hello = tokio::time::timeout(Duration::from_secs(10), gc.events.recv())
        .await
        .expect("hello in time");
    let Some(LinkEvent::Message(m)) = hello else {
        panic!("no Hello: {hello:?}")
    };
    assert_eq!(
        m.jms_type.as_deref(),
        Some(format!("Hello#{dest}").as_str())
    );
    assert!(m.body.is_empty());
    assert_eq!(m.destination, Some(Destination::Queue(queue.clone())));
    gc.sender
        .send(OutMessage {
            destination: Destination::Topic(dest.clone()),
            jms_type: String::new(),
            body: "System#IN_SERVICE".into(),
            properties: vec![],
        })
        .await
        .expect("publish");
    wait_for(
        &mut ev,
        "System",
        |e| matches!(e, ClientEvent::Gc(g) if g.name() == "System"),
    )
    .await;
    client
        .send(
            "1001",
            Command::Login {
                password: "pw".into(),
                extension: "4012".into(),
            },
        )
        .await
        .expect("login");
    let mut got = Vec::new();
    while got.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(10), gc.events.recv()).await {
            Ok(Some(LinkEvent::Message(m))) => got.push((
                m.jms_type.unwrap_or_default(),
                String::from_utf8_lossy(&m.body).into_owned(),
            )),
            other => panic!("expected Connect and Login, got {other:?}"),
        }
    }
    assert_eq!(
        got,
        vec![
            ("Connect#1001".to_owned(), format!("{dest},pw")),
            ("Login#1001".to_owned(), "pw,4012".to_owned())
        ]
    );
    client.close().await;
    gc.sender.close().await;
}
