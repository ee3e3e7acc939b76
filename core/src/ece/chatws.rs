//! The anonymous XML chat web services as pure functions: paths, answer parsing and
//! the survey document. [`super::chatws_client`] sends them over HTTP.

use serde::{Deserialize, Serialize};

use super::xml::{parse_simple, SimpleDoc, XmlError, XmlLimits};

/// Path templates relative to the context root; `{id}` is the entry point ID.
/// Defaults are the Developer's Guide paths verbatim (data sheet E14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatWsPaths {
    /// B1 agentAvailability.
    pub agent_availability: String,
    /// B2 capacity (note `endpoint`).
    pub capacity: String,
    /// B3 liveSessionStatus.
    pub live_session_status: String,
    /// B4 checkEligibility (note `endpoint`).
    pub check_eligibility: String,
    /// B5 chatAllowed.
    pub chat_allowed: String,
    /// B6 survey.
    pub survey: String,
}

impl Default for ChatWsPaths {
    fn default() -> Self {
        ChatWsPaths {
            agent_availability: "egain/chat/entrypoint/agentAvailability/{id}".into(),
            capacity: "egain/chat/endpoint/capacity/{id}".into(),
            live_session_status: "egain/chat/entrypoint/liveSessionStatus/{id}".into(),
            check_eligibility: "egain/chat/endpoint/checkEligibility/{id}".into(),
            chat_allowed: "egain/chat/entrypoint/chatAllowed/{id}".into(),
            survey: "egain/chat/entrypoint/survey".into(),
        }
    }
}

/// The path with the other segment (`endpoint` ↔ `entrypoint`), if it has one.
pub fn alternate_path(path: &str) -> Option<String> {
    if path.contains("/endpoint/") {
        Some(path.replacen("/endpoint/", "/entrypoint/", 1))
    } else if path.contains("/entrypoint/") {
        Some(path.replacen("/entrypoint/", "/endpoint/", 1))
    } else {
        None
    }
}

fn doc(xml: &[u8], limits: &XmlLimits, root: &str) -> Result<SimpleDoc, XmlError> {
    let d = parse_simple(xml, limits)?;
    if !d.root.eq_ignore_ascii_case(root) {
        return Err(XmlError::Unexpected(format!(
            "root <{}>, expected <{root}>",
            d.root
        )));
    }
    Ok(d)
}

fn boolean(v: Option<&str>, what: &str) -> Result<bool, XmlError> {
    match v.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(other) => Err(XmlError::Unexpected(format!(
            "{what}={other:?} is not a boolean"
        ))),
        None => Err(XmlError::Unexpected(format!("no {what}"))),
    }
}

fn number<T: std::str::FromStr>(v: Option<&str>, what: &str) -> Result<T, XmlError> {
    let v = v.ok_or_else(|| XmlError::Unexpected(format!("no {what}")))?;
    v.trim()
        .parse()
        .map_err(|_| XmlError::Unexpected(format!("{what}={v:?} is not a number")))
}

/// B1: `<agentAvailability available="true"/>`.
pub fn parse_agent_availability(xml: &[u8], limits: &XmlLimits) -> Result<bool, XmlError> {
    let d = doc(xml, limits, "agentAvailability")?;
    boolean(d.attr("available"), "available")
}

/// B2: `<availableSlots><ns2:count>4</ns2:count></availableSlots>`.
pub fn parse_capacity(xml: &[u8], limits: &XmlLimits) -> Result<u32, XmlError> {
    let d = doc(xml, limits, "availableSlots")?;
    number(d.child("count"), "count")
}

/// B3 answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SessionStatus {
    /// Estimated wait, seconds.
    pub wait_time_secs: f64,
    /// Chats waiting for assignment.
    pub queue_depth: u32,
}

/// B3: `<sessionStatus><ns2:waitTime>3.0</ns2:waitTime><ns2:queueDepth>1</ns2:queueDepth></sessionStatus>`.
pub fn parse_session_status(xml: &[u8], limits: &XmlLimits) -> Result<SessionStatus, XmlError> {
    let d = doc(xml, limits, "sessionStatus")?;
    let wait: f64 = number(d.child("waitTime"), "waitTime")?;
    if !wait.is_finite() || wait < 0.0 {
        return Err(XmlError::Unexpected(format!("waitTime {wait}")));
    }
    Ok(SessionStatus {
        wait_time_secs: wait,
        queue_depth: number(d.child("queueDepth"), "queueDepth")?,
    })
}

/// B4 answer (`responseType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eligibility {
    /// 0: the queue can take new chats.
    Eligible,
    /// 1: no agent available for new chats.
    NoAgentAvailable,
    /// 2: the queue reached its maximum depth.
    QueueFull,
    /// 3: "Integrated Agent CTL" reached.
    AgentLimitReached,
    /// Any other code.
    Other(u32),
}

impl Eligibility {
    /// From a `responseType` code.
    pub fn from_code(code: u32) -> Self {
        match code {
            0 => Eligibility::Eligible,
            1 => Eligibility::NoAgentAvailable,
            2 => Eligibility::QueueFull,
            3 => Eligibility::AgentLimitReached,
            n => Eligibility::Other(n),
        }
    }

    /// The `responseType` code.
    pub fn code(self) -> u32 {
        match self {
            Eligibility::Eligible => 0,
            Eligibility::NoAgentAvailable => 1,
            Eligibility::QueueFull => 2,
            Eligibility::AgentLimitReached => 3,
            Eligibility::Other(n) => n,
        }
    }

    /// Stable name: `eligible`, `no_agent_available`, `queue_full`,
    /// `agent_limit_reached` or `other`.
    pub fn name(self) -> &'static str {
        match self {
            Eligibility::Eligible => "eligible",
            Eligibility::NoAgentAvailable => "no_agent_available",
            Eligibility::QueueFull => "queue_full",
            Eligibility::AgentLimitReached => "agent_limit_reached",
            Eligibility::Other(_) => "other",
        }
    }
}

/// Fallback for a broken `checkEligibility` document: `responseType\s*=\s*"?(\d+)` (E17).
fn scan_response_type(xml: &[u8]) -> Option<u32> {
    let key = b"responseType";
    let start = xml.windows(key.len()).position(|w| w == key)? + key.len();
    let mut rest = xml[start..].iter().skip_while(|b| b.is_ascii_whitespace());
    if rest.next() != Some(&b'=') {
        return None;
    }
    let digits: String = rest
        .skip_while(|b| b.is_ascii_whitespace() || **b == b'"' || **b == b'\'')
        .take_while(|b| b.is_ascii_digit())
        .take(9)
        .map(|b| char::from(*b))
        .collect();
    digits.parse().ok()
}

/// B4: `<checkEligibility responseType="0"/>` (unquoted values accepted).
pub fn parse_eligibility(xml: &[u8], limits: &XmlLimits) -> Result<Eligibility, XmlError> {
    match doc(xml, limits, "checkEligibility") {
        Ok(d) => number(d.attr("responseType"), "responseType").map(Eligibility::from_code),
        Err(e @ (XmlError::TooLarge(_) | XmlError::Doctype)) => Err(e),
        Err(e) => scan_response_type(xml).map(Eligibility::from_code).ok_or(e),
    }
}

/// Why chat is not allowed (B5 `reason`, matched case-insensitively; E16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatDeniedReason {
    /// `queue_depth_reached`.
    QueueDepthReached,
    /// `agent_not_available`.
    AgentNotAvailable,
    /// `service_not_running`: the agent assignment service is down.
    ServiceNotRunning,
    /// `invalid_entry_point`.
    InvalidEntryPoint,
    /// `entry_point_inactive`.
    EntryPointInactive,
    /// `Other`.
    Other,
    /// Anything else, kept raw.
    Unknown(String),
}

impl ChatDeniedReason {
    /// Classifies a `reason` value.
    pub fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "queue_depth_reached" => ChatDeniedReason::QueueDepthReached,
            "agent_not_available" => ChatDeniedReason::AgentNotAvailable,
            "service_not_running" => ChatDeniedReason::ServiceNotRunning,
            "invalid_entry_point" => ChatDeniedReason::InvalidEntryPoint,
            "entry_point_inactive" => ChatDeniedReason::EntryPointInactive,
            "other" => ChatDeniedReason::Other,
            _ => ChatDeniedReason::Unknown(s.to_owned()),
        }
    }

    /// The documented spelling (or the raw value of an unknown reason).
    pub fn as_str(&self) -> &str {
        match self {
            ChatDeniedReason::QueueDepthReached => "queue_depth_reached",
            ChatDeniedReason::AgentNotAvailable => "agent_not_available",
            ChatDeniedReason::ServiceNotRunning => "service_not_running",
            ChatDeniedReason::InvalidEntryPoint => "invalid_entry_point",
            ChatDeniedReason::EntryPointInactive => "entry_point_inactive",
            ChatDeniedReason::Other => "Other",
            ChatDeniedReason::Unknown(s) => s,
        }
    }
}

/// B5 answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatAllowed {
    /// Whether a chat may start.
    pub allowed: bool,
    /// Why not, when not allowed and a reason was given.
    pub reason: Option<ChatDeniedReason>,
}

/// B5: `<chatAllowed allowed="false" reason="entry_point_inactive"/>`.
pub fn parse_chat_allowed(xml: &[u8], limits: &XmlLimits) -> Result<ChatAllowed, XmlError> {
    let d = doc(xml, limits, "chatAllowed")?;
    let allowed = boolean(d.attr("allowed"), "allowed")?;
    let reason = d
        .attr("reason")
        .filter(|r| !r.trim().is_empty())
        .map(ChatDeniedReason::parse);
    Ok(ChatAllowed { allowed, reason })
}

/// One survey answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyAnswer {
    /// Question text.
    pub question: String,
    /// Answer text.
    pub answer: String,
}

/// A survey submission (B6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Survey {
    /// Chat session ID (`sid`, e.g. `1000_<uuid>`).
    pub sid: String,
    /// Answers, in order.
    pub answers: Vec<SurveyAnswer>,
}

/// The survey document: root `egainSurvey` in the chat namespace (data sheet E18).
pub fn survey_xml(s: &Survey) -> String {
    use quick_xml::escape::escape;
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><egainSurvey sid=\"{}\" xmlns=\"http://bindings.egain.com/chat\">",
        escape(s.sid.as_str())
    );
    for a in &s.answers {
        x.push_str(&format!(
            "<survey><question>{}</question><answer>{}</answer></survey>",
            escape(a.question.as_str()),
            escape(a.answer.as_str())
        ));
    }
    x.push_str("</egainSurvey>");
    x
}

/// Parses a survey document (used by the simulator).
pub fn parse_survey(xml: &[u8], limits: &XmlLimits) -> Result<Survey, XmlError> {
    // Surveys have one more level (survey/question), so walk them with quick-xml.
    if xml.len() > limits.max_bytes {
        return Err(XmlError::TooLarge(limits.max_bytes));
    }
    let d = doc(xml, limits, "egainSurvey")?;
    let sid = d
        .attr("sid")
        .ok_or_else(|| XmlError::Unexpected("no sid".into()))?
        .to_owned();
    let text = std::str::from_utf8(xml).map_err(|_| XmlError::Malformed("not UTF-8".into()))?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut answers = Vec::new();
    let mut field: Option<&'static str> = None;
    let mut q = String::new();
    let mut a = String::new();
    loop {
        use quick_xml::events::Event;
        match reader
            .read_event()
            .map_err(|e| XmlError::Malformed(e.to_string()))?
        {
            Event::Start(e) => {
                field = match e.local_name().as_ref() {
                    "question" => Some("q"),
                    "answer" => Some("a"),
                    "survey" => {
                        q.clear();
                        a.clear();
                        None
                    }
                    _ => None,
                }
            }
            Event::Text(t) => {
                let s: &str = &t;
                match field {
                    Some("q") => q.push_str(s),
                    Some("a") => a.push_str(s),
                    _ => {}
                }
            }
            Event::GeneralRef(r) => {
                let s = quick_xml::escape::resolve_predefined_entity(&r).unwrap_or("");
                match field {
                    Some("q") => q.push_str(s),
                    Some("a") => a.push_str(s),
                    _ => {}
                }
            }
            Event::End(e) => {
                if e.local_name().as_ref() == "survey" {
                    answers.push(SurveyAnswer {
                        question: q.clone(),
                        answer: a.clone(),
                    });
                }
                field = None;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(Survey { sid, answers })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l() -> XmlLimits {
        XmlLimits::default()
    }
    const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;
    const NS: &str = r#"xmlns:ns2="http://bindings.egain.com/chat" xmlns:ns3="jabber:client" xmlns:ns4="urn:ietf:params:xml:ns:xmpp-stanzas" xmlns:ns5="http://jabber.org/protocol/httpbind""#;

    #[test]
    fn parses_the_guide_samples() {
        let x = format!(r#"{DECL}<agentAvailability {NS} available="true"/>"#);
        assert!(parse_agent_availability(x.as_bytes(), &l()).unwrap());
        assert!(
            !parse_agent_availability(b"<agentAvailability available='FALSE'/>", &l()).unwrap()
        );
        let x = format!("{DECL}<availableSlots {NS}><ns2:count>4</ns2:count></availableSlots>");
        assert_eq!(parse_capacity(x.as_bytes(), &l()).unwrap(), 4);
        let x = format!("{DECL}<sessionStatus {NS}><ns2:waitTime>3.0</ns2:waitTime><ns2:queueDepth>1</ns2:queueDepth></sessionStatus>");
        assert_eq!(
            parse_session_status(x.as_bytes(), &l()).unwrap(),
            SessionStatus {
                wait_time_secs: 3.0,
                queue_depth: 1
            }
        );
        let x = format!(r#"{DECL}<checkEligibility {NS} responseType="2"/>"#);
        assert_eq!(
            parse_eligibility(x.as_bytes(), &l()).unwrap(),
            Eligibility::QueueFull
        );
        let x =
            format!(r#"{DECL}<chatAllowed {NS} allowed="false" reason="entry_point_inactive"/>"#);
        let c = parse_chat_allowed(x.as_bytes(), &l()).unwrap();
        assert!(!c.allowed);
        assert_eq!(c.reason, Some(ChatDeniedReason::EntryPointInactive));
        let c = parse_chat_allowed(br#"<chatAllowed allowed="true"/>"#, &l()).unwrap();
        assert_eq!(
            c,
            ChatAllowed {
                allowed: true,
                reason: None
            }
        );
    }

    #[test]
    fn tolerates_the_documented_quirks() {
        // Unquoted attribute as printed in the guide.
        assert_eq!(
            parse_eligibility(b"<checkEligibility responseType=0/>", &l()).unwrap(),
            Eligibility::Eligible
        );
        // Not XML at all, but the attribute is there: regex-style fallback.
        assert_eq!(
            parse_eligibility(b"<checkEligibility responseType = \"3\" <<", &l()).unwrap(),
            Eligibility::AgentLimitReached
        );
        assert_eq!(Eligibility::from_code(7), Eligibility::Other(7));
        // Reason casing.
        let c =
            parse_chat_allowed(br#"<chatAllowed allowed="false" reason="OTHER"/>"#, &l()).unwrap();
        assert_eq!(c.reason, Some(ChatDeniedReason::Other));
        let c = parse_chat_allowed(br#"<chatAllowed allowed="false" reason="new_one"/>"#, &l())
            .unwrap();
        assert_eq!(c.reason.unwrap().as_str(), "new_one");
    }

    #[test]
    fn wrong_documents_are_errors() {
        assert!(
            parse_capacity(b"<availableSlots><count>-1</count></availableSlots>", &l()).is_err()
        );
        assert!(parse_capacity(b"<other><count>1</count></other>", &l()).is_err());
        assert!(
            parse_agent_availability(b"<agentAvailability available=\"maybe\"/>", &l()).is_err()
        );
        assert!(parse_session_status(
            b"<sessionStatus><waitTime>NaN</waitTime><queueDepth>1</queueDepth></sessionStatus>",
            &l()
        )
        .is_err());
        assert!(parse_eligibility(b"<checkEligibility/>", &l()).is_err());
        assert!(
            parse_eligibility(br#"<!DOCTYPE x><checkEligibility responseType="0"/>"#, &l())
                .is_err()
        );
    }

    #[test]
    fn survey_round_trip_escapes_text() {
        let s = Survey {
            sid: "1000_d15c6659".into(),
            answers: vec![
                SurveyAnswer {
                    question: "Q <1>".into(),
                    answer: "A & 1".into(),
                },
                SurveyAnswer {
                    question: "Q2".into(),
                    answer: "A2".into(),
                },
            ],
        };
        let x = survey_xml(&s);
        assert!(x.contains(
            r#"<egainSurvey sid="1000_d15c6659" xmlns="http://bindings.egain.com/chat">"#
        ));
        assert!(x.contains("<question>Q &lt;1&gt;</question><answer>A &amp; 1</answer>"));
        assert_eq!(parse_survey(x.as_bytes(), &l()).unwrap(), s);
    }

    #[test]
    fn alternate_segment() {
        assert_eq!(
            alternate_path("egain/chat/endpoint/capacity/{id}").unwrap(),
            "egain/chat/entrypoint/capacity/{id}"
        );
        assert_eq!(
            alternate_path("egain/chat/entrypoint/x").unwrap(),
            "egain/chat/endpoint/x"
        );
        assert!(alternate_path("custom/x").is_none());
    }
}
