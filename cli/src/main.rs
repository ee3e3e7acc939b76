//! `cce`: command-line entry point of libcce.
//!
//! ```text
//! cce sim [--scenario FILE] [--config FILE] [--port N] [--port-b N] [--bind ADDR]
//!         [--version V] [--load JSON] [--exit-after-scenario]
//!         [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]
//!          [--tls-port N] [--tls-port-b N] [--secure-only]]
//! ```
//!
//! Runs the CTI Server simulator on loopback (side A on `--port`, default 42027; a
//! duplex pair with `--port-b`), plays a scenario script and/or a load, and serves
//! clients until interrupted (or until the scenario ends with `--exit-after-scenario`).
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use cce::sim::cti::{CtiSimulator, LoadConfig, Scenario, Side, SimConfig, SimTls};

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
  --exit-after-scenario  stop when the scenario (and load) ends instead of serving on
  --tls-cert FILE        serve TLS too, with this certificate chain (PEM)
  --tls-key FILE         ... and this private key (PEM: PKCS#8, RSA or EC)
  --tls-client-ca FILE   require client certificates signed by this CA (mutual TLS)
  --tls-port N           side A's TLS port (default 42030; 0 picks a free port)
  --tls-port-b N         side B's TLS port (default 43030)
  --secure-only          TLS only: --port/--port-b speak TLS, no plain listener";

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
    tls_cert: Option<String>,
    tls_key: Option<String>,
    tls_client_ca: Option<String>,
    tls_port: Option<u16>,
    tls_port_b: Option<u16>,
    secure_only: bool,
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
            "--tls-cert" => o.tls_cert = Some(value(a)?),
            "--tls-key" => o.tls_key = Some(value(a)?),
            "--tls-client-ca" => o.tls_client_ca = Some(value(a)?),
            "--tls-port" => {
                o.tls_port = Some(value(a)?.parse().map_err(|e| format!("--tls-port: {e}"))?)
            }
            "--tls-port-b" => {
                o.tls_port_b = Some(
                    value(a)?
                        .parse()
                        .map_err(|e| format!("--tls-port-b: {e}"))?,
                )
            }
            "--secure-only" => o.secure_only = true,
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
    match (&o.tls_cert, &o.tls_key) {
        (Some(cert), Some(key)) => {
            cfg.tls = Some(SimTls {
                cert_file: Some(cert.into()),
                key_file: Some(key.into()),
                client_ca_file: o.tls_client_ca.as_ref().map(Into::into),
                secure_only: o.secure_only,
                bind: SocketAddr::new(ip, o.tls_port.unwrap_or(42030)),
                bind_b: SocketAddr::new(ip, o.tls_port_b.unwrap_or(43030)),
                ..SimTls::default()
            });
        }
        (None, None)
            if o.tls_client_ca.is_none()
                && o.tls_port.is_none()
                && o.tls_port_b.is_none()
                && !o.secure_only => {}
        _ => return Err("the TLS options need both --tls-cert and --tls-key".into()),
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
            let tls = match sim.side_tls_addr(side) {
                Some(t) if t == a => " TLS only".to_owned(),
                Some(t) => format!(", TLS on {t}"),
                None => String::new(),
            };
            println!(
                "cce sim: side {side:?} listening on {a}{tls} ({:?})",
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

    #[test]
    fn tls_options_parse_and_need_a_key_pair() {
        let o = parse(&args(
            "--tls-cert c.pem --tls-key k.pem --tls-client-ca ca.pem --tls-port 0 --tls-port-b 5 --secure-only",
        ))
        .unwrap();
        assert_eq!(o.tls_cert.as_deref(), Some("c.pem"));
        assert_eq!(o.tls_key.as_deref(), Some("k.pem"));
        assert_eq!(o.tls_client_ca.as_deref(), Some("ca.pem"));
        assert_eq!(
            (o.tls_port, o.tls_port_b, o.secure_only),
            (Some(0), Some(5), true)
        );
        assert!(parse(&args("--tls-port x")).is_err());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let half = parse(&args("--port 0 --tls-cert c.pem")).unwrap();
        let e = rt.block_on(sim(half)).unwrap_err();
        assert!(e.contains("--tls-key"), "{e}");
    }
}
