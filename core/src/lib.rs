//! # cce — Cisco contact center integration
//!
//! * [`cti`] — the CTI Server protocol (GED-188): generated message catalogue,
//!   sans-IO codec and session, and a tokio client.
//! * [`gc`] — the Expertflow Generic Connector over ActiveMQ (STOMP): command
//!   catalogue, event model, sans-IO session, tokio client.
//! * [`ece`] — Cisco Enterprise Chat and Email: Messaging API client, webhook
//!   server and chat web services.
//! * [`sim`] — simulators users can run their applications against.
//! * [`log`] — the bridge that hands the library's `tracing` events to the C, Python
//!   and Node log hooks (Rust applications use any `tracing` subscriber instead).
//! * [`tls`] — TLS settings, handshakes and typed certificate errors shared by the
//!   CTI, GC and ECE links and the simulators.
//!
//! The C ABI (`libcce`), Python and Node bindings are thin layers over this crate.
//! Logging, the CTI wire trace ([`cti::trace`]) and session statistics
//! ([`cti::stats`]) are described in `docs/observability.md`.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod api;
pub mod cti;
pub mod ece;
pub mod gc;
pub mod log;
pub mod queue;
pub mod runtime;
pub mod secret;
pub mod sim;

/// The library's version (`major.minor.patch`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub mod tls;
