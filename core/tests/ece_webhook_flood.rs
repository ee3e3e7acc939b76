//! Webhook starvation (issue 14, item 13): one client holding idle connections (and
//! reopening them when cut) must not keep authenticated POSTs from being served.
//! Everything on loopback (the flood from 127.0.0.1, ECE from 127.0.0.2: two peers),
//! bounded counts, no sleeps as synchronisation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cce::ece::webhook::WebhookAuth;
use cce::ece::webhook_server::{WebhookConfig, WebhookServer};
use cce::ece::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(5);

fn config() -> WebhookConfig {
    let mut c = WebhookConfig::new(WebhookAuth::Basic {
        username: "ece".into(),
        password: Secret::new("hook-pw"),
    });
    c.max_connections = 16;
    c.max_connections_per_peer = 8;
    // Long enough that only eviction, not the deadline, can free a slot in time.
    c.first_byte_timeout = Duration::from_secs(30);
    c.read_timeout = Duration::from_secs(10);
    c
}

/// Waits (with a deadline) until `cond` holds, checking between short pauses.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Reads until the server closes the connection; true if it did within `limit`.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(limit, async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await,
        Ok(())
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_posts_are_served_promptly_during_an_idle_connection_flood() {
    let (hook, mut events) = WebhookServer::start(config()).await.unwrap();
    let addr = hook.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    // 64 idle connections (4x the server's limit, 8x its per-peer limit), each reopened
    // as soon as it is cut.
    let mut flood = Vec::new();
    for _ in 0..64 {
        let stop = stop.clone();
        flood.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = TcpStream::connect(addr).await else {
                    continue;
                };
                // Hold it, sending nothing, until the server cuts it (or we stop).
                let _ = closed_within(&mut s, Duration::from_millis(500)).await;
            }
        }));
    }
    until("the flood to fill the server", || {
        hook.stats().evicted >= 32
    })
    .await;

    // ECE: another peer address (all of 127.0.0.0/8 is loopback).
    cce::ece::http::ensure_crypto_provider();
    let http = reqwest::Client::builder()
        .no_proxy()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .pool_max_idle_per_host(0)
        .timeout(WAIT)
        .build()
        .unwrap();
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let body = format!(
            r#"{{"message":[{{"conversation":{{"id":"f"}},"type":{{"value":"text/plain"}},"content":"{i}","id":"{i}"}}]}}"#
        );
        let t = Instant::now();
        let r = http
            .post(hook.url())
            .basic_auth("ece", Some("hook-pw"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {i} not answered: {e:?} {:?}", hook.stats()));
        assert_eq!(r.status(), 204, "POST {i}");
        slowest = slowest.max(t.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    assert!(
        slowest < Duration::from_secs(2),
        "slowest POST took {slowest:?}"
    );
    for i in 0..20 {
        let ev = tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ev.data.content.as_deref(), Some(i.to_string().as_str()));
    }
    let s = hook.stats();
    assert_eq!(s.accepted, 20);
    assert!(s.evicted >= 32, "{s:?}");
    for f in flood {
        f.await.unwrap();
    }
    hook.stop().await;
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_at_the_first_byte_deadline() {
    let mut cfg = config();
    cfg.first_byte_timeout = Duration::from_millis(200);
    let (hook, _events) = WebhookServer::start(cfg).await.unwrap();
    let mut idle = TcpStream::connect(hook.local_addr()).await.unwrap();
    let t = Instant::now();
    assert!(
        closed_within(&mut idle, WAIT).await,
        "idle connection kept open"
    );
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "closed after {:?}",
        t.elapsed()
    );
    hook.stop().await;
}

#[tokio::test]
async fn one_peer_is_capped_and_busy_connections_are_never_evicted() {
    let mut cfg = config();
    cfg.max_connections = 64;
    cfg.max_connections_per_peer = 4;
    // Idle connections of the same peer make room for a new one.
    let (hook0, _ev0) = WebhookServer::start(cfg.clone()).await.unwrap();
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(hook0.local_addr()).await.unwrap());
    }
    cce::ece::http::ensure_crypto_provider();
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(WAIT)
        .build()
        .unwrap();
    let r = http.post(hook0.url()).send().await.unwrap();
    assert_eq!(
        r.status(),
        401,
        "answered despite four idle connections of this peer"
    );
    assert!(hook0.stats().evicted >= 1);
    hook0.stop().await;

    let (hook, _events) = WebhookServer::start(cfg).await.unwrap();
    let addr = hook.local_addr();
    // Four connections that started a request (headers not finished): busy.
    let mut busy = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        busy.push(s);
    }
    until("the four requests to start", || hook.stats().evicted == 0).await;
    // A fifth connection of the same peer finds no idle one to evict: refused.
    let mut fifth = TcpStream::connect(addr).await.unwrap();
    assert!(
        closed_within(&mut fifth, WAIT).await,
        "fifth connection admitted"
    );
    assert_eq!(
        hook.stats().evicted,
        0,
        "busy connections are never evicted"
    );
    // The busy ones are still open: one finishes its request and gets an answer.
    let mut s = busy.remove(0);
    s.write_all(b"Content-Length: 0\r\n\r\n").await.unwrap();
    let mut head = [0u8; 12];
    tokio::time::timeout(WAIT, s.read_exact(&mut head))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&head, b"HTTP/1.1 401");
    hook.stop().await;
}
