"""libcce.aio: native asyncio for CTI, GC and ECE. Awaitables are completed from the
library's runtime: no thread per session, no executor per call. Open without `await`,
`async for` over batches, cancellation without losing events, typed errors."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from typing import Any

import libcce
import pytest
from libcce import aio, ece
from libcce.gc import GcSimulator

WAIT = 10.0
SERVICES = "CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL"
SET_AVAILABLE = {
    "MessageName": "SET_AGENT_STATE_REQ",
    "PeripheralID": 5000,
    "AgentState": "AGENT_STATE_AVAILABLE",
    "AgentInstrument": "5001",
}
CALL_EVENTS = [
    "BEGIN_CALL_EVENT",
    "CALL_DELIVERED_EVENT",
    "CALL_ESTABLISHED_EVENT",
    "AGENT_STATE_EVENT",
    "CALL_CLEARED_EVENT",
    "END_CALL_EVENT",
    "AGENT_STATE_EVENT",
]


def agent(sim: libcce.Simulator, **extra: Any) -> dict[str, Any]:
    return {"address": sim.address, "client_id": "py-aio", "services": SERVICES,
            "peripheral_id": 5000, "agent_id": "1001", **extra}


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_cti_open_without_await_async_for_and_close() -> None:
    async def flow(sim: libcce.Simulator) -> list[str]:
        async with aio.CtiSession.open(**agent(sim)) as s:
            assert isinstance(s, aio.CtiSession)
            assert s.open_conf["MessageName"] == "OPEN_CONF"
            conf = await s.request(SET_AVAILABLE)
            assert conf["MessageName"] == "SET_AGENT_STATE_CONF"
            conf = await s.query_agent_state(AgentID="1001")
            assert conf["AgentState_name"] == "AGENT_STATE_AVAILABLE"
            first = await s.next_event(timeout=WAIT)
            assert isinstance(first, libcce.Event) and first.name == "AGENT_STATE_EVENT"
            sim.inject_call(ani="5551234", dnis="8000")
            names: list[str] = []
            async for ev in s.events(timeout=WAIT):
                names.append(ev["MessageName"])
                if len(names) == len(CALL_EVENTS):
                    break
            closed = await s.close()
            assert closed["reason"] == "Closed"
            rest = [ev.name async for ev in s.events(timeout=WAIT)]
            assert rest == ["SESSION_CLOSED"]
            with pytest.raises(libcce.Closed):
                await s.next_event(timeout=WAIT)
            return names

    with libcce.Simulator() as sim:
        assert run(flow(sim)) == CALL_EVENTS


def test_cti_await_open_and_batches() -> None:
    async def flow(sim: libcce.Simulator) -> None:
        s = await aio.CtiSession.open(**agent(sim))
        try:
            assert await s.next_events(timeout=0.02) == []
            await s.request(SET_AVAILABLE)
            await s.next_event(timeout=WAIT)
            sim.inject_call(ani="5551234", dnis="8000")
            names: list[str] = []
            while len(names) < len(CALL_EVENTS):
                batch = await s.next_events(max=3, timeout=WAIT)
                assert 1 <= len(batch) <= 3
                names += [e.name for e in batch]
            assert names == CALL_EVENTS
        finally:
            await s.close()

    with libcce.Simulator() as sim:
        run(flow(sim))


def test_cti_cancelled_wait_loses_no_event() -> None:
    async def flow(sim: libcce.Simulator) -> None:
        async with aio.CtiSession.open(**agent(sim)) as s:
            # A wait that times out, and a task cancelled while waiting.
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(s.next_event(), 0.05)
            task = asyncio.ensure_future(s.next_event())
            await asyncio.sleep(0)  # let the task start its wait
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await s.request(SET_AVAILABLE)
            ev = await s.next_event(timeout=WAIT)
            assert ev is not None and ev.name == "AGENT_STATE_EVENT"
            # A cancelled request: the session stays usable.
            req = asyncio.ensure_future(s.request(SET_AVAILABLE))
            req.cancel()
            with pytest.raises(asyncio.CancelledError):
                await req
            conf = await s.call("query_agent_state", AgentID="1001")
            assert conf["MessageName"] == "QUERY_AGENT_STATE_CONF"

    with libcce.Simulator() as sim:
        run(flow(sim))


def test_cti_errors_are_libcce_exceptions() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there

    async def refused_port() -> None:
        with pytest.raises(libcce.ConnectionFailed) as info:
            async with aio.CtiSession.open(address=f"127.0.0.1:{port}", client_id="x"):
                pass
        assert info.value.kind == "Io"

    async def bad_request(sim: libcce.Simulator) -> None:
        async with aio.CtiSession.open(**agent(sim)) as s:
            with pytest.raises(libcce.InvalidArgument):
                await s.call("NO_SUCH_REQ")
            with pytest.raises(libcce.InvalidArgument):
                await s.request({"MessageName": "SET_AGENT_STATE_REQ", "AgentState": "BOGUS"})
            with pytest.raises(libcce.InvalidArgument):
                await s.request(SET_AVAILABLE, timeout=-1)

    run(refused_port())
    with libcce.Simulator() as sim:
        run(bad_request(sim))


def test_no_thread_per_session() -> None:
    async def flow(sim: libcce.Simulator) -> None:
        before = threading.active_count()
        sessions = [
            await aio.CtiSession.open(address=sim.address, client_id=f"py-{i}")
            for i in range(5)
        ]
        waits = [asyncio.ensure_future(s.next_event(timeout=0.2)) for s in sessions]
        await asyncio.sleep(0.05)
        assert threading.active_count() == before
        await asyncio.gather(*waits)
        for s in sessions:
            await s.close()

    with libcce.Simulator() as sim:
        run(flow(sim))


def test_gc_open_without_await_flow() -> None:
    queue = f"Connector-py-aio-{uuid.uuid4().hex[:8]}"

    async def flow(sim: GcSimulator) -> None:
        broker = sim.control("broker")
        async with aio.GcSession.open(
            brokers=[broker], destination=f"py-aio-{uuid.uuid4().hex[:8]}", request_queue=queue
        ) as gc:
            await gc.login("1001", "secret", "4001")
            st = await gc.wait_for("State", agent_id="1001", state="NOT_READY", timeout=WAIT)
            assert isinstance(st, libcce.Event) and st.name == "State"
            await gc.send("MakeReady", agent_id="1001")
            await gc.wait_for("State", agent_id="1001", state="READY", timeout=WAIT)
            # A wait given up before the call comes: the call's events are not lost.
            try:
                await asyncio.wait_for(gc.next_event(), 0.05)
            except asyncio.TimeoutError:
                pass
            dialog = sim.inject_call("1001", "5551234")
            ring = await gc.wait_for("NewInboundCall", agent_id="1001", timeout=WAIT)
            assert ring["dialog_id"] == dialog
            with pytest.raises(libcce.InvalidArgument):
                await gc.send("MakeCall", agent_id="1001", number="1#2")
            await gc.close()
            rest = [ev async for ev in gc.events(timeout=WAIT)]
            assert rest[-1]["event"] == "Closed" and rest[-1].last
            with pytest.raises(libcce.Closed):
                await gc.next_event(timeout=WAIT)

    async def no_broker() -> None:
        with pytest.raises(libcce.ConnectionFailed):
            await aio.GcSession.open(brokers="127.0.0.1:1", destination="py-x")

    with GcSimulator(broker="embedded", request_queue=queue) as sim:
        run(flow(sim))
    run(no_broker())


def test_ece_chat_async() -> None:
    async def flow(sim: ece.Simulator) -> None:
        async with aio.EceWebhookServer(basic=("ece", "pw")) as hook:
            sim.set_webhook(hook.url, basic=("ece", "pw"))
            client = aio.EceClient(sim.server_url, "sim-key", "sim-secret", 1001,
                                   retry_base_ms=10)
            await client.login()
            assert client.logins == 1
            conf = await client.configuration()
            assert conf["entry_point_id"] == 1001
            conv = await client.start_conversation({"email": "ada@example.com"})
            assigned = await hook.next_event(timeout=WAIT)
            assert assigned is not None and assigned["type"] == "assigned"
            assert assigned.name == "assigned"
            assert assigned["conversation_id"] == conv["id"]
            await client.send_message(conv["id"], "bye", "text/plain")
            types: list[str] = []
            async for ev in hook.events(timeout=WAIT):
                types.append(ev["type"])
                if ev["type"] == "complete":
                    break
            assert types == ["startTyping", "endTyping", "message", "complete"]
            # Errors carry the HTTP status.
            sim.fail_next("send_message", 500)
            with pytest.raises(libcce.CceError) as info:
                await client.send_message(conv["id"], "again")
            assert info.value.status == 500
            # A cancelled wait loses nothing.
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(hook.next_event(), 0.05)
            conv2 = await client.start_conversation({"email": "bob@example.com"})
            later = await hook.next_event(timeout=WAIT)
            assert later is not None and later["type"] == "assigned"
            assert later["conversation_id"] == conv2["id"]

            ws = aio.EceChatWebServices(sim.chat_base_url)
            assert await ws.agent_availability(1001) is True
            assert (await ws.check_eligibility(1001))["name"] == "eligible"
            assert isinstance(await ws.capacity(1001), int)

    with ece.Simulator() as sim:
        run(flow(sim))
