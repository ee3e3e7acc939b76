//! CTI Server protocol (GED-188): catalogue, codec, session state machine and tokio client.

pub mod client;
pub mod codec;
pub mod model;
pub mod reconnect;
pub mod session;
pub mod spec;
pub mod typed;
