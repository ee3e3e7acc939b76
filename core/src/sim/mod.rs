//! Simulators of the servers libcce talks to, for testing applications without a contact center.

pub mod cti;
pub mod ece;
pub mod gc;
