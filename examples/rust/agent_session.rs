//! Connect to a CTI Server (or the simulator) as an agent desktop and print events.
//!
//! Usage: `cargo run -p libcce --example agent_session -- HOST:PORT AGENT_ID [VERSION]`.
//! Without arguments it starts the embedded simulator and runs against it, so the
//! example is exercised by the test suite.

use std::time::Duration;

use cce::cti::client::{Client, ClientEvent};
use cce::cti::codec::{json, Message};
use cce::cti::session::SessionConfig;
use cce::cti::spec;
use cce::sim::cti::{CtiSimulator, SimConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sim = if args.is_empty() {
        Some(CtiSimulator::start(SimConfig::default()).await?)
    } else {
        None
    };
    let address = match &sim {
        Some(s) => s.local_addr().to_string(),
        None => args[0].clone(),
    };
    let agent = args.get(1).cloned().unwrap_or_else(|| "1001".into());
    let version: u32 = args.get(2).map(|v| v.parse()).transpose()?.unwrap_or(24);

    let mut cfg = SessionConfig::new("agent-session-example", version);
    cfg.services = spec::constant("CTI Service Masks", "CTI_SERVICE_CLIENT_EVENTS").unwrap_or(1);
    cfg.agent_id = Some(agent.clone());
    cfg.heartbeat_interval = Some(Duration::from_secs(30));
    let (client, mut events) = Client::connect(address.as_str(), cfg).await?;
    println!("{}", json::to_json_string(client.open_conf()));

    let mut query = Message::new("QUERY_AGENT_STATE_REQ", version)?;
    query.set_str("AgentID", &agent)?;
    let state = client.request(query, None).await?;
    println!("{}", json::to_json_string(&state));

    if sim.is_some() {
        // Against the simulator there is nothing more to wait for.
        client.close().await;
        return Ok(());
    }
    while let Some(ev) = events.recv().await {
        match ev {
            ClientEvent::Message(m) => println!("{}", m.json()),
            ClientEvent::Closed(reason) => {
                eprintln!("session ended: {reason:?}");
                break;
            }
            other => eprintln!("{other:?}"),
        }
    }
    Ok(())
}
