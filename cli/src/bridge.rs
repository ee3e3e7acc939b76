//! `cce bridge`: one CTI session (ALL_EVENTS) fanned out to ActiveMQ topics, and
//! requests taken from a queue with their confirmations published to the requester.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cce::cti::codec::json::{from_json, to_json};
use cce::cti::connection::{CtiConnection, CtiEvent};
use cce::cti::session::Mode;
use cce::gc::transport::{
    BrokerAddr, Destination, LinkEvent, LinkOptions, OutMessage, StompTransport, Transport,
};
use clap::Args;
use serde_json::{json, Value as Json};
use tokio::sync::{mpsc, Semaphore};

use crate::out;
use crate::session::{self, ConnectArgs};
use crate::{CliResult, Exit};

/// Environment variable with the broker passcode.
const BROKER_PASSCODE_ENV: &str = "CCE_BROKER_PASSCODE";
/// Requests executed at once; more wait on the queue.
const MAX_REQUESTS_IN_FLIGHT: usize = 64;
/// Longest wait between two broker connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Device fields that name an agent's phone in call events.
const DEVICE_FIELDS: [&str; 7] = [
    "ConnectionDeviceID",
    "AlertingDeviceID",
    "AnsweringDeviceID",
    "HoldingDeviceID",
    "ReleasingDeviceID",
    "AgentInstrument",
    "AgentExtension",
];

/// `cce bridge` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  cce bridge --address 127.0.0.1:42027 --broker 127.0.0.1:61613\n\n\
Requests: send to the request queue a JSON body\n  \
{\"reply_to\":\"/queue/crm-1\",\"correlation_id\":\"42\",\"message\":{\"MessageName\":\"QUERY_AGENT_STATE_REQ\",\"AgentID\":\"1001\"}}\n\
and the answer {\"correlation_id\":\"42\",\"ok\":true,\"confirmation\":{...}} is published to reply_to."
)]
pub struct BridgeArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// STOMP broker host:port (ActiveMQ).
    #[arg(long)]
    broker: String,
    /// Broker login (the passcode is read from $CCE_BROKER_PASSCODE).
    #[arg(long)]
    broker_login: Option<String>,
    /// Topic of each peripheral's events; `{peripheral}` is the PeripheralID
    /// (`none` for messages without one).
    #[arg(long, default_value = "cce.cti.peripheral.{peripheral}")]
    peripheral_topic: String,
    /// Topic of each agent's events; `{agent}` is the AgentID (from AGENT_STATE_EVENTs
    /// and the agent's devices in call events). Empty: no agent topics.
    #[arg(long, default_value = "cce.cti.agent.{agent}")]
    agent_topic: String,
    /// Queue the bridge takes requests from.
    #[arg(long, default_value = "cce.cti.requests")]
    request_queue: String,
    /// Events held while the broker is away; beyond, events are dropped and counted.
    #[arg(long, default_value_t = 10_000)]
    queue_size: usize,
    /// Print a stats line this often (seconds; 0: only at the end).
    #[arg(long, default_value_t = 60)]
    stats_every: u64,
}

/// What the bridge did.
#[derive(Default)]
struct Counters {
    events: AtomicU64,
    published: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    requests: AtomicU64,
    bad_requests: AtomicU64,
    broker_connects: AtomicU64,
}

impl Counters {
    fn json(&self) -> Json {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        json!({"event": "stats", "events": g(&self.events), "published": g(&self.published),
               "dropped": g(&self.dropped), "failed": g(&self.failed),
               "requests": g(&self.requests), "bad_requests": g(&self.bad_requests),
               "broker_connects": g(&self.broker_connects)})
    }
}

/// Turns CTI messages into the publications of the fan-out.
struct Router {
    peripheral_topic: String,
    agent_topic: String,
    agents_by_device: HashMap<String, String>,
}

impl Router {
    fn destinations(&mut self, msg: &Json) -> Vec<Destination> {
        let peripheral = msg
            .get("PeripheralID")
            .and_then(Json::as_u64)
            .map_or("none".to_owned(), |p| p.to_string());
        let mut out = vec![Destination::Topic(
            self.peripheral_topic.replace("{peripheral}", &peripheral),
        )];
        if self.agent_topic.is_empty() {
            return out;
        }
        let mut agents: Vec<String> = Vec::new();
        if let Some(agent) = msg
            .get("AgentID")
            .and_then(Json::as_str)
            .filter(|a| !a.is_empty())
        {
            for f in ["AgentInstrument", "AgentExtension"] {
                if let Some(d) = msg.get(f).and_then(Json::as_str).filter(|d| !d.is_empty()) {
                    self.agents_by_device.insert(d.to_owned(), agent.to_owned());
                }
            }
            agents.push(agent.to_owned());
        }
        for f in DEVICE_FIELDS {
            if let Some(a) = msg
                .get(f)
                .and_then(Json::as_str)
                .and_then(|d| self.agents_by_device.get(d))
            {
                if !agents.contains(a) {
                    agents.push(a.clone());
                }
            }
        }
        out.extend(
            agents
                .into_iter()
                .map(|a| Destination::Topic(self.agent_topic.replace("{agent}", &a))),
        );
        out
    }
}

fn publication(destination: Destination, body: &Json) -> OutMessage {
    OutMessage {
        destination,
        jms_type: String::new(),
        body: body.to_string(),
        properties: Vec::new(),
    }
}

/// Runs one request from the queue; the answer goes to the requester's `reply_to`.
async fn request(
    conn: CtiConnection,
    body: Vec<u8>,
    out_tx: mpsc::Sender<OutMessage>,
    counters: Arc<Counters>,
) {
    counters.requests.fetch_add(1, Ordering::Relaxed);
    let parsed: Result<Json, String> = serde_json::from_slice(&body).map_err(|e| e.to_string());
    let (reply_to, correlation, message) = match &parsed {
        Ok(j) => (
            j.get("reply_to")
                .and_then(Json::as_str)
                .and_then(Destination::from_stomp),
            j.get("correlation_id").cloned().unwrap_or(Json::Null),
            j.get("message").cloned(),
        ),
        Err(_) => (None, Json::Null, None),
    };
    let Some(reply_to) = reply_to else {
        counters.bad_requests.fetch_add(1, Ordering::Relaxed);
        eprintln!(
            "cce bridge: a request without a valid reply_to (/queue/... or /topic/...) was dropped"
        );
        return;
    };
    let answer = match message {
        None => json!({"correlation_id": correlation, "ok": false,
                       "error": parsed.err().unwrap_or_else(|| "no \"message\"".into())}),
        Some(m) => match from_json(&m, conn.version()) {
            Err(e) => json!({"correlation_id": correlation, "ok": false, "error": e.to_string()}),
            Ok(m) => match conn.request(m, None).await {
                Ok(conf) => {
                    let ok = !matches!(conf.name(), "FAILURE_CONF" | "CONTROL_FAILURE_CONF");
                    json!({"correlation_id": correlation, "ok": ok, "confirmation": to_json(&conf)})
                }
                Err(e) => {
                    json!({"correlation_id": correlation, "ok": false, "error": e.to_string()})
                }
            },
        },
    };
    if answer["ok"] != true {
        counters.bad_requests.fetch_add(1, Ordering::Relaxed);
    }
    if out_tx.try_send(publication(reply_to, &answer)).is_err() {
        counters.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs `cce bridge`.
pub async fn run(a: BridgeArgs) -> CliResult {
    let mut cfg = a.connect.config(Mode::Bridge, None, None);
    // The bridge outlives CTI Server restarts: it always reconnects.
    cfg.auto_reconnect = true;
    let (conn, mut events) = session::open(cfg).await?;
    out::line(&json!({"event": "cti", "state": "connected", "address": a.connect.address}));
    let counters = Arc::new(Counters::default());
    let (out_tx, mut out_rx) = mpsc::channel::<OutMessage>(a.queue_size.max(1));
    let mut router = Router {
        peripheral_topic: a.peripheral_topic.clone(),
        agent_topic: a.agent_topic.clone(),
        agents_by_device: HashMap::new(),
    };
    let broker = BrokerAddr {
        addr: a.broker.clone(),
        login: a.broker_login.clone(),
        passcode: std::env::var(BROKER_PASSCODE_ENV).ok().map(Into::into),
    };
    let transport = StompTransport::new(LinkOptions::default());
    let subscriptions = [Destination::Queue(a.request_queue.clone())];
    let slots = Arc::new(Semaphore::new(MAX_REQUESTS_IN_FLIGHT));
    let sig = out::shutdown_signal();
    tokio::pin!(sig);
    let mut stats_tick = tokio::time::interval(Duration::from_secs(a.stats_every.max(1)));
    stats_tick.tick().await;
    let mut link = None;
    let mut backoff = Duration::from_millis(250);
    let mut next_attempt = tokio::time::Instant::now();
    let mut retry: Option<OutMessage> = None;
    let mut cti_ended = false;
    loop {
        // (Re)connect to the broker when it is away.
        if link.is_none() {
            tokio::select! {
                _ = &mut sig => break,
                _ = tokio::time::sleep_until(next_attempt) => {}
            }
            let connect = transport.connect(&broker, &subscriptions);
            let res = tokio::select! {
                _ = &mut sig => break,
                r = connect => r,
            };
            match res {
                Ok(l) => {
                    counters.broker_connects.fetch_add(1, Ordering::Relaxed);
                    out::line(
                        &json!({"event": "broker", "state": "connected", "address": a.broker,
                                      "request_queue": a.request_queue}),
                    );
                    backoff = Duration::from_millis(250);
                    link = Some(l);
                }
                Err(e) => {
                    out::line(
                        &json!({"event": "broker", "state": "unreachable", "error": e.to_string(),
                                      "retry_in_ms": backoff.as_millis() as u64}),
                    );
                    next_attempt = tokio::time::Instant::now() + backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
            // Events go on queueing meanwhile (see below); drain the CTI side.
            while let Ok(ev) = events.try_recv() {
                cti_ended |= handle_cti(&ev, &mut router, &out_tx, &counters);
            }
            if cti_ended {
                break;
            }
            continue;
        }
        let Some(l) = link.as_mut() else { continue };
        if let Some(m) = retry.take() {
            if let Err(e) = l.sender.send(m.clone()).await {
                out::line(&json!({"event": "broker", "state": "lost", "error": e.to_string()}));
                retry = Some(m);
                link = None;
                continue;
            }
            counters.published.fetch_add(1, Ordering::Relaxed);
        }
        tokio::select! {
            _ = &mut sig => break,
            _ = stats_tick.tick(), if a.stats_every > 0 => { out::line(&counters.json()); }
            ev = events.recv() => match ev {
                None => break,
                Some(ev) => if handle_cti(&ev, &mut router, &out_tx, &counters) {
                    cti_ended = true;
                    break;
                },
            },
            m = out_rx.recv() => {
                let Some(m) = m else { break };
                if let Err(e) = l.sender.send(m.clone()).await {
                    out::line(&json!({"event": "broker", "state": "lost", "error": e.to_string()}));
                    retry = Some(m);
                    link = None;
                } else {
                    counters.published.fetch_add(1, Ordering::Relaxed);
                }
            }
            le = l.events.recv() => match le {
                Some(LinkEvent::Message(m)) => {
                    let Ok(permit) = slots.clone().try_acquire_owned() else {
                        counters.bad_requests.fetch_add(1, Ordering::Relaxed);
                        eprintln!("cce bridge: {MAX_REQUESTS_IN_FLIGHT} requests in flight; one dropped");
                        continue;
                    };
                    let (conn, tx, c) = (conn.clone(), out_tx.clone(), counters.clone());
                    tokio::spawn(async move {
                        request(conn, m.body, tx, c).await;
                        drop(permit);
                    });
                }
                Some(LinkEvent::Closed(e)) => {
                    out::line(&json!({"event": "broker", "state": "lost", "error": e.to_string()}));
                    link = None;
                }
                None => {
                    link = None;
                }
            }
        }
    }
    // What could not be published is counted, not lost silently.
    let unpublished = out_rx.len() as u64 + u64::from(retry.is_some());
    counters.failed.fetch_add(unpublished, Ordering::Relaxed);
    if let Some(l) = link {
        l.sender.close().await;
    }
    let reason = conn.close().await;
    out::line(&counters.json());
    out::line(
        &json!({"time": out::now(), "direction": "local", "name": "SESSION_CLOSED",
                      "reason": format!("{reason:?}")}),
    );
    Ok(if cti_ended {
        Exit::SessionEnded
    } else {
        Exit::Ok
    })
}

/// Queues the publications of one CTI event; true when the CTI session has ended.
fn handle_cti(
    ev: &CtiEvent,
    router: &mut Router,
    out_tx: &mpsc::Sender<OutMessage>,
    counters: &Counters,
) -> bool {
    match ev {
        CtiEvent::Message(m) => {
            counters.events.fetch_add(1, Ordering::Relaxed);
            let Ok(msg) = m.to_message() else {
                return false;
            };
            let j = to_json(&msg);
            let dests = router.destinations(&j);
            let rec = out::message_record(out::now(), "in", j);
            for d in dests {
                if out_tx.try_send(publication(d, &rec)).is_err() {
                    let n = counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_power_of_two() {
                        eprintln!(
                            "cce bridge: publish queue full; {n} publication(s) dropped so far"
                        );
                    }
                }
            }
            false
        }
        CtiEvent::Connection(c) => {
            out::line(&json!({"event": "cti", "state": format!("{c:?}")}));
            false
        }
        CtiEvent::Closed(r) => {
            out::line(&json!({"event": "cti", "state": "closed", "reason": format!("{r:?}")}));
            true
        }
        _ => false,
    }
}
