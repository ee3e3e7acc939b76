'use strict';
// The embedded CTI Server simulator for Node: class Simulator. Defined from index.js
// helpers (`define`) so that the simulator's surface lives in its own file.

function define({ native, call, invalid, stringify, snakeKeys, toBuffer, simConfigJson, callJson }) {
  const side = (s) => {
    if (s !== 'A' && s !== 'B' && s !== 'a' && s !== 'b') throw invalid('side must be "A" or "B"');
    return s;
  };
  const optSide = (s) => (s === undefined || s === null ? null : side(s));
  const callId = (id) => {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw invalid('callId must be a 32-bit unsigned integer');
    return id;
  };
  const json = (obj, what) => stringify(snakeKeys(obj ?? {}, what), what);

  /** The embedded CTI Server simulator, listening on loopback. */
  class Simulator {
    #native;

    /** Starts a simulator (see `Simulator.start`). */
    constructor(config) {
      const cfg = simConfigJson(config);
      this.#native = call(() => native.NativeSimulator.start(cfg));
    }

    /** Starts a simulator; `{}` or nothing for the defaults (`bindB` adds side B). */
    static start(config) {
      return new Simulator(config);
    }

    /** Side A's listening port. */
    get port() {
      return this.#native.port;
    }

    /** Side A's listening address, "127.0.0.1:PORT". */
    get address() {
      return this.#native.address;
    }

    /** Plays a complete scripted inbound call to an AVAILABLE agent; returns its ConnectionCallID. */
    injectCall(callSpec) {
      const c = callJson(callSpec);
      return call(() => this.#native.injectCall(c));
    }

    /** Offers a live inbound call (routed or queued; rings until answered); returns its ConnectionCallID. */
    offerCall(callSpec) {
      const c = callJson(callSpec);
      return call(() => this.#native.offerCall(c));
    }

    /** The ringing agent (or `agentId`) answers the call. */
    answerCall(id, agentId) {
      if (agentId !== undefined && agentId !== null && typeof agentId !== 'string') throw invalid('agentId must be a string');
      call(() => this.#native.answerCall(callId(id), agentId ?? null));
    }

    /** The caller hangs up. */
    hangup(id) {
      call(() => this.#native.hangup(callId(id)));
    }

    /** Clears the whole call. */
    clearCall(id) {
      call(() => this.#native.clearCall(callId(id)));
    }

    /** Sets an agent's state from the peripheral side (e.g. "AGENT_STATE_AVAILABLE"). */
    setAgentState(agentId, state, reason = 0) {
      if (typeof agentId !== 'string' || typeof state !== 'string') throw invalid('agentId and state must be strings');
      if (!Number.isInteger(reason) || reason < 0 || reason > 0xffff) throw invalid('reason must be a 16-bit unsigned integer');
      call(() => this.#native.setAgentState(agentId, state, reason));
    }

    /** Current AgentState of an agent (a number), or null for an unknown agent. */
    agentState(agentId) {
      if (typeof agentId !== 'string') throw invalid('agentId must be a string');
      return call(() => this.#native.agentState(agentId));
    }

    /** Sides, sessions, agents and calls. */
    status() {
      return JSON.parse(call(() => this.#native.statusJson()));
    }

    /** The calls in progress. */
    calls() {
      return this.status().calls;
    }

    /** Takes the peripheral offline or back online. */
    setPeripheralOnline(online) {
      if (typeof online !== 'boolean') throw invalid('online must be a boolean');
      call(() => this.#native.setPeripheralOnline(online));
    }

    /** A side's port, or null for side B of a simplex simulator. */
    sidePort(s) {
      return call(() => this.#native.sidePort(side(s)));
    }

    /** "Active", "Standby", "Maintenance" or "Down". */
    sideState(s) {
      return call(() => this.#native.sideState(side(s)));
    }

    /** Closes a side's listener and connections; the other side takes over. */
    killSide(s) {
      call(() => this.#native.killSide(side(s)));
    }

    /** Restarts a killed side on its port (as standby); returns the port. */
    restartSide(s) {
      return call(() => this.#native.restartSide(side(s)));
    }

    /** Makes a side active and the other standby. */
    switchActive(s) {
      call(() => this.#native.switchActive(side(s)));
    }

    /** Runs the v24+ maintenance handshake on the active side (blocks); returns the outcome. */
    maintenance(s) {
      return JSON.parse(call(() => this.#native.maintenance(side(s))));
    }

    /** Ends a side's maintenance. */
    endMaintenance(s) {
      call(() => this.#native.endMaintenance(side(s)));
    }

    /** Open client sessions on both sides. */
    sessionCount() {
      return call(() => this.#native.sessionCount());
    }

    /** Turns heartbeat answers on or off (on one side, or both). */
    setAnswerHeartbeats(answer, s) {
      if (typeof answer !== 'boolean') throw invalid('answer must be a boolean');
      if (s === undefined || s === null) call(() => this.#native.setAnswerHeartbeats(answer));
      else call(() => this.#native.setAnswerHeartbeatsOn(side(s), answer));
    }

    /** HEARTBEAT_REQs left unanswered so far. */
    unansweredHeartbeats() {
      return call(() => this.#native.unansweredHeartbeats());
    }

    /**
     * Adds a request fault rule: `{request, times?, side?, action, ...}` with action
     * `failure_conf` (status), `control_failure` (failure_code, peripheral_error),
     * `delay` (delay_ms), `drop`, `ignore`, `close` or `malformed`.
     */
    addFault(rule) {
      const j = json(rule, 'fault');
      call(() => this.#native.addFault(j));
    }

    /** Removes every fault rule. */
    clearFaults() {
      call(() => this.#native.clearFaults());
    }

    /** Sends FAILURE_EVENT with a Status Codes name or number. */
    sendFailureEvent(status, s) {
      if (typeof status !== 'string' && !Number.isInteger(status)) throw invalid('status must be a name or a number');
      call(() => this.#native.sendFailureEvent(String(status), optSide(s)));
    }

    /** Closes every connection (of one side) without a word. */
    closeSessions(s) {
      call(() => this.#native.closeSessions(optSide(s)));
    }

    /** Sends a malformed frame to every connection (of one side). */
    sendMalformed(s) {
      call(() => this.#native.sendMalformed(optSide(s)));
    }

    /** Writes raw bytes to every connection (fault injection). */
    sendRaw(bytes) {
      const buf = toBuffer(bytes);
      call(() => this.#native.sendRaw(buf));
    }

    /** Messages the simulator could not encode (0 unless it has a bug). */
    encodeErrors() {
      return call(() => this.#native.encodeErrors());
    }

    /** Runs one command (`{op: ..., ...}`, see docs/simulator.md); returns its result. */
    command(cmd) {
      const j = json(cmd, 'command');
      return JSON.parse(call(() => this.#native.command(j)));
    }

    /** Runs a scenario (`{steps: [...]}`) to its end; returns the report. */
    runScenario(scenario) {
      const j = stringify(scenario, 'scenario');
      return JSON.parse(call(() => this.#native.runScenario(j)));
    }

    /** Starts a scenario in the background. */
    startScenario(scenario) {
      const j = stringify(scenario, 'scenario');
      call(() => this.#native.startScenario(j));
    }

    /** Runs a load (`{agents, callsPerSecond, calls, ringMs, talkMs, ...}`) to completion; returns the report. */
    runLoad(load) {
      const j = json(load, 'load');
      return JSON.parse(call(() => this.#native.runLoad(j)));
    }

    /** Stops the simulator and closes its sessions; throws code Closed if already stopped. */
    stop() {
      call(() => this.#native.stop());
    }
  }

  return Simulator;
}

module.exports = { define };
