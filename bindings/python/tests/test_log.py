"""Logging, wire trace and statistics through Python's logging module.

No sleeps: records are handed over with libcce.flush_logs() before they are checked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import libcce
import pytest
from libcce import ece

SECRET = "hunter2-py-secret"
ECE_SECRET = "ece-py-secret-42"
QUERY = {"MessageName": "QUERY_AGENT_STATE_REQ", "AgentID": "1001"}


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(f"{r.name} {r.levelname} {r.getMessage()}" for r in self.records)


@pytest.fixture
def collect() -> Iterator[Collect]:
    handler = Collect()
    logger = logging.getLogger(libcce.log.LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    libcce.set_log_level()  # follows the logger: INFO
    try:
        yield handler
    finally:
        libcce.set_log_level(logging.WARNING)
        libcce.flush_logs()
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def test_session_records_wire_trace_and_stats(collect: Collect) -> None:
    with libcce.Simulator() as sim:
        with libcce.CtiSession.open(
            address=sim.address,
            client_id="py-log",
            client_password=SECRET,
            services="CTI_SERVICE_CLIENT_EVENTS",
            peripheral_id=5000,
            agent_id="1001",
            trace=True,
        ) as session:
            for _ in range(3):
                assert session.request(QUERY)["MessageName"] == "QUERY_AGENT_STATE_CONF"
            stats = session.stats()
            metrics = libcce.metrics_text()
    libcce.flush_logs()

    wire = [json.loads(r.getMessage()) for r in collect.records if r.name == "libcce.wire"]
    assert all(r.levelno == logging.INFO for r in collect.records if r.name == "libcce.wire")
    out = [r for r in wire if r["dir"] == "out"]
    names = [r["name"] for r in out]
    assert names[:4] == ["OPEN_REQ"] + ["QUERY_AGENT_STATE_REQ"] * 3
    assert names[4:] == ["CLOSE_REQ"]
    assert out[0]["msg"]["ClientPassword"] == "<redacted>"
    assert stats["frames_out"] == 4
    assert sum(r["size"] for r in out[:4]) == stats["bytes_out"]
    received = [r for r in wire if r["dir"] == "in"]
    assert len(received) >= stats["frames_in"] >= 4
    assert sum(r["size"] for r in received[: stats["frames_in"]]) == stats["bytes_in"]
    assert stats["requests"] == 3 and stats["opens"] == 1 and stats["decode_errors"] == 0
    assert stats["request_latency_ms"]["p50"] <= stats["request_latency_ms"]["p99"]
    # The event queue's figures come from the session's bounded queue.
    assert isinstance(stats["queue_depth"], int) and stats["queue_drops"] == 0
    assert stats["queue_high_water"] >= stats["queue_depth"]
    assert f'cce_cti_queue_dropped_total{{session="{stats["session"]}",client_id="py-log"}} 0' in metrics
    assert f'cce_cti_requests_total{{session="{stats["session"]}",client_id="py-log"}} 3' in metrics
    assert SECRET not in collect.text()


def test_tls_warning_reaches_logging_without_the_secret(collect: Collect) -> None:
    client = ece.Client(
        "https://ece.example.com", "key", ECE_SECRET, 1, verify_tls=False
    )
    del client
    libcce.flush_logs()
    warnings = [r for r in collect.records if r.levelno == logging.WARNING]
    assert any("TLS certificate verification is OFF" in r.getMessage() for r in warnings)
    assert any(r.name.startswith("libcce.ece") for r in warnings)
    assert ECE_SECRET not in collect.text()


def test_records_below_the_level_are_not_handed_over(collect: Collect) -> None:
    libcce.set_log_level(logging.ERROR)
    with libcce.Simulator() as sim:
        with libcce.CtiSession.open(
            address=sim.address, client_id="py-quiet", trace=True, peripheral_id=5000
        ):
            pass
    libcce.flush_logs()
    assert [r for r in collect.records if r.name == "libcce.wire"] == []


def test_ece_wire_trace_has_calls_but_no_secrets(collect: Collect) -> None:
    with ece.Simulator() as sim:
        client = ece.Client(sim.server_url, "sim-key", "sim-secret", 1001, trace=True)
        client.login()
        client.configuration()
    libcce.flush_logs()
    wire = [json.loads(r.getMessage()) for r in collect.records if r.name == "libcce.wire"]
    ece_calls = [r for r in wire if r.get("proto") == "ece"]
    assert len(ece_calls) == 2, collect.text()
    assert ece_calls[0]["method"] == "POST" and ece_calls[1]["method"] == "GET"
    assert all(r["method"] in ("GET", "POST") and r["path"].startswith("/") for r in ece_calls)
    assert all(isinstance(r["status"], int) and r["response_bytes"] >= 0 for r in ece_calls)
    assert "sim-secret" not in collect.text()


def test_trace_file_gets_json_lines(tmp_path) -> None:
    path = tmp_path / "wire.jsonl"
    with libcce.Simulator() as sim:
        with libcce.CtiSession.open(
            address=sim.address,
            client_id="py-file",
            client_password=SECRET,
            peripheral_id=5000,
            trace_file=str(path),
        ) as session:
            stats = session.stats()
    text = path.read_text()
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["name"] for r in records if r["dir"] == "out"] == ["OPEN_REQ", "CLOSE_REQ"]
    assert records[0]["msg"]["ClientPassword"] == "<redacted>"
    assert all(r["session"] == stats["session"] for r in records)
    assert SECRET not in text
    with pytest.raises(libcce.CceError, match="trace_file"):
        libcce.CtiSession.open(
            address=sim.address, client_id="x", trace_file=str(tmp_path / "no" / "such" / "dir")
        )
