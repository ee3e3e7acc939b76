//! A minimal CTI client for simulator tests, built on the codec only (so the tests do
//! not depend on the client under development).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use cce::cti::codec::{self, DecodeOptions, FrameSplitter, Message};
use cce::cti::spec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const WAIT: Duration = Duration::from_secs(10);

pub fn svc(names: &[&str]) -> u32 {
    names
        .iter()
        .map(|n| spec::constant("CTI Service Masks", n).expect(n))
        .fold(0, |a, b| a | b)
}

pub fn st(name: &str) -> u32 {
    spec::constant("AgentState Values", name).expect(name)
}

pub fn status(name: &str) -> u32 {
    spec::constant("Status Codes", name).expect(name)
}

pub fn all_bits(table: &str) -> u32 {
    spec::table(table)
        .expect(table)
        .entries
        .iter()
        .fold(0, |a, e| a | e.value)
}

/// OPEN_REQ settings.
#[derive(Clone)]
pub struct Open {
    pub version: u32,
    pub client_id: String,
    pub services: u32,
    pub agent_id: Option<String>,
    pub call_mask: u32,
    pub agent_mask: u32,
}

impl Open {
    /// An agent desktop (Client Events + Client Control) for `agent`.
    pub fn agent(version: u32, agent: &str) -> Self {
        Open {
            version,
            client_id: format!("desk-{agent}"),
            services: svc(&["CTI_SERVICE_CLIENT_EVENTS", "CTI_SERVICE_CLIENT_CONTROL"]),
            agent_id: Some(agent.into()),
            call_mask: all_bits("Unsolicited Call Event Message Masks"),
            agent_mask: all_bits("Agent State Masks"),
        }
    }

    /// A bridge: ALL_EVENTS and every other service.
    pub fn bridge(version: u32) -> Self {
        let services = all_bits("CTI Service Masks")
            & !svc(&[
                "Unused",
                "CTI_SERVICE_IGNORE_CONF",
                "CTI_SERVICE_ACD_LINE_ONLY",
            ])
            & !svc(&["CTI_SERVICE_CLIENT_EVENTS"])
            & !svc(&[
                "CTI_SERVICE_IGNORE_DUPLICATE_AGENT_EVENTS",
                "CTI_SERVICE_DEBUG",
            ]);
        Open {
            version,
            client_id: "bridge".into(),
            services,
            agent_id: None,
            call_mask: all_bits("Unsolicited Call Event Message Masks"),
            agent_mask: all_bits("Agent State Masks"),
        }
    }

    pub fn services(mut self, s: u32) -> Self {
        self.services = s;
        self
    }

    pub fn id(mut self, id: &str) -> Self {
        self.client_id = id.into();
        self
    }
}

pub struct Raw {
    pub stream: TcpStream,
    pub version: u32,
    splitter: FrameSplitter,
    invoke: u32,
    buf: Vec<u8>,
}

impl Raw {
    pub async fn connect(addr: SocketAddr, version: u32) -> Raw {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        Raw {
            stream,
            version,
            splitter: FrameSplitter::new(),
            invoke: 1000,
            buf: vec![0; 16 * 1024],
        }
    }

    /// Connects and sends OPEN_REQ; returns the session and OPEN_CONF or FAILURE_CONF.
    pub async fn open_any(addr: SocketAddr, o: &Open) -> (Raw, Message) {
        let mut r = Raw::connect(addr, o.version).await;
        let mut m = Message::new("OPEN_REQ", o.version).unwrap();
        m.set_int("VersionNumber", o.version.into())
            .unwrap()
            .set_int("IdleTimeout", 0xFFFF_FFFF)
            .unwrap()
            .set_int("PeripheralID", 5000)
            .unwrap()
            .set_int("ServicesRequested", o.services.into())
            .unwrap()
            .set_int("CallMsgMask", o.call_mask.into())
            .unwrap()
            .set_int("AgentStateMask", o.agent_mask.into())
            .unwrap()
            .set_str("ClientID", &o.client_id)
            .unwrap()
            .set_bytes("ClientPassword", Vec::new())
            .unwrap();
        if let Some(a) = &o.agent_id {
            m.set_str("AgentID", a).unwrap();
        }
        r.send(m).await;
        let reply = r.recv().await;
        (r, reply)
    }

    /// Opens a session that must succeed.
    pub async fn open(addr: SocketAddr, o: &Open) -> (Raw, Message) {
        let (r, conf) = Raw::open_any(addr, o).await;
        assert_eq!(conf.name(), "OPEN_CONF", "open refused: {conf:?}");
        (r, conf)
    }

    /// Sends a message, setting a fresh InvokeID if it has one; returns the InvokeID.
    pub async fn send(&mut self, mut m: Message) -> u32 {
        let mut id = 0;
        if m.get("InvokeID").is_some() {
            self.invoke += 1;
            id = self.invoke;
            m.set_int("InvokeID", id.into()).unwrap();
        }
        let b = codec::encode(&m, self.version).expect("encode");
        self.stream.write_all(&b).await.expect("write");
        id
    }

    pub async fn send_bytes(&mut self, b: &[u8]) {
        self.stream.write_all(b).await.expect("write");
    }

    /// The next message (panics after 10 s or when the connection closes).
    pub async fn recv(&mut self) -> Message {
        match self.recv_or_closed().await {
            Some(m) => m,
            None => panic!("connection closed"),
        }
    }

    /// The next message, or `None` when the server closed the connection.
    pub async fn recv_or_closed(&mut self) -> Option<Message> {
        loop {
            match self.splitter.next_frame() {
                Ok(Some(f)) => {
                    return Some(
                        codec::decode_frame(&f, self.version, DecodeOptions::tolerant())
                            .unwrap_or_else(|e| panic!("undecodable type {}: {e}", f.msg_type)),
                    )
                }
                Ok(None) => {}
                Err(e) => panic!("broken stream: {e}"),
            }
            let n = tokio::time::timeout(WAIT, self.stream.read(&mut self.buf))
                .await
                .expect("no message within 10 s")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.splitter.push(&self.buf[..n]);
        }
    }

    /// Raw next frame bytes (type, body) without decoding.
    pub async fn recv_frame(&mut self) -> Option<codec::Frame> {
        loop {
            match self.splitter.next_frame() {
                Ok(Some(f)) => return Some(f),
                Ok(None) => {}
                Err(_) => return None,
            }
            let n = tokio::time::timeout(WAIT, self.stream.read(&mut self.buf))
                .await
                .expect("no frame within 10 s")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.splitter.push(&self.buf[..n]);
        }
    }

    /// Sends a request; returns (messages before the reply, the reply with its InvokeID).
    pub async fn request(&mut self, m: Message) -> (Vec<Message>, Message) {
        let id = self.send(m).await;
        let mut before = Vec::new();
        loop {
            let r = self.recv().await;
            if r.invoke_id() == Some(id)
                && r.spec().direction != spec::Direction::ToServer
                && r.name() != "ACTIVE_MAINTENANCE_REQ_MSG"
            {
                return (before, r);
            }
            before.push(r);
        }
    }

    /// Sends a request whose confirmation must be `conf`; returns the events that
    /// follow up to a heartbeat barrier.
    pub async fn ok(&mut self, m: Message) -> Vec<Message> {
        let want = m.name().replace("_REQ", "_CONF");
        let (before, r) = self.request(m).await;
        assert!(
            before.is_empty(),
            "messages before the confirmation: {before:?}"
        );
        assert_eq!(r.name(), want, "{r:?}");
        self.sync().await
    }

    /// Everything the server queued so far: sends HEARTBEAT_REQ and collects the
    /// messages before its HEARTBEAT_CONF (the server answers requests in order).
    pub async fn sync(&mut self) -> Vec<Message> {
        let hb = Message::new("HEARTBEAT_REQ", self.version).unwrap();
        let (before, r) = self.request(hb).await;
        assert_eq!(r.name(), "HEARTBEAT_CONF");
        before
    }

    /// Reads until a message named `name` arrives; returns everything read, it last.
    pub async fn until(&mut self, name: &str) -> Vec<Message> {
        let mut out = Vec::new();
        loop {
            let m = self.recv().await;
            let done = m.name() == name;
            out.push(m);
            if done {
                return out;
            }
        }
    }

    /// An empty request with its required floating fields filled in.
    pub fn req(&self, name: &str) -> Message {
        filled(name, self.version)
    }
}

/// Names of messages.
pub fn names(ms: &[Message]) -> Vec<&'static str> {
    ms.iter().map(Message::name).collect()
}

/// A message builder shortcut.
pub trait Set {
    fn i(self, f: &str, v: i64) -> Self;
    fn s(self, f: &str, v: &str) -> Self;
}

impl Set for Message {
    fn i(mut self, f: &str, v: i64) -> Self {
        self.set_int(f, v).unwrap_or_else(|e| panic!("{f}: {e}"));
        self
    }
    fn s(mut self, f: &str, v: &str) -> Self {
        self.set_str(f, v).unwrap_or_else(|e| panic!("{f}: {e}"));
        self
    }
}

pub fn k(table: &str, name: &str) -> i64 {
    i64::from(spec::constant(table, name).unwrap_or_else(|| panic!("{table}.{name}")))
}

/// An empty message with every required floating field set to a placeholder.
pub fn filled(name: &str, version: u32) -> Message {
    let mut m = Message::new(name, version).unwrap();
    for f in m.spec().floating.iter().filter(|f| f.required) {
        match f.ty {
            spec::WireType::String => {
                m.set_str(f.name, "0").unwrap();
            }
            spec::WireType::Unspec => {
                m.set_bytes(f.name, Vec::new()).unwrap();
            }
            _ => {
                m.set_int(f.name, 0).unwrap();
            }
        }
    }
    m
}
