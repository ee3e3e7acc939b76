//! `cce`: the libcce command line. Simulators, and tools to watch, decode, record,
//! replay and drive CTI sessions. See `docs/cli.md`.
//!
//! Output is JSON lines on stdout; diagnostics go to stderr. Exit codes: 0 success,
//! 1 failure (connection refused, bad file, I/O), 2 bad command line, 3 the session
//! was ended by the server or lost.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod agent;
mod bridge;
mod capture;
mod decode;
mod out;
mod session;
mod sim;
mod tap;

/// Exit code of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done (or interrupted by Ctrl-C / SIGTERM and closed cleanly).
    Ok,
    /// The session was ended by the server or lost.
    SessionEnded,
}

/// An error reported on stderr with exit code 1.
pub type CliResult = Result<Exit, String>;

#[derive(Debug, Parser)]
#[command(
    name = "cce",
    version = cce::VERSION,
    about = "libcce command line: simulators, and tools to watch, decode, record, replay and drive CTI sessions",
    after_help = "Output: JSON lines on stdout, errors on stderr.\nExit codes: 0 ok, 1 failure, 2 bad command line, 3 session ended by the server or lost."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a simulator: `cce sim cti|gc|ece` (`cce sim` alone: the CTI Server simulator).
    Sim(sim::SimArgs),
    /// Print every event of a live CTI session as JSON lines until Ctrl-C.
    Tap(tap::TapArgs),
    /// Decode a CTI byte stream, hex dump or pcap/pcapng capture into JSON lines.
    Decode(decode::DecodeArgs),
    /// Record a live CTI session's frames with timestamps.
    Record(tap::RecordArgs),
    /// Replay a recording as a simulated CTI Server.
    Replay(tap::ReplayArgs),
    /// An interactive (or scripted, from stdin) agent desktop.
    Agent(agent::AgentArgs),
    /// Fan one CTI session out over ActiveMQ (STOMP) topics; take requests from a queue.
    Bridge(bridge::BridgeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    let (name, result) = rt.block_on(async {
        if let Err(e) = out::install_signals() {
            return ("signals", Err(e));
        }
        match cli.command {
            Command::Sim(c) => ("sim", sim::run(c).await),
            Command::Tap(a) => ("tap", tap::tap(a).await),
            Command::Decode(a) => ("decode", decode::run(a).await),
            Command::Record(a) => ("record", tap::record(a).await),
            Command::Replay(a) => ("replay", tap::replay(a).await),
            Command::Agent(a) => ("agent", agent::run(a).await),
            Command::Bridge(a) => ("bridge", bridge::run(a).await),
        }
    });
    // Leave detached tasks (stdin readers) behind.
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(Exit::Ok) => ExitCode::SUCCESS,
        Ok(Exit::SessionEnded) => ExitCode::from(3),
        Err(e) => {
            eprintln!("cce {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sim_options_parse() {
        let c = Cli::try_parse_from([
            "cce",
            "sim",
            "cti",
            "--scenario",
            "x.json",
            "--port",
            "1",
            "--port-b",
            "2",
            "--version",
            "24",
        ])
        .unwrap();
        assert!(matches!(c.command, Command::Sim(_)));
        assert!(Cli::try_parse_from(["cce", "sim", "--port", "0"]).is_ok());
        assert!(Cli::try_parse_from(["cce", "sim", "cti", "--port", "x"]).is_err());
        assert!(Cli::try_parse_from(["cce", "tap"]).is_err());
    }

    #[test]
    fn tls_options_parse_and_need_a_key_pair() {
        let c = Cli::try_parse_from([
            "cce",
            "sim",
            "cti",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--tls-client-ca",
            "ca.pem",
            "--tls-port",
            "0",
            "--tls-port-b",
            "5",
            "--secure-only",
        ]);
        assert!(c.is_ok());
        assert!(Cli::try_parse_from(["cce", "sim", "cti", "--tls-port", "x"]).is_err());
        // A certificate without its key (and the reverse) is refused.
        assert!(Cli::try_parse_from(["cce", "sim", "cti", "--tls-cert", "c.pem"]).is_err());
        assert!(Cli::try_parse_from(["cce", "sim", "cti", "--tls-key", "k.pem"]).is_err());
        assert!(Cli::try_parse_from(["cce", "sim", "cti", "--secure-only"]).is_err());
    }
}
