// Compile-only check of ece.d.ts (run by types.test.mjs with tsc --noEmit).
import { ece, CceError } from '../index.js';

async function main(): Promise<void> {
  const sim: ece.Simulator = ece.Simulator.start({ token_lifetime_secs: 60 });
  const hook: ece.WebhookServer = ece.WebhookServer.start({ basic: { username: 'u', password: 'p' } });
  await sim.setWebhook(hook.url, { basic: { username: 'u', password: 'p' } });
  const client = new ece.Client({ serverUrl: sim.serverUrl, clientKey: 'k', clientSecret: 's', entryPointId: 1001 });
  const conv: ece.Conversation = await client.startConversation({ email: 'a@b.c' }, { sendTypingNotification: false });
  await client.sendMessage(conv.id, 'hi', 'text/plain');
  const ev: ece.EceEvent | null = await hook.nextEvent({ timeoutMs: 100 });
  if (ev !== null && ev.type === 'message') ev.content?.toUpperCase();
  for await (const e of hook.events()) e.conversation_id.length;
  const ws = new ece.ChatWebServices({ baseUrl: sim.chatBaseUrl });
  const ok: boolean = (await ws.chatAllowed(1001)).allowed;
  const status: number = await sim.webhookRaw('{}', { authorization: null });
  await sim.failNext('send_message', 500);
  const stats: ece.WebhookStats = hook.stats();
  void ok, status, stats, CceError;
  await hook.stop();
  await sim.stop();
}

void main;
