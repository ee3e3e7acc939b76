// libcce for Node.js: CTI Server (GED-188) client sessions and an embedded
// simulator. A thin JavaScript layer over the native addon `cce.node` (crate
// `libcce-node`), which forwards JSON to the Rust library.
'use strict';

const { EventEmitter } = require('node:events');
const fs = require('node:fs');
const path = require('node:path');

/** Prefix of the message of errors raised by the addon (a JSON object follows). */
const ERROR_PREFIX = 'cce-error:';

/** Protocol version used by encode()/decode()/StreamDecoder when none is given. */
const DEFAULT_VERSION = 24;

const native = loadNative();
const { Pressure, eventIterator } = require('./stream.js');

// The addon: $LIBCCE_NODE_ADDON, else one built in this directory (`npm run build` in a
// checkout), else the prebuilt one of the installed platform package (see platform.js).
function loadNative() {
  const explicit = process.env.LIBCCE_NODE_ADDON;
  const local = path.join(__dirname, 'cce.node');
  if (explicit || fs.existsSync(local)) {
    const file = explicit || local;
    if (!fs.existsSync(file)) throw new Error(`libcce: native addon ${file} not found`);
    return require(file);
  }
  const { platformPackage, addonFile, currentTriple } = require('./platform.js');
  const triple = currentTriple();
  const pkg = platformPackage(triple);
  try {
    return require(`${pkg}/${addonFile(triple)}`);
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND') throw e;
    throw new Error(
      `libcce: no native addon for ${triple}: the package ${pkg} is not installed ` +
        '(reinstall libcce without --no-optional, or run "npm run build" in bindings/node)',
    );
  }
}

// ---------------------------------------------------------------------------
// Errors

/**
 * An error from libcce. `code` is the kind: InvalidArgument, Io, Timeout, Refused,
 * ControlFailed, Closed, Codec, Protocol, Disconnected, QueueFull, TlsHandshake,
 * CertificateInvalid (or Internal for a bug in the library).
 * `status`/`statusName` carry the CTI status of a refusal, when there is one.
 * `reason` is set for CertificateInvalid: expired, unknown_issuer, name_mismatch,
 * client_certificate_refused, pin_mismatch or other.
 */
class CceError extends Error {
  constructor(code, message, { status = null, statusName = null, protocol = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CceError';
    this.code = code;
    this.kind = code;
    this.protocol = protocol;
    this.status = status;
    this.statusName = statusName;
    this.reason = code === 'CertificateInvalid' ? statusName : null;
  }
}

function invalid(message) {
  return new CceError('InvalidArgument', message);
}

/** Turns an addon error into a CceError; anything else is returned unchanged. */
function translate(err) {
  if (!(err instanceof Error) || typeof err.message !== 'string') return err;
  if (!err.message.startsWith(ERROR_PREFIX)) return err;
  let detail;
  try {
    detail = JSON.parse(err.message.slice(ERROR_PREFIX.length));
  } catch {
    return err;
  }
  return new CceError(String(detail.kind), String(detail.message), {
    status: detail.status ?? null,
    statusName: detail.statusName ?? null,
    protocol: detail.protocol ?? null,
  });
}

function call(fn) {
  try {
    return fn();
  } catch (e) {
    throw translate(e);
  }
}

async function callAsync(fn) {
  try {
    return await fn();
  } catch (e) {
    throw translate(e);
  }
}

// ---------------------------------------------------------------------------
// Argument conversion

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function stringify(value, what) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new CceError('InvalidArgument', `${what} cannot be serialised to JSON: ${e.message}`, {
      cause: e,
    });
  }
  return text;
}

/** `clientId` -> `client_id`; snake_case keys are kept as they are. */
function snakeCase(key) {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** A copy of `obj` with snake_case keys (camelCase accepted); undefined values dropped. */
function snakeKeys(obj, what) {
  if (!isPlainObject(obj)) throw invalid(`${what} must be an object`);
  const out = {};
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined) continue;
    const k = snakeCase(key);
    if (Object.prototype.hasOwnProperty.call(out, k)) {
      throw invalid(`${what}: ${key} given twice (as ${k} and in camelCase)`);
    }
    out[k] = value;
  }
  return out;
}

// camelCase keys, mask lists and named variables given as an object are read by the
// core (the same for every language): configurations go over as they are.
function configJson(config, what) {
  if (!isPlainObject(config)) throw invalid(`${what} must be an object`);
  return stringify(config, what);
}

function sessionConfigJson(config) {
  return configJson(config, 'session config');
}

function simConfigJson(config) {
  if (config === undefined || config === null) return '{}';
  return configJson(config, 'simulator config');
}

function callJson(callSpec) {
  return configJson(callSpec, 'call');
}

function messageJson(msg) {
  if (typeof msg === 'string') return msg;
  if (!isPlainObject(msg)) throw invalid('message must be an object (or a JSON string)');
  return stringify(msg, 'message');
}

function timeoutMs(options) {
  if (options === undefined || options === null) return undefined;
  if (!isPlainObject(options)) throw invalid('options must be an object');
  const t = options.timeoutMs;
  if (t === undefined || t === null) return undefined;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) {
    throw invalid(`timeoutMs must be a finite number >= 0, got ${String(t)}`);
  }
  return t;
}

function protocolVersion(version) {
  if (version === undefined) return DEFAULT_VERSION;
  if (!Number.isInteger(version) || version < 0 || version > 0xffffffff) {
    throw invalid(`version must be an integer, got ${String(version)}`);
  }
  return version;
}

function toBuffer(bytes) {
  if (Buffer.isBuffer(bytes)) return bytes;
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (Array.isArray(bytes)) return Buffer.from(bytes);
  throw invalid('bytes must be a Buffer, a Uint8Array or an array of bytes');
}

// ---------------------------------------------------------------------------
// Codec

/**
 * Decodes one whole message (header included) into its JSON object. `options.strict`
 * (default true) false reads tolerantly: a count mismatch or a wrongly sized field is
 * kept and listed in `_warnings` instead of throwing code `Codec`.
 */
function decode(bytes, version, options) {
  const buf = toBuffer(bytes);
  const v = protocolVersion(version);
  let strict = true;
  if (options !== undefined && options !== null) {
    if (typeof options !== 'object') throw invalid('decode options must be an object');
    if (options.strict !== undefined) {
      if (typeof options.strict !== 'boolean') throw invalid('options.strict must be a boolean');
      strict = options.strict;
    }
  }
  return JSON.parse(call(() => native.decodeJson(buf, v, strict)));
}

/** Encodes a message object into its bytes (header included). */
function encode(msg, version) {
  const json = messageJson(msg);
  const v = protocolVersion(version);
  return call(() => native.encodeJson(json, v));
}

/**
 * Decodes the messages of a byte stream received in arbitrary pieces (a connection
 * you read yourself): `push()` bytes as they arrive and take whole messages with
 * `next()`, or do both with `feed()`. A message that cannot be decoded throws code
 * Codec once and the stream goes on; a length over 12,492 throws code Codec and
 * breaks the stream: every later call throws too.
 */
class StreamDecoder {
  #native;
  #deferred = null;

  /** A decoder at protocol `version` (default 24; 15 to 25, else InvalidArgument). */
  constructor(version) {
    const v = protocolVersion(version);
    this.#native = call(() => native.NativeStreamDecoder.create(v));
  }

  /** Bytes buffered while waiting for the rest of a message. */
  get pending() {
    return this.#native.pending;
  }

  /** Appends received bytes. */
  push(bytes) {
    const buf = toBuffer(bytes);
    call(() => this.#native.push(buf));
  }

  /** The next whole message object, or null when more bytes are needed. */
  next() {
    if (this.#deferred !== null) {
      const err = this.#deferred;
      this.#deferred = null;
      throw err;
    }
    const json = call(() => this.#native.nextJson());
    return json === null ? null : JSON.parse(json);
  }

  /**
   * Pushes `bytes` and returns every message now complete, in order. When a message
   * cannot be decoded after others were taken in the same call, those are returned
   * and the error is thrown by the next call to next() or feed() (which pushes its
   * bytes first), so that no message is lost.
   */
  feed(bytes) {
    this.push(bytes);
    const messages = [];
    for (;;) {
      let msg;
      try {
        msg = this.next();
      } catch (e) {
        if (messages.length === 0 || !(e instanceof CceError)) throw e;
        this.#deferred = e;
        break;
      }
      if (msg === null) break;
      messages.push(msg);
    }
    return messages;
  }
}

// ---------------------------------------------------------------------------
// Simulator

// The class lives in sim.js.
const Simulator = require('./sim.js').define({
  native,
  call,
  invalid,
  stringify,
  snakeKeys,
  toBuffer,
  simConfigJson,
  callJson,
});

// ---------------------------------------------------------------------------
// Session

const CONSTRUCT = Symbol('CtiSession.construct');

function isSessionClosed(ev) {
  return ev.MessageType === 0 && ev.MessageName === 'SESSION_CLOSED';
}

/**
 * An open CTI session. Create it with `CtiSession.open(config)`.
 *
 * Events, in order: 'event' for every event object; then 'message' for CTI
 * messages (MessageType != 0), 'decodeError' for DECODE_ERROR, or 'closed' for
 * the final SESSION_CLOSED. The library delivers them in batches (everything that
 * arrived together, one call into JavaScript per batch) from the moment the session
 * is open, until SESSION_CLOSED; meanwhile the session keeps the process alive, as
 * an open socket does. Attach listeners as soon as `open()` resolves, or use
 * `for await (const ev of session.events())`, which buffers.
 */
class CtiSession extends EventEmitter {
  #native;
  #openConf = undefined;
  #closeEvent = null;
  #closed;
  #resolveClosed;
  #pressure = new Pressure();

  /** @private Use `CtiSession.open(config)`. */
  constructor(token, nativeSession) {
    if (token !== CONSTRUCT) throw new TypeError('use CtiSession.open(config) to open a session');
    super();
    this.#native = nativeSession;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    try {
      nativeSession.startEvents((json, last, error) => this.#onBatch(json, last, error));
    } catch (e) {
      this.#fail(e);
    }
  }

  /** Connects and opens a session; resolves once OPEN_CONF has arrived. */
  static async open(config) {
    const json = sessionConfigJson(config);
    const nativeSession = await callAsync(() => native.openSession(json));
    return new CtiSession(CONSTRUCT, nativeSession);
  }

  /** The OPEN_CONF the server answered with. */
  get openConf() {
    if (this.#openConf === undefined) this.#openConf = JSON.parse(this.#native.openConfJson);
    return this.#openConf;
  }

  /** Protocol version of the session. */
  get version() {
    return this.#native.version;
  }

  /** True once SESSION_CLOSED has been emitted. */
  get isClosed() {
    return this.#closeEvent !== null;
  }

  /** Resolves to the SESSION_CLOSED event once it has been emitted. Never rejects. */
  get closed() {
    return this.#closed;
  }

  /** Sends a message without waiting; returns its InvokeID (assigned when absent). */
  send(msg) {
    const json = messageJson(msg);
    return call(() => this.#native.sendJson(json));
  }

  /** Sends a request and resolves to its confirmation. */
  async request(msg, options) {
    const json = messageJson(msg);
    const t = timeoutMs(options);
    const conf = await callAsync(() => this.#native.requestJson(json, t));
    return JSON.parse(conf);
  }

  /**
   * Sends request `name` (`'make_call'`, `'makeCall'` or `'MAKE_CALL_REQ'`) with its
   * fields and resolves to the confirmation. Every request also has a helper method
   * named after it: `session.makeCall(fields, options)` (see `REQUESTS`).
   */
  async call(name, fields, options) {
    if (typeof name !== 'string') throw invalid('request name must be a string');
    const helper = HELPER_BY_CAMEL.get(name);
    const key = helper ? helper.helper : name;
    const json = fields === undefined || fields === null ? '{}' : messageJson(fields);
    const t = timeoutMs(options);
    const conf = await callAsync(() => this.#native.callJson(key, json, t));
    return JSON.parse(conf);
  }

  /** The live model: `{agents, calls, skill_groups, peripherals}`. */
  model() {
    return JSON.parse(call(() => this.#native.modelJson()));
  }

  /** The link state: `{connected, closed, side}` (side `'A'`, `'B'` or null). */
  state() {
    return JSON.parse(call(() => this.#native.stateJson()));
  }

  /** The session's counters (frames, bytes, heartbeats, latencies; see docs/observability.md). */
  stats() {
    return JSON.parse(call(() => this.#native.statsJson()));
  }

  /**
   * Replaces the TLS settings (the `tls` config object, or null for plain TCP).
   * They apply from the next reconnect on; the open connection is left alone.
   */
  setTls(tls) {
    call(() => this.#native.setTlsJson(JSON.stringify(tls ?? null)));
  }

  /**
   * Closes the session (CLOSE_REQ, at most the close timeout for CLOSE_CONF).
   * Resolves to the SESSION_CLOSED object after the 'closed' event has been
   * emitted. Safe to call more than once, and after the session has failed.
   */
  async close() {
    // An events() iterator nobody reads must not hold back SESSION_CLOSED.
    this.#pressure.release();
    const result = JSON.parse(await callAsync(() => this.#native.close()));
    await this.#closed;
    return result;
  }

  /**
   * An async iterator over the events from now on, ending after SESSION_CLOSED:
   * `for await (const ev of session.events())`. It buffers up to 4096 events, then
   * holds the session's delivery until it is read (the events wait in the session's
   * bounded queue). Leaving the loop (`break`) unsubscribes it.
   */
  events() {
    return eventIterator(this, {
      isDone: () => this.isClosed,
      isLast: isSessionClosed,
      pressure: this.#pressure,
    });
  }

  /** Emits like EventEmitter#emit, but a throwing listener neither stops the pump nor is lost. */
  #emit(name, ev) {
    try {
      this.emit(name, ev);
    } catch (e) {
      // As for a socket's listeners: an uncaught exception, raised outside the pump.
      process.nextTick(() => {
        throw e;
      });
    }
  }

  #finish(ev) {
    if (this.#closeEvent !== null) return;
    this.#closeEvent = ev;
    this.#pressure.release();
    this.#emit('event', ev);
    this.#emit('closed', ev);
    this.#resolveClosed(ev);
  }

  /** Ends the events with a SESSION_CLOSED of our own: only if the library itself fails. */
  #fail(e) {
    if (this.isClosed) return;
    const err = translate(e);
    this.#finish({
      MessageType: 0,
      MessageName: 'SESSION_CLOSED',
      reason: 'Failed',
      error_kind: (err && err.code) || 'Internal',
      error: String(err && err.message),
      status: (err && err.status) ?? null,
      status_name: (err && err.statusName) ?? null,
    });
  }

  /**
   * Emits one batch from the addon: the text of a JSON array of events; `last`: its
   * final event is SESSION_CLOSED; `error`: delivery failed (an addon error message).
   * Returns a promise when an events() iterator is full: the addon waits for it.
   */
  #onBatch(json, last, error) {
    if (error !== null) {
      this.#fail(new Error(error));
      return undefined;
    }
    let events;
    try {
      events = JSON.parse(json);
    } catch (e) {
      this.#fail(e);
      return undefined;
    }
    const n = events.length;
    for (let i = 0; i < n; i++) {
      const ev = events[i];
      if (last && i === n - 1) {
        this.#finish(ev);
        return undefined;
      }
      this.#emit('event', ev);
      if (ev.MessageType !== 0) this.#emit('message', ev);
      else if (ev.MessageName === 'DECODE_ERROR') this.#emit('decodeError', ev);
      else if (ev.MessageName === 'CONNECTION_STATE') this.#emit('connection', ev);
      else if (ev.MessageName === 'MODEL_CHANGED') this.#emit('model', ev);
    }
    return this.#pressure.hold();
  }
}

/** Every request of the catalogue: `{request, confirmation, helper, service}`. */
const REQUESTS = Object.freeze(JSON.parse(native.requestsJson()).map((r) => Object.freeze(r)));

/** `make_call` -> `makeCall`. */
function camelCase(name) {
  return name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

const HELPER_BY_CAMEL = new Map(REQUESTS.map((r) => [camelCase(r.helper), r]));

// One helper method per request: session.makeCall(fields, options).
for (const [method, r] of HELPER_BY_CAMEL) {
  if (method in CtiSession.prototype) continue;
  Object.defineProperty(CtiSession.prototype, method, {
    value: function (fields, options) {
      return this.call(r.helper, fields, options);
    },
    writable: true,
    configurable: true,
  });
}
/** The Generic Connector (GC) client and simulator: see gc.js. */
const gc = require('./gc.js')({ native, call, callAsync, CceError, translate });

// ECE (Cisco Enterprise Chat and Email): see ece.js.
const ece = require('./ece.js')({ native, CceError, call, callAsync, snakeKeys, stringify });

// ---------------------------------------------------------------------------
// Logging

/**
 * Sends the library's log records at `level` ('error', 'warn', 'info' (default),
 * 'debug', 'trace') and above to `callback(level, target, message)`, on the main
 * thread; `null` turns logging off. Wire traces (session option `trace: true`) come
 * at 'info' under the target 'libcce::wire'. Secrets never appear in records.
 */
function setLogger(callback, level = 'info') {
  if (callback !== null && typeof callback !== 'function') {
    throw invalid('setLogger: callback must be a function or null');
  }
  call(() => native.setLogger(callback, level));
}

/** Every live CTI session's counters in the Prometheus text format (for `/metrics`). */
function metricsText() {
  return call(() => native.metricsText());
}

// NODE_DEBUG=libcce (the util.debuglog convention): debug records to stderr, written
// by the library itself so that they appear even while the main thread is busy.
if (require('node:util').debuglog('libcce').enabled) {
  call(() => native.logToStderr('debug'));
}

module.exports = {
  CceError,
  setLogger,
  metricsText,
  gc,
  ece,
  CtiSession,
  REQUESTS,
  Simulator,
  StreamDecoder,
  decode,
  encode,
  DEFAULT_VERSION,
};
