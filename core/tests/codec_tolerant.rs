//! Strict and tolerant readings (issue 14, item 1) and the received floating-field
//! order through JSON (item 2), on bytes written by hand from the data sheet
//! (messages.json): count fields that disagree with the fields they count, and a
//! known field whose length does not fit its type.

use cce::cti::codec::{
    decode, decode_with_options, encode, json, CodecError, DecodeOptions, MessageRef, Value,
};

fn be32(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

fn be16(v: u16) -> [u8; 2] {
    v.to_be_bytes()
}

/// A v20+ floating field: 2-byte tag, 2-byte length, data.
fn fl(tag: u16, data: &[u8]) -> Vec<u8> {
    let mut out = be16(tag).to_vec();
    out.extend(be16(data.len() as u16));
    out.extend(data);
    out
}

fn framed(msg_type: u32, body: &[u8]) -> Vec<u8> {
    let mut out = be32(body.len() as u32).to_vec();
    out.extend(be32(msg_type));
    out.extend(body);
    out
}

/// Strict refuses with a CountMismatch on `count`; tolerant accepts and flags it; the
/// view agrees in both modes; re-encoding (directly and through JSON, in every binding's
/// form) gives the received bytes.
fn tolerated_count(wire: &[u8], count: &str) -> cce::cti::codec::Message {
    let strict = decode(wire, 24);
    assert!(
        matches!(&strict, Err(CodecError::CountMismatch { count_field, .. }) if *count_field == count),
        "{strict:?}"
    );
    let msg_type = u32::from_be_bytes([wire[4], wire[5], wire[6], wire[7]]);
    assert!(MessageRef::parse(msg_type, &wire[8..], 24, DecodeOptions::strict()).is_err());
    assert!(MessageRef::parse(msg_type, &wire[8..], 24, DecodeOptions::tolerant()).is_ok());
    let m = decode_with_options(wire, 24, DecodeOptions::tolerant()).expect("tolerant");
    assert_eq!(m.warnings().len(), 1, "{:?}", m.warnings());
    assert!(m.warnings()[0].contains(count), "{:?}", m.warnings());
    assert_eq!(&encode(&m, 24).expect("re-encode")[..], wire);
    let j = json::to_json(&m);
    assert!(
        j["_warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains(count)),
        "{j}"
    );
    let back = json::from_json_str(&j.to_string(), 24).expect("from JSON");
    assert_eq!(&encode(&back, 24).expect("JSON re-encode")[..], wire);
    m
}

#[test]
fn num_named_variables_1029_with_one_named_variable() {
    // CALL_TRANSLATION_ROUTE_EVENT (22): NumNamedVariables USHORT 1029, NumNamedArrays 0;
    // DNIS[10] "5000", RouterCallKeyDay[72] 1, RouterCallKeyCallID[73] 2,
    // RouterCallKeySequenceNumber[110] 3, NamedVariable[82] "user.a\0x\0".
    let mut body = be16(1029).to_vec();
    body.extend(be16(0));
    body.extend(fl(10, b"5000\0"));
    body.extend(fl(72, &be32(1)));
    body.extend(fl(73, &be32(2)));
    body.extend(fl(110, &be32(3)));
    body.extend(fl(82, b"user.a\0x\0"));
    let m = tolerated_count(&framed(22, &body), "NumNamedVariables");
    assert_eq!(
        m.u32("NumNamedVariables"),
        Some(1029),
        "declared count as received"
    );
    assert_eq!(m.get_all("NamedVariable").len(), 1);
}

#[test]
fn num_calls_larger_than_the_calls_present() {
    // SNAPSHOT_DEVICE_CONF (85): InvokeID 9, NumCalls 3; one call: CallConnectionCallID[56]
    // 77, CallConnectionDeviceIDType[57] 0, CallConnectionDeviceID[58] "5001", CallState[75] 3.
    let mut body = be32(9).to_vec();
    body.extend(be16(3));
    body.extend(fl(56, &be32(77)));
    body.extend(fl(57, &be16(0)));
    body.extend(fl(58, b"5001\0"));
    body.extend(fl(75, &be16(3)));
    let m = tolerated_count(&framed(85, &body), "NumCalls");
    assert_eq!(m.u32("NumCalls"), Some(3));
    assert_eq!(m.u32("CallConnectionCallID"), Some(77));
}

#[test]
fn number_of_agent_teams_zero_with_teams_present() {
    // LIST_AGENT_TEAM_CONF (134): InvokeID 4, NumberOfAgentTeams 0, SegmentNumber 1,
    // More 0; two TeamID[92] 11 and 12.
    let mut body = be32(4).to_vec();
    body.extend(be16(0));
    body.extend(be16(1));
    body.extend(be16(0));
    body.extend(fl(92, &be32(11)));
    body.extend(fl(92, &be32(12)));
    let m = tolerated_count(&framed(134, &body), "NumberOfAgentTeams");
    assert_eq!(m.u32("NumberOfAgentTeams"), Some(0));
    assert_eq!(m.get_all("TeamID").len(), 2);
}

#[test]
fn floating_num_peripherals_disagreeing_with_the_list() {
    // OPEN_CONF (4): InvokeID 1, ServicesGranted 0, MonitorID 0, PGStatus 0,
    // ICMCentralControllerTime 0, PeripheralOnline 1, PeripheralType 0, AgentState 0,
    // DepartmentID 0, SessionType 1 (32 bytes); AgentExtension[4] "", AgentID[5] "",
    // AgentInstrument[6] "", NumPeripherals[228] 2, one FltPeripheralID[208] 5000 and one
    // MultilineAgentControl[224] 0.
    let mut body = be32(1).to_vec();
    body.extend([0u8; 16]);
    body.extend(be16(1));
    body.extend(be16(0));
    body.extend(be16(0));
    body.extend(be32(0));
    body.extend(be16(1));
    assert_eq!(body.len(), 32);
    body.extend(fl(4, b"\0"));
    body.extend(fl(5, b"\0"));
    body.extend(fl(6, b"\0"));
    body.extend(fl(228, &be16(2)));
    body.extend(fl(208, &be32(5000)));
    body.extend(fl(224, &be16(0)));
    let m = tolerated_count(&framed(4, &body), "NumPeripherals");
    assert_eq!(m.u32("NumPeripherals"), Some(2));
}

#[test]
fn sending_port_as_a_twelve_byte_string_is_kept_raw() {
    // RTP_STOPPED_EVENT (117): MonitorID 0, PeripheralID 5000, ClientPort 0, Direction 0,
    // ConnectionDeviceIDType 0, ConnectionCallID 7 (20 bytes); ConnectionDeviceID[25]
    // "5001", ClientAddress[81] "10.0.0.1", SendingAddress[125] "10.0.0.2", and
    // SendingPort[126] sent as the 12-byte string "16384\0\0\0\0\0\0\0" instead of a UINT.
    let mut body = be32(0).to_vec();
    body.extend(be32(5000));
    body.extend(be32(0));
    body.extend(be16(0));
    body.extend(be16(0));
    body.extend(be32(7));
    body.extend(fl(25, b"5001\0"));
    body.extend(fl(81, b"10.0.0.1\0"));
    body.extend(fl(125, b"10.0.0.2\0"));
    let port = b"16384\0\0\0\0\0\0\0";
    body.extend(fl(126, port));
    let wire = framed(117, &body);

    assert!(matches!(
        decode(&wire, 24),
        Err(CodecError::BadFieldLength {
            field: "SendingPort",
            length: 12,
            ..
        })
    ));
    assert!(MessageRef::parse(117, &wire[8..], 24, DecodeOptions::strict()).is_err());
    let view = MessageRef::parse(117, &wire[8..], 24, DecodeOptions::tolerant()).expect("view");
    assert_eq!(view.field("SendingPort").map(|f| f.data), Some(&port[..]));

    let m = decode_with_options(&wire, 24, DecodeOptions::tolerant()).expect("tolerant");
    assert_eq!(
        m.get("SendingPort"),
        Some(&Value::Unspec(port[..].to_vec().into()))
    );
    assert_eq!(m.warnings().len(), 1);
    assert!(
        m.warnings()[0].starts_with("SendingPort: 12 bytes"),
        "{:?}",
        m.warnings()
    );
    assert_eq!(
        m.str("ConnectionDeviceID"),
        Some("5001"),
        "the rest is read"
    );
    assert_eq!(&encode(&m, 24).expect("re-encode")[..], &wire[..]);

    let j = json::to_json(&m);
    assert_eq!(j["SendingPort"]["_raw"], "313633383400000000000000", "{j}");
    let back = json::from_json_str(&j.to_string(), 24).expect("from JSON");
    assert_eq!(&encode(&back, 24).expect("JSON re-encode")[..], &wire[..]);
}

#[test]
fn the_received_floating_order_survives_the_json_round_trip() {
    // QUERY_AGENT_STATE_REQ (36): InvokeID 1, PeripheralID 5000, MRDID 1, ICMAgentID 0;
    // then AgentID[5] "1001", AgentExtension[4] "5001", AgentInstrument[6] "5001"
    // (the data sheet prints AgentExtension first).
    let mut body = be32(1).to_vec();
    body.extend(be32(5000));
    body.extend(be32(1));
    body.extend(be32(0));
    body.extend(fl(5, b"1001\0"));
    body.extend(fl(4, b"5001\0"));
    body.extend(fl(6, b"5001\0"));
    let wire = framed(36, &body);
    let m = decode(&wire, 24).expect("strict decode");
    assert_eq!(&encode(&m, 24).expect("encode")[..], &wire[..]);
    let j = json::to_json(&m);
    assert_eq!(
        j["_order"],
        serde_json::json!(["AgentID", "AgentExtension", "AgentInstrument"])
    );
    let back = json::from_json_str(&j.to_string(), 24).expect("from JSON");
    assert_eq!(&encode(&back, 24).expect("JSON re-encode")[..], &wire[..]);

    // The data sheet's order needs no `_order` key.
    let mut body = be32(1).to_vec();
    body.extend(be32(5000));
    body.extend(be32(1));
    body.extend(be32(0));
    body.extend(fl(4, b"5001\0"));
    body.extend(fl(5, b"1001\0"));
    body.extend(fl(6, b"5001\0"));
    let plain = json::to_json(&decode(&framed(36, &body), 24).expect("decode"));
    assert!(plain.get("_order").is_none(), "{plain}");

    // An unknown tag in the middle keeps its place too.
    let mut body = be32(1).to_vec();
    body.extend(be32(5000));
    body.extend(be32(1));
    body.extend(be32(0));
    body.extend(fl(4, b"5001\0"));
    body.extend(fl(999, &[1, 2, 3]));
    body.extend(fl(5, b"1001\0"));
    body.extend(fl(6, b"5001\0"));
    let wire = framed(36, &body);
    let j = json::to_json(&decode(&wire, 24).expect("decode"));
    let back = json::from_json_str(&j.to_string(), 24).expect("from JSON");
    assert_eq!(
        &encode(&back, 24).expect("JSON re-encode")[..],
        &wire[..],
        "{j}"
    );
}
