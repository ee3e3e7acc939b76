"""End-to-end tests of the Python binding against the embedded CTI simulator.

No sleeps: every wait is an event wait with a timeout, so a hang fails fast.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libcce
import pytest

WAIT = 10.0  # seconds: upper bound of any single wait; never reached when all is well
SERVICES = "CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL"
CALL_EVENTS = [
    "BEGIN_CALL_EVENT",
    "CALL_DELIVERED_EVENT",
    "CALL_ESTABLISHED_EVENT",
    "AGENT_STATE_EVENT",
    "CALL_CLEARED_EVENT",
    "END_CALL_EVENT",
    "AGENT_STATE_EVENT",
]
SET_AVAILABLE = {
    "MessageName": "SET_AGENT_STATE_REQ",
    "PeripheralID": 5000,
    "AgentState": "AGENT_STATE_AVAILABLE",
    "AgentInstrument": "5001",
}


@pytest.fixture
def sim() -> Iterator[libcce.Simulator]:
    with libcce.Simulator() as s:
        yield s


def agent_options(**extra: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "services": SERVICES,
        "peripheral_id": 5000,
        "agent_id": "1001",
    }
    options.update(extra)
    return options


def open_agent(sim: libcce.Simulator, version: int = 24, **extra: Any) -> libcce.CtiSession:
    return libcce.CtiSession.open(
        address=sim.address, client_id="py-test", version=version, **agent_options(**extra)
    )


def next_message(session: libcce.CtiSession) -> dict[str, Any]:
    event = session.next_event(timeout=WAIT)
    assert event is not None, f"no event within {WAIT} s"
    return event


@pytest.mark.parametrize("version", [24, 15])
def test_agent_session_flow(sim: libcce.Simulator, version: int) -> None:
    with open_agent(sim, version) as session:
        assert session.version == version
        conf = session.open_conf
        assert conf["MessageName"] == "OPEN_CONF"
        assert conf["AgentID"] == "1001"
        assert conf["AgentState_name"] == "AGENT_STATE_NOT_READY"

        set_conf = session.request(SET_AVAILABLE)
        assert set_conf["MessageName"] == "SET_AGENT_STATE_CONF"
        event = next_message(session)
        assert event["MessageName"] == "AGENT_STATE_EVENT"
        assert event["AgentState_name"] == "AGENT_STATE_AVAILABLE"
        assert sim.agent_state("1001") == event["AgentState"]

        query = session.request(
            {"MessageName": "QUERY_AGENT_STATE_REQ", "AgentID": "1001"}, timeout=WAIT
        )
        assert query["MessageName"] == "QUERY_AGENT_STATE_CONF"
        assert query["AgentState_name"] == "AGENT_STATE_AVAILABLE"
        assert query["InvokeID"] > set_conf["InvokeID"]

        call_id = sim.inject_call(
            ani="5551234",
            dnis="8000",
            call_variables=["acct-42", "gold"],
            named_variables=[("user.crm.id", "C-7")],
        )
        events = [next_message(session) for _ in CALL_EVENTS]
        assert [e["MessageName"] for e in events] == CALL_EVENTS
        begin = events[0]
        assert begin["ConnectionCallID"] == call_id
        assert begin["ANI"] == "5551234"
        assert begin["DNIS"] == "8000"
        assert begin["CallVariable1"] == "acct-42"
        assert begin["CallVariable2"] == "gold"
        assert begin["NamedVariable"] == [{"Name": "user.crm.id", "Value": "C-7"}]
        assert events[3]["AgentState_name"] == "AGENT_STATE_TALKING"
        assert session.next_event(timeout=0) is None

        closed = session.close()
        assert closed == {"MessageType": 0, "MessageName": "SESSION_CLOSED", "reason": "Closed"}
        assert list(session.events(timeout=WAIT)) == [closed]
        with pytest.raises(libcce.Closed):
            session.next_event(timeout=WAIT)
        assert session.close()["MessageName"] == "SESSION_CLOSED"  # idempotent


def test_camel_case_config(sim: libcce.Simulator) -> None:
    """The core reads camelCase keys, mask lists and named variables as a mapping."""
    config = {
        "address": sim.address,
        "clientId": "py-camel",
        "peripheralId": 5000,
        "agentId": "1001",
        "services": ["CTI_SERVICE_CLIENT_EVENTS", "CTI_SERVICE_CLIENT_CONTROL"],
        "agentStateMask": ["AGENT_LOGIN_MASK", "AGENT_AVAILABLE_MASK"],
    }
    with libcce.CtiSession(config) as session:
        session.request(SET_AVAILABLE, timeout=WAIT)
        sim.inject_call(ani="5551234", callVariables=["acct-42"], namedVariables={"user.crm.id": "C-7"})
        begin = next(
            e for e in session.events(timeout=WAIT) if e["MessageName"] == "BEGIN_CALL_EVENT"
        )
        assert begin["CallVariable1"] == "acct-42"
        assert begin["NamedVariable"] == [{"Name": "user.crm.id", "Value": "C-7"}]
    with pytest.raises(libcce.InvalidArgument, match="given twice"):
        libcce.CtiSession({**config, "client_id": "again"})


def test_refused_open(sim: libcce.Simulator) -> None:
    with pytest.raises(libcce.Refused) as info:
        open_agent(sim, agent_id="9999")
    err = info.value
    assert isinstance(err, libcce.CceError)
    assert err.kind == "Refused"
    assert err.status_name == "E_CTI_INVALID_AGENT_DATA"
    assert (err.protocol, err.code, err.code_name) == ("cti", err.status, "E_CTI_INVALID_AGENT_DATA")
    assert isinstance(err.status, int)
    assert "E_CTI_INVALID_AGENT_DATA" in str(err)


def test_refused_request(sim: libcce.Simulator) -> None:
    with open_agent(sim) as session:
        with pytest.raises(libcce.Refused) as info:
            session.request({"MessageName": "SET_AGENT_STATE_REQ", "AgentState": 999})
        assert info.value.kind == "Refused"
        assert info.value.status_name == "E_CTI_INVALID_OBJECT_STATE"
        # The session survives a refused request.
        conf = session.request({"MessageName": "QUERY_AGENT_STATE_REQ", "AgentID": "1001"})
        assert conf["MessageName"] == "QUERY_AGENT_STATE_CONF"


def test_heartbeat_loss_closes_the_session(sim: libcce.Simulator) -> None:
    session = open_agent(sim, heartbeat_ms=50, relaxed_timing=True)
    sim.set_answer_heartbeats(False)
    events = list(session.events(timeout=WAIT))
    last = events[-1]
    assert last["MessageName"] == "SESSION_CLOSED"
    assert last["reason"] == "Failed"
    assert last["error_kind"] == "HeartbeatTimeout"
    assert sim.unanswered_heartbeats() == 3
    with pytest.raises(libcce.Closed):
        session.request({"MessageName": "QUERY_AGENT_STATE_REQ", "AgentID": "1001"})


def test_encode_decode_round_trip() -> None:
    raw = bytes([0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 7])
    msg = libcce.decode(raw, 24)
    assert msg == {"MessageType": 5, "MessageName": "HEARTBEAT_REQ", "InvokeID": 7}
    assert libcce.encode({"MessageName": "HEARTBEAT_REQ", "InvokeID": 7}, 24) == raw
    assert libcce.encode(msg, 24) == raw
    assert libcce.decode(bytearray(raw), 15) == msg
    assert libcce.decode(memoryview(raw), 24) == msg


def test_codec_errors() -> None:
    # Bad bytes from the wire are codec errors...
    with pytest.raises(libcce.CodecError) as info:
        libcce.decode(b"\x00\x00\x00\x04\x00\x00", 24)
    assert info.value.kind == "Codec"
    # ...while a bad message from the caller is an invalid argument.
    with pytest.raises(libcce.InvalidArgument):
        libcce.encode({"MessageName": "NO_SUCH_MESSAGE"}, 24)
    with pytest.raises(libcce.InvalidArgument):
        libcce.encode({"MessageName": "HEARTBEAT_REQ", "NoSuchField": 1}, 24)


@pytest.mark.parametrize(
    "config",
    [
        {"client_id": "x"},  # no address
        {"address": "127.0.0.1:1", "client_id": "x", "no_such_key": 1},
        {"address": "127.0.0.1:1", "client_id": "x", "services": "NO_SUCH_SERVICE"},
        {"address": "127.0.0.1:1", "client_id": "x", "version": "24"},
        {"address": "127.0.0.1:1", "client_id": "x", "heartbeat_ms": 50},  # < 5 s, not relaxed
        {"address": "127.0.0.1:1", "client_id": float("nan")},  # not JSON
        {"address": "127.0.0.1:1", "client_id": object()},  # not JSON
        ["address", "client_id"],  # not a mapping
    ],
)
def test_invalid_session_config(config: Any) -> None:
    with pytest.raises(libcce.InvalidArgument) as info:
        libcce.CtiSession(config)
    assert info.value.kind == "InvalidArgument"
    assert info.value.status is None and info.value.status_name is None


def test_invalid_simulator_input(sim: libcce.Simulator) -> None:
    with pytest.raises(libcce.InvalidArgument):
        libcce.Simulator({"no_such_key": True})
    with pytest.raises(libcce.InvalidArgument):
        sim.inject_call({"ani": "1"}, no_such_key=1)
    with pytest.raises(libcce.InvalidArgument):  # the agent is NOT_READY
        sim.inject_call(ani="1", dnis="2")


def test_invalid_timeout(sim: libcce.Simulator) -> None:
    with open_agent(sim) as session:
        with pytest.raises(libcce.InvalidArgument):
            session.next_event(timeout=-1)
        with pytest.raises(libcce.InvalidArgument):
            session.request(SET_AVAILABLE, timeout=float("nan"))


def test_connection_refused() -> None:
    with libcce.Simulator() as sim:
        address = sim.address
    with pytest.raises(libcce.ConnectionFailed) as info:
        libcce.CtiSession.open(address=address, client_id="x")
    assert info.value.kind == "Io"


def test_simulator_lifecycle() -> None:
    sim = libcce.Simulator({"peripheral_id": 6000})
    assert sim.address.endswith(f":{sim.port}")
    assert not sim.stopped
    sim.stop()
    assert sim.stopped
    with pytest.raises(libcce.Closed):
        sim.stop()
    with pytest.raises(libcce.Closed):
        sim.unanswered_heartbeats()
    with sim:  # exiting a stopped simulator is fine
        pass


def test_stopping_the_simulator_ends_the_session() -> None:
    sim = libcce.Simulator()
    session = open_agent(sim)
    sim.stop()
    last = list(session.events(timeout=WAIT))[-1]
    assert last["MessageName"] == "SESSION_CLOSED"
    assert last["reason"] == "Failed"


def test_send_and_confirmation_as_event(sim: libcce.Simulator) -> None:
    with open_agent(sim) as session:
        invoke_id = session.send({"MessageName": "QUERY_AGENT_STATE_REQ", "AgentID": "1001"})
        event = next_message(session)
        assert event["MessageName"] == "QUERY_AGENT_STATE_CONF"
        assert event["InvokeID"] == invoke_id


def test_decode_error_event(sim: libcce.Simulator) -> None:
    with open_agent(sim) as session:
        # END_CALL_EVENT (type 24) with a 3-byte body: shorter than its fixed part.
        sim.send_raw(bytes([0, 0, 0, 3, 0, 0, 0, 24, 1, 2, 3]))
        event = next_message(session)
        assert event["MessageType"] == 0
        assert event["MessageName"] == "DECODE_ERROR"
        assert event["error_kind"] == "ShortFixedPart"


def test_blocking_calls_release_the_gil(sim: libcce.Simulator) -> None:
    """A thread blocked in next_event must not stop this thread from sending a request."""
    with open_agent(sim) as session:
        got: queue.Queue[Any] = queue.Queue()
        waiter = threading.Thread(target=lambda: got.put(session.next_event(timeout=WAIT)))
        waiter.start()
        session.request(SET_AVAILABLE, timeout=WAIT)
        event = got.get(timeout=WAIT)
        waiter.join(WAIT)
        assert event is not None and event["MessageName"] == "AGENT_STATE_EVENT"


def test_on_event_callback(sim: libcce.Simulator) -> None:
    session = open_agent(sim)
    received: queue.Queue[dict[str, Any]] = queue.Queue()
    thread = session.on_event(received.put)
    with pytest.raises(RuntimeError):
        session.on_event(received.put)
    session.request(SET_AVAILABLE)
    assert received.get(timeout=WAIT)["MessageName"] == "AGENT_STATE_EVENT"
    sim.inject_call(ani="5551234", dnis="8000")
    names = [received.get(timeout=WAIT)["MessageName"] for _ in CALL_EVENTS]
    assert names == CALL_EVENTS
    session.close()
    assert received.get(timeout=WAIT)["MessageName"] == "SESSION_CLOSED"
    thread.join(WAIT)
    assert not thread.is_alive()


def test_events_iterator_times_out(sim: libcce.Simulator) -> None:
    with open_agent(sim) as session:
        with pytest.raises(libcce.Timeout) as info:
            next(session.events(timeout=0.05))
        assert info.value.kind == "Timeout"


def test_exception_hierarchy() -> None:
    kinds = {
        libcce.InvalidArgument: "InvalidArgument",
        libcce.ConnectionFailed: "Io",
        libcce.Timeout: "Timeout",
        libcce.Refused: "Refused",
        libcce.ControlFailed: "ControlFailed",
        libcce.Closed: "Closed",
        libcce.CodecError: "Codec",
        libcce.ProtocolError: "Protocol",
    }
    for cls, kind in kinds.items():
        assert issubclass(cls, libcce.CceError)
        assert cls.__module__ == "libcce"
        assert cls("x").kind == kind
    assert issubclass(libcce.CceError, Exception)
    assert libcce.CceError.kind is None


def test_asyncio_session(sim: libcce.Simulator) -> None:
    from libcce import aio

    async def flow() -> list[str]:
        async with await aio.CtiSession.open(
            address=sim.address, client_id="py-aio", **agent_options()
        ) as session:
            assert session.open_conf["MessageName"] == "OPEN_CONF"
            await session.request(SET_AVAILABLE)
            first = await session.next_event(timeout=WAIT)
            assert first is not None and first["MessageName"] == "AGENT_STATE_EVENT"
            assert await session.next_event(timeout=0.01) is None
            sim.inject_call(ani="5551234", dnis="8000")
            names = []
            async for event in session.events(timeout=WAIT):
                names.append(event["MessageName"])
                if len(names) == len(CALL_EVENTS):
                    break
            closed = await session.close()
            assert closed["reason"] == "Closed"
            rest = [e["MessageName"] async for e in session.events(timeout=WAIT)]
            assert rest == ["SESSION_CLOSED"]
            with pytest.raises(libcce.Closed):
                await session.next_event()
            return names

    assert asyncio.run(flow()) == CALL_EVENTS


EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "python" / "agent_session.py"


@pytest.mark.skipif(not EXAMPLE.exists(), reason="example not in this checkout")
def test_example_runs() -> None:
    run = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": ""},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    names = [line["MessageName"] for line in lines]
    assert "BEGIN_CALL_EVENT" in names
    assert names[-1] == "SESSION_CLOSED"
