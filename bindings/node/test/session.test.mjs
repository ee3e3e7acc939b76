// Agent sessions against the embedded simulator.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';

import { CceError, CtiSession, Simulator } from '../index.js';

/** The agent session configuration the simulator's default agent accepts. */
function agentConfig(sim, extra = {}) {
  return {
    address: sim.address,
    client_id: 'node-test',
    version: 24,
    services: 'CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL',
    peripheral_id: 5000,
    agent_id: '1001',
    ...extra,
  };
}

/** SET_AGENT_STATE_REQ making the default agent AVAILABLE. */
const SET_READY = Object.freeze({
  MessageName: 'SET_AGENT_STATE_REQ',
  PeripheralID: 5000,
  AgentState: 'AGENT_STATE_AVAILABLE',
  AgentInstrument: '5001',
});

/** The next event of an iterator from `session.events()`; fails if the events ended. */
async function nextEvent(events) {
  const r = await events.next();
  assert.equal(r.done, false, 'the session ended before the expected event');
  return r.value;
}

/** The next `n` events. */
async function takeEvents(events, n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await nextEvent(events));
  return out;
}

/** Per-test guard: a hung test fails instead of blocking the run. */
const GUARD = { timeout: 30_000 };

const CALL_EVENTS = [
  'BEGIN_CALL_EVENT',
  'CALL_DELIVERED_EVENT',
  'CALL_ESTABLISHED_EVENT',
  'AGENT_STATE_EVENT',
  'CALL_CLEARED_EVENT',
  'END_CALL_EVENT',
  'AGENT_STATE_EVENT',
];

function isCceError(code, statusName) {
  return (e) => {
    assert.ok(e instanceof CceError, `expected a CceError, got ${e}`);
    assert.ok(e instanceof Error);
    assert.equal(e.code, code, e.message);
    if (statusName !== undefined) {
      assert.equal(e.statusName, statusName);
      assert.equal(typeof e.status, 'number');
    }
    return true;
  };
}

async function agentFlow(version) {
  const sim = Simulator.start();
  try {
    const session = await CtiSession.open(agentConfig(sim, { version }));
    const events = session.events();
    const emitted = [];
    session.on('event', (ev) => emitted.push(ev.MessageName));
    const messages = [];
    session.on('message', (ev) => messages.push(ev.MessageName));

    assert.equal(session.version, version);
    assert.equal(session.openConf.MessageName, 'OPEN_CONF');
    assert.equal(session.openConf.AgentID, '1001');
    assert.equal(session.isClosed, false);

    // Ready: the confirmation, then the agent's state event.
    const conf = await session.request(SET_READY);
    assert.equal(conf.MessageName, 'SET_AGENT_STATE_CONF');
    assert.ok(conf.InvokeID > 0);
    const state = await nextEvent(events);
    assert.equal(state.MessageName, 'AGENT_STATE_EVENT');
    assert.equal(state.AgentState, 3);
    assert.equal(state.AgentState_name, 'AGENT_STATE_AVAILABLE');
    assert.equal(sim.agentState('1001'), 3);
    assert.equal(sim.agentState('nobody'), null);

    const query = await session.request(
      { MessageName: 'QUERY_AGENT_STATE_REQ', AgentID: '1001' },
      { timeoutMs: 10_000 },
    );
    assert.equal(query.MessageName, 'QUERY_AGENT_STATE_CONF');
    assert.equal(query.AgentState, 3);

    // A call: the whole event sequence, in order.
    const callId = sim.injectCall({
      ani: '5551234',
      dnis: '8000',
      call_variables: ['acct-42', 'gold'],
      named_variables: [['user.crm.id', 'C-7']],
    });
    const got = await takeEvents(events, CALL_EVENTS.length);
    assert.deepEqual(
      got.map((e) => e.MessageName),
      CALL_EVENTS,
    );
    const [begin] = got;
    assert.equal(begin.ConnectionCallID, callId);
    assert.equal(begin.ANI, '5551234');
    assert.equal(begin.DNIS, '8000');
    assert.equal(begin.CallVariable1, 'acct-42');
    assert.equal(begin.CallVariable2, 'gold');
    assert.equal(begin.NumNamedVariables, 1);
    assert.deepEqual(begin.NamedVariable, [{ Name: 'user.crm.id', Value: 'C-7' }]);
    assert.equal(got[3].AgentState_name, 'AGENT_STATE_TALKING');

    // Close: resolves after 'closed', which comes last.
    const closedEvent = once(session, 'closed');
    const closed = await session.close();
    assert.equal(closed.MessageName, 'SESSION_CLOSED');
    assert.equal(closed.reason, 'Closed');
    assert.equal(session.isClosed, true);
    const [ev] = await closedEvent;
    assert.equal(ev.reason, 'Closed');
    assert.deepEqual(await session.closed, ev);
    const last = await nextEvent(events);
    assert.equal(last.MessageName, 'SESSION_CLOSED');
    assert.equal((await events.next()).done, true);

    assert.deepEqual(emitted, ['AGENT_STATE_EVENT', ...CALL_EVENTS, 'SESSION_CLOSED']);
    assert.deepEqual(messages, ['AGENT_STATE_EVENT', ...CALL_EVENTS]);

    // Idempotent close; requests and sends after it fail with Closed.
    assert.equal((await session.close()).reason, 'Closed');
    await assert.rejects(session.request(SET_READY), isCceError('Closed'));
    assert.throws(() => session.send(SET_READY), isCceError('Closed'));
  } finally {
    sim.stop();
  }
}

describe('agent session', () => {
  test('flow at version 24', GUARD, () => agentFlow(24));
  test('flow at version 15', GUARD, () => agentFlow(15));

  test('camelCase configuration, mask arrays and named-variable objects', GUARD, async () => {
    const sim = new Simulator({ peripheralId: 5000, agents: [{ agentId: '1001', extension: '5001', instrument: '5001' }] });
    try {
      const session = await CtiSession.open({
        address: sim.address,
        clientId: 'node-camel',
        services: ['CTI_SERVICE_CLIENT_EVENTS', 'CTI_SERVICE_CLIENT_CONTROL'],
        peripheralId: 5000,
        agentId: '1001',
        requestTimeoutMs: 10_000,
      });
      assert.equal(session.openConf.ServicesGranted_name, 'CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL');
      const events = session.events();
      await session.request(SET_READY);
      assert.equal((await nextEvent(events)).MessageName, 'AGENT_STATE_EVENT');
      sim.injectCall({ ani: '1', dnis: '2', callVariables: ['x'], namedVariables: { 'user.a': 'b' } });
      const begin = await nextEvent(events);
      assert.equal(begin.MessageName, 'BEGIN_CALL_EVENT');
      assert.equal(begin.CallVariable1, 'x');
      assert.equal(begin.NumNamedVariables, 1);
      // Leaving early unsubscribes the iterator.
      assert.deepEqual(await events.return(), { value: undefined, done: true });
      assert.equal(session.listenerCount('event'), 0);
      await session.close();
    } finally {
      sim.stop();
    }
  });

  test('send() does not wait; the confirmation arrives as an event', GUARD, async () => {
    const sim = Simulator.start();
    try {
      const session = await CtiSession.open(agentConfig(sim));
      const events = session.events();
      const invokeId = session.send({ MessageName: 'QUERY_AGENT_STATE_REQ', AgentID: '1001' });
      assert.equal(typeof invokeId, 'number');
      const conf = await nextEvent(events);
      assert.equal(conf.MessageName, 'QUERY_AGENT_STATE_CONF');
      assert.equal(conf.InvokeID, invokeId);
      assert.equal(conf.AgentState_name, 'AGENT_STATE_NOT_READY');
      assert.throws(() => session.send({ MessageName: 'NO_SUCH_MESSAGE' }), isCceError('InvalidArgument'));
      await session.close();
    } finally {
      sim.stop();
    }
  });
});

describe('many sessions', () => {
  // Waiting for events must not hold libuv's pool (4 threads): with more sessions
  // than that, requests would queue behind the waits.
  test('eight sessions answer requests promptly', GUARD, async () => {
    const n = 8;
    const agents = Array.from({ length: n }, (_, i) => ({
      agent_id: String(2001 + i),
      extension: String(6001 + i),
    }));
    const sim = Simulator.start({ agents });
    try {
      const sessions = await Promise.all(
        agents.map((a) => CtiSession.open(agentConfig(sim, { agent_id: a.agent_id }))),
      );
      for (let round = 0; round < 3; round++) {
        const started = Date.now();
        const confs = await Promise.all(
          sessions.map((s, i) =>
            s.request({ MessageName: 'QUERY_AGENT_STATE_REQ', AgentID: agents[i].agent_id }),
          ),
        );
        assert.deepEqual(
          confs.map((c) => c.MessageName),
          Array(n).fill('QUERY_AGENT_STATE_CONF'),
        );
        // Queued behind event waits, a round would take a whole wait (1 s).
        assert.ok(Date.now() - started < 900, `round ${round} took ${Date.now() - started} ms`);
      }
      const closed = await Promise.all(sessions.map((s) => s.close()));
      assert.deepEqual(
        closed.map((c) => c.reason),
        Array(n).fill('Closed'),
      );
    } finally {
      sim.stop();
    }
  });
});

describe('errors', () => {
  test('refused OPEN: code Refused, statusName E_CTI_INVALID_AGENT_DATA', GUARD, async () => {
    const sim = Simulator.start();
    try {
      await assert.rejects(
        CtiSession.open(agentConfig(sim, { agent_id: '9999' })),
        isCceError('Refused', 'E_CTI_INVALID_AGENT_DATA'),
      );
    } finally {
      sim.stop();
    }
  });

  test('refused request: E_CTI_INVALID_OBJECT_STATE, and the session goes on', GUARD, async () => {
    const sim = Simulator.start();
    try {
      const session = await CtiSession.open(agentConfig(sim));
      await assert.rejects(
        session.request({ MessageName: 'SET_AGENT_STATE_REQ', AgentState: 999 }),
        isCceError('Refused', 'E_CTI_INVALID_OBJECT_STATE'),
      );
      const conf = await session.request(SET_READY);
      assert.equal(conf.MessageName, 'SET_AGENT_STATE_CONF');
      await session.close();
    } finally {
      sim.stop();
    }
  });

  test('heartbeat loss ends the session with HeartbeatTimeout', GUARD, async () => {
    const sim = Simulator.start();
    try {
      const session = await CtiSession.open(
        agentConfig(sim, { heartbeat_ms: 50, relaxed_timing: true }),
      );
      sim.setAnswerHeartbeats(false);
      const ev = await session.closed;
      assert.equal(ev.MessageName, 'SESSION_CLOSED');
      assert.equal(ev.reason, 'Failed');
      assert.equal(ev.error_kind, 'HeartbeatTimeout');
      assert.equal(session.isClosed, true);
      assert.equal(sim.unansweredHeartbeats(), 3);
      // close() after a failure reports it and does not throw.
      assert.equal((await session.close()).error_kind, 'HeartbeatTimeout');
      await assert.rejects(session.request(SET_READY), isCceError('Closed'));
    } finally {
      sim.stop();
    }
  });

  test('simulator stop ends an open session', GUARD, async () => {
    const sim = Simulator.start();
    const session = await CtiSession.open(agentConfig(sim));
    sim.stop();
    const ev = await session.closed;
    assert.equal(ev.reason, 'Failed');
    assert.throws(() => sim.stop(), isCceError('Closed'));
    assert.throws(() => sim.injectCall({ ani: '1' }), isCceError('Closed'));
  });

  test('undecodable frames give decodeError events, then a protocol failure', GUARD, async () => {
    const sim = Simulator.start();
    try {
      const session = await CtiSession.open(agentConfig(sim));
      const decodeError = once(session, 'decodeError');
      // END_CALL_EVENT (type 24) with a 3-byte body: shorter than its fixed part.
      sim.sendRaw([0, 0, 0, 3, 0, 0, 0, 24, 1, 2, 3]);
      const [err] = await decodeError;
      assert.equal(err.MessageName, 'DECODE_ERROR');
      assert.equal(err.error_kind, 'ShortFixedPart');
      // A header claiming 1 MB breaks the stream.
      sim.sendRaw(Buffer.from([0, 0x10, 0, 0, 0, 0, 0, 9]));
      const closed = await session.closed;
      assert.equal(closed.reason, 'Failed');
      assert.equal(closed.error_kind, 'Protocol');
      assert.match(closed.error, /exceeds the maximum/);
    } finally {
      sim.stop();
    }
  });

  test('connection refused: code Io', GUARD, async () => {
    const sim = Simulator.start();
    const address = sim.address;
    sim.stop();
    await assert.rejects(CtiSession.open(agentConfig({ address })), isCceError('Io'));
  });

  test('bad configuration and arguments: code InvalidArgument', GUARD, async () => {
    const sim = Simulator.start();
    try {
      const bad = [
        undefined,
        null,
        'address=1',
        {},
        { address: sim.address }, // no client_id
        { ...agentConfig(sim), bogus: 1 },
        { ...agentConfig(sim), clientId: 'twice' },
        { ...agentConfig(sim), services: 'NO_SUCH_SERVICE' },
        { ...agentConfig(sim), heartbeat_ms: 50 }, // below the minimum without relaxed_timing
        { ...agentConfig(sim), version: 'x' },
      ];
      for (const config of bad) {
        await assert.rejects(CtiSession.open(config), isCceError('InvalidArgument'), JSON.stringify(config));
      }
      assert.throws(() => Simulator.start({ bogus: 1 }), isCceError('InvalidArgument'));
      assert.throws(() => Simulator.start({ bind: 'nowhere' }), isCceError('InvalidArgument'));
      // The agent is NOT_READY: no call for it.
      assert.throws(() => sim.injectCall({ ani: '1' }), isCceError('InvalidArgument'));
      assert.throws(() => sim.injectCall({ ani: '1', colour: 'red' }), isCceError('InvalidArgument'));
      assert.throws(() => sim.setAnswerHeartbeats('no'), isCceError('InvalidArgument'));
      assert.throws(() => new CtiSession(), TypeError);

      const session = await CtiSession.open(agentConfig(sim));
      await assert.rejects(session.request(SET_READY, { timeoutMs: -1 }), isCceError('InvalidArgument'));
      await assert.rejects(session.request(null), isCceError('InvalidArgument'));
      await assert.rejects(session.request({ MessageName: 'NO_SUCH_MESSAGE' }), isCceError('InvalidArgument'));
      await session.close();
    } finally {
      sim.stop();
    }
  });
});
