//! CTI Server protocol (GED-188): catalogue, codec, session state machine and tokio client.

pub mod client;
pub mod codec;
pub mod connection;
mod event;
pub mod model;
pub mod reconnect;
#[rustfmt::skip]
pub mod requests;
pub mod session;
pub mod spec;
pub mod stats;
pub mod trace;
pub mod typed;

pub use event::Event;
