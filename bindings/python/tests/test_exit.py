"""Interpreter exit with libcce threads around: `on_event`, then `close()`, then exit
must end with status 0 every time (it used to abort with "FATAL: exception not
rethrown" in 1-3 of 10 runs, a thread attaching to Python during finalisation)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

RUNS = 20

ON_EVENT_CLOSE = """
import libcce
sim = libcce.Simulator()
s = libcce.CtiSession.open(address=sim.address, client_id="exit",
                           services="CTI_SERVICE_CLIENT_EVENTS", peripheral_id=5000,
                           agent_id="1001")
got = []
sub = s.on_event(got.append)
s.close()
assert got and got[-1]["MessageName"] == "SESSION_CLOSED", got
"""

# Left open at exit: a session with a callback, an asyncio wait still pending on the
# library runtime, and log records on their way to `logging`.
LEFT_OPEN = """
import asyncio, logging
import libcce
from libcce import aio
logging.basicConfig(level=logging.DEBUG)
libcce.set_log_level(logging.DEBUG)
sim = libcce.Simulator()
s = libcce.CtiSession.open(address=sim.address, client_id="exit", agent_id="1001",
                           services="CTI_SERVICE_CLIENT_EVENTS", peripheral_id=5000)
s.on_event(lambda ev: None)

async def main():
    a = await aio.CtiSession.open(address=sim.address, client_id="exit-aio")
    asyncio.ensure_future(a.next_event())
    await asyncio.sleep(0)
    return a

keep = asyncio.run(main())
"""


def run_script(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"}, check=False,
    )


@pytest.mark.parametrize("code", [ON_EVENT_CLOSE, LEFT_OPEN], ids=["on_event-close", "left-open"])
def test_exit_is_clean_every_time(code: str) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda _: run_script(code), range(RUNS)))
    failures = [(r.returncode, r.stderr[-400:]) for r in runs if r.returncode != 0]
    assert not failures, f"{len(failures)} of {RUNS} runs failed: {failures[:3]}"
