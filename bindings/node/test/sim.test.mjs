// The simulator's Node surface: live calls, duplex sides, faults, commands, scenarios, load.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { CceError, CtiSession, Simulator } from '../index.js';

const GUARD = { timeout: 30_000 };

function agentConfig(address, extra = {}) {
  return {
    address,
    client_id: 'node-sim',
    version: 24,
    services: 'CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL',
    peripheral_id: 5000,
    agent_id: '1001',
    ...extra,
  };
}

async function take(events, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = await events.next();
    assert.equal(r.done, false, 'the session ended early');
    out.push(r.value);
  }
  return out;
}

function isCceError(code, statusName) {
  return (e) => {
    assert.ok(e instanceof CceError, `expected a CceError, got ${e}`);
    assert.equal(e.code, code, e.message);
    if (statusName !== undefined) assert.equal(e.statusName, statusName);
    return true;
  };
}

describe('Simulator', () => {
  for (const version of [15, 24]) {
    test(`live inbound call v${version}`, GUARD, async () => {
      const sim = Simulator.start();
      try {
        const session = await CtiSession.open(agentConfig(sim.address, { version }));
        const events = session.events();
        sim.setAgentState('1001', 'AGENT_STATE_AVAILABLE');
        await take(events, 1);
        const callId = sim.offerCall({ ani: '5551234', dnis: '8000', callVariables: ['acct-42'] });
        const got = await take(events, 3);
        assert.deepEqual(
          got.map((e) => e.MessageName),
          ['AGENT_STATE_EVENT', 'BEGIN_CALL_EVENT', 'CALL_DELIVERED_EVENT'],
        );
        assert.equal(got[1].CallVariable1, 'acct-42');
        const conf = await session.request({
          MessageName: 'ANSWER_CALL_REQ',
          PeripheralID: 5000,
          ConnectionCallID: callId,
          ConnectionDeviceID: '5001',
        });
        assert.equal(conf.MessageName, 'ANSWER_CALL_CONF');
        assert.deepEqual(
          (await take(events, 2)).map((e) => e.MessageName),
          ['CALL_ESTABLISHED_EVENT', 'AGENT_STATE_EVENT'],
        );
        assert.equal(sim.calls()[0].call_id, callId);
        sim.hangup(callId);
        assert.deepEqual(
          (await take(events, 4)).map((e) => e.MessageName),
          ['CALL_CONNECTION_CLEARED_EVENT', 'CALL_CLEARED_EVENT', 'END_CALL_EVENT', 'AGENT_STATE_EVENT'],
        );
        assert.throws(() => sim.hangup(callId), isCceError('InvalidArgument'));
        assert.throws(() => sim.hangup(-1), isCceError('InvalidArgument'));
        assert.equal(sim.encodeErrors(), 0);
        await session.close();
      } finally {
        sim.stop();
      }
    });
  }

  test('duplex sides: kill, restart, maintenance', GUARD, async () => {
    const sim = Simulator.start({ bindB: '127.0.0.1:0' });
    try {
      const portB = sim.sidePort('B');
      assert.ok(portB > 0 && portB !== sim.port);
      assert.equal(sim.sideState('A'), 'Active');
      assert.equal(sim.sideState('B'), 'Standby');
      const session = await CtiSession.open(agentConfig(sim.address));
      const closed = new Promise((resolve) => session.on('closed', resolve));
      sim.killSide('A');
      assert.equal((await closed).MessageName, 'SESSION_CLOSED');
      assert.equal(sim.sideState('B'), 'Active');
      const again = await CtiSession.open(agentConfig(`127.0.0.1:${portB}`));
      assert.equal(again.openConf.SessionType_name, 'Active');
      await again.close();
      assert.equal(sim.restartSide('A'), sim.port);
      await assert.rejects(
        CtiSession.open(agentConfig(sim.address, { version: 15 })),
        isCceError('Refused', 'E_CTI_CTI_SERVER_OFFLINE'),
      );
      const outcome = sim.maintenance('B');
      assert.equal(outcome.accepted, true);
      assert.equal(sim.sideState('B'), 'Maintenance');
      sim.endMaintenance('B');
      assert.throws(() => sim.killSide('C'), isCceError('InvalidArgument'));
    } finally {
      sim.stop();
    }
  });

  test('request faults and failure events', GUARD, async () => {
    const sim = Simulator.start();
    try {
      const session = await CtiSession.open(agentConfig(sim.address));
      sim.addFault({
        request: 'SET_AGENT_STATE_REQ',
        times: 1,
        action: 'failure_conf',
        status: 'E_CTI_INVALID_AGENT_DATA',
      });
      const ready = { MessageName: 'SET_AGENT_STATE_REQ', PeripheralID: 5000, AgentState: 'AGENT_STATE_AVAILABLE' };
      await assert.rejects(session.request(ready), isCceError('Refused', 'E_CTI_INVALID_AGENT_DATA'));
      sim.addFault({ request: 'MAKE_CALL_REQ', action: 'control_failure', failure_code: 'CF_RESOURCE_BUSY', peripheral_error: 42 });
      await assert.rejects(
        session.request({ MessageName: 'MAKE_CALL_REQ', PeripheralID: 5000, DialedNumber: '9001' }),
        isCceError('ControlFailed', 'CF_RESOURCE_BUSY'),
      );
      sim.clearFaults();
      assert.throws(() => sim.addFault({ request: 'NOPE', action: 'drop' }), isCceError('InvalidArgument'));
      const closed = new Promise((resolve) => session.on('closed', resolve));
      sim.sendFailureEvent('E_CTI_CTI_SERVER_OFFLINE');
      assert.equal((await closed).MessageName, 'SESSION_CLOSED');
    } finally {
      sim.stop();
    }
  });

  test('commands, scenarios and load', GUARD, () => {
    const sim = Simulator.start();
    try {
      assert.deepEqual(sim.command({ op: 'set_agent_state', agentId: '1001', state: 'AGENT_STATE_AVAILABLE' }), {});
      const report = sim.runScenario({
        steps: [
          { op: 'offer_call', name: 'c1', ani: '5551234', dnis: '8000' },
          { after_ms: 5, op: 'answer_call', call: 'c1' },
          { op: 'hangup', call: 'c1' },
        ],
      });
      assert.equal(report.steps_run, 3);
      assert.deepEqual(report.errors, []);
      const load = sim.runLoad({ agents: 20, callsPerSecond: 200, calls: 40, talkMs: 10 });
      assert.equal(load.offered, 40);
      assert.equal(load.completed, 40);
      assert.equal(sim.status().agents.length, 21);
      assert.throws(() => sim.command({ op: 'nope' }), isCceError('InvalidArgument'));
    } finally {
      sim.stop();
    }
  });
});
