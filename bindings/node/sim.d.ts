// Types of the embedded CTI Server simulator (class Simulator in sim.js).

/** A side of a duplex pair. */
export type Side = 'A' | 'B';

/** One simulated agent. */
export interface SimAgent {
  agent_id?: string;
  agentId?: string;
  extension: string;
  instrument?: string;
  /** Initial state name (default `AGENT_STATE_NOT_READY`). */
  state?: string;
  /** Skill group numbers. */
  skill_groups?: number[];
  team_id?: number;
  supervisor?: boolean;
  /** State after a call (default: the state before it), e.g. `AGENT_STATE_WORK_NOT_READY`. */
  after_call_state?: string;
}

/** Simulator settings; all optional. Default: agent 1001 at extension 5001, PeripheralID 5000. */
export interface SimulatorConfig {
  /** Side A address (default `127.0.0.1:0`, a free loopback port). */
  bind?: string;
  /** Side B address: set it for a duplex pair sharing one peripheral. */
  bind_b?: string;
  bindB?: string;
  /** TLS listeners per side, beside the plain ones (mixed mode) or instead (`secure_only`). */
  tls?: {
    cert_pem?: string;
    cert_file?: string;
    key_pem?: string;
    key_file?: string;
    /** Set: client certificates are required and must chain to this CA. */
    client_ca_pem?: string;
    client_ca_file?: string;
    /** Only TLS: `bind`/`bind_b` speak TLS. */
    secure_only?: boolean;
    /** Side A's TLS listener in mixed mode (default `127.0.0.1:0`). */
    bind?: string;
    /** Side B's TLS listener in mixed mode (default `127.0.0.1:0`). */
    bind_b?: string;
  };
  peripheral_id?: number;
  peripheralId?: number;
  agents?: SimAgent[];
  skill_groups?: Array<{ number: number; id?: number; name?: string }>;
  teams?: Array<{ id: number; name?: string }>;
  dialed_numbers?: Array<{ number: string; skill_group: number }>;
  /** When set, OPEN_REQ must carry this ClientPassword. */
  password?: string;
  /** Agents answer ringing calls by themselves after this many milliseconds. */
  auto_answer_ms?: number;
  /** Refuse requests whose service was not granted (default true). */
  enforce_services?: boolean;
  /** Maintenance handshake timeout (default 5000 ms). */
  maintenance_timeout_ms?: number;
  /** Status a standby side refuses unsuitable clients with. */
  standby_refusal?: string;
}

/** A call offered to the simulated peripheral. */
export interface SimCall {
  /** Agent to deliver the call to (default: routing picks one). */
  agent_id?: string;
  agentId?: string;
  skill_group?: number;
  skillGroup?: number;
  ani?: string;
  dnis?: string;
  /** CallVariable1..10. */
  call_variables?: string[];
  callVariables?: string[];
  /** Expanded call variables, as [name, value] pairs or a name -> value object. */
  named_variables?: Array<[string, string]> | Record<string, string>;
  namedVariables?: Array<[string, string]> | Record<string, string>;
  answer_after_ms?: number;
  answerAfterMs?: number;
  talk_ms?: number;
  talkMs?: number;
  /** A name scenario steps use for the call. */
  name?: string;
}

/** A request fault rule. */
export type FaultRule = {
  /** Request name, e.g. `HOLD_CALL_REQ`, or `*`. */
  request: string;
  /** Applies to the next `times` matching requests (default: all). */
  times?: number;
  side?: Side;
} & (
  | { action: 'failure_conf'; status: string | number }
  | { action: 'control_failure'; failure_code: string | number; peripheral_error?: number }
  | { action: 'delay'; delay_ms: number }
  | { action: 'drop' | 'ignore' | 'close' | 'malformed' }
);

/** How a maintenance handshake ended. */
export interface MaintenanceOutcome {
  accepted: boolean;
  accepted_by: string[];
  rejected_by: string[];
  no_answer: string[];
  stopped: number;
  forced: number;
}

/** A scenario: timed steps of simulator commands. */
export interface Scenario {
  name?: string;
  description?: string;
  config?: SimulatorConfig;
  steps: Array<{ at_ms?: number; after_ms?: number; op: string; [field: string]: unknown }>;
  repeat?: number;
}

/** What a scenario run did. */
export interface ScenarioReport {
  steps_run: number;
  errors: string[];
  results: unknown[];
}

/** Load settings. */
export interface LoadConfig {
  agents?: number;
  calls_per_second?: number;
  callsPerSecond?: number;
  calls?: number;
  ring_ms?: number;
  ringMs?: number;
  talk_ms?: number;
  talkMs?: number;
  skill_group?: number;
  first_agent_id?: number;
  first_extension?: number;
  dnis?: string;
}

/** What a load run did. */
export interface LoadReport {
  offered: number;
  completed: number;
  failed: number;
  max_queued: number;
  elapsed_ms: number;
}

/** A call in progress. */
export interface SimCallInfo {
  call_id: number;
  call_type: string;
  name: string | null;
  queued: boolean;
  parties: Array<[string, string]>;
}

/** The embedded CTI Server simulator, listening on loopback. */
export declare class Simulator {
  /** Starts a simulator; throws `CceError` (`InvalidArgument`, `Io`) on failure. */
  constructor(config?: SimulatorConfig);
  /** Starts a simulator. */
  static start(config?: SimulatorConfig): Simulator;
  /** Side A's listening port. */
  readonly port: number;
  /** Side A's listening address, "127.0.0.1:PORT". */
  readonly address: string;
  /** Plays a complete call to an AVAILABLE agent at once: returns its ConnectionCallID. */
  injectCall(call: SimCall): number;
  /** Offers a live inbound call (routed or queued; rings until answered). */
  offerCall(call: SimCall): number;
  /** The ringing agent (or `agentId`) answers. */
  answerCall(callId: number, agentId?: string | null): void;
  /** The caller hangs up. */
  hangup(callId: number): void;
  /** Clears the whole call. */
  clearCall(callId: number): void;
  /** Sets an agent's state from the peripheral side. */
  setAgentState(agentId: string, state: string, reason?: number): void;
  /** Current AgentState of an agent, or null for an unknown agent. */
  agentState(agentId: string): number | null;
  /** Sides, sessions, agents and calls. */
  status(): { side_a: unknown; side_b: unknown; agents: unknown[]; calls: SimCallInfo[]; unanswered_heartbeats: number };
  /** The calls in progress. */
  calls(): SimCallInfo[];
  /** Takes the peripheral offline or back online. */
  setPeripheralOnline(online: boolean): void;
  /** A side's port, or null for side B of a simplex simulator. */
  sidePort(side: Side): number | null;
  /** "Active", "Standby", "Maintenance" or "Down". */
  sideState(side: Side): 'Active' | 'Standby' | 'Maintenance' | 'Down';
  /** Closes a side's listener and connections; the other side takes over. */
  killSide(side: Side): void;
  /** Restarts a killed side on its port; returns the port. */
  restartSide(side: Side): number;
  /** Makes a side active and the other standby. */
  switchActive(side: Side): void;
  /** Runs the v24+ maintenance handshake on the active side (blocks). */
  maintenance(side: Side): MaintenanceOutcome;
  /** Ends a side's maintenance. */
  endMaintenance(side: Side): void;
  /** Open client sessions on both sides. */
  sessionCount(): number;
  /** Turns heartbeat answers on or off (on one side, or both). */
  setAnswerHeartbeats(answer: boolean, side?: Side): void;
  /** HEARTBEAT_REQs left unanswered so far. */
  unansweredHeartbeats(): number;
  /** Adds a request fault rule. */
  addFault(rule: FaultRule): void;
  /** Removes every fault rule. */
  clearFaults(): void;
  /** Sends FAILURE_EVENT with a Status Codes name or number. */
  sendFailureEvent(status: string | number, side?: Side): void;
  /** Closes every connection (of one side) without a word. */
  closeSessions(side?: Side): void;
  /** Sends a malformed frame to every connection (of one side). */
  sendMalformed(side?: Side): void;
  /** Writes raw bytes to every connection (fault injection). */
  sendRaw(bytes: Uint8Array | number[]): void;
  /** Messages the simulator could not encode (0 unless it has a bug). */
  encodeErrors(): number;
  /** Runs one command (`{op: ..., ...}`); returns its result. */
  command(cmd: { op: string; [field: string]: unknown }): unknown;
  /** Runs a scenario to its end. */
  runScenario(scenario: Scenario): ScenarioReport;
  /** Starts a scenario in the background. */
  startScenario(scenario: Scenario): void;
  /** Runs a load to completion. */
  runLoad(load: LoadConfig): LoadReport;
  /** Stops the simulator and closes its sessions; throws code `Closed` if already stopped. */
  stop(): void;
}
