//! `cce tap`, `cce record` and `cce replay`.

use std::io::{BufReader, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use cce::api::cti_event_out;
use cce::cti::codec::json::to_json;
use cce::cti::connection::{CtiConnection, CtiEvent, CtiEvents};
use cce::sim::cti::replay::{
    json_line, Direction, RecordedFrame, Recording, RecordingHeader, ReplayConfig, ReplayServer,
};
use clap::Args;
use serde_json::{json, Value as Json};

use crate::out::{self, message_record, name_filter};
use crate::session::{self, ConnectArgs, SessionMode};
use crate::{CliResult, Exit};

/// `cce tap` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  cce tap --address 127.0.0.1:42027 --filter BEGIN_CALL_EVENT,END_CALL_EVENT"
)]
pub struct TapArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Session kind.
    #[arg(long, value_enum, default_value_t = SessionMode::Bridge)]
    mode: SessionMode,
    /// AgentID (with --mode agent).
    #[arg(long, required_if_eq("mode", "agent"))]
    agent: Option<String>,
    /// AgentInstrument (with --mode agent).
    #[arg(long)]
    instrument: Option<String>,
    /// Print only these messages (comma-separated MessageNames, e.g. BEGIN_CALL_EVENT).
    #[arg(long, value_delimiter = ',')]
    filter: Vec<String>,
    /// Close the session after the first message with this name (e.g. END_CALL_EVENT).
    #[arg(long)]
    until: Option<String>,
}

/// `cce record` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  cce record --address 127.0.0.1:42027 --out call.jsonl --until END_CALL_EVENT"
)]
pub struct RecordArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Session kind.
    #[arg(long, value_enum, default_value_t = SessionMode::Bridge)]
    mode: SessionMode,
    /// AgentID (with --mode agent).
    #[arg(long, required_if_eq("mode", "agent"))]
    agent: Option<String>,
    /// AgentInstrument (with --mode agent).
    #[arg(long)]
    instrument: Option<String>,
    /// The recording to write (JSON lines).
    #[arg(long, short = 'o')]
    out: PathBuf,
    /// Stop after the first message with this name (e.g. END_CALL_EVENT).
    #[arg(long)]
    until: Option<String>,
}

/// `cce replay` options.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  cce replay call.jsonl --speed 10 --port 42027")]
pub struct ReplayArgs {
    /// A recording made by `cce record`.
    file: PathBuf,
    /// Time scale: 1 keeps the recorded timing, 10 plays ten times faster, 0 without waits.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Port to listen on (0 picks a free port).
    #[arg(long, default_value_t = 42027)]
    port: u16,
    /// Listen address.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Exit after this many client sessions have ended (default: serve until Ctrl-C).
    #[arg(long)]
    sessions: Option<usize>,
}

fn matches(name: &str, wanted: &Option<String>) -> bool {
    wanted
        .as_deref()
        .is_some_and(|w| w.eq_ignore_ascii_case(name))
}

/// How a session loop ended.
enum Ended {
    /// Ctrl-C/SIGTERM or `--until`: we close.
    ByUs,
    /// The server closed or the link was lost.
    ByServer,
}

/// Feeds every event to `each` until a signal, `each` says stop, or the session ends.
async fn event_loop(
    conn: &CtiConnection,
    events: &mut CtiEvents,
    mut each: impl FnMut(&CtiEvent) -> bool,
) -> Ended {
    let sig = out::shutdown_signal();
    tokio::pin!(sig);
    loop {
        tokio::select! {
            _ = &mut sig => break,
            ev = events.recv() => match ev {
                None => return Ended::ByServer,
                Some(ev) => {
                    let closed = matches!(ev, CtiEvent::Closed(_));
                    let go_on = each(&ev);
                    if closed {
                        return Ended::ByServer;
                    }
                    if !go_on {
                        break;
                    }
                }
            }
        }
    }
    let reason = conn.close().await;
    out::line(
        &json!({"time": out::now(), "direction": "local", "name": "SESSION_CLOSED",
                      "reason": format!("{reason:?}")}),
    );
    Ended::ByUs
}

fn exit_of(e: Ended) -> Exit {
    match e {
        Ended::ByUs => Exit::Ok,
        Ended::ByServer => Exit::SessionEnded,
    }
}

/// Runs `cce tap`.
pub async fn tap(a: TapArgs) -> CliResult {
    let cfg = a.connect.config(
        session::mode(a.mode),
        a.agent.as_deref(),
        a.instrument.as_deref(),
    );
    let (conn, mut events) = session::open(cfg).await?;
    let filter = name_filter(&a.filter);
    if let Some(oc) = conn.open_conf() {
        out::line(&message_record(out::now(), "in", to_json(&oc)));
    }
    let ended = event_loop(&conn, &mut events, |ev| {
        let Some(o) = cti_event_out(ev, false) else {
            return true;
        };
        let j: Json = serde_json::from_str(o.json()).unwrap_or(Json::Null);
        let rec = message_record(out::now(), "in", j);
        let name = rec["name"].as_str().unwrap_or_default().to_owned();
        if (filter.is_empty() || filter.contains(&name)) && !out::line(&rec) {
            return false;
        }
        !matches(&name, &a.until)
    })
    .await;
    Ok(exit_of(ended))
}

/// Runs `cce record`.
pub async fn record(a: RecordArgs) -> CliResult {
    let version = a.connect.version;
    let cfg = a.connect.config(
        session::mode(a.mode),
        a.agent.as_deref(),
        a.instrument.as_deref(),
    );
    // The OPEN_REQ as recorded: without the password.
    let mut open_cfg = cfg.session.clone();
    open_cfg.client_password = Default::default();
    let file = std::fs::File::create(&a.out).map_err(|e| format!("{}: {e}", a.out.display()))?;
    let mut w = BufWriter::new(file);
    let started = out::now();
    let (conn, mut events) = session::open(cfg).await?;
    let t0 = Instant::now();
    let mut header = RecordingHeader::new(version);
    header.address = Some(a.connect.address.clone());
    header.started = Some(started);
    let mut io_error: Option<String> = None;
    let mut put = |w: &mut BufWriter<std::fs::File>, line: String| {
        if io_error.is_none() {
            if let Err(e) = writeln!(w, "{line}").and_then(|_| w.flush()) {
                io_error = Some(format!("{}: {e}", a.out.display()));
            }
        }
    };
    put(&mut w, json_line(&header));
    let mut frames = 0u64;
    let mut skipped = 0u64;
    if let Some(oc) = conn.open_conf() {
        let invoke = oc.invoke_id().unwrap_or(0);
        for (dir, m) in [
            (Direction::Out, open_cfg.open_req(invoke).ok()),
            (Direction::In, Some(oc)),
        ] {
            match m.map(|m| RecordedFrame::from_message(0.0, dir, &m, version)) {
                Some(Ok(f)) => {
                    put(&mut w, json_line(&f));
                    frames += 1;
                }
                _ => skipped += 1,
            }
        }
    }
    let ended = event_loop(&conn, &mut events, |ev| {
        let CtiEvent::Message(m) = ev else {
            return true;
        };
        let t_ms = t0.elapsed().as_secs_f64() * 1000.0;
        match m
            .to_message()
            .and_then(|msg| RecordedFrame::from_message(t_ms, Direction::In, &msg, version))
        {
            Ok(f) => {
                put(&mut w, json_line(&f));
                frames += 1;
            }
            Err(e) => {
                skipped += 1;
                eprintln!("cce record: {} not recorded: {e}", m.name());
            }
        }
        !matches(m.name(), &a.until)
    })
    .await;
    if let Some(e) = io_error {
        return Err(e);
    }
    out::line(
        &json!({"recorded": frames, "skipped": skipped, "file": a.out.display().to_string(),
                      "seconds": t0.elapsed().as_secs_f64()}),
    );
    Ok(exit_of(ended))
}

/// Runs `cce replay`.
pub async fn replay(a: ReplayArgs) -> CliResult {
    let file = std::fs::File::open(&a.file).map_err(|e| format!("{}: {e}", a.file.display()))?;
    let rec =
        Recording::read(BufReader::new(file)).map_err(|e| format!("{}: {e}", a.file.display()))?;
    let frames = rec.frames.len();
    let speed = if a.speed == 0.0 {
        f64::INFINITY
    } else {
        a.speed
    };
    let mut server = ReplayServer::start(
        rec,
        ReplayConfig {
            bind: SocketAddr::new(a.bind, a.port),
            speed,
            max_sessions: a.sessions,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    out::line(
        &json!({"event": "listening", "address": server.local_addr().to_string(),
                      "frames": frames, "speed": a.speed}),
    );
    let sig = out::shutdown_signal();
    tokio::pin!(sig);
    loop {
        tokio::select! {
            _ = &mut sig => break,
            done = server.wait_done(Duration::from_secs(3600)) => if done { break },
        }
    }
    out::line(&json!({"event": "stopped", "sessions": server.sessions_served()}));
    server.stop().await;
    Ok(Exit::Ok)
}
