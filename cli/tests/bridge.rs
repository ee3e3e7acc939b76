//! `cce bridge`: a simulated call's events reach two STOMP subscribers, and a request
//! from one of them reaches the simulator and its confirmation comes back.
//!
//! Runs on the ActiveMQ broker of `CCE_STOMP_ADDR` (`make test-gc` starts one), else on
//! the embedded STOMP broker; with `CCE_REQUIRE_BROKER=1` a missing ActiveMQ is a failure.

mod common;

use cce::gc::transport::{
    BrokerAddr, Destination, Link, LinkEvent, LinkOptions, OutMessage, StompTransport, Transport,
};
use cce::sim::cti::{CtiSimulator, SimAgent, SimCall, SimConfig, SimDialedNumber};
use cce::sim::gc::broker::StompBroker;
use common::*;
use serde_json::{json, Value as Json};

fn config() -> SimConfig {
    let mut a = SimAgent::new("1001", "5001");
    a.skill_groups = vec![10];
    SimConfig {
        agents: vec![a],
        dialed_numbers: vec![SimDialedNumber {
            number: "8000".into(),
            skill_group: 10,
        }],
        ..SimConfig::default()
    }
}

async fn subscriber(broker: &str, subs: &[Destination]) -> Link {
    StompTransport::new(LinkOptions::default())
        .connect(&BrokerAddr::new(broker), subs)
        .await
        .expect("subscriber connects")
}

/// Messages of `link` (destination, JSON body) until one satisfies `f`.
async fn until(link: &mut Link, f: impl Fn(&Json) -> bool) -> Vec<(String, Json)> {
    let mut got = Vec::new();
    loop {
        let ev = tokio::time::timeout(LINE_TIMEOUT, link.events.recv())
            .await
            .expect("a message in time")
            .expect("link open");
        let LinkEvent::Message(m) = ev else {
            panic!("subscriber link closed: {ev:?}");
        };
        let j: Json = serde_json::from_slice(&m.body).expect("JSON body");
        let dest = m.destination.map(|d| d.stomp_name()).unwrap_or_default();
        let done = f(&j);
        got.push((dest, j));
        if done {
            return got;
        }
    }
}

fn names(got: &[(String, Json)], dest: &str) -> Vec<String> {
    got.iter()
        .filter(|(d, _)| d == dest)
        .filter_map(|(_, j)| j["name"].as_str().map(str::to_owned))
        .collect()
}

fn in_order(names: &[String], wanted: &[&str]) -> bool {
    let mut it = names.iter();
    wanted.iter().all(|w| it.any(|n| n == w))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_fans_out_a_call_and_answers_requests() {
    let (broker, _embedded) = match std::env::var("CCE_STOMP_ADDR") {
        Ok(a) if !a.is_empty() => (a, None),
        _ => {
            assert!(
                std::env::var_os("CCE_REQUIRE_BROKER").is_none(),
                "CCE_REQUIRE_BROKER is set but CCE_STOMP_ADDR is not"
            );
            let b = StompBroker::start("127.0.0.1:0").await.expect("broker");
            (b.local_addr().to_string(), Some(b))
        }
    };
    let sim = CtiSimulator::start(config()).await.expect("simulator");
    let tag = format!(
        "cce-bridge-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    let mut cmd = cce();
    cmd.args(["bridge", "--address", &sim.local_addr().to_string()])
        .args(["--broker", &broker, "--stats-every", "0"])
        .args([
            "--peripheral-topic",
            &format!("{tag}.peripheral.{{peripheral}}"),
        ])
        .args(["--agent-topic", &format!("{tag}.agent.{{agent}}")])
        .args(["--request-queue", &format!("{tag}.requests")]);
    let mut bridge = Proc::spawn(cmd, false);
    tokio::task::block_in_place(|| {
        bridge.until(|j| j["event"] == "broker" && j["state"] == "connected")
    });

    let peripheral = format!("/topic/{tag}.peripheral.5000");
    let agent = format!("/topic/{tag}.agent.1001");
    let reply = Destination::Queue(format!("{tag}.reply.1"));
    let mut one = subscriber(
        &broker,
        &[
            Destination::from_stomp(&peripheral).expect("topic"),
            reply.clone(),
        ],
    )
    .await;
    let mut two = subscriber(
        &broker,
        &[
            Destination::from_stomp(&peripheral).expect("topic"),
            Destination::from_stomp(&agent).expect("topic"),
        ],
    )
    .await;

    // A call: the agent becomes available, a call is delivered, answered, hung up.
    sim.set_agent_state("1001", "AGENT_STATE_AVAILABLE", 0)
        .expect("agent state");
    let id = sim
        .offer_call(&SimCall {
            ani: "5551234".into(),
            dnis: "8000".into(),
            ..SimCall::default()
        })
        .expect("offer");
    sim.answer_call(id, None).expect("answer");
    sim.hangup(id).expect("hangup");
    let flow = [
        "BEGIN_CALL_EVENT",
        "CALL_DELIVERED_EVENT",
        "CALL_ESTABLISHED_EVENT",
        "CALL_CLEARED_EVENT",
        "END_CALL_EVENT",
    ];
    let end = |j: &Json| j["name"] == "END_CALL_EVENT";
    let got_one = until(&mut one, end).await;
    assert!(
        in_order(&names(&got_one, &peripheral), &flow),
        "{got_one:?}"
    );
    let got_two = until(&mut two, |j| j["name"] == "END_CALL_EVENT").await;
    assert!(
        in_order(&names(&got_two, &peripheral), &flow),
        "{got_two:?}"
    );
    // The agent's topic has its state and its calls.
    let agent_names = names(&got_two, &agent);
    assert!(
        in_order(&agent_names, &["AGENT_STATE_EVENT", "CALL_DELIVERED_EVENT"]),
        "{got_two:?}"
    );
    let delivered = got_one
        .iter()
        .find(|(_, j)| j["name"] == "CALL_DELIVERED_EVENT")
        .map(|(_, j)| j)
        .expect("delivered");
    assert_eq!(delivered["message"]["ANI"], "5551234");

    // A request from subscriber one reaches the simulator; the answer comes back to it.
    let not_ready =
        cce::cti::spec::constant("AgentState Values", "AGENT_STATE_NOT_READY").expect("constant");
    let body = json!({
        "reply_to": reply.stomp_name(), "correlation_id": "r-1",
        "message": {"MessageName": "SET_AGENT_STATE_REQ", "PeripheralID": 5000,
                    "AgentState": not_ready, "AgentInstrument": "5001", "AgentID": "1001",
                    "EventReasonCode": 7}
    });
    one.sender
        .send(OutMessage {
            destination: Destination::Queue(format!("{tag}.requests")),
            jms_type: String::new(),
            body: body.to_string(),
            properties: vec![],
        })
        .await
        .expect("request sent");
    let answer = until(&mut one, |j| j["correlation_id"] == "r-1").await;
    let (dest, answer) = answer.last().expect("answer");
    assert_eq!(dest, &reply.stomp_name());
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(
        answer["confirmation"]["MessageName"],
        "SET_AGENT_STATE_CONF"
    );
    assert_eq!(sim.agent_state("1001"), Some(not_ready as u16));

    // A request that cannot be encoded gets a failed answer.
    let bad = json!({"reply_to": reply.stomp_name(), "correlation_id": "r-2",
                     "message": {"MessageName": "NO_SUCH_REQ"}});
    one.sender
        .send(OutMessage {
            destination: Destination::Queue(format!("{tag}.requests")),
            jms_type: String::new(),
            body: bad.to_string(),
            properties: vec![],
        })
        .await
        .expect("request sent");
    let answer = until(&mut one, |j| j["correlation_id"] == "r-2").await;
    assert_eq!(
        answer.last().map(|(_, j)| &j["ok"]),
        Some(&Json::Bool(false))
    );

    // SIGTERM: a clean close, with the counters.
    bridge.terminate();
    let rest = tokio::task::block_in_place(|| bridge.rest());
    let stats = rest
        .iter()
        .find(|j| j["event"] == "stats")
        .expect("stats line");
    assert!(stats["published"].as_u64() >= Some(10), "{stats}");
    assert_eq!(stats["dropped"], 0);
    assert_eq!(stats["requests"], 2);
    assert!(rest.iter().any(|j| j["name"] == "SESSION_CLOSED"));
    assert_eq!(tokio::task::block_in_place(|| bridge.wait()), Some(0));
    one.sender.close().await;
    two.sender.close().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_reconnects_to_the_broker_and_keeps_what_it_queued() {
    let broker = StompBroker::start("127.0.0.1:0").await.expect("broker");
    let addr = broker.local_addr().to_string();
    let sim = CtiSimulator::start(config()).await.expect("simulator");
    let mut cmd = cce();
    cmd.args(["bridge", "--address", &sim.local_addr().to_string()])
        .args(["--broker", &addr, "--stats-every", "0"]);
    let mut bridge = Proc::spawn(cmd, false);
    let connected = |j: &Json| j["event"] == "broker" && j["state"] == "connected";
    tokio::task::block_in_place(|| bridge.until(connected));

    // The broker goes away; an event happens meanwhile.
    broker.stop().await;
    tokio::task::block_in_place(|| {
        bridge.until(|j| j["event"] == "broker" && j["state"] == "lost")
    });
    sim.set_agent_state("1001", "AGENT_STATE_AVAILABLE", 0)
        .expect("agent state");
    // It comes back on the same address; the bridge reconnects.
    let broker = StompBroker::start(&addr).await.expect("broker again");
    tokio::task::block_in_place(|| bridge.until(connected));
    let topic = Destination::Topic("cce.cti.agent.1001".into());
    let mut sub = subscriber(&addr, std::slice::from_ref(&topic)).await;
    sim.set_agent_state("1001", "AGENT_STATE_NOT_READY", 3)
        .expect("agent state");
    let got = until(&mut sub, |j| {
        j["message"]["AgentState_name"] == "AGENT_STATE_NOT_READY"
    })
    .await;
    assert_eq!(got.last().map(|(d, _)| d.clone()), Some(topic.stomp_name()));

    bridge.terminate();
    let rest = tokio::task::block_in_place(|| bridge.rest());
    let stats = rest
        .iter()
        .find(|j| j["event"] == "stats")
        .expect("stats line");
    assert_eq!(stats["broker_connects"], 2, "{stats}");
    assert_eq!(stats["dropped"], 0, "{stats}");
    assert_eq!(stats["failed"], 0, "{stats}");
    // Every event (the outage's too) was published at least to its peripheral topic.
    assert!(stats["events"].as_u64() >= Some(3), "{stats}");
    assert!(
        stats["published"].as_u64() >= stats["events"].as_u64(),
        "{stats}"
    );
    assert_eq!(tokio::task::block_in_place(|| bridge.wait()), Some(0));
    sub.sender.close().await;
    broker.stop().await;
    sim.stop().await;
}
