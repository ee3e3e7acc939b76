"""libcce for Python: a Cisco CTI Server (GED-188) client and an embedded simulator.

Messages are plain dicts in the JSON form of libcce: each has ``MessageName`` (and
``MessageType`` on output); enum and mask fields accept numbers or constant names on
input and come back as numbers with ``<Field>_name`` companions. The ``InvokeID`` of a
request is assigned when absent. Events are :class:`Event` objects: read-only
mappings of the same JSON form, built lazily in native code (``ev["AgentState"]``,
``ev.get(k)``, ``ev.to_dict()``, ``ev.json``).

Example::

    import libcce

    with libcce.Simulator() as sim, libcce.CtiSession.open(
        address=sim.address, client_id="demo", agent_id="1001", peripheral_id=5000,
        services="CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL",
    ) as session:
        session.request({"MessageName": "SET_AGENT_STATE_REQ", "PeripheralID": 5000,
                         "AgentState": "AGENT_STATE_AVAILABLE", "AgentInstrument": "5001"})
        print(session.next_event(timeout=5))

To decode messages from bytes you read yourself, use :class:`StreamDecoder`.

Every blocking call releases the GIL. Errors are :class:`CceError` subclasses.
An asyncio flavour is in :mod:`libcce.aio`.
"""

from __future__ import annotations

import atexit
import collections
import json
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Callable, Optional, Union

from . import _native
from ._native import (
    Event,
    CceError,
    Closed,
    CodecError,
    ConnectionFailed,
    ControlFailed,
    InvalidArgument,
    ProtocolError,
    Disconnected,
    QueueFull,
    Refused,
    Timeout,
    TlsHandshake,
    CertificateInvalid,
)

from .sim import Simulator
from .log import TRACE, flush_logs, metrics_text, set_log_level

__version__: str = _native.__version__

__all__ = [
    "CceError",
    "Closed",
    "CodecError",
    "ConnectionFailed",
    "ControlFailed",
    "BATCH",
    "CtiSession",
    "Event",
    "InvalidArgument",
    "Message",
    "ProtocolError",
    "Disconnected",
    "QueueFull",
    "TlsHandshake",
    "CertificateInvalid",
    "REQUESTS",
    "Refused",
    "Simulator",
    "StreamDecoder",
    "Subscription",
    "TRACE",
    "Timeout",
    "decode",
    "encode",
    "flush_logs",
    "metrics_text",
    "set_log_level",
    "__version__",
]

Message = dict[str, Any]
"""A CTI message as a dict (``{"MessageName": ..., <fields>}``)."""

Mapping.register(Event)

BATCH = 256
"""Most events taken in one batch by :meth:`CtiSession.events` and ``on_event``."""

BytesLike = Union[bytes, bytearray, memoryview]

# Slice of a wait without timeout, so that signals (Ctrl-C) are handled meanwhile.
_WAIT_SLICE_SECONDS = 0.25


def _dumps(value: Mapping[str, Any], what: str) -> str:
    """Renders a mapping as JSON for the native layer; anything else is InvalidArgument."""
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{what} must be a mapping, not {type(value).__name__}")
    try:
        return json.dumps(dict(value), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidArgument(f"{what} is not JSON-serialisable: {e}") from e


REQUESTS: list[dict[str, str]] = json.loads(_native.requests_json())
"""Every request of the catalogue: ``request``, ``confirmation``, ``helper``, ``service``."""

_HELPERS: dict[str, dict[str, str]] = {r["helper"]: r for r in REQUESTS}


class CtiSession:
    """An open CTI Server session (blocking API; every wait releases the GIL).

    ``config`` keys: ``address`` (``"host:port"``, required), ``client_id``
    (required), ``version`` (protocol version, default 24), ``client_password``,
    ``client_signature``, ``peripheral_id``, ``services``, ``call_msg_mask``,
    ``agent_state_mask``, ``config_msg_mask`` (numbers or ``|``-joined constant
    names), ``agent_id``, ``agent_extension``, ``agent_instrument``, ``heartbeat_ms``
    (default 90000 with IdleTimeout 4x that; ``0`` turns heartbeats off),
    ``open_timeout_ms``, ``close_timeout_ms``, ``request_timeout_ms``,
    ``relaxed_timing`` (allow short heartbeats, for tests) and ``strict_decode``
    (default False: an event whose count fields disagree with its fields, or with a
    wrongly sized field, is delivered with a ``_warnings`` list instead of as
    DECODE_ERROR).

    Failover: ``address_b`` (side B) turns reconnection on (``reconnect`` True/False
    to choose); ``expected_clients``, ``reconnect_time_scale``, ``connect_timeout_ms``,
    ``resync_window_ms``, ``active_standby``, ``model_events``, ``tls`` (TLS settings,
    see docs/security.md; failures raise :class:`TlsHandshake` or
    :class:`CertificateInvalid`). While the link is
    down, requests raise :class:`Disconnected`; ``CONNECTION_STATE`` events tell the
    application (``state``: Disconnected, AttemptFailed, Connected, BecameActive,
    Resynchronized).

    Every request of the catalogue has a helper named after it: ``make_call(**fields)``
    sends MAKE_CALL_REQ and returns MAKE_CALL_CONF (see :data:`REQUESTS`).

    The constructor connects and blocks until OPEN_CONF; a refused OPEN_REQ raises
    :class:`Refused` with the server's ``status_name``. As a context manager the
    session is closed on exit.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._adopt(_native.CtiSession(_dumps(config, "session config")))

    def _adopt(self, native: Any) -> None:
        """Wraps an open native session (also used by :attr:`libcce.aio.CtiSession.sync`)."""
        self._session = native
        self._open_conf: Message = json.loads(native.open_conf_json())
        self._lock = threading.Lock()
        self._subscription: Optional[Subscription] = None
        # Events taken in a batch and not yet handed out (shared by every reader).
        self._buffer: collections.deque[Event] = collections.deque()

    @classmethod
    def open(cls, address: str, client_id: str, version: int = 24, **options: Any) -> CtiSession:
        """Opens a session; ``options`` are the other configuration keys."""
        return cls({"address": address, "client_id": client_id, "version": version, **options})

    @property
    def open_conf(self) -> Message:
        """The OPEN_CONF the server answered with."""
        return self._open_conf

    @property
    def version(self) -> int:
        """Protocol version of the session."""
        return self._session.version

    def send(self, msg: Mapping[str, Any]) -> int:
        """Sends a message without waiting; returns its InvokeID.

        The confirmation, if any, arrives as an event.
        """
        return self._session.send_json(_dumps(msg, "message"))

    def request(self, msg: Mapping[str, Any], timeout: Optional[float] = None) -> Message:
        """Sends a request and returns its confirmation.

        ``timeout`` is in seconds (None: the session's request timeout). A
        FAILURE_CONF raises :class:`Refused`, a CONTROL_FAILURE_CONF
        :class:`ControlFailed`, both with ``status`` and ``status_name``.
        """
        _, conf = self._session.request_json(_dumps(msg, "message"), timeout)
        result: Message = json.loads(conf)
        return result

    def call(
        self, name: str, fields: Optional[Mapping[str, Any]] = None, /, *,
        timeout: Optional[float] = None, **kw: Any,
    ) -> Message:
        """Sends request ``name`` (``"make_call"`` or ``"MAKE_CALL_REQ"``) with its
        fields (a dict and/or keywords) and returns the confirmation."""
        merged = {**(fields or {}), **kw}
        _, conf = self._session.call_json(name, _dumps(merged, "fields"), timeout)
        result: Message = json.loads(conf)
        return result

    def __getattr__(self, name: str) -> Callable[..., Message]:
        if name in _HELPERS:
            def helper(fields: Optional[Mapping[str, Any]] = None, /, *,
                       timeout: Optional[float] = None, **kw: Any) -> Message:
                return self.call(name, fields, timeout=timeout, **kw)
            helper.__name__ = name
            helper.__doc__ = f"Sends {_HELPERS[name]['request']} and returns {_HELPERS[name]['confirmation']}."
            return helper
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def model(self) -> dict[str, Any]:
        """The live model: ``agents``, ``calls``, ``skill_groups``, ``peripherals``."""
        result: dict[str, Any] = json.loads(self._session.model_json())
        return result

    def state(self) -> dict[str, Any]:
        """The link state: ``connected``, ``closed``, ``side`` ("A", "B" or None)."""
        result: dict[str, Any] = json.loads(self._session.state_json())
        return result

    def stats(self) -> dict[str, Any]:
        """The session's counters: ``frames_in``/``frames_out``, ``bytes_in``/``bytes_out``,
        ``decode_errors``, ``reconnects``, ``failovers``, ``heartbeat_rtt_ms``
        (``last``/``avg``/``max``), ``request_latency_ms`` (``p50``/``p99``),
        ``ms_since_last_frame`` and more (see docs/observability.md)."""
        result: dict[str, Any] = json.loads(self._session.stats_json())
        return result

    def set_tls(self, tls: Optional[Mapping[str, Any]]) -> None:
        """Replaces the TLS settings (the ``tls`` config object, or None for plain
        TCP). They apply from the next reconnect on; the open session is left alone."""
        self._session.set_tls_json(json.dumps(None if tls is None else dict(tls)))

    def next_events(self, max: int = BATCH, timeout: Optional[float] = None) -> list[Event]:
        """Waits for events and returns those that arrived together (at most ``max``);
        an empty list if none came within ``timeout`` seconds (None: wait until one
        comes). After the final ``SESSION_CLOSED`` was returned, raises :class:`Closed`.
        """
        if self._buffer:
            n = min(max, len(self._buffer))
            return [self._buffer.popleft() for _ in range(n)]
        if timeout is not None:
            return self._session.next_events(max, timeout)
        while True:
            batch = self._session.next_events(max, _WAIT_SLICE_SECONDS)
            if batch:
                return batch

    def _next(self, timeout: Optional[float]) -> Optional[Event]:
        if not self._buffer:
            self._buffer.extend(self.next_events(BATCH, timeout))
            if not self._buffer:
                return None
        return self._buffer.popleft()

    def next_event(self, timeout: Optional[float] = None) -> Optional[Event]:
        """Waits for the next event; returns None if none came within ``timeout`` seconds.

        With ``timeout=None`` it waits until one comes. After the final
        ``SESSION_CLOSED`` event has been returned, raises :class:`Closed`.
        """
        return self._next(timeout)

    def events(self, timeout: Optional[float] = None) -> Iterator[Event]:
        """Iterates over events until ``SESSION_CLOSED`` (included), taking them in
        batches.

        ``timeout`` bounds the wait for each event: when it passes with no event,
        the iterator raises :class:`Timeout`. Once the session's events are all
        taken, the iterator is empty. Events taken in a batch but not yet yielded when
        the loop is left stay with the session for the next read.
        """
        buffer = self._buffer
        while True:
            if not buffer:
                try:
                    batch = self.next_events(BATCH, timeout)
                except Closed:
                    return
                if not batch:
                    raise Timeout(f"no event within {timeout} s")
                buffer.extend(batch)
            event = buffer.popleft()
            yield event
            if event.last:
                return

    def on_event(self, callback: Callable[[Event], object]) -> Subscription:
        """Delivers every event to ``callback``, in order, from the dispatcher thread
        that all sessions share (one thread for the process, started on first use).

        Delivery ends after ``SESSION_CLOSED``, or when ``callback`` raises (the error
        goes to :func:`threading.excepthook`). Returns a :class:`Subscription`
        (``join(timeout)``, ``is_alive()``). Do not call :meth:`next_event` or
        :meth:`events` at the same time. A slow callback delays the other sessions'
        callbacks. Raises RuntimeError if called twice.
        """
        with self._lock:
            if self._subscription is not None:
                raise RuntimeError("on_event() was already called for this session")
            sub = Subscription(self, callback)
            self._subscription = sub
        _DISPATCHER.add(sub)
        return sub

    def close(self) -> dict[str, Any]:
        """Closes the session and returns the ``SESSION_CLOSED`` event as a dict.

        Sends CLOSE_REQ and waits at most the close timeout for CLOSE_CONF. Safe to
        call more than once; the ``SESSION_CLOSED`` event is also delivered as the
        last event. With :meth:`on_event`, waits (at most 5 s) until the callback got
        that last event, unless called from the callback itself.
        """
        result = _loads_dict(self._session.close())
        sub = self._subscription
        if sub is not None and threading.current_thread() is not _DISPATCHER.thread:
            # The final SESSION_CLOSED goes to the callback before close returns.
            sub.join(_CLOSE_DELIVERY_SECONDS)
        return result

    def __enter__(self) -> CtiSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<libcce.CtiSession version={self.version}>"


def _loads_dict(text: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(text)
    return result


_CLOSE_DELIVERY_SECONDS = 5.0


class Subscription:
    """The delivery of one session's events to an ``on_event`` callback."""

    def __init__(self, session: CtiSession, callback: Callable[[Event], object]) -> None:
        self.session = session
        self.callback = callback
        self._done = threading.Event()

    def join(self, timeout: Optional[float] = None) -> None:
        """Waits until delivery ended (after ``SESSION_CLOSED`` or a raising callback)."""
        self._done.wait(timeout)

    def is_alive(self) -> bool:
        """Whether events are still being delivered."""
        return not self._done.is_set()

    def _finish(self) -> None:
        self._done.set()

    def __repr__(self) -> str:
        return f"<libcce.Subscription alive={self.is_alive()}>"


class _Dispatcher:
    """One daemon thread delivering every subscribed session's events, in order per
    session. Core wakes it (through the native ready list) when an event lands in a
    session's empty queue; it then takes that session's queued events as a batch. It
    stops at interpreter exit (atexit), before Python finalises."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[int, Subscription] = {}
        self._next_token = 1
        self.thread: Optional[threading.Thread] = None
        self._stopping = False

    def add(self, sub: Subscription) -> None:
        with self._lock:
            if self._stopping:
                raise Closed("the interpreter is shutting down")
            token = self._next_token
            self._next_token += 1
            self._subs[token] = sub
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="cce-events", daemon=True)
                self.thread.start()
        sub.session._session.watch(token)

    def _run(self) -> None:
        while not self._stopping:
            for token in _native.dispatch_wait(_WAIT_SLICE_SECONDS):
                if self._stopping:
                    return
                with self._lock:
                    sub = self._subs.get(token)
                if sub is not None:
                    self._deliver(token, sub)

    def _deliver(self, token: int, sub: Subscription) -> None:
        session = sub.session
        try:
            if session._buffer:
                batch = list(session._buffer)
                session._buffer.clear()
            else:
                batch = session._session.poll_events(BATCH)
        except Closed:
            self._remove(token, sub)
            return
        for event in batch:
            try:
                sub.callback(event)
            except BaseException:  # noqa: B036 - reported like an uncaught thread error
                self._remove(token, sub)
                hook_args = threading.ExceptHookArgs(  # type: ignore[attr-defined]
                    (*sys.exc_info(), threading.current_thread())
                )
                threading.excepthook(hook_args)
                return
            if event.last:
                self._remove(token, sub)
                return
        if len(batch) >= BATCH:
            _native.dispatch_ready(token)  # more may be queued

    def _remove(self, token: int, sub: Subscription) -> None:
        with self._lock:
            self._subs.pop(token, None)
        sub._finish()

    def stop(self) -> None:
        """Stops delivery and joins the thread (at interpreter exit)."""
        with self._lock:
            self._stopping = True
            thread = self.thread
        _native.dispatch_stop()
        if thread is not None and thread is not threading.current_thread():
            thread.join(_CLOSE_DELIVERY_SECONDS)


_DISPATCHER = _Dispatcher()


@atexit.register
def _at_exit() -> None:
    # Before the interpreter finalises: no library thread may attach to Python then.
    _DISPATCHER.stop()
    _native._shutdown()


class StreamDecoder:
    """Decodes the messages of a byte stream received in arbitrary pieces.

    For a connection you read yourself: :meth:`push` the bytes as they arrive and take
    whole messages with :meth:`next`, or do both with :meth:`feed`. ``version`` is the
    protocol version of the session (15 to 25; else :class:`InvalidArgument`).

    A message that cannot be decoded raises :class:`CodecError` once and the stream goes
    on; a length over 12,492 bytes raises :class:`CodecError` and breaks the stream:
    every later call raises too.
    """

    def __init__(self, version: int) -> None:
        self._decoder = _native.StreamDecoder(version)
        self._deferred: Optional[CceError] = None

    @property
    def pending(self) -> int:
        """Bytes buffered while waiting for the rest of a message."""
        return self._decoder.pending

    def push(self, data: BytesLike) -> None:
        """Appends received bytes."""
        self._decoder.push(bytes(data))

    def next(self) -> Optional[Message]:
        """The next whole message, or None when more bytes are needed."""
        if self._deferred is not None:
            error, self._deferred = self._deferred, None
            raise error
        got = self._decoder.next()
        if got is None:
            return None
        result: Message = json.loads(got[1])
        return result

    def feed(self, data: BytesLike) -> list[Message]:
        """Pushes ``data`` and returns every message now complete, in order.

        When a message cannot be decoded after others were taken in the same call,
        those are returned and the error is raised by the next call to :meth:`next`
        or :meth:`feed` (which pushes its bytes first), so that no message is lost.
        """
        self.push(data)
        messages: list[Message] = []
        while True:
            try:
                msg = self.next()
            except CceError as e:
                if not messages:
                    raise
                self._deferred = e
                break
            if msg is None:
                break
            messages.append(msg)
        return messages

    def __repr__(self) -> str:
        return f"<libcce.StreamDecoder pending={self.pending}>"


def decode(data: BytesLike, version: int, strict: bool = True) -> Message:
    """Decodes one whole message (8-byte header included) at a protocol version.

    ``strict`` (the default) refuses a count field that disagrees with the fields it
    counts and a known field whose length does not fit its type. With ``strict=False``
    such a message is kept: the count as received, the odd field as
    ``{"_raw": "<hex>"}`` under its name, each deviation listed in ``_warnings``; it
    re-encodes byte-identically with :func:`encode`.
    """
    _, text = _native.decode_json(bytes(data), version, strict)
    result: Message = json.loads(text)
    return result


def encode(msg: Mapping[str, Any], version: int) -> bytes:
    """Encodes a message at a protocol version, header included."""
    return _native.encode_json(_dumps(msg, "message"), version)
