//! Recordings of CTI sessions and a server that replays them.
//!
//! A recording is JSON lines: a [`RecordingHeader`], then one [`RecordedFrame`] per
//! message, in order, with its time since the session opened and its direction
//! (`in`: server to client, `out`: client to server). `cce record` writes them;
//! [`ReplayServer`] plays one to any client that connects:
//!
//! * the client's OPEN_REQ is answered with the recorded OPEN_CONF, re-stamped with the
//!   client's InvokeID (and re-encoded at the client's protocol version when it differs);
//! * the recorded events follow with the recorded timing, divided by `speed`;
//! * each request the client sends is answered with the recorded confirmation of the
//!   same recorded request (or the next unused confirmation of the right name),
//!   re-stamped with the new InvokeID; HEARTBEAT_REQ and CLOSE_REQ are answered as a
//!   server does; a request the recording cannot answer gets a FAILURE_CONF
//!   (E_CTI_FUNCTION_NOT_AVAILABLE);
//! * after the last event the session stays open (heartbeats answered) until the
//!   client closes it.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::cti::codec::frame::{FrameSplitter, HEADER_LEN};
use crate::cti::codec::{decode_frame, encode, DecodeOptions, Frame, Message};
use crate::cti::requests::request_info;
use crate::cti::session::CtiStatus;
use crate::cti::spec;

/// The `format` value of a recording header.
pub const RECORDING_FORMAT: &str = "cce-cti-recording";
/// Largest recording read (frames).
pub const MAX_RECORDED_FRAMES: usize = 1_000_000;
/// Clients a replay server serves at once; more are refused (closed at once).
pub const MAX_REPLAY_CLIENTS: usize = 64;
/// Time a new client has to send its OPEN_REQ.
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed for one write to a client.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors reading a recording or starting a replay.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// Reading, writing or binding failed.
    #[error("replay I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The recording is not valid.
    #[error("recording line {line}: {reason}")]
    BadRecording {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A setting is out of range.
    #[error("replay settings: {0}")]
    Invalid(String),
}

/// Direction of a recorded frame, seen from the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Server to client.
    In,
    /// Client to server.
    Out,
}

impl Direction {
    /// `in` or `out`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// First line of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingHeader {
    /// Always [`RECORDING_FORMAT`].
    pub format: String,
    /// Protocol version of the recorded session.
    pub protocol_version: u32,
    /// Server address recorded from, if known.
    #[serde(default)]
    pub address: Option<String>,
    /// Unix time (seconds) of the session start, if known.
    #[serde(default)]
    pub started: Option<f64>,
}

impl RecordingHeader {
    /// A header for a session at `protocol_version`.
    pub fn new(protocol_version: u32) -> Self {
        RecordingHeader {
            format: RECORDING_FORMAT.into(),
            protocol_version,
            address: None,
            started: None,
        }
    }
}

/// One recorded message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedFrame {
    /// Milliseconds since the session opened.
    pub t_ms: f64,
    /// Direction.
    pub dir: Direction,
    /// MessageType.
    pub msg_type: u32,
    /// Message name (informative).
    #[serde(default)]
    pub name: String,
    /// The whole frame (header included), lowercase hex.
    pub hex: String,
}

impl RecordedFrame {
    /// Records `msg` encoded at `version`.
    pub fn from_message(
        t_ms: f64,
        dir: Direction,
        msg: &Message,
        version: u32,
    ) -> Result<Self, crate::cti::codec::CodecError> {
        let bytes = encode(msg, version)?;
        Ok(RecordedFrame {
            t_ms,
            dir,
            msg_type: msg.msg_type(),
            name: msg.name().to_owned(),
            hex: to_hex(&bytes),
        })
    }

    /// The frame's bytes (`None` when `hex` is not valid hex).
    pub fn bytes(&self) -> Option<Vec<u8>> {
        from_hex(&self.hex)
    }
}

/// Lowercase hex of `b`.
pub fn to_hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// Bytes of a hex string (even length, no separators).
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A whole recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// The header.
    pub header: RecordingHeader,
    /// The frames, in order.
    pub frames: Vec<RecordedFrame>,
}

impl Recording {
    /// Reads a recording from JSON lines (blank lines ignored).
    pub fn read(reader: impl BufRead) -> Result<Self, ReplayError> {
        let mut header: Option<RecordingHeader> = None;
        let mut frames = Vec::new();
        for (i, line) in reader.lines().enumerate() {
            let line = line?;
            let bad = |reason: String| ReplayError::BadRecording {
                line: i + 1,
                reason,
            };
            if line.trim().is_empty() {
                continue;
            }
            if header.is_none() {
                let h: RecordingHeader =
                    serde_json::from_str(&line).map_err(|e| bad(format!("header: {e}")))?;
                if h.format != RECORDING_FORMAT {
                    return Err(bad(format!(
                        "format {:?}, expected {RECORDING_FORMAT:?}",
                        h.format
                    )));
                }
                crate::cti::codec::check_version(h.protocol_version)
                    .map_err(|e| bad(e.to_string()))?;
                header = Some(h);
                continue;
            }
            if frames.len() >= MAX_RECORDED_FRAMES {
                return Err(bad(format!("more than {MAX_RECORDED_FRAMES} frames")));
            }
            let f: RecordedFrame = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
            let bytes = f.bytes().ok_or_else(|| bad("hex: not valid hex".into()))?;
            if bytes.len() < HEADER_LEN || !f.t_ms.is_finite() || f.t_ms < 0.0 {
                return Err(bad("frame shorter than a header or bad t_ms".into()));
            }
            frames.push(f);
        }
        let header = header.ok_or(ReplayError::BadRecording {
            line: 0,
            reason: "empty recording".into(),
        })?;
        Ok(Recording { header, frames })
    }

    /// Writes the recording as JSON lines.
    pub fn write(&self, mut out: impl Write) -> std::io::Result<()> {
        writeln!(out, "{}", json_line(&self.header))?;
        for f in &self.frames {
            writeln!(out, "{}", json_line(f))?;
        }
        Ok(())
    }
}

/// One value as a JSON line (without the newline).
pub fn json_line(v: &impl Serialize) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Replay settings.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// Listen address (e.g. `127.0.0.1:0`).
    pub bind: SocketAddr,
    /// Time scale: 1 plays the recorded timing, 10 ten times faster; infinite: no waits.
    pub speed: f64,
    /// Stop after this many client sessions have ended (`None`: serve until stopped).
    pub max_sessions: Option<usize>,
}

/// A running replay server.
pub struct ReplayServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    done: watch::Receiver<bool>,
    served: Arc<AtomicUsize>,
    task: Option<JoinHandle<()>>,
}

impl ReplayServer {
    /// Binds and starts serving `rec`.
    pub async fn start(rec: Recording, cfg: ReplayConfig) -> Result<Self, ReplayError> {
        if cfg.speed.is_nan() || cfg.speed <= 0.0 {
            return Err(ReplayError::Invalid("speed must be > 0".into()));
        }
        if !rec.frames.iter().any(|f| f.name == "OPEN_CONF") {
            return Err(ReplayError::Invalid(
                "the recording has no OPEN_CONF to answer clients with".into(),
            ));
        }
        let listener = TcpListener::bind(cfg.bind).await?;
        let addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let (done_tx, done) = watch::channel(false);
        let served = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept_loop(
            listener,
            Arc::new(rec),
            cfg,
            stop_rx,
            done_tx,
            served.clone(),
        ));
        Ok(ReplayServer {
            addr,
            stop,
            done,
            served,
            task: Some(task),
        })
    }

    /// Listening address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Client sessions served to the end so far.
    pub fn sessions_served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }

    /// Waits until `max_sessions` sessions have ended (never, without a limit) or
    /// `timeout` passes; true when they have.
    pub async fn wait_done(&mut self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.done.wait_for(|d| *d))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Stops listening and drops every client.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn accept_loop(
    listener: TcpListener,
    rec: Arc<Recording>,
    cfg: ReplayConfig,
    mut stop: watch::Receiver<bool>,
    done: watch::Sender<bool>,
    served: Arc<AtomicUsize>,
) {
    let slots = Arc::new(Semaphore::new(MAX_REPLAY_CLIENTS));
    let mut clients = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = clients.join_next(), if !clients.is_empty() => {
                let n = served.fetch_add(1, Ordering::SeqCst) + 1;
                if cfg.max_sessions.is_some_and(|m| n >= m) {
                    break;
                }
            }
            acc = listener.accept() => {
                let Ok((sock, peer)) = acc else { continue };
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, "replay: too many clients; refused");
                    continue;
                };
                let (rec, speed, stop) = (rec.clone(), cfg.speed, stop.clone());
                clients.spawn(async move {
                    if let Err(e) = serve_client(sock, &rec, speed, stop).await {
                        tracing::debug!(%peer, "replay client ended: {e}");
                    }
                    drop(permit);
                });
            }
        }
    }
    clients.shutdown().await;
    let _ = done.send(true);
}

/// A recorded frame split into its parts.
struct Parsed {
    t_ms: f64,
    dir: Direction,
    name: String,
    frame: Frame,
}

fn parse(rec: &Recording) -> Vec<Parsed> {
    rec.frames
        .iter()
        .filter_map(|f| {
            let b = f.bytes()?;
            let msg_type = u32::from_be_bytes(b.get(4..8)?.try_into().ok()?);
            Some(Parsed {
                t_ms: f.t_ms,
                dir: f.dir,
                name: spec::message_by_type(msg_type)
                    .map(|s| s.name.to_owned())
                    .unwrap_or_else(|| f.name.clone()),
                frame: Frame {
                    msg_type,
                    body: Bytes::copy_from_slice(b.get(HEADER_LEN..)?),
                },
            })
        })
        .collect()
}

fn is_conf(name: &str) -> bool {
    name.ends_with("_CONF")
}

fn raw_frame(frame: &Frame) -> Bytes {
    let mut v = Vec::with_capacity(HEADER_LEN + frame.body.len());
    v.extend_from_slice(&(frame.body.len() as u32).to_be_bytes());
    v.extend_from_slice(&frame.msg_type.to_be_bytes());
    v.extend_from_slice(&frame.body);
    Bytes::from(v)
}

/// The frame as the client should get it: at its version, with `invoke` as InvokeID.
fn restamp(frame: &Frame, from: u32, to: u32, invoke: Option<u32>) -> Bytes {
    if from == to && invoke.is_none() {
        return raw_frame(frame);
    }
    let Ok(mut msg) = decode_frame(frame, from, DecodeOptions::tolerant()) else {
        return raw_frame(frame);
    };
    if from != to {
        // Messages are laid out per version: go through the JSON form (fields the
        // client's version does not have are left out).
        let j = crate::cti::codec::json::to_json(&msg);
        match lenient_from_json(&j, to) {
            Some(m) => msg = m,
            None => return raw_frame(frame),
        }
    }
    if let Some(id) = invoke {
        if msg.set_int("InvokeID", i64::from(id)).is_err() {
            return raw_frame(frame);
        }
    }
    encode(&msg, to).unwrap_or_else(|_| raw_frame(frame))
}

/// The message of `j` at `version`, dropping the fields that version refuses.
fn lenient_from_json(j: &serde_json::Value, version: u32) -> Option<Message> {
    use crate::cti::codec::json::from_json;
    let mut j = j.clone();
    for _ in 0..64 {
        match from_json(&j, version) {
            Ok(m) => return Some(m),
            Err(e) => {
                let field = match &e {
                    crate::cti::codec::CodecError::BadValue { field, .. }
                    | crate::cti::codec::CodecError::NoSuchField { field, .. } => field.to_string(),
                    _ => return None,
                };
                let obj = j.as_object_mut()?;
                obj.remove(&field)?;
                obj.remove(&format!("{field}_name"));
            }
        }
    }
    None
}

fn invoke_of(frame: &Frame, version: u32) -> Option<u32> {
    decode_frame(frame, version, DecodeOptions::tolerant())
        .ok()?
        .invoke_id()
}

fn u32_at(body: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?))
}

fn simple_conf(name: &str, invoke: u32, version: u32) -> Option<Bytes> {
    let mut m = Message::new(name, version).ok()?;
    m.set_int("InvokeID", i64::from(invoke)).ok()?;
    encode(&m, version).ok()
}

fn failure_conf(invoke: u32, version: u32) -> Option<Bytes> {
    let status = CtiStatus::named("E_CTI_FUNCTION_NOT_AVAILABLE")?;
    let mut m = Message::new("FAILURE_CONF", version).ok()?;
    m.set_int("InvokeID", i64::from(invoke))
        .ok()?
        .set_int("Status", i64::from(status.code))
        .ok()?;
    encode(&m, version).ok()
}

struct Conversation<'a> {
    frames: &'a [Parsed],
    version: u32,
    used: HashSet<usize>,
}

impl Conversation<'_> {
    /// The recorded confirmation for a request named `req` (type `name`).
    fn answer(&mut self, req: &str) -> Option<usize> {
        // The first unused recorded request of this name, then its confirmation.
        let recorded_req = self
            .frames
            .iter()
            .enumerate()
            .find(|(i, p)| p.dir == Direction::Out && p.name == req && !self.used.contains(i));
        if let Some((ri, rp)) = recorded_req {
            self.used.insert(ri);
            if let Some(id) = invoke_of(&rp.frame, self.version) {
                let conf = self.frames.iter().enumerate().skip(ri).find(|(i, p)| {
                    p.dir == Direction::In
                        && is_conf(&p.name)
                        && !self.used.contains(i)
                        && invoke_of(&p.frame, self.version) == Some(id)
                });
                if let Some((ci, _)) = conf {
                    self.used.insert(ci);
                    return Some(ci);
                }
            }
        }
        let want = request_info(req)?.confirmation;
        let (ci, _) =
            self.frames.iter().enumerate().find(|(i, p)| {
                p.dir == Direction::In && p.name == want && !self.used.contains(i)
            })?;
        self.used.insert(ci);
        Some(ci)
    }
}

async fn write(sock: &mut TcpStream, b: &[u8]) -> std::io::Result<()> {
    tokio::time::timeout(WRITE_TIMEOUT, sock.write_all(b))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out"))?
}

async fn serve_client(
    mut sock: TcpStream,
    rec: &Recording,
    speed: f64,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let rec_version = rec.header.protocol_version;
    let frames = parse(rec);
    let mut splitter = FrameSplitter::new();
    let mut buf = vec![0u8; 16 * 1024];
    // 1. OPEN_REQ.
    let deadline = Instant::now() + OPEN_TIMEOUT;
    let open = loop {
        if let Some(f) = splitter
            .next_frame()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?
        {
            break f;
        }
        let n = tokio::time::timeout_at(deadline, sock.read(&mut buf))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no OPEN_REQ"))??;
        if n == 0 {
            return Ok(());
        }
        splitter.push(&buf[..n]);
    };
    let open_type = spec::message_by_type(open.msg_type).map(|s| s.name);
    if open_type != Some("OPEN_REQ") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "first message is not OPEN_REQ",
        ));
    }
    let invoke = u32_at(&open.body, 0).unwrap_or(0);
    let version = u32_at(&open.body, 4)
        .filter(|v| crate::cti::codec::check_version(*v).is_ok())
        .unwrap_or(rec_version);
    let mut conv = Conversation {
        frames: &frames,
        version: rec_version,
        used: HashSet::new(),
    };
    let open_idx = conv.answer("OPEN_REQ").or_else(|| {
        frames
            .iter()
            .position(|p| p.dir == Direction::In && p.name == "OPEN_CONF")
    });
    let Some(open_idx) = open_idx else {
        return Ok(());
    };
    write(
        &mut sock,
        &restamp(&frames[open_idx].frame, rec_version, version, Some(invoke)),
    )
    .await?;
    // 2. The timeline of events after OPEN_CONF, answering requests meanwhile.
    let t0 = frames[open_idx].t_ms;
    let start = Instant::now();
    let timeline: Vec<usize> = (open_idx + 1..frames.len())
        .filter(|&i| frames[i].dir == Direction::In && !is_conf(&frames[i].name))
        .collect();
    let mut next = 0usize;
    loop {
        let due = timeline.get(next).map(|&i| {
            let ms = ((frames[i].t_ms - t0).max(0.0) / speed).min(86_400_000.0);
            start + Duration::from_micros((ms * 1000.0) as u64)
        });
        // Requests already buffered first.
        while let Some(f) = splitter
            .next_frame()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?
        {
            let name = spec::message_by_type(f.msg_type).map_or("", |s| s.name);
            let id = u32_at(&f.body, 0).unwrap_or(0);
            let reply = match name {
                "HEARTBEAT_REQ" => simple_conf("HEARTBEAT_CONF", id, version),
                "CLOSE_REQ" => {
                    if let Some(b) = simple_conf("CLOSE_CONF", id, version) {
                        write(&mut sock, &b).await?;
                    }
                    let _ = sock.shutdown().await;
                    return Ok(());
                }
                _ => match conv.answer(name) {
                    Some(ci) => Some(restamp(&frames[ci].frame, rec_version, version, Some(id))),
                    None => failure_conf(id, version),
                },
            };
            if let Some(b) = reply {
                write(&mut sock, &b).await?;
            }
        }
        tokio::select! {
            _ = stop.changed() => return Ok(()),
            r = sock.read(&mut buf) => {
                let n = r?;
                if n == 0 {
                    return Ok(());
                }
                splitter.push(&buf[..n]);
            }
            _ = async {
                match due {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => {
                if let Some(&i) = timeline.get(next) {
                    write(&mut sock, &restamp(&frames[i].frame, rec_version, version, None)).await?;
                }
                next += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(name: &str, v: u32, invoke: Option<u32>, t: f64, dir: Direction) -> RecordedFrame {
        if name == "OPEN_REQ" {
            let m = crate::cti::session::SessionConfig::new("rec", v)
                .open_req(invoke.unwrap_or(1))
                .unwrap();
            return RecordedFrame::from_message(t, dir, &m, v).unwrap();
        }
        let mut m = Message::new(name, v).unwrap();
        if let Some(id) = invoke {
            m.set_int("InvokeID", id.into()).unwrap();
        }
        RecordedFrame::from_message(t, dir, &m, v).unwrap()
    }

    #[test]
    fn recordings_round_trip_and_bad_ones_are_refused() {
        let rec = Recording {
            header: RecordingHeader::new(24),
            frames: vec![frame("OPEN_CONF", 24, Some(7), 0.0, Direction::In)],
        };
        let mut out = Vec::new();
        rec.write(&mut out).unwrap();
        assert_eq!(Recording::read(&out[..]).unwrap(), rec);
        for bad in [
            "",
            "{\"format\":\"other\",\"protocol_version\":24}",
            "{\"format\":\"cce-cti-recording\",\"protocol_version\":3}",
            "{\"format\":\"cce-cti-recording\",\"protocol_version\":24}\n{\"t_ms\":0,\"dir\":\"in\",\"msg_type\":1,\"hex\":\"zz\"}",
            "{\"format\":\"cce-cti-recording\",\"protocol_version\":24}\n{\"t_ms\":0,\"dir\":\"in\",\"msg_type\":1,\"hex\":\"00\"}",
        ] {
            assert!(Recording::read(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn confirmations_are_restamped_with_the_new_invoke_id() {
        let frames = vec![
            frame("OPEN_REQ", 24, Some(1), 0.0, Direction::Out),
            frame("OPEN_CONF", 24, Some(1), 0.0, Direction::In),
            frame("QUERY_AGENT_STATE_REQ", 24, Some(5), 1.0, Direction::Out),
            frame("QUERY_AGENT_STATE_CONF", 24, Some(5), 2.0, Direction::In),
        ];
        let rec = Recording {
            header: RecordingHeader::new(24),
            frames,
        };
        let parsed = parse(&rec);
        let mut conv = Conversation {
            frames: &parsed,
            version: 24,
            used: HashSet::new(),
        };
        let ci = conv.answer("QUERY_AGENT_STATE_REQ").unwrap();
        assert_eq!(parsed[ci].name, "QUERY_AGENT_STATE_CONF");
        let b = restamp(&parsed[ci].frame, 24, 24, Some(99));
        let m = crate::cti::codec::decode(&b, 24).unwrap();
        assert_eq!(m.invoke_id(), Some(99));
        // Used once; a second identical request has nothing left to answer with.
        assert!(conv.answer("QUERY_AGENT_STATE_REQ").is_none());
        // A client at another version gets the frame re-encoded at its version.
        let open_conf = parse(&Recording {
            header: RecordingHeader::new(24),
            frames: vec![frame("OPEN_CONF", 24, Some(1), 0.0, Direction::In)],
        });
        let b = restamp(&open_conf[0].frame, 24, 20, Some(5));
        let m = crate::cti::codec::decode(&b, 20).unwrap();
        assert_eq!((m.name(), m.invoke_id()), ("OPEN_CONF", Some(5)));
        let fc = failure_conf(3, 24).unwrap();
        assert_eq!(
            crate::cti::codec::decode(&fc, 24).unwrap().name(),
            "FAILURE_CONF"
        );
    }

    async fn read_msg(sock: &mut TcpStream, sp: &mut FrameSplitter) -> Message {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(f) = sp.next_frame().unwrap() {
                return decode_frame(&f, 24, DecodeOptions::tolerant()).unwrap();
            }
            let n = sock.read(&mut buf).await.unwrap();
            assert!(n > 0, "replay server closed early");
            sp.push(&buf[..n]);
        }
    }

    async fn send(sock: &mut TcpStream, name: &str, invoke: u32) {
        let mut m = Message::new(name, 24).unwrap();
        m.set_int("InvokeID", invoke.into()).unwrap();
        sock.write_all(&encode(&m, 24).unwrap()).await.unwrap();
    }

    #[tokio::test]
    async fn a_client_gets_the_recorded_session_with_its_own_invoke_ids() {
        let rec = Recording {
            header: RecordingHeader::new(24),
            frames: vec![
                frame("OPEN_REQ", 24, Some(1), 0.0, Direction::Out),
                frame("OPEN_CONF", 24, Some(1), 0.0, Direction::In),
                frame("SYSTEM_EVENT", 24, None, 5.0, Direction::In),
                frame("HEARTBEAT_CONF", 24, Some(2), 6.0, Direction::In),
                frame("SYSTEM_EVENT", 24, None, 10.0, Direction::In),
            ],
        };
        let mut server = ReplayServer::start(
            rec,
            ReplayConfig {
                bind: SocketAddr::from(([127, 0, 0, 1], 0)),
                speed: f64::INFINITY,
                max_sessions: Some(1),
            },
        )
        .await
        .unwrap();
        let mut sock = TcpStream::connect(server.local_addr()).await.unwrap();
        let open = crate::cti::session::SessionConfig::new("other", 24)
            .open_req(777)
            .unwrap();
        sock.write_all(&encode(&open, 24).unwrap()).await.unwrap();
        let mut sp = FrameSplitter::new();
        let conf = read_msg(&mut sock, &mut sp).await;
        assert_eq!((conf.name(), conf.invoke_id()), ("OPEN_CONF", Some(777)));
        // The events, not the recorded confirmation.
        for _ in 0..2 {
            assert_eq!(read_msg(&mut sock, &mut sp).await.name(), "SYSTEM_EVENT");
        }
        send(&mut sock, "HEARTBEAT_REQ", 900).await;
        let hb = read_msg(&mut sock, &mut sp).await;
        assert_eq!((hb.name(), hb.invoke_id()), ("HEARTBEAT_CONF", Some(900)));
        send(&mut sock, "QUERY_AGENT_STATE_REQ", 901).await;
        let f = read_msg(&mut sock, &mut sp).await;
        assert_eq!((f.name(), f.invoke_id()), ("FAILURE_CONF", Some(901)));
        send(&mut sock, "CLOSE_REQ", 902).await;
        let c = read_msg(&mut sock, &mut sp).await;
        assert_eq!((c.name(), c.invoke_id()), ("CLOSE_CONF", Some(902)));
        assert!(server.wait_done(Duration::from_secs(10)).await);
        assert_eq!(server.sessions_served(), 1);
        server.stop().await;
    }
}
