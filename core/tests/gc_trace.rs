//! The GC wire trace: `trace_file` records every STOMP frame in and out, without the
//! broker passcode or the agent's password.

mod gc_common;

use cce::gc::client::GcClient;
use cce::gc::command::Command;
use cce::sim::gc::broker::StompBroker;
use cce::sim::gc::{GcSimConfig, GcSimulator, SimFormat};
use gc_common::*;
use serde_json::Value as Json;

const PASSWORD: &str = "Wire-Pw-8341";
const PASSCODE: &str = "Broker-Pc-5527";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_file_records_frames_both_ways_without_secrets() {
    let b = StompBroker::start("127.0.0.1:0").await.expect("broker");
    let addr = b.local_addr().to_string();
    let queue = unique("Connector");
    let mut sim_cfg = GcSimConfig::new(&addr);
    sim_cfg.request_queue = queue.clone();
    sim_cfg.format = SimFormat::Json;
    let agent = "1001";
    for a in sim_cfg.agents.iter_mut().filter(|a| a.id == agent) {
        a.password = PASSWORD.into();
    }
    let _sim = GcSimulator::start(sim_cfg).await.expect("simulator");

    let path = std::env::temp_dir().join(format!("{}.jsonl", unique("gc-trace")));
    let _ = std::fs::remove_file(&path);
    let cfg = cce::api::gc_config_from_json(
        &serde_json::json!({
            "brokers": addr,
            "destination": unique("crm-trace"),
            "request_queue": queue,
            "broker_login": "crm",
            "broker_passcode": PASSCODE,
            "trace_file": path.to_string_lossy(),
        })
        .to_string(),
    )
    .expect("config");
    let (client, mut events) = GcClient::connect(cfg).await.expect("connects");
    client
        .send(
            agent,
            Command::Login {
                password: PASSWORD.into(),
                extension: "4001".into(),
            },
        )
        .await
        .expect("login sent");
    wait_for(&mut events, "NOT_READY", state(agent, "NOT_READY")).await;
    client.close().await;

    let text = std::fs::read_to_string(&path).expect("trace file");
    let _ = std::fs::remove_file(&path);
    assert!(!text.contains(PASSWORD), "password in the trace:\n{text}");
    assert!(!text.contains(PASSCODE), "passcode in the trace:\n{text}");
    let recs: Vec<Json> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record per line"))
        .collect();
    let find = |dir: &str, command: &str| {
        recs.iter()
            .find(|r| r["dir"] == dir && r["command"] == command)
            .unwrap_or_else(|| panic!("no {dir} {command} record in:\n{text}"))
    };
    let connect = find("out", "CONNECT");
    assert_eq!(connect["headers"]["passcode"], "<redacted>");
    assert_eq!(connect["headers"]["login"], "crm");
    assert!(connect["size"].as_u64().is_some_and(|n| n > 0));
    assert!(connect["time"].as_f64().is_some_and(|t| t > 0.0));
    find("in", "CONNECTED");
    find("out", "SUBSCRIBE");
    find("out", "DISCONNECT");
    let login = recs
        .iter()
        .find(|r| {
            r["dir"] == "out"
                && r["headers"]["type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Login#"))
        })
        .unwrap_or_else(|| panic!("no Login SEND in:\n{text}"));
    assert_eq!(login["command"], "SEND");
    assert_eq!(login["body"], "<redacted>");
    // The events that followed the login came in as MESSAGE frames with their bodies.
    assert!(
        recs.iter().any(|r| r["dir"] == "in"
            && r["command"] == "MESSAGE"
            && r["body"].as_str().is_some_and(|b| b.contains("NOT_READY"))),
        "no NOT_READY MESSAGE in:\n{text}"
    );
}
