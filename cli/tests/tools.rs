//! `cce tap`, `record`/`replay` and `agent` against the simulator.

mod common;

use cce::sim::cti::replay::Recording;
use cce::sim::cti::{CtiSimulator, SimAgent, SimCall, SimConfig, SimDialedNumber};
use common::*;
use serde_json::Value as Json;

/// The inbound call of examples/scenarios/inbound_call.json, as a bridge sees it.
const CALL_FLOW: [&str; 5] = [
    "BEGIN_CALL_EVENT",
    "CALL_DELIVERED_EVENT",
    "CALL_ESTABLISHED_EVENT",
    "CALL_CLEARED_EVENT",
    "END_CALL_EVENT",
];

fn in_order(names: &[String], wanted: &[&str]) -> bool {
    let mut it = names.iter();
    wanted.iter().all(|w| it.any(|n| n == w))
}

#[test]
fn tap_prints_the_inbound_calls_events() {
    // The simulator waits for its first client before playing the scenario.
    let (sim, addr) = sim_with_scenario("inbound_call.json");
    let mut tap = Proc::spawn(
        {
            let mut c = cce();
            c.args(["tap", "--address", &addr, "--until", "END_CALL_EVENT"]);
            c
        },
        false,
    );
    let lines = tap.rest();
    assert_eq!(tap.wait(), Some(0));
    let names = event_names(&lines);
    assert!(in_order(&names, &CALL_FLOW), "{names:?}");
    let delivered = lines
        .iter()
        .find(|j| j["name"] == "CALL_DELIVERED_EVENT")
        .expect("CALL_DELIVERED_EVENT");
    assert_eq!(delivered["message"]["ANI"], "5551234");
    assert!(delivered["time"].as_f64().is_some_and(|t| t > 0.0));
    assert_eq!(
        lines.last().map(|j| &j["name"]),
        Some(&Json::from("SESSION_CLOSED"))
    );
    drop(sim);

    // --filter keeps only the named messages.
    let (_sim, addr) = sim_with_scenario("inbound_call.json");
    let mut tap = Proc::spawn(
        {
            let mut c = cce();
            c.args(["tap", "--address", &addr, "--until", "END_CALL_EVENT"])
                .args(["--filter", "BEGIN_CALL_EVENT,END_CALL_EVENT"]);
            c
        },
        false,
    );
    let lines = tap.rest();
    assert_eq!(tap.wait(), Some(0));
    assert_eq!(event_names(&lines), ["BEGIN_CALL_EVENT", "END_CALL_EVENT"]);
}

#[test]
fn tap_reports_a_refused_connection() {
    // A port nothing listens on: bind one, learn it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let out = cce()
        .args(["tap", "--address", &format!("127.0.0.1:{port}")])
        .output()
        .expect("run cce");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open a session"));
}

#[test]
fn record_then_replay_gives_the_same_event_sequence() {
    let file = temp_path("recording.jsonl");
    let (sim, addr) = sim_with_scenario("inbound_call.json");
    let mut rec = Proc::spawn(
        {
            let mut c = cce();
            c.args([
                "record",
                "--address",
                &addr,
                "--until",
                "END_CALL_EVENT",
                "--out",
            ])
            .arg(&file);
            c
        },
        false,
    );
    let summary = rec.rest();
    assert_eq!(rec.wait(), Some(0));
    drop(sim);
    assert!(
        summary.iter().any(|j| j["recorded"].as_u64() > Some(5)),
        "{summary:?}"
    );
    let recording = Recording::read(std::io::BufReader::new(
        std::fs::File::open(&file).expect("recording"),
    ))
    .expect("a valid recording");
    let recorded: Vec<String> = recording
        .frames
        .iter()
        .filter(|f| f.name != "OPEN_CONF" && f.dir == cce::sim::cti::replay::Direction::In)
        .map(|f| f.name.clone())
        .collect();
    assert!(in_order(&recorded, &CALL_FLOW), "{recorded:?}");

    // Replay it (without waits) to a new client with another ClientID.
    let replay = Proc::spawn(
        {
            let mut c = cce();
            c.arg("replay")
                .arg(&file)
                .args(["--port", "0", "--speed", "0", "--sessions", "1"]);
            c
        },
        false,
    );
    let listening = replay.next();
    let raddr = listening["address"].as_str().expect("address").to_owned();
    let mut tap = Proc::spawn(
        {
            let mut c = cce();
            c.args(["tap", "--address", &raddr, "--client-id", "someone-else"])
                .args(["--until", "END_CALL_EVENT"]);
            c
        },
        false,
    );
    let lines = tap.rest();
    assert_eq!(tap.wait(), Some(0));
    assert_eq!(event_names(&lines), recorded);
    // Same messages, field for field.
    let replayed: Vec<&Json> = lines
        .iter()
        .filter(|j| j["direction"] == "in" && j["name"] != "OPEN_CONF")
        .map(|j| &j["message"])
        .collect();
    for (f, got) in recording
        .frames
        .iter()
        .filter(|f| f.name != "OPEN_CONF" && f.dir == cce::sim::cti::replay::Direction::In)
        .zip(replayed)
    {
        let bytes = f.bytes().expect("hex");
        let m = cce::cti::codec::decode(&bytes, 24).expect("recorded frame decodes");
        assert_eq!(&cce::cti::codec::json::to_json(&m), got);
    }
    let done = replay.until(|j| j["event"] == "stopped");
    assert_eq!(done.last().map(|j| &j["sessions"]), Some(&Json::from(1)));
    let _ = std::fs::remove_file(&file);
}

fn agent_config() -> SimConfig {
    let mut a = SimAgent::new("1001", "5001");
    a.skill_groups = vec![10];
    // The consultation target.
    let b = SimAgent::new("1002", "5002");
    SimConfig {
        agents: vec![a, b],
        dialed_numbers: vec![SimDialedNumber {
            number: "8000".into(),
            skill_group: 10,
        }],
        ..SimConfig::default()
    }
}

#[test]
fn agent_drives_a_call_from_stdin() {
    use std::io::Write;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let sim = rt
        .block_on(CtiSimulator::start(agent_config()))
        .expect("simulator");
    let mut agent = Proc::spawn(
        {
            let mut c = cce();
            c.args(["agent", "--address", &sim.local_addr().to_string()])
                .args(["--agent", "1001", "--instrument", "5001"]);
            c
        },
        true,
    );
    let mut stdin = agent.child.stdin.take().expect("stdin");
    let mut say = |line: &str| {
        writeln!(stdin, "{line}").expect("write to cce agent");
    };
    let ok = |agent: &Proc, cmd: &str| {
        let got = agent.until(|j| j["command"] == cmd);
        let last = got.last().expect("result");
        assert_eq!(last["ok"], true, "{cmd}: {last}");
        // No command (a `wait` included) failed on the way.
        assert!(got.iter().all(|j| j["ok"] != false), "{got:?}");
        got
    };
    let state = |name: &str| cce::cti::spec::constant("AgentState Values", name).map(|v| v as u16);

    say("ready");
    ok(&agent, "ready");
    assert_eq!(sim.agent_state("1001"), state("AGENT_STATE_AVAILABLE"));

    let call = SimCall {
        ani: "5551234".into(),
        dnis: "8000".into(),
        ..SimCall::default()
    };
    let id = sim.offer_call(&call).expect("offer a call");
    say("wait CALL_DELIVERED_EVENT 30");
    say("answer");
    ok(&agent, "answer");
    say("wait CALL_ESTABLISHED_EVENT 30");
    let party = |sim: &CtiSimulator| {
        sim.calls()
            .into_iter()
            .find(|c| c.call_id == id)
            .and_then(|c| c.parties.into_iter().find(|(d, _)| d == "5001"))
            .map(|(_, s)| s)
    };
    assert_eq!(party(&sim).as_deref(), Some("LCS_CONNECT"));

    say("hold");
    ok(&agent, "hold");
    assert_eq!(party(&sim).as_deref(), Some("LCS_HOLD"));
    say("wait CALL_HELD_EVENT 30");
    say("retrieve");
    ok(&agent, "retrieve");
    assert_eq!(party(&sim).as_deref(), Some("LCS_CONNECT"));
    say("wait CALL_RETRIEVED_EVENT 30");
    say("status");
    let status = agent.until(|j| j["name"] == "STATUS");
    let status = status.last().expect("status");
    assert_eq!(status["calls"][0]["call_id"], Json::from(id));

    say("release");
    let got = ok(&agent, "release");
    say("wait END_CALL_EVENT 30");
    say("not-ready 7");
    let more = ok(&agent, "not-ready");
    assert!(
        got.iter()
            .chain(&more)
            .any(|j| j["name"] == "END_CALL_EVENT"),
        "{got:?} {more:?}"
    );
    assert!(party(&sim).is_none());
    assert_eq!(sim.agent_state("1001"), state("AGENT_STATE_NOT_READY"));

    // A second call, transferred to 5002 after a consultation.
    say("ready");
    ok(&agent, "ready");
    let id2 = sim.offer_call(&call).expect("offer a second call");
    say("wait CALL_DELIVERED_EVENT 30");
    say("answer");
    ok(&agent, "answer");
    say("wait CALL_ESTABLISHED_EVENT 30");
    say("consult 5002");
    ok(&agent, "consult");
    say("wait CALL_HELD_EVENT 30");
    say("transfer");
    ok(&agent, "transfer");
    let parties: Vec<String> = sim
        .calls()
        .into_iter()
        .find(|c| c.call_id == id2)
        .map(|c| c.parties.into_iter().map(|(d, _)| d).collect())
        .unwrap_or_default();
    assert!(parties.contains(&"5002".to_owned()), "{parties:?}");
    assert!(!parties.contains(&"5001".to_owned()), "{parties:?}");
    say("wait END_CALL_EVENT 30");
    say("not-ready 7");
    ok(&agent, "not-ready");

    // A command that cannot work is reported, and the run fails at the end.
    say("answer");
    let bad = agent.until(|j| j["command"] == "answer");
    assert_eq!(bad.last().map(|j| &j["ok"]), Some(&Json::Bool(false)));
    say("logout 3");
    ok(&agent, "logout");
    assert_eq!(sim.agent_state("1001"), state("AGENT_STATE_LOGOUT"));
    say("quit");
    let rest = agent.rest();
    assert!(
        rest.iter().any(|j| j["name"] == "SESSION_CLOSED"),
        "{rest:?}"
    );
    assert_eq!(agent.wait(), Some(1));
    rt.block_on(sim.stop());
}

#[test]
fn gc_and_ece_simulators_start_and_stop_on_sigterm() {
    for (args, ready) in [
        (vec!["sim", "gc", "--broker-port", "0"], "started"),
        (vec!["sim", "ece", "--port", "0"], "listening"),
    ] {
        let mut c = cce();
        c.args(&args);
        let mut p = Proc::spawn(c, false);
        let lines = p.until(|j| j["event"] == ready);
        let last = lines.last().expect("line");
        if args[1] == "gc" {
            assert!(
                last["broker"]
                    .as_str()
                    .is_some_and(|b| b.starts_with("127.0.0.1:")),
                "{last}"
            );
        } else {
            assert!(
                last["server_url"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("http://127.0.0.1:")),
                "{last}"
            );
        }
        p.terminate();
        assert_eq!(p.wait(), Some(0), "{args:?}");
    }
}
