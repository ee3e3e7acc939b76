// An agent on the Generic Connector simulator over ActiveMQ (Node).
//
// Uses the STOMP broker at CCE_STOMP_ADDR=host:port (`scripts/activemq.sh start` prints one),
// else the simulator's own in-memory broker (`broker: 'embedded'`).
// Logs agent 1001 in, makes it ready, answers one simulated call, logs out.
import { randomUUID } from 'node:crypto';

import lib from '../../bindings/node/index.js';

const { GcSession, GcSimulator } = lib.gc;
const requestQueue = `Connector-example-${randomUUID().slice(0, 8)}`;
const sim = await GcSimulator.start({ broker: process.env.CCE_STOMP_ADDR || 'embedded', requestQueue });
const addr = sim.control('broker');
const gc = await GcSession.open({ brokers: [addr], destination: `node-example-${process.pid}`, requestQueue });
gc.on('event', (ev) => console.log(JSON.stringify(ev)));
try {
  const state = (s) => gc.waitFor('State', { agentId: '1001', state: s });
  let next = state('NOT_READY');
  await gc.login('1001', 'secret', '4001');
  await next;
  next = state('READY');
  await gc.send('MakeReady', '1001');
  await next;
  next = state('RESERVED');
  const dialog = sim.injectCall('1001', '5551234', { callVariable1: 'acct-42' });
  await next;
  next = state('TALKING');
  await gc.send('AnswerCall', '1001', { dialog_id: dialog });
  await next;
  next = state('READY');
  await gc.send('ReleaseCall', '1001', { dialog_id: dialog });
  await next;
  next = state('LOGOUT');
  await gc.send('Logout', '1001');
  await next;
} finally {
  await gc.close();
  await sim.stop();
}
