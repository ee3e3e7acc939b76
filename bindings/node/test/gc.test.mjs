// GC client ↔ simulator through an ActiveMQ broker (CCE_STOMP_ADDR; `make test-gc`).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';

import lib from '../index.js';

const { GcSession, GcSimulator, encodeCommand, parseEvent } = lib.gc;
const ADDR = process.env.CCE_STOMP_ADDR;
if (!ADDR && process.env.CCE_REQUIRE_BROKER) {
  throw new Error('CCE_REQUIRE_BROKER is set but CCE_STOMP_ADDR is not');
}
const skip = ADDR ? false : 'CCE_STOMP_ADDR not set: run `make test-gc` to test against ActiveMQ';

test('encode and parse offline', () => {
  assert.deepEqual(
    encodeCommand({ command: 'Login', agent_id: '1001', password: 'pw', extension: '4012' }),
    ['Login#1001', 'pw,4012'],
  );
  assert.throws(
    () => encodeCommand({ command: 'MakeCall', agent_id: '1001', number: '1|2' }),
    (e) => e.code === 'InvalidArgument' && /must not contain/.test(e.message),
  );
  const [ev] = parseEvent('1001#State#NOT_READY#12#Al Smith');
  assert.equal(ev.event, 'State');
  assert.equal(ev.reason_code, '12');
  const [sys] = parseEvent(Buffer.from('{"type":"System","status":"OUT_OF_SERVICE"}'));
  assert.equal(sys.status, 'OUT_OF_SERVICE');
  assert.throws(() => parseEvent('{nope'), (e) => e.code === 'Codec');
});

test('error events carry the error table; passwords never in errors', () => {
  const [ev] = parseEvent('1001#Error#SUBSCRIPTION_FAILED');
  assert.equal(ev.origin, 'Gc');
  assert.equal(ev.behaviour, 'AskForCredentials');
  assert.equal(ev.user_message, 'bad login ID or password');
  const [unknown] = parseEvent('1001#Error#SOMETHING_NEW');
  assert.equal(unknown.origin, 'Unknown');
  assert.equal(unknown.user_message, null);
  for (const password of ['Kn0wn,S3', 97777]) {
    assert.throws(
      () => encodeCommand({ command: 'Login', agent_id: '1', password, extension: '1' }),
      (e) =>
        e.code === 'InvalidArgument' &&
        /password/.test(e.message) &&
        !/Kn0wn|97777/.test(e.message),
    );
  }
});

test('no broker: Io error', async () => {
  await assert.rejects(
    GcSession.open({ brokers: '127.0.0.1:1', destination: 'node-x' }),
    (e) => e.code === 'Io',
  );
});

for (const format of ['json', 'text']) {
  test(`agent call flow (${format})`, { skip, timeout: 60_000 }, async () => {
    const requestQueue = `Connector-node-${randomUUID().slice(0, 8)}`;
    const sim = await GcSimulator.start({ broker: ADDR, requestQueue, format });
    const gc = await GcSession.open({
      brokers: [ADDR],
      destination: `node-${randomUUID().slice(0, 8)}`,
      requestQueue,
    });
    try {
      const notReady = gc.waitFor('State', { agentId: '1001', state: 'NOT_READY' });
      await gc.login('1001', 'secret', '4001');
      assert.equal((await notReady).format, format);
      assert.equal(gc.state.gc, 'InService');

      const ready = gc.waitFor('State', { agentId: '1001', state: 'READY' });
      await gc.send('MakeReady', '1001');
      await ready;

      const ring = gc.waitFor('NewInboundCall', { agentId: '1001' });
      const dialog = sim.injectCall('1001', '5551234', { callVariable1: 'acct-42' });
      const r = await ring;
      assert.equal(r.dialog_id, dialog);
      assert.equal(r.ani, '5551234');
      assert.equal(r.call_variables.callVariable1, 'acct-42');

      const talking = gc.waitFor('State', { agentId: '1001', state: 'TALKING' });
      await gc.send('AnswerCall', '1001', { dialog_id: dialog });
      await talking;
      const consult = gc.waitFor('ConsultCall', { agentId: '1001' });
      await gc.send('ConsultCall', '1001', { number: '4002', dialog_id: dialog });
      assert.notEqual((await consult).dialog_id, dialog);
      const after = gc.waitFor('State', { agentId: '1001', state: 'READY' });
      await gc.send('TransferCall', '1001', { dialog_id: dialog });
      await after;

      await assert.rejects(gc.send('MakeCall', '1001', { number: '1,2' }), (e) => e.code === 'InvalidArgument');

      const err = gc.waitFor('Error', { agentId: '1001' });
      sim.control('send_error', { agent_id: '1001', code: 'NO_DIALOG_ID' });
      assert.equal((await err).code, 'NO_DIALOG_ID');

      const relogin = gc.waitFor((e) => e.event === 'Notice' && e.notice === 'ReLogin');
      sim.control('forget_agent', { agent_id: '1001' });
      await gc.send('GetState', '1001');
      await relogin;
    } finally {
      const closed = await gc.close();
      assert.deepEqual(closed, { event: 'Closed' });
      await sim.stop();
    }
  });
}

test('GC session over TLS; an untrusted broker certificate is CertificateInvalid', { skip, timeout: 60_000 }, async () => {
  const tlsAddr = process.env.CCE_STOMP_TLS_ADDR;
  const ca = process.env.CCE_STOMP_TLS_CA;
  assert.ok(tlsAddr && ca, 'make test-gc sets CCE_STOMP_TLS_ADDR and CCE_STOMP_TLS_CA');
  const requestQueue = `Connector-node-${randomUUID().slice(0, 8)}`;
  const sim = await GcSimulator.start({ broker: ADDR, requestQueue });
  const gc = await GcSession.open({
    brokers: [tlsAddr],
    destination: `node-${randomUUID().slice(0, 8)}`,
    requestQueue,
    tls: { ca_file: ca },
  });
  try {
    const notReady = gc.waitFor('State', { agentId: '1001', state: 'NOT_READY' });
    await gc.login('1001', 'secret', '4001');
    await notReady;
  } finally {
    await gc.close();
    await sim.stop();
  }
  await assert.rejects(
    GcSession.open({ brokers: [tlsAddr], destination: 'node-untrusted', tls: {} }),
    (e) => e.code === 'CertificateInvalid' && e.reason === 'unknown_issuer',
  );
});
