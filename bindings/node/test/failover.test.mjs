// Failover, request helpers and the live model through the Node binding.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { CceError, CtiSession, REQUESTS, Simulator } from '../index.js';

const GUARD = { timeout: 30_000 };
const SERVICES = 'CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL';

/** The first event from `events` that `pred` accepts. */
async function until(events, pred) {
  for (;;) {
    const r = await events.next();
    assert.equal(r.done, false, 'the session ended before the expected event');
    if (pred(r.value)) return r.value;
  }
}

describe('failover and helpers', () => {
  test('every request has a camelCase helper', () => {
    assert.ok(REQUESTS.length >= 45);
    for (const r of REQUESTS) {
      const method = r.helper.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
      assert.equal(typeof CtiSession.prototype[method], 'function', method);
    }
  });

  test('side A dies: the session moves to side B and requests go on', GUARD, async () => {
    const a = new Simulator();
    const b = new Simulator();
    const session = await CtiSession.open({
      address: a.address,
      addressB: b.address,
      clientId: 'node-failover',
      services: SERVICES,
      peripheralId: 5000,
      agentId: '1001',
      expectedClients: 0,
      reconnectTimeScale: 0.001,
    });
    const events = session.events();
    try {
      const conf = await session.setAgentState({
        PeripheralID: 5000,
        AgentState: 'AGENT_STATE_AVAILABLE',
        AgentInstrument: '5001',
      });
      assert.equal(conf.MessageName, 'SET_AGENT_STATE_CONF');
      await assert.rejects(session.setAgentState({ PeripheralID: 5000, AgentState: 999 }), (e) => {
        assert.ok(e instanceof CceError);
        assert.equal(e.code, 'Refused');
        assert.equal(e.statusName, 'E_CTI_INVALID_OBJECT_STATE');
        return true;
      });
      await assert.rejects(session.call('noSuchRequest'), (e) => e.code === 'InvalidArgument');
      await until(events, (e) => e.MessageName === 'AGENT_STATE_EVENT');
      const agent = session.model().agents[0];
      assert.equal(agent.state_name, 'AGENT_STATE_AVAILABLE');
      assert.deepEqual(session.state(), { connected: true, closed: false, side: 'A' });

      a.stop();
      const lost = await until(events, (e) => e.MessageName === 'CONNECTION_STATE');
      assert.equal(lost.state, 'Disconnected');
      const back = await until(events, (e) => e.MessageName === 'CONNECTION_STATE' && e.state === 'Connected');
      assert.equal(back.side, 'B');
      assert.equal(back.reconnected, true);
      const q = await session.queryAgentState({ AgentID: '1001' });
      assert.equal(q.AgentID, '1001');
    } finally {
      await session.close();
      b.stop();
    }
  });

  test('requests while disconnected reject with Disconnected', GUARD, async () => {
    const sim = new Simulator();
    const session = await CtiSession.open({
      address: sim.address,
      clientId: 'node-down',
      services: SERVICES,
      peripheralId: 5000,
      agentId: '1001',
      reconnect: true,
    });
    const events = session.events();
    sim.stop();
    await until(events, (e) => e.MessageName === 'CONNECTION_STATE' && e.state === 'Disconnected');
    await assert.rejects(session.queryAgentState({ AgentID: '1001' }), (e) => e.code === 'Disconnected');
    const closed = await session.close();
    assert.equal(closed.MessageName, 'SESSION_CLOSED');
  });
});
