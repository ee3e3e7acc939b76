// An agent session on the embedded CTI simulator, with the Node binding of libcce.
//
//   cd bindings/node && npm ci && npm run build
//   node examples/node/agent_session.mjs
//
// Starts the simulator, opens an agent session (protocol version 24), makes the
// agent ready, plays one inbound call, prints every event as one JSON line on
// stdout, closes the session and exits 0.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { CtiSession, Simulator } = require('../../bindings/node/index.js');

const sim = Simulator.start();
try {
  const session = await CtiSession.open({
    address: sim.address,
    client_id: 'node-example',
    version: 24,
    services: 'CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL',
    peripheral_id: 5000,
    agent_id: '1001',
  });
  console.error(`opened: agent ${session.openConf.AgentID}, ${session.openConf.AgentState_name}`);

  // The session's events from now on, buffered until we read them.
  const events = session.events();
  const print = async (count) => {
    for (let i = 0; i < count; i++) {
      const { value, done } = await events.next();
      if (done) throw new Error('the session ended early');
      console.log(JSON.stringify(value));
    }
  };

  // Ready: SET_AGENT_STATE_CONF, then AGENT_STATE_EVENT.
  await session.request({
    MessageName: 'SET_AGENT_STATE_REQ',
    PeripheralID: 5000,
    AgentState: 'AGENT_STATE_AVAILABLE',
    AgentInstrument: '5001',
  });
  await print(1);

  // One inbound call: BEGIN_CALL, DELIVERED, ESTABLISHED, AGENT_STATE (talking),
  // CLEARED, END_CALL, AGENT_STATE.
  const callId = sim.injectCall({
    ani: '5551234',
    dnis: '8000',
    call_variables: ['acct-42', 'gold'],
    named_variables: [['user.crm.id', 'C-7']],
  });
  console.error(`call ${callId} injected`);
  await print(7);

  // Close; SESSION_CLOSED is the last event.
  await session.close();
  for await (const ev of events) console.log(JSON.stringify(ev));
} finally {
  sim.stop();
}
