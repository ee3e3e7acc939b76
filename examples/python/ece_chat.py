"""A chat handed to an ECE agent, against the embedded ECE simulator.

The application runs a webhook server, starts a conversation, sends the customer's
messages and prints what the agent does until the conversation completes. Against a
real ECE, use your server URL, client key/secret and entry point, and register the
webhook URL (behind your TLS proxy) in the ECE admin console.
"""

from libcce import ece

with ece.Simulator() as sim, ece.WebhookServer(basic=("ece", "webhook-password")) as hook:
    sim.set_webhook(hook.url, basic=("ece", "webhook-password"))
    client = ece.Client(sim.server_url, "sim-key", "sim-secret", 1001)
    conv = client.start_conversation({"first_name": "Ada", "email": "ada@example.com"})
    print("conversation", conv["id"])

    to_say = ["bye", "Hello, I need help with my order"]
    for ev in hook.events(timeout=10):
        if ev["type"] == "assigned":
            print("agent assigned:", ev["content"])
        elif ev["type"] == "startTyping":
            print("agent is typing...")
        elif ev["type"] == "message":
            print("agent:", ev["content"])
        elif ev["type"] == "complete":
            print("conversation complete")
            break
        if ev["type"] in ("assigned", "message") and to_say:
            text = to_say.pop()
            print("customer:", text)
            client.send_message(conv["id"], text)

    # Is chat open for new customers? (anonymous XML chat web services)
    ws = ece.ChatWebServices(sim.chat_base_url)
    print("chat allowed:", ws.chat_allowed(1001), "queue:", ws.live_session_status(1001))
