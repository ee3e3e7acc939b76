//! Per-session counters: frames and bytes, decode errors, reconnects, failovers,
//! heartbeat round trips and request latencies, readable from any thread while the
//! session runs, and a Prometheus text rendering of every live session.
//!
//! A [`SessionStats`] lives in the [`SessionConfig`](super::session::SessionConfig)
//! (shared by its clones), so it survives the reconnects of a failover connection: the
//! sans-IO session counts frames, the connection counts reconnects and failovers.

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

/// How many recent request latencies the percentiles are computed over.
pub const LATENCY_WINDOW: usize = 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Default)]
struct Timings {
    heartbeat_last: Option<Duration>,
    heartbeat_sum: Duration,
    heartbeat_count: u64,
    heartbeat_max: Duration,
    /// Latest request latencies, oldest first (at most [`LATENCY_WINDOW`]).
    latencies: VecDeque<Duration>,
    requests: u64,
    last_frame: Option<Instant>,
    side: Option<&'static str>,
}

/// Counters of one CTI session (and of the reconnected sessions of a failover connection).
pub struct SessionStats {
    id: u64,
    client_id: Mutex<String>,
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    decode_errors: AtomicU64,
    unrecognized: AtomicU64,
    opens: AtomicU64,
    reconnects: AtomicU64,
    failovers: AtomicU64,
    timings: Mutex<Timings>,
    /// The event queue's figures, once a connection attached them.
    queue: OnceLock<Arc<crate::queue::QueueCounters>>,
}

impl fmt::Debug for SessionStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStats")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn live() -> &'static Mutex<Vec<Weak<SessionStats>>> {
    static LIVE: OnceLock<Mutex<Vec<Weak<SessionStats>>>> = OnceLock::new();
    LIVE.get_or_init(|| Mutex::new(Vec::new()))
}

impl SessionStats {
    /// New zeroed counters for a session of `client_id`, listed by [`metrics_text`]
    /// while they are alive.
    pub fn new(client_id: &str) -> Arc<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let stats = Arc::new(SessionStats {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            client_id: Mutex::new(client_id.to_owned()),
            frames_in: AtomicU64::new(0),
            frames_out: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            decode_errors: AtomicU64::new(0),
            unrecognized: AtomicU64::new(0),
            opens: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            failovers: AtomicU64::new(0),
            timings: Mutex::new(Timings::default()),
            queue: OnceLock::new(),
        });
        let mut all = lock(live());
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&stats));
        stats
    }

    /// Reports the figures of the session's event queue in the snapshot (the first
    /// attachment wins; a failover connection keeps one queue across reconnects).
    pub fn attach_queue(&self, counters: Arc<crate::queue::QueueCounters>) {
        let _ = self.queue.set(counters);
    }

    /// Process-unique number of these counters (the `session` label of [`metrics_text`]).
    pub fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn set_client_id(&self, client_id: &str) {
        let mut c = lock(&self.client_id);
        if *c != client_id {
            client_id.clone_into(&mut c);
        }
    }

    pub(crate) fn frame_out(&self, bytes: usize) {
        self.frames_out.fetch_add(1, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn frame_in(&self, bytes: usize, now: Instant) {
        self.frames_in.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
        lock(&self.timings).last_frame = Some(now);
    }

    pub(crate) fn decode_error(&self) {
        self.decode_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn unrecognized(&self) {
        self.unrecognized.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn opened(&self) {
        self.opens.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn heartbeat(&self, rtt: Duration) {
        let mut t = lock(&self.timings);
        t.heartbeat_last = Some(rtt);
        t.heartbeat_sum += rtt;
        t.heartbeat_count += 1;
        t.heartbeat_max = t.heartbeat_max.max(rtt);
    }

    pub(crate) fn request_done(&self, latency: Duration) {
        let mut t = lock(&self.timings);
        if t.latencies.len() == LATENCY_WINDOW {
            t.latencies.pop_front();
        }
        t.latencies.push_back(latency);
        t.requests += 1;
    }

    /// A session opened on `side` (`"A"` or `"B"`): counts a reconnect when
    /// `reconnected`, and a failover when the side differs from the previous one.
    pub fn connected(&self, side: &'static str, reconnected: bool) {
        if reconnected {
            self.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        let mut t = lock(&self.timings);
        if t.side.is_some_and(|s| s != side) {
            self.failovers.fetch_add(1, Ordering::Relaxed);
        }
        t.side = Some(side);
    }

    /// A consistent-enough copy of the counters at `now`.
    pub fn snapshot(&self, now: Instant) -> StatsSnapshot {
        let t = lock(&self.timings);
        let mut sorted: Vec<Duration> = t.latencies.iter().copied().collect();
        sorted.sort_unstable();
        StatsSnapshot {
            session: self.id,
            client_id: lock(&self.client_id).clone(),
            frames_in: self.frames_in.load(Ordering::Relaxed),
            frames_out: self.frames_out.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            decode_errors: self.decode_errors.load(Ordering::Relaxed),
            unrecognized: self.unrecognized.load(Ordering::Relaxed),
            opens: self.opens.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            failovers: self.failovers.load(Ordering::Relaxed),
            heartbeats: t.heartbeat_count,
            heartbeat_rtt_last: t.heartbeat_last,
            heartbeat_rtt_avg: u32::try_from(t.heartbeat_count)
                .ok()
                .filter(|n| *n > 0)
                .map(|n| t.heartbeat_sum / n),
            heartbeat_rtt_max: (t.heartbeat_count > 0).then_some(t.heartbeat_max),
            requests: t.requests,
            latency_p50: percentile(&sorted, 50),
            latency_p99: percentile(&sorted, 99),
            since_last_frame: t.last_frame.map(|at| now.saturating_duration_since(at)),
            queue: self.queue.get().map(|q| q.stats()),
        }
    }
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: usize) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The counters of a session at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsSnapshot {
    /// Process-unique session number.
    pub session: u64,
    /// OPEN_REQ ClientID.
    pub client_id: String,
    /// Frames received (every MessageType, including heartbeats).
    pub frames_in: u64,
    /// Frames sent.
    pub frames_out: u64,
    /// Bytes received (headers included).
    pub bytes_in: u64,
    /// Bytes sent (headers included).
    pub bytes_out: u64,
    /// Frames of a known MessageType whose body did not decode.
    pub decode_errors: u64,
    /// Frames of a MessageType outside the catalogue.
    pub unrecognized: u64,
    /// Sessions opened (OPEN_CONF received), reconnects included.
    pub opens: u64,
    /// Sessions re-opened after a lost link.
    pub reconnects: u64,
    /// Reconnects that landed on the other side (A to B or B to A).
    pub failovers: u64,
    /// HEARTBEAT_CONFs received.
    pub heartbeats: u64,
    /// Round trip of the last heartbeat.
    pub heartbeat_rtt_last: Option<Duration>,
    /// Mean heartbeat round trip.
    pub heartbeat_rtt_avg: Option<Duration>,
    /// Longest heartbeat round trip.
    pub heartbeat_rtt_max: Option<Duration>,
    /// Tracked requests answered (confirmation or failure; timeouts excluded).
    pub requests: u64,
    /// Median request latency over the last [`LATENCY_WINDOW`] requests.
    pub latency_p50: Option<Duration>,
    /// 99th percentile request latency over the last [`LATENCY_WINDOW`] requests.
    pub latency_p99: Option<Duration>,
    /// Time since the last frame arrived.
    pub since_last_frame: Option<Duration>,
    /// The event queue's figures (`None` until a connection attached its queue).
    pub queue: Option<crate::queue::QueueStats>,
}

fn ms(d: Option<Duration>) -> Json {
    d.map_or(Json::Null, |d| json!(d.as_secs_f64() * 1000.0))
}

impl StatsSnapshot {
    /// The JSON the bindings return from `stats()`: counters, durations in milliseconds
    /// (`null` when there is no sample yet), and the event queue's `queue_depth`,
    /// `queue_high_water` (events) and `queue_drops` (`null` without a connection).
    pub fn to_json(&self) -> Json {
        json!({
            "session": self.session,
            "client_id": self.client_id,
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "decode_errors": self.decode_errors,
            "unrecognized": self.unrecognized,
            "opens": self.opens,
            "reconnects": self.reconnects,
            "failovers": self.failovers,
            "heartbeats": self.heartbeats,
            "heartbeat_rtt_ms": {
                "last": ms(self.heartbeat_rtt_last),
                "avg": ms(self.heartbeat_rtt_avg),
                "max": ms(self.heartbeat_rtt_max),
            },
            "requests": self.requests,
            "request_latency_ms": {
                "p50": ms(self.latency_p50),
                "p99": ms(self.latency_p99),
            },
            "ms_since_last_frame": ms(self.since_last_frame),
            "queue_depth": self.queue.map(|q| q.depth_events),
            "queue_high_water": self.queue.map(|q| q.high_water_events),
            "queue_drops": self.queue.map(|q| q.dropped),
        })
    }
}

/// Escapes a Prometheus label value.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

type Metric = (
    &'static str,
    &'static str,
    &'static str,
    fn(&StatsSnapshot) -> Option<f64>,
);

const METRICS: &[Metric] = &[
    (
        "cce_cti_queue_depth",
        "gauge",
        "Events waiting in the session's event queue",
        |s| s.queue.map(|q| q.depth_events as f64),
    ),
    (
        "cce_cti_queue_high_water",
        "gauge",
        "Most events ever waiting in the session's event queue",
        |s| s.queue.map(|q| q.high_water_events as f64),
    ),
    (
        "cce_cti_queue_dropped_total",
        "counter",
        "Events dropped (queued at close, or refused on overrun)",
        |s| s.queue.map(|q| q.dropped as f64),
    ),
    (
        "cce_cti_frames_in_total",
        "counter",
        "CTI frames received",
        |s| Some(s.frames_in as f64),
    ),
    (
        "cce_cti_frames_out_total",
        "counter",
        "CTI frames sent",
        |s| Some(s.frames_out as f64),
    ),
    (
        "cce_cti_bytes_in_total",
        "counter",
        "CTI bytes received",
        |s| Some(s.bytes_in as f64),
    ),
    (
        "cce_cti_bytes_out_total",
        "counter",
        "CTI bytes sent",
        |s| Some(s.bytes_out as f64),
    ),
    (
        "cce_cti_decode_errors_total",
        "counter",
        "CTI frames that did not decode",
        |s| Some(s.decode_errors as f64),
    ),
    (
        "cce_cti_unrecognized_total",
        "counter",
        "CTI frames of unknown MessageType",
        |s| Some(s.unrecognized as f64),
    ),
    (
        "cce_cti_reconnects_total",
        "counter",
        "CTI sessions re-opened after a lost link",
        |s| Some(s.reconnects as f64),
    ),
    (
        "cce_cti_failovers_total",
        "counter",
        "CTI reconnects to the other side",
        |s| Some(s.failovers as f64),
    ),
    (
        "cce_cti_requests_total",
        "counter",
        "CTI requests answered",
        |s| Some(s.requests as f64),
    ),
    (
        "cce_cti_heartbeat_rtt_seconds_last",
        "gauge",
        "Last CTI heartbeat round trip",
        |s| s.heartbeat_rtt_last.map(|d| d.as_secs_f64()),
    ),
    (
        "cce_cti_heartbeat_rtt_seconds_max",
        "gauge",
        "Longest CTI heartbeat round trip",
        |s| s.heartbeat_rtt_max.map(|d| d.as_secs_f64()),
    ),
    (
        "cce_cti_request_latency_seconds_p50",
        "gauge",
        "Median CTI request latency",
        |s| s.latency_p50.map(|d| d.as_secs_f64()),
    ),
    (
        "cce_cti_request_latency_seconds_p99",
        "gauge",
        "99th percentile CTI request latency",
        |s| s.latency_p99.map(|d| d.as_secs_f64()),
    ),
    (
        "cce_cti_seconds_since_last_frame",
        "gauge",
        "Time since the last CTI frame arrived",
        |s| s.since_last_frame.map(|d| d.as_secs_f64()),
    ),
];

/// Every live CTI session's counters in the Prometheus text exposition format
/// (labels `session` and `client_id`), ready to serve as `/metrics`.
pub fn metrics_text() -> String {
    let now = Instant::now();
    let snaps: Vec<StatsSnapshot> = {
        let mut all = lock(live());
        all.retain(|w| w.strong_count() > 0);
        all.iter()
            .filter_map(Weak::upgrade)
            .map(|s| s.snapshot(now))
            .collect()
    };
    let mut out = String::new();
    for (name, kind, help, get) in METRICS {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for s in &snaps {
            if let Some(v) = get(s) {
                let _ = writeln!(
                    out,
                    "{name}{{session=\"{}\",client_id=\"{}\"}} {v}",
                    s.session,
                    label(&s.client_id)
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&v, 99), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&v[..1], 99), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn failovers_count_side_changes_and_metrics_list_live_sessions() {
        let s = SessionStats::new("x\"y");
        s.connected("A", false);
        s.connected("A", true);
        s.connected("B", true);
        let snap = s.snapshot(Instant::now());
        assert_eq!((snap.reconnects, snap.failovers), (2, 1));
        let text = metrics_text();
        let line = format!(
            "cce_cti_failovers_total{{session=\"{}\",client_id=\"x\\\"y\"}} 1",
            s.id()
        );
        assert!(text.contains(&line), "{text}");
        let id = s.id();
        drop(s);
        assert!(!metrics_text().contains(&format!("session=\"{id}\"")));
    }
}
