"""Cisco Enterprise Chat and Email (ECE): hand a chat to an ECE agent.

* :class:`Client` — the Messaging API v19 (OAuth2 client credentials, conversation
  start, customer messages, conversation end).
* :class:`WebhookServer` — the HTTP server ECE posts agent events to.
* :class:`ChatWebServices` — the anonymous XML chat web services (availability,
  capacity, queue status, eligibility, chat allowed, surveys).
* :class:`Simulator` — an embedded ECE to test against.

Example::

    from libcce import ece

    with ece.Simulator() as sim, ece.WebhookServer(basic=("ece", "pw")) as hook:
        sim.set_webhook(hook.url, basic=("ece", "pw"))
        client = ece.Client(sim.server_url, "sim-key", "sim-secret", 1001)
        conv = client.start_conversation({"email": "ada@example.com"})
        print(hook.next_event(timeout=5))          # {"type": "assigned", ...}
        client.send_message(conv["id"], "Hello")

Errors are :class:`libcce.CceError` subclasses whose ``status`` is the HTTP status
(e.g. 409) and ``status_name`` the ECE error name (``"Unauthorized"``,
``"Forbidden"``, ``"NotFound"``, ``"StaleConfiguration"``, ``"ServerError"``,
``"Timeout"``, ``"Connect"``, ...). Every blocking call releases the GIL.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Optional, Union

from . import Closed, InvalidArgument, _native
from ._native import Event

__all__ = ["ChatWebServices", "Client", "Event", "Simulator", "WebhookServer"]

_BATCH = 256

# A webhook event is a :class:`libcce.Event` mapping: ``type`` (``assigned``,
# ``startTyping``, ``endTyping``, ``message``, ``complete`` or ``other``), ``type_value``
# (as received), ``conversation_id``, ``id``, ``timestamp`` (epoch ms), ``content``,
# ``sender`` (``system``/``user``/raw), ``agent`` (``{"name", "screen_name"}``),
# ``format`` (``html``/``plain`` for messages), ``raw`` (the event object as received)
# and, when something in the event was repaired (an escaped lone UTF-16 surrogate replaced
# by U+FFFD), ``warnings``.

_CONFIGURED = object()


def _dumps(value: Mapping[str, Any], what: str) -> str:
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{what} must be a mapping, not {type(value).__name__}")
    try:
        return json.dumps(dict(value), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidArgument(f"{what} is not JSON-serialisable: {e}") from e


def _start_request(
    customer: Optional[Mapping[str, Any]],
    send_typing_notification: bool,
    search_contact_on_attribute: Optional[str],
    activity: Optional[Mapping[str, Any]],
) -> dict[str, Any]:
    req: dict[str, Any] = {
        "customer": dict(customer or {}),
        "send_typing_notification": send_typing_notification,
        "search_contact_on_attribute": search_contact_on_attribute,
    }
    if activity is not None:
        req["activity"] = dict(activity)
    return req


def _survey(
    sid: str, answers: Iterable[Union[tuple[str, str], Mapping[str, str]]]
) -> dict[str, Any]:
    items = [
        dict(a) if isinstance(a, Mapping) else {"question": a[0], "answer": a[1]}
        for a in answers
    ]
    return {"sid": sid, "answers": items}


class Client:
    """A Messaging API client. Tokens and the entry point configuration are cached;
    a 401 triggers one re-login and retry; a 409 on start one configuration refresh
    and retry. Messages are never re-sent after a timeout or server error.

    ``options``: ``force_login`` (default True), ``accept_language``,
    ``token_refresh_ratio`` (0.9), ``end_conversation_path``, ``api_path``,
    ``connect_timeout_ms``, ``request_timeout_ms``, ``verify_tls`` (default True),
    ``ca_pem``, ``allow_http``, ``max_retries``, ``retry_base_ms``, ``retry_max_ms``,
    ``rate_limit_per_sec``, ``rate_limit_burst``, ``max_response_bytes``, ``trace``
    (each call as a ``libcce.wire`` log record, no bodies).
    """

    def __init__(
        self,
        server_url: str,
        client_key: str,
        client_secret: str,
        entry_point_id: int,
        **options: Any,
    ) -> None:
        config = {
            "server_url": server_url,
            "client_key": client_key,
            "client_secret": client_secret,
            "entry_point_id": entry_point_id,
            **options,
        }
        self._client = _native.EceClient(_dumps(config, "client config"))

    def login(self) -> None:
        """Logs in now (checks the credentials early); replaces any cached token."""
        self._client.login()

    @property
    def logins(self) -> int:
        """Logins made so far."""
        return self._client.logins

    def configuration(self, refresh: bool = False) -> dict[str, Any]:
        """The entry point configuration: ``entry_point_id``, ``last_modified``, ``raw``."""
        return json.loads(self._client.configuration_json(refresh))

    def start_conversation(
        self,
        customer: Optional[Mapping[str, Any]] = None,
        *,
        send_typing_notification: bool = True,
        search_contact_on_attribute: Optional[str] = "email.emailAddress",
        activity: Optional[Mapping[str, Any]] = None,
    ) -> dict[str, Any]:
        """Starts a conversation; returns ``{"id", "activity_id", "case_id"}``.

        ``customer`` keys: ``first_name``, ``last_name``, ``email``, ``phones`` (list of
        ``{"number", "type", "country_code", "area_code"}``), ``customer_type``.
        ``activity``: extra keys merged into the request's ``activity``.
        """
        req = _start_request(
            customer, send_typing_notification, search_contact_on_attribute, activity
        )
        return json.loads(self._client.start_conversation_json(_dumps(req, "start request")))

    def send_message(
        self, conversation_id: str, content: str, message_type: str = "text/html"
    ) -> None:
        """Sends a customer message (``text/html`` or ``text/plain``)."""
        self._client.send_message(conversation_id, content, message_type)

    def end_conversation(self, conversation_id: str) -> None:
        """Ends a conversation. The endpoint is an unverified guess (configurable with
        ``end_conversation_path``); a ``complete`` event should follow."""
        self._client.end_conversation(conversation_id)


class WebhookServer:
    """The HTTP server ECE posts events to (listens on ``bind``, default
    ``127.0.0.1:0``). Give exactly one of ``basic=(username, password)``,
    ``bearer=token`` or ``allow_unauthenticated=True`` (lab use only).

    ``options``: ``bind``, ``path`` (``"/"``), ``max_body_bytes``, ``max_depth``,
    ``max_events``, ``queue_capacity``, ``dedup_window``, ``max_connections`` (256),
    ``max_connections_per_peer`` (128), ``first_byte_timeout_ms`` (2000: a connection
    that sends nothing for that long is closed; when the limits are reached the oldest
    connection that never sent a byte makes room), ``read_timeout_ms``. POSTs need a
    JSON Content-Type (else 415). Events come in arrival order (so in order per conversation).
    """

    def __init__(
        self,
        *,
        basic: Optional[tuple[str, str]] = None,
        bearer: Optional[str] = None,
        allow_unauthenticated: bool = False,
        **options: Any,
    ) -> None:
        chosen = [basic is not None, bearer is not None, allow_unauthenticated]
        if sum(chosen) != 1:
            raise InvalidArgument("give exactly one of basic, bearer, allow_unauthenticated")
        auth: dict[str, Any]
        if basic is not None:
            auth = {"basic": {"username": basic[0], "password": basic[1]}}
        elif bearer is not None:
            auth = {"bearer": bearer}
        else:
            auth = {"none": True}
        self._hook = _native.EceWebhook(_dumps({"auth": auth, **options}, "webhook config"))
        self._stopped = False
        self._buffer: collections.deque[Event] = collections.deque()

    @property
    def port(self) -> int:
        """Listening port."""
        return self._hook.port

    @property
    def url(self) -> str:
        """Callback URL on the listening address (``http://127.0.0.1:PORT/PATH``)."""
        return self._hook.url

    def next_events(self, max: int = _BATCH, timeout: Optional[float] = None) -> list[Event]:
        """The events queued together (at most ``max``), or an empty list after
        ``timeout`` seconds (None: wait for one). Raises :class:`libcce.Closed` once
        stopped and every event was taken."""
        if self._buffer:
            return [self._buffer.popleft() for _ in range(min(max, len(self._buffer)))]
        return self._hook.next_events(max, timeout)

    def next_event(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event, or None after ``timeout`` seconds (None: wait for one).
        Raises :class:`libcce.Closed` once stopped and every event was taken."""
        if not self._buffer:
            self._buffer.extend(self.next_events(_BATCH, timeout))
            if not self._buffer:
                return None
        return self._buffer.popleft()

    def events(self, timeout: Optional[float] = None) -> Iterator[Event]:
        """Iterates over events until none comes within ``timeout`` or the server stops."""
        while True:
            try:
                ev = self.next_event(timeout)
            except Closed:
                return
            if ev is None:
                return
            yield ev

    def stats(self) -> dict[str, int]:
        """Counters: requests, accepted, events, duplicates, unroutable, unauthorized,
        bad_bodies, bad_requests, overloaded."""
        return json.loads(self._hook.stats_json())

    def stop(self) -> None:
        """Stops the server; queued events can still be read."""
        self._hook.stop()
        self._stopped = True

    def __enter__(self) -> WebhookServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._stopped:
            try:
                self.stop()
            except Closed:
                pass


class ChatWebServices:
    """The anonymous XML chat web services under a context root such as
    ``https://ece.example.com/system``. ``options``: ``paths`` (overrides),
    ``try_alternate_segment`` (default True), ``max_xml_bytes`` and the HTTP options
    of :class:`Client`."""

    def __init__(self, base_url: str, **options: Any) -> None:
        self._ws = _native.EceChatWs(_dumps({"base_url": base_url, **options}, "chat ws config"))

    def agent_availability(self, entry_point_id: int) -> bool:
        """Whether an agent is available for the entry point's chats."""
        return self._ws.agent_availability(entry_point_id)

    def capacity(self, entry_point_id: int) -> int:
        """Remaining chat slots of the entry point's agents."""
        return self._ws.capacity(entry_point_id)

    def live_session_status(self, entry_point_id: int) -> dict[str, Union[float, int]]:
        """``{"wait_time": seconds, "queue_depth": n}``."""
        wait, depth = self._ws.live_session_status(entry_point_id)
        return {"wait_time": wait, "queue_depth": depth}

    def check_eligibility(self, entry_point_id: int) -> dict[str, Any]:
        """``{"code": responseType, "name": "eligible" | "no_agent_available" |
        "queue_full" | "agent_limit_reached" | "other"}``."""
        code, name = self._ws.check_eligibility(entry_point_id)
        return {"code": code, "name": name}

    def chat_allowed(self, entry_point_id: int) -> dict[str, Any]:
        """``{"allowed": bool, "reason": str | None}``."""
        allowed, reason = self._ws.chat_allowed(entry_point_id)
        return {"allowed": allowed, "reason": reason}

    def submit_survey(
        self, sid: str, answers: Iterable[Union[tuple[str, str], Mapping[str, str]]]
    ) -> None:
        """Submits survey answers, given as ``(question, answer)`` pairs or dicts."""
        self._ws.submit_survey_json(_dumps(_survey(sid, answers), "survey"))


class Simulator:
    """An embedded ECE (plain HTTP on loopback): tokens, configuration, conversations,
    an agent that answers through your webhook, chat web services, fault injection.

    ``config`` keys (all optional): ``client_key`` (``sim-key``), ``client_secret``
    (``sim-secret``), ``token_lifetime_secs``, ``entry_points`` (``[1001]``),
    ``context_root`` (``/system``), ``webhook``, ``agent`` (``name``,
    ``screen_name``, ``reply``: ``"echo"``/text/None, ``complete_on``: ``"bye"``,
    ``assign``), ``chat`` (answers of the chat web services), ``chat_paths``
    (``both``/``guide``/``entrypoint``).
    """

    def __init__(self, config: Optional[Mapping[str, Any]] = None) -> None:
        self._sim = _native.EceSim(_dumps(config or {}, "simulator config"))
        self._stopped = False

    @property
    def server_url(self) -> str:
        """``http://127.0.0.1:PORT``: the :class:`Client`'s ``server_url``."""
        return self._sim.server_url

    @property
    def chat_base_url(self) -> str:
        """The :class:`ChatWebServices` base URL."""
        return self._sim.chat_base_url

    @property
    def port(self) -> int:
        """Listening port."""
        return self._sim.port

    def control(self, op: str, **args: Any) -> dict[str, Any]:
        """Runs a simulator command (see ``docs/ece.md``) and returns its answer."""
        return json.loads(self._sim.control(_dumps({"op": op, **args}, "command")))

    def set_webhook(
        self,
        url: Optional[str],
        *,
        basic: Optional[tuple[str, str]] = None,
        bearer: Optional[str] = None,
    ) -> None:
        """Where the agent's events go (None: nowhere), with these credentials."""
        args: dict[str, Any] = {}
        if url is not None:
            args["url"] = url
        if basic is not None:
            args["basic"] = {"username": basic[0], "password": basic[1]}
        if bearer is not None:
            args["bearer"] = bearer
        self.control("set_webhook", **args)

    def fail_next(self, endpoint: str, status: int, count: int = 1) -> None:
        """The next ``count`` requests to ``endpoint`` (``token``, ``configuration``,
        ``start``, ``send_message``, ``end``, ``agent_availability``, ``capacity``,
        ``live_session_status``, ``check_eligibility``, ``chat_allowed``, ``survey``)
        get ``status``."""
        self.control("fail_next", endpoint=endpoint, status=status, count=count)

    def set_delay(self, endpoint: str, seconds: float) -> None:
        """Delays every answer of ``endpoint`` (0: no delay)."""
        self.control("set_delay", endpoint=endpoint, ms=int(seconds * 1000))

    def expire_tokens(self) -> None:
        """Expires every token: the next authenticated call gets 401."""
        self.control("expire_tokens")

    def touch_configuration(self, entry_point: int) -> None:
        """Changes ``lastModified``: the next start with the old value gets 409."""
        self.control("touch_configuration", entry_point=entry_point)

    def agent_say(self, conversation_id: str, text: str) -> None:
        """The agent types and sends ``text``."""
        self.control("agent_say", conversation_id=conversation_id, text=text)

    def agent_event(
        self, conversation_id: str, type_value: str, content: Optional[str] = None
    ) -> None:
        """The agent sends an event of any ``type.value``."""
        self.control(
            "agent_event", conversation_id=conversation_id, type=type_value, content=content
        )

    def agent_complete(self, conversation_id: str) -> None:
        """The agent ends the conversation."""
        self.control("agent_complete", conversation_id=conversation_id)

    def webhook_raw(
        self,
        body: str,
        content_type: str = "application/json",
        authorization: Any = _CONFIGURED,
    ) -> int:
        """POSTs ``body`` to the webhook and returns the HTTP status it answered.
        ``authorization``: omitted = configured credentials, None = none, str = header."""
        args: dict[str, Any] = {"body": body, "content_type": content_type}
        if authorization is not _CONFIGURED:
            args["authorization"] = authorization
        return int(self.control("webhook_raw", **args)["status"])

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Waits until every queued webhook POST was made; False on timeout."""
        return bool(self.control("wait_idle", timeout_ms=int(timeout * 1000))["idle"])

    def stats(self) -> dict[str, Any]:
        """Logins, requests per endpoint, conversations, webhook deliveries, surveys."""
        return self.control("stats")

    def stop(self) -> None:
        """Stops the simulator."""
        self._sim.stop()
        self._stopped = True

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._stopped:
            try:
                self.stop()
            except Closed:
                pass
