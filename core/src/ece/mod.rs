//! Cisco Enterprise Chat and Email (ECE): hand a chat to an ECE agent.
//!
//! * Messaging API v19 (JSON, OAuth2 client credentials): [`client::EceClient`] over
//!   the pure request/answer functions of [`messaging`] and [`token`].
//! * Webhooks (ECE → application): [`webhook_server::WebhookServer`] over the pure
//!   parsing and routing of [`webhook`].
//! * Chat web services (anonymous XML): [`chatws_client::ChatWsClient`] over the pure
//!   parsing of [`chatws`] and [`xml`].
//!
//! The simulator is [`crate::sim::ece`]; the blocking JSON facade for the bindings is
//! [`crate::api::ece`]. Unverified readings of the data sheet are configurable and
//! listed in `docs/ece.md`.

pub mod chatws;
pub mod chatws_client;
pub mod client;
pub mod error;
pub mod http;
pub mod messaging;
pub(crate) mod server;
pub mod token;
pub mod webhook;
pub mod webhook_server;
pub mod xml;

pub use crate::secret::Secret;
pub use chatws::{ChatAllowed, ChatDeniedReason, Eligibility, SessionStatus, Survey, SurveyAnswer};
pub use chatws_client::{ChatWsClient, ChatWsConfig};
pub use client::{ClientConfig, EceClient};
pub use error::{EceError, HttpFailure, Operation};
pub use messaging::{Conversation, Customer, MessageType, Phone, StartConversation};
pub use server::TlsIdentity;
pub use webhook::{EventKind, WebhookAuth, WebhookEvent, WebhookLimits};
pub use webhook_server::{WebhookConfig, WebhookEvents, WebhookServer, WebhookStats};
