//! `make demo`: the whole slice on the embedded simulator, no server needed.
//!
//! Starts the CTI simulator on a free loopback port, opens an agent session at
//! protocol version 24, sets the agent ready, plays one inbound call, prints every
//! event as one JSON line, closes and exits 0.

use std::time::Duration;

use cce::cti::client::{Client, ClientEvent};
use cce::cti::codec::{json, Message};
use cce::cti::session::{CloseReason, SessionConfig};
use cce::cti::spec;
use cce::sim::cti::{CtiSimulator, SimCall, SimConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = CtiSimulator::start(SimConfig::default()).await?;
    eprintln!("demo: CTI simulator listening on {}", sim.local_addr());

    let mut cfg = SessionConfig::new("libcce-demo", 24);
    cfg.services = spec::constant("CTI Service Masks", "CTI_SERVICE_CLIENT_EVENTS").unwrap_or(1)
        | spec::constant("CTI Service Masks", "CTI_SERVICE_CLIENT_CONTROL").unwrap_or(4);
    cfg.peripheral_id = 5000;
    cfg.agent_id = Some("1001".into());
    let (client, mut events) = Client::connect(sim.local_addr(), cfg).await?;
    println!("{}", json::to_json_string(client.open_conf()));

    let mut ready = Message::new("SET_AGENT_STATE_REQ", 24)?;
    ready
        .set_int("PeripheralID", 5000)?
        .set_int(
            "AgentState",
            spec::constant("AgentState Values", "AGENT_STATE_AVAILABLE").map_or(3, i64::from),
        )?
        .set_str("AgentInstrument", "5001")?;
    client.request(ready, None).await?;

    let mut call_started = false;
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .map_err(|_| "no event within 10 s")?
            .ok_or("event stream ended")?;
        let ClientEvent::Message(m) = ev else {
            return Err(format!("unexpected event: {ev:?}").into());
        };
        println!("{}", m.json());
        if m.name() == "AGENT_STATE_EVENT" && !call_started {
            call_started = true;
            sim.inject_call(&SimCall {
                ani: "5551234".into(),
                dnis: "8000".into(),
                call_variables: vec!["acct-42".into(), "gold".into()],
                named_variables: vec![("user.crm.case".into(), "C-1001".into())],
                ..SimCall::default()
            })?;
        }
        if m.name() == "END_CALL_EVENT" {
            break;
        }
    }
    match client.close().await {
        CloseReason::Closed => eprintln!("demo: session closed"),
        other => return Err(format!("close: {other:?}").into()),
    }
    sim.stop().await;
    Ok(())
}
