//! `make demo` (GC part): an agent on the Generic Connector simulator over a broker.
//!
//! With `CCE_STOMP_ADDR=host:port` it uses that ActiveMQ broker (`make test-gc` starts
//! one; `scripts/activemq.sh start` prints the address). Without it, it says so and
//! runs on the embedded in-memory STOMP broker instead. It logs agent 1001 in, makes
//! it ready, plays one inbound call (answer, release), logs out, and prints every event
//! as one JSON line.

use std::time::Duration;

use cce::gc::client::{ClientConfig, ClientEvent, GcClient, GcEvents};
use cce::gc::command::Command;
use cce::gc::event::EventKind;
use cce::sim::gc::broker::StompBroker;
use cce::sim::gc::{GcSimConfig, GcSimulator};

/// Prints events until one satisfies `done`.
async fn until(
    events: &mut GcEvents,
    what: &str,
    done: impl Fn(&ClientEvent) -> bool,
) -> Result<ClientEvent, String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Some(ev)) => {
                println!("{}", ev.to_json());
                if done(&ev) {
                    return Ok(ev);
                }
            }
            Ok(None) => return Err(format!("events ended before {what}")),
            Err(_) => return Err(format!("no {what} within 10 s")),
        }
    }
}

fn agent_state(st: &'static str) -> impl Fn(&ClientEvent) -> bool {
    move |ev| {
        matches!(ev, ClientEvent::Gc(e) if matches!(&e.kind,
            EventKind::State { agent_id, state, .. } if agent_id == "1001" && state.as_str() == st))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (addr, _embedded) = match std::env::var("CCE_STOMP_ADDR") {
        Ok(a) if !a.is_empty() => {
            eprintln!("gc demo: using the ActiveMQ broker at {a}");
            (a, None)
        }
        _ => {
            let b = StompBroker::start("127.0.0.1:0").await?;
            let a = b.local_addr().to_string();
            eprintln!(
                "gc demo: no ActiveMQ broker available (CCE_STOMP_ADDR is not set); \
                 using the embedded in-memory STOMP broker at {a} instead"
            );
            (a, Some(b))
        }
    };
    let queue = format!("Connector-demo-{}", std::process::id());
    let mut sim_cfg = GcSimConfig::new(addr.clone());
    sim_cfg.request_queue = queue.clone();
    let sim = GcSimulator::start(sim_cfg).await?;

    let mut cfg = ClientConfig::new(format!("gc-demo-{}", std::process::id()), [addr]);
    cfg.request_queue = queue;
    let (client, mut events) = GcClient::connect(cfg).await?;
    client
        .send(
            "1001",
            Command::Login {
                password: "secret".into(),
                extension: "4001".into(),
            },
        )
        .await?;
    until(&mut events, "login", agent_state("NOT_READY")).await?;
    client.send("1001", Command::MakeReady).await?;
    until(&mut events, "READY", agent_state("READY")).await?;

    let dialog = sim.inject_call(
        "1001",
        "5551234",
        &[("callVariable1".into(), "acct-42".into())],
    )?;
    until(&mut events, "ringing", agent_state("RESERVED")).await?;
    client
        .send(
            "1001",
            Command::AnswerCall {
                dialog_id: dialog.clone(),
            },
        )
        .await?;
    until(&mut events, "TALKING", agent_state("TALKING")).await?;
    client
        .send("1001", Command::ReleaseCall { dialog_id: dialog })
        .await?;
    until(&mut events, "READY after the call", agent_state("READY")).await?;
    client.send("1001", Command::Logout).await?;
    until(&mut events, "LOGOUT", agent_state("LOGOUT")).await?;
    client.close().await;
    until(&mut events, "Closed", |e| matches!(e, ClientEvent::Closed)).await?;
    sim.stop().await;
    Ok(())
}
