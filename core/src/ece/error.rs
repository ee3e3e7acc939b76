//! Typed errors of the ECE client, webhook server and chat web services.

use std::fmt;

/// The ECE call that failed, named in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// OAuth2 client-credentials login.
    Login,
    /// Entry point configuration GET.
    Configuration,
    /// Conversation start.
    StartConversation,
    /// Customer message.
    SendMessage,
    /// Conversation end (unverified endpoint, see the data sheet E1).
    EndConversation,
    /// Chat web service `agentAvailability`.
    AgentAvailability,
    /// Chat web service `capacity`.
    Capacity,
    /// Chat web service `liveSessionStatus`.
    LiveSessionStatus,
    /// Chat web service `checkEligibility`.
    CheckEligibility,
    /// Chat web service `chatAllowed`.
    ChatAllowed,
    /// Chat web service survey submission.
    Survey,
}

impl Operation {
    /// Stable name, e.g. `"sendmessage"`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Login => "login",
            Operation::Configuration => "configuration",
            Operation::StartConversation => "conversation/start",
            Operation::SendMessage => "sendmessage",
            Operation::EndConversation => "conversation/end",
            Operation::AgentAvailability => "agentAvailability",
            Operation::Capacity => "capacity",
            Operation::LiveSessionStatus => "liveSessionStatus",
            Operation::CheckEligibility => "checkEligibility",
            Operation::ChatAllowed => "chatAllowed",
            Operation::Survey => "survey",
        }
    }
}

impl Operation {
    /// True for the anonymous XML chat web services.
    pub fn is_chat_ws(self) -> bool {
        matches!(
            self,
            Operation::AgentAvailability
                | Operation::Capacity
                | Operation::LiveSessionStatus
                | Operation::CheckEligibility
                | Operation::ChatAllowed
                | Operation::Survey
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An HTTP error answer: status, and what could be read from the body (data sheet E7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpFailure {
    /// The call that failed.
    pub op: Operation,
    /// HTTP status code.
    pub status: u16,
    /// A string `code` from a JSON error body (e.g. `"400-115"`), if any.
    pub code: Option<String>,
    /// A string `message` (or `error_description`/`error`) from a JSON error body, if any.
    pub message: Option<String>,
    /// The raw body, cut to at most 2 KiB.
    pub body: String,
}

impl fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: HTTP {}", self.op, self.status)?;
        if let Some(c) = &self.code {
            write!(f, " code {c}")?;
        }
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong talking to ECE or serving its webhooks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EceError {
    /// The configuration is invalid (bad URL, plain http to a remote host, bad CA...).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An argument is invalid (empty conversation ID, bad message type...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// 400: bad request or JSON parse error. Not retried.
    #[error("bad request: {0}")]
    BadRequest(HttpFailure),
    /// 401: token missing, malformed, unknown or not a client-application session
    /// (already retried once after a fresh login), or wrong client key/secret at login.
    #[error("unauthorized: {0}")]
    Unauthorized(HttpFailure),
    /// 403: the conversation belongs to another client application, or the entry
    /// point is not assigned to this application. Not retried.
    #[error("forbidden: {0}")]
    Forbidden(HttpFailure),
    /// 404: no such conversation (treat it as ended) or no such resource.
    #[error("not found: {0}")]
    NotFound(HttpFailure),
    /// 404 for the endpoint itself (an answer without ECE's JSON error body, e.g. the
    /// web server's own "not found" page): the server has no such API, e.g. no
    /// end-conversation endpoint at the configured path. Not a closed conversation.
    #[error("endpoint not supported by this server: {0}")]
    EndpointNotSupported(HttpFailure),
    /// 409: the entry point's `lastModified` is stale (start already refetched and
    /// retried once; sendmessage is never retried).
    #[error("stale configuration: {0}")]
    StaleConfiguration(HttpFailure),
    /// 5xx: the server failed.
    #[error("server error: {0}")]
    ServerError(HttpFailure),
    /// Any other non-success status.
    #[error("unexpected status: {0}")]
    UnexpectedStatus(HttpFailure),
    /// A success answer whose body could not be understood.
    #[error("{op}: malformed response: {reason}")]
    BadResponse {
        /// The call.
        op: Operation,
        /// What was wrong.
        reason: String,
    },
    /// No answer within the configured timeout. The request may have been processed.
    #[error("{op}: timed out")]
    Timeout {
        /// The call.
        op: Operation,
    },
    /// The connection could not be made: the request was not sent.
    #[error("{op}: cannot connect: {reason}")]
    Connect {
        /// The call.
        op: Operation,
        /// Cause.
        reason: String,
    },
    /// The connection failed during the exchange (TLS, reset...). The request may have
    /// been processed.
    #[error("{op}: transport error: {reason}")]
    Transport {
        /// The call.
        op: Operation,
        /// Cause.
        reason: String,
    },
    /// The feature is not available (e.g. customer typing without a configured path).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A local I/O failure (binding a server socket...).
    #[error("I/O error: {0}")]
    Io(String),
    /// The server or client was stopped.
    #[error("closed")]
    Closed,
}

impl EceError {
    /// The HTTP status of an error answer, if this is one.
    pub fn status(&self) -> Option<u16> {
        self.http().map(|h| h.status)
    }

    /// The HTTP answer behind the error, if any.
    pub fn http(&self) -> Option<&HttpFailure> {
        match self {
            EceError::BadRequest(h)
            | EceError::Unauthorized(h)
            | EceError::Forbidden(h)
            | EceError::NotFound(h)
            | EceError::EndpointNotSupported(h)
            | EceError::StaleConfiguration(h)
            | EceError::ServerError(h)
            | EceError::UnexpectedStatus(h) => Some(h),
            _ => None,
        }
    }

    /// Stable variant name, e.g. `"StaleConfiguration"`.
    pub fn name(&self) -> &'static str {
        match self {
            EceError::Config(_) => "Config",
            EceError::InvalidArgument(_) => "InvalidArgument",
            EceError::BadRequest(_) => "BadRequest",
            EceError::Unauthorized(_) => "Unauthorized",
            EceError::Forbidden(_) => "Forbidden",
            EceError::NotFound(_) => "NotFound",
            EceError::EndpointNotSupported(_) => "EndpointNotSupported",
            EceError::StaleConfiguration(_) => "StaleConfiguration",
            EceError::ServerError(_) => "ServerError",
            EceError::UnexpectedStatus(_) => "UnexpectedStatus",
            EceError::BadResponse { .. } => "BadResponse",
            EceError::Timeout { .. } => "Timeout",
            EceError::Connect { .. } => "Connect",
            EceError::Transport { .. } => "Transport",
            EceError::Unsupported(_) => "Unsupported",
            EceError::Io(_) => "Io",
            EceError::Closed => "Closed",
        }
    }

    /// Maps a non-success status to its typed error.
    pub fn from_status(failure: HttpFailure) -> Self {
        match failure.status {
            400 => EceError::BadRequest(failure),
            401 => EceError::Unauthorized(failure),
            403 => EceError::Forbidden(failure),
            404 => EceError::NotFound(failure),
            409 => EceError::StaleConfiguration(failure),
            500..=599 => EceError::ServerError(failure),
            _ => EceError::UnexpectedStatus(failure),
        }
    }

    /// A 404 that carries no ECE error (`code` or `message` in a JSON body) becomes
    /// [`EceError::EndpointNotSupported`]: the path, not the object, is missing.
    pub fn endpoint_missing_if_bare_404(self) -> Self {
        match self {
            EceError::NotFound(h) if h.code.is_none() && h.message.is_none() => {
                EceError::EndpointNotSupported(h)
            }
            other => other,
        }
    }
}
