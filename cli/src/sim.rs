//! `cce sim cti|gc|ece`: the simulators.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use cce::sim::cti::{CtiSimulator, LoadConfig, Scenario, Side, SimConfig, SimTls};
use cce::sim::ece::{EceSimConfig, EceSimulator};
use cce::sim::gc::broker::StompBroker;
use cce::sim::gc::{GcSimConfig, GcSimulator};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::out;
use crate::{CliResult, Exit};

/// `cce sim` without a simulator name runs the CTI Server simulator (as before).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SimArgs {
    #[command(subcommand)]
    kind: Option<SimCommand>,
    #[command(flatten)]
    cti: CtiSimArgs,
}

/// Which simulator.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// CTI Server simulator (GED-188), simplex or duplex.
    Cti(CtiSimArgs),
    /// Generic Connector simulator over STOMP (starts an embedded broker unless --broker).
    Gc(GcSimArgs),
    /// ECE simulator (Messaging API, chat web services).
    Ece(EceSimArgs),
}

/// `cce sim cti` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  cce sim cti --scenario examples/scenarios/inbound_call.json --port 42027"
)]
pub struct CtiSimArgs {
    /// JSON script of timed steps (examples/scenarios); its "config" is the simulator
    /// configuration unless --config is given.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Simulator configuration (JSON, see docs/simulator.md).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Side A port (0 picks a free port).
    #[arg(long)]
    port: Option<u16>,
    /// Also run side B (duplex pair) on this port.
    #[arg(long)]
    port_b: Option<u16>,
    /// Listen address (default 127.0.0.1, loopback only).
    #[arg(long)]
    bind: Option<IpAddr>,
    /// Accept only protocol version V (default: 15 to 25).
    #[arg(long, value_parser = clap::value_parser!(u32).range(15..=25))]
    version: Option<u32>,
    /// Run a load, e.g. '{"agents":1000,"calls_per_second":100,"calls":0}'.
    #[arg(long)]
    load: Option<String>,
    /// Start the scenario once this many client sessions are open (default 1;
    /// 0 with --exit-after-scenario).
    #[arg(long)]
    wait_clients: Option<usize>,
    /// Give up waiting for clients after this many seconds (exit 1).
    #[arg(long, default_value_t = 3600)]
    wait_timeout: u64,
    /// Stop when the scenario (and load) ends instead of serving on.
    #[arg(long)]
    exit_after_scenario: bool,
    /// Serve TLS too, with this certificate chain (PEM).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM: PKCS#8, RSA or EC).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require client certificates signed by this CA (mutual TLS).
    #[arg(long, requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// Side A's TLS port (default 42030; 0 picks a free port).
    #[arg(long, requires = "tls_cert")]
    tls_port: Option<u16>,
    /// Side B's TLS port (default 43030).
    #[arg(long, requires = "tls_cert")]
    tls_port_b: Option<u16>,
    /// TLS only: --port/--port-b speak TLS, no plain listener.
    #[arg(long, requires = "tls_cert")]
    secure_only: bool,
}

/// `cce sim gc` options.
#[derive(Debug, Args)]
pub struct GcSimArgs {
    /// Simulator configuration (JSON, see docs/gc.md); `broker` is taken from --broker.
    #[arg(long)]
    config: Option<PathBuf>,
    /// An existing STOMP broker host:port (default: an embedded broker).
    #[arg(long)]
    broker: Option<String>,
    /// Port of the embedded broker (0 picks a free port).
    #[arg(long, default_value_t = 61613)]
    broker_port: u16,
}

/// `cce sim ece` options.
#[derive(Debug, Args)]
pub struct EceSimArgs {
    /// Simulator configuration (JSON, see docs/ece.md).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Port (0 picks a free port; overrides the configuration's `bind` port).
    #[arg(long)]
    port: Option<u16>,
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs `cce sim ...`.
pub async fn run(a: SimArgs) -> CliResult {
    match a.kind {
        None => cti(a.cti).await,
        Some(SimCommand::Cti(c)) => cti(c).await,
        Some(SimCommand::Gc(g)) => gc(g).await,
        Some(SimCommand::Ece(e)) => ece(e).await,
    }
}

async fn serve_until_signal() -> CliResult {
    out::line(&json!({"event": "serving", "until": "Ctrl-C or SIGTERM"}));
    out::shutdown_signal().await;
    Ok(Exit::Ok)
}

/// Waits until `n` client sessions are open (polling; the simulator has no
/// notification for it), at most `timeout`.
async fn wait_clients(sim: &CtiSimulator, n: usize, timeout: Duration) -> Result<(), String> {
    if n == 0 {
        return Ok(());
    }
    out::line(&json!({"event": "waiting_for_clients", "clients": n}));
    let poll = async {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        while sim.session_count() < n {
            tick.tick().await;
        }
    };
    tokio::time::timeout(timeout, poll)
        .await
        .map_err(|_| format!("no {n} client session(s) within {} s", timeout.as_secs()))
}

async fn cti(o: CtiSimArgs) -> CliResult {
    let scenario = match &o.scenario {
        Some(p) => {
            Some(Scenario::from_json(&read(p)?).map_err(|e| format!("{}: {e}", p.display()))?)
        }
        None => None,
    };
    let mut cfg = match (&o.config, scenario.as_ref().and_then(|s| s.config.clone())) {
        (Some(p), _) => {
            SimConfig::from_json(&read(p)?).map_err(|e| format!("{}: {e}", p.display()))?
        }
        (None, Some(c)) => c,
        (None, None) => SimConfig::default(),
    };
    let ip = o.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    if o.port.is_some() || o.bind.is_some() || o.config.is_none() {
        cfg.bind = SocketAddr::new(ip, o.port.unwrap_or(42027));
    }
    if let Some(pb) = o.port_b {
        cfg.bind_b = Some(SocketAddr::new(ip, pb));
    } else if let Some(b) = cfg.bind_b.as_mut() {
        b.set_ip(ip);
    }
    if let Some(v) = o.version {
        cfg.protocol_version = Some(v);
    }
    if let (Some(cert), Some(key)) = (&o.tls_cert, &o.tls_key) {
        cfg.tls = Some(SimTls {
            cert_file: Some(cert.clone()),
            key_file: Some(key.clone()),
            client_ca_file: o.tls_client_ca.clone(),
            secure_only: o.secure_only,
            bind: SocketAddr::new(ip, o.tls_port.unwrap_or(42030)),
            bind_b: SocketAddr::new(ip, o.tls_port_b.unwrap_or(43030)),
            ..SimTls::default()
        });
    }
    let load = match &o.load {
        Some(j) => Some(LoadConfig::from_json(j).map_err(|e| format!("--load: {e}"))?),
        None => None,
    };
    let sim = CtiSimulator::start(cfg)
        .await
        .map_err(|e| format!("cannot start the simulator: {e}"))?;
    for side in [Side::A, Side::B] {
        if let Some(a) = sim.side_addr(side) {
            out::line(
                &json!({"event": "listening", "simulator": "cti", "side": format!("{side:?}"),
                              "address": a.to_string(), "state": format!("{:?}", sim.side_state(side)),
                              "tls_address": sim.side_tls_addr(side).map(|t| t.to_string())}),
            );
        }
    }
    let waiting = o
        .wait_clients
        .unwrap_or(if o.exit_after_scenario { 0 } else { 1 });
    if scenario.is_some() || load.is_some() {
        if let Err(e) = wait_clients(&sim, waiting, Duration::from_secs(o.wait_timeout)).await {
            sim.stop().await;
            return Err(e);
        }
    }
    let load = match load {
        Some(l) => Some(sim.start_load(l).map_err(|e| format!("--load: {e}"))?),
        None => None,
    };
    if let Some(sc) = &scenario {
        out::line(&json!({"event": "scenario_started", "name": sc.name, "steps": sc.steps.len()}));
        let report = sim.run_scenario(sc).await;
        out::line(&json!({"event": "scenario_done", "report": report}));
        if !report.errors.is_empty() && o.exit_after_scenario {
            sim.stop().await;
            return Err(format!("{} step(s) failed", report.errors.len()));
        }
    }
    if let Some(l) = load {
        if o.exit_after_scenario || scenario.is_none() {
            let report = l.wait().await.map_err(|e| e.to_string())?;
            out::line(&json!({"event": "load_done", "report": report}));
        }
    }
    if o.exit_after_scenario {
        sim.stop().await;
        return Ok(Exit::Ok);
    }
    let r = serve_until_signal().await;
    sim.stop().await;
    r
}

async fn gc(o: GcSimArgs) -> CliResult {
    let mut broker = None;
    let address = match &o.broker {
        Some(b) => b.clone(),
        None => {
            let b = StompBroker::start(&format!("127.0.0.1:{}", o.broker_port))
                .await
                .map_err(|e| format!("cannot start the embedded broker: {e}"))?;
            let a = b.local_addr().to_string();
            out::line(&json!({"event": "listening", "simulator": "stomp-broker", "address": a}));
            broker = Some(b);
            a
        }
    };
    let mut cfg = match &o.config {
        Some(p) => {
            let mut j: serde_json::Value =
                serde_json::from_str(&read(p)?).map_err(|e| format!("{}: {e}", p.display()))?;
            if let Some(obj) = j.as_object_mut() {
                obj.entry("broker").or_insert_with(|| json!(address));
            }
            GcSimConfig::from_json(&j.to_string()).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => GcSimConfig::new(address.clone()),
    };
    if o.broker.is_some() || o.config.is_none() {
        cfg.broker = address;
    }
    let queue = cfg.request_queue.clone();
    let broker_addr = cfg.broker.clone();
    let sim = GcSimulator::start(cfg)
        .await
        .map_err(|e| format!("cannot start the GC simulator: {e}"))?;
    out::line(
        &json!({"event": "started", "simulator": "gc", "broker": broker_addr,
                      "request_queue": queue}),
    );
    let r = serve_until_signal().await;
    sim.stop().await;
    if let Some(b) = broker {
        b.stop().await;
    }
    r
}

async fn ece(o: EceSimArgs) -> CliResult {
    let mut cfg = match &o.config {
        Some(p) => {
            EceSimConfig::from_json(&read(p)?).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => EceSimConfig::default(),
    };
    if let Some(p) = o.port {
        cfg.bind.set_port(p);
    }
    let sim = EceSimulator::start(cfg)
        .await
        .map_err(|e| format!("cannot start the ECE simulator: {e}"))?;
    out::line(
        &json!({"event": "listening", "simulator": "ece", "address": sim.local_addr().to_string(),
                      "server_url": sim.server_url(), "chat_base_url": sim.chat_base_url()}),
    );
    let r = serve_until_signal().await;
    sim.stop().await;
    r
}
