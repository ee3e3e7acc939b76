// CTI over TLS through the Node binding: mutual TLS to the simulator's side A, failover
// to a TLS side B, and a typed error code for every failure class. Key material is made
// at test time (CCE_TEST_PKI names a directory from `cargo run -p libcce --example
// test_pki`; without it the test makes one).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { CceError, CtiSession, Simulator } from '../index.js';

const GUARD = { timeout: 30_000 };
const WAIT_MS = 10_000;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function loadPki() {
  let dir = process.env.CCE_TEST_PKI;
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'cce-pki-'));
    execFileSync('cargo', ['run', '-q', '-p', 'libcce', '--example', 'test_pki', '--', dir], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  }
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

const pki = loadPki();

function simConfig({ server = 'server', duplex = false } = {}) {
  const config = {
    tls: {
      cert_pem: pki[`${server}.pem`],
      key_pem: pki[`${server}.key`],
      client_ca_pem: pki['ca.pem'],
      secure_only: true,
    },
  };
  if (duplex) config.bind_b = '127.0.0.1:0';
  return config;
}

function clientTls(over = {}) {
  const tls = { ca_pem: pki['ca.pem'], cert_pem: pki['client.pem'], key_pem: pki['client.key'], ...over };
  for (const k of Object.keys(tls)) if (tls[k] === undefined) delete tls[k];
  return tls;
}

async function open(port, tls) {
  const config = { address: `127.0.0.1:${port}`, clientId: 'node-tls', peripheralId: 5000, connectTimeoutMs: 5000 };
  if (tls) config.tls = tls;
  return CtiSession.open(config);
}

async function until(events, pred) {
  for (;;) {
    const r = await events.next();
    assert.equal(r.done, false, 'the session ended before the expected event');
    if (pred(r.value)) return r.value;
  }
}

describe('CTI over TLS', () => {
  test('mutual TLS on side A, failover to a TLS side B', GUARD, async () => {
    const sim = new Simulator(simConfig({ duplex: true }));
    const session = await CtiSession.open({
      address: `127.0.0.1:${sim.sidePort('A')}`,
      addressB: `127.0.0.1:${sim.sidePort('B')}`,
      clientId: 'node-tls',
      peripheralId: 5000,
      expectedClients: 0,
      reconnectTimeScale: 0.001,
      tls: clientTls(),
    });
    const events = session.events();
    try {
      assert.equal(session.state().side, 'A');
      sim.killSide('A');
      const back = await until(events, (e) => e.MessageName === 'CONNECTION_STATE' && e.state === 'Connected');
      assert.equal(back.side, 'B');
      assert.equal(back.reconnected, true);
      session.setTls(clientTls());
      assert.throws(() => session.setTls({ min_version: '1.0' }), (e) => e.code === 'InvalidArgument');
    } finally {
      await session.close();
      await sim.stop();
    }
  });

  const cases = [
    ['wrong CA', 'server', { ca_pem: pki['other_ca.pem'] }, 'unknown_issuer'],
    ['wrong name', 'wrong_name', {}, 'name_mismatch'],
    ['expired', 'expired', {}, 'expired'],
    ['missing client certificate', 'server', { cert_pem: undefined, key_pem: undefined }, 'client_certificate_refused'],
  ];
  for (const [name, server, over, reason] of cases) {
    test(`${name}: CertificateInvalid/${reason}`, GUARD, async () => {
      const sim = new Simulator(simConfig({ server }));
      try {
        const started = Date.now();
        await assert.rejects(open(sim.sidePort('A'), clientTls(over)), (e) => {
          assert.ok(e instanceof CceError);
          assert.equal(e.code, 'CertificateInvalid');
          assert.equal(e.reason, reason);
          assert.ok(!e.message.includes('PRIVATE KEY'));
          return true;
        });
        assert.ok(Date.now() - started < WAIT_MS);
      } finally {
        await sim.stop();
      }
    });
  }

  test('plain client to a TLS port, and TLS client to a plain port: TlsHandshake', GUARD, async () => {
    const secure = new Simulator(simConfig());
    const plain = new Simulator();
    try {
      await assert.rejects(open(secure.sidePort('A'), null), (e) => e.code === 'TlsHandshake' && e.reason === null);
      await assert.rejects(open(plain.sidePort('A'), clientTls()), (e) => e.code === 'TlsHandshake');
    } finally {
      await secure.stop();
      await plain.stop();
    }
  });
});
