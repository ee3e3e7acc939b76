"""Issue 14 regressions seen from Python: strict and tolerant decoding, the received
floating-field order through JSON, heartbeats on by default, and a secret that never
appears in a configuration error. Bytes are written by hand from the data sheet."""

from __future__ import annotations

import socket
import struct
import threading

import libcce
import pytest


def fl(tag: int, data: bytes) -> bytes:
    """A v20+ floating field: 2-byte tag, 2-byte length, data."""
    return struct.pack(">HH", tag, len(data)) + data


def framed(msg_type: int, body: bytes) -> bytes:
    return struct.pack(">II", len(body), msg_type) + body


# CALL_TRANSLATION_ROUTE_EVENT (22): NumNamedVariables 1029, NumNamedArrays 0; DNIS[10],
# RouterCallKeyDay[72], RouterCallKeyCallID[73], RouterCallKeySequenceNumber[110], and a
# single NamedVariable[82].
NAMED_VARS_1029 = framed(
    22,
    struct.pack(">HH", 1029, 0)
    + fl(10, b"5000\0")
    + fl(72, struct.pack(">I", 1))
    + fl(73, struct.pack(">I", 2))
    + fl(110, struct.pack(">I", 3))
    + fl(82, b"user.a\0x\0"),
)

# SNAPSHOT_DEVICE_CONF (85): InvokeID 9, NumCalls 2, the fields of one call.
NUM_CALLS_2 = framed(
    85,
    struct.pack(">IH", 9, 2)
    + fl(56, struct.pack(">I", 77))
    + fl(57, struct.pack(">H", 0))
    + fl(58, b"5001\0")
    + fl(75, struct.pack(">H", 3)),
)

# RTP_STOPPED_EVENT (117): SendingPort[126] as a 12-byte string instead of a UINT.
PORT_AS_TEXT = b"16384\0\0\0\0\0\0\0"
SENDING_PORT_STRING = framed(
    117,
    struct.pack(">IIIHHI", 0, 5000, 0, 0, 0, 7)
    + fl(25, b"5001\0")
    + fl(81, b"10.0.0.1\0")
    + fl(125, b"10.0.0.2\0")
    + fl(126, PORT_AS_TEXT),
)


@pytest.mark.parametrize(
    "wire, count",
    [(NAMED_VARS_1029, "NumNamedVariables"), (NUM_CALLS_2, "NumCalls")],
)
def test_count_mismatch_is_strict_by_default_and_kept_when_tolerant(wire: bytes, count: str) -> None:
    with pytest.raises(libcce.CodecError, match=count):
        libcce.decode(wire, 24)
    with pytest.raises(libcce.CodecError):
        libcce.decode(wire, 24, strict=True)
    msg = libcce.decode(wire, 24, strict=False)
    assert msg[count] == (1029 if count == "NumNamedVariables" else 2)
    assert len(msg["_warnings"]) == 1 and count in msg["_warnings"][0]
    assert libcce.encode(msg, 24) == wire


def test_wrongly_sized_field_is_kept_raw_under_its_name() -> None:
    with pytest.raises(libcce.CodecError, match="SendingPort"):
        libcce.decode(SENDING_PORT_STRING, 24)
    msg = libcce.decode(SENDING_PORT_STRING, 24, strict=False)
    assert msg["SendingPort"] == {"_raw": PORT_AS_TEXT.hex()}
    assert msg["ConnectionDeviceID"] == "5001"
    assert msg["_warnings"][0].startswith("SendingPort")
    assert libcce.encode(msg, 24) == SENDING_PORT_STRING


def test_received_floating_order_survives_json() -> None:
    # QUERY_AGENT_STATE_REQ (36) with AgentID before AgentExtension (the sheet's order
    # is AgentExtension, AgentID, AgentInstrument).
    wire = framed(
        36,
        struct.pack(">IIii", 1, 5000, 1, 0)
        + fl(5, b"1001\0")
        + fl(4, b"5001\0")
        + fl(6, b"5001\0"),
    )
    msg = libcce.decode(wire, 24)
    assert msg["_order"] == ["AgentID", "AgentExtension", "AgentInstrument"]
    assert libcce.encode(msg, 24) == wire


def serve_one_open(received: list[bytes], ready: threading.Event, listener: socket.socket) -> None:
    """Accepts one client, records its OPEN_REQ, answers OPEN_CONF, then waits for EOF."""
    listener.settimeout(10)
    conn, _ = listener.accept()
    with conn:
        conn.settimeout(10)
        head = b""
        while len(head) < 8:
            head += conn.recv(8 - len(head))
        (length,) = struct.unpack(">I", head[:4])
        body = b""
        while len(body) < length:
            body += conn.recv(length - len(body))
        received.append(head + body)
        req = libcce.decode(head + body, 24)
        conn.sendall(libcce.encode({"MessageName": "OPEN_CONF", "InvokeID": req["InvokeID"]}, 24))
        ready.set()
        try:
            while conn.recv(4096):
                pass
        except OSError:
            pass


@pytest.mark.parametrize("extra, idle", [({}, 360), ({"heartbeat_ms": 0}, 0xFFFFFFFF)])
def test_heartbeats_on_by_default_and_heartbeat_ms_0_turns_them_off(
    extra: dict[str, int], idle: int
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    received: list[bytes] = []
    ready = threading.Event()
    server = threading.Thread(target=serve_one_open, args=(received, ready, listener))
    server.start()
    try:
        address = "127.0.0.1:%d" % listener.getsockname()[1]
        session = libcce.CtiSession(
            {"address": address, "client_id": "t", "close_timeout_ms": 200, **extra}
        )
        assert ready.wait(10)
        session.close()
    finally:
        server.join(10)
        listener.close()
    assert libcce.decode(received[0], 24)["IdleTimeout"] == idle


def test_a_numeric_client_password_is_not_echoed() -> None:
    with pytest.raises(libcce.InvalidArgument) as e:
        libcce.CtiSession({"address": "127.0.0.1:1", "client_id": "t", "client_password": 8675309})
    assert "8675309" not in str(e.value)
    assert "client_password" in str(e.value)


def test_secrets_never_show_in_exception_texts() -> None:
    from libcce import ece

    secret, numeric = "ece-Sec-4410", 73190004410
    texts = []
    with ece.Simulator() as sim:
        for bad in (numeric, secret):
            try:
                client = ece.Client(sim.server_url, "sim-key", bad, 1001, max_retries=0)
                client.login()
            except libcce.CceError as e:
                texts.append(f"{e} {e!r} {e.code} {e.code_name}")
        for auth in ({"basic": ("ece", numeric)}, {"bearer": numeric}):
            try:
                ece.WebhookServer(**auth)
            except libcce.CceError as e:
                texts.append(f"{e} {e!r}")
    try:
        libcce.CtiSession({"address": "127.0.0.1:1", "client_id": "t", "client_password": numeric})
    except libcce.CceError as e:
        texts.append(f"{e} {e!r}")
    assert len(texts) == 5, texts
    for t in texts:
        assert secret not in t and str(numeric) not in t, t
