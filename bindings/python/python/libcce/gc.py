"""Expertflow Generic Connector (GC) over an ActiveMQ broker (STOMP).

Commands are sent fire-and-forget (GC has no reply correlation); GC's answers and
library notices arrive as events, :class:`libcce.Event` mappings tagged by ``"event"`` — the same model
as the Rust, C and Node APIs (see docs/gc.md)::

    from libcce.gc import GcSession

    with GcSession(brokers=["127.0.0.1:61613"], destination="crm-7") as gc:
        gc.login("1001", "secret", "4001")
        ev = gc.wait_for("State", agent_id="1001", timeout=10)
        gc.send("MakeReady", agent_id="1001")

A parameter containing ``,``, ``#`` or ``|`` (or a transfer without ``target`` and no
active consult on that dialog) raises :class:`libcce.InvalidArgument` before anything is
sent; a command while no broker link is up raises :class:`libcce.Disconnected` (nothing
sent, never queued: retry after ``Connected``); a full command queue raises
:class:`libcce.QueueFull`. :class:`libcce.Timeout` means the broker did not confirm in
time: the outcome is unknown (GC may still execute the command). Passwords never appear
in exception texts.

``Error`` events carry the GC error table's columns: ``origin``, ``behaviour`` (the
expected client behaviour, e.g. ``"AskForCredentials"``), ``description`` and
``user_message``. After an error asking for new credentials the client forgets them
and sends the notice ``{"event": "Notice", "notice": "CredentialsRequired", ...}``.
"""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any, Callable, Optional, Union

from . import _native
from ._native import Closed, Event, Timeout

__all__ = ["GcSession", "GcSimulator", "encode_command", "parse_event"]

GcEvent = Event
"""A GC event or library event (a :class:`libcce.Event`): ``{"event": "State",
"agent_id": ..., ...}``; ``ev.last`` is true for the final ``Closed``."""

_BATCH = 256


def _matches(
    ev: Any, event: Union[str, Callable[[Any], bool]], agent_id: Optional[str],
    fields: Mapping[str, Any],
) -> bool:
    if callable(event):
        return bool(event(ev))
    if ev.get("event") != event:
        return False
    if agent_id is not None and ev.get("agent_id") != agent_id:
        return False
    return all(ev.get(k) == v for k, v in fields.items())

_WAIT_SLICE_SECONDS = 0.25


def _dumps(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), allow_nan=False)


def encode_command(command: str, agent_id: str, **params: Any) -> tuple[str, str]:
    """The wire form ``(JMSType, body)`` of a command, without sending it."""
    return _native.gc_encode_command(_dumps({"command": command, "agent_id": agent_id, **params}))


def parse_event(
    body: Union[bytes, str], jms_type: Optional[str] = None
) -> list[dict[str, Any]]:
    """Parses one GC message body (``#`` text or JSON) into events (dicts)."""
    data = body.encode() if isinstance(body, str) else bytes(body)
    result: list[dict[str, Any]] = json.loads(_native.gc_parse_event(data, jms_type))
    return result


class GcSession:
    """A GC client: one broker link (with reconnection and failover), one destination.

    Keyword configuration (see docs/gc.md): ``brokers`` (``"host:port"`` or a list,
    local site first), ``destination``, ``request_queue`` (``"Connector1"``),
    ``heartbeat_ms``, ``heartbeat_misses``, ``relogin_attempts``, ``reconnect_min_ms``,
    ``reconnect_max_ms``, ``broker_login``, ``broker_passcode``, ``event_queue``
    (10000), ``command_queue`` (1000), ``overflow`` (``"back_pressure"`` or ``"close"``),
    ``close_timeout_ms`` (2000), ``trace`` / ``trace_file`` (wire trace), ...
    """

    def __init__(self, config: Optional[Mapping[str, Any]] = None, **options: Any) -> None:
        cfg = dict(config or {})
        cfg.update(options)
        self._session = _native.GcSession(_dumps(cfg))
        self._closed = False
        self._buffer: collections.deque[GcEvent] = collections.deque()

    def send(self, command: str, agent_id: Optional[str] = None, **params: Any) -> None:
        """Sends ``command`` (e.g. ``"MakeNotReadyWithReason"``) with its parameters
        (``reason_code="12"``); returns once the broker has it."""
        cmd: dict[str, Any] = {"command": command, **params}
        if agent_id is not None:
            cmd["agent_id"] = agent_id
        self._session.send_json(_dumps(cmd))

    def login(self, agent_id: str, password: str, extension: str) -> None:
        """``Connect`` + ``Login`` (queued until GC answers ``IN_SERVICE``); the
        credentials are kept for automatic re-login after ``RE_LOGIN``."""
        self.send("Login", agent_id, password=password, extension=extension)

    @property
    def state(self) -> dict[str, Any]:
        """``{"broker": "host:port" or None, "gc": "InService" | ..., "events_queued": n,
        "events_high_water": n, "events_dropped": n}``."""
        result: dict[str, Any] = json.loads(self._session.state_json())
        return result

    def next_events(self, max: int = _BATCH, timeout: Optional[float] = None) -> list[GcEvent]:
        """The events queued together (at most ``max``), or an empty list if none came
        within ``timeout`` seconds (None: wait). Raises :class:`libcce.Closed` after the
        last event."""
        if self._buffer:
            return [self._buffer.popleft() for _ in range(min(max, len(self._buffer)))]
        if timeout is not None:
            return self._session.next_events(max, timeout)
        while True:
            batch = self._session.next_events(max, _WAIT_SLICE_SECONDS)
            if batch:
                return batch

    def next_event(self, timeout: Optional[float] = None) -> Optional[GcEvent]:
        """The next event, or None if none came within ``timeout`` seconds (None: wait).
        Raises :class:`libcce.Closed` after the last event (``{"event": "Closed"}``)."""
        if not self._buffer:
            self._buffer.extend(self.next_events(_BATCH, timeout))
            if not self._buffer:
                return None
        return self._buffer.popleft()

    def events(self, timeout: Optional[float] = None) -> Iterator[GcEvent]:
        """Iterates over events until ``Closed`` (included); raises :class:`libcce.Timeout`
        when ``timeout`` seconds pass without one."""
        while True:
            try:
                ev = self.next_event(timeout)
            except Closed:
                return
            if ev is None:
                raise Timeout(f"no GC event within {timeout} s")
            yield ev
            if ev.last:
                return

    def wait_for(
        self,
        event: Union[str, Callable[[GcEvent], bool]],
        agent_id: Optional[str] = None,
        timeout: float = 10.0,
        **fields: Any,
    ) -> GcEvent:
        """Returns the first event named ``event`` (or matching the predicate) for
        ``agent_id`` with the given field values, skipping others; raises
        :class:`libcce.Timeout` after ``timeout`` seconds."""

        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout(f"no matching GC event {event!r} within {timeout} s")
            ev = self.next_event(left)
            if ev is not None and _matches(ev, event, agent_id, fields):
                return ev

    def close(self) -> None:
        """Closes the broker link (safe to call more than once)."""
        self._session.close()
        self._closed = True

    def __enter__(self) -> GcSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<libcce.gc.GcSession {self.state}>"


class GcSimulator:
    """A GC simulator sitting on a broker like the real GC.

    ``config`` keys: ``broker`` (required: ``"host:port"``, or ``"embedded"`` for an
    in-memory broker of its own, whose address ``control("broker")`` returns),
    ``request_queue``, ``format``
    (``"json"`` or ``"text"``), ``agents`` (default 1001, 1002 and supervisor 9001,
    password ``"secret"``), reason code lists.
    """

    def __init__(self, config: Optional[Mapping[str, Any]] = None, **options: Any) -> None:
        cfg = dict(config or {})
        cfg.update(options)
        self._sim = _native.GcSim(_dumps(cfg))
        self._stopped = False

    def control(self, action: str, **params: Any) -> Any:
        """Performs a control action (``inject_call``, ``send_error``, ``forget_agent``,
        ``set_format``, ``agent_state``, ``broker``, ...) and returns its result."""
        return json.loads(self._sim.control_json(_dumps({"action": action, **params})))

    def inject_call(
        self, agent_id: str, from_: str, call_variables: Optional[Mapping[str, str]] = None
    ) -> str:
        """Rings an inbound call at a logged-in agent; returns the dialog ID."""
        result: str = self.control(
            "inject_call", agent_id=agent_id, **{"from": from_},
            call_variables=dict(call_variables or {}),
        )
        return result

    def agent_state(self, agent_id: str) -> Optional[str]:
        """The agent's state as the simulated GC sees it."""
        result: Optional[str] = self.control("agent_state", agent_id=agent_id)
        return result

    def stop(self) -> None:
        """Stops the simulator; raises :class:`libcce.Closed` if already stopped."""
        self._sim.stop()
        self._stopped = True

    def __enter__(self) -> GcSimulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._stopped:
            try:
                self.stop()
            except Closed:
                pass
