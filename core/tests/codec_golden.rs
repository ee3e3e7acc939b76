//! Wire-format tests with bytes written by hand from the data sheet tables
//! (messages.json / versions.json / conventions.md), not produced by the encoder.

use cce::cti::codec::{decode, encode, CodecError, Floating, Message, Value};
use cce::cti::spec::{self, MESSAGES};
use proptest::prelude::*;

fn be32(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

/// OPEN_REQ: 44-byte fixed part, then ClientID "ab", empty ClientPassword, AgentID "1001".
fn open_req_bytes(version: u8) -> Vec<u8> {
    let mut fixed = Vec::new();
    fixed.extend(be32(1)); // InvokeID
    fixed.extend(be32(u32::from(version))); // VersionNumber
    fixed.extend(be32(0xFFFF_FFFF)); // IdleTimeout
    fixed.extend(be32(0xFFFF_FFFF)); // PeripheralID
    fixed.extend(be32(0x0000_0005)); // ServicesRequested
    fixed.extend([0u8; 24]); // CallMsgMask, AgentStateMask, ConfigMsgMask, Reserved1..3
    assert_eq!(fixed.len(), 44);
    let floating: Vec<u8> = if version < 20 {
        vec![1, 3, b'a', b'b', 0, 2, 0, 5, 5, b'1', b'0', b'0', b'1', 0]
    } else {
        vec![
            0, 1, 0, 3, b'a', b'b', 0, 0, 2, 0, 0, 0, 5, 0, 5, b'1', b'0', b'0', b'1', 0,
        ]
    };
    let body_len = (fixed.len() + floating.len()) as u32;
    let mut out = Vec::new();
    out.extend(be32(body_len));
    out.extend(be32(3));
    out.extend(fixed);
    out.extend(floating);
    out
}

fn open_req(version: u32) -> Message {
    let mut m = Message::new("OPEN_REQ", version).unwrap();
    m.set_int("InvokeID", 1)
        .unwrap()
        .set_int("VersionNumber", version.into())
        .unwrap()
        .set_int("IdleTimeout", 0xFFFF_FFFF)
        .unwrap()
        .set_int("PeripheralID", 0xFFFF_FFFF)
        .unwrap()
        .set_int("ServicesRequested", 5)
        .unwrap()
        .set_str("ClientID", "ab")
        .unwrap()
        .set_bytes("ClientPassword", Vec::new())
        .unwrap()
        .set_str("AgentID", "1001")
        .unwrap();
    m
}

#[test]
fn open_req_floating_framing_v15_is_one_byte_v24_is_two() {
    let v15 = open_req_bytes(15);
    assert_eq!(v15.len(), 8 + 44 + 14);
    assert_eq!(&encode(&open_req(15), 15).unwrap()[..], &v15[..]);
    assert_eq!(decode(&v15, 15).unwrap(), open_req(15));

    let v24 = open_req_bytes(24);
    assert_eq!(v24.len(), 8 + 44 + 20);
    assert_eq!(&encode(&open_req(24), 24).unwrap()[..], &v24[..]);
    assert_eq!(decode(&v24, 24).unwrap(), open_req(24));
    // Reading v24 bytes with v15 framing must not succeed silently.
    assert!(decode(&v24, 15).is_err());
}

/// AGENT_STATE_EVENT: v15 fixed part is 58 bytes; v19+ appends DepartmentID (62 bytes).
fn agent_state_event_bytes(version: u8) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend(be32(0)); // MonitorID
    f.extend(be32(5000)); // PeripheralID
    f.extend(be32(77)); // SessionID
    f.extend([0, 17]); // PeripheralType PT_ENTERPRISE_AGENT
    f.extend([0, 3]); // SkillGroupState
    f.extend(be32(0)); // StateDuration
    f.extend(be32(0xFFFF_FFFF)); // SkillGroupNumber
    f.extend(be32(0xFFFF_FFFF)); // SkillGroupID
    f.extend([0, 0]); // SkillGroupPriority
    f.extend([0, 3]); // AgentState AVAILABLE
    f.extend([0, 0]); // EventReasonCode
    f.extend(be32(1)); // MRDID
    f.extend(be32(0)); // NumTasks
    f.extend([0, 1]); // AgentMode
    f.extend(be32(1)); // MaxTaskLimit
    f.extend(be32(0xFFFF_FFFF)); // ICMAgentID (-1)
    f.extend(be32(1)); // AgentAvailabilityStatus
    f.extend([0, 0]); // NumFltSkillGroups
    assert_eq!(f.len(), 58);
    if version >= 19 {
        f.extend(be32(42)); // DepartmentID
    }
    // AgentID "1001" (tag 5).
    if version < 20 {
        f.extend([5, 5, b'1', b'0', b'0', b'1', 0]);
    } else {
        f.extend([0, 5, 0, 5, b'1', b'0', b'0', b'1', 0]);
    }
    let mut out = Vec::new();
    out.extend(be32(f.len() as u32));
    out.extend(be32(30));
    out.extend(f);
    out
}

#[test]
fn agent_state_event_layout_differs_between_v15_and_v24() {
    let m15 = decode(&agent_state_event_bytes(15), 15).unwrap();
    assert_eq!(m15.name(), "AGENT_STATE_EVENT");
    assert_eq!(m15.u32("AgentState"), Some(3));
    assert_eq!(m15.get("ICMAgentID"), Some(&Value::Int(-1)));
    assert_eq!(m15.get("DepartmentID"), None);
    assert_eq!(m15.str("AgentID"), Some("1001"));

    let m24 = decode(&agent_state_event_bytes(24), 24).unwrap();
    assert_eq!(m24.u32("DepartmentID"), Some(42));
    assert_eq!(m24.str("AgentID"), Some("1001"));
    for (bytes, v) in [
        (agent_state_event_bytes(15), 15),
        (agent_state_event_bytes(24), 24),
    ] {
        let m = decode(&bytes, v).unwrap();
        assert_eq!(
            &encode(&m, v).unwrap()[..],
            &bytes[..],
            "round trip at v{v}"
        );
    }
}

#[test]
fn failure_conf_accepts_the_16_and_18_byte_forms() {
    // 16-byte form: InvokeID 9, Status 1 (E_CTI_INVALID_VERSION).
    let short = [0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 1];
    let m = decode(&short, 24).unwrap();
    assert_eq!((m.invoke_id(), m.u32("Status")), (Some(9), Some(1)));
    // 18-byte form: InvokeID 9, FailureCode USHORT 10, PeripheralErrorCode 7.
    let long = [0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0, 9, 0, 10, 0, 0, 0, 7];
    let m = decode(&long, 24).unwrap();
    assert_eq!(m.invoke_id(), Some(9));
    assert_eq!(m.u32("FailureCode"), Some(10));
    assert_eq!(m.u32("PeripheralErrorCode"), Some(7));
    assert_eq!(&encode(&m, 24).unwrap()[..], &long[..]);
}

#[test]
fn named_variables_and_unknown_tags_survive_a_round_trip() {
    // END_CALL_EVENT v24: 16-byte fixed part, ConnectionDeviceID "5001" (tag 25),
    // then an unknown tag 999 with two bytes.
    let mut body = Vec::new();
    body.extend(be32(0)); // MonitorID
    body.extend(be32(5000)); // PeripheralID
    body.extend([0, 17]); // PeripheralType
    body.extend([0, 0]); // ConnectionDeviceIDType
    body.extend(be32(0x0100_0001)); // ConnectionCallID
    body.extend([0, 25, 0, 5, b'5', b'0', b'0', b'1', 0]);
    body.extend([0x03, 0xE7, 0, 2, 0xAB, 0xCD]);
    let mut wire = be32(body.len() as u32).to_vec();
    wire.extend(be32(24));
    wire.extend(&body);
    let m = decode(&wire, 24).unwrap();
    assert!(
        matches!(m.floating().last(), Some(Floating::Unknown { tag: 999, data }) if data[..] == [0xAB, 0xCD])
    );
    assert_eq!(&encode(&m, 24).unwrap()[..], &wire[..]);

    // NAMEDVAR (tag 82): "user.x\0" "42\0", length 10, inside BEGIN_CALL_EVENT.
    let mut b = Message::new("BEGIN_CALL_EVENT", 24).unwrap();
    b.add_named_var("user.x", "42").unwrap();
    let bytes = encode(&b, 24).unwrap();
    let tail = &bytes[bytes.len() - 14..];
    assert_eq!(
        tail,
        [0, 82, 0, 10, b'u', b's', b'e', b'r', b'.', b'x', 0, b'4', b'2', 0]
    );
    assert_eq!(
        decode(&bytes, 24).unwrap().u32("NumNamedVariables"),
        Some(1)
    );
}

fn expect_err(bytes: &[u8], version: u32) -> CodecError {
    decode(bytes, version).expect_err("must be refused")
}

#[test]
fn malformed_input_gives_typed_errors() {
    // HEARTBEAT_REQ body too short for its InvokeID.
    assert_eq!(
        expect_err(&[0, 0, 0, 2, 0, 0, 0, 5, 0, 0], 24).kind(),
        "ShortFixedPart"
    );
    // Header shorter than 8 bytes, and a length claim beyond the buffer.
    assert_eq!(expect_err(&[0, 0, 0], 24).kind(), "Truncated");
    assert_eq!(
        expect_err(&[0, 0, 0, 9, 0, 0, 0, 5, 0], 24).kind(),
        "Truncated"
    );
    // Over 12,492 body bytes.
    assert_eq!(
        expect_err(&[0, 0, 0x30, 0xCD, 0, 0, 0, 5], 24).kind(),
        "MessageTooLong"
    );
    // Unknown message type 60000.
    assert_eq!(
        expect_err(&[0, 0, 0, 0, 0, 0, 0xEA, 0x60], 24).kind(),
        "UnknownType"
    );
    // CLOSE_REQ (type 7: InvokeID, Status) with a floating field running past the end.
    let overrun = [0, 0, 0, 12, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 7, 0, 9];
    assert_eq!(expect_err(&overrun, 24).kind(), "FloatingOverrun");
    // END_CALL_EVENT with a non-ASCII ConnectionDeviceID.
    let mut body = vec![0u8; 16];
    body.extend([0, 25, 0, 3, b'a', 0xE9, 0]);
    let mut wire = be32(body.len() as u32).to_vec();
    wire.extend(be32(24));
    wire.extend(&body);
    assert_eq!(expect_err(&wire, 24).kind(), "NonAscii");
    // CALL_DELIVERED_EVENT: 54-byte fixed part, then TrunkNumber (tag 121, a UINT) of 3 bytes.
    let mut body = vec![0u8; 54];
    body.extend([0, 121, 0, 3, 1, 2, 3]);
    let mut wire = be32(body.len() as u32).to_vec();
    wire.extend(be32(9));
    wire.extend(&body);
    assert_eq!(expect_err(&wire, 24).kind(), "BadFieldLength");
    // BEGIN_CALL_EVENT says NumNamedVariables = 2 but carries one.
    let mut b = Message::new("BEGIN_CALL_EVENT", 24).unwrap();
    b.add_named_var("a", "1").unwrap();
    let mut bytes = encode(&b, 24).unwrap().to_vec();
    // NumNamedVariables sits at body offset 12 (MonitorID, PeripheralID, PeripheralType, NumCTIClients).
    bytes[8 + 12..8 + 14].copy_from_slice(&[0, 2]);
    assert_eq!(expect_err(&bytes, 24).kind(), "CountMismatch");
    // A NAMEDVAR without its second NUL.
    let n = bytes.len();
    bytes[8 + 12..8 + 14].copy_from_slice(&[0, 1]);
    bytes[n - 1] = b'x';
    assert_eq!(expect_err(&bytes, 24).kind(), "MissingNul");
}

#[test]
fn encoder_refuses_what_the_version_cannot_carry() {
    // ActiveTerminal uses tag 303, which a 1-byte tag cannot hold.
    let mut m = Message::new("SET_AGENT_STATE_REQ", 15).unwrap();
    m.set_str("ActiveTerminal", "T1").unwrap();
    assert!(matches!(
        encode(&m, 15),
        Err(CodecError::TagNotInVersion { tag: 303, .. })
    ));
    // CONFIG_MRD_EVENT arrived in v20.
    assert!(matches!(
        Message::new("CONFIG_MRD_EVENT", 15),
        Err(CodecError::TypeNotInVersion { since: 20, .. })
    ));
    // OPEN_REQ without ClientID.
    let m = Message::new("OPEN_REQ", 24).unwrap();
    assert!(matches!(
        encode(&m, 24),
        Err(CodecError::MissingField {
            field: "ClientID",
            ..
        })
    ));
    // AgentID is STRING 12 (NUL included): 12 characters do not fit.
    let mut m = Message::new("QUERY_AGENT_STATE_REQ", 24).unwrap();
    m.set_str("AgentID", "123456789012").unwrap();
    assert!(matches!(
        encode(&m, 24),
        Err(CodecError::FieldTooLong { max: 12, .. })
    ));
    // A message built for v24 cannot be sent on a v15 session if the layouts differ.
    let m = Message::new("OPEN_CONF", 24).unwrap();
    assert!(encode(&m, 15).is_err());
    assert!(matches!(
        Message::new("OPEN_REQ", 14),
        Err(CodecError::UnsupportedVersion { version: 14 })
    ));
}

#[test]
fn every_documented_message_round_trips_empty_at_every_version() {
    let mut checked = 0;
    for spec in MESSAGES {
        for v in spec::MIN_PROTOCOL_VERSION..=spec::MAX_PROTOCOL_VERSION {
            let Ok(m) = Message::for_spec(spec, v) else {
                assert!(v < spec.since, "{} should exist in v{v}", spec.name);
                continue;
            };
            if spec.floating.iter().any(|f| f.required) {
                continue;
            }
            let bytes = encode(&m, v).unwrap_or_else(|e| panic!("{} v{v}: {e}", spec.name));
            let back = decode(&bytes, v).unwrap_or_else(|e| panic!("{} v{v}: {e}", spec.name));
            assert_eq!(back, m, "{} v{v}", spec.name);
            checked += 1;
        }
    }
    assert!(
        checked > 2000,
        "only {checked} message/version pairs checked"
    );
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        ty in prop_oneof![1u32..300, any::<u32>()],
        body in proptest::collection::vec(any::<u8>(), 0..300),
        v in 15u32..=25,
    ) {
        let mut wire = (body.len() as u32).to_be_bytes().to_vec();
        wire.extend(ty.to_be_bytes());
        wire.extend(&body);
        // The borrowed view accepts exactly what the owned decoder accepts.
        let view_ok = cce::cti::codec::MessageRef::parse(
            ty,
            &body,
            v,
            cce::cti::codec::DecodeOptions::default(),
        )
        .is_ok();
        prop_assert_eq!(view_ok, decode(&wire, v).is_ok());
        if let Ok(m) = decode(&wire, v) {
            // Whatever decodes must re-encode to the same bytes.
            if m.spec().since <= v && m.spec().layout(v).is_some_and(|l| std::ptr::eq(
                l.fields,
                match m.body() { cce::cti::codec::Body::Fields { layout, .. } => *layout, _ => l.fields },
            )) {
                let again = encode(&m, v);
                if let Ok(again) = again {
                    prop_assert_eq!(&again[..], &wire[..]);
                }
            }
        }
    }

    #[test]
    fn frame_splitter_handles_any_chunking(
        chunks in proptest::collection::vec(1usize..20, 1..40),
    ) {
        let one = open_req_bytes(24);
        let stream: Vec<u8> = one.iter().chain(one.iter()).chain(one.iter()).copied().collect();
        let mut s = cce::cti::codec::FrameSplitter::new();
        let mut frames = 0;
        let mut pos = 0;
        for c in chunks.iter().cycle() {
            if pos >= stream.len() { break; }
            let end = (pos + c).min(stream.len());
            s.push(&stream[pos..end]);
            pos = end;
            while let Some(f) = s.next_frame().unwrap() {
                prop_assert_eq!(f.msg_type, 3);
                frames += 1;
            }
        }
        prop_assert_eq!(frames, 3);
    }
}

#[test]
fn json_refuses_unknown_entries_for_known_tags_and_computes_counts() {
    use cce::cti::codec::json::from_json_str;
    let err = from_json_str(
        r#"{"MessageName":"FAILURE_CONF","_unknown":[{"tag":7,"data":"ff"}]}"#,
        24,
    )
    .expect_err("tag 7 is FAILURE_CONF.Text");
    assert_eq!(err.kind(), "BadValue");
    // A truly unknown tag is kept.
    let m = from_json_str(
        r#"{"MessageName":"FAILURE_CONF","_unknown":[{"tag":999,"data":"ff"}]}"#,
        24,
    )
    .unwrap();
    assert_eq!(m.floating().len(), 1);
    // Counts are computed once from the arrays given; an explicit count must agree.
    let items: Vec<String> = (0..5000).map(|_| "0".to_owned()).collect();
    let doc = format!(
        r#"{{"MessageName":"BEGIN_CALL_EVENT","CTIClientTimestamp":[{}]}}"#,
        items.join(",")
    );
    let m = from_json_str(&doc, 24).unwrap();
    assert_eq!(m.u32("NumCTIClients"), Some(5000));
    let bad = from_json_str(
        r#"{"MessageName":"BEGIN_CALL_EVENT","NumNamedVariables":2,"NamedVariable":[{"Name":"a","Value":"1"}]}"#,
        24,
    )
    .unwrap();
    assert_eq!(encode(&bad, 24).unwrap_err().kind(), "CountMismatch");
}

#[test]
fn json_round_trip_does_not_invent_a_floating_count() {
    // Regression (fuzz): OPEN_CONF without peripherals must not grow NumPeripherals = 0.
    use cce::cti::codec::json::{from_json, to_json};
    let m = Message::new("OPEN_CONF", 15).unwrap();
    let j = to_json(&m);
    let back = from_json(&j, 15).unwrap();
    assert_eq!(to_json(&back), j);
    assert_eq!(back, m);
}

/// Frames a body by hand: MessageLength, MessageType, body.
fn framed(msg_type: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(be32(body.len() as u32));
    out.extend(be32(msg_type));
    out.extend(body);
    out
}

/// OPEN_REQ v24 (the bytes of `open_req_bytes`) followed by ApplicationPathID (tag 97)
/// with the given data.
fn open_req_with_app_path(data: &[u8]) -> Vec<u8> {
    let base = open_req_bytes(24);
    let mut body = base[8..].to_vec();
    body.extend([0, 97, 0, data.len() as u8]);
    body.extend(data);
    framed(3, &body)
}

#[test]
fn application_path_id_is_read_as_int_4_or_apppathid_5_and_re_encodes_as_received() {
    use cce::cti::codec::json::{from_json, to_json};
    use cce::cti::codec::{DecodeOptions, FrameRef, MessageRef};

    // DECISIONS #20: INT 4 as printed ...
    let four = open_req_with_app_path(&[0, 0, 0x12, 0x34]);
    let m = decode(&four, 24).unwrap();
    assert_eq!(m.get("ApplicationPathID"), Some(&Value::Int(0x1234)));
    let mut built = open_req(24);
    built.set_int("ApplicationPathID", 0x1234).unwrap();
    assert_eq!(m, built);
    assert_eq!(
        &encode(&built, 24).unwrap()[..],
        &four[..],
        "builders send 4 bytes"
    );

    // ... and the 5-byte APPPATHID type, kept byte for byte.
    let five = open_req_with_app_path(&[1, 2, 3, 4, 5]);
    let m = decode(&five, 24).unwrap();
    assert_eq!(
        m.get("ApplicationPathID"),
        Some(&Value::AppPathId([1, 2, 3, 4, 5]))
    );
    assert_eq!(m.u32("ApplicationPathID"), None, "not a number");
    assert_eq!(&encode(&m, 24).unwrap()[..], &five[..]);
    let j = to_json(&m);
    assert_eq!(j["ApplicationPathID"], "0102030405");
    let again = from_json(&j, 24).unwrap();
    assert_eq!(&encode(&again, 24).unwrap()[..], &five[..]);

    // The borrowed view accepts both and hands out the bytes.
    for wire in [&four, &five] {
        let f = FrameRef {
            msg_type: 3,
            body: &wire[8..],
        };
        let view = MessageRef::parse(f.msg_type, f.body, 24, DecodeOptions::default()).unwrap();
        let field = view.field("ApplicationPathID").unwrap();
        assert_eq!(field.data, &wire[wire.len() - field.data.len()..]);
    }
    assert_eq!(
        MessageRef::parse(3, &four[8..], 24, DecodeOptions::default())
            .unwrap()
            .u32("ApplicationPathID"),
        Some(0x1234)
    );

    // Other lengths stay errors.
    for data in [&[1u8, 2, 3][..], &[1, 2, 3, 4, 5, 6]] {
        assert!(matches!(
            decode(&open_req_with_app_path(data), 24),
            Err(CodecError::BadFieldLength {
                field: "ApplicationPathID",
                ..
            })
        ));
    }
    // Other INT fields do not take 5 bytes: SET_APP_DATA_REQ's InvokeID is fixed, so
    // try an INT floating field elsewhere (AGENT_STATE_EVENT has none); BEGIN_CALL_EVENT's
    // RouterCallKeyDay (tag 72) is a UINT and refuses 5 bytes.
    let mut body = vec![0u8; 0];
    let begin = spec::message_by_name("BEGIN_CALL_EVENT").unwrap();
    body.resize(begin.layout(24).unwrap().size(), 0);
    body.extend([0, 72, 0, 5, 1, 2, 3, 4, 5]);
    assert!(matches!(
        decode(&framed(begin.msg_type, &body), 24),
        Err(CodecError::BadFieldLength { .. })
    ));
}

#[test]
fn set_app_data_req_application_path_id_both_forms_at_v15_and_v24() {
    // SET_APP_DATA_REQ (129): InvokeID 9, ApplicationPathID, CallVariable1 "x".
    for (version, five) in [(15u32, false), (15, true), (24, false), (24, true)] {
        let id: &[u8] = if five {
            &[9, 8, 7, 6, 5]
        } else {
            &[0xFF, 0xFF, 0xFF, 0xFE]
        };
        let mut body = be32(9).to_vec();
        if version < 20 {
            body.extend([97, id.len() as u8]);
            body.extend(id);
            body.extend([13, 2, b'x', 0]);
        } else {
            body.extend([0, 97, 0, id.len() as u8]);
            body.extend(id);
            body.extend([0, 13, 0, 2, b'x', 0]);
        }
        let wire = framed(129, &body);
        let m = decode(&wire, version).unwrap_or_else(|e| panic!("v{version}: {e}"));
        let expected = if five {
            Value::AppPathId([9, 8, 7, 6, 5])
        } else {
            Value::Int(-2)
        };
        assert_eq!(m.get("ApplicationPathID"), Some(&expected), "v{version}");
        assert_eq!(m.str("CallVariable1"), Some("x"));
        assert_eq!(&encode(&m, version).unwrap()[..], &wire[..], "v{version}");
    }
    // A builder may set the 5-byte form explicitly (e.g. to echo what it received).
    let mut m = Message::new("SET_APP_DATA_REQ", 24).unwrap();
    m.put_floating("ApplicationPathID", Value::AppPathId([1, 1, 1, 1, 1]))
        .unwrap();
    assert!(m
        .put_floating("CallVariable1", Value::AppPathId([1, 1, 1, 1, 1]))
        .is_err());
}

/// A floating field with 2-byte tag and length (v20 and later).
fn fl(tag: u16, data: &[u8]) -> Vec<u8> {
    let mut out = tag.to_be_bytes().to_vec();
    out.extend((data.len() as u16).to_be_bytes());
    out.extend(data);
    out
}

/// A floating field with 1-byte tag and length (before v20).
fn fl1(tag: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![tag, data.len() as u8];
    out.extend(data);
    out
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// CONFIG_AGENT_EVENT (237) at v24, one record: NumSkills 3 (tag 191) with
/// FltSkillGroupNumber (62, UINT) and FltSkillGroupPriority (64, USHORT); NumMRDs 2
/// (261) with FltAgentMRDID (262, UINT) and FltAgentMRDState (263, USHORT). Lists
/// printed "4 * NumSkills" etc. (DECISIONS #21) either repeated or packed.
fn config_agent_event(packed_skills: bool, packed_mrds: bool) -> Vec<u8> {
    let mut body = vec![0, 1]; // NumRecords
    body.extend(fl(191, &[0, 3]));
    let groups: [[u8; 4]; 3] = [be32(7001), be32(7002), be32(7003)];
    let prios: [[u8; 2]; 3] = [[0, 0], [0, 1], [0, 2]];
    if packed_skills {
        body.extend(fl(62, &groups.concat()));
        body.extend(fl(64, &prios.concat()));
    } else {
        for g in &groups {
            body.extend(fl(62, g));
        }
        for p in &prios {
            body.extend(fl(64, p));
        }
    }
    body.extend(fl(261, &[0, 2]));
    let mrds: [[u8; 4]; 2] = [be32(1), be32(2)];
    let states: [[u8; 2]; 2] = [[0, 3], [0, 2]];
    if packed_mrds {
        body.extend(fl(262, &mrds.concat()));
        body.extend(fl(263, &states.concat()));
    } else {
        for m in &mrds {
            body.extend(fl(262, m));
        }
        for s in &states {
            body.extend(fl(263, s));
        }
    }
    framed(237, &body)
}

fn values(m: &Message, field: &str) -> Vec<i64> {
    m.get_all(field)
        .into_iter()
        .map(|v| v.as_i64().unwrap())
        .collect()
}

#[test]
fn packed_lists_read_like_repeated_ones_and_re_encode_as_received() {
    use cce::cti::codec::{json, DecodeOptions, MessageRef, PackedRun};

    let repeated = config_agent_event(false, false);
    let packed = config_agent_event(true, true);
    // Hand-checked sizes: 2 + 6 + 3*8 + 3*6 + 6 + 2*8 + 2*6 repeated; packed saves the
    // headers of the extra elements.
    assert_eq!(repeated.len(), 8 + 2 + 6 + 24 + 18 + 6 + 16 + 12);
    assert_eq!(packed.len(), 8 + 2 + 6 + 16 + 10 + 6 + 12 + 8);

    let r = decode(&repeated, 24).unwrap();
    let p = decode(&packed, 24).unwrap();
    for m in [&r, &p] {
        assert_eq!(values(m, "FltSkillGroupNumber"), [7001, 7002, 7003]);
        assert_eq!(values(m, "FltSkillGroupPriority"), [0, 1, 2]);
        assert_eq!(values(m, "FltAgentMRDID"), [1, 2]);
        assert_eq!(values(m, "FltAgentMRDState"), [3, 2]);
        assert_eq!(m.floating().len(), 2 + 3 + 3 + 2 + 2);
    }
    assert!(r.packed_runs().is_empty());
    // Floating order: NumSkills, 3 numbers, 3 priorities, NumMRDs, 2 ids, 2 states.
    assert_eq!(
        p.packed_runs(),
        [
            PackedRun { start: 1, len: 3 },
            PackedRun { start: 4, len: 3 },
            PackedRun { start: 8, len: 2 },
            PackedRun { start: 10, len: 2 },
        ]
    );
    assert_ne!(r, p, "the wire form is part of the message");
    assert_eq!(
        json::to_json(&r),
        json::to_json(&p),
        "JSON does not show packing"
    );

    assert_eq!(&encode(&r, 24).unwrap()[..], &repeated[..]);
    assert_eq!(&encode(&p, 24).unwrap()[..], &packed[..]);
    // One list packed, the other repeated.
    let mixed = config_agent_event(true, false);
    assert_eq!(
        &encode(&decode(&mixed, 24).unwrap(), 24).unwrap()[..],
        &mixed[..]
    );
    // Built from JSON, the lists go out one field per element (in printed order).
    let rebuilt = json::from_json(&json::to_json(&p), 24).unwrap();
    let canonical = decode(&encode(&rebuilt, 24).unwrap(), 24).unwrap();
    assert!(canonical.packed_runs().is_empty());
    assert_eq!(canonical.floating().len(), p.floating().len());
    assert_eq!(json::to_json(&canonical), json::to_json(&p));

    // The borrowed view gives one item per element as well.
    let view = MessageRef::parse(237, &packed[8..], 24, DecodeOptions::default()).unwrap();
    assert_eq!(view.fields().count(), p.floating().len());
    let numbers: Vec<u32> = view
        .fields()
        .filter(|f| f.field.is_some_and(|x| x.name == "FltSkillGroupNumber"))
        .filter_map(|f| f.u32())
        .collect();
    assert_eq!(numbers, [7001, 7002, 7003]);
    assert_eq!(view.to_owned_message().unwrap(), p);
}

#[test]
fn packed_lists_are_counted_by_elements() {
    // NumSkills says 2, the packed field holds 3 elements.
    let mut body = vec![0, 1];
    body.extend(fl(191, &[0, 2]));
    body.extend(fl(62, &[be32(1), be32(2), be32(3)].concat()));
    assert!(matches!(
        decode(&framed(237, &body), 24),
        Err(CodecError::CountMismatch {
            count_field: "NumSkills",
            declared: 2,
            present: 3,
            ..
        })
    ));
    // Two packed elements plus one repeated field: 3 elements, as NumSkills 3 says.
    let mut body = vec![0, 1];
    body.extend(fl(191, &[0, 3]));
    body.extend(fl(62, &[be32(1), be32(2)].concat()));
    body.extend(fl(62, &be32(3)));
    let wire = framed(237, &body);
    let m = decode(&wire, 24).unwrap();
    assert_eq!(values(&m, "FltSkillGroupNumber"), [1, 2, 3]);
    assert_eq!(&encode(&m, 24).unwrap()[..], &wire[..]);
    // A length that is not a multiple of the element size is still an error.
    let mut body = vec![0, 1];
    body.extend(fl(191, &[0, 1]));
    body.extend(fl(62, &[0, 0, 0, 1, 0, 0]));
    assert!(matches!(
        decode(&framed(237, &body), 24),
        Err(CodecError::BadFieldLength {
            field: "FltSkillGroupNumber",
            length: 6,
            ..
        })
    ));
    // Lists not printed as "N * size" are not split: AGENT_STATE_EVENT's
    // FltSkillGroupNumber (INT, counted by NumFltSkillGroups) stays one element each.
    let spec = spec::message_by_name("AGENT_STATE_EVENT").unwrap();
    let (_, f) = spec.float_by_name("FltSkillGroupNumber").unwrap();
    assert!(!f.packed);
}

#[test]
fn config_service_event_members_packed_with_one_byte_framing_at_v19() {
    // CONFIG_SERVICE_EVENT (235): NumRecords 1; NumServiceMembers (186) 3; ServiceMember
    // (187, "4* NumServiceMembers") and ServicePriority (188, "2* NumServiceMembers").
    let members = [be32(10), be32(11), be32(12)].concat();
    let prios = [0u8, 1, 0, 2, 0, 3];
    let packed = framed(
        235,
        &cat(&[
            vec![0, 1],
            fl1(186, &[0, 3]),
            fl1(187, &members),
            fl1(188, &prios),
        ]),
    );
    let repeated = framed(
        235,
        &cat(&[
            vec![0, 1],
            fl1(186, &[0, 3]),
            fl1(187, &members[0..4]),
            fl1(187, &members[4..8]),
            fl1(187, &members[8..12]),
            fl1(188, &prios[0..2]),
            fl1(188, &prios[2..4]),
            fl1(188, &prios[4..6]),
        ]),
    );
    for wire in [&packed, &repeated] {
        let m = decode(wire, 19).unwrap();
        assert_eq!(values(&m, "ServiceMember"), [10, 11, 12]);
        assert_eq!(values(&m, "ServicePriority"), [1, 2, 3]);
        assert_eq!(&encode(&m, 19).unwrap()[..], &wire[..]);
    }
}

#[test]
fn config_terminal_event_instruments_packed_as_64_byte_slots() {
    use cce::cti::codec::{decode_frame, frame::split_frame, DecodeOptions};

    // CONFIG_TERMINAL_EVENT (276, v25): NumRecords 1, NumInstruments (305) 2, Instrument
    // (tag 6, STRING 64) as an array of NumInstruments (DECISIONS #21): either two
    // fields, or one field of 2 * 64 bytes, each slot NUL-padded.
    let slot = |text: &[u8]| {
        let mut s = text.to_vec();
        s.resize(64, 0);
        s
    };
    let head = cat(&[vec![0, 1], fl(305, &[0, 2])]);
    let packed = framed(
        276,
        &cat(&[head.clone(), fl(6, &cat(&[slot(b"5001"), slot(b"5002")]))]),
    );
    let repeated = framed(
        276,
        &cat(&[head.clone(), fl(6, b"5001\0"), fl(6, b"5002\0")]),
    );
    for wire in [&packed, &repeated] {
        // Strict reading too: a packed field longer than one element's maximum is fine.
        let m = decode(wire, 25).unwrap();
        let names: Vec<&str> = m
            .get_all("Instrument")
            .into_iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(names, ["5001", "5002"]);
        assert_eq!(&encode(&m, 25).unwrap()[..], &wire[..]);
    }
    // Not a multiple of 64: an over-long single string (refused strictly, read as one
    // string tolerantly, where NumInstruments must then say 1).
    let long = vec![b'7'; 100];
    let one = cat(&[vec![0, 1], fl(305, &[0, 1]), fl(6, &long)]);
    assert!(matches!(
        decode(&framed(276, &one), 25),
        Err(CodecError::FieldTooLong { .. })
    ));
    let frame = split_frame(&framed(276, &one)).unwrap();
    let m = decode_frame(&frame, 25, DecodeOptions::tolerant()).unwrap();
    assert_eq!(m.get_all("Instrument").len(), 1);
    // Every slot is checked for ASCII.
    let mut bad = slot(b"5002");
    bad[1] = 0xC3;
    let wire = framed(276, &cat(&[head, fl(6, &cat(&[slot(b"5001"), bad]))]));
    assert!(matches!(
        decode(&wire, 25),
        Err(CodecError::NonAscii {
            field: "Instrument",
            ..
        })
    ));
}

#[test]
fn flt_enabled_services_packed_in_set_agent_service_data_req() {
    // SET_AGENT_SERVICE_DATA_REQ (283, v24): five UINTs, NumOfEnabledServices (310) 2,
    // FltEnabledServices (309, "2* NumOfEnabledServices") packed as 00 01 00 02.
    let mut body = Vec::new();
    for v in [1u32, 152_234, 17, 1, 5001] {
        body.extend(be32(v));
    }
    body.extend(fl(310, &[0, 2]));
    body.extend(fl(309, &[0, 1, 0, 2]));
    let wire = framed(283, &body);
    let m = decode(&wire, 24).unwrap();
    assert_eq!(values(&m, "FltEnabledServices"), [1, 2]);
    assert_eq!(&encode(&m, 24).unwrap()[..], &wire[..]);
}
