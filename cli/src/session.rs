//! The connection options shared by `tap`, `record` and `agent`, and opening the session.

use std::time::Duration;

use cce::cti::connection::{ConnectionConfig, CtiConnection, CtiEvents};
use cce::cti::session::{Mode, SessionConfig};
use clap::{Args, ValueEnum};

/// Environment variable holding the OPEN_REQ ClientPassword (never a command-line
/// argument, which other users can see).
pub const PASSWORD_ENV: &str = "CCE_CTI_PASSWORD";

/// Session kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SessionMode {
    /// All events of the peripheral (CTI_SERVICE_ALL_EVENTS).
    Bridge,
    /// Peripheral monitor.
    Monitor,
    /// Client events of one agent (needs --agent).
    Agent,
}

/// Where and how to open the CTI session.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// CTI Server (side A) host:port.
    #[arg(long, short = 'a')]
    pub address: String,
    /// Side B of a duplex pair, host:port (enables failover).
    #[arg(long)]
    pub address_b: Option<String>,
    /// Protocol version (15 to 25).
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(15..=25))]
    pub version: u32,
    /// OPEN_REQ ClientID.
    #[arg(long, default_value = "cce-cli")]
    pub client_id: String,
    /// PeripheralID (Client Events sessions).
    #[arg(long)]
    pub peripheral: Option<u32>,
    /// Heartbeat interval in seconds (0: no heartbeats).
    #[arg(long, default_value_t = 0)]
    pub heartbeat: u64,
}

impl ConnectArgs {
    /// The connection configuration for `mode` (agent/instrument for Client Events).
    pub fn config(
        &self,
        mode: Mode,
        agent: Option<&str>,
        instrument: Option<&str>,
    ) -> ConnectionConfig {
        let mut s = SessionConfig::new(self.client_id.clone(), self.version).with_mode(mode);
        if let Ok(p) = std::env::var(PASSWORD_ENV) {
            s.client_password = p.into();
        }
        s.agent_id = agent.map(str::to_owned);
        s.agent_instrument = instrument.map(str::to_owned);
        if let Some(p) = self.peripheral {
            s.peripheral_id = p;
        }
        if self.heartbeat > 0 {
            s.heartbeat_interval = Some(Duration::from_secs(self.heartbeat));
        }
        let mut c = ConnectionConfig::new(s, self.address.clone());
        c.side_b = self.address_b.clone();
        // Failover only makes sense with two sides; a simplex session ends with the server.
        c.auto_reconnect = self.address_b.is_some();
        c
    }
}

/// Opens the session.
pub async fn open(cfg: ConnectionConfig) -> Result<(CtiConnection, CtiEvents), String> {
    let addr = cfg.side_a.clone();
    CtiConnection::connect(cfg)
        .await
        .map_err(|e| format!("cannot open a session with {addr}: {e}"))
}

/// The library mode of a session kind.
pub fn mode(m: SessionMode) -> Mode {
    match m {
        SessionMode::Bridge => Mode::Bridge,
        SessionMode::Monitor => Mode::Monitor,
        SessionMode::Agent => Mode::Agent,
    }
}
