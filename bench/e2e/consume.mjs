// Node consumer of the end-to-end benchmark (bench/e2e/README.md).
//
//   node consume.mjs PORT N
//
// Opens a session with the Node binding (bindings/node, built by `make bench-e2e`)
// against the blaster (ClientID "blast:N"), counts N stream events with an 'event'
// listener, reading MessageType and one string field of each, and prints one JSON
// line: {"consumer":"node","events":N,"seconds":S,"events_per_s":R,"check":C}
// with S from the first event to the last and R = (N - 1) / S.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { CtiSession } = require('../../bindings/node/index.js');

const AGENT_STATE_EVENT = 30;
const HEARTBEAT_CONF = 6;
const [port, want] = [Number(process.argv[2]), Number(process.argv[3])];

const session = await CtiSession.open({
  address: `127.0.0.1:${port}`,
  client_id: `blast:${want}`,
  version: 24,
  services: 'CTI_SERVICE_ALL_EVENTS',
  peripheral_id: 5000,
});

let got = 0;
let check = 0;
let tFirst = 0n;
let tLast = 0n;
const done = new Promise((resolve, reject) => {
  // Bounded wait: the run fails instead of hanging.
  const timer = setTimeout(() => reject(new Error(`timed out with ${got} of ${want} events`)), 600_000);
  session.on('event', (ev) => {
    const mt = ev.MessageType;
    if (mt === 0) {
      clearTimeout(timer);
      if (got < want) reject(new Error(`the session closed after ${got} events`));
      return;
    }
    if (mt === HEARTBEAT_CONF || got >= want) return;
    const value = (mt === AGENT_STATE_EVENT ? ev.AgentID : ev.ConnectionDeviceID) ?? '';
    check += mt + value.length;
    got += 1;
    if (got === 1) tFirst = process.hrtime.bigint();
    if (got === want) {
      tLast = process.hrtime.bigint();
      clearTimeout(timer);
      resolve();
    }
  });
});

try {
  await done;
} finally {
  await session.close();
}
const secs = Number(tLast - tFirst) / 1e9;
console.log(JSON.stringify({
  consumer: 'node', events: want, seconds: secs,
  events_per_s: secs > 0 ? Math.round((want - 1) / secs) : 0, check,
}));
