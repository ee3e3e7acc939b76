// encode()/decode() against hand-written bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CceError, decode, encode } from '../index.js';

// HEARTBEAT_REQ: MessageLength 4, MessageType 5, InvokeID 7.
const HEARTBEAT_REQ = [0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 7];

test('decode HEARTBEAT_REQ from hand-written bytes', () => {
  for (const version of [15, 24]) {
    const msg = decode(Buffer.from(HEARTBEAT_REQ), version);
    assert.deepEqual(msg, { MessageType: 5, MessageName: 'HEARTBEAT_REQ', InvokeID: 7 });
  }
  // A Uint8Array (here a view into a larger buffer) and a plain array are accepted too.
  const big = new Uint8Array([9, 9, ...HEARTBEAT_REQ, 9]);
  assert.equal(decode(big.subarray(2, 14), 24).InvokeID, 7);
  assert.equal(decode(HEARTBEAT_REQ).MessageName, 'HEARTBEAT_REQ');
});

test('encode HEARTBEAT_REQ to the same bytes', () => {
  for (const version of [15, 24]) {
    const bytes = encode({ MessageName: 'HEARTBEAT_REQ', InvokeID: 7 }, version);
    assert.ok(Buffer.isBuffer(bytes));
    assert.deepEqual([...bytes], HEARTBEAT_REQ);
  }
  assert.deepEqual([...encode({ MessageType: 5, InvokeID: 7 })], HEARTBEAT_REQ);
  assert.deepEqual([...encode('{"MessageName":"HEARTBEAT_REQ","InvokeID":7}', 24)], HEARTBEAT_REQ);
});

test('enum names encode and decode with _name companions', () => {
  const bytes = encode(
    {
      MessageName: 'SET_AGENT_STATE_REQ',
      InvokeID: 3,
      PeripheralID: 5000,
      AgentState: 'AGENT_STATE_AVAILABLE',
      AgentInstrument: '5001',
    },
    24,
  );
  const msg = decode(bytes, 24);
  assert.equal(msg.MessageName, 'SET_AGENT_STATE_REQ');
  assert.equal(msg.InvokeID, 3);
  assert.equal(msg.PeripheralID, 5000);
  assert.equal(msg.AgentState, 3);
  assert.equal(msg.AgentState_name, 'AGENT_STATE_AVAILABLE');
  assert.equal(msg.AgentInstrument, '5001');
});

test('codec errors are CceErrors', () => {
  const isCode = (code) => (e) => e instanceof CceError && e.code === code && e.status === null;
  // Truncated frame.
  assert.throws(() => decode(Buffer.from(HEARTBEAT_REQ.slice(0, 10)), 24), isCode('Codec'));
  // Mistakes in the message (unknown name, malformed JSON, bad field value).
  assert.throws(() => encode({ MessageName: 'NO_SUCH_MESSAGE' }, 24), isCode('InvalidArgument'));
  assert.throws(() => encode('{not json', 24), isCode('InvalidArgument'));
  assert.throws(
    () => encode({ MessageName: 'SET_AGENT_STATE_REQ', AgentState: 'NO_SUCH_STATE' }, 24),
    isCode('InvalidArgument'),
  );
  // Arguments checked before they reach the library.
  assert.throws(() => encode({ MessageName: 'HEARTBEAT_REQ' }, 'x'), isCode('InvalidArgument'));
  assert.throws(() => encode(42, 24), isCode('InvalidArgument'));
  assert.throws(() => decode('00000004', 24), isCode('InvalidArgument'));
  assert.throws(() => decode(Buffer.from(HEARTBEAT_REQ), -1), isCode('InvalidArgument'));
  const cyclic = { MessageName: 'HEARTBEAT_REQ' };
  cyclic.self = cyclic;
  assert.throws(() => encode(cyclic, 24), isCode('InvalidArgument'));
});
