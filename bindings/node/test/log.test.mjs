// Logging, wire trace and statistics: setLogger receives the session's records and
// wire trace, no secret appears in them, and stats() matches the exchange.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { CtiSession, Simulator, ece, metricsText, setLogger } from '../index.js';

const SECRET = 'hunter2-node-secret';
const ECE_SECRET = 'ece-node-secret-9';
const QUERY = { MessageName: 'QUERY_AGENT_STATE_REQ', AgentID: '1001' };
const GUARD = { timeout: 30_000 };

/** Collects records; `until(pred)` resolves once a record matching `pred` has arrived. */
function collector() {
  const records = [];
  const waiters = [];
  const cb = (level, target, message) => {
    records.push({ level, target, message });
    for (const w of [...waiters]) {
      if (w.pred()) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const until = (pred, what) =>
    new Promise((resolve, reject) => {
      if (pred()) return resolve();
      const timer = setTimeout(() => reject(new Error(`no log record: ${what}`)), 10_000);
      waiters.push({ pred, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  return { records, cb, until };
}

test('session records, wire trace and stats', GUARD, async () => {
  const log = collector();
  setLogger(log.cb, 'info');
  const sim = Simulator.start();
  try {
    const session = await CtiSession.open({
      address: sim.address,
      clientId: 'node-log',
      clientPassword: SECRET,
      services: 'CTI_SERVICE_CLIENT_EVENTS',
      peripheralId: 5000,
      agentId: '1001',
      trace: true,
    });
    for (let i = 0; i < 3; i++) await session.request(QUERY);
    const stats = session.stats();
    const metrics = metricsText();
    await session.close();

    const wire = () => log.records.filter((r) => r.target === 'libcce::wire').map((r) => JSON.parse(r.message));
    const out = () => wire().filter((r) => r.dir === 'out');
    const inn = () => wire().filter((r) => r.dir === 'in');
    await log.until(() => out().some((r) => r.name === 'CLOSE_REQ'), 'CLOSE_REQ traced');
    await log.until(() => inn().length >= stats.frames_in, 'every frame in traced');

    assert.deepEqual(out().map((r) => r.name), ['OPEN_REQ', ...Array(3).fill('QUERY_AGENT_STATE_REQ'), 'CLOSE_REQ']);
    assert.ok(log.records.filter((r) => r.target === 'libcce::wire').every((r) => r.level === 'info'));
    assert.equal(out()[0].msg.ClientPassword, '<redacted>');
    assert.equal(stats.frames_out, 4);
    assert.equal(stats.bytes_out, out().slice(0, 4).reduce((a, r) => a + r.size, 0));
    assert.equal(stats.bytes_in, inn().slice(0, stats.frames_in).reduce((a, r) => a + r.size, 0));
    assert.equal(stats.requests, 3);
    assert.equal(stats.opens, 1);
    assert.equal(stats.decode_errors, 0);
    assert.equal(typeof stats.queue_depth, 'number');
    assert.equal(stats.queue_drops, 0);
    assert.ok(stats.queue_high_water >= stats.queue_depth);
    assert.ok(stats.request_latency_ms.p50 <= stats.request_latency_ms.p99);
    assert.ok(metrics.includes(`cce_cti_requests_total{session="${stats.session}",client_id="node-log"} 3`));
    assert.ok(!JSON.stringify(log.records).includes(SECRET));
  } finally {
    setLogger(null);
    sim.stop();
  }
});

test('the TLS warning reaches the logger without the secret', GUARD, async () => {
  const log = collector();
  setLogger(log.cb, 'warn');
  try {
    new ece.Client({
      serverUrl: 'https://ece.example.com',
      clientKey: 'key',
      clientSecret: ECE_SECRET,
      entryPointId: 1,
      verifyTls: false,
    });
    await log.until(() => log.records.some((r) => r.message.includes('TLS certificate verification is OFF')), 'TLS warning');
    const warning = log.records.find((r) => r.message.includes('TLS certificate verification is OFF'));
    assert.equal(warning.level, 'warn');
    assert.ok(!JSON.stringify(log.records).includes(ECE_SECRET));
  } finally {
    setLogger(null);
  }
});

test('setLogger checks its arguments', () => {
  assert.throws(() => setLogger('nope'), { code: 'InvalidArgument' });
  assert.throws(() => setLogger(() => {}, 'loud'), { code: 'InvalidArgument' });
  setLogger(null);
});

test('NODE_DEBUG=libcce writes debug records to stderr', GUARD, () => {
  const index = fileURLToPath(new URL('../index.js', import.meta.url));
  const script = `const l = require(${JSON.stringify(index)});
    new l.ece.Client({serverUrl:'https://ece.example.com',clientKey:'k',clientSecret:'s',entryPointId:1,verifyTls:false});`;
  const r = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, NODE_DEBUG: 'libcce' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /libcce WARN\s+cce::ece::http: ECE client: TLS certificate verification is OFF/);
});
