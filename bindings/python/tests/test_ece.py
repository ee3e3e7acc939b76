"""End-to-end tests of the ECE part of the Python binding against the embedded ECE
simulator, through the real HTTP stack on 127.0.0.1. Waits have timeouts; no sleeps."""

from __future__ import annotations

from collections.abc import Iterator

import libcce
import pytest
from libcce import ece

WAIT = 5.0


@pytest.fixture
def rig() -> Iterator[tuple[ece.Simulator, ece.WebhookServer, ece.Client]]:
    with ece.Simulator() as sim, ece.WebhookServer(basic=("ece", "pw")) as hook:
        sim.set_webhook(hook.url, basic=("ece", "pw"))
        client = ece.Client(sim.server_url, "sim-key", "sim-secret", 1001, retry_base_ms=10)
        yield sim, hook, client


def next_event(hook: ece.WebhookServer) -> ece.Event:
    ev = hook.next_event(timeout=WAIT)
    assert ev is not None, "no webhook event in time"
    return ev


def test_full_chat_from_start_to_completion(rig) -> None:
    sim, hook, client = rig
    conv = client.start_conversation(
        {"first_name": "Ada", "email": "ada@example.com", "phones": [{"number": "5551234"}]}
    )
    cid = conv["id"]
    assigned = next_event(hook)
    assert assigned["type"] == "assigned"
    assert assigned["conversation_id"] == cid
    assert assigned["agent"]["screen_name"] == "agent1"

    client.send_message(cid, "Hello from Python")
    assert [next_event(hook)["type"] for _ in range(2)] == ["startTyping", "endTyping"]
    reply = next_event(hook)
    assert reply["type"] == "message" and reply["format"] == "html"
    assert reply["content"] == "You said: Hello from Python"

    sim.agent_event(cid, "transfer", "to queue 2")
    other = next_event(hook)
    assert (other["type"], other["type_value"], other["raw"]["content"]) == (
        "other",
        "transfer",
        "to queue 2",
    )

    client.send_message(cid, "bye", "text/plain")
    types = [next_event(hook)["type"] for _ in range(4)]
    assert types == ["startTyping", "endTyping", "message", "complete"]

    with pytest.raises(libcce.Closed) as e:
        client.send_message(cid, "anyone?")
    assert (e.value.status, e.value.status_name) == (404, "NotFound")

    stats = sim.stats()
    c = stats["conversations"][0]
    assert c["email"] == "ada@example.com" and c["ended"]
    assert [m["content"] for m in c["messages"]] == ["Hello from Python", "bye"]
    assert stats["logins"] == 1
    assert hook.stats()["events"] == 9


def test_token_expiry_triggers_one_relogin(rig) -> None:
    sim, _, client = rig
    client.configuration(refresh=True)
    sim.expire_tokens()
    assert client.configuration(refresh=True)["entry_point_id"] == 1001
    assert sim.stats()["logins"] == 2 == client.logins
    sim.control("set_token_lifetime", secs=0)
    sim.expire_tokens()
    with pytest.raises(libcce.Refused) as e:
        client.configuration(refresh=True)
    assert (e.value.status, e.value.status_name) == (401, "Unauthorized")
    assert sim.stats()["logins"] == 3


def test_stale_configuration_is_recovered(rig) -> None:
    sim, hook, client = rig
    client.start_conversation({"email": "a@b.c"})
    sim.touch_configuration(1001)
    conv = client.start_conversation({"email": "a@b.c"})
    assert conv["id"]
    requests = sim.stats()["requests"]
    assert (requests["configuration"], requests["start"]) == (2, 3)
    sim.fail_next("start", 409, count=2)
    with pytest.raises(libcce.Refused) as e:
        client.start_conversation()
    assert (e.value.status, e.value.status_name) == (409, "StaleConfiguration")
    # Protocol-neutral fields: an HTTP status is the ECE protocol's code.
    assert (e.value.kind, e.value.protocol) == ("Refused", "ece")
    assert (e.value.code, e.value.code_name) == (409, "StaleConfiguration")


def test_send_failures_are_not_retried(rig) -> None:
    sim, hook, client = rig
    cid = client.start_conversation()["id"]
    sim.fail_next("send_message", 500)
    with pytest.raises(libcce.Refused) as e:
        client.send_message(cid, "x")
    assert e.value.status_name == "ServerError"
    assert sim.stats()["requests"]["send_message"] == 1
    with pytest.raises(libcce.InvalidArgument):
        client.send_message(cid, "x", "image/png")


def test_slow_answers_time_out() -> None:
    with ece.Simulator() as sim:
        client = ece.Client(sim.server_url, "sim-key", "sim-secret", 1001, request_timeout_ms=200)
        sim.set_delay("configuration", 2.0)
        with pytest.raises(libcce.Timeout) as e:
            client.configuration()
        assert e.value.status_name == "Timeout"


def test_webhook_auth_failure(rig) -> None:
    sim, hook, client = rig
    sim.set_webhook(hook.url, basic=("ece", "wrong"))
    client.start_conversation()
    assert sim.wait_idle(WAIT)
    assert [d["status"] for d in sim.stats()["deliveries"]] == [401]
    assert sim.webhook_raw("{}", authorization=None) == 401
    assert sim.webhook_raw("{}", authorization="Bearer pw") == 401
    assert hook.stats()["unauthorized"] == 3
    assert hook.next_event(timeout=0.01) is None


def test_malformed_webhook_bodies(rig) -> None:
    sim, hook, _ = rig
    assert sim.webhook_raw("{") == 400
    assert sim.webhook_raw('{"message": 1}') == 400
    assert sim.webhook_raw("[" * 50_000 + "]" * 50_000) == 400
    assert sim.webhook_raw('{"message": [], "pad": "' + "x" * (2 << 20) + '"}') == 413
    assert sim.webhook_raw("<message/>", content_type="text/xml") == 415
    ok = '{"message":[{"conversation":{"id":"c1"},"type":{"value":"startTyping"},"id":"7"}]}'
    assert sim.webhook_raw(ok) == 204
    assert next_event(hook)["type"] == "startTyping"
    assert sim.webhook_raw(ok) == 204  # an ECE retry: de-duplicated
    assert hook.stats()["duplicates"] == 1
    assert hook.stats()["bad_bodies"] == 5


def test_chat_web_services() -> None:
    with ece.Simulator({"chat_paths": "entrypoint"}) as sim:
        ws = ece.ChatWebServices(sim.chat_base_url)
        assert ws.agent_availability(1001) is True
        assert ws.capacity(1001) == 4  # via the fallback segment
        assert ws.live_session_status(1001) == {"wait_time": 3.0, "queue_depth": 1}
        assert ws.check_eligibility(1001) == {"code": 0, "name": "eligible"}
        assert ws.chat_allowed(1001) == {"allowed": True, "reason": None}
        sim.control("set_chat", allowed=False, reason="queue_depth_reached", eligibility=2)
        assert ws.chat_allowed(1001) == {"allowed": False, "reason": "queue_depth_reached"}
        assert ws.check_eligibility(1001)["name"] == "queue_full"
        ws.submit_survey("1000_abc", [("Helpful?", "Yes"), {"question": "Q2", "answer": "A2"}])
        assert sim.stats()["surveys"][0]["answers"][1] == {"question": "Q2", "answer": "A2"}
        sim.control("set_xml", endpoint="capacity", xml="<!DOCTYPE x><availableSlots/>")
        with pytest.raises(libcce.ProtocolError) as e:
            ws.capacity(1001)
        assert e.value.status_name == "BadResponse"


def test_configuration_errors() -> None:
    with pytest.raises(libcce.InvalidArgument):
        ece.Client("http://ece.example.com", "k", "s", 1)
    with pytest.raises(libcce.InvalidArgument):
        ece.Client("https://ece.example.com", "k", "s", 1, no_such_option=1)
    with pytest.raises(libcce.InvalidArgument):
        ece.WebhookServer()
    with pytest.raises(libcce.InvalidArgument):
        ece.Simulator({"nope": 1})
    hook = ece.WebhookServer(bearer="t")
    hook.stop()
    with pytest.raises(libcce.Closed):
        hook.stop()
    assert list(hook.events(timeout=0.01)) == []


def test_webhook_needs_a_json_content_type(rig) -> None:
    sim, hook, _ = rig
    ok = '{"message":[{"conversation":{"id":"c1"},"type":{"value":"startTyping"},"id":"%s"}]}'
    assert sim.webhook_raw(ok % "1", content_type="text/plain") == 415
    assert sim.webhook_raw(ok % "2", content_type="application/xml") == 415
    assert hook.next_event(timeout=0.01) is None
    assert sim.webhook_raw(ok % "3", content_type="application/json; charset=UTF-8") == 204
    assert next_event(hook)["id"] == "3"


def test_a_cut_emoji_keeps_the_batch_with_a_warning_on_its_event(rig) -> None:
    sim, hook, _ = rig
    body = (
        '{"message":['
        '{"conversation":{"id":"s"},"type":{"value":"text/plain"},"content":"a","id":"1","timeStamp":1},'
        '{"conversation":{"id":"s"},"type":{"value":"text/plain"},"content":"b \\ud83d","id":"2","timeStamp":2}]}'
    )
    assert sim.webhook_raw(body) == 204
    first, second = next_event(hook), next_event(hook)
    assert first["content"] == "a" and "warnings" not in first
    assert second["content"] == "b \ufffd"
    assert "U+FFFD" in second["warnings"][0]


def test_end_conversation_without_the_endpoint_is_a_distinct_error() -> None:
    with ece.Simulator() as sim, ece.WebhookServer(basic=("ece", "pw")) as hook:
        sim.set_webhook(hook.url, basic=("ece", "pw"))
        client = ece.Client(
            sim.server_url, "sim-key", "sim-secret", 1001, end_conversation_path="messaging/nope"
        )
        cid = client.start_conversation()["id"]
        with pytest.raises(libcce.InvalidArgument) as e:
            client.end_conversation(cid)
        assert (e.value.code, e.value.code_name, e.value.protocol) == (404, "EndpointNotSupported", "ece")
        client.send_message(cid, "still open")


def test_idle_connection_flood_does_not_starve_valid_posts() -> None:
    """32 idle connections from 127.0.0.1, reopened when cut, against a server holding
    8 (4 per peer); ECE posts from 127.0.0.2 and is answered promptly."""
    import base64
    import http.client
    import socket
    import threading
    import time
    from urllib.parse import urlparse

    with ece.WebhookServer(
        basic=("ece", "pw"),
        max_connections=8,
        max_connections_per_peer=4,
        first_byte_timeout_ms=30_000,
    ) as hook:
        u = urlparse(hook.url)
        host, port = u.hostname or "127.0.0.1", u.port or 0
        stop = threading.Event()

        def flood() -> None:
            while not stop.is_set():
                try:
                    s = socket.create_connection((host, port), timeout=0.5)
                except OSError:
                    continue
                with s:
                    try:
                        while s.recv(64):
                            pass
                    except OSError:
                        pass

        threads = [threading.Thread(target=flood) for _ in range(32)]
        for t in threads:
            t.start()
        try:
            deadline = time.monotonic() + WAIT
            while hook.stats()["evicted"] < 16:
                assert time.monotonic() < deadline, "the flood never filled the server"
                time.sleep(0.005)
            auth = "Basic " + base64.b64encode(b"ece:pw").decode()
            slowest = 0.0
            for i in range(10):
                body = (
                    '{"message":[{"conversation":{"id":"f"},"type":{"value":"text/plain"},'
                    '"content":"%d","id":"%d"}]}' % (i, i)
                )
                start = time.monotonic()
                c = http.client.HTTPConnection(host, port, timeout=WAIT, source_address=("127.0.0.2", 0))
                c.request("POST", u.path or "/", body, {"Authorization": auth, "Content-Type": "application/json"})
                assert c.getresponse().status == 204
                c.close()
                slowest = max(slowest, time.monotonic() - start)
            assert slowest < 2.0, slowest
        finally:
            stop.set()
            for t in threads:
                t.join(WAIT)
        assert [next_event(hook)["content"] for _ in range(10)] == [str(i) for i in range(10)]
