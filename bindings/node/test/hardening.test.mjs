// Issue 14 regressions seen from Node: strict and tolerant decoding, the received
// floating-field order through JSON, and a secret that never appears in a config error.
// Bytes are written by hand from the data sheet.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CceError, CtiSession, decode, encode } from '../index.js';

function fl(tag, data) {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(tag, 0);
  head.writeUInt16BE(data.length, 2);
  return Buffer.concat([head, Buffer.from(data)]);
}
function u32(v) { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; }
function u16(v) { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; }
function framed(type, ...parts) {
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(body.length), u32(type), body]);
}

// LIST_AGENT_TEAM_CONF (134): InvokeID 4, NumberOfAgentTeams 0, SegmentNumber 1, More 0,
// and two TeamID[92] fields.
const TEAMS_0 = framed(134, u32(4), u16(0), u16(1), u16(0), fl(92, u32(11)), fl(92, u32(12)));
// CALL_TRANSLATION_ROUTE_EVENT (22): NumNamedVariables 1029 with one NamedVariable[82].
const NAMED_VARS_1029 = framed(22, u16(1029), u16(0), fl(10, '5000\0'), fl(72, u32(1)),
  fl(73, u32(2)), fl(110, u32(3)), fl(82, 'user.a\0x\0'));
// RTP_STOPPED_EVENT (117): SendingPort[126] as a 12-byte string instead of a UINT.
const PORT = Buffer.from('16384\0\0\0\0\0\0\0', 'latin1');
const PORT_AS_TEXT = framed(117, u32(0), u32(5000), u32(0), u16(0), u16(0), u32(7),
  fl(25, '5001\0'), fl(81, '10.0.0.1\0'), fl(125, '10.0.0.2\0'), fl(126, PORT));

for (const [name, wire, count, declared] of [
  ['NumberOfAgentTeams', TEAMS_0, 'NumberOfAgentTeams', 0],
  ['NumNamedVariables', NAMED_VARS_1029, 'NumNamedVariables', 1029],
]) {
  test(`${name} mismatch: strict by default, kept with warnings when tolerant`, () => {
    assert.throws(() => decode(wire, 24), (e) => e instanceof CceError && e.code === 'Codec');
    assert.throws(() => decode(wire, 24, { strict: true }), CceError);
    const msg = decode(wire, 24, { strict: false });
    assert.equal(msg[count], declared);
    assert.equal(msg._warnings.length, 1);
    assert.match(msg._warnings[0], new RegExp(count));
    assert.deepEqual([...encode(msg, 24)], [...wire]);
  });
}

test('a wrongly sized field is kept raw under its name', () => {
  assert.throws(() => decode(PORT_AS_TEXT, 24), /SendingPort/);
  const msg = decode(PORT_AS_TEXT, 24, { strict: false });
  assert.deepEqual(msg.SendingPort, { _raw: PORT.toString('hex') });
  assert.match(msg._warnings[0], /^SendingPort/);
  assert.deepEqual([...encode(msg, 24)], [...PORT_AS_TEXT]);
  assert.throws(() => decode(PORT_AS_TEXT, 24, { strict: 'no' }), (e) => e.code === 'InvalidArgument');
});

test('the received floating order survives JSON', () => {
  // QUERY_AGENT_STATE_REQ (36): AgentID[5] before AgentExtension[4] and AgentInstrument[6].
  const wire = framed(36, u32(1), u32(5000), u32(1), u32(0), fl(5, '1001\0'), fl(4, '5001\0'),
    fl(6, '5001\0'));
  const msg = decode(wire, 24);
  assert.deepEqual(msg._order, ['AgentID', 'AgentExtension', 'AgentInstrument']);
  assert.deepEqual([...encode(JSON.parse(JSON.stringify(msg)), 24)], [...wire]);
});

test('a numeric client_password is refused without its value', async () => {
  await assert.rejects(
    CtiSession.open({ address: '127.0.0.1:1', client_id: 't', client_password: 8675309 }),
    (e) => e instanceof CceError && !String(e.message).includes('8675309') && /client_password/.test(e.message),
  );
});
