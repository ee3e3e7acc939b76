// Event delivery: batches from the library, the 'event' listener and the events()
// async iterator, with a fast stream written by the simulator as raw frames.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';

import { CceError, CtiSession, Simulator, encode } from '../index.js';

const GUARD = { timeout: 60_000 };

function agentConfig(sim) {
  return {
    address: sim.address,
    client_id: 'node-events-test',
    version: 24,
    services: 'CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL',
    peripheral_id: 5000,
    agent_id: '1001',
  };
}

/** SYSTEM_EVENTs numbered `from`..`from + n - 1` (in SystemEventArg1), as one buffer. */
function numberedEvents(from, n) {
  const frames = [];
  for (let i = from; i < from + n; i++) {
    frames.push(encode({ MessageName: 'SYSTEM_EVENT', SystemEventArg1: i }, 24));
  }
  return Buffer.concat(frames);
}

const isNumbered = (ev) => ev.MessageName === 'SYSTEM_EVENT';

/** Opens a session on a fresh simulator; `fn(sim, session)`; always cleans up. */
async function withSession(fn) {
  const sim = Simulator.start();
  let session;
  try {
    session = await CtiSession.open(agentConfig(sim));
    await fn(sim, session);
  } finally {
    if (session) await session.close();
    sim.stop();
  }
}

describe('event delivery', () => {
  test('10,000 events in one burst reach an event listener, all and in order', GUARD, async () => {
    await withSession(async (sim, session) => {
      const N = 10_000;
      const seen = [];
      let done;
      const all = new Promise((resolve) => {
        done = resolve;
      });
      session.on('event', (ev) => {
        if (!isNumbered(ev)) return;
        seen.push(ev.SystemEventArg1);
        if (seen.length === N) done();
      });
      const messages = [];
      session.on('message', (ev) => {
        if (isNumbered(ev)) messages.push(ev);
      });
      sim.sendRaw(numberedEvents(0, N));
      await all;
      assert.equal(seen.length, N);
      for (let i = 0; i < N; i++) assert.equal(seen[i], i, `event ${i} out of order`);
      // 'message' follows 'event' for every CTI message, with the same plain object.
      assert.equal(messages.length, N);
      assert.equal(messages[N - 1].SystemEventArg1, N - 1);
      assert.deepEqual(Object.keys(messages[0]).slice(0, 2), ['MessageType', 'MessageName']);
      assert.equal(messages[0].MessageType, 31);
    });
  });

  test('for await: order across batches, then break stops cleanly', GUARD, async () => {
    await withSession(async (sim, session) => {
      const N = 3000;
      sim.sendRaw(numberedEvents(0, N));
      let next = 0;
      for await (const ev of session.events()) {
        if (!isNumbered(ev)) continue;
        assert.equal(ev.SystemEventArg1, next);
        next += 1;
        if (next === N) break;
      }
      assert.equal(next, N);
      // The session is still open and usable after the loop was left.
      assert.equal(session.isClosed, false);
      const again = session.events();
      sim.sendRaw(numberedEvents(N, 1));
      let ev;
      do ev = (await again.next()).value;
      while (!isNumbered(ev));
      assert.equal(ev.SystemEventArg1, N);
      await again.return();
    });
  });

  test('an iterator read slowly holds delivery without losing events', GUARD, async () => {
    await withSession(async (sim, session) => {
      // More than the iterator's buffer (4096): delivery pauses, then resumes.
      const N = 12_000;
      const events = session.events();
      sim.sendRaw(numberedEvents(0, N));
      let next = 0;
      while (next < N) {
        const r = await events.next();
        assert.equal(r.done, false);
        if (!isNumbered(r.value)) continue;
        assert.equal(r.value.SystemEventArg1, next);
        next += 1;
        // Yield to the event loop now and then, as a consumer doing I/O would.
        if (next % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await events.return();
    });
  });

  test('close while iterating: the loop ends with SESSION_CLOSED', GUARD, async () => {
    const sim = Simulator.start();
    try {
      const session = await CtiSession.open(agentConfig(sim));
      const N = 3000;
      sim.sendRaw(numberedEvents(0, N));
      const seen = [];
      let closing = null;
      for await (const ev of session.events()) {
        seen.push(ev);
        if (isNumbered(ev) && ev.SystemEventArg1 === N - 1) closing = session.close();
      }
      const last = seen[seen.length - 1];
      assert.equal(last.MessageName, 'SESSION_CLOSED');
      assert.equal(last.reason, 'Closed');
      assert.equal(seen.filter(isNumbered).length, N);
      assert.equal((await closing).reason, 'Closed');
      assert.equal(session.isClosed, true);
      // An iterator made after the end is done at once.
      assert.equal((await session.events().next()).done, true);
      await assert.rejects(session.request({ MessageName: 'QUERY_AGENT_STATE_REQ' }), (e) => {
        assert.ok(e instanceof CceError);
        assert.equal(e.code, 'Closed');
        return true;
      });
    } finally {
      sim.stop();
    }
  });

  test('an iterator nobody reads does not hold back close()', GUARD, async () => {
    const sim = Simulator.start();
    try {
      const session = await CtiSession.open(agentConfig(sim));
      const idle = session.events();
      // More than its buffer holds: delivery stops until it is read, or until close.
      const N = 6000;
      sim.sendRaw(numberedEvents(0, N));
      let n = 0;
      await new Promise((resolve) => {
        session.on('event', (ev) => {
          if (isNumbered(ev) && ++n === 4096) resolve();
        });
      });
      const closed = await session.close();
      assert.equal(closed.MessageName, 'SESSION_CLOSED');
      // The idle iterator still yields what it buffered, then SESSION_CLOSED, then ends.
      let last = null;
      let taken = 0;
      for (;;) {
        const r = await idle.next();
        if (r.done) break;
        last = r.value;
        taken += 1;
      }
      assert.ok(taken >= 4096, `took ${taken}`);
      assert.equal(last.MessageName, 'SESSION_CLOSED');
    } finally {
      sim.stop();
    }
  });

  test('requests resolve and reject from the library runtime', GUARD, async () => {
    await withSession(async (sim, session) => {
      // Many requests at once: none waits for a pool thread.
      const confs = await Promise.all(
        Array.from({ length: 200 }, () => session.queryAgentState({ PeripheralID: 5000, AgentInstrument: '5001' })),
      );
      assert.equal(confs.length, 200);
      for (const c of confs) assert.equal(c.MessageName, 'QUERY_AGENT_STATE_CONF');
      await assert.rejects(session.call('no_such_request', {}), (e) => e instanceof CceError && e.code === 'InvalidArgument');
      await assert.rejects(
        session.request({ MessageName: 'QUERY_AGENT_STATE_REQ', PeripheralID: 5000 }, { timeoutMs: -1 }),
        (e) => e instanceof CceError && e.code === 'InvalidArgument',
      );
    });
  });
});

describe('GC and ECE events()', () => {
  test('GC: for await over the embedded broker, ends with Closed', GUARD, async () => {
    const { randomUUID } = await import('node:crypto');
    const { gc } = (await import('../index.js')).default;
    const requestQueue = `Connector-events-${randomUUID().slice(0, 8)}`;
    const sim = await gc.GcSimulator.start({ broker: 'embedded', requestQueue });
    try {
      const session = await gc.GcSession.open({
        brokers: [sim.control('broker')],
        destination: `node-events-${randomUUID().slice(0, 8)}`,
        requestQueue,
      });
      const seen = [];
      const loop = (async () => {
        for await (const ev of session.events()) {
          seen.push(ev);
          if (ev.event === 'State' && ev.state === 'NOT_READY') await session.send('MakeReady', '1001');
          if (ev.event === 'State' && ev.state === 'READY') session.close();
        }
      })();
      await session.login('1001', 'secret', '4001');
      await loop;
      const states = seen.filter((e) => e.event === 'State').map((e) => e.state);
      assert.deepEqual(states.slice(-2), ['NOT_READY', 'READY']);
      assert.deepEqual(seen[seen.length - 1], { event: 'Closed' });
      assert.equal(session.isClosed, true);
      assert.equal((await session.events().next()).done, true);
      await assert.rejects(session.send('MakeReady', '1001'), (e) => e instanceof CceError);
    } finally {
      await sim.stop();
    }
  });

  test('ECE webhook: events() takes batches and yields them in order', GUARD, async () => {
    const { ece } = (await import('../index.js')).default;
    const hook = ece.WebhookServer.start({ allowUnauthenticated: true });
    try {
      // 5 posts of 20 events each (ECE batches events in one body too).
      const N = 100;
      for (let p = 0; p < 5; p++) {
        const message = [];
        for (let i = p * 20; i < (p + 1) * 20; i++) {
          message.push({
            conversation: { id: 'c1' },
            type: { value: 'text/html' },
            content: `m${i}`,
            sender: { type: 'user', user: { name: '1 Agent', screenName: 'agent1' } },
            timeStamp: 1742834050000 + i,
            id: `id-${i}`,
          });
        }
        const r = await fetch(hook.url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ message }),
        });
        assert.ok(r.status < 300, `status ${r.status}`);
      }
      const seen = [];
      for await (const ev of hook.events()) {
        seen.push(ev);
        if (seen.length === 30) break;
      }
      // What the batch held past the break is not lost.
      seen.push(await hook.nextEvent({ timeoutMs: 5000 }));
      for await (const ev of hook.events()) {
        seen.push(ev);
        if (seen.length === N) break;
      }
      assert.deepEqual(
        seen.map((ev) => ev.content),
        Array.from({ length: N }, (_, i) => `m${i}`),
      );
      assert.equal(seen[0].conversation_id, 'c1');
      await hook.stop();
      // Stopped and drained: the iterator ends.
      const rest = [];
      for await (const ev of hook.events()) rest.push(ev);
      assert.deepEqual(rest, []);
    } finally {
      if (!hook.stopped) await hook.stop();
    }
  });
});
