"""GC client ↔ simulator through an ActiveMQ broker (CCE_STOMP_ADDR; `make test-gc`)."""

from __future__ import annotations

import os
import uuid

import pytest

import libcce
from libcce.gc import GcSession, GcSimulator, encode_command, parse_event

ADDR = os.environ.get("CCE_STOMP_ADDR")
if not ADDR and os.environ.get("CCE_REQUIRE_BROKER"):
    raise RuntimeError("CCE_REQUIRE_BROKER is set but CCE_STOMP_ADDR is not")
needs_broker = pytest.mark.skipif(
    not ADDR, reason="CCE_STOMP_ADDR not set: run `make test-gc` to test against ActiveMQ"
)


def test_encode_and_parse_offline() -> None:
    assert encode_command("Login", "1001", password="pw", extension="4012") == (
        "Login#1001",
        "pw,4012",
    )
    with pytest.raises(libcce.InvalidArgument, match="must not contain"):
        encode_command("MakeCall", "1001", number="55,5")
    [ev] = parse_event("1001#InboundCall#ACTIVE#DialogID:77#555#a=1#2024-01-02 10:11:12#Al")
    assert ev["event"] == "InboundCall" and ev["dialog_id"] == "77"
    assert ev["call_variables"] == {"a": "1"}
    [ev] = parse_event(b'{"type":"System","status":"IN_SERVICE"}')
    assert ev == {"event": "System", "status": "IN_SERVICE", "extra": [], "format": "json"}
    with pytest.raises(libcce.CodecError):
        parse_event("{broken")


def test_no_broker_is_a_connection_error() -> None:
    with pytest.raises(libcce.ConnectionFailed):
        GcSession(brokers="127.0.0.1:1", destination="py-x")


@needs_broker
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_agent_call_flow(fmt: str) -> None:
    queue = f"Connector-py-{uuid.uuid4().hex[:8]}"
    with GcSimulator(broker=ADDR, request_queue=queue, format=fmt) as sim, GcSession(
        brokers=[ADDR], destination=f"py-{uuid.uuid4().hex[:8]}", request_queue=queue
    ) as gc:
        gc.login("1001", "secret", "4001")
        st = gc.wait_for("State", agent_id="1001", state="NOT_READY")
        assert st["format"] == fmt
        info = gc.wait_for("AgentInfo", agent_id="1001")
        assert info["first_name"] == "Alice"
        assert gc.state["gc"] == "InService"

        gc.send("MakeReady", agent_id="1001")
        gc.wait_for("State", agent_id="1001", state="READY")
        dialog = sim.inject_call("1001", "5551234", {"callVariable1": "acct-42"})
        ring = gc.wait_for("NewInboundCall", agent_id="1001")
        assert ring["dialog_id"] == dialog and ring["ani"] == "5551234"
        assert ring["call_variables"]["callVariable1"] == "acct-42"
        gc.send("AnswerCall", agent_id="1001", dialog_id=dialog)
        gc.wait_for("State", agent_id="1001", state="TALKING")
        gc.send("ReleaseCall", agent_id="1001", dialog_id=dialog)
        gc.wait_for("State", agent_id="1001", state="READY")

        with pytest.raises(libcce.InvalidArgument, match="must not contain"):
            gc.send("MakeCall", agent_id="1001", number="1#2")

        sim.control("send_error", agent_id="1001", code="CF_RESOURCE_BUSY")
        err = gc.wait_for("Error", agent_id="1001")
        assert err["code"] == "CF_RESOURCE_BUSY"

        # RE_LOGIN: the client logs in again by itself.
        sim.control("forget_agent", agent_id="1001")
        gc.send("GetState", agent_id="1001")
        gc.wait_for(lambda e: e.get("event") == "Notice" and e.get("notice") == "ReLogin")
        gc.wait_for("State", agent_id="1001", state="NOT_READY")
        assert sim.agent_state("1001") == "NOT_READY"
    # The context manager closed the session: the stream ends with Closed.
    events = list(gc.events(timeout=5))
    assert events[-1] == {"event": "Closed"}


TLS_ADDR = os.environ.get("CCE_STOMP_TLS_ADDR")
TLS_CA = os.environ.get("CCE_STOMP_TLS_CA")


@needs_broker
def test_gc_session_over_tls() -> None:
    """STOMP over TLS to the broker's TLS connector (the simulator stays on the plain one);
    an untrusted broker certificate is a typed CertificateInvalid."""
    assert TLS_ADDR and TLS_CA, "make test-gc sets CCE_STOMP_TLS_ADDR and CCE_STOMP_TLS_CA"
    queue = f"Connector-py-{uuid.uuid4().hex[:8]}"
    with GcSimulator(broker=ADDR, request_queue=queue) as sim, GcSession(
        brokers=[TLS_ADDR], destination=f"py-{uuid.uuid4().hex[:8]}", request_queue=queue,
        tls={"ca_file": TLS_CA},
    ) as gc:
        gc.login("1001", "secret", "4001")
        gc.wait_for("State", agent_id="1001", state="NOT_READY")
        assert sim is not None
    with pytest.raises(libcce.CertificateInvalid) as err:
        GcSession(brokers=[TLS_ADDR], destination="py-untrusted", tls={})
    assert err.value.reason == "unknown_issuer"
