"""GC field hardening (issue 14 items 5-9 and 14) through the Python binding.

Most tests run offline against a scripted STOMP peer (a few lines of socket code
that answers CONNECT/receipts and publishes what the test tells it to); the
simulator tests need ActiveMQ (`make test-gc`).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from typing import Optional

import pytest

import libcce
from libcce.gc import GcSession, GcSimulator, encode_command, parse_event

ADDR = os.environ.get("CCE_STOMP_ADDR")
needs_broker = pytest.mark.skipif(
    not ADDR, reason="CCE_STOMP_ADDR not set: run `make test-gc` to test against ActiveMQ"
)

SECRET = "Kn0wn-S3cret"


class ScriptedBroker:
    """One STOMP connection: CONNECTED, RECEIPT for every receipt header, and MESSAGE
    frames on demand. Records every SEND."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.addr = "127.0.0.1:%d" % self._listener.getsockname()[1]
        self._conn: Optional[socket.socket] = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self.sends: list[tuple[str, str]] = []
        self._n = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.sendall(data)

    def _serve(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        self._conn = conn
        buf = b""
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                raw = raw.lstrip(b"\r\n")
                if not raw:
                    continue
                head, _, body = raw.partition(b"\n\n")
                lines = head.decode().split("\n")
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    headers.setdefault(k, v)
                if lines[0] == "CONNECT":
                    self._write(b"CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0")
                elif lines[0] == "SEND":
                    self.sends.append((headers.get("type", ""), body.decode()))
                if "receipt" in headers:
                    self._write(b"RECEIPT\nreceipt-id:%s\n\n\0" % headers["receipt"].encode())
                if lines[0] == "SUBSCRIBE":
                    self._ready.set()

    def publish(self, body: str, jms_type: str = "") -> None:
        assert self._ready.wait(10)
        self._n += 1
        typ = b"type:%s\n" % jms_type.encode() if jms_type else b""
        self._write(
            b"MESSAGE\ndestination:/topic/t\nsubscription:sub-0\nmessage-id:m-%d\n%s\n%s\0"
            % (self._n, typ, body.encode())
        )

    def kill(self) -> None:
        """The broker goes away: connection and listener closed."""
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self._conn.close()
                self._conn = None
        self._listener.close()

    def sent(self, command: str) -> list[tuple[str, str]]:
        return [s for s in self.sends if s[0].split("#")[0] == command]


def session(broker: ScriptedBroker) -> GcSession:
    gc = GcSession(
        brokers=broker.addr,
        destination=f"py-{uuid.uuid4().hex[:8]}",
        stomp_heartbeat_ms=0,
        reconnect_min_ms=50,
        reconnect_max_ms=100,
    )
    broker.publish("System#IN_SERVICE")
    gc.wait_for("System")
    return gc


def notice(name: str, **fields: object):
    return lambda e: e.get("event") == "Notice" and e.get("notice") == name and all(
        e.get(k) == v for k, v in fields.items()
    )


def test_transfer_needs_an_active_consult_on_the_same_dialog() -> None:
    broker = ScriptedBroker()
    with session(broker) as gc:
        with pytest.raises(libcce.InvalidArgument, match="no active ConsultCall"):
            gc.send("TransferCall", agent_id="1001", dialog_id="77")
        gc.send("ConsultCall", agent_id="1001", number="4002", dialog_id="77")
        with pytest.raises(libcce.InvalidArgument, match="no active ConsultCall"):
            gc.send("TransferCall", agent_id="1001", dialog_id="88")
        gc.send("TransferCall", agent_id="1001", dialog_id="77")
        assert broker.sent("TransferCall") == [("TransferCall#1001", "4002,77")]
        # The call ends: its consult is no target any more; nothing more is sent.
        broker.publish("1001#InboundCall#DROP#DialogID:77#Al")
        gc.wait_for("InboundCall", agent_id="1001")
        with pytest.raises(libcce.InvalidArgument, match="no active ConsultCall"):
            gc.send("ConferenceCall", agent_id="1001", dialog_id="77")
        assert broker.sent("Conferencecall") == []
    broker.kill()


def test_refused_credentials_are_forgotten_and_never_resent() -> None:
    broker = ScriptedBroker()
    with session(broker) as gc:
        gc.login("1001", "wrong-pw", "4001")
        broker.publish("1001#Error#SUBSCRIPTION_FAILED")
        err = gc.wait_for("Error", agent_id="1001")
        # The GC error table's columns are on the event.
        assert err["origin"] == "Gc"
        assert err["behaviour"] == "AskForCredentials"
        assert err["user_message"] == "bad login ID or password"
        assert err["description"]
        gc.wait_for(
            notice("CredentialsRequired", agent_id="1001", code="SUBSCRIPTION_FAILED",
                   behaviour="AskForCredentials")
        )
        # GC asks for a re-login, and echoes a request (O-023): nothing is re-sent.
        broker.publish("1001#State#RE_LOGIN")
        gc.wait_for("State", agent_id="1001", state="RE_LOGIN")
        broker.publish("1001#RECONNECT#", jms_type="MakeReady#1001")
        gc.wait_for(notice("CredentialsRequired", agent_id="1001", code=""))
        gc.send("GetState", agent_id="1001")  # a marker: everything before it was sent
        assert broker.sends[-1] == ("GetState#1001", "")
        assert len(broker.sent("Login")) == 1 and len(broker.sent("Connect")) == 1
        assert broker.sent("MakeReady") == []
    broker.kill()


def test_error_table_fields_offline() -> None:
    [ev] = parse_event("1001#Error#CF_INVALID_LOGON_DEVICE_SPECIFIED")
    assert (ev["origin"], ev["behaviour"]) == ("Finesse", "AskForExtension")
    assert ev["user_message"] == "wrong phone extension"
    [ev] = parse_event("1001#Error#SOMETHING_NEW")
    assert (ev["origin"], ev["behaviour"], ev["user_message"]) == ("Unknown", "NotStated", None)


def test_a_command_without_broker_link_raises_disconnected() -> None:
    broker = ScriptedBroker()
    with session(broker) as gc:
        broker.kill()
        gc.wait_for("Disconnected")
        with pytest.raises(libcce.Disconnected) as info:
            gc.send("MakeReady", agent_id="1001")
        assert info.value.kind == "Disconnected"


def test_secrets_never_appear_in_exceptions_or_events() -> None:
    texts: list[str] = []
    for params in ({"password": f"{SECRET},x"}, {"password": f"{SECRET}|"}, {"password": 97777}):
        with pytest.raises(libcce.InvalidArgument) as info:
            encode_command("Login", "1001", extension="1", **params)
        assert "password" in str(info.value)
        texts.append(repr(info.value) + str(info.value))
    with pytest.raises(libcce.InvalidArgument) as info:
        GcSession(brokers="127.0.0.1:1", destination="d", broker_passcode=97777)
    texts.append(str(info.value))
    [ev] = parse_event(f"1001#RECONNECT#{SECRET},4001", "Login#1001")
    assert ev["request"]["body"] == "<redacted>"
    texts.append(str(ev))
    broker = ScriptedBroker()
    with session(broker) as gc:
        with pytest.raises(libcce.InvalidArgument) as info:
            gc.login("1001", f"{SECRET},", "4001")
        texts.append(str(info.value))
        gc.login("1001", SECRET, "4001")
        broker.publish("1001#Error#CF_INVALID_PASSWORD_SPECIFIED")
        texts.append(str(gc.wait_for("Error", agent_id="1001")))
        texts.append(str(gc.wait_for(notice("CredentialsRequired"))))
        texts.append(repr(gc))
    texts.extend(str(e) for e in gc.events(timeout=5))
    for t in texts:
        assert SECRET not in t and "97777" not in t, t
    # It did reach the wire, where it belongs.
    assert ("Login#1001", f"{SECRET},4001") in broker.sends
    broker.kill()


@needs_broker
def test_simulator_dialog_state_during_consult_and_call_variables() -> None:
    queue = f"Connector-py-{uuid.uuid4().hex[:8]}"
    with GcSimulator(broker=ADDR, request_queue=queue, format="json") as sim, GcSession(
        brokers=[ADDR], destination=f"py-{uuid.uuid4().hex[:8]}", request_queue=queue
    ) as gc:
        gc.login("1001", "secret", "4001")
        gc.wait_for("State", agent_id="1001", state="NOT_READY")
        dialog = sim.inject_call("1001", "5551234", {"callVariable2": "v2"})
        ring = gc.wait_for("NewInboundCall", agent_id="1001")
        names = list(ring["call_variables"])[:10]
        assert names == [f"callVariable{i}" for i in range(1, 11)]
        assert ring["call_variables"]["callVariable2"] == "v2"
        gc.send("AnswerCall", agent_id="1001", dialog_id=dialog)
        gc.wait_for("State", agent_id="1001", state="TALKING")
        gc.send("ConsultCall", agent_id="1001", number="4002", dialog_id=dialog)
        leg = gc.wait_for("ConsultCall", agent_id="1001")["dialog_id"]
        sim.control("set_format", format="text")
        gc.send("GetDialogState", agent_id="1001", dialog_id=dialog)
        ds = gc.wait_for("DialogState", agent_id="1001")
        assert ds["dialog_id"] == dialog and ds["ass_dialog_id"] == leg
        assert ds["ass_state"] == "ACTIVE"
        assert ds["ass_call_variables"]["callVariable2"] == "v2"
