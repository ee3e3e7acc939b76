"""asyncio API of libcce: CTI sessions, GC sessions and ECE clients whose awaitables
are completed by the library's own runtime.

Every coroutine starts the matching native future on libcce's tokio runtime; when it
ends, the result is handed to the event loop with ``loop.call_soon_threadsafe``. No
thread is started per session and no executor per call. Events come in batches: one
native wait delivers every event that arrived together, and ``async for`` hands them
out one by one. Cancelling a wait (``asyncio.wait_for``, task cancellation) loses no
event: a batch that arrives after the cancellation is kept for the next read.

Example::

    async with libcce.aio.CtiSession.open(address=..., client_id="demo") as s:
        conf = await s.request({"MessageName": "QUERY_AGENT_STATE_REQ", ...})
        async for event in s.events(timeout=5):
            print(event["MessageName"])

``open`` returns an object that is both awaitable (``s = await ....open(...)``) and an
async context manager (``async with ....open(...) as s``, which closes on exit).
:class:`libcce.Simulator` needs no async wrapper: its calls return at once.
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import AsyncIterator, Awaitable, Generator, Mapping
from typing import Any, Callable, Generic, Optional, TypeVar, Union

from . import (
    _HELPERS,
    BATCH,
    Closed,
    Event,
    InvalidArgument,
    Message,
    Timeout,
    _dumps,
    _native,
)
from . import CtiSession as _SyncSession
from . import ece as _ece
from . import gc as _gc

__all__ = [
    "CtiSession",
    "EceChatWebServices",
    "EceClient",
    "EceWebhookServer",
    "GcSession",
    "Opening",
]

T = TypeVar("T")
S = TypeVar("S")

Starter = Callable[[asyncio.AbstractEventLoop, Callable[[bool, Any], None]], None]


async def _run(start: Starter) -> Any:
    """Starts a native future with ``start(loop, done)`` and awaits its result. A
    result that comes after this coroutine was cancelled is dropped."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[Any] = loop.create_future()

    def done(ok: bool, value: Any) -> None:
        if fut.done():
            return  # cancelled meanwhile
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    start(loop, done)
    return await fut


class Opening(Generic[S]):
    """What ``open`` returns: await it for the open session, or use it with
    ``async with`` (the session is closed on exit)."""

    def __init__(self, opener: Callable[[], Awaitable[S]]) -> None:
        self._opener = opener
        self._value: Optional[S] = None

    async def _open(self) -> S:
        if self._value is None:
            self._value = await self._opener()
        return self._value

    def __await__(self) -> Generator[Any, None, S]:
        return self._open().__await__()

    async def __aenter__(self) -> S:
        return await self._open()

    async def __aexit__(self, *exc_info: object) -> None:
        if self._value is not None:
            await self._value.close()  # type: ignore[attr-defined]


class _Events:
    """Batches of a native event source, fetched one native wait at a time. The wait
    runs without a timeout (it ends with an event, or when the source is closed), so a
    caller's timeout or cancellation never loses a batch: it is kept for the next read."""

    def __init__(self, native: Any, end: Callable[[Event], bool]) -> None:
        self._native = native
        self._end = end
        self._pending: collections.deque[Event] = collections.deque()
        self._error: Optional[BaseException] = None
        self._inflight: Optional[asyncio.Future[None]] = None
        self.finished = False

    def _fetch(self) -> asyncio.Future[None]:
        if self._inflight is None:
            loop = asyncio.get_running_loop()
            fut: asyncio.Future[None] = loop.create_future()
            self._inflight = fut

            def done(ok: bool, value: Any) -> None:
                self._inflight = None
                if ok:
                    self._pending.extend(value)
                else:
                    self._error = value
                if not fut.done():
                    fut.set_result(None)

            self._native.next_events_async(loop, done, BATCH, None)
        return self._inflight

    async def batch(self, max: int, timeout: Optional[float]) -> list[Event]:
        if max < 1:
            raise InvalidArgument("max must be at least 1")
        if not self._pending and self._error is None:
            if self.finished:
                raise Closed("no more events")
            fut = self._fetch()
            try:
                await asyncio.wait_for(asyncio.shield(fut), timeout)
            except asyncio.TimeoutError:
                return []
        if self._pending:
            out: list[Event] = []
            while self._pending and len(out) < max:
                ev = self._pending.popleft()
                out.append(ev)
                if self._end(ev):
                    self.finished = True
                    self._pending.clear()
                    break
            return out
        error, self._error = self._error, None
        if isinstance(error, Closed):
            self.finished = True
        assert error is not None
        raise error

    async def next(self, timeout: Optional[float]) -> Optional[Event]:
        got = await self.batch(1, timeout)
        return got[0] if got else None

    async def iterate(self, timeout: Optional[float], what: str) -> AsyncIterator[Event]:
        while not self.finished:
            try:
                batch = await self.batch(BATCH, timeout)
            except Closed:
                return
            if not batch:
                raise Timeout(f"no {what} within {timeout} s")
            for ev in batch:
                yield ev


def _loads(text: str) -> Any:
    return json.loads(text)


class CtiSession:
    """An open CTI session with coroutine methods. Create it with :meth:`open` or
    :meth:`connect`; use it as an async context manager to close it on exit."""

    def __init__(self, native: Any) -> None:
        """Wraps an open native session (``libcce._native.CtiSession``)."""
        self._session = native
        self._open_conf: Message = json.loads(native.open_conf_json())
        self._events = _Events(native, lambda ev: bool(ev.last))
        self._sync: Optional[_SyncSession] = None

    @classmethod
    def connect(cls, config: Mapping[str, Any]) -> Opening[CtiSession]:
        """Opens a session from a configuration dict (see :class:`libcce.CtiSession`)."""
        text = _dumps(config, "session config")

        async def opener() -> CtiSession:
            native = await _run(
                lambda loop, done: _native.CtiSession.open_async(loop, done, text)
            )
            return cls(native)

        return Opening(opener)

    @classmethod
    def open(
        cls, address: str, client_id: str, version: int = 24, **options: Any
    ) -> Opening[CtiSession]:
        """Opens a session; ``options`` are the other configuration keys."""
        return cls.connect(
            {"address": address, "client_id": client_id, "version": version, **options}
        )

    @property
    def sync(self) -> _SyncSession:
        """A blocking view of the same session (do not read events from both)."""
        if self._sync is None:
            s = _SyncSession.__new__(_SyncSession)
            _SyncSession._adopt(s, self._session)
            self._sync = s
        return self._sync

    @property
    def open_conf(self) -> Message:
        """The OPEN_CONF the server answered with."""
        return self._open_conf

    @property
    def version(self) -> int:
        """Protocol version of the session."""
        return int(self._session.version)

    def send(self, msg: Mapping[str, Any]) -> int:
        """Sends a message without waiting (this does not block); returns its InvokeID."""
        return int(self._session.send_json(_dumps(msg, "message")))

    async def request(self, msg: Mapping[str, Any], timeout: Optional[float] = None) -> Message:
        """Sends a request and returns its confirmation (see :meth:`libcce.CtiSession.request`)."""
        text = _dumps(msg, "message")
        _, conf = await _run(
            lambda loop, done: self._session.request_json_async(loop, done, text, timeout)
        )
        return _loads(conf)  # type: ignore[no-any-return]

    async def call(
        self, name: str, fields: Optional[Mapping[str, Any]] = None, /, *,
        timeout: Optional[float] = None, **kw: Any,
    ) -> Message:
        """Sends request ``name`` and returns its confirmation (see :meth:`libcce.CtiSession.call`)."""
        text = _dumps({**(fields or {}), **kw}, "fields")
        _, conf = await _run(
            lambda loop, done: self._session.call_json_async(loop, done, name, text, timeout)
        )
        return _loads(conf)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        if name in _HELPERS:
            async def helper(fields: Optional[Mapping[str, Any]] = None, /, *,
                             timeout: Optional[float] = None, **kw: Any) -> Message:
                return await self.call(name, fields, timeout=timeout, **kw)
            helper.__name__ = name
            return helper
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def model(self) -> dict[str, Any]:
        """The live model (see :meth:`libcce.CtiSession.model`); does not block."""
        return _loads(self._session.model_json())  # type: ignore[no-any-return]

    def state(self) -> dict[str, Any]:
        """The link state (see :meth:`libcce.CtiSession.state`); does not block."""
        return _loads(self._session.state_json())  # type: ignore[no-any-return]

    def stats(self) -> dict[str, Any]:
        """The session's counters (see :meth:`libcce.CtiSession.stats`)."""
        return _loads(self._session.stats_json())  # type: ignore[no-any-return]

    async def next_events(self, max: int = BATCH, timeout: Optional[float] = None) -> list[Event]:
        """The events that arrived together (at most ``max``); an empty list if none
        came within ``timeout`` seconds. Raises :class:`libcce.Closed` after the final
        ``SESSION_CLOSED`` was returned."""
        return await self._events.batch(max, timeout)

    async def next_event(self, timeout: Optional[float] = None) -> Optional[Event]:
        """Waits for the next event; None if none came within ``timeout`` seconds.

        Raises :class:`libcce.Closed` after the final ``SESSION_CLOSED`` was returned.
        """
        return await self._events.next(timeout)

    def events(self, timeout: Optional[float] = None) -> AsyncIterator[Event]:
        """Iterates over events until ``SESSION_CLOSED`` (included); raises
        :class:`libcce.Timeout` when no event comes within ``timeout`` seconds."""
        return self._events.iterate(timeout, "event")

    async def close(self) -> dict[str, Any]:
        """Closes the session and returns the ``SESSION_CLOSED`` event as a dict."""
        text = await _run(lambda loop, done: self._session.close_async(loop, done))
        return _loads(text)  # type: ignore[no-any-return]

    async def __aenter__(self) -> CtiSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<libcce.aio.CtiSession version={self.version}>"


class GcSession:
    """A GC client (see :class:`libcce.gc.GcSession`) with coroutine methods. Create it
    with :meth:`open`; use it as an async context manager to close it on exit."""

    def __init__(self, native: Any) -> None:
        """Wraps an open native session (``libcce._native.GcSession``)."""
        self._session = native
        self._events = _Events(native, lambda ev: bool(ev.last))

    @classmethod
    def open(
        cls, config: Optional[Mapping[str, Any]] = None, **options: Any
    ) -> Opening[GcSession]:
        """Connects (returns once a broker link is up); keyword configuration as for
        :class:`libcce.gc.GcSession`."""
        cfg = dict(config or {})
        cfg.update(options)
        text = _dumps(cfg, "GC config")

        async def opener() -> GcSession:
            native = await _run(lambda loop, done: _native.GcSession.open_async(loop, done, text))
            return cls(native)

        return Opening(opener)

    async def send(self, command: str, agent_id: Optional[str] = None, **params: Any) -> None:
        """Sends ``command`` with its parameters; returns once the broker has it."""
        cmd: dict[str, Any] = {"command": command, **params}
        if agent_id is not None:
            cmd["agent_id"] = agent_id
        text = _dumps(cmd, "command")
        await _run(lambda loop, done: self._session.send_json_async(loop, done, text))

    async def login(self, agent_id: str, password: str, extension: str) -> None:
        """``Connect`` + ``Login`` (see :meth:`libcce.gc.GcSession.login`)."""
        await self.send("Login", agent_id, password=password, extension=extension)

    @property
    def state(self) -> dict[str, Any]:
        """Link and GC status (see :attr:`libcce.gc.GcSession.state`)."""
        return _loads(self._session.state_json())  # type: ignore[no-any-return]

    async def next_events(self, max: int = BATCH, timeout: Optional[float] = None) -> list[Event]:
        """The events queued together (at most ``max``); an empty list after ``timeout``
        seconds. Raises :class:`libcce.Closed` after the last event."""
        return await self._events.batch(max, timeout)

    async def next_event(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event, or None after ``timeout`` seconds."""
        return await self._events.next(timeout)

    def events(self, timeout: Optional[float] = None) -> AsyncIterator[Event]:
        """Iterates over events until ``Closed`` (included); raises
        :class:`libcce.Timeout` when ``timeout`` seconds pass without one."""
        return self._events.iterate(timeout, "GC event")

    async def wait_for(
        self,
        event: Union[str, Callable[[Event], bool]],
        agent_id: Optional[str] = None,
        timeout: float = 10.0,
        **fields: Any,
    ) -> Event:
        """The first event named ``event`` (or matching the predicate) for ``agent_id``
        with the given field values, skipping others; :class:`libcce.Timeout` after
        ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise Timeout(f"no matching GC event {event!r} within {timeout} s")
            ev = await self.next_event(left)
            if ev is not None and _gc._matches(ev, event, agent_id, fields):
                return ev

    async def close(self) -> None:
        """Closes the broker link (safe to call more than once)."""
        await _run(lambda loop, done: self._session.close_async(loop, done))

    async def __aenter__(self) -> GcSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class EceClient:
    """The ECE Messaging API client (see :class:`libcce.ece.Client`, same arguments)
    with coroutine methods."""

    def __init__(
        self, server_url: str, client_key: str, client_secret: str, entry_point_id: int,
        **options: Any,
    ) -> None:
        self.sync = _ece.Client(server_url, client_key, client_secret, entry_point_id, **options)
        """The blocking client on the same connection pool and token."""
        self._client = self.sync._client

    async def login(self) -> None:
        """Logs in now; replaces any cached token."""
        await _run(lambda loop, done: self._client.login_async(loop, done))

    @property
    def logins(self) -> int:
        """Logins made so far."""
        return int(self._client.logins)

    async def configuration(self, refresh: bool = False) -> dict[str, Any]:
        """The entry point configuration (see :meth:`libcce.ece.Client.configuration`)."""
        text = await _run(
            lambda loop, done: self._client.configuration_json_async(loop, done, refresh)
        )
        return _loads(text)  # type: ignore[no-any-return]

    async def start_conversation(
        self,
        customer: Optional[Mapping[str, Any]] = None,
        *,
        send_typing_notification: bool = True,
        search_contact_on_attribute: Optional[str] = "email.emailAddress",
        activity: Optional[Mapping[str, Any]] = None,
    ) -> dict[str, Any]:
        """Starts a conversation; returns ``{"id", "activity_id", "case_id"}``."""
        req = _ece._start_request(
            customer, send_typing_notification, search_contact_on_attribute, activity
        )
        text = _dumps(req, "start request")
        answer = await _run(
            lambda loop, done: self._client.start_conversation_json_async(loop, done, text)
        )
        return _loads(answer)  # type: ignore[no-any-return]

    async def send_message(
        self, conversation_id: str, content: str, message_type: str = "text/html"
    ) -> None:
        """Sends a customer message (``text/html`` or ``text/plain``)."""
        await _run(
            lambda loop, done: self._client.send_message_async(
                loop, done, conversation_id, content, message_type
            )
        )

    async def end_conversation(self, conversation_id: str) -> None:
        """Ends a conversation (see :meth:`libcce.ece.Client.end_conversation`)."""
        await _run(
            lambda loop, done: self._client.end_conversation_async(loop, done, conversation_id)
        )


class EceChatWebServices:
    """The anonymous chat web services (see :class:`libcce.ece.ChatWebServices`, same
    arguments) with coroutine methods."""

    def __init__(self, base_url: str, **options: Any) -> None:
        self.sync = _ece.ChatWebServices(base_url, **options)
        """The blocking client."""
        self._ws = self.sync._ws

    async def agent_availability(self, entry_point_id: int) -> bool:
        """Whether an agent is available for the entry point's chats."""
        return bool(
            await _run(lambda lp, d: self._ws.agent_availability_async(lp, d, entry_point_id))
        )

    async def capacity(self, entry_point_id: int) -> int:
        """Remaining chat slots of the entry point's agents."""
        return int(await _run(lambda lp, d: self._ws.capacity_async(lp, d, entry_point_id)))

    async def live_session_status(self, entry_point_id: int) -> dict[str, Union[float, int]]:
        """``{"wait_time": seconds, "queue_depth": n}``."""
        wait, depth = await _run(
            lambda lp, d: self._ws.live_session_status_async(lp, d, entry_point_id)
        )
        return {"wait_time": wait, "queue_depth": depth}

    async def check_eligibility(self, entry_point_id: int) -> dict[str, Any]:
        """``{"code": responseType, "name": ...}``."""
        code, name = await _run(
            lambda lp, d: self._ws.check_eligibility_async(lp, d, entry_point_id)
        )
        return {"code": code, "name": name}

    async def chat_allowed(self, entry_point_id: int) -> dict[str, Any]:
        """``{"allowed": bool, "reason": str | None}``."""
        allowed, reason = await _run(
            lambda lp, d: self._ws.chat_allowed_async(lp, d, entry_point_id)
        )
        return {"allowed": allowed, "reason": reason}

    async def submit_survey(self, sid: str, answers: Any) -> None:
        """Submits survey answers, given as ``(question, answer)`` pairs or dicts."""
        text = _dumps(_ece._survey(sid, answers), "survey")
        await _run(lambda lp, d: self._ws.submit_survey_json_async(lp, d, text))


class EceWebhookServer:
    """The webhook server (see :class:`libcce.ece.WebhookServer`, same arguments) with
    coroutine event reads. Use it as an async context manager to stop it on exit."""

    def __init__(self, **kwargs: Any) -> None:
        self.sync = _ece.WebhookServer(**kwargs)
        """The blocking server (``stop``, ``stats``)."""
        self._events = _Events(self.sync._hook, lambda ev: False)

    @property
    def port(self) -> int:
        """Listening port."""
        return self.sync.port

    @property
    def url(self) -> str:
        """Callback URL on the listening address."""
        return self.sync.url

    async def next_events(self, max: int = BATCH, timeout: Optional[float] = None) -> list[Event]:
        """The events queued together (at most ``max``); an empty list after ``timeout``
        seconds. Raises :class:`libcce.Closed` once stopped and every event was taken."""
        return await self._events.batch(max, timeout)

    async def next_event(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event, or None after ``timeout`` seconds."""
        return await self._events.next(timeout)

    async def events(self, timeout: Optional[float] = None) -> AsyncIterator[Event]:
        """Iterates over events until none comes within ``timeout`` or the server stops."""
        while True:
            try:
                batch = await self._events.batch(BATCH, timeout)
            except Closed:
                return
            if not batch:
                return
            for ev in batch:
                yield ev

    def stats(self) -> dict[str, int]:
        """Counters (see :meth:`libcce.ece.WebhookServer.stats`)."""
        return self.sync.stats()

    def stop(self) -> None:
        """Stops the server; queued events can still be read."""
        self.sync.stop()

    async def __aenter__(self) -> EceWebhookServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.sync.__exit__(*exc_info)
