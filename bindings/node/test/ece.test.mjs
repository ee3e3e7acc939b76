// ECE end to end against the embedded ECE simulator, through the real HTTP stack on
// 127.0.0.1. Every wait has a timeout; no sleeps.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { CceError, ece } from '../index.js';

const WAIT_MS = 5000;

async function rig(t, clientExtra = {}) {
  const sim = ece.Simulator.start();
  const hook = ece.WebhookServer.start({ basic: { username: 'ece', password: 'pw' } });
  t.after(async () => {
    await sim.stop().catch(() => {});
    await hook.stop().catch(() => {});
  });
  await sim.setWebhook(hook.url, { basic: { username: 'ece', password: 'pw' } });
  const client = new ece.Client({
    serverUrl: sim.serverUrl,
    clientKey: 'sim-key',
    clientSecret: 'sim-secret',
    entryPointId: 1001,
    retryBaseMs: 10,
    ...clientExtra,
  });
  return { sim, hook, client };
}

async function next(hook) {
  const ev = await hook.nextEvent({ timeoutMs: WAIT_MS });
  assert.notEqual(ev, null, 'no webhook event in time');
  return ev;
}

async function rejectsWith(promise, fields) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof CceError, `not a CceError: ${e}`);
    for (const [k, v] of Object.entries(fields)) assert.equal(e[k], v, `${k} of ${e.message}`);
    return true;
  });
}

describe('ECE', () => {
  test('a full chat from start to completion', async (t) => {
    const { sim, hook, client } = await rig(t);
    const conv = await client.startConversation({ firstName: 'Ada', email: 'ada@example.com' });
    const assigned = await next(hook);
    assert.equal(assigned.type, 'assigned');
    assert.equal(assigned.conversation_id, conv.id);
    assert.equal(assigned.agent.screen_name, 'agent1');

    await client.sendMessage(conv.id, 'Hello from Node');
    assert.deepEqual([(await next(hook)).type, (await next(hook)).type], ['startTyping', 'endTyping']);
    const reply = await next(hook);
    assert.equal(reply.type, 'message');
    assert.equal(reply.content, 'You said: Hello from Node');

    await sim.agentSay(conv.id, 'Anything else?');
    const said = [await next(hook), await next(hook), await next(hook)];
    assert.equal(said[2].content, 'Anything else?');

    await client.sendMessage(conv.id, 'bye', 'text/plain');
    const types = [];
    for (let i = 0; i < 4; i++) types.push((await next(hook)).type);
    assert.deepEqual(types, ['startTyping', 'endTyping', 'message', 'complete']);

    await rejectsWith(client.sendMessage(conv.id, 'late'), { code: 'Closed', status: 404, statusName: 'NotFound' });
    const stats = await sim.stats();
    assert.deepEqual(
      stats.conversations[0].messages.map((m) => m.content),
      ['Hello from Node', 'bye'],
    );
    assert.equal(stats.logins, 1);
    assert.equal(hook.stats().events, 11);
  });

  test('an expired token is renewed once', async (t) => {
    const { sim, client } = await rig(t);
    await client.configuration({ refresh: true });
    await sim.expireTokens();
    const cfg = await client.configuration({ refresh: true });
    assert.equal(cfg.entry_point_id, 1001);
    assert.equal((await sim.stats()).logins, 2);
    assert.equal(client.logins, 2);
    await sim.control('set_token_lifetime', { secs: 0 });
    await sim.expireTokens();
    await rejectsWith(client.configuration({ refresh: true }), { code: 'Refused', status: 401, statusName: 'Unauthorized' });
    assert.equal((await sim.stats()).logins, 3);
  });

  test('a stale configuration (409) is recovered once', async (t) => {
    const { sim, client } = await rig(t);
    await client.startConversation();
    await sim.touchConfiguration(1001);
    const conv = await client.startConversation();
    assert.ok(conv.id);
    const { requests } = await sim.stats();
    assert.deepEqual([requests.configuration, requests.start], [2, 3]);
    await sim.failNext('start', 409, 2);
    await rejectsWith(client.startConversation(), { code: 'Refused', kind: 'Refused', protocol: 'ece', status: 409, statusName: 'StaleConfiguration' });
  });

  test('messages are not re-sent after a server error or timeout', async (t) => {
    const { sim, client } = await rig(t, { requestTimeoutMs: 200 });
    const { id } = await client.startConversation();
    await sim.failNext('send_message', 500);
    await rejectsWith(client.sendMessage(id, 'a'), { code: 'Refused', status: 500 });
    await sim.setDelay('send_message', 2000);
    await rejectsWith(client.sendMessage(id, 'b'), { code: 'Timeout' });
    assert.equal((await sim.stats()).requests.send_message, 2);
  });

  test('webhook calls with wrong credentials are refused', async (t) => {
    const { sim, hook, client } = await rig(t);
    await sim.setWebhook(hook.url, { basic: { username: 'ece', password: 'wrong' } });
    await client.startConversation();
    assert.equal(await sim.waitIdle(WAIT_MS), true);
    assert.deepEqual((await sim.stats()).deliveries.map((d) => d.status), [401]);
    assert.equal(await sim.webhookRaw('{}', { authorization: null }), 401);
    assert.equal(hook.stats().unauthorized, 2);
    assert.equal(await hook.nextEvent({ timeoutMs: 10 }), null);
  });

  test('malformed webhook bodies get 4xx and the server goes on', async (t) => {
    const { sim, hook } = await rig(t);
    assert.equal(await sim.webhookRaw('{'), 400);
    assert.equal(await sim.webhookRaw('{"message":{"type":7}}'), 400);
    assert.equal(await sim.webhookRaw('['.repeat(60000) + ']'.repeat(60000)), 400);
    assert.equal(await sim.webhookRaw(`{"message":[],"pad":"${'x'.repeat(2 << 20)}"}`), 413);
    assert.equal(await sim.webhookRaw('<message/>', { contentType: 'text/xml' }), 415);
    const ok = '{"message":[{"conversation":{"id":"c"},"type":{"value":"complete"},"id":"1"}]}';
    assert.equal(await sim.webhookRaw(ok), 204);
    assert.equal((await next(hook)).type, 'complete');
    assert.equal(hook.stats().bad_bodies, 5);
  });

  test('chat web services', async (t) => {
    const sim = ece.Simulator.start({ chatPaths: 'entrypoint' });
    t.after(() => sim.stop());
    const ws = new ece.ChatWebServices({ baseUrl: sim.chatBaseUrl });
    assert.equal(await ws.agentAvailability(1001), true);
    assert.equal(await ws.capacity(1001), 4);
    assert.deepEqual(await ws.liveSessionStatus(1001), { wait_time: 3, queue_depth: 1 });
    assert.deepEqual(await ws.checkEligibility(1001), { code: 0, name: 'eligible' });
    await sim.control('set_chat', { allowed: false, reason: 'entry_point_inactive' });
    assert.deepEqual(await ws.chatAllowed(1001), { allowed: false, reason: 'entry_point_inactive' });
    await ws.submitSurvey('1000_x', [['Q1', 'A1'], { question: 'Q2', answer: 'A2' }]);
    assert.equal((await sim.stats()).surveys[0].answers.length, 2);
    await rejectsWith(ws.capacity(-1), { code: 'InvalidArgument' });
  });

  test('bad configurations are InvalidArgument', () => {
    assert.throws(() => new ece.Client({ serverUrl: 'http://ece.example.com', clientKey: 'k', clientSecret: 's', entryPointId: 1 }),
      (e) => e instanceof CceError && e.code === 'InvalidArgument');
    assert.throws(() => ece.WebhookServer.start({}), (e) => e.code === 'InvalidArgument');
    assert.throws(() => ece.Simulator.start({ nope: 1 }), (e) => e.code === 'InvalidArgument');
  });
});
