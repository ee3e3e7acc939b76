"""An agent on the Generic Connector simulator over ActiveMQ (Python).

Uses the STOMP broker at CCE_STOMP_ADDR=host:port (`scripts/activemq.sh start` prints one),
else the simulator's own in-memory broker (`broker="embedded"`).
Logs agent 1001 in, makes it ready, answers one simulated call, logs out.
"""

import os
import uuid

from libcce.gc import GcSession, GcSimulator

broker = os.environ.get("CCE_STOMP_ADDR") or "embedded"
queue = f"Connector-example-{uuid.uuid4().hex[:8]}"
with GcSimulator(broker=broker, request_queue=queue) as sim, GcSession(
    brokers=[sim.control("broker")], destination=f"py-example-{os.getpid()}", request_queue=queue
) as gc:
    gc.login("1001", "secret", "4001")
    print(gc.wait_for("State", agent_id="1001", state="NOT_READY"))
    gc.send("MakeReady", agent_id="1001")
    print(gc.wait_for("State", agent_id="1001", state="READY"))
    dialog = sim.inject_call("1001", "5551234", {"callVariable1": "acct-42"})
    print(gc.wait_for("NewInboundCall", agent_id="1001"))
    gc.send("AnswerCall", agent_id="1001", dialog_id=dialog)
    print(gc.wait_for("State", agent_id="1001", state="TALKING"))
    gc.send("ReleaseCall", agent_id="1001", dialog_id=dialog)
    print(gc.wait_for("State", agent_id="1001", state="READY"))
    gc.send("Logout", agent_id="1001")
    print(gc.wait_for("State", agent_id="1001", state="LOGOUT"))
