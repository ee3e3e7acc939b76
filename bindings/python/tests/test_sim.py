"""Tests of libcce.Simulator: live calls, duplex sides, faults, commands, scenarios, load."""

from __future__ import annotations

from typing import Any

import libcce
import pytest

WAIT = 10.0
SERVICES = "CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL"


def open_agent(address: str, version: int = 24, **extra: Any) -> libcce.CtiSession:
    options: dict[str, Any] = {
        "services": SERVICES,
        "peripheral_id": 5000,
        "agent_id": "1001",
    }
    options.update(extra)
    return libcce.CtiSession.open(address=address, client_id="py-sim", version=version, **options)


def messages(session: libcce.CtiSession, n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        event = session.next_event(timeout=WAIT)
        assert event is not None, f"no event within {WAIT} s"
        out.append(event)
    return out


@pytest.mark.parametrize("version", [15, 24])
def test_live_inbound_call(version: int) -> None:
    with libcce.Simulator() as sim, open_agent(sim.address, version) as session:
        sim.set_agent_state("1001", "AGENT_STATE_AVAILABLE")
        assert messages(session, 1)[0]["AgentState_name"] == "AGENT_STATE_AVAILABLE"
        call_id = sim.offer_call(ani="5551234", dnis="8000", call_variables=["acct-42"])
        got = messages(session, 3)
        assert [e["MessageName"] for e in got] == [
            "AGENT_STATE_EVENT",
            "BEGIN_CALL_EVENT",
            "CALL_DELIVERED_EVENT",
        ]
        assert got[0]["AgentState_name"] == "AGENT_STATE_RESERVED"
        assert got[1]["CallVariable1"] == "acct-42"
        answer = session.request(
            {
                "MessageName": "ANSWER_CALL_REQ",
                "PeripheralID": 5000,
                "ConnectionCallID": call_id,
                "ConnectionDeviceID": "5001",
            },
            timeout=WAIT,
        )
        assert answer["MessageName"] == "ANSWER_CALL_CONF"
        got = messages(session, 2)
        assert [e["MessageName"] for e in got] == ["CALL_ESTABLISHED_EVENT", "AGENT_STATE_EVENT"]
        assert sim.calls()[0]["call_id"] == call_id
        sim.hangup(call_id)
        got = messages(session, 4)
        assert [e["MessageName"] for e in got] == [
            "CALL_CONNECTION_CLEARED_EVENT",
            "CALL_CLEARED_EVENT",
            "END_CALL_EVENT",
            "AGENT_STATE_EVENT",
        ]
        assert sim.calls() == []
        with pytest.raises(libcce.InvalidArgument):
            sim.hangup(call_id)
        assert sim.encode_errors() == 0


def test_duplex_kill_and_restart() -> None:
    with libcce.Simulator({"bind_b": "127.0.0.1:0"}) as sim:
        port_b = sim.side_port("B")
        assert port_b is not None and port_b != sim.port
        assert sim.side_state("A") == "Active"
        assert sim.side_state("B") == "Standby"
        session = open_agent(sim.address)
        sim.kill_side("A")
        closed = session.next_event(timeout=WAIT)
        assert closed is not None and closed["MessageName"] == "SESSION_CLOSED"
        assert sim.side_state("B") == "Active"
        with open_agent(f"127.0.0.1:{port_b}") as again:
            assert again.open_conf["SessionType_name"] == "Active"
        assert sim.restart_side("A") == sim.port
        assert sim.side_state("A") == "Standby"
        with pytest.raises(libcce.Refused) as info:
            open_agent(sim.address, version=15)
        assert info.value.status_name == "E_CTI_CTI_SERVER_OFFLINE"
        outcome = sim.maintenance("B")
        assert outcome["accepted"] is True
        assert sim.side_state("B") == "Maintenance"
        assert sim.side_state("A") == "Active"
        sim.end_maintenance("B")
        with pytest.raises(libcce.InvalidArgument):
            sim.kill_side("C")


def test_request_faults() -> None:
    with libcce.Simulator() as sim, open_agent(sim.address) as session:
        sim.add_fault(
            request="SET_AGENT_STATE_REQ",
            times=1,
            action="failure_conf",
            status="E_CTI_INVALID_AGENT_DATA",
        )
        request = {
            "MessageName": "SET_AGENT_STATE_REQ",
            "PeripheralID": 5000,
            "AgentState": "AGENT_STATE_AVAILABLE",
        }
        with pytest.raises(libcce.Refused) as refused:
            session.request(request, timeout=WAIT)
        assert refused.value.status_name == "E_CTI_INVALID_AGENT_DATA"
        sim.add_fault(
            {"request": "MAKE_CALL_REQ", "action": "control_failure"},
            failure_code="CF_RESOURCE_BUSY",
            peripheral_error=42,
        )
        with pytest.raises(libcce.ControlFailed) as failed:
            session.request(
                {"MessageName": "MAKE_CALL_REQ", "PeripheralID": 5000, "DialedNumber": "9001"},
                timeout=WAIT,
            )
        assert failed.value.status_name == "CF_RESOURCE_BUSY"
        sim.clear_faults()
        with pytest.raises(libcce.InvalidArgument):
            sim.add_fault(request="NOPE", action="drop")
        sim.add_fault(request="QUERY_AGENT_STATE_REQ", action="drop")
        with pytest.raises(libcce.Timeout):
            session.request({"MessageName": "QUERY_AGENT_STATE_REQ"}, timeout=0.3)
        sim.send_failure_event("E_CTI_CTI_SERVER_OFFLINE")
        names = []
        while True:
            event = session.next_event(timeout=WAIT)
            assert event is not None
            names.append(event["MessageName"])
            if event["MessageName"] == "SESSION_CLOSED":
                break
        assert "FAILURE_EVENT" in names


def test_heartbeats_per_side() -> None:
    with libcce.Simulator({"bind_b": "127.0.0.1:0"}) as sim:
        session = open_agent(sim.address, heartbeat_ms=50, relaxed_timing=True)
        sim.set_answer_heartbeats(False, side="B")
        assert session.request({"MessageName": "QUERY_AGENT_STATE_REQ"}, timeout=WAIT)
        sim.set_answer_heartbeats(False, side="A")
        while True:
            event = session.next_event(timeout=WAIT)
            assert event is not None
            if event["MessageName"] == "SESSION_CLOSED":
                break
        assert sim.unanswered_heartbeats() >= 3


def test_commands_scenarios_and_load() -> None:
    with libcce.Simulator() as sim:
        assert sim.command(op="set_agent_state", agent_id="1001", state="AGENT_STATE_AVAILABLE") == {}
        report = sim.run_scenario(
            {
                "steps": [
                    {"op": "offer_call", "name": "c1", "ani": "5551234", "dnis": "8000"},
                    {"after_ms": 5, "op": "answer_call", "call": "c1"},
                    {"op": "hangup", "call": "c1"},
                    {"op": "hangup", "call": "c1"},
                ]
            }
        )
        assert report["steps_run"] == 4
        assert len(report["errors"]) == 1, "the second hangup finds no call"
        load = sim.run_load(agents=20, calls_per_second=200, calls=40, talk_ms=10)
        assert load["offered"] == 40
        assert load["completed"] == 40
        status = sim.status()
        assert status["side_a"]["state"] == "Active"
        assert len(status["agents"]) == 21
        with pytest.raises(libcce.InvalidArgument):
            sim.command(op="nope")
        with pytest.raises(libcce.InvalidArgument):
            sim.run_scenario({"steps": [{"op": "kill_side"}]})
