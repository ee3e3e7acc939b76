//! Broker restart against a real ActiveMQ: the client reconnects, resubscribes, recovers
//! its agent and keeps working. Needs `CCE_STOMP_ADDR` and `CCE_BROKER_CTL` (the
//! `scripts/activemq.sh` that started the broker); `make test-gc` sets both. Kept in its
//! own test binary so that no other test shares the broker while it restarts.

mod gc_common;

use std::time::Duration;

use cce::gc::client::{ClientError, ClientEvent};
use cce::gc::command::Command;
use cce::gc::session::Notice;
use cce::sim::gc::SimFormat;
use gc_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activemq_restart_client_reconnects_and_keeps_working() {
    let (addr, ctl) = match (
        std::env::var("CCE_STOMP_ADDR"),
        std::env::var("CCE_BROKER_CTL"),
    ) {
        (Ok(a), Ok(c)) if !a.is_empty() && !c.is_empty() => (a, c),
        _ => {
            assert!(
                std::env::var_os("CCE_REQUIRE_BROKER").is_none(),
                "CCE_REQUIRE_BROKER is set but CCE_STOMP_ADDR/CCE_BROKER_CTL are not"
            );
            eprintln!("SKIPPED: CCE_STOMP_ADDR/CCE_BROKER_CTL not set; run `make test-gc`");
            return;
        }
    };
    let queue = unique("Connector");
    let sim = sim(&addr, &queue, SimFormat::Json).await;
    let (client, mut ev) = logged_in(
        client_config(&unique("crm"), std::slice::from_ref(&addr), &queue),
        "1001",
        "4001",
    )
    .await;

    // Stop the broker, check that commands fail while it is down, start it again.
    let stop = {
        let ctl = ctl.clone();
        tokio::task::spawn_blocking(move || std::process::Command::new(ctl).arg("stop").status())
    };
    assert!(
        stop.await.expect("join").expect("run ctl").success(),
        "broker stops"
    );
    wait_for(&mut ev, "Disconnected", |e| {
        matches!(e, ClientEvent::Disconnected { .. })
    })
    .await;
    let e = client
        .send("1001", Command::MakeReady)
        .await
        .expect_err("down");
    assert!(matches!(e, ClientError::NotConnected(_)), "{e}");
    let port = addr
        .rsplit_once(':')
        .map(|(_, p)| p.to_owned())
        .expect("port");
    let start = tokio::task::spawn_blocking(move || {
        std::process::Command::new(ctl)
            .arg("start")
            .arg(port)
            .status()
    });
    assert!(
        start.await.expect("join").expect("run ctl").success(),
        "broker starts"
    );

    wait_for(&mut ev, "Connected", |e| {
        matches!(e, ClientEvent::Connected { .. })
    })
    .await;
    assert!(
        sim.wait_linked(Duration::from_secs(30)).await,
        "simulator relinks"
    );
    // The client's Hello may have reached the broker before the simulator resubscribed;
    // the GC queue keeps it, so recovery completes either way.
    wait_for(&mut ev, "Recovery", |e| {
        matches!(e, ClientEvent::Notice(Notice::Recovery { .. }))
    })
    .await;
    // The simulator is fresh from the agent's point of view only if it lost state; it
    // did not (same process), so GetState answers.
    wait_for(&mut ev, "State after recovery", gc("State", "1001")).await;
    client
        .send("1001", Command::MakeReady)
        .await
        .expect("works again");
    wait_for(&mut ev, "READY", state("1001", "READY")).await;
    client.close().await;
    sim.stop().await;
}
