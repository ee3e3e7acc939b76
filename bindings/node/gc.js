// libcce for Node.js: the Expertflow Generic Connector (GC) client and simulator,
// over an ActiveMQ broker (STOMP). Loaded by index.js, which passes the native addon
// and its error helpers; use it as `require('libcce').gc`.
'use strict';

const { EventEmitter } = require('node:events');
const { Pressure, eventIterator } = require('./stream.js');

module.exports = function makeGc({ native, call, callAsync, CceError, translate }) {
  function invalid(message) {
    return new CceError('InvalidArgument', message);
  }

  function toJson(value, what) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw invalid(`${what} must be an object`);
    }
    try {
      return JSON.stringify(value);
    } catch (e) {
      throw invalid(`${what} cannot be serialised to JSON: ${e.message}`);
    }
  }

  /** `{brokers, destination, requestQueue, heartbeatMs, ...}` -> snake_case JSON. */
  function configJson(config, what) {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      throw invalid(`${what} must be an object`);
    }
    const out = {};
    for (const [k, v] of Object.entries(config)) {
      if (v === undefined) continue;
      out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
    }
    return toJson(out, what);
  }

  /** The wire form `[jmsType, body]` of a command, without sending it. */
  function encodeCommand(command) {
    return call(() => native.gcEncodeCommand(toJson(command, 'command')));
  }

  /** Parses one GC message body (`#` text or JSON) into an array of events. */
  function parseEvent(body, jmsType) {
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(String(body), 'utf8');
    return JSON.parse(call(() => native.gcParseEvent(buf, jmsType ?? null)));
  }

  const CONSTRUCT = Symbol('GcSession');

  /**
   * A GC client session. Create it with `GcSession.open(config)`. Emits 'event' for
   * every event object ({event: 'State', agent_id, ...}, library events such as
   * {event: 'Notice', notice: 'ReLogin'}), then 'closed' with {event: 'Closed'};
   * or iterate them with `for await (const ev of session.events())`. The library
   * delivers them in batches, one call into JavaScript per batch.
   */
  class GcSession extends EventEmitter {
    #native;
    #closedEvent = null;
    #closed;
    #resolveClosed;
    #pressure = new Pressure();

    /** @private */
    constructor(token, nativeSession) {
      if (token !== CONSTRUCT) throw new TypeError('use GcSession.open(config)');
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

    /** Connects; resolves once a broker link is up (each broker tried once). */
    static async open(config) {
      const json = configJson(config, 'GC config');
      const nativeSession = await callAsync(() => native.openGcSession(json));
      return new GcSession(CONSTRUCT, nativeSession);
    }

    /** `{broker: 'host:port' | null, gc: 'InService' | ...}`. */
    get state() {
      return JSON.parse(this.#native.stateJson);
    }

    /** True once {event: 'Closed'} has been emitted. */
    get isClosed() {
      return this.#closedEvent !== null;
    }

    /** Resolves to {event: 'Closed'} once emitted. */
    get closed() {
      return this.#closed;
    }

    /**
     * Sends a command, e.g. `send('MakeNotReadyWithReason', '1001', {reason_code: '12'})`
     * or `send({command: 'MakeReady', agent_id: '1001'})`; resolves once the broker has
     * it. Rejects with code InvalidArgument for a parameter containing `,` `#` `|` or
     * a transfer without target and no active consult on that dialog (nothing sent),
     * Disconnected while no broker link is up (nothing sent; retry after Connected),
     * QueueFull when the command queue is full, and Timeout when the broker did not
     * confirm in time (outcome unknown: GC may still execute it).
     */
    async send(command, agentId, params) {
      const cmd =
        typeof command === 'string' ? { command, ...(params || {}), agent_id: agentId } : command;
      const json = toJson(cmd, 'command');
      await callAsync(() => this.#native.sendJson(json));
    }

    /** Connect + Login (queued until GC is IN_SERVICE; credentials kept for re-login). */
    login(agentId, password, extension) {
      return this.send('Login', agentId, { password, extension });
    }

    /**
     * Resolves to the first event from now on that matches: an event name (with
     * optional `agentId` and field values) or a predicate. Rejects with code Timeout.
     */
    waitFor(match, { agentId, timeoutMs = 10_000, ...fields } = {}) {
      const pred =
        typeof match === 'function'
          ? match
          : (ev) =>
              ev.event === match &&
              (agentId === undefined || ev.agent_id === agentId) &&
              Object.entries(fields).every(([k, v]) => ev[k] === v);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.off('event', onEvent);
          reject(new CceError('Timeout', `no matching GC event within ${timeoutMs} ms`));
        }, timeoutMs);
        const onEvent = (ev) => {
          if (!pred(ev)) return;
          clearTimeout(timer);
          this.off('event', onEvent);
          resolve(ev);
        };
        this.on('event', onEvent);
      });
    }

    /** Closes the broker link; resolves to {event: 'Closed'} once emitted. */
    async close() {
      this.#pressure.release();
      await callAsync(() => this.#native.close());
      return this.#closed;
    }

    /**
     * An async iterator over the events from now on, ending after {event: 'Closed'}.
     * It buffers up to 4096 events, then holds the session's delivery until read.
     * Leaving the loop (`break`) unsubscribes it.
     */
    events() {
      return eventIterator(this, {
        isDone: () => this.isClosed,
        isLast: (ev) => ev.event === 'Closed',
        pressure: this.#pressure,
      });
    }

    #emit(name, ev) {
      try {
        this.emit(name, ev);
      } catch (e) {
        process.nextTick(() => {
          throw e;
        });
      }
    }

    #finish(ev) {
      if (this.#closedEvent !== null) return;
      this.#closedEvent = ev;
      this.#pressure.release();
      this.#emit('event', ev);
      this.#emit('closed', ev);
      this.#resolveClosed(ev);
    }

    #fail(e) {
      const err = translate(e);
      this.#finish({ event: 'Closed', error: String(err && err.message) });
    }

    /** Emits one batch from the addon (see CtiSession); may return a hold promise. */
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
        if (last && i === n - 1) {
          this.#finish(events[i]);
          return undefined;
        }
        this.#emit('event', events[i]);
      }
      return this.#pressure.hold();
    }
  }

  /** A GC simulator on a broker. Create it with `await GcSimulator.start(config)`. */
  class GcSimulator {
    #native;

    /** @private */
    constructor(token, nativeSim) {
      if (token !== CONSTRUCT) throw new TypeError('use GcSimulator.start(config)');
      this.#native = nativeSim;
    }

    /** Starts on `config.broker` ('host:port', or 'embedded' for an in-memory broker);
     * `requestQueue`, `format` ('json'|'text'). */
    static async start(config) {
      const json = configJson(config, 'GC simulator config');
      return new GcSimulator(CONSTRUCT, await callAsync(() => native.startGcSim(json)));
    }

    /** Performs a control action (`inject_call`, `send_error`, ...) and returns its result. */
    control(action, params = {}) {
      const json = toJson({ action, ...params }, 'control');
      return JSON.parse(call(() => this.#native.controlJson(json)));
    }

    /** Rings an inbound call at a logged-in agent; returns the dialog ID. */
    injectCall(agentId, from, callVariables = {}) {
      return this.control('inject_call', { agent_id: agentId, from, call_variables: callVariables });
    }

    /** The agent's state as the simulated GC sees it. */
    agentState(agentId) {
      return this.control('agent_state', { agent_id: agentId });
    }

    /** Stops the simulator. */
    async stop() {
      await callAsync(() => this.#native.stop());
    }
  }

  return { GcSession, GcSimulator, encodeCommand, parseEvent };
};
