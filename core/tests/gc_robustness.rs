//! Fuzz-style properties of the GC parsers: arbitrary input never panics, hangs or
//! buffers without bound; well-formed input round-trips.

use cce::gc::command::{Command, CommandError, Request};
use cce::gc::event::{parse, parse_bytes};
use cce::gc::stomp::{encode, Decoded, Frame, FrameDecoder, Limits, StompError};
use proptest::prelude::*;

/// Strings made of the GC separators, field prefixes and event names, to reach deep paths.
fn gc_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("#".to_owned()),
        Just(",".to_owned()),
        Just("|".to_owned()),
        Just("=".to_owned()),
        Just(":".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(">".to_owned()),
        Just("DialogID:".to_owned()),
        Just("AssDialogID:".to_owned()),
        Just("Category:".to_owned()),
        Just("Codes:".to_owned()),
        Just("Labels:".to_owned()),
        Just("ani=".to_owned()),
        prop::sample::select(vec![
            "State",
            "Error",
            "Control",
            "PrintStatusBar",
            "InboundCall",
            "NewInboundCall",
            "NewOutboundCall",
            "ConsultCall",
            "AgentInfo",
            "TeamInfoIDs",
            "TeamInfoNames",
            "DialogState",
            "ReasonCodes",
            "QueueList",
            "TeamUsersList",
            "TeamMemberStateChanged",
            "ConferenceParticipants",
            "RECONNECT",
            "DialogStatus",
            "LOGOUT",
            "System",
            "DESTINATION",
            "Phonebooks",
            "TeamPhoneBooks",
            "PhonebookContacts",
            "AgentState",
            "FAILED",
            "ACTIVE",
            "1001",
            "",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z0-9 _]{0,6}",
    ];
    prop::collection::vec(token, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn event_parser_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..512),
                                          jms in prop::option::of("[ -~]{0,20}")) {
        let _ = parse_bytes(&body, jms.as_deref());
    }

    #[test]
    fn event_parser_never_panics_on_gc_like_text(body in gc_text(), jms in prop::option::of("[A-Za-z#0-9]{0,12}")) {
        if let Ok(events) = parse(&body, jms.as_deref()) {
            for e in events {
                // Every event renders to JSON with its name.
                let j = e.to_json();
                prop_assert_eq!(j["event"].as_str(), Some(e.name()));
            }
        }
    }

    #[test]
    fn event_parser_never_panics_on_json(v in arb_json()) {
        let _ = parse(&v.to_string(), None);
        let _ = parse(&serde_json::json!([v]).to_string(), None);
    }

    #[test]
    fn stomp_decoder_never_panics_and_stays_bounded(
        data in prop::collection::vec(any::<u8>(), 0..2048),
        cut in 1usize..64,
    ) {
        let limits = Limits { max_header_bytes: 256, max_headers: 8, max_body_bytes: 512 };
        let mut d = FrameDecoder::new(limits);
        for chunk in data.chunks(cut) {
            d.push(chunk);
            loop {
                match d.next_frame() {
                    Ok(Some(Decoded::Frame(f))) => prop_assert!(f.body.len() <= 512),
                    Ok(Some(Decoded::HeartBeat)) => {}
                    Ok(None) => break,
                    Err(_) => break,
                }
            }
            // Whatever is buffered fits the limits (plus one read).
            prop_assert!(d.pending() <= 256 + 512 + 8 + cut + 64, "pending {}", d.pending());
        }
    }

    #[test]
    fn stomp_frames_round_trip(
        command in prop::sample::select(vec!["SEND", "MESSAGE", "RECEIPT", "ERROR", "SUBSCRIBE"]),
        headers in prop::collection::vec(("[a-z\\-]{1,10}", "\\PC{0,20}"), 0..6),
        body in "[^\u{0}]{0,100}",
        cut in 1usize..32,
    ) {
        let mut f = Frame::new(command);
        // Distinct names (first occurrence wins on decode), no content-length.
        let mut seen = std::collections::HashSet::new();
        for (k, v) in headers {
            if k != "content-length" && seen.insert(k.clone()) {
                f = f.header(k, v);
            }
        }
        f = f.body(body.into_bytes());
        let bytes = encode(&f).expect("encodable");
        let mut d = FrameDecoder::default();
        let mut got = Vec::new();
        for chunk in bytes.chunks(cut) {
            d.push(chunk);
            while let Some(x) = d.next_frame().expect("decodes") {
                got.push(x);
            }
        }
        prop_assert_eq!(got, vec![Decoded::Frame(f)]);
    }

    #[test]
    fn commands_round_trip_or_refuse_separators(
        number in "\\PC{0,12}",
        dialog in "[0-9,#|]{1,8}",
        agent in "[0-9a-z#]{1,6}",
    ) {
        let cmd = Command::ConsultCall { number: number.clone(), dialog_id: dialog.clone() };
        match cmd.encode(&agent) {
            Ok(req) => {
                let bad = |s: &str| s.contains([',', '#', '|']) || s.chars().any(char::is_control);
                prop_assert!(!bad(&number) && !bad(&dialog) && !bad(&agent));
                let (key, back) = Command::decode(&req).expect("decodes");
                prop_assert_eq!(key, agent);
                prop_assert_eq!(back, cmd);
            }
            Err(e) => prop_assert!(matches!(e, CommandError::Separator { .. }), "{}", e),
        }
    }

    #[test]
    fn command_decode_never_panics(jms in "\\PC{0,30}", body in "\\PC{0,30}") {
        let _ = Command::decode(&Request { jms_type: jms, body });
    }
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{json, Value};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        prop::sample::select(vec![
            "System",
            "State",
            "AgentInfo",
            "InboundCall",
            "NewInboundCall",
            "NewOutboundCall",
            "NewOutboundPreviewCall",
            "ConsultCall",
            "ReasonCodes",
            "DialogState",
            "Agents",
            "Phonebooks",
            "PhonebookContacts",
            "IN_SERVICE",
            "x",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "type",
                        "status",
                        "agentId",
                        "state",
                        "dialogId",
                        "assDialogId",
                        "callVariables",
                        "participants",
                        "reasonCodes",
                        "users",
                        "phonebooks",
                        "contacts",
                        "teams",
                        "team",
                        "supervisor",
                        "category",
                        "ani",
                    ]),
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

#[test]
fn huge_inputs_are_refused_not_buffered() {
    let mut d = FrameDecoder::default();
    let limit = Limits::default();
    // A body without NUL larger than the limit: refused once past the limit.
    d.push(b"MESSAGE\n\n");
    let chunk = vec![b'x'; 64 * 1024];
    let mut err = None;
    for _ in 0..(limit.max_body_bytes / chunk.len() + 2) {
        d.push(&chunk);
        match d.next_frame() {
            Ok(None) => continue,
            Ok(Some(_)) => panic!("no frame expected"),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    assert_eq!(err, Some(StompError::BodyTooLarge(limit.max_body_bytes)));
    assert_eq!(d.pending(), 0);
}
