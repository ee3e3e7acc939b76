#!/usr/bin/env python3
"""An agent session against the embedded CTI simulator, with libcce's Python binding.

Starts the simulator, opens an agent session at protocol version 24, makes the agent
ready, plays one inbound call and closes. Every message received (the OPEN_CONF,
confirmations and events) is printed as one JSON line; progress goes to stderr.
Needs only the ``libcce`` package:

    python examples/python/agent_session.py
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import libcce

WAIT = 10.0  # seconds to wait for any one event
PERIPHERAL_ID = 5000
AGENT_ID = "1001"
INSTRUMENT = "5001"


def show(message: Mapping[str, Any]) -> None:
    """Prints a message (a dict, or a libcce.Event) as one JSON line."""
    print(json.dumps(dict(message), sort_keys=True), flush=True)


def run() -> None:
    """Runs the scenario; raises libcce.CceError on failure."""
    with libcce.Simulator() as sim:
        print(f"simulator listening on {sim.address}", file=sys.stderr)
        with libcce.CtiSession.open(
            address=sim.address,
            client_id="example-agent",
            version=24,
            services="CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL",
            peripheral_id=PERIPHERAL_ID,
            agent_id=AGENT_ID,
            agent_instrument=INSTRUMENT,
        ) as session:
            show(session.open_conf)
            events = session.events(timeout=WAIT)

            show(
                session.request(
                    {
                        "MessageName": "SET_AGENT_STATE_REQ",
                        "PeripheralID": PERIPHERAL_ID,
                        "AgentState": "AGENT_STATE_AVAILABLE",
                        "AgentInstrument": INSTRUMENT,
                    }
                )
            )
            for event in events:
                show(event)
                if event.get("AgentState_name") == "AGENT_STATE_AVAILABLE":
                    break

            call_id = sim.inject_call(
                ani="5551234",
                dnis="8000",
                call_variables=["acct-42", "gold"],
                named_variables=[("user.crm.id", "C-7")],
            )
            print(f"injected call {call_id}", file=sys.stderr)
            call_ended = False
            for event in events:
                show(event)
                if event["MessageName"] == "END_CALL_EVENT":
                    call_ended = True
                elif call_ended and event["MessageName"] == "AGENT_STATE_EVENT":
                    break  # the agent is back after the call

            session.close()
            for event in events:  # the rest, ending with SESSION_CLOSED
                show(event)


def main() -> int:
    try:
        run()
    except libcce.CceError as e:
        print(f"error ({e.kind}, {e.status_name}): {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
