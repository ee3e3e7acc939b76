//! One golden-bytes test per message family (session, miscellaneous, call events, call
//! data, client control, monitor, supervisor, configuration) at v15 and v24. Every byte
//! below was written by hand from the data sheet's field tables, not by the encoder.

use cce::cti::codec::{decode, encode, Message};

/// Header + body: MessageLength (body only) and MessageType, big-endian.
fn frame(msg_type: u32, body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u32).to_be_bytes().to_vec();
    v.extend(msg_type.to_be_bytes());
    v.extend(body);
    v
}

/// A floating field: 1-byte tag/length below v20, 2-byte from v20.
fn fl(version: u32, tag: u16, data: &[u8]) -> Vec<u8> {
    let mut v = if version < 20 {
        vec![tag as u8, data.len() as u8]
    } else {
        let mut h = tag.to_be_bytes().to_vec();
        h.extend((data.len() as u16).to_be_bytes());
        h
    };
    v.extend(data);
    v
}

fn both_ways(m: &Message, wire: &[u8], version: u32) {
    assert_eq!(
        &encode(m, version).unwrap()[..],
        wire,
        "{} encode v{version}",
        m.name()
    );
    assert_eq!(
        &decode(wire, version).unwrap(),
        m,
        "{} decode v{version}",
        m.name()
    );
}

#[test]
fn session_close_req() {
    // CLOSE_REQ (7): InvokeID 0x11, Status 0 (E_CTI_NO_ERROR). No floating part.
    let wire = [0, 0, 0, 8, 0, 0, 0, 7, 0, 0, 0, 0x11, 0, 0, 0, 0];
    for v in [15, 24] {
        let mut m = Message::new("CLOSE_REQ", v).unwrap();
        m.set_int("InvokeID", 0x11).unwrap();
        both_ways(&m, &wire, v);
    }
}

#[test]
fn miscellaneous_system_event() {
    // SYSTEM_EVENT (31): PGStatus 0, ICMCentralControllerTime 0x5F5E1000, SystemEventID 4,
    // Arg1..3 = 1, 2, 3, EventDeviceType 0xFFFF; Text "PG up" (tag 7).
    for v in [15, 24] {
        let mut body = vec![0, 0, 0, 0, 0x5F, 0x5E, 0x10, 0x00, 0, 0, 0, 4];
        body.extend([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xFF, 0xFF]);
        body.extend(fl(v, 7, b"PG up\0"));
        let wire = frame(31, &body);
        let mut m = Message::new("SYSTEM_EVENT", v).unwrap();
        m.set_int("ICMCentralControllerTime", 0x5F5E_1000).unwrap();
        for (f, x) in [
            ("SystemEventID", 4),
            ("SystemEventArg1", 1),
            ("SystemEventArg2", 2),
        ] {
            m.set_int(f, x).unwrap();
        }
        m.set_int("SystemEventArg3", 3).unwrap();
        m.set_int("EventDeviceType", 0xFFFF).unwrap();
        m.set_str("Text", "PG up").unwrap();
        both_ways(&m, &wire, v);
    }
}

#[test]
fn client_control_answer_call_and_control_failure() {
    // ANSWER_CALL_REQ (42): InvokeID 2, PeripheralID 5000, ConnectionCallID 0x01000001,
    // ConnectionDeviceIDType 0 (static); ConnectionDeviceID "5001" (tag 25),
    // AgentInstrument "5001" (tag 6).
    for v in [15, 24] {
        let mut body = vec![0, 0, 0, 2, 0, 0, 0x13, 0x88, 1, 0, 0, 1, 0, 0];
        body.extend(fl(v, 25, b"5001\0"));
        body.extend(fl(v, 6, b"5001\0"));
        let wire = frame(42, &body);
        let mut m = Message::new("ANSWER_CALL_REQ", v).unwrap();
        m.set_int("InvokeID", 2).unwrap();
        m.set_int("PeripheralID", 5000).unwrap();
        m.set_int("ConnectionCallID", 0x0100_0001).unwrap();
        m.set_str("ConnectionDeviceID", "5001").unwrap();
        m.set_str("AgentInstrument", "5001").unwrap();
        both_ways(&m, &wire, v);
    }
    // CONTROL_FAILURE_CONF (35): InvokeID 2, FailureCode USHORT 12, PeripheralErrorCode 99.
    let wire = [0, 0, 0, 10, 0, 0, 0, 35, 0, 0, 0, 2, 0, 12, 0, 0, 0, 99];
    for v in [15, 24] {
        let m = decode(&wire, v).unwrap();
        assert_eq!(m.u32("FailureCode"), Some(12));
        assert_eq!(m.u32("PeripheralErrorCode"), Some(99));
        assert_eq!(&encode(&m, v).unwrap()[..], &wire[..]);
    }
}

#[test]
fn call_data_update_event() {
    // CALL_DATA_UPDATE_EVENT (25): 40-byte fixed part; CallVariable1 "x" (tag 13) and a
    // NAMEDARRAY (tag 83): index 2, "arr\0", "v\0" = 7 bytes.
    for v in [15, 24] {
        let mut body = vec![0, 0, 0, 0]; // MonitorID
        body.extend([0, 0, 0x13, 0x88]); // PeripheralID 5000
        body.extend([0, 17]); // PeripheralType
        body.extend([0, 0]); // NumCTIClients
        body.extend([0, 0]); // NumNamedVariables
        body.extend([0, 1]); // NumNamedArrays
        body.extend([0, 1]); // CallType ACD_IN
        body.extend([0, 0]); // ConnectionDeviceIDType
        body.extend([1, 0, 0, 1]); // ConnectionCallID
        body.extend([0xFF, 0xFF]); // NewConnectionDeviceIDType (none)
        body.extend([0xFF, 0xFF, 0xFF, 0xFF]); // NewConnectionCallID (NULL_CALL_ID)
        body.extend([0, 0]); // CalledPartyDisposition
        body.extend([0, 0, 0, 0, 0, 0, 0, 0]); // CampaignID, QueryRuleID
        assert_eq!(body.len(), 40);
        body.extend(fl(v, 13, b"x\0"));
        body.extend(fl(v, 83, &[2, b'a', b'r', b'r', 0, b'v', 0]));
        let wire = frame(25, &body);
        let mut m = Message::new("CALL_DATA_UPDATE_EVENT", v).unwrap();
        m.set_int("PeripheralID", 5000).unwrap();
        m.set_int("PeripheralType", 17).unwrap();
        m.set_int("CallType", 1).unwrap();
        m.set_int("ConnectionCallID", 0x0100_0001).unwrap();
        m.set_int("NewConnectionDeviceIDType", 0xFFFF).unwrap();
        m.set_int("NewConnectionCallID", 0xFFFF_FFFF).unwrap();
        m.set_str("CallVariable1", "x").unwrap();
        m.add_named_array(2, "arr", "v").unwrap();
        both_ways(&m, &wire, v);
    }
}

#[test]
fn monitor_start_req() {
    // MONITOR_START_REQ (93): InvokeID 3, PeripheralID 5000, ConnectionCallID 0,
    // CallMsgMask 0xFFFF, AgentStateMask 0x3FFF, ConnectionDeviceIDType 0xFFFF,
    // MonitoredDeviceType 0; MonitoredDeviceID "5001" (tag 76).
    for v in [15, 24] {
        let mut body = vec![0, 0, 0, 3, 0, 0, 0x13, 0x88, 0, 0, 0, 0];
        body.extend([0, 0, 0xFF, 0xFF, 0, 0, 0x3F, 0xFF, 0xFF, 0xFF, 0, 0]);
        body.extend(fl(v, 76, b"5001\0"));
        let wire = frame(93, &body);
        let mut m = Message::new("MONITOR_START_REQ", v).unwrap();
        m.set_int("InvokeID", 3).unwrap();
        m.set_int("PeripheralID", 5000).unwrap();
        m.set_int("CallMsgMask", 0xFFFF).unwrap();
        m.set_int("AgentStateMask", 0x3FFF).unwrap();
        m.set_int("ConnectionDeviceIDType", 0xFFFF).unwrap();
        m.set_str("MonitoredDeviceID", "5001").unwrap();
        both_ways(&m, &wire, v);
    }
}

#[test]
fn supervisor_supervise_call_req() {
    // SUPERVISE_CALL_REQ (124): InvokeID 4, PeripheralID 5000, AgentConnectionCallID 7,
    // SupervisorConnectionCallID 0xFFFFFFFF, AgentConnectionDeviceIDType 0,
    // SupervisorConnectionDeviceIDType 0xFFFF, SupervisoryAction 1;
    // AgentConnectionDeviceID "5001" (tag 90), SupervisorInstrument "6001" (tag 85).
    for v in [15, 24] {
        let mut body = vec![
            0, 0, 0, 4, 0, 0, 0x13, 0x88, 0, 0, 0, 7, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        body.extend([0, 0, 0xFF, 0xFF, 0, 1]);
        body.extend(fl(v, 90, b"5001\0"));
        body.extend(fl(v, 85, b"6001\0"));
        let wire = frame(124, &body);
        let mut m = Message::new("SUPERVISE_CALL_REQ", v).unwrap();
        m.set_int("InvokeID", 4).unwrap();
        m.set_int("PeripheralID", 5000).unwrap();
        m.set_int("AgentConnectionCallID", 7).unwrap();
        m.set_int("SupervisorConnectionCallID", 0xFFFF_FFFF)
            .unwrap();
        m.set_int("SupervisorConnectionDeviceIDType", 0xFFFF)
            .unwrap();
        m.set_int("SupervisoryAction", 1).unwrap();
        m.set_str("AgentConnectionDeviceID", "5001").unwrap();
        m.set_str("SupervisorInstrument", "6001").unwrap();
        both_ways(&m, &wire, v);
    }
}

#[test]
fn configuration_mrd_event_exists_from_v20_only() {
    // CONFIG_MRD_EVENT (254), v24: NumRecords 2; per record RecordType (tag 183) and
    // FltMRDomainID (tag 216), records interleaved as a server sends them.
    let mut body = vec![0, 2];
    body.extend(fl(24, 183, &[0, 1]));
    body.extend(fl(24, 216, &[0, 0, 0, 1]));
    body.extend(fl(24, 183, &[0, 1]));
    body.extend(fl(24, 216, &[0, 0, 0, 2]));
    let wire = frame(254, &body);
    let m = decode(&wire, 24).unwrap();
    assert_eq!(m.get_all("FltMRDomainID").len(), 2);
    assert_eq!(
        &encode(&m, 24).unwrap()[..],
        &wire[..],
        "interleaved order is kept"
    );
    // v15 predates the message: encoding refuses it.
    assert!(Message::new("CONFIG_MRD_EVENT", 15).is_err());
}
