//! GC client ↔ simulator over the in-process STOMP broker (fast; no ActiveMQ needed).

mod gc_common;

use std::time::Duration;

use cce::gc::client::{ClientError, ClientEvent, GcClient};
use cce::gc::command::{Command, CommandError};
use cce::gc::event::EventKind;
use cce::gc::session::Notice;
use cce::sim::gc::broker::StompBroker;
use cce::sim::gc::SimFormat;
use gc_common::*;

async fn broker() -> (StompBroker, String) {
    let b = StompBroker::start("127.0.0.1:0").await.expect("broker");
    let addr = b.local_addr().to_string();
    (b, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_flow_json() {
    let (_b, addr) = broker().await;
    call_flow(&addr, SimFormat::Json).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_flow_text() {
    let (_b, addr) = broker().await;
    call_flow(&addr, SimFormat::Text).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_are_refused_before_sending() {
    let (_b, addr) = broker().await;
    let queue = unique("Connector");
    let sim = sim(&addr, &queue, SimFormat::Json).await;
    let (client, _ev) = logged_in(client_config("crm-sep", &[addr], &queue), "1001", "4001").await;
    let before = sim.requests().len();
    let e = client
        .send(
            "1001",
            Command::MakeCall {
                number: "555,1234".into(),
            },
        )
        .await
        .expect_err("refused");
    assert!(
        matches!(
            e,
            ClientError::Command(CommandError::Separator { found: ',', .. })
        ),
        "{e}"
    );
    let e = client
        .send("10#01", Command::GetState)
        .await
        .expect_err("refused");
    assert!(matches!(e, ClientError::Command(_)));
    client.send("1001", Command::GetState).await.expect("sent");
    // Only the valid GetState reached the GC.
    tokio::time::timeout(Duration::from_secs(5), async {
        while sim.requests().len() == before {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("GetState arrives");
    let after = sim.requests();
    assert_eq!(after.len(), before + 1);
    assert_eq!(after[before].jms_type, "GetState#1001");
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_errors_are_typed() {
    let (_b, addr) = broker().await;
    let queue = unique("Connector");
    let _sim = sim(&addr, &queue, SimFormat::Text).await;
    let (client, mut ev) = GcClient::connect(client_config("crm-err", &[addr], &queue))
        .await
        .expect("connect");
    client
        .send(
            "1001",
            Command::Login {
                password: "wrong".into(),
                extension: "4001".into(),
            },
        )
        .await
        .expect("sent");
    let e = wait_for(&mut ev, "Error", gc("Error", "1001")).await;
    match e {
        ClientEvent::Gc(e) => match e.kind {
            EventKind::Error { code, .. } => {
                assert_eq!(code.as_str(), "SUBSCRIPTION_FAILED");
                assert_eq!(
                    code.behaviour(),
                    cce::gc::errors::Behaviour::AskForCredentials
                );
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    client
        .send(
            "1001",
            Command::Login {
                password: "secret".into(),
                extension: "40a1".into(),
            },
        )
        .await
        .expect("sent");
    wait_for(&mut ev, "WRONG_EXTENSION", |e| {
        matches!(e, ClientEvent::Gc(g) if matches!(&g.kind,
        EventKind::Error { code, .. } if code.as_str() == "WRONG_EXTENSION"))
    })
    .await;
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_reconnects_and_recovers() {
    let (b, addr) = broker().await;
    let queue = unique("Connector");
    let sim = sim(&addr, &queue, SimFormat::Json).await;
    let (client, mut ev) = logged_in(
        client_config("crm-restart", std::slice::from_ref(&addr), &queue),
        "1001",
        "4001",
    )
    .await;

    b.stop().await;
    wait_for(&mut ev, "Disconnected", |e| {
        matches!(e, ClientEvent::Disconnected { .. })
    })
    .await;
    // While down, commands fail with a typed error: never queued or dropped silently.
    let e = client
        .send("1001", Command::MakeReady)
        .await
        .expect_err("not connected");
    assert!(matches!(e, ClientError::NotConnected(_)), "{e}");

    let _b2 = StompBroker::start(&addr)
        .await
        .expect("broker restarts on the same port");
    wait_for(&mut ev, "Connected", |e| {
        matches!(e, ClientEvent::Connected { .. })
    })
    .await;
    assert!(
        sim.wait_linked(Duration::from_secs(10)).await,
        "simulator relinks"
    );
    // Hello → IN_SERVICE → Connect + GetState for the agent (recovery).
    let rec = wait_for(&mut ev, "Recovery", |e| {
        matches!(e, ClientEvent::Notice(Notice::Recovery { .. }))
    })
    .await;
    assert!(
        matches!(rec, ClientEvent::Notice(Notice::Recovery { ref agents, .. }) if agents == &["1001"])
    );
    wait_for(&mut ev, "state after recovery", gc("State", "1001")).await;
    client
        .send("1001", Command::MakeReady)
        .await
        .expect("works again");
    wait_for(&mut ev, "READY", state("1001", "READY")).await;
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_to_the_second_gc_when_heartbeats_go_unanswered() {
    let (_b1, a1) = broker().await;
    let (_b2, a2) = broker().await;
    let queue = unique("Connector");
    let sim1 = sim(&a1, &queue, SimFormat::Json).await;
    let sim2 = sim(&a2, &queue, SimFormat::Text).await;
    let mut cfg = client_config("crm-fo", &[a1.clone(), a2.clone()], &queue);
    cfg.session.heartbeat_interval = Duration::from_millis(150);
    cfg.session.heartbeat_misses = 2;
    let (client, mut ev) = logged_in(cfg, "1001", "4001").await;
    assert_eq!(client.state().broker.as_deref(), Some(a1.as_str()));

    sim1.set_answer_heartbeats(false);
    wait_for(&mut ev, "GcUnreachable", |e| {
        matches!(e, ClientEvent::Notice(Notice::GcUnreachable { .. }))
    })
    .await;
    let c = wait_for(&mut ev, "Connected to the second broker", |e| {
        matches!(e, ClientEvent::Connected { .. })
    })
    .await;
    assert!(matches!(c, ClientEvent::Connected { ref broker } if broker == &a2));
    // GC 2 does not know the agent yet: recovery binds it (Connect + GetState) and
    // GC 2 answers RE_LOGIN, upon which the client logs in again by itself.
    wait_for(&mut ev, "ReLogin", |e| {
        matches!(e, ClientEvent::Notice(Notice::ReLogin { .. }))
    })
    .await;
    wait_for(&mut ev, "NOT_READY on GC 2", state("1001", "NOT_READY")).await;
    assert_eq!(sim2.agent_state("1001").as_deref(), Some("NOT_READY"));
    assert!(sim1.unanswered_heartbeats() >= 2);
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relogin_reconnect_destination_and_invalidation() {
    let (_b, addr) = broker().await;
    let queue = unique("Connector");
    let sim = sim(&addr, &queue, SimFormat::Text).await;
    let (client, mut ev) = logged_in(
        client_config("crm-a", std::slice::from_ref(&addr), &queue),
        "1001",
        "4001",
    )
    .await;

    // RE_LOGIN (O-007): the client re-sends Connect + Login itself.
    sim.forget_agent("1001").expect("forget");
    client.send("1001", Command::MakeReady).await.expect("send");
    wait_for(&mut ev, "RE_LOGIN", state("1001", "RE_LOGIN")).await;
    wait_for(&mut ev, "ReLogin notice", |e| {
        matches!(e, ClientEvent::Notice(Notice::ReLogin { attempt: 1, .. }))
    })
    .await;
    wait_for(
        &mut ev,
        "NOT_READY after re-login",
        state("1001", "NOT_READY"),
    )
    .await;

    // RECONNECT (O-023): Connect + GetState, then the echoed request is replayed.
    sim.reconnect_next("1001").expect("reconnect");
    client.send("1001", Command::MakeReady).await.expect("send");
    wait_for(&mut ev, "Reconnect", gc("Reconnect", "1001")).await;
    wait_for(&mut ev, "READY after replay", state("1001", "READY")).await;
    let reqs: Vec<String> = sim.requests().iter().map(|r| r.jms_type.clone()).collect();
    let tail: Vec<&str> = reqs
        .iter()
        .rev()
        .take(3)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(tail, ["Connect#1001", "GetState#1001", "MakeReady#1001"]);

    // DESTINATION#crm-a#RECONNECT (O-026): Hello, then Connect + GetState.
    sim.destination_reconnect("crm-a").expect("o-026");
    wait_for(&mut ev, "Recovery (destination)", |e| matches!(e, ClientEvent::Notice(Notice::Recovery { reason, .. }) if reason == "destination")).await;

    // The same agent logs in from another destination: the first loses its session.
    let (_other, mut ev2) =
        logged_in(client_config("crm-b", &[addr], &queue), "1001", "4001").await;
    wait_for(&mut ev, "SessionInvalidated", |e| {
        matches!(e, ClientEvent::Notice(Notice::SessionInvalidated { .. }))
    })
    .await;
    assert_eq!(sim.agent_destination("1001").as_deref(), Some("crm-b"));
    let _ = wait_for(&mut ev2, "AgentInfo on b", gc("AgentInfo", "1001")).await;
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_team_queries_and_subscription() {
    let (_b, addr) = broker().await;
    let queue = unique("Connector");
    let _sim = sim(&addr, &queue, SimFormat::Json).await;
    let (sup, mut sev) = logged_in(
        client_config("crm-sup", std::slice::from_ref(&addr), &queue),
        "9001",
        "4009",
    )
    .await;
    sup.send(
        "9001",
        Command::GetTeamUsers {
            team_id: "1".into(),
            subscribe: true,
        },
    )
    .await
    .expect("send");
    wait_for(&mut sev, "Agents", |e| {
        matches!(e, ClientEvent::Gc(g) if matches!(&g.kind,
        EventKind::Agents { users, .. } if users.len() == 3))
    })
    .await;
    let (agent, mut aev) =
        logged_in(client_config("crm-agent", &[addr], &queue), "1002", "4002").await;
    agent.send("1002", Command::MakeReady).await.expect("send");
    wait_for(&mut aev, "READY", state("1002", "READY")).await;
    wait_for(&mut sev, "TeamMemberStateChanged", |e| matches!(e, ClientEvent::Gc(g) if matches!(&g.kind,
        EventKind::TeamMemberStateChanged { state, extra, .. } if state.as_str() == "READY" && extra == &["1002"]))).await;
    sup.send("9001", Command::GetQueueList).await.expect("send");
    wait_for(&mut sev, "QueueList", gc("QueueList", "9001")).await;
    sup.close().await;
    agent.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_fails_cleanly_without_a_broker() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    drop(l);
    let e = GcClient::connect(client_config("crm-x", &[addr], "Connector1"))
        .await
        .err()
        .expect("no broker");
    assert!(matches!(e, ClientError::Transport(_)), "{e}");
}
