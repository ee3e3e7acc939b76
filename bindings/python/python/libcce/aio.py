"""asyncio flavour of :class:`libcce.CtiSession`.

Blocking calls run in worker threads (:func:`asyncio.to_thread`); events are pumped
by one daemon thread per session into an :class:`asyncio.Queue`, so waiting for an
event can be cancelled without losing one. :class:`libcce.Simulator` needs no async
wrapper: its calls return at once.

Example::

    async with await libcce.aio.CtiSession.open(address=..., client_id="demo") as s:
        conf = await s.request({"MessageName": "QUERY_AGENT_STATE_REQ", ...})
        async for event in s.events(timeout=5):
            ...
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any, Optional

from . import _HELPERS, Closed, Event, Message, Timeout
from . import CtiSession as _SyncSession

__all__ = ["CtiSession"]


def _is_last(event: Event) -> bool:
    return event.get("MessageType") == 0 and event.get("MessageName") == "SESSION_CLOSED"


class CtiSession:
    """An open CTI session with coroutine methods. Create it with :meth:`open` or
    :meth:`connect`; use it as an async context manager to close it on exit."""

    def __init__(self, session: _SyncSession) -> None:
        """Wraps an open blocking session (which must not be read from elsewhere)."""
        self._session = session
        self._queue: Optional[asyncio.Queue[Event]] = None
        self._finished = False

    @classmethod
    async def connect(cls, config: Mapping[str, Any]) -> CtiSession:
        """Opens a session from a configuration dict (see :class:`libcce.CtiSession`)."""
        return cls(await asyncio.to_thread(_SyncSession, config))

    @classmethod
    async def open(
        cls, address: str, client_id: str, version: int = 24, **options: Any
    ) -> CtiSession:
        """Opens a session; ``options`` are the other configuration keys."""
        config = {"address": address, "client_id": client_id, "version": version, **options}
        return await cls.connect(config)

    @property
    def sync(self) -> _SyncSession:
        """The underlying blocking session."""
        return self._session

    @property
    def open_conf(self) -> Message:
        """The OPEN_CONF the server answered with."""
        return self._session.open_conf

    @property
    def version(self) -> int:
        """Protocol version of the session."""
        return self._session.version

    def send(self, msg: Mapping[str, Any]) -> int:
        """Sends a message without waiting (this does not block); returns its InvokeID."""
        return self._session.send(msg)

    async def request(self, msg: Mapping[str, Any], timeout: Optional[float] = None) -> Message:
        """Sends a request and returns its confirmation (see :meth:`libcce.CtiSession.request`)."""
        return await asyncio.to_thread(self._session.request, msg, timeout)

    async def call(
        self, name: str, fields: Optional[Mapping[str, Any]] = None, /, *,
        timeout: Optional[float] = None, **kw: Any,
    ) -> Message:
        """Sends request ``name`` and returns its confirmation (see :meth:`libcce.CtiSession.call`)."""
        return await asyncio.to_thread(self._session.call, name, fields, timeout=timeout, **kw)

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
        return self._session.model()

    def state(self) -> dict[str, Any]:
        """The link state (see :meth:`libcce.CtiSession.state`); does not block."""
        return self._session.state()

    def _events_queue(self) -> asyncio.Queue[Event]:
        if self._queue is None:
            loop = asyncio.get_running_loop()
            queue: asyncio.Queue[Event] = asyncio.Queue()

            def deliver(event: Event) -> None:
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, event)
                except RuntimeError:
                    pass  # the event loop is closed: nobody is listening any more

            self._session.on_event(deliver)
            self._queue = queue
        return self._queue

    async def next_event(self, timeout: Optional[float] = None) -> Optional[Event]:
        """Waits for the next event; None if none came within ``timeout`` seconds.

        Raises :class:`libcce.Closed` after the final ``SESSION_CLOSED`` was returned.
        """
        if self._finished:
            raise Closed("session closed: no more events")
        queue = self._events_queue()
        try:
            event = await asyncio.wait_for(queue.get(), timeout)
        except asyncio.TimeoutError:
            return None
        if _is_last(event):
            self._finished = True
        return event

    async def events(self, timeout: Optional[float] = None) -> AsyncIterator[Event]:
        """Iterates over events until ``SESSION_CLOSED`` (included); raises
        :class:`libcce.Timeout` when no event comes within ``timeout`` seconds."""
        while not self._finished:
            event = await self.next_event(timeout)
            if event is None:
                raise Timeout(f"no event within {timeout} s")
            yield event

    async def close(self) -> Event:
        """Closes the session and returns the ``SESSION_CLOSED`` event."""
        return await asyncio.to_thread(self._session.close)

    async def __aenter__(self) -> CtiSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
