//! Helpers shared by the GC integration tests.
#![allow(dead_code)]

use std::time::Duration;

use cce::gc::client::{ClientConfig, ClientEvent, GcClient, GcEvents};
use cce::gc::command::Command;
use cce::gc::event::EventKind;
use cce::sim::gc::{GcSimConfig, GcSimulator, SimFormat};

/// A name unique to this process and call, for queues and destinations.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Waits for the first event matching `pred` (others are skipped), or panics listing them.
pub async fn wait_for(
    events: &mut GcEvents,
    what: &str,
    pred: impl Fn(&ClientEvent) -> bool,
) -> ClientEvent {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(ev)) => {
                if pred(&ev) {
                    return ev;
                }
                seen.push(ev.to_json().to_string());
            }
            Ok(None) => panic!("event stream ended while waiting for {what}; saw {seen:#?}"),
            Err(_) => panic!("no {what} within 15 s; saw {seen:#?}"),
        }
    }
}

/// GC event with this variant name for this agent.
pub fn gc(name: &'static str, agent: &'static str) -> impl Fn(&ClientEvent) -> bool {
    move |ev| matches!(ev, ClientEvent::Gc(e) if e.name() == name && e.agent_id() == Some(agent))
}

/// A State event with this state for this agent.
pub fn state(agent: &'static str, st: &'static str) -> impl Fn(&ClientEvent) -> bool {
    move |ev| {
        matches!(ev, ClientEvent::Gc(e) if matches!(&e.kind,
            EventKind::State { agent_id, state, .. } if agent_id == agent && state.as_str() == st))
    }
}

/// A client config with fast heartbeats/backoff for tests.
pub fn client_config(destination: &str, brokers: &[String], queue: &str) -> ClientConfig {
    let mut cfg = ClientConfig::new(destination, brokers.iter().cloned());
    cfg.request_queue = queue.into();
    cfg.reconnect_min = Duration::from_millis(100);
    cfg.reconnect_max = Duration::from_millis(800);
    cfg.link.heartbeat = Duration::from_secs(1);
    cfg
}

/// Starts a simulator on `broker` serving `queue` in `format`.
pub async fn sim(broker: &str, queue: &str, format: SimFormat) -> GcSimulator {
    let mut cfg = GcSimConfig::new(broker);
    cfg.request_queue = queue.into();
    cfg.format = format;
    GcSimulator::start(cfg).await.expect("simulator starts")
}

/// Connects, logs `agent` in with the simulator's default password, waits for NOT_READY.
pub async fn logged_in(
    cfg: ClientConfig,
    agent: &'static str,
    extension: &str,
) -> (GcClient, GcEvents) {
    let (client, mut events) = GcClient::connect(cfg).await.expect("client connects");
    client
        .send(
            agent,
            Command::Login {
                password: "secret".into(),
                extension: extension.into(),
            },
        )
        .await
        .expect("login sent");
    wait_for(
        &mut events,
        "NOT_READY after login",
        state(agent, "NOT_READY"),
    )
    .await;
    (client, events)
}

/// The dialog ID of a call event.
pub fn dialog_of(ev: &ClientEvent) -> String {
    match ev {
        ClientEvent::Gc(e) => match &e.kind {
            EventKind::InboundCall { call, .. }
            | EventKind::NewInboundCall { call, .. }
            | EventKind::NewOutboundCall { call, .. }
            | EventKind::ConsultCall { call, .. } => call.dialog_id.clone().expect("dialog id"),
            other => panic!("not a call event: {other:?}"),
        },
        other => panic!("not a GC event: {other:?}"),
    }
}

/// The full agent/call flow, shared by the in-process and ActiveMQ tests.
pub async fn call_flow(broker: &str, format: SimFormat) {
    let queue = unique("Connector");
    let dest = unique("crm");
    let sim = sim(broker, &queue, format).await;
    let (client, mut ev) = logged_in(
        client_config(&dest, std::slice::from_ref(&broker.to_owned()), &queue),
        "1001",
        "4001",
    )
    .await;
    wait_for(&mut ev, "AgentInfo", gc("AgentInfo", "1001")).await;

    client
        .send("1001", Command::ReasonCodesNotReady)
        .await
        .expect("send");
    let rc = wait_for(&mut ev, "ReasonCodes", gc("ReasonCodes", "1001")).await;
    match rc {
        ClientEvent::Gc(e) => match e.kind {
            EventKind::ReasonCodes {
                category, codes, ..
            } => {
                assert_eq!(category, "NOT_READY");
                assert_eq!(codes[1].label, "Break");
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }

    client.send("1001", Command::MakeReady).await.expect("send");
    wait_for(&mut ev, "READY", state("1001", "READY")).await;

    // Inbound call: ring, answer, consult, transfer to the consulted party.
    let dialog = sim
        .inject_call(
            "1001",
            "5551234",
            &[("callVariable1".into(), "acct-42".into())],
        )
        .expect("inject");
    let ring = wait_for(&mut ev, "NewInboundCall", gc("NewInboundCall", "1001")).await;
    assert_eq!(dialog_of(&ring), dialog);
    if let ClientEvent::Gc(e) = &ring {
        if let EventKind::NewInboundCall { call, .. } = &e.kind {
            assert_eq!(call.ani.as_deref(), Some("5551234"));
            assert_eq!(call.call_variables.get("callVariable1"), Some("acct-42"));
        }
    }
    client
        .send(
            "1001",
            Command::AnswerCall {
                dialog_id: dialog.clone(),
            },
        )
        .await
        .expect("send");
    wait_for(&mut ev, "TALKING", state("1001", "TALKING")).await;
    client
        .send(
            "1001",
            Command::ConsultCall {
                number: "4002".into(),
                dialog_id: dialog.clone(),
            },
        )
        .await
        .expect("send");
    let consult = wait_for(&mut ev, "ConsultCall", gc("ConsultCall", "1001")).await;
    assert_ne!(dialog_of(&consult), dialog);
    // No target: the consulted number is used (A7).
    client
        .send(
            "1001",
            Command::TransferCall {
                target: None,
                dialog_id: dialog.clone(),
            },
        )
        .await
        .expect("send");
    wait_for(&mut ev, "READY after transfer", state("1001", "READY")).await;
    let transfer = sim
        .requests()
        .into_iter()
        .find(|r| r.jms_type == "TransferCall#1001")
        .expect("transfer request");
    assert_eq!(transfer.body, format!("4002,{dialog}"));

    // Outbound preview: offer, accept, release.
    let preview = sim
        .inject_preview_call("1001", "5559999", &[])
        .expect("preview");
    let offer = wait_for(&mut ev, "NewOutboundCall", gc("NewOutboundCall", "1001")).await;
    assert!(
        matches!(&offer, ClientEvent::Gc(e) if matches!(e.kind, EventKind::NewOutboundCall { preview: true, .. }))
    );
    client
        .send(
            "1001",
            Command::AcceptOutboundPreview {
                dialog_id: preview.clone(),
            },
        )
        .await
        .expect("send");
    wait_for(&mut ev, "TALKING (preview)", state("1001", "TALKING")).await;
    client
        .send("1001", Command::ReleaseCall { dialog_id: preview })
        .await
        .expect("send");
    wait_for(&mut ev, "READY after release", state("1001", "READY")).await;

    // Errors are typed, with the expected behaviour.
    client
        .send(
            "1001",
            Command::AnswerCall {
                dialog_id: "999".into(),
            },
        )
        .await
        .expect("send");
    let err = wait_for(&mut ev, "Error", gc("Error", "1001")).await;
    assert!(matches!(&err, ClientEvent::Gc(e) if matches!(&e.kind,
        EventKind::Error { code, .. } if code.behaviour() == cce::gc::errors::Behaviour::RefreshDialogs)));

    // Phonebooks and contacts.
    client
        .send("1001", Command::GetPhonebooks)
        .await
        .expect("send");
    wait_for(&mut ev, "Phonebooks", |e| {
        matches!(e, ClientEvent::Gc(g) if matches!(&g.kind,
        EventKind::Phonebooks { phonebooks, .. } if phonebooks.len() == 2))
    })
    .await;
    client
        .send(
            "1001",
            Command::GetPhonebookContacts {
                phonebook_id: "1".into(),
            },
        )
        .await
        .expect("send");
    wait_for(&mut ev, "PhonebookContacts", |e| matches!(e, ClientEvent::Gc(g) if matches!(&g.kind,
        EventKind::PhonebookContacts { contacts, .. } if contacts[0].get("phoneNumber") == Some("5550101")))).await;

    client.send("1001", Command::Logout).await.expect("send");
    wait_for(&mut ev, "LOGOUT", state("1001", "LOGOUT")).await;
    client.close().await;
    wait_for(&mut ev, "Closed", |e| matches!(e, ClientEvent::Closed)).await;
    sim.stop().await;
}
