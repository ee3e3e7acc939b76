//! The chat web services client (async, over reqwest): anonymous GETs of XML answers
//! and the survey POST. A 404 on a path with an `endpoint`/`entrypoint` segment is
//! retried once with the other segment, and what worked is remembered (data sheet E14).

use std::collections::HashMap;
use std::sync::Mutex;

use reqwest::Url;

use super::chatws::{self, ChatAllowed, ChatWsPaths, Eligibility, SessionStatus, Survey};
use super::error::{EceError, Operation};
use super::http::{self, Answer, HttpConfig};
use super::messaging::{self, Method, Request};
use super::xml::{XmlError, XmlLimits};
use crate::secret::Secret;

/// Settings of the chat web services client.
#[derive(Debug, Clone)]
pub struct ChatWsConfig {
    /// Context root URL, e.g. `https://ece.example.com/system` (E15).
    pub base_url: String,
    /// Path templates.
    pub paths: ChatWsPaths,
    /// On 404, try the other `endpoint`/`entrypoint` segment once (default true).
    pub try_alternate_segment: bool,
    /// HTTP settings.
    pub http: HttpConfig,
    /// XML limits.
    pub xml: XmlLimits,
}

impl ChatWsConfig {
    /// Defaults for a context root URL.
    pub fn new(base_url: impl Into<String>) -> Self {
        ChatWsConfig {
            base_url: base_url.into(),
            paths: ChatWsPaths::default(),
            try_alternate_segment: true,
            http: HttpConfig::default(),
            xml: XmlLimits::default(),
        }
    }
}

/// A chat web services client.
#[derive(Debug)]
pub struct ChatWsClient {
    cfg: ChatWsConfig,
    http: reqwest::Client,
    base: Url,
    /// Per operation: true when the alternate segment is the one that works.
    use_alternate: Mutex<HashMap<&'static str, bool>>,
}

fn bad(op: Operation) -> impl Fn(XmlError) -> EceError {
    move |e| EceError::BadResponse {
        op,
        reason: e.to_string(),
    }
}

impl ChatWsClient {
    /// Validates the settings and builds the client.
    pub fn new(cfg: ChatWsConfig) -> Result<Self, EceError> {
        let base = http::parse_base_url(&cfg.base_url, cfg.http.allow_http)?;
        let client = http::build_client(&cfg.http, &base)?;
        Ok(ChatWsClient {
            cfg,
            http: client,
            base,
            use_alternate: Mutex::new(HashMap::new()),
        })
    }

    fn request(op: Operation, method: Method, path: String, body: Vec<u8>) -> Request {
        Request {
            op,
            method,
            path,
            query: Vec::new(),
            authorization: Secret::default(),
            content_type: (method == Method::Post).then_some("text/xml;charset=utf-8"),
            accept_language: None,
            body,
        }
    }

    async fn exchange(&self, req: &Request, idempotent: bool) -> Result<Answer, EceError> {
        let policy = self.cfg.http.retry;
        let mut retry = 0;
        loop {
            let r = http::send(
                &self.http,
                &self.base,
                req,
                self.cfg.http.max_response_bytes,
                self.cfg.http.trace,
            )
            .await
            .and_then(|a| messaging::check_status(req.op, a.status, &a.body).map(|()| a));
            match r {
                Err(e) if retry < policy.max_retries && http::retryable(&e, idempotent) => {
                    retry += 1;
                    tokio::time::sleep(policy.delay(retry)).await;
                }
                other => return other,
            }
        }
    }

    fn cached(&self, op: Operation) -> Option<bool> {
        self.use_alternate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(op.name())
            .copied()
    }

    fn remember(&self, op: Operation, alternate: bool) {
        self.use_alternate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(op.name(), alternate);
    }

    /// Sends with the 404 fallback to the other segment.
    async fn call(
        &self,
        op: Operation,
        method: Method,
        template: &str,
        id: Option<u64>,
        body: Vec<u8>,
    ) -> Result<Answer, EceError> {
        let fill = |t: &str| match id {
            Some(id) => t.replace("{id}", &id.to_string()),
            None => t.to_owned(),
        };
        let alt = if self.cfg.try_alternate_segment {
            chatws::alternate_path(template)
        } else {
            None
        };
        let idempotent = method == Method::Get;
        let (first, second) = match (self.cached(op), alt) {
            (Some(true), Some(a)) => (a, None),
            (Some(false), _) | (_, None) => (template.to_owned(), None),
            (None, Some(a)) => (template.to_owned(), Some(a)),
        };
        match self
            .exchange(
                &Self::request(op, method, fill(&first), body.clone()),
                idempotent,
            )
            .await
        {
            Err(EceError::NotFound(_)) if second.is_some() => {
                let second = second.unwrap_or_default();
                tracing::info!(op = %op, path = %second, "404: trying the other path segment");
                let a = self
                    .exchange(&Self::request(op, method, fill(&second), body), idempotent)
                    .await?;
                self.remember(op, true);
                Ok(a)
            }
            Ok(a) => {
                if second.is_some() {
                    self.remember(op, false);
                }
                Ok(a)
            }
            Err(e) => Err(e),
        }
    }

    /// B1: whether an agent is available for chats of the entry point.
    pub async fn agent_availability(&self, entry_point_id: u64) -> Result<bool, EceError> {
        let op = Operation::AgentAvailability;
        let a = self
            .call(
                op,
                Method::Get,
                &self.cfg.paths.agent_availability,
                Some(entry_point_id),
                Vec::new(),
            )
            .await?;
        chatws::parse_agent_availability(&a.body, &self.cfg.xml).map_err(bad(op))
    }

    /// B2: remaining chat slots of the entry point's agents.
    pub async fn capacity(&self, entry_point_id: u64) -> Result<u32, EceError> {
        let op = Operation::Capacity;
        let a = self
            .call(
                op,
                Method::Get,
                &self.cfg.paths.capacity,
                Some(entry_point_id),
                Vec::new(),
            )
            .await?;
        chatws::parse_capacity(&a.body, &self.cfg.xml).map_err(bad(op))
    }

    /// B3: estimated wait and queue depth.
    pub async fn live_session_status(
        &self,
        entry_point_id: u64,
    ) -> Result<SessionStatus, EceError> {
        let op = Operation::LiveSessionStatus;
        let a = self
            .call(
                op,
                Method::Get,
                &self.cfg.paths.live_session_status,
                Some(entry_point_id),
                Vec::new(),
            )
            .await?;
        chatws::parse_session_status(&a.body, &self.cfg.xml).map_err(bad(op))
    }

    /// B4: eligibility for a new chat.
    pub async fn check_eligibility(&self, entry_point_id: u64) -> Result<Eligibility, EceError> {
        let op = Operation::CheckEligibility;
        let a = self
            .call(
                op,
                Method::Get,
                &self.cfg.paths.check_eligibility,
                Some(entry_point_id),
                Vec::new(),
            )
            .await?;
        chatws::parse_eligibility(&a.body, &self.cfg.xml).map_err(bad(op))
    }

    /// B5: whether a chat may start, and why not.
    pub async fn chat_allowed(&self, entry_point_id: u64) -> Result<ChatAllowed, EceError> {
        let op = Operation::ChatAllowed;
        let a = self
            .call(
                op,
                Method::Get,
                &self.cfg.paths.chat_allowed,
                Some(entry_point_id),
                Vec::new(),
            )
            .await?;
        chatws::parse_chat_allowed(&a.body, &self.cfg.xml).map_err(bad(op))
    }

    /// B6: submits a survey (never retried after a timeout or server error).
    pub async fn submit_survey(&self, survey: &Survey) -> Result<(), EceError> {
        if survey.sid.trim().is_empty() {
            return Err(EceError::InvalidArgument("survey sid is empty".into()));
        }
        let body = chatws::survey_xml(survey).into_bytes();
        self.call(
            Operation::Survey,
            Method::Post,
            &self.cfg.paths.survey,
            None,
            body,
        )
        .await
        .map(drop)
    }
}
