// A chat handed to an ECE agent, against the embedded ECE simulator: a webhook
// server, a conversation, the customer's messages and the agent's events until the
// conversation completes. Against a real ECE, use your server URL, credentials and
// entry point, and register the webhook URL (behind your TLS proxy) in ECE.
import { ece } from '../../bindings/node/index.js';

const sim = ece.Simulator.start();
const hook = ece.WebhookServer.start({ basic: { username: 'ece', password: 'webhook-password' } });
await sim.setWebhook(hook.url, { basic: { username: 'ece', password: 'webhook-password' } });

const client = new ece.Client({
  serverUrl: sim.serverUrl,
  clientKey: 'sim-key',
  clientSecret: 'sim-secret',
  entryPointId: 1001,
});
const conv = await client.startConversation({ firstName: 'Ada', email: 'ada@example.com' });
console.log('conversation', conv.id);

const toSay = ['bye', 'Hello, I need help with my order'];
for await (const ev of hook.events()) {
  if (ev.type === 'assigned') console.log('agent assigned:', ev.content);
  else if (ev.type === 'startTyping') console.log('agent is typing...');
  else if (ev.type === 'message') console.log('agent:', ev.content);
  else if (ev.type === 'complete') {
    console.log('conversation complete');
    break;
  }
  if ((ev.type === 'assigned' || ev.type === 'message') && toSay.length > 0) {
    const text = toSay.pop();
    console.log('customer:', text);
    await client.sendMessage(conv.id, text);
  }
}

const ws = new ece.ChatWebServices({ baseUrl: sim.chatBaseUrl });
console.log('chat allowed:', await ws.chatAllowed(1001));
await hook.stop();
await sim.stop();
