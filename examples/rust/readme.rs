use cce::cti::client::Client;
use cce::cti::codec::{json, Message};
use cce::cti::session::SessionConfig;
use cce::sim::cti::{CtiSimulator, SimConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = CtiSimulator::start(SimConfig::default()).await?;
    let mut cfg = SessionConfig::new("me", 24);
    cfg.agent_id = Some("1001".into());
    let address = sim.local_addr().to_string();
    let (client, _events) = Client::connect(address.as_str(), cfg).await?;
    let mut query = Message::new("QUERY_AGENT_STATE_REQ", 24)?;
    query.set_str("AgentID", "1001")?;
    let conf = client.request(query, None).await?;
    println!("{}", json::to_json_string(&conf));
    client.close().await;
    Ok(())
}
