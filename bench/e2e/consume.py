#!/usr/bin/env python3
"""Python consumer of the end-to-end benchmark (bench/e2e/README.md).

    consume.py PORT N

Opens a session with the ``libcce`` package against the blaster (ClientID
``blast:N``), iterates ``session.events()`` until N stream events came, reading
``MessageType`` and one string field of each, and prints one JSON line:
``{"consumer":"python","events":N,"seconds":S,"events_per_s":R,"check":C}``
with S from the first event to the last and R = (N - 1) / S.
"""

from __future__ import annotations

import json
import sys
import time

import libcce

AGENT_STATE_EVENT = 30
HEARTBEAT_CONF = 6
EVENT_TIMEOUT_S = 60.0


def main() -> int:
    port, want = int(sys.argv[1]), int(sys.argv[2])
    got = 0
    check = 0
    t_first = t_last = 0.0
    with libcce.CtiSession.open(
        address=f"127.0.0.1:{port}",
        client_id=f"blast:{want}",
        version=24,
        services="CTI_SERVICE_ALL_EVENTS",
        peripheral_id=5000,
    ) as session:
        for ev in session.events(timeout=EVENT_TIMEOUT_S):
            mt = ev["MessageType"]
            if mt == 0:
                print(f"consume.py: the session closed after {got} events", file=sys.stderr)
                return 1
            if mt == HEARTBEAT_CONF:
                continue
            value = ev.get("AgentID" if mt == AGENT_STATE_EVENT else "ConnectionDeviceID", "")
            check += mt + len(value)
            got += 1
            if got == 1:
                t_first = time.perf_counter()
            if got == want:
                t_last = time.perf_counter()
                break
    secs = t_last - t_first
    print(json.dumps({"consumer": "python", "events": want, "seconds": round(secs, 6),
                      "events_per_s": round((want - 1) / secs) if secs > 0 else 0, "check": check}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
