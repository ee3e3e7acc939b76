//! Scenario scripts: every file in examples/scenarios parses and runs without a failed
//! step while a bridge watches; JSON step timing and call names work.

mod sim_common;

use std::path::PathBuf;

use cce::cti::codec::{self, Message};
use cce::cti::spec;
use cce::sim::cti::{CtiSimulator, Scenario, SimConfig};
use sim_common::*;

fn examples() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/scenarios")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

async fn run_example(path: PathBuf) {
    let text = std::fs::read_to_string(&path).unwrap();
    let sc = Scenario::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        sc.name.is_some() && sc.description.is_some(),
        "{}",
        path.display()
    );
    let sim = CtiSimulator::start(sc.config.clone().unwrap_or_default())
        .await
        .unwrap();
    let o = Open::bridge(24).services(svc(&[
        "CTI_SERVICE_ALL_EVENTS",
        "CTI_SERVICE_ACTIVE_STANDBY",
    ]));
    let (mut bridge, _) = Raw::open(sim.local_addr(), &o).await;
    // The bridge reads everything and plays its part in a maintenance handshake.
    let reader = tokio::spawn(async move {
        let mut frames = 0usize;
        while let Some(f) = bridge.recv_frame().await {
            frames += 1;
            let name = spec::message_by_type(f.msg_type).map_or("", |m| m.name);
            if name == "ACTIVE_MAINTENANCE_REQ_MSG" {
                let mut resp = Message::new("ACTIVE_MAINTENANCE_RESP_MSG", 24).unwrap();
                resp.set_int("MaintenanceModeAccepted", 1).unwrap();
                let invoke = u32::from_be_bytes([f.body[0], f.body[1], f.body[2], f.body[3]]);
                resp.set_int("InvokeID", invoke.into()).unwrap();
                bridge.send_bytes(&codec::encode(&resp, 24).unwrap()).await;
            } else if name == "ACTIVE_MAINTENANCE_EVENT_MSG" && f.body.as_ref() == [0, 1] {
                let stop = spec::message_by_name("STOPPING_REQUESTS_TO_THIS_SIDE_IND").unwrap();
                let raw = Message::raw(stop, bytes::Bytes::new());
                bridge.send_bytes(&codec::encode(&raw, 24).unwrap()).await;
            }
        }
        frames
    });
    let report = sim.run_scenario(&sc).await;
    assert!(
        report.errors.is_empty(),
        "{}: {:?}",
        path.display(),
        report.errors
    );
    assert_eq!(report.steps_run, sc.steps.len() * (sc.repeat as usize + 1));
    assert_eq!(sim.encode_errors(), 0, "{}", path.display());
    sim.stop().await;
    let frames = reader.await.unwrap();
    assert!(frames > 0, "{}: the bridge saw nothing", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_scenarios_run() {
    let files = examples();
    assert!(files.len() >= 5, "{files:?}");
    let runs: Vec<_> = files
        .into_iter()
        .map(|f| tokio::spawn(run_example(f)))
        .collect();
    for r in runs {
        r.await.unwrap();
    }
}

#[tokio::test]
async fn steps_run_in_order_with_names_and_errors_are_reported() {
    let sim = CtiSimulator::start(SimConfig::default()).await.unwrap();
    let (mut desk, _) = Raw::open(sim.local_addr(), &Open::agent(15, "1001")).await;
    let sc = Scenario::from_json(
        r#"{"steps":[
            {"op":"set_agent_state","agent_id":"1001","state":"AGENT_STATE_AVAILABLE"},
            {"after_ms":20,"op":"offer_call","name":"c1","ani":"5551234","dnis":"8000"},
            {"at_ms":40,"op":"answer_call","call":"c1"},
            {"op":"hangup","call":"c1"},
            {"op":"hangup","call":"c1"},
            {"op":"set_agent_state","agent_id":"nobody","state":"AGENT_STATE_AVAILABLE"}
        ],"repeat":1}"#,
    )
    .unwrap();
    let report = sim.run_scenario(&sc).await;
    assert_eq!(report.steps_run, 12);
    assert_eq!(report.errors.len(), 4, "{:?}", report.errors);
    assert!(report.errors[0].starts_with("step 4:"));
    assert!(report.results[1]["call_id"].is_u64());
    let got = desk.sync().await;
    let calls = got.iter().filter(|m| m.name() == "END_CALL_EVENT").count();
    assert_eq!(calls, 2, "one call per round");
    assert!(Scenario::from_json(r#"{"steps":[{"op":"kill_side"}]}"#).is_err());
    assert!(Scenario::from_json(r#"{"steps":[],"nope":1}"#).is_err());
    sim.stop().await;
}
