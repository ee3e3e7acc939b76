// Compile-only check of index.d.ts (run by types.test.mjs with tsc --noEmit).
import { CceError, CtiSession, REQUESTS, Simulator, StreamDecoder, decode, encode, DEFAULT_VERSION } from '../index.js';
import type { CtiEvent, SessionClosedEvent, SessionConfig, SimCall } from '../index.js';

async function main(): Promise<void> {
  const sim: Simulator = Simulator.start({ agents: [{ agent_id: '1001', extension: '5001' }] });
  const port: number = sim.port;
  const config: SessionConfig = {
    address: `127.0.0.1:${port}`,
    client_id: 'types',
    services: ['CTI_SERVICE_CLIENT_EVENTS'],
    heartbeatMs: 5000,
  };
  const camel: SessionConfig = { address: sim.address, clientId: 'types' };
  const session: CtiSession = await CtiSession.open(config);
  await CtiSession.open(camel);
  session.on('event', (ev: CtiEvent) => ev.MessageName.toUpperCase());
  session.on('closed', (ev: SessionClosedEvent) => ev.reason);
  session.once('decodeError', (ev) => ev.error_kind.length);
  const id: number = session.send({ MessageName: 'QUERY_AGENT_STATE_REQ', AgentID: '1001' });
  const conf: CtiEvent = await session.request({ MessageName: 'HEARTBEAT_REQ' }, { timeoutMs: id });
  for await (const ev of session.events()) {
    if (ev.MessageType === conf.MessageType) break;
  }
  const call: SimCall = { ani: '1', namedVariables: { 'user.a': 'b' } };
  const callId: number = sim.injectCall(call);
  const state: number | null = sim.agentState('1001');
  const closed: SessionClosedEvent = await session.close();
  const bytes: Buffer = encode({ MessageName: 'HEARTBEAT_REQ', InvokeID: callId }, DEFAULT_VERSION);
  decode(bytes).InvokeID;
  decode(new Uint8Array(bytes), 15);
  const stream = new StreamDecoder(DEFAULT_VERSION);
  stream.push(bytes);
  const first: CtiEvent | null = stream.next();
  const rest: CtiEvent[] = stream.feed([0, 0]);
  const pending: number = stream.pending + rest.length + (first?.MessageType ?? 0);
  new StreamDecoder().feed(new Uint8Array(pending));
  sim.setAnswerHeartbeats(state === null && closed.reason === 'Closed');
  sim.stop();
  try {
    sim.stop();
  } catch (e) {
    if (e instanceof CceError) {
      const code: 'Closed' | string = e.code;
      const status: number | null = e.status;
      console.log(code, status, e.statusName);
    }
  }
}

// @ts-expect-error: sessions come from CtiSession.open().
new CtiSession();
// @ts-expect-error: bytes, not a string.
new StreamDecoder().push('00');
// @ts-expect-error: a client ID is required.
const noClient: SessionConfig = { address: '127.0.0.1:1' };
void noClient;
void main;

async function helpers(s: CtiSession): Promise<void> {
  const conf: CtiEvent = await s.makeCall({ DialedNumber: '5002' }, { timeoutMs: 1000 });
  const viaName: CtiEvent = await s.call('answer_call', { ConnectionCallID: 1 });
  const side: 'A' | 'B' | null = s.state().side;
  console.log(conf, viaName, side, s.model().calls.length, REQUESTS[0].helper);
  // @ts-expect-error: no such helper.
  await s.makeCal({});
}
void helpers;

async function gcEvents(s: import('../index.js').GcSession): Promise<void> {
  for await (const ev of s.events()) {
    const name: string = ev.event;
    if (name === 'Closed') break;
  }
}
void gcEvents;
