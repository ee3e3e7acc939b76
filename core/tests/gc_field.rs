//! GC field hardening (issue 14 items 5–9 and 14, issue 11 for GC): client ↔ simulator
//! over the in-process broker, and a broker that stops reading.

mod gc_common;

use std::time::{Duration, Instant};

use cce::gc::client::{ClientError, ClientEvent, GcClient, OverflowPolicy};
use cce::gc::command::{Command, CommandError};
use cce::gc::errors::Behaviour;
use cce::gc::event::EventKind;
use cce::gc::session::Notice;
use cce::sim::gc::broker::StompBroker;
use cce::sim::gc::SimFormat;
use gc_common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn broker() -> (StompBroker, String) {
    let b = StompBroker::start("127.0.0.1:0").await.expect("broker");
    let addr = b.local_addr().to_string();
    (b, addr)
}

fn error_code(code: &'static str) -> impl Fn(&ClientEvent) -> bool {
    move |e| {
        matches!(e, ClientEvent::Gc(g) if matches!(&g.kind,
            EventKind::Error { code: c, .. } if c.as_str() == code))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_without_an_active_consult_on_that_dialog_sends_nothing() {
    let (_b, addr) = broker().await;
    let queue = unique("Connector");
    let sim = sim(&addr, &queue, SimFormat::Json).await;
    let (client, mut ev) =
        logged_in(client_config("crm-xfer", &[addr], &queue), "1001", "4001").await;
    let dialog = sim.inject_call("1001", "5551234", &[]).expect("inject");
    client
        .send(
            "1001",
            Command::AnswerCall {
                dialog_id: dialog.clone(),
            },
        )
        .await
        .expect("answer");
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
        .expect("consult");
    let leg = dialog_of(&wait_for(&mut ev, "ConsultCall", gc("ConsultCall", "1001")).await);
    // Another dialog has no consult: refused, nothing sent.
    let e = client
        .send(
            "1001",
            Command::TransferCall {
                target: None,
                dialog_id: "999".into(),
            },
        )
        .await
        .expect_err("no consult on 999");
    assert!(
        matches!(e, ClientError::Command(CommandError::NoTarget { .. })),
        "{e}"
    );
    // The consult leg is released: the consult is over, no target any more.
    client
        .send(
            "1001",
            Command::ReleaseCall {
                dialog_id: leg.clone(),
            },
        )
        .await
        .expect("release leg");
    wait_for(&mut ev, "consult dropped", |e| {
        matches!(e, ClientEvent::Gc(g) if matches!(&g.kind,
            EventKind::ConsultCall { call, .. } if call.state.as_ref().is_some_and(|s| s.is_ended())))
    })
    .await;
    let e = client
        .send(
            "1001",
            Command::TransferCall {
                target: None,
                dialog_id: dialog.clone(),
            },
        )
        .await
        .expect_err("consult ended");
    assert!(
        matches!(e, ClientError::Command(CommandError::NoTarget { .. })),
        "{e}"
    );
    // Make sure everything sent so far has arrived, then check no transfer went out.
    client.send("1001", Command::GetState).await.expect("sent");
    tokio::time::timeout(Duration::from_secs(5), async {
        while !sim.requests().iter().any(|r| r.jms_type == "GetState#1001") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("GetState arrives");
    assert!(
        !sim.requests()
            .iter()
            .any(|r| r.command_name() == "TransferCall"),
        "{:?}",
        sim.requests()
    );
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_are_not_resent_on_relogin_or_reconnect() {
    let (_b, addr) = broker().await;
    let queue = unique("Connector");
    let sim = sim(&addr, &queue, SimFormat::Text).await;
    let (client, mut ev) = GcClient::connect(client_config(
        "crm-cred",
        std::slice::from_ref(&addr),
        &queue,
    ))
    .await
    .expect("connect");
    client
        .send(
            "1001",
            Command::Login {
                password: "wrong-pw".into(),
                extension: "4001".into(),
            },
        )
        .await
        .expect("sent");
    let e = wait_for(
        &mut ev,
        "SUBSCRIPTION_FAILED",
        error_code("SUBSCRIPTION_FAILED"),
    )
    .await;
    // The error table's columns travel with the event.
    let j = e.to_json();
    assert_eq!(j["origin"], "Gc");
    assert_eq!(j["behaviour"], "AskForCredentials");
    assert_eq!(j["user_message"], "bad login ID or password");
    wait_for(&mut ev, "CredentialsRequired", |e| {
        matches!(e, ClientEvent::Notice(Notice::CredentialsRequired { agent_id, code, behaviour })
            if agent_id == "1001" && code == "SUBSCRIPTION_FAILED"
                && *behaviour == Behaviour::AskForCredentials)
    })
    .await;
    // GC asks for a re-login, then for a destination-wide reconnect (O-026), then
    // echoes a request (O-023): nothing is re-sent. (A new broker link is the same
    // rebind path; the session unit tests cover it.)
    sim.send_raw("crm-cred", "1001#State#RE_LOGIN", "")
        .expect("raw");
    wait_for(&mut ev, "RE_LOGIN", state("1001", "RE_LOGIN")).await;
    sim.destination_reconnect("crm-cred").expect("O-026");
    wait_for(
        &mut ev,
        "System after O-026",
        |e| matches!(e, ClientEvent::Gc(g) if g.name() == "System"),
    )
    .await;
    sim.send_raw("crm-cred", "1001#RECONNECT#", "MakeReady#1001")
        .expect("O-023");
    wait_for(&mut ev, "CredentialsRequired after O-023", |e| {
        matches!(e, ClientEvent::Notice(Notice::CredentialsRequired { code, .. }) if code.is_empty())
    })
    .await;
    // Everything sent before this marker has reached the simulator.
    client.send("1001", Command::GetState).await.expect("sent");
    tokio::time::timeout(Duration::from_secs(5), async {
        while !sim.requests().iter().any(|r| r.jms_type == "GetState#1001") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("GetState arrives");
    let logins = sim
        .requests()
        .iter()
        .filter(|r| r.command_name() == "Login" || r.command_name() == "Connect")
        .count();
    assert_eq!(logins, 2, "one Connect + one Login: {:?}", sim.requests());
    assert!(
        !sim.requests()
            .iter()
            .any(|r| r.command_name() == "MakeReady"),
        "the O-023 echo is not replayed without credentials"
    );
    // New credentials from the application work.
    client
        .send(
            "1001",
            Command::Login {
                password: "secret".into(),
                extension: "4001".into(),
            },
        )
        .await
        .expect("sent");
    wait_for(&mut ev, "NOT_READY", state("1001", "NOT_READY")).await;
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_dialog_state_during_a_consult_and_json_call_variables() {
    let (_b, addr) = broker().await;
    let queue = unique("Connector");
    let sim = sim(&addr, &queue, SimFormat::Json).await;
    let (client, mut ev) =
        logged_in(client_config("crm-dlg", &[addr], &queue), "1001", "4001").await;
    let dialog = sim
        .inject_call("1001", "5551234", &[("callVariable3".into(), "c3".into())])
        .expect("inject");
    let ring = wait_for(&mut ev, "NewInboundCall", gc("NewInboundCall", "1001")).await;
    let ClientEvent::Gc(ring) = ring else {
        panic!("not GC")
    };
    let EventKind::NewInboundCall { call, .. } = &ring.kind else {
        panic!("{ring:?}")
    };
    let keys: Vec<&str> = call
        .call_variables
        .0
        .iter()
        .map(|(k, _)| k.as_str())
        .take(10)
        .collect();
    let want: Vec<String> = (1..=10).map(|i| format!("callVariable{i}")).collect();
    assert_eq!(keys, want.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(call.call_variables.get("callVariable3"), Some("c3"));
    assert_eq!(call.call_variables.get("callVariable1"), Some(""));
    assert_eq!(call.ani.as_deref(), Some("5551234"));

    client
        .send(
            "1001",
            Command::AnswerCall {
                dialog_id: dialog.clone(),
            },
        )
        .await
        .expect("answer");
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
        .expect("consult");
    let leg = dialog_of(&wait_for(&mut ev, "ConsultCall", gc("ConsultCall", "1001")).await);
    sim.set_format(SimFormat::Text);
    client
        .send(
            "1001",
            Command::GetDialogState {
                dialog_id: dialog.clone(),
            },
        )
        .await
        .expect("dialog state");
    let ds = wait_for(&mut ev, "DialogState", gc("DialogState", "1001")).await;
    let ClientEvent::Gc(ds) = ds else {
        panic!("not GC")
    };
    let EventKind::DialogState { dialogs, .. } = &ds.kind else {
        panic!("{ds:?}")
    };
    assert_eq!(dialogs.dialog_id.as_deref(), Some(dialog.as_str()));
    assert_eq!(dialogs.state.as_ref().map(|s| s.as_str()), Some("HELD"));
    assert_eq!(dialogs.ass_dialog_id.as_deref(), Some(leg.as_str()));
    assert_eq!(
        dialogs.ass_state.as_ref().map(|s| s.as_str()),
        Some("ACTIVE")
    );
    assert_eq!(dialogs.ass_from_address.as_deref(), Some("4001"));
    assert_eq!(dialogs.ass_call_variables.get("callVariable3"), Some("c3"));
    client.close().await;
}

const KNOWN: &str = "Kn0wn-S3cret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_appear_in_errors_debug_or_events() {
    let (_b, addr) = broker().await;
    let queue = unique("Connector");
    let sim = sim(&addr, &queue, SimFormat::Text).await;
    let mut texts: Vec<String> = Vec::new();
    // Config errors (a numeric passcode would be echoed by serde).
    for cfg in [
        format!(
            r#"{{"broker":"{addr}","destination":"d","broker_passcode":9{}}}"#,
            7777
        ),
        format!(r#"{{"broker":"{addr}","destination":"d#x","broker_passcode":"{KNOWN}"}}"#),
    ] {
        let e = cce::api::gc_config_from_json(&cfg).expect_err("bad config");
        texts.push(format!("{e} {e:?}"));
    }
    let good = format!(
        r#"{{"broker":"{addr}","destination":"crm-sec","request_queue":"{queue}","broker_login":"u","broker_passcode":"{KNOWN}"}}"#
    );
    let cfg = cce::api::gc_config_from_json(&good).expect("config");
    texts.push(format!("{cfg:?}"));
    // Command errors.
    for cmd in [
        format!(
            r#"{{"command":"Login","agent_id":"1001","password":"{KNOWN},x","extension":"1"}}"#
        ),
        format!(
            r#"{{"command":"Connect","agent_id":"1001","destination":"d","password":"{KNOWN}|"}}"#
        ),
        r#"{"command":"Login","agent_id":"1001","password":97777,"extension":"1"}"#.to_owned(),
    ] {
        let e = cce::api::gc_encode_command(&cmd).expect_err("bad command");
        assert!(e.message.contains("password"), "{}", e.message);
        texts.push(format!("{e} {e:?}"));
    }
    // The whole client: a refused login, a RECONNECT echo of it, events and requests.
    let (client, mut ev) = GcClient::connect(cfg).await.expect("connect");
    let e = client
        .send(
            "1001",
            Command::Login {
                password: format!("{KNOWN},").into(),
                extension: "4001".into(),
            },
        )
        .await
        .expect_err("separator");
    texts.push(format!("{e} {e:?}"));
    let login = Command::Login {
        password: KNOWN.into(),
        extension: "4001".into(),
    };
    texts.push(format!("{login:?}"));
    client.send("1001", login).await.expect("sent");
    let err = wait_for(
        &mut ev,
        "SUBSCRIPTION_FAILED",
        error_code("SUBSCRIPTION_FAILED"),
    )
    .await;
    texts.push(format!("{err:?} {}", err.to_json()));
    sim.send_raw(
        "crm-sec",
        &format!("1001#RECONNECT#{KNOWN},4001"),
        "Login#1001",
    )
    .expect("raw");
    let echo = wait_for(&mut ev, "RECONNECT", gc("Reconnect", "1001")).await;
    texts.push(format!("{echo:?} {}", echo.to_json()));
    texts.push(format!("{:?}", sim.requests()));
    client.close().await;
    while let Some(e) = ev.recv().await {
        texts.push(format!("{e:?} {}", e.to_json()));
    }
    for t in &texts {
        assert!(!t.contains(KNOWN) && !t.contains("97777"), "secret in {t}");
    }
    // The secret did reach the wire, where it belongs.
    assert!(sim
        .requests()
        .iter()
        .any(|r| r.body == format!("{KNOWN},4001")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_pressure_keeps_every_event_within_the_bound() {
    let (_b, addr) = broker().await;
    let queue = unique("Connector");
    let sim = sim(&addr, &queue, SimFormat::Text).await;
    let mut cfg = client_config("crm-bp", &[addr], &queue);
    cfg.queues.events = 8;
    let (client, mut ev) = GcClient::connect(cfg).await.expect("connect");
    wait_for(
        &mut ev,
        "System",
        |e| matches!(e, ClientEvent::Gc(g) if g.name() == "System"),
    )
    .await;
    const N: usize = 300;
    for i in 0..N {
        sim.send_raw("crm-bp", &format!("1001#Control#PrintStatusBar#m{i}"), "")
            .expect("raw");
    }
    // Nobody reads for a while: the queue stays within its bound.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(client.queue_stats().high_water() <= 8);
    let mut next = 0;
    while next < N {
        let e = tokio::time::timeout(Duration::from_secs(10), ev.recv())
            .await
            .expect("events keep coming")
            .expect("open");
        if let ClientEvent::Gc(g) = &e {
            if let EventKind::StatusBar { message, .. } = &g.kind {
                assert_eq!(message, &format!("m{next}"), "in order, none lost");
                next += 1;
            }
        }
    }
    assert!(client.queue_stats().high_water() <= 8);
    assert_eq!(client.queue_stats().dropped(), 0);
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrun_policy_ends_with_a_typed_reason() {
    let (_b, addr) = broker().await;
    let queue = unique("Connector");
    let sim = sim(&addr, &queue, SimFormat::Text).await;
    let mut cfg = client_config("crm-ovr", &[addr], &queue);
    cfg.queues.events = 4;
    cfg.queues.overflow = OverflowPolicy::Close;
    let (client, mut ev) = GcClient::connect(cfg).await.expect("connect");
    for i in 0..50 {
        sim.send_raw("crm-ovr", &format!("1001#Control#PrintStatusBar#m{i}"), "")
            .expect("raw");
    }
    // Nobody reads until the queue overflowed.
    tokio::time::timeout(Duration::from_secs(10), async {
        while client.queue_stats().dropped() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the queue overflows");
    let mut seen = Vec::new();
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), ev.recv())
            .await
            .expect("the stream ends");
        match e {
            Some(ClientEvent::Closed) | None => break,
            Some(e) => seen.push(e),
        }
    }
    assert!(
        seen.iter()
            .any(|e| matches!(e, ClientEvent::Overrun { capacity: 4 })),
        "{seen:?}"
    );
    assert!(client.queue_stats().dropped() > 0);
    assert!(matches!(
        client.send("1001", Command::GetState).await,
        Err(ClientError::Closed)
    ));
}

#[test]
fn a_full_command_queue_is_a_typed_error() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (_b, addr) = broker().await;
        let mut cfg = client_config("crm-cq", &[addr], "Connector1");
        cfg.queues.commands = 3;
        let (client, _ev) = GcClient::connect(cfg).await.expect("connect");
        // On this one thread the client task cannot run between these polls.
        let mut waker_cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut results = Vec::new();
        let mut pending = Vec::new();
        for _ in 0..5 {
            let mut f = Box::pin(client.send("1001", Command::GetState));
            match f.as_mut().poll(&mut waker_cx) {
                std::task::Poll::Ready(r) => results.push(r),
                std::task::Poll::Pending => pending.push(f),
            }
        }
        assert_eq!(pending.len(), 3, "three queued");
        assert_eq!(results.len(), 2);
        for r in results {
            assert!(
                matches!(r, Err(ClientError::QueueFull { capacity: 3 })),
                "{r:?}"
            );
        }
        drop(pending);
        client.close().await;
    });
}

use std::future::Future;

/// A STOMP "broker" that accepts the connection and the subscription, then never
/// reads again.
async fn deaf_broker() -> (String, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    let task = tokio::spawn(async move {
        let Ok((mut s, _)) = l.accept().await else {
            return;
        };
        let mut buf = vec![0u8; 4096];
        let mut seen = Vec::new();
        let mut connected = false;
        // CONNECT, then SUBSCRIBE with its receipt id.
        while !String::from_utf8_lossy(&seen).contains("SUBSCRIBE") {
            let Ok(n) = s.read(&mut buf).await else {
                return;
            };
            if n == 0 {
                return;
            }
            seen.extend_from_slice(&buf[..n]);
            if !connected && String::from_utf8_lossy(&seen).starts_with("CONNECT") {
                connected = true;
                let _ = s
                    .write_all(b"CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0")
                    .await;
            }
        }
        let _ = s.write_all(b"RECEIPT\nreceipt-id:sub-0\n\n\0").await;
        // Deaf from now on; keep the socket open for a long while.
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(s);
    });
    (addr, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_is_bounded_when_the_broker_stops_reading() {
    let (addr, task) = deaf_broker().await;
    let mut cfg = client_config("crm-deaf", &[addr], "Connector1");
    cfg.link.heartbeat = Duration::ZERO;
    cfg.link.receipt_timeout = Duration::from_secs(30);
    cfg.queues.close_timeout = Duration::from_millis(300);
    cfg.link.close_timeout = Duration::from_millis(300);
    let (client, _ev) = GcClient::connect(cfg).await.expect("connect");
    // Fill the socket: large requests the broker never reads.
    let big = "9".repeat(60_000);
    for _ in 0..400 {
        let c = client.clone();
        let number = big.clone();
        tokio::spawn(async move {
            let _ = c.send("1001", Command::MakeCall { number }).await;
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = Instant::now();
    client.close().await;
    let took = t.elapsed();
    assert!(
        // The stuck write alone would hold it for the 30 s write timeout; the margin
        // is for a loaded machine.
        took < Duration::from_millis(300)
            + cce::gc::client::CLOSE_SLACK
            + Duration::from_millis(2500),
        "close took {took:?}"
    );
    task.abort();
}
