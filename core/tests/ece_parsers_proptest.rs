//! Arbitrary bytes and strings fed to every ECE parser: typed errors, never a panic.

use cce::ece::chatws::{
    parse_agent_availability, parse_capacity, parse_chat_allowed, parse_eligibility,
    parse_session_status, parse_survey,
};
use cce::ece::messaging::{http_failure, parse_configuration, parse_start};
use cce::ece::token::parse_token;
use cce::ece::webhook::{parse_body, EventRouter, WebhookLimits};
use cce::ece::xml::{parse_simple, XmlLimits};
use cce::ece::Operation;
use proptest::prelude::*;

fn small_limits() -> WebhookLimits {
    WebhookLimits {
        max_body_bytes: 4096,
        max_depth: 8,
        max_events: 16,
    }
}

fn xml_all(bytes: &[u8]) {
    let l = XmlLimits::default();
    let _ = parse_simple(bytes, &l);
    let _ = parse_agent_availability(bytes, &l);
    let _ = parse_capacity(bytes, &l);
    let _ = parse_session_status(bytes, &l);
    let _ = parse_eligibility(bytes, &l);
    let _ = parse_chat_allowed(bytes, &l);
    let _ = parse_survey(bytes, &l);
}

fn json_all(bytes: &[u8]) {
    if let Ok(events) = parse_body(bytes, &small_limits()) {
        let mut r = EventRouter::new(8);
        for e in r.route(events) {
            let _ = e.to_json().to_string();
        }
    }
    let _ = parse_token(bytes);
    let _ = parse_configuration(bytes, 1001);
    let _ = parse_start(bytes);
    let _ = http_failure(Operation::SendMessage, 400, bytes);
}

/// JSON-ish text built from webhook vocabulary, to get past the first checks.
fn webhook_like() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"message\"",
        "\"conversation\"",
        "\"id\"",
        "\"type\"",
        "\"value\"",
        "\"assigned\"",
        "\"complete\"",
        "\"text/html\"",
        "\"content\"",
        "\"sender\"",
        "\"user\"",
        "\"timeStamp\"",
        "1742834034000",
        "-1",
        "1e400",
        "null",
        "true",
        "\"\\u0000\"",
        "\"\\ud800\"",
        " ",
    ]);
    prop::collection::vec(atoms, 0..64).prop_map(|v| v.concat())
}

/// XML-ish text built from chat web service vocabulary.
fn xml_like() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "<",
        ">",
        "/",
        "=",
        "\"",
        "'",
        " ",
        "<?xml version=\"1.0\"?>",
        "<!DOCTYPE x>",
        "<![CDATA[",
        "]]>",
        "<!--",
        "-->",
        "&amp;",
        "&#0;",
        "&#x110000;",
        "&lol;",
        "ns2:",
        "agentAvailability",
        "available",
        "true",
        "availableSlots",
        "count",
        "4",
        "sessionStatus",
        "waitTime",
        "3.0",
        "queueDepth",
        "checkEligibility",
        "responseType",
        "chatAllowed",
        "allowed",
        "reason",
        "egainSurvey",
        "survey",
        "question",
        "answer",
        "sid",
        "xmlns:ns2=\"http://bindings.egain.com/chat\"",
    ]);
    prop::collection::vec(atoms, 0..64).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        json_all(&bytes);
        xml_all(&bytes);
    }

    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,512}") {
        json_all(s.as_bytes());
        xml_all(s.as_bytes());
    }

    #[test]
    fn webhook_like_text_never_panics(s in webhook_like()) {
        json_all(s.as_bytes());
    }

    #[test]
    fn xml_like_text_never_panics(s in xml_like()) {
        xml_all(s.as_bytes());
    }

    #[test]
    fn valid_events_survive_arbitrary_fields(
        conv in ".{0,40}", content in ".{0,200}", kind in ".{0,20}", ts in any::<i64>(),
    ) {
        let body = serde_json::json!({"message": [{
            "conversation": {"id": conv}, "type": {"value": kind}, "content": content,
            "timeStamp": ts, "id": "1"}]});
        let events = parse_body(body.to_string().as_bytes(), &WebhookLimits::default()).unwrap();
        prop_assert_eq!(events.len(), 1);
        prop_assert_eq!(events[0].data.content.as_deref(), Some(content.as_str()));
    }
}
