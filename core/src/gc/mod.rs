//! The Expertflow Generic Connector (GC) protocol over ActiveMQ.
//!
//! * [`command`] — the input command catalogue and its wire form (JMSType + body).
//! * [`event`] — the output messages (text O-001…O-031 and JSON) as one typed model.
//! * [`errors`] — error codes with the expected client behaviour, user messages.
//! * [`session`] — the sans-IO session: login flow, heartbeat, re-login, recovery.
//! * [`stomp`] — a sans-IO STOMP 1.2 frame codec.
//! * [`connection`] — the sans-IO STOMP connection exchange (CONNECT, SUBSCRIBE,
//!   receipts, heart-beats) with the driver verbs of the CTI session.
//! * `trace` — the opt-in wire trace of STOMP frames (`trace` / `trace_file`).
//! * [`transport`] — the broker transport trait and its STOMP implementation.
//! * [`client`] — the tokio client: transport + session, reconnection and failover.

pub mod client;
pub mod command;
pub mod connection;
pub mod errors;
pub mod event;
pub mod session;
pub mod stomp;
mod trace;
pub mod transport;
