//! The sans-IO STOMP 1.2 client connection: the exchange of a link to one broker
//! (CONNECT → CONNECTED, SUBSCRIBE with receipts, SEND with or without receipt,
//! heart-beats both ways, DISCONNECT) without any I/O, driven with the same verbs as
//! the CTI `Session`:
//!
//! * [`Connection::receive`] — bytes read from the broker;
//! * [`Connection::poll_transmit`] — bytes to write to it;
//! * [`Connection::poll_event`] — what happened ([`ConnEvent`]);
//! * [`Connection::poll_timeout`] / [`Connection::handle_timeout`] — the connect
//!   deadline and the heart-beat timers.
//!
//! [`super::transport`] drives it over any `AsyncRead + AsyncWrite` stream.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::stomp::{encode, Decoded, Frame, FrameDecoder, Limits, StompError};
use super::trace;
use super::transport::{Destination, InMessage, OutMessage};
use crate::cti::trace::{Dir, WireTrace};
use crate::ece::Secret;

/// What a connection needs to know.
#[derive(Debug, Clone)]
pub struct ConnConfig {
    /// The `host` header (the broker's host name).
    pub host: String,
    /// Broker login, if any.
    pub login: Option<String>,
    /// Broker passcode, if any.
    pub passcode: Option<Secret>,
    /// STOMP heart-beat period offered both ways (zero: none).
    pub heartbeat: Duration,
    /// CONNECTED and every subscription receipt must come within this.
    pub connect_timeout: Duration,
    /// Frame decoder limits.
    pub limits: Limits,
    /// Destinations to subscribe to before the connection is open.
    pub subscriptions: Vec<Destination>,
    /// Where every frame in and out is traced (off by default; secrets redacted).
    pub trace: WireTrace,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnError {
    /// The broker sent an ERROR frame (its `message` header and body).
    Broker(String),
    /// The broker broke the framing (or sent something else than CONNECTED first).
    Protocol(StompError),
    /// No answer in time.
    Timeout {
        /// What was awaited.
        what: &'static str,
        /// How long.
        after: Duration,
    },
    /// Closed by [`Connection::close`].
    Closed,
}

/// What a connection reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnEvent {
    /// CONNECTED came and every subscription is confirmed: messages may be sent.
    Open,
    /// A message on a subscription.
    Message(InMessage),
    /// The broker confirmed the send with this receipt number.
    Receipt(u64),
    /// The connection is over; the last event.
    Closed(ConnError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Subscribing(usize),
    Open,
    Closed,
}

/// A STOMP client connection without I/O. `Debug` shows no frame bytes (CONNECT
/// carries the passcode).
pub struct Connection {
    cfg: ConnConfig,
    phase: Phase,
    dec: FrameDecoder,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<ConnEvent>,
    next_receipt: u64,
    deadline: Option<Instant>,
    send_every: Duration,
    expect_every: Duration,
    next_beat: Option<Instant>,
    last_rx: Instant,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("cfg", &self.cfg)
            .field("phase", &self.phase)
            .field("transmit_queued", &self.transmit.len())
            .field("events_queued", &self.events.len())
            .field("send_every", &self.send_every)
            .field("expect_every", &self.expect_every)
            .finish()
    }
}

fn heartbeat_pair(v: Option<&str>) -> (u64, u64) {
    let Some((a, b)) = v.and_then(|v| v.split_once(',')) else {
        return (0, 0);
    };
    (a.trim().parse().unwrap_or(0), b.trim().parse().unwrap_or(0))
}

fn error_text(f: &Frame) -> String {
    let m = f.get("message").unwrap_or("ERROR");
    let body = String::from_utf8_lossy(&f.body);
    let body = body.trim();
    if body.is_empty() {
        m.to_owned()
    } else {
        format!("{m}: {}", body.chars().take(500).collect::<String>())
    }
}

/// The SEND frame of a message: JMSType in `type`, no `content-length` (a JMS
/// TextMessage on ActiveMQ), non-persistent, priority 0.
pub fn send_frame(msg: &OutMessage, receipt: Option<&str>) -> Frame {
    let mut f = Frame::new("SEND").header("destination", msg.destination.stomp_name());
    if !msg.jms_type.is_empty() {
        f = f.header("type", msg.jms_type.clone());
    }
    f = f.header("persistent", "false").header("priority", "0");
    for (k, v) in &msg.properties {
        f = f.header(k.clone(), v.clone());
    }
    if let Some(r) = receipt {
        f = f.header("receipt", r);
    }
    f.body(msg.body.clone().into_bytes())
}

impl Connection {
    /// A connection that starts with CONNECT (taken with [`Connection::poll_transmit`]).
    pub fn new(cfg: ConnConfig, now: Instant) -> Result<Self, StompError> {
        let hb = cfg.heartbeat.as_millis().min(u128::from(u32::MAX)) as u64;
        let mut connect = Frame::new("CONNECT")
            .header("accept-version", "1.2")
            .header("host", cfg.host.clone())
            .header("heart-beat", format!("{hb},{hb}"));
        if let Some(l) = &cfg.login {
            connect = connect.header("login", l.clone());
        }
        if let Some(p) = &cfg.passcode {
            connect = connect.header("passcode", p.expose().to_owned());
        }
        let bytes = encode(&connect)?;
        trace::frame(&cfg.trace, Dir::Out, &connect, bytes.len());
        Ok(Connection {
            dec: FrameDecoder::new(cfg.limits),
            deadline: Some(now + cfg.connect_timeout),
            cfg,
            phase: Phase::Connecting,
            transmit: VecDeque::from([bytes]),
            events: VecDeque::new(),
            next_receipt: 0,
            send_every: Duration::ZERO,
            expect_every: Duration::ZERO,
            next_beat: None,
            last_rx: now,
        })
    }

    /// True once [`ConnEvent::Open`] was reported and until the connection ends.
    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    /// True once the connection ended.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Bytes to write to the broker, in order.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ConnEvent> {
        self.events.pop_front()
    }

    /// When [`Connection::handle_timeout`] must next be called (`None`: no timer).
    /// `reading` is false while the caller does not read from the broker
    /// (back-pressure): the broker's silence then does not count.
    pub fn poll_timeout(&self, reading: bool) -> Option<Instant> {
        if self.phase == Phase::Closed {
            return None;
        }
        let dead =
            (reading && !self.expect_every.is_zero()).then(|| self.last_rx + self.dead_after());
        [self.deadline, self.next_beat, dead]
            .into_iter()
            .flatten()
            .min()
    }

    /// Slack over the negotiated period, as the STOMP spec suggests.
    fn dead_after(&self) -> Duration {
        self.expect_every * 2 + Duration::from_millis(500)
    }

    /// The caller resumes reading after a pause: the broker's silence counts from now.
    pub fn resume_reading(&mut self, now: Instant) {
        self.last_rx = now;
    }

    fn end(&mut self, e: ConnError) {
        if self.phase != Phase::Closed {
            self.phase = Phase::Closed;
            self.deadline = None;
            self.next_beat = None;
            self.events.push_back(ConnEvent::Closed(e));
        }
    }

    /// Timers: the connect deadline, our heart-beat, the broker's silence.
    pub fn handle_timeout(&mut self, now: Instant, reading: bool) {
        if self.phase == Phase::Closed {
            return;
        }
        if self.deadline.is_some_and(|d| now >= d) {
            let what = if self.phase == Phase::Connecting {
                "CONNECTED frame"
            } else {
                "subscription receipt"
            };
            let after = self.cfg.connect_timeout;
            return self.end(ConnError::Timeout { what, after });
        }
        if reading && !self.expect_every.is_zero() && now >= self.last_rx + self.dead_after() {
            let after = self.dead_after();
            return self.end(ConnError::Timeout {
                what: "heart-beat",
                after,
            });
        }
        if self.next_beat.is_some_and(|b| now >= b) {
            self.transmit.push_back(b"\n".to_vec());
            self.next_beat = Some(now + self.send_every);
        }
    }

    /// Bytes read from the broker.
    pub fn receive(&mut self, data: &[u8], now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        self.last_rx = now;
        self.dec.push(data);
        loop {
            match self.dec.next_frame() {
                Ok(None) => return,
                Ok(Some(Decoded::HeartBeat)) => {}
                Ok(Some(Decoded::Frame(f))) => {
                    if self.cfg.trace.is_on() {
                        let size = encode(&f).map_or(0, |b| b.len());
                        trace::frame(&self.cfg.trace, Dir::In, &f, size);
                    }
                    self.on_frame(f, now);
                    if self.phase == Phase::Closed {
                        return;
                    }
                }
                Err(e) => return self.end(ConnError::Protocol(e)),
            }
        }
    }

    fn on_frame(&mut self, f: Frame, now: Instant) {
        match (self.phase, f.command.as_str()) {
            (_, "ERROR") => self.end(ConnError::Broker(error_text(&f))),
            (Phase::Connecting, "CONNECTED") => {
                let hb = self.cfg.heartbeat.as_millis().min(u128::from(u32::MAX)) as u64;
                let (sx, sy) = heartbeat_pair(f.get("heart-beat"));
                let send = if hb == 0 || sy == 0 { 0 } else { hb.max(sy) };
                let expect = if hb == 0 || sx == 0 { 0 } else { hb.max(sx) };
                self.send_every = Duration::from_millis(send);
                self.expect_every = Duration::from_millis(expect);
                self.next_beat = (send > 0).then(|| now + self.send_every);
                // Subscribe, and wait for the receipts: replies must not be missed.
                let subs = self.cfg.subscriptions.clone();
                for (i, d) in subs.iter().enumerate() {
                    let sub = Frame::new("SUBSCRIBE")
                        .header("id", format!("sub-{i}"))
                        .header("destination", d.stomp_name())
                        .header("ack", "auto")
                        .header("receipt", format!("sub-{i}"));
                    if let Err(e) = self.queue(&sub) {
                        return self.end(ConnError::Protocol(e));
                    }
                }
                self.subscribed(subs.len());
            }
            (Phase::Connecting, other) => self.end(ConnError::Protocol(StompError::BadCommand(
                other.to_owned(),
            ))),
            (Phase::Subscribing(n), "RECEIPT")
                if f.get("receipt-id").is_some_and(|r| r.starts_with("sub-")) =>
            {
                self.subscribed(n - 1);
            }
            (Phase::Open, "MESSAGE") => {
                self.events.push_back(ConnEvent::Message(InMessage {
                    destination: f.get("destination").and_then(Destination::from_stomp),
                    jms_type: f.get("type").map(str::to_owned),
                    body: f.body,
                }));
            }
            (Phase::Open, "RECEIPT") => {
                if let Some(n) = f
                    .get("receipt-id")
                    .and_then(|r| r.strip_prefix("r-"))
                    .and_then(|n| n.parse().ok())
                {
                    self.events.push_back(ConnEvent::Receipt(n));
                }
            }
            _ => {} // messages before the subscriptions settle: none expected
        }
    }

    fn subscribed(&mut self, pending: usize) {
        if pending == 0 {
            self.phase = Phase::Open;
            self.deadline = None;
            self.events.push_back(ConnEvent::Open);
        } else {
            self.phase = Phase::Subscribing(pending);
        }
    }

    /// Queues a SEND; with `receipt`, returns the receipt number that
    /// [`ConnEvent::Receipt`] will carry once the broker has the message.
    pub fn send(
        &mut self,
        msg: &OutMessage,
        receipt: bool,
        now: Instant,
    ) -> Result<Option<u64>, StompError> {
        let id = receipt.then(|| {
            self.next_receipt += 1;
            self.next_receipt
        });
        let r = id.map(|n| format!("r-{n}"));
        self.queue(&send_frame(msg, r.as_deref()))?;
        if !self.send_every.is_zero() {
            self.next_beat = Some(now + self.send_every);
        }
        Ok(id)
    }

    /// Queues DISCONNECT and ends the connection ([`ConnError::Closed`]).
    pub fn close(&mut self) {
        if self.phase == Phase::Closed {
            return;
        }
        let _ = self.queue(&Frame::new("DISCONNECT"));
        self.end(ConnError::Closed);
    }

    /// Encodes a frame for [`Connection::poll_transmit`], tracing it.
    fn queue(&mut self, f: &Frame) -> Result<(), StompError> {
        let bytes = encode(f)?;
        trace::frame(&self.cfg.trace, Dir::Out, f, bytes.len());
        self.transmit.push_back(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ConnConfig {
        ConnConfig {
            host: "127.0.0.1".into(),
            login: Some("u".into()),
            passcode: Some(Secret::new("pc")),
            heartbeat: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(5),
            limits: Limits::default(),
            subscriptions: vec![Destination::Topic("crm-1".into())],
            trace: WireTrace::Off,
        }
    }

    fn out(c: &mut Connection) -> Vec<String> {
        std::iter::from_fn(|| c.poll_transmit())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect()
    }

    fn events(c: &mut Connection) -> Vec<ConnEvent> {
        std::iter::from_fn(|| c.poll_event()).collect()
    }

    #[test]
    fn connect_subscribe_send_receipt_and_heartbeats() {
        let t = Instant::now();
        let mut c = Connection::new(cfg(), t).expect("new");
        let connect = out(&mut c);
        assert!(connect[0].starts_with("CONNECT\n") && connect[0].contains("passcode:pc"));
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("pc") && shown.contains("<redacted>"),
            "{shown}"
        );
        c.receive(b"CONNECTED\nversion:1.2\nheart-beat:2000,2000\n\n\0", t);
        let sub = out(&mut c);
        assert!(sub[0].starts_with("SUBSCRIBE\n") && sub[0].contains("receipt:sub-0"));
        assert!(events(&mut c).is_empty(), "not open before the receipt");
        c.receive(b"RECEIPT\nreceipt-id:sub-0\n\n\0", t);
        assert_eq!(events(&mut c), vec![ConnEvent::Open]);
        let msg = OutMessage {
            destination: Destination::Queue("Connector1".into()),
            jms_type: "GetState#1001".into(),
            body: String::new(),
            properties: vec![],
        };
        assert_eq!(c.send(&msg, true, t), Ok(Some(1)));
        let send = out(&mut c);
        assert!(send[0].contains("type:GetState#1001") && !send[0].contains("content-length"));
        c.receive(
            b"RECEIPT\nreceipt-id:r-1\n\nMESSAGE\ntype:x\ndestination:/topic/crm-1\n\nhi\0",
            t,
        );
        assert_eq!(events(&mut c)[0], ConnEvent::Receipt(1));
        // Our heart-beat every 2 s (the larger of both); the broker's silence ends it.
        assert_eq!(c.poll_timeout(true), Some(t + Duration::from_secs(2)));
        c.handle_timeout(t + Duration::from_secs(2), true);
        assert_eq!(out(&mut c), vec!["\n"]);
        c.handle_timeout(t + Duration::from_millis(4400), false);
        assert!(!c.is_closed(), "not reading: silence does not count");
        c.handle_timeout(t + Duration::from_millis(4600), true);
        assert!(matches!(
            events(&mut c)[..],
            [ConnEvent::Closed(ConnError::Timeout {
                what: "heart-beat",
                ..
            })]
        ));
    }

    #[test]
    fn errors_and_timeouts_end_the_connection() {
        let t = Instant::now();
        let mut c = Connection::new(cfg(), t).expect("new");
        c.receive(b"ERROR\nmessage:bad login\n\n\0", t);
        assert_eq!(
            events(&mut c),
            vec![ConnEvent::Closed(ConnError::Broker("bad login".into()))]
        );
        let mut c = Connection::new(cfg(), t).expect("new");
        c.receive(b"MESSAGE\n\n\0", t);
        assert!(matches!(
            events(&mut c)[..],
            [ConnEvent::Closed(ConnError::Protocol(_))]
        ));
        let mut c = Connection::new(cfg(), t).expect("new");
        c.handle_timeout(t + Duration::from_secs(5), true);
        assert!(matches!(
            events(&mut c)[..],
            [ConnEvent::Closed(ConnError::Timeout {
                what: "CONNECTED frame",
                ..
            })]
        ));
        let mut c = Connection::new(cfg(), t).expect("new");
        c.receive(b"CONNECTED\nversion:1.2\n\n\0", t);
        c.close();
        let o = out(&mut c);
        assert!(o.last().is_some_and(|f| f.starts_with("DISCONNECT")));
        assert_eq!(events(&mut c), vec![ConnEvent::Closed(ConnError::Closed)]);
        assert_eq!(c.poll_timeout(true), None);
    }
}
