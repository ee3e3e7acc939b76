//! `cce agent`: an agent desktop driven by commands on stdin (typed or scripted).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use cce::cti::codec::json::{from_json_str, to_json};
use cce::cti::codec::Message;
use cce::cti::connection::{CtiConnection, CtiEvent};
use cce::cti::session::Mode;
use clap::Args;
use serde_json::{json, Value as Json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::Instant;

use crate::out;
use crate::session::{self, ConnectArgs};
use crate::{CliResult, Exit};

/// Environment variable with the agent's password for `login` without an argument.
const AGENT_PASSWORD_ENV: &str = "CCE_AGENT_PASSWORD";
/// NULL value of 32-bit IDs.
const NULL_ID: i64 = 0xFFFF_FFFF;
/// NULL value of 16-bit device ID types.
const NULL_TYPE: i64 = 0xFFFF;
/// Event names remembered for `wait`.
const MAX_SEEN: usize = 1024;
/// Default `wait` timeout.
const DEFAULT_WAIT_SECS: f64 = 30.0;

const HELP: &str = "commands:
  login [PASSWORD]      log in (password also from $CCE_AGENT_PASSWORD)
  ready                 become available
  not-ready [REASON]    become not ready with a reason code
  answer                answer the ringing call
  hold | retrieve       hold or retrieve the call
  consult NUMBER        start a consultation call
  transfer [NUMBER]     blind transfer to NUMBER, or complete the consultation
  release               hang up the call
  logout [REASON]       log out with a reason code
  status                print the agent's state and calls
  wait NAME [SECONDS]   wait for a message named NAME (default 30 s)
  send JSON             send any request, e.g. {\"MessageName\":\"QUERY_AGENT_STATE_REQ\"}
  quit                  close the session and exit";

/// `cce agent` options.
#[derive(Debug, Args)]
#[command(after_help = format!("{HELP}\n\nExample:\n  printf 'login\\nready\\nwait CALL_DELIVERED_EVENT 60\\nanswer\\n' | cce agent --address 127.0.0.1:42027 --agent 1001 --instrument 5001"))]
pub struct AgentArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// AgentID.
    #[arg(long)]
    agent: String,
    /// AgentInstrument (the agent's phone).
    #[arg(long)]
    instrument: String,
}

/// One call of the agent.
#[derive(Debug, Clone, Default)]
struct Call {
    /// LocalConnectionState name (LCS_ALERTING, LCS_CONNECT, LCS_HOLD, ...).
    state: String,
    /// Order in which the calls were first seen.
    seq: u64,
}

struct Agent {
    conn: CtiConnection,
    version: u32,
    agent: String,
    instrument: String,
    peripheral: Option<u32>,
    state: String,
    calls: BTreeMap<u32, Call>,
    seen_calls: u64,
    tty: bool,
}

impl Agent {
    fn status(&self) -> Json {
        let calls: Vec<Json> = self
            .calls
            .iter()
            .map(|(id, c)| json!({"call_id": id, "state": c.state}))
            .collect();
        json!({"name": "STATUS", "agent": self.agent, "state": self.state, "calls": calls})
    }

    fn status_line(&self) {
        if self.tty {
            let calls: Vec<String> = self
                .calls
                .iter()
                .map(|(id, c)| format!("{id}:{}", c.state.trim_start_matches("LCS_")))
                .collect();
            eprint!(
                "\r\x1b[K[{} {}] calls: {}",
                self.agent,
                self.state.trim_start_matches("AGENT_STATE_"),
                if calls.is_empty() {
                    "-".into()
                } else {
                    calls.join(" ")
                }
            );
        }
    }

    /// Updates the state from a rendered event.
    fn observe(&mut self, j: &Json) {
        let name = j["MessageName"].as_str().unwrap_or_default();
        if let Some(s) = j.get("AgentState_name").and_then(Json::as_str) {
            if matches!(name, "AGENT_STATE_EVENT" | "QUERY_AGENT_STATE_CONF") {
                self.state = s.to_owned();
            }
        }
        let Some(id) = j.get("ConnectionCallID").and_then(Json::as_u64) else {
            return;
        };
        let id = id as u32;
        match name {
            "END_CALL_EVENT" | "CALL_CLEARED_EVENT" => {
                self.calls.remove(&id);
            }
            _ => {
                let lcs = j.get("LocalConnectionState_name").and_then(Json::as_str);
                if lcs == Some("LCS_NULL") {
                    self.calls.remove(&id);
                } else if lcs.is_some() || name == "BEGIN_CALL_EVENT" {
                    let seq = self.seen_calls;
                    let call = self.calls.entry(id).or_insert_with(|| Call {
                        state: String::new(),
                        seq,
                    });
                    if call.seq == seq {
                        self.seen_calls += 1;
                    }
                    if let Some(lcs) = lcs {
                        call.state = lcs.to_owned();
                    }
                }
            }
        }
    }

    /// A call in one of `states` (in that preference); else the agent's only call, whose
    /// state event may still be on its way (the server has the last word).
    fn call_in(&self, states: &[&str]) -> Result<u32, String> {
        for s in states {
            if let Some((id, _)) = self.calls.iter().find(|(_, c)| c.state == *s) {
                return Ok(*id);
            }
        }
        match self.calls.keys().collect::<Vec<_>>()[..] {
            [only] => Ok(*only),
            [] => Err("no call".into()),
            _ => Err(format!("no call in state {}", states.join(" or "))),
        }
    }

    /// (active, held) calls of a consultation: the held call (else the oldest) and the
    /// newest other call.
    fn consultation(&self) -> Result<(u32, u32), String> {
        let held = match self.calls.iter().find(|(_, c)| c.state == "LCS_HOLD") {
            Some((id, _)) => *id,
            None => {
                *self
                    .calls
                    .iter()
                    .min_by_key(|(_, c)| c.seq)
                    .ok_or("no call")?
                    .0
            }
        };
        let active = self
            .calls
            .iter()
            .filter(|(id, _)| **id != held)
            .max_by_key(|(_, c)| c.seq)
            .map(|(id, _)| *id)
            .ok_or("transfer needs a NUMBER, or a held call and a consultation call")?;
        Ok((active, held))
    }

    fn msg(&self, name: &str) -> Result<Message, String> {
        let mut m = Message::new(name, self.version).map_err(|e| e.to_string())?;
        if let Some(p) = self.peripheral {
            let _ = m.set_int("PeripheralID", p.into());
        }
        let _ = m.set_str("AgentInstrument", &self.instrument);
        Ok(m)
    }

    fn agent_state(
        &self,
        state: &str,
        reason: Option<&str>,
        password: Option<&str>,
    ) -> Result<Message, String> {
        let v = cce::cti::spec::constant("AgentState Values", state)
            .ok_or_else(|| format!("unknown agent state {state}"))?;
        let mut m = self.msg("SET_AGENT_STATE_REQ")?;
        m.set_int("AgentState", v.into())
            .map_err(|e| e.to_string())?;
        m.set_str("AgentID", &self.agent)
            .map_err(|e| e.to_string())?;
        if let Some(r) = reason {
            let code: i64 = r
                .parse()
                .map_err(|_| format!("reason {r:?} is not a number"))?;
            m.set_int("EventReasonCode", code)
                .map_err(|e| e.to_string())?;
        }
        if let Some(p) = password {
            m.set_str("AgentPassword", p).map_err(|e| e.to_string())?;
        }
        Ok(m)
    }

    fn call_msg(
        &self,
        name: &str,
        id: u32,
        id_field: &str,
        dev_field: &str,
    ) -> Result<Message, String> {
        let mut m = self.msg(name)?;
        m.set_int(id_field, id.into()).map_err(|e| e.to_string())?;
        m.set_str(dev_field, &self.instrument)
            .map_err(|e| e.to_string())?;
        Ok(m)
    }

    /// The request for one command line (`None`: not a request).
    fn request(&self, cmd: &str, args: &[&str], rest: &str) -> Result<Message, String> {
        let e = |e: cce::cti::codec::CodecError| e.to_string();
        match cmd {
            "login" => {
                let env = std::env::var(AGENT_PASSWORD_ENV).ok();
                let pw = args.first().copied().or(env.as_deref());
                self.agent_state("AGENT_STATE_LOGIN", None, pw)
            }
            "ready" => self.agent_state("AGENT_STATE_AVAILABLE", None, None),
            "not-ready" => self.agent_state("AGENT_STATE_NOT_READY", args.first().copied(), None),
            "logout" => self.agent_state("AGENT_STATE_LOGOUT", args.first().copied(), None),
            "answer" => {
                let id = self.call_in(&["LCS_ALERTING"])?;
                self.call_msg(
                    "ANSWER_CALL_REQ",
                    id,
                    "ConnectionCallID",
                    "ConnectionDeviceID",
                )
            }
            "hold" => {
                let id = self.call_in(&["LCS_CONNECT"])?;
                self.call_msg(
                    "HOLD_CALL_REQ",
                    id,
                    "ConnectionCallID",
                    "ConnectionDeviceID",
                )
            }
            "retrieve" => {
                let id = self.call_in(&["LCS_HOLD"])?;
                self.call_msg(
                    "RETRIEVE_CALL_REQ",
                    id,
                    "HeldConnectionCallID",
                    "HeldConnectionDeviceID",
                )
            }
            "release" => {
                let id =
                    self.call_in(&["LCS_CONNECT", "LCS_INITIATE", "LCS_ALERTING", "LCS_HOLD"])?;
                let mut m = self.call_msg(
                    "CLEAR_CONNECTION_REQ",
                    id,
                    "ConnectionCallID",
                    "ConnectionDeviceID",
                )?;
                m.set_int("RequestingDeviceIDType", NULL_TYPE).map_err(e)?;
                Ok(m)
            }
            "consult" => {
                let number = args.first().ok_or("consult needs a NUMBER")?;
                let id = self.call_in(&["LCS_CONNECT"])?;
                let mut m = self.call_msg(
                    "CONSULTATION_CALL_REQ",
                    id,
                    "ActiveConnectionCallID",
                    "ActiveConnectionDeviceID",
                )?;
                m.set_str("DialedNumber", number).map_err(e)?;
                Ok(m)
            }
            "transfer" => {
                let (active, held) = match args.first() {
                    Some(_) => (self.call_in(&["LCS_CONNECT"])?, None),
                    None => {
                        let (a, h) = self.consultation()?;
                        (a, Some(h))
                    }
                };
                let mut m = self.call_msg(
                    "TRANSFER_CALL_REQ",
                    active,
                    "ActiveConnectionCallID",
                    "ActiveConnectionDeviceID",
                )?;
                match (args.first(), held) {
                    (Some(number), _) => {
                        m.set_int("HeldConnectionCallID", NULL_ID).map_err(e)?;
                        m.set_str("DialedNumber", number).map_err(e)?;
                    }
                    (None, Some(held)) => {
                        m.set_int("HeldConnectionCallID", held.into()).map_err(e)?;
                        m.set_str("HeldConnectionDeviceID", &self.instrument)
                            .map_err(e)?;
                    }
                    (None, None) => return Err("transfer needs a held call".into()),
                }
                Ok(m)
            }
            "send" => from_json_str(rest, self.version).map_err(e),
            other => Err(format!("unknown command {other:?} (try `help`)")),
        }
    }
}

fn print_event(a: &mut Agent, j: Json) -> String {
    a.observe(&j);
    let rec = out::message_record(out::now(), "in", j);
    let name = rec["name"].as_str().unwrap_or_default().to_owned();
    out::line(&rec);
    a.status_line();
    name
}

/// Runs `cce agent`.
pub async fn run(args: AgentArgs) -> CliResult {
    let cfg = args
        .connect
        .config(Mode::Agent, Some(&args.agent), Some(&args.instrument));
    let (conn, mut events) = session::open(cfg).await?;
    let open_conf = conn.open_conf();
    let peripheral = args.connect.peripheral.or_else(|| {
        open_conf
            .as_ref()
            .and_then(|m| m.u32("PeripheralID"))
            .filter(|p| i64::from(*p) != NULL_ID)
    });
    let mut a = Agent {
        version: conn.version(),
        conn: conn.clone(),
        agent: args.agent.clone(),
        instrument: args.instrument.clone(),
        peripheral,
        state: "AGENT_STATE_UNKNOWN".into(),
        calls: BTreeMap::new(),
        seen_calls: 0,
        tty: std::io::stderr().is_terminal(),
    };
    if let Some(oc) = &open_conf {
        let j = to_json(oc);
        print_event(&mut a, j);
    }
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut waiting: Option<(String, Instant)> = None;
    // Names received since the last request, so `wait` also sees what already came.
    let mut seen: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let mut failures = 0u32;
    let sig = out::shutdown_signal();
    tokio::pin!(sig);
    let ended_by_server = loop {
        let deadline = waiting.as_ref().map(|(_, d)| *d);
        tokio::select! {
            // Events first: a command sees the state they set.
            biased;
            _ = &mut sig => break false,
            ev = events.recv() => {
                let Some(ev) = ev else { break true };
                let closed = matches!(ev, CtiEvent::Closed(_));
                if let Some(o) = cce::api::cti_event_out(&ev, false) {
                    let j: Json = serde_json::from_str(o.json()).unwrap_or(Json::Null);
                    let name = print_event(&mut a, j);
                    if waiting.as_ref().is_some_and(|(w, _)| w.eq_ignore_ascii_case(&name)) {
                        waiting = None;
                    } else {
                        if seen.len() >= MAX_SEEN {
                            seen.pop_front();
                        }
                        seen.push_back(name);
                    }
                }
                if closed {
                    break true;
                }
            }
            _ = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => {
                if let Some((w, _)) = waiting.take() {
                    failures += 1;
                    out::line(&json!({"command": "wait", "ok": false, "error": format!("no {w} in time")}));
                }
            }
            line = lines.next_line(), if waiting.is_none() => {
                let line = match line {
                    Ok(Some(l)) => l,
                    _ => break false,
                };
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (cmd, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                let rest = rest.trim();
                let words: Vec<&str> = rest.split_whitespace().collect();
                match cmd {
                    "quit" | "exit" => break false,
                    "help" => { eprintln!("{HELP}"); continue; }
                    "status" => { out::line(&a.status()); continue; }
                    "wait" => {
                        let Some(name) = words.first() else {
                            failures += 1;
                            out::line(&json!({"command": "wait", "ok": false, "error": "wait needs a message NAME"}));
                            continue;
                        };
                        if let Some(i) = seen.iter().position(|n| n.eq_ignore_ascii_case(name)) {
                            seen.drain(..=i);
                            continue;
                        }
                        let secs = words.get(1).and_then(|s| s.parse::<f64>().ok())
                            .filter(|s| s.is_finite() && *s >= 0.0).unwrap_or(DEFAULT_WAIT_SECS);
                        waiting = Some((name.to_string(), Instant::now() + Duration::from_secs_f64(secs)));
                        continue;
                    }
                    _ => {}
                }
                seen.clear();
                let result = match a.request(cmd, &words, rest) {
                    Ok(m) => a.conn.request(m, None).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                };
                let rec = match result {
                    Ok(conf) if !matches!(conf.name(), "FAILURE_CONF" | "CONTROL_FAILURE_CONF") => {
                        let j = to_json(&conf);
                        a.observe(&j);
                        json!({"command": cmd, "ok": true, "confirmation": j})
                    }
                    Ok(conf) => {
                        failures += 1;
                        json!({"command": cmd, "ok": false, "confirmation": to_json(&conf)})
                    }
                    Err(e) => {
                        failures += 1;
                        json!({"command": cmd, "ok": false, "error": e})
                    }
                };
                out::line(&rec);
                a.status_line();
            }
        }
    };
    if a.tty {
        eprintln!();
    }
    if ended_by_server {
        return Ok(Exit::SessionEnded);
    }
    let reason = conn.close().await;
    out::line(
        &json!({"time": out::now(), "direction": "local", "name": "SESSION_CLOSED",
                      "reason": format!("{reason:?}")}),
    );
    if failures > 0 {
        return Err(format!("{failures} command(s) failed"));
    }
    Ok(Exit::Ok)
}
