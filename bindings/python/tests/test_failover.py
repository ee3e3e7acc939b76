"""Failover, typed request helpers and the live model, through the Python binding."""

from __future__ import annotations

import asyncio
from typing import Any

import libcce
import libcce.aio
import pytest

WAIT = 10.0
SERVICES = "CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL"


def wait_for(session: libcce.CtiSession, pred: Any) -> dict[str, Any]:
    for event in session.events(timeout=WAIT):
        if pred(event):
            return event
    raise AssertionError("expected event did not arrive")


def test_every_request_has_a_helper() -> None:
    helpers = {r["helper"] for r in libcce.REQUESTS}
    for name in ["make_call", "answer_call", "transfer_call", "conference_call", "snapshot_call",
                 "supervise_call", "start_recording", "set_call_data", "query_agent_statistics"]:
        assert name in helpers
    assert all(r["confirmation"].endswith("_CONF") for r in libcce.REQUESTS)


def test_failover_to_side_b_with_helpers_model_and_typed_errors() -> None:
    with libcce.Simulator() as a, libcce.Simulator() as b:
        session = libcce.CtiSession({
            "address": a.address, "address_b": b.address, "client_id": "py-failover",
            "services": SERVICES, "peripheral_id": 5000, "agent_id": "1001",
            "expected_clients": 0, "reconnect_time_scale": 0.001,
        })
        with session:
            conf = session.set_agent_state(
                PeripheralID=5000, AgentState="AGENT_STATE_AVAILABLE", AgentInstrument="5001")
            assert conf["MessageName"] == "SET_AGENT_STATE_CONF"
            with pytest.raises(libcce.Refused) as err:
                session.set_agent_state({"PeripheralID": 5000, "AgentState": 999})
            assert err.value.status_name == "E_CTI_INVALID_OBJECT_STATE"
            with pytest.raises(libcce.InvalidArgument):
                session.call("no_such_request")
            with pytest.raises(AttributeError):
                session.not_a_helper  # noqa: B018
            wait_for(session, lambda e: e["MessageName"] == "AGENT_STATE_EVENT")
            agent = session.model()["agents"][0]
            assert (agent["agent_id"], agent["state_name"]) == ("1001", "AGENT_STATE_AVAILABLE")
            assert session.state() == {"connected": True, "closed": False, "side": "A"}

            a.stop()
            lost = wait_for(session, lambda e: e["MessageName"] == "CONNECTION_STATE")
            assert (lost["state"], lost["side"]) == ("Disconnected", "A")
            back = wait_for(session, lambda e: e["MessageName"] == "CONNECTION_STATE"
                            and e["state"] == "Connected")
            assert (back["side"], back["reconnected"]) == ("B", True)
            assert session.state()["side"] == "B"
            conf = session.query_agent_state(AgentID="1001")
            assert conf["AgentID"] == "1001"


def test_requests_while_disconnected_raise_disconnected() -> None:
    sim = libcce.Simulator()
    session = libcce.CtiSession({
        "address": sim.address, "client_id": "py-down", "services": SERVICES,
        "peripheral_id": 5000, "agent_id": "1001", "reconnect": True,
    })
    sim.stop()
    wait_for(session, lambda e: e.get("state") == "Disconnected")
    with pytest.raises(libcce.Disconnected):
        session.query_agent_state(AgentID="1001")
    assert session.close()["MessageName"] == "SESSION_CLOSED"
    with pytest.raises(libcce.Closed):
        session.query_agent_state(AgentID="1001")


def test_asyncio_helpers() -> None:
    async def main() -> None:
        with libcce.Simulator() as sim:
            async with await libcce.aio.CtiSession.open(
                address=sim.address, client_id="py-aio", services=SERVICES,
                peripheral_id=5000, agent_id="1001",
            ) as s:
                conf = await s.query_agent_state(AgentID="1001")
                assert conf["MessageName"] == "QUERY_AGENT_STATE_CONF"
                with pytest.raises(libcce.Refused):
                    await s.set_agent_state(PeripheralID=5000, AgentState=999)
                assert s.state()["connected"] is True

    asyncio.run(main())
