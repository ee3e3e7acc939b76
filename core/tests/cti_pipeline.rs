//! The event pipeline's bounds: event queue back-pressure and overrun, bounded command
//! queue, timers while a write is pending, bounded close, close racing a request.
//! Each test runs a scripted CTI Server on 127.0.0.1 (ephemeral port).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cce::cti::client::{Client, ClientEvent};
use cce::cti::codec::{self, FrameSplitter, Message};
use cce::cti::connection::{ConnectionConfig, CtiConnection, CtiEvent};
use cce::cti::session::{CloseReason, RequestError, SessionConfig};
use cce::queue::{OverrunPolicy, QueueLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const V: u32 = 24;

/// What the scripted server does after OPEN_CONF.
#[derive(Clone, Copy)]
enum Script {
    /// Writes `n` AGENT_STATE_EVENTs as fast as the client takes them; reads and
    /// drops everything the client sends (answers CLOSE_REQ only when `close_conf`).
    Blast { n: usize },
    /// Stops reading; never writes again.
    Deaf,
    /// Reads requests without answering them; answers CLOSE_REQ with CLOSE_CONF.
    Silent,
    /// Drops the connection right after OPEN_CONF.
    Drop,
}

struct Server {
    addr: std::net::SocketAddr,
    /// Events written so far (Blast).
    written: Arc<AtomicUsize>,
}

fn msg(name: &str, invoke: u32) -> Message {
    let mut m = Message::new(name, V).expect("catalogue message");
    if invoke != 0 {
        m.set_int("InvokeID", invoke.into()).expect("InvokeID");
    }
    m
}

fn agent_event(i: usize) -> bytes::Bytes {
    let mut m = msg("AGENT_STATE_EVENT", 0);
    m.set_int("AgentState", 3)
        .and_then(|m| m.set_str("AgentID", &format!("{:08}", i % 100_000_000)))
        .and_then(|m| m.set_str("AgentExtension", "5001-extension"))
        .and_then(|m| m.set_str("AgentInstrument", "5001-instrument"))
        .expect("fields");
    codec::encode(&m, V).expect("encodes")
}

async fn read_message(stream: &mut TcpStream, splitter: &mut FrameSplitter) -> Option<Message> {
    let mut buf = [0u8; 4096];
    loop {
        if let Ok(Some(frame)) = splitter.next_frame() {
            return codec::decode_frame(&frame, V, codec::DecodeOptions::tolerant()).ok();
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => splitter.push(&buf[..n]),
        }
    }
}

async fn serve(script: Script) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let written = Arc::new(AtomicUsize::new(0));
    let progress = written.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let progress = progress.clone();
            tokio::spawn(async move {
                let mut splitter = FrameSplitter::new();
                let Some(open) = read_message(&mut stream, &mut splitter).await else {
                    return;
                };
                let mut conf = msg("OPEN_CONF", open.invoke_id().unwrap_or(0));
                conf.set_int("PeripheralOnline", 1).expect("field");
                let bytes = codec::encode(&conf, V).expect("encodes");
                if stream.write_all(&bytes).await.is_err() {
                    return;
                }
                match script {
                    Script::Drop => {}
                    Script::Blast { n } => {
                        let (mut rd, mut wr) = stream.into_split();
                        tokio::spawn(async move {
                            let mut buf = [0u8; 4096];
                            while matches!(rd.read(&mut buf).await, Ok(n) if n > 0) {}
                        });
                        let event = agent_event(7);
                        for _ in 0..n {
                            if wr.write_all(&event).await.is_err() {
                                return;
                            }
                            progress.fetch_add(1, Ordering::SeqCst);
                        }
                        // Keep the connection open until the client goes.
                        let _ = wr.write_all(&[]).await;
                        std::future::pending::<()>().await;
                    }
                    Script::Deaf => {
                        let _keep = stream;
                        std::future::pending::<()>().await;
                    }
                    Script::Silent => {
                        while let Some(m) = read_message(&mut stream, &mut splitter).await {
                            if m.name() == "CLOSE_REQ" {
                                let conf = msg("CLOSE_CONF", m.invoke_id().unwrap_or(0));
                                let bytes = codec::encode(&conf, V).expect("encodes");
                                let _ = stream.write_all(&bytes).await;
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    Server { addr, written }
}

fn cfg(events: usize) -> SessionConfig {
    let mut c = SessionConfig::new("pipeline-test", V);
    c.event_queue = QueueLimits {
        max_events: events,
        max_bytes: 64 * 1024 * 1024,
    };
    c.close_timeout = Duration::from_millis(300);
    c
}

/// Waits (up to 20 s) until `cond` holds, checking every 5 ms.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// More bytes than the loopback socket buffers of both ends can hold.
const MANY: usize = 200_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_stops_reading_while_timers_run_and_nothing_is_lost() {
    let server = serve(Script::Blast { n: MANY }).await;
    let (client, mut events) = Client::connect(server.addr, cfg(100)).await.expect("opens");
    eventually("a full queue", || client.queue_stats().depth_events == 100).await;

    // Reading is paused, timers are not: a request gets its timeout on time.
    let mut query = msg("QUERY_AGENT_STATE_REQ", 0);
    query.set_str("AgentID", "1001").expect("field");
    let started = Instant::now();
    let r = client
        .request(query, Some(Duration::from_millis(200)))
        .await;
    assert_eq!(r, Err(RequestError::Timeout(Duration::from_millis(200))));
    assert!(started.elapsed() < Duration::from_secs(3));

    let stats = client.queue_stats();
    assert_eq!(stats.high_water_events, 100, "{stats:?}");
    let written = server.written.load(Ordering::SeqCst);
    assert!(
        written < MANY,
        "the server was not pushed back: {written} written"
    );

    // Every event arrives, in order, once the application reads.
    let mut got = 0;
    while got < MANY {
        match tokio::time::timeout(Duration::from_secs(20), events.recv()).await {
            Ok(Some(ClientEvent::Message(m))) => {
                assert_eq!(m.name(), "AGENT_STATE_EVENT");
                got += 1;
            }
            other => panic!("after {got} events: {other:?}"),
        }
    }
    let stats = client.queue_stats();
    assert!(stats.high_water_events <= 100, "{stats:?}");
    assert_eq!(stats.dropped, 0);
    assert_eq!(client.close().await, CloseReason::CloseTimeout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrun_close_ends_the_session_and_counts_the_drops() {
    let server = serve(Script::Blast { n: MANY }).await;
    let mut c = cfg(50);
    c.overrun = OverrunPolicy::Close;
    let (client, mut events) = Client::connect(server.addr, c).await.expect("opens");
    eventually("the overrun close", || client.is_closed()).await;
    let mut messages = 0;
    let last = loop {
        match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
            Ok(Some(ClientEvent::Message(_))) => messages += 1,
            Ok(Some(ClientEvent::Closed(r))) => break r,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(last, CloseReason::ConsumerOverrun);
    assert!(messages <= 50, "{messages} events kept");
    let stats = client.queue_stats();
    assert!(stats.dropped > 0, "{stats:?}");
    assert!(stats.high_water_events <= 51, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_fills_the_command_queue_and_close_still_returns() {
    let server = serve(Script::Deaf).await;
    let mut c = cfg(100);
    c.command_queue = 8;
    let (client, _events) = Client::connect(server.addr, c).await.expect("opens");
    let mut big = msg("QUERY_AGENT_STATE_REQ", 0);
    big.set_str("AgentID", "1001").expect("field");
    let mut refused = None;
    for i in 0..2_000_000 {
        match client.send(big.clone()) {
            Ok(_) => {}
            Err(e) => {
                refused = Some((i, e));
                break;
            }
        }
        if i % 1024 == 0 {
            // Let the connection task write what it can.
            tokio::task::yield_now().await;
        }
    }
    let (sent, err) = refused.expect("the command queue never filled");
    assert_eq!(err, RequestError::QueueFull(8), "after {sent} sends");
    // A request fails at once too.
    let started = Instant::now();
    assert_eq!(
        client.request(big.clone(), None).await,
        Err(RequestError::QueueFull(8))
    );
    assert!(started.elapsed() < Duration::from_millis(500));

    // The write is stuck; close still ends within its timeout (300 ms) plus a little.
    let started = Instant::now();
    assert_eq!(client.close().await, CloseReason::CloseTimeout);
    assert!(
        started.elapsed() < Duration::from_millis(300 + 1000),
        "close took {:?}",
        started.elapsed()
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_racing_a_request_answers_closed_every_time() {
    let server = serve(Script::Silent).await;
    for round in 0..20 {
        let mut c = ConnectionConfig::new(cfg(100), server.addr.to_string());
        c.auto_reconnect = true;
        let (conn, _events) = CtiConnection::connect(c).await.expect("opens");
        let requester = conn.clone();
        let request = tokio::spawn(async move {
            let mut q = msg("QUERY_AGENT_STATE_REQ", 0);
            q.set_str("AgentID", "1001").expect("field");
            requester.request(q, Some(Duration::from_secs(30))).await
        });
        if round % 2 == 0 {
            tokio::task::yield_now().await;
        }
        let reason = conn.close().await;
        assert_eq!(reason, CloseReason::Closed, "round {round}");
        match request.await.expect("request task") {
            Err(RequestError::SessionClosed(_)) => {}
            other => panic!("round {round}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_bounds_what_the_application_has_not_taken() {
    let server = serve(Script::Blast { n: MANY }).await;
    let mut c = ConnectionConfig::new(cfg(300), server.addr.to_string());
    c.model_events = false;
    let (conn, mut events) = CtiConnection::connect(c).await.expect("opens");
    // The application queue (300) plus the connection's internal hop (a quarter of it,
    // at least 64: 75) at most.
    eventually("a full pipeline", || conn.queue_stats().depth_events >= 300).await;
    let stats = conn.queue_stats();
    assert!(stats.high_water_events <= 300 + 75 + 2, "{stats:?}");
    assert!(server.written.load(Ordering::SeqCst) < MANY);
    // Closing drops nothing by itself: the events stay for the application.
    let mut got = 0;
    while got < 1000 {
        match events.recv().await {
            Some(CtiEvent::Message(_)) => got += 1,
            Some(CtiEvent::Connection(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    let started = Instant::now();
    conn.close().await;
    assert!(started.elapsed() < Duration::from_millis(300 + 1000));
}

#[test]
fn closing_through_the_facade_drops_and_counts_queued_events() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt.block_on(serve(Script::Blast { n: 5_000 }));
    let config = format!(
        r#"{{"address":"{}","client_id":"facade","event_queue_events":1000,"close_timeout_ms":300}}"#,
        server.addr
    );
    let session = cce::api::CtiSession::open(&config).expect("opens");
    let deadline = Instant::now() + Duration::from_secs(20);
    while session.queue_stats().depth_events < 1000 {
        assert!(Instant::now() < deadline, "queue never filled");
        std::thread::sleep(Duration::from_millis(5));
    }
    let closed = session.close().expect("closes");
    assert!(closed.contains("SESSION_CLOSED"), "{closed}");
    let stats = session.queue_stats();
    assert!(stats.dropped >= 1000, "{stats:?}");
    let last = session
        .next_event(Some(Duration::from_secs(1)))
        .expect("the final event")
        .expect("not a timeout");
    assert!(
        last.last && last.json().contains("SESSION_CLOSED"),
        "{}",
        last.json()
    );
    assert!(session.next_event(Some(Duration::ZERO)).is_err());
    assert!(session.queue_stats_json().contains("\"dropped\""));
    drop(rt);
}

/// Through a connection (the facade), `"overrun":"close"` ends the session when the
/// application's queue is at its bound, not when an internal hop fills; `delivered`
/// counts what the application took.
#[test]
fn facade_overrun_close_fires_at_the_application_bound() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt.block_on(serve(Script::Blast { n: 5_000 }));
    let config = format!(
        r#"{{"address":"{}","client_id":"facade","event_queue_events":1000,"overrun":"close","close_timeout_ms":300}}"#,
        server.addr
    );
    let session = cce::api::CtiSession::open(&config).expect("opens");
    // The application reads nothing until the session gave up.
    let deadline = Instant::now() + Duration::from_secs(20);
    while session.queue_stats().dropped == 0 {
        assert!(
            Instant::now() < deadline,
            "never overran: {:?}",
            session.queue_stats()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut messages = 0u64;
    let last = loop {
        let ev = session
            .next_event(Some(Duration::from_secs(20)))
            .expect("events")
            .expect("not a timeout");
        if ev.last {
            break ev;
        }
        messages += 1;
    };
    assert!(last.json().contains("ConsumerOverrun"), "{}", last.json());
    let stats = session.queue_stats();
    assert!(
        stats.high_water_events >= 1000,
        "closed before the application's bound: {stats:?}"
    );
    // The queue held the initial (undelivered) CONNECTION_STATE and 999 messages.
    assert!(messages >= 999, "{messages} events before the close");
    assert!(stats.dropped > 0, "{stats:?}");
    // Every event taken counted once: the messages, the final SESSION_CLOSED and the
    // initial CONNECTION_STATE the facade takes but does not hand out.
    assert_eq!(stats.delivered, messages + 2, "{stats:?}");
    drop(rt);
}

#[test]
fn bad_queue_settings_are_refused() {
    for bad in [
        r#"{"address":"127.0.0.1:1","client_id":"x","event_queue_events":0}"#,
        r#"{"address":"127.0.0.1:1","client_id":"x","command_queue":0}"#,
        r#"{"address":"127.0.0.1:1","client_id":"x","overrun":"drop"}"#,
    ] {
        let e = cce::api::connection_config_from_json(bad).expect_err(bad);
        assert_eq!(e.kind, cce::api::ErrorKind::InvalidArgument, "{bad}");
    }
    let (c, _) = cce::api::connection_config_from_json(
        r#"{"address":"127.0.0.1:1","client_id":"x","event_queue_events":5,"event_queue_bytes":4096,"overrun":"close","command_queue":3}"#,
    )
    .expect("valid");
    assert_eq!(c.session.event_queue.max_events, 5);
    assert_eq!(c.session.event_queue.max_bytes, 4096);
    assert_eq!(c.session.overrun, OverrunPolicy::Close);
    assert_eq!(c.session.command_queue, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_without_a_reader_stays_bounded() {
    let server = serve(Script::Drop).await;
    let mut c = ConnectionConfig::new(cfg(50), server.addr.to_string());
    c.model_events = false;
    let (conn, _events) = CtiConnection::connect(c).await.expect("opens");
    let started = Instant::now();
    let mut max = 0;
    while started.elapsed() < Duration::from_secs(3) {
        max = max.max(conn.queue_stats().depth_events);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(max <= 50 + 64 + 4, "{:?}", conn.queue_stats());
    let started = Instant::now();
    conn.close().await;
    assert!(started.elapsed() < Duration::from_secs(2));
}
