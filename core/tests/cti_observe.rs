//! Session statistics and the wire trace: a sans-IO session on a fake clock gives exact
//! latencies, and a session against the simulator counts what its trace file shows.

use std::time::{Duration, Instant};

use cce::cti::client::Client;
use cce::cti::codec::{self, Message};
use cce::cti::session::{Session, SessionConfig, SessionEvent};
use cce::cti::spec;
use cce::cti::stats::metrics_text;
use cce::cti::trace::WireTrace;
use cce::sim::cti::{CtiSimulator, SimConfig};
use serde_json::Value as Json;

const SECRET: &str = "hunter2-secret";

fn open(cfg: SessionConfig, t0: Instant) -> Session {
    let version = cfg.version;
    let mut s = Session::new(cfg).unwrap();
    s.start(t0).unwrap();
    let open = codec::decode(&s.poll_transmit().unwrap(), version).unwrap();
    let mut conf = Message::new("OPEN_CONF", version).unwrap();
    conf.set_int("InvokeID", open.invoke_id().unwrap().into())
        .unwrap();
    s.receive(&codec::encode(&conf, version).unwrap(), t0);
    assert!(matches!(s.poll_event(), Some(SessionEvent::Opened(_))));
    s
}

fn reply(name: &str, id: u32) -> bytes::Bytes {
    let mut m = Message::new(name, 24).unwrap();
    m.set_int("InvokeID", id.into()).unwrap();
    codec::encode(&m, 24).unwrap()
}

#[test]
fn heartbeat_round_trips_and_request_latencies_follow_the_clock() {
    let mut cfg = SessionConfig::new("stats-clock", 24);
    cfg.heartbeat_interval = Some(Duration::from_secs(5));
    let stats = cfg.stats.clone();
    let t0 = Instant::now();
    let mut s = open(cfg, t0);

    // Heartbeats answered after 10 ms and 30 ms.
    for (i, rtt) in [(1u32, 10u64), (2, 30)] {
        let at = t0 + Duration::from_secs(5 * u64::from(i));
        s.handle_timeout(at);
        let req = codec::decode(&s.poll_transmit().unwrap(), 24).unwrap();
        assert_eq!(req.name(), "HEARTBEAT_REQ");
        let conf = reply("HEARTBEAT_CONF", req.invoke_id().unwrap());
        s.receive(&conf, at + Duration::from_millis(rtt));
    }
    // Four requests answered after 1, 2, 3 and 100 ms.
    let t1 = t0 + Duration::from_secs(11);
    for ms in [1u64, 2, 3, 100] {
        let q = Message::new("QUERY_AGENT_STATE_REQ", 24).unwrap();
        let id = s.send_request(q, None, t1).unwrap();
        s.poll_transmit().unwrap();
        let conf = reply("QUERY_AGENT_STATE_CONF", id);
        s.receive(&conf, t1 + Duration::from_millis(ms));
    }

    let snap = stats.snapshot(t1 + Duration::from_millis(600));
    assert_eq!(snap.heartbeats, 2);
    assert_eq!(snap.heartbeat_rtt_last, Some(Duration::from_millis(30)));
    assert_eq!(snap.heartbeat_rtt_avg, Some(Duration::from_millis(20)));
    assert_eq!(snap.heartbeat_rtt_max, Some(Duration::from_millis(30)));
    assert_eq!(snap.requests, 4);
    assert_eq!(snap.latency_p50, Some(Duration::from_millis(2)));
    assert_eq!(snap.latency_p99, Some(Duration::from_millis(100)));
    assert_eq!(snap.since_last_frame, Some(Duration::from_millis(500)));
    // OPEN_REQ, 2 heartbeats, 4 requests out; OPEN_CONF and their 6 answers in.
    assert_eq!((snap.frames_out, snap.frames_in), (7, 7));
    assert_eq!(snap.opens, 1);
}

#[test]
fn undecodable_and_unknown_frames_are_counted_and_traced_as_hex() {
    let dir = std::env::temp_dir().join(format!("cce-observe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.jsonl");
    let _ = std::fs::remove_file(&path);
    let mut cfg = SessionConfig::new("stats-bad", 24);
    cfg.trace = WireTrace::file(&path).unwrap();
    let stats = cfg.stats.clone();
    let t0 = Instant::now();
    let mut s = open(cfg, t0);
    // A MessageType outside the catalogue, and a HEARTBEAT_CONF with a 2-byte body.
    let mut unknown = vec![0, 0, 0, 2, 0, 0, 0x27, 0x0f];
    unknown.extend_from_slice(&[0xab, 0xcd]);
    s.receive(&unknown, t0);
    let hb = spec::message_by_name("HEARTBEAT_CONF").unwrap().msg_type;
    let mut short = vec![0, 0, 0, 2];
    short.extend_from_slice(&hb.to_be_bytes());
    short.extend_from_slice(&[0x01, 0x02]);
    s.receive(&short, t0);
    let snap = stats.snapshot(t0);
    assert_eq!((snap.unrecognized, snap.decode_errors), (1, 1));
    assert_eq!(snap.frames_in, 3);

    let text = std::fs::read_to_string(&path).unwrap();
    let recs: Vec<Json> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 4, "{text}");
    assert_eq!(recs[1]["name"], "OPEN_CONF");
    let open_size = recs[1]["size"].as_u64().unwrap();
    assert_eq!(snap.bytes_in, open_size + 10 + 10);
    assert_eq!(recs[2]["name"], "UNKNOWN");
    assert_eq!(recs[2]["hex"], "abcd");
    assert_eq!(recs[3]["name"], "HEARTBEAT_CONF");
    assert_eq!(recs[3]["hex"], "0102");
    assert_eq!(recs[3]["size"], 10);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn stats_of_a_simulator_session_match_its_wire_trace() {
    let sim = CtiSimulator::start(SimConfig::default()).await.unwrap();
    let dir = std::env::temp_dir().join(format!("cce-observe-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wire.jsonl");
    let _ = std::fs::remove_file(&path);

    let mut cfg = SessionConfig::new("stats-sim", 24);
    cfg.services = spec::constant("CTI Service Masks", "CTI_SERVICE_CLIENT_EVENTS").unwrap();
    cfg.peripheral_id = 5000;
    cfg.agent_id = Some("1001".into());
    cfg.client_password = SECRET.into();
    cfg.trace = WireTrace::file(&path).unwrap();
    let stats = cfg.stats.clone();
    let (client, _events) = Client::connect(sim.local_addr(), cfg).await.unwrap();
    for _ in 0..3 {
        let mut q = Message::new("QUERY_AGENT_STATE_REQ", 24).unwrap();
        q.set_str("AgentID", "1001").unwrap();
        client.request(q, None).await.unwrap();
    }
    let metrics = metrics_text();
    client.close().await;

    let snap = stats.snapshot(Instant::now());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(SECRET), "secret in the trace");
    let recs: Vec<Json> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let out: Vec<&Json> = recs.iter().filter(|r| r["dir"] == "out").collect();
    let inn: Vec<&Json> = recs.iter().filter(|r| r["dir"] == "in").collect();
    let names: Vec<&str> = out.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "OPEN_REQ",
            "QUERY_AGENT_STATE_REQ",
            "QUERY_AGENT_STATE_REQ",
            "QUERY_AGENT_STATE_REQ",
            "CLOSE_REQ"
        ]
    );
    assert_eq!(out[0]["msg"]["ClientPassword"], "<redacted>");
    assert_eq!(out[0]["msg"]["ClientID"], "stats-sim");
    let sum = |rs: &[&Json]| rs.iter().map(|r| r["size"].as_u64().unwrap()).sum::<u64>();
    assert_eq!(snap.frames_out, out.len() as u64);
    assert_eq!(snap.frames_in, inn.len() as u64);
    assert_eq!(snap.bytes_out, sum(&out));
    assert_eq!(snap.bytes_in, sum(&inn));
    assert_eq!(snap.requests, 3);
    assert!(snap.latency_p50.unwrap() <= snap.latency_p99.unwrap());
    assert_eq!((snap.decode_errors, snap.opens, snap.reconnects), (0, 1, 0));
    assert!(
        metrics.contains(&format!(
            "cce_cti_requests_total{{session=\"{}\",client_id=\"stats-sim\"}} 3",
            snap.session
        )),
        "{metrics}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
