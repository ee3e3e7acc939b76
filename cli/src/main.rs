//! `cce`: command-line entry point of libcce.
//!
//! ```text
//! cce sim [--scenario FILE] [--config FILE] [--port N] [--port-b N] [--bind ADDR]
//!         [--version V] [--load JSON] [--exit-after-scenario]
//! ```
//!
//! Runs the CTI Server simulator on loopback (side A on `--port`, default 42027; a
//! duplex pair with `--port-b`), plays a scenario script and/or a load, and serves
//! clients until interrupted (or until the scenario ends with `--exit-after-scenario`).
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use cce::sim::cti::{CtiSimulator, LoadConfig, Scenario, Side, SimConfig};

const USAGE: &str = "usage: cce sim [--scenario FILE] [--config FILE] [--port N] [--port-b N]
               [--bind ADDR] [--version V] [--load JSON] [--exit-after-scenario]

  --scenario FILE        JSON script of timed steps (examples/scenarios); its \"config\"
                         is the simulator configuration unless --config is given
  --config FILE          simulator configuration (JSON, see docs/simulator.md)
  --port N               side A port (default 42027; 0 picks a free port)
  --port-b N             also run side B (duplex pair) on this port
  --bind ADDR            listen address (default 127.0.0.1, loopback only)
  --version V            accept only protocol version V (default: 15 to 25)
  --load JSON            run a load, e.g. '{\"agents\":1000,\"calls_per_second\":100,\"calls\":0}'
  --exit-after-scenario  stop when the scenario (and load) ends instead of serving on";

/// Command-line options of `cce sim`.
#[derive(Debug, Default)]
struct Options {
    scenario: Option<String>,
    config: Option<String>,
    port: Option<u16>,
    port_b: Option<u16>,
    bind: Option<IpAddr>,
    version: Option<u32>,
    load: Option<String>,
    exit_after: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--scenario" => o.scenario = Some(value(a)?),
            "--config" => o.config = Some(value(a)?),
            "--port" => o.port = Some(value(a)?.parse().map_err(|e| format!("--port: {e}"))?),
            "--port-b" => o.port_b = Some(value(a)?.parse().map_err(|e| format!("--port-b: {e}"))?),
            "--bind" => o.bind = Some(value(a)?.parse().map_err(|e| format!("--bind: {e}"))?),
            "--version" => {
                o.version = Some(value(a)?.parse().map_err(|e| format!("--version: {e}"))?)
            }
            "--load" => o.load = Some(value(a)?),
            "--exit-after-scenario" => o.exit_after = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(o)
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

async fn sim(o: Options) -> Result<(), String> {
    let scenario = match &o.scenario {
        Some(p) => Some(Scenario::from_json(&read(p)?).map_err(|e| format!("{p}: {e}"))?),
        None => None,
    };
    let mut cfg = match (&o.config, scenario.as_ref().and_then(|s| s.config.clone())) {
        (Some(p), _) => SimConfig::from_json(&read(p)?).map_err(|e| format!("{p}: {e}"))?,
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
        if !(15..=25).contains(&v) {
            return Err(format!(
                "--version {v}: protocol versions 15 to 25 are supported"
            ));
        }
        cfg.protocol_version = Some(v);
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
            println!(
                "cce sim: side {side:?} listening on {a} ({:?})",
                sim.side_state(side)
            );
        }
    }
    let load = match load {
        Some(l) => Some(sim.start_load(l).map_err(|e| format!("--load: {e}"))?),
        None => None,
    };
    if let Some(sc) = &scenario {
        println!(
            "cce sim: running scenario {:?} ({} steps)",
            sc.name.as_deref().unwrap_or("unnamed"),
            sc.steps.len()
        );
        let report = sim.run_scenario(sc).await;
        println!(
            "cce sim: scenario done: {}",
            serde_json::to_string(&report).unwrap_or_default()
        );
        if !report.errors.is_empty() && o.exit_after {
            sim.stop().await;
            return Err(format!("{} step(s) failed", report.errors.len()));
        }
    }
    if let Some(l) = load {
        if o.exit_after || scenario.is_none() {
            let report = l.wait().await.map_err(|e| e.to_string())?;
            println!(
                "cce sim: load done: {}",
                serde_json::to_string(&report).unwrap_or_default()
            );
        }
    }
    if o.exit_after {
        sim.stop().await;
        return Ok(());
    }
    println!("cce sim: serving until interrupted (Ctrl-C)");
    std::future::pending::<()>().await;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("sim") => {}
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("cce: unknown command {other:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let opts = match parse(&args[1..]) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("cce sim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cce: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(sim(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cce sim: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn options_parse() {
        let o = parse(&args(
            "--scenario x.json --port 1 --port-b 2 --version 24 --exit-after-scenario",
        ))
        .unwrap();
        assert_eq!(o.scenario.as_deref(), Some("x.json"));
        assert_eq!((o.port, o.port_b, o.version), (Some(1), Some(2), Some(24)));
        assert!(o.exit_after);
        assert!(parse(&args("--port")).is_err());
        assert!(parse(&args("--port x")).is_err());
        assert!(parse(&args("--nope")).is_err());
    }
}
