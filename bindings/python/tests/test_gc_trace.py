"""GC wire trace: ``trace_file`` records STOMP frames both ways, without secrets."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from libcce.gc import GcSession, GcSimulator

PASSWORD = "Py-Wire-Pw-7713"
PASSCODE = "Py-Broker-Pc-2291"


def test_trace_file_records_frames_without_secrets(tmp_path: Path) -> None:
    trace = tmp_path / "gc-trace.jsonl"
    queue = f"Connector-py-trace-{uuid.uuid4().hex[:8]}"
    agents = [{"id": "1001", "password": PASSWORD, "first_name": "Alice"}]
    with GcSimulator(broker="embedded", request_queue=queue, agents=agents) as sim, GcSession(
        brokers=[sim.control("broker")],
        destination=f"py-trace-{os.getpid()}",
        request_queue=queue,
        broker_login="crm",
        broker_passcode=PASSCODE,
        trace_file=str(trace),
    ) as gc:
        gc.login("1001", PASSWORD, "4001")
        gc.wait_for("State", agent_id="1001", state="NOT_READY")
    text = trace.read_text()
    assert PASSWORD not in text and PASSCODE not in text
    recs = [json.loads(line) for line in text.splitlines()]
    assert {r["proto"] for r in recs} == {"stomp"}
    seen = {(r["dir"], r["command"]) for r in recs}
    assert {("out", "CONNECT"), ("in", "CONNECTED"), ("out", "SEND"), ("in", "MESSAGE")} <= seen
    [connect] = [r for r in recs if r["command"] == "CONNECT"]
    assert connect["headers"]["passcode"] == "<redacted>" and connect["size"] > 0
    [login] = [r for r in recs if r["headers"].get("type", "").startswith("Login#")]
    assert login["dir"] == "out" and login["body"] == "<redacted>"
