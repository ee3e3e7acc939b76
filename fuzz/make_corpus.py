#!/usr/bin/env python3
"""Writes the seed corpus in fuzz/corpus/<target>/ (run from anywhere).

The frames are written by hand from the data sheet layouts (like
core/tests/codec_golden.rs), not produced by the encoder, so a codec bug cannot
leak into the seeds. Each seed is a valid message at protocol version 15 (1-byte
floating tag/length) or 24 (2-byte tag/length). Input layouts per target are
described at the top of fuzz/fuzz_targets/<target>.rs.
"""

import json
import pathlib
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"


def u8(v):
    return struct.pack(">B", v)


def u16(v):
    return struct.pack(">H", v)


def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def flt(version, tag, data):
    """One floating field: 1-byte tag and length before v20, 2-byte from v20."""
    if version < 20:
        return u8(tag) + u8(len(data)) + data
    return u16(tag) + u16(len(data)) + data


def frame(msg_type, body):
    return u32(len(body)) + u32(msg_type) + body


def heartbeat_req(v):
    return frame(5, u32(7))


def close_req(v):
    return frame(7, u32(8) + u32(0))


def open_req(v):
    fixed = u32(1) + u32(v) + u32(0xFFFFFFFF) + u32(0xFFFFFFFF) + u32(5) + bytes(24)
    floating = flt(v, 1, b"ab\0") + flt(v, 2, b"") + flt(v, 5, b"1001\0")
    return frame(3, fixed + floating)


def open_conf(v):
    # InvokeID ServicesGranted MonitorID PGStatus ICMCentralControllerTime
    # PeripheralOnline PeripheralType AgentState [DepartmentID v19+] [SessionType v24+]
    fixed = u32(1) + u32(5) + u32(0) + u32(0) + u32(1_700_000_000) + u16(1) + u16(17) + u16(3)
    if v >= 19:
        fixed += u32(42)
    if v >= 24:
        fixed += u16(0)
    return frame(4, fixed)


def failure_conf_16(v):
    return frame(1, u32(9) + u32(1) + flt(v, 7, b"bad version\0"))


def failure_conf_18(v):
    # Alternative fixed part: InvokeID, FailureCode (USHORT), PeripheralErrorCode.
    return frame(1, u32(9) + u16(10) + u32(7))


def agent_state_event(v):
    f = u32(0) + u32(5000) + u32(77) + u16(17) + u16(3) + u32(0)
    f += u32(0xFFFFFFFF) + u32(0xFFFFFFFF) + u16(0) + u16(3) + u16(0)
    f += u32(1) + u32(0) + u16(1) + u32(1) + u32(0xFFFFFFFF) + u32(1) + u16(0)
    if v >= 19:
        f += u32(42)  # DepartmentID
    return frame(30, f + flt(v, 5, b"1001\0"))


def begin_call_event(v):
    # MonitorID PeripheralID PeripheralType NumCTIClients NumNamedVariables
    # NumNamedArrays CallType ConnectionDeviceIDType ConnectionCallID CalledPartyDisposition
    f = u32(0) + u32(5000) + u16(17) + u16(1) + u16(2) + u16(1) + u16(1) + u16(0)
    f += u32(0x01000001) + u16(0)
    f += flt(v, 25, b"5001\0")  # ConnectionDeviceID
    f += flt(v, 8, b"5551234\0")  # ANI
    f += flt(v, 72, u32(150_000))  # RouterCallKeyDay
    f += flt(v, 73, u32(12))  # RouterCallKeyCallID
    f += flt(v, 13, b"var one\0")  # CallVariable1
    f += flt(v, 82, b"user.x\0" + b"42\0")  # NamedVariable
    f += flt(v, 82, b"user.lang\0" + b"en\0")  # NamedVariable
    f += flt(v, 83, u8(0) + b"user.a\0" + b"v\0")  # NamedArray
    f += flt(v, 23, b"CTIClient1\0")  # CTIClientSignature
    f += flt(v, 24, u32(1_700_000_000))  # CTIClientTimestamp
    return frame(23, f)


def end_call_event(v):
    f = u32(0) + u32(5000) + u16(17) + u16(0) + u32(0x01000001)
    f += flt(v, 25, b"5001\0")
    f += flt(v, 250, b"\xab\xcd")  # a tag the catalogue does not list for this message
    return frame(24, f)


def open_req_app_path_5(v):
    # ApplicationPathID (tag 97) in the 5-byte APPPATHID form (DECISIONS #20).
    return frame(3, open_req(v)[8:] + flt(v, 97, b"\x01\x02\x03\x04\x05"))


def config_service_event_packed(v):
    # NumRecords 1; NumServiceMembers (186) 3; ServiceMember (187) packed as 3 UINTs,
    # ServicePriority (188) as 3 repeated USHORTs (DECISIONS #21).
    f = u16(1) + flt(v, 186, u16(3)) + flt(v, 187, u32(10) + u32(11) + u32(12))
    f += flt(v, 188, u16(1)) + flt(v, 188, u16(2)) + flt(v, 188, u16(3))
    return frame(235, f)


def raw_undocumented(v):
    # SUPERVISOR_ASSIST_EVENT (type 120) has no documented layout: kept raw.
    return frame(120, u32(1) + b"opaque")


MESSAGES = [
    heartbeat_req,
    close_req,
    open_req,
    open_conf,
    failure_conf_16,
    failure_conf_18,
    agent_state_event,
    begin_call_event,
    end_call_event,
    open_req_app_path_5,
    config_service_event_packed,
    raw_undocumented,
]

JSON_SEEDS = [
    {"MessageName": "HEARTBEAT_REQ", "InvokeID": 7},
    {"MessageType": 7, "InvokeID": 8, "Status": 0},
    {
        "MessageName": "OPEN_REQ",
        "InvokeID": 1,
        "VersionNumber": 24,
        "IdleTimeout": 4294967295,
        "PeripheralID": -1,
        "ServicesRequested": "CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL",
        "ClientID": "ab",
        "ClientPassword": "",
        "AgentID": "1001",
    },
    {"MessageName": "QUERY_AGENT_STATE_REQ", "InvokeID": 3, "PeripheralID": 5000, "AgentID": "1001"},
    {
        "MessageName": "BEGIN_CALL_EVENT",
        "PeripheralID": 5000,
        "ConnectionDeviceID": "5001",
        "UserToUserInfo": "00ff10",
        "NamedVariable": [{"Name": "user.x", "Value": "42"}],
        "NamedArray": [{"Index": 0, "Name": "user.a", "Value": "v"}],
        "CTIClientSignature": ["CTIClient1"],
        "_unknown": [{"tag": 250, "data": "abcd"}],
    },
    {"MessageName": "SUPERVISOR_ASSIST_EVENT", "_body": "0000000100ff"},
]


def main():
    for target in ("decode", "frame_splitter", "json"):
        d = ROOT / target
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)

    for v in (15, 24):
        ctl = u8(v - 15)
        for make in MESSAGES:
            (ROOT / "decode" / f"{make.__name__}_v{v}").write_bytes(ctl + make(v))

        # frame_splitter: [ctl] [n] [n chunk sizes] [stream]
        stream = open_req(v) + heartbeat_req(v) + begin_call_event(v) + agent_state_event(v)
        for name, sizes in (("whole", b""), ("bytewise", b"\x01"), ("ragged", b"\x03\x07\x40\x00")):
            seed = ctl + u8(len(sizes)) + sizes + stream
            (ROOT / "frame_splitter" / f"{name}_v{v}").write_bytes(seed)
        # A stream that turns bad: a header claiming 12,493 body bytes after one good frame.
        bad = heartbeat_req(v) + u32(12_493) + u32(5)
        (ROOT / "frame_splitter" / f"oversized_v{v}").write_bytes(ctl + b"\x01\x05" + bad)

        for i, j in enumerate(JSON_SEEDS):
            text = json.dumps(j, separators=(",", ":")).encode()
            (ROOT / "json" / f"seed{i}_v{v}").write_bytes(ctl + text)


if __name__ == "__main__":
    main()
