// The process exits by itself once its sessions are closed: no dangling pump or handle.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const index = fileURLToPath(new URL('../index.js', import.meta.url));

function runScript(body) {
  const script = `
    const { CtiSession, Simulator } = require(${JSON.stringify(index)});
    (async () => { ${body} })().catch((e) => { console.error(e); process.exit(3); });
  `;
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
}

const OPEN = `
  const sim = Simulator.start();
  const session = await CtiSession.open({
    address: sim.address, client_id: 'exit-test', agent_id: '1001', peripheral_id: 5000,
    services: 'CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL',
  });
  session.on('event', () => {});
`;

test('exits after close()', { timeout: 30_000 }, () => {
  const r = runScript(`${OPEN} await session.close(); console.log('closed');`);
  assert.equal(r.error, undefined, 'the process did not exit by itself');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'closed');
});

test('exits after the session failed (simulator stopped), without close()', { timeout: 30_000 }, () => {
  const r = runScript(`${OPEN} sim.stop(); const ev = await session.closed; console.log(ev.reason);`);
  assert.equal(r.error, undefined, 'the process did not exit by itself');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'Failed');
});

test('exits with a simulator left running and no session', { timeout: 30_000 }, () => {
  const r = runScript(`Simulator.start(); console.log('started');`);
  assert.equal(r.error, undefined, 'the process did not exit by itself');
  assert.equal(r.status, 0, r.stderr);
});
