//! The facade's futures (`*_async`) run through `api::tasks::spawn`, as the Python
//! and Node bindings run them: open, batches of events, a request, close.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use cce::api::{tasks, CtiSession, CtiSim, Error, ErrorKind};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

/// Runs `fut` on the library runtime and waits for its answer on this thread.
fn run<T: Send + 'static>(
    fut: impl std::future::Future<Output = Result<T, Error>> + Send + 'static,
) -> Result<T, Error> {
    let (tx, rx) = mpsc::channel();
    tasks::spawn(fut, move |r| {
        let _ = tx.send(r);
    });
    rx.recv_timeout(WAIT).expect("the task answers")
}

fn names(batch: &[cce::api::EventOut]) -> Vec<String> {
    batch.iter().map(|e| e.name().to_owned()).collect()
}

#[test]
fn cti_session_futures_open_batch_request_close() {
    let sim = CtiSim::start("{}").expect("simulator");
    let config = json!({"address": sim.address().to_string(), "client_id": "async",
                        "agent_id": "1001", "peripheral_id": 5000, "open_timeout_ms": 5000,
                        "services": "CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL"})
    .to_string();
    let session =
        Arc::new(run(async move { CtiSession::open_async(&config).await }).expect("opens"));

    // Nothing queued yet: a short wait ends with an empty batch.
    let s = session.clone();
    let empty = run(async move {
        s.next_events_async(16, Some(Duration::from_millis(20)))
            .await
    })
    .expect("waits");
    assert!(empty.is_empty(), "unexpected events {:?}", names(&empty));

    // A request through the future.
    let s = session.clone();
    let (t, conf) = run(async move {
        s.call_json_async("query_agent_state", r#"{"AgentID":"1001"}"#, Some(WAIT))
            .await
    })
    .expect("answered");
    let conf: Value = serde_json::from_str(&conf).expect("JSON");
    assert_eq!(conf["MessageName"], "QUERY_AGENT_STATE_CONF");
    assert_eq!(conf["MessageType"], t);

    // A scripted call to an available agent: its events come in batches, in order, each at most `max`.
    sim.set_agent_state("1001", "AGENT_STATE_AVAILABLE", 0)
        .expect("available");
    let call_id = sim
        .inject_call(r#"{"ani":"5551234","dnis":"8000"}"#)
        .expect("call");
    let mut got = Vec::new();
    while !got
        .iter()
        .any(|e: &cce::api::EventOut| e.name() == "END_CALL_EVENT")
    {
        let s = session.clone();
        let batch =
            run(async move { s.next_events_async(3, Some(WAIT / 2)).await }).expect("events");
        assert!(
            !batch.is_empty() && batch.len() <= 3,
            "batch of {}",
            batch.len()
        );
        got.extend(batch);
    }
    let begin = got
        .iter()
        .find(|e| e.name() == "BEGIN_CALL_EVENT")
        .expect("BEGIN_CALL_EVENT");
    assert_eq!(begin.field_json("ConnectionCallID"), Some(json!(call_id)));
    assert_eq!(begin.field_json("ANI"), Some(json!("5551234")));
    let at = |n: &str| got.iter().position(|e| e.name() == n);
    assert!(at("BEGIN_CALL_EVENT") < at("END_CALL_EVENT"));

    let s = session.clone();
    let closed = run(async move { s.close_async().await }).expect("closes");
    assert!(closed.contains("SESSION_CLOSED"), "{closed}");
    // The final event, then Closed.
    let s = session.clone();
    let last = run(async move { s.next_events_async(8, Some(WAIT)).await }).expect("last");
    assert_eq!(names(&last), ["SESSION_CLOSED"]);
    let s = session.clone();
    let after = run(async move { s.next_events_async(8, Some(WAIT)).await });
    assert_eq!(after.map(|_| ()).unwrap_err().kind, ErrorKind::Closed);
}

#[test]
fn open_async_reports_a_typed_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closed.local_addr().expect("addr").to_string();
    drop(closed);
    let config = json!({"address": addr, "client_id": "x", "connect_timeout_ms": 2000,
                        "open_timeout_ms": 2000})
    .to_string();
    let err = run(async move { CtiSession::open_async(&config).await })
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(
            err.kind,
            ErrorKind::Io | ErrorKind::Timeout | ErrorKind::Disconnected
        ),
        "{err:?}"
    );
}
