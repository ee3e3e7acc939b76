"""libcce.Event (lazy mapping over the native event) and batched delivery, against the
embedded CTI simulator. Every wait has a timeout; no sleeps."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import libcce
import pytest

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


@pytest.fixture
def session() -> Iterator[libcce.CtiSession]:
    with libcce.Simulator() as sim, libcce.CtiSession.open(
        address=sim.address, client_id="py-events", services=SERVICES,
        peripheral_id=5000, agent_id="1001",
    ) as s:
        s.sim = sim  # type: ignore[attr-defined]
        yield s


def first_event(session: libcce.CtiSession) -> libcce.Event:
    session.request(SET_AVAILABLE, timeout=WAIT)
    ev = session.next_event(timeout=WAIT)
    assert ev is not None
    return ev


def test_event_is_a_read_only_mapping_of_its_json(session: libcce.CtiSession) -> None:
    ev = first_event(session)
    assert isinstance(ev, libcce.Event) and isinstance(ev, Mapping)
    expected: dict[str, Any] = json.loads(ev.json)
    assert ev["MessageName"] == "AGENT_STATE_EVENT" == ev.name == expected["MessageName"]
    assert ev["MessageType"] == ev.type == expected["MessageType"]
    assert ev["AgentState"] == expected["AgentState"]
    assert ev["AgentState_name"] == "AGENT_STATE_AVAILABLE"
    assert ev.last is False
    assert "AgentState" in ev and "NoSuchField" not in ev and 3 not in ev
    assert ev.get("NoSuchField") is None and ev.get("NoSuchField", 7) == 7
    assert ev.get("AgentState") == expected["AgentState"]
    with pytest.raises(KeyError):
        ev["NoSuchField"]
    assert list(ev) == list(expected) == ev.keys()
    assert ev.values() == list(expected.values())
    assert ev.items() == list(expected.items())
    assert len(ev) == len(expected)
    assert dict(ev) == expected
    # Equality with dicts (both ways) and with itself; a different dict differs.
    assert ev == expected and expected == ev and ev == ev
    assert ev != {**expected, "AgentState": -1}
    assert ev != "AGENT_STATE_EVENT"
    with pytest.raises(TypeError):
        hash(ev)
    d = ev.to_dict()
    assert type(d) is dict and d == expected
    d["AgentState"] = -1  # a copy: the event is unchanged
    assert ev["AgentState"] == expected["AgentState"]
    assert "AGENT_STATE_EVENT" in repr(ev)
    # Requests accept an event as a mapping (it serialises like a dict).
    assert json.loads(json.dumps(dict(ev))) == expected


def test_nested_values_convert_like_json_loads(session: libcce.CtiSession) -> None:
    session.request(SET_AVAILABLE, timeout=WAIT)
    session.sim.inject_call(  # type: ignore[attr-defined]
        ani="5551234", dnis="8000", call_variables=["acct-42", "x"],
        named_variables=[("user.order", "A-9")],
    )
    seen = 0
    for ev in session.events(timeout=WAIT):
        assert ev.to_dict() == json.loads(ev.json)
        for key in ev:
            assert ev[key] == json.loads(ev.json)[key]
        seen += 1
        if ev.name == "END_CALL_EVENT":
            break
    assert seen >= 6


def test_batches_come_in_order_and_respect_max(session: libcce.CtiSession) -> None:
    assert session.next_events(timeout=0.02) == []  # nothing queued: empty batch
    session.request(SET_AVAILABLE, timeout=WAIT)
    assert [e.name for e in session.next_events(timeout=WAIT)] == ["AGENT_STATE_EVENT"]
    session.sim.inject_call(ani="5551234", dnis="8000")  # type: ignore[attr-defined]
    names: list[str] = []
    while len(names) < len(CALL_EVENTS):
        batch = session.next_events(max=2, timeout=WAIT)
        assert 1 <= len(batch) <= 2
        names += [e.name for e in batch]
    assert names == CALL_EVENTS
    session.close()
    [closed] = session.next_events(timeout=WAIT)
    assert closed.name == "SESSION_CLOSED" and closed.last and closed.type == 0
    with pytest.raises(libcce.Closed):
        session.next_events(timeout=WAIT)


def test_events_left_in_a_batch_stay_with_the_session(session: libcce.CtiSession) -> None:
    session.request(SET_AVAILABLE, timeout=WAIT)
    session.next_event(timeout=WAIT)
    session.sim.inject_call(ani="5551234", dnis="8000")  # type: ignore[attr-defined]
    got: list[str] = []
    for ev in session.events(timeout=WAIT):
        got.append(ev.name)
        if len(got) == 2:
            break  # the rest of the batch is kept ...
    while len(got) < len(CALL_EVENTS):
        ev = session.next_event(timeout=WAIT)  # ... and read here
        assert ev is not None
        got.append(ev.name)
    assert got == CALL_EVENTS


def test_close_events_and_json_text(session: libcce.CtiSession) -> None:
    session.close()
    events = list(session.events(timeout=WAIT))
    assert [e.name for e in events] == ["SESSION_CLOSED"]
    assert json.loads(events[0].json)["reason"] == "Closed"
    assert list(session.events(timeout=WAIT)) == []


def test_on_event_sessions_share_one_dispatcher_thread() -> None:
    with libcce.Simulator() as sim:
        before = threading.active_count()
        sessions = [
            libcce.CtiSession.open(address=sim.address, client_id=f"py-cb-{i}")
            for i in range(20)
        ]
        got: list[list[libcce.Event]] = [[] for _ in sessions]
        subs = [s.on_event(got[i].append) for i, s in enumerate(sessions)]
        # At most the one dispatcher thread (none if an earlier test started it).
        assert threading.active_count() <= before + 1
        for s in sessions:
            s.close()  # returns once the callback got SESSION_CLOSED
        for events, sub in zip(got, subs):
            assert [e.name for e in events] == ["SESSION_CLOSED"]
            assert not sub.is_alive()


def test_raising_callback_is_reported_and_ends_delivery(
    session: libcce.CtiSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    reported: list[type] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: reported.append(args.exc_type))
    calls: list[str] = []

    def callback(ev: libcce.Event) -> None:
        calls.append(ev.name)
        raise ZeroDivisionError

    sub = session.on_event(callback)
    session.request(SET_AVAILABLE, timeout=WAIT)
    sub.join(WAIT)
    assert not sub.is_alive()
    assert calls == ["AGENT_STATE_EVENT"] and reported == [ZeroDivisionError]
