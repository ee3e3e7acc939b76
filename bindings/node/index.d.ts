// Type definitions for libcce (Node.js binding).
/// <reference types="node" />

import { EventEmitter } from 'node:events';
import type { RequestHelpers } from './requests';

/** The kind of a libcce error (`CceError.code`). `Internal` means a bug in libcce. */
export type ErrorCode =
  | 'InvalidArgument'
  | 'Io'
  | 'Timeout'
  | 'Refused'
  | 'ControlFailed'
  | 'Closed'
  | 'Codec'
  | 'Protocol'
  | 'Disconnected'
  | 'QueueFull'
  | 'TlsHandshake'
  | 'CertificateInvalid'
  | 'Internal';

/** Why a certificate was not accepted (`CceError.reason` of a `CertificateInvalid`). */
export type CertificateReason =
  | 'expired'
  | 'unknown_issuer'
  | 'name_mismatch'
  | 'client_certificate_refused'
  | 'pin_mismatch'
  | 'other';

/** TLS settings of a CTI or GC connection (the `tls` config key); see docs/security.md. */
export interface TlsConfig {
  /** Trusted CA certificates (PEM) instead of the system roots. */
  ca_pem?: string;
  /** A file holding `ca_pem`. */
  ca_file?: string;
  /** Client certificate chain (PEM) for mutual TLS. */
  cert_pem?: string;
  /** A file holding `cert_pem`. */
  cert_file?: string;
  /** The client certificate's private key (PEM: PKCS#8, RSA or EC). */
  key_pem?: string;
  /** A file holding `key_pem`. */
  key_file?: string;
  /** Name the server certificate must carry (default: the host of each address). */
  server_name?: string;
  /** Accept exactly the server certificate with this SHA-256 fingerprint (hex). */
  pinned_cert_sha256?: string;
  /** Accept exactly this server certificate (PEM). */
  pinned_cert_pem?: string;
  /** Lowest TLS version (default `'1.2'`). */
  min_version?: '1.2' | '1.3';
  /** Accept any server certificate (labs only; warns on every connect). */
  insecure_skip_verify?: boolean;
}

/** An error from libcce. */
export declare class CceError extends Error {
  constructor(
    code: ErrorCode,
    message: string,
    options?: {
      status?: number | null;
      statusName?: string | null;
      protocol?: 'cti' | 'gc' | 'ece' | null;
      cause?: unknown;
    },
  );
  readonly name: 'CceError';
  /** What went wrong. */
  readonly code: ErrorCode;
  /** The same as `code` (the name the C ABI and Python use). */
  readonly kind: ErrorCode;
  /** The protocol the error comes from, or null for a library-level error. */
  readonly protocol: 'cti' | 'gc' | 'ece' | null;
  /** The protocol's code, when the peer sent one: a CTI status or failure code, or an ECE HTTP status. */
  readonly status: number | null;
  /** Name of that code, e.g. `E_CTI_INVALID_AGENT_DATA` or the ECE error name `NotFound`. */
  readonly statusName: string | null;
  /** For `CertificateInvalid`: why the certificate was not accepted. */
  readonly reason: CertificateReason | null;
}

/** Protocol version used by `encode()`/`decode()`/`StreamDecoder` when none is given (24). */
export declare const DEFAULT_VERSION: number;

/**
 * A message to send. `MessageName` (or `MessageType`) selects the message; the
 * other keys are the data sheet's field names. Enum and mask fields accept numbers
 * or constant names (`"AGENT_STATE_AVAILABLE"`). `InvokeID` is assigned when absent.
 */
export interface OutgoingMessage {
  MessageName?: string;
  MessageType?: number;
  InvokeID?: number;
  [field: string]: unknown;
}

/**
 * A message or event as libcce renders it: numbers are numbers, and a field
 * described by a constants table also has `<field>_name`.
 */
export interface CtiEvent {
  MessageType: number;
  MessageName: string;
  [field: string]: unknown;
}

/** The last event of a session. */
export interface SessionClosedEvent extends CtiEvent {
  MessageType: 0;
  MessageName: 'SESSION_CLOSED';
  /** `Closed` after close(), `CloseTimeout` when CLOSE_CONF did not come, `Failed` otherwise. */
  reason: 'Closed' | 'CloseTimeout' | 'Failed';
  /** For `Failed`: e.g. `HeartbeatTimeout`, `ConnectionLost`, `ServerOffline`, `Protocol`. */
  error_kind?: string;
  /** For `Failed`: description. */
  error?: string;
  /** For `Failed`: CTI status code, when there is one. */
  status?: number | null;
  /** For `Failed`: name of that status. */
  status_name?: string | null;
}

/** A message that could not be decoded; the session goes on. */
export interface DecodeErrorEvent extends CtiEvent {
  MessageType: 0;
  MessageName: 'DECODE_ERROR';
  error_kind: string;
  error: string;
}

/** A mask: a number, constant names joined with `|`, or an array of constant names. */
export type Mask = number | string | string[];

interface SessionConfigCommon {
  /** "host:port" of the CTI Server. */
  address: string;
  /** GED-188 protocol version (default 24). */
  version?: number;
  /** Request timeout when `request()` is given none. */
  request_timeout_ms?: number;
  requestTimeoutMs?: number;
  client_password?: string;
  clientPassword?: string;
  client_signature?: string;
  clientSignature?: string;
  peripheral_id?: number;
  peripheralId?: number;
  /** CTI Service Masks, e.g. `"CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL"`. */
  services?: Mask;
  call_msg_mask?: Mask;
  callMsgMask?: Mask;
  agent_state_mask?: Mask;
  agentStateMask?: Mask;
  config_msg_mask?: Mask;
  configMsgMask?: Mask;
  agent_extension?: string;
  agentExtension?: string;
  agent_id?: string;
  agentId?: string;
  agent_instrument?: string;
  agentInstrument?: string;
  /** Heartbeat interval (default 90000, IdleTimeout 4x that); 0 turns heartbeats off. At least 5000 unless `relaxed_timing`. */
  heartbeat_ms?: number;
  heartbeatMs?: number;
  open_timeout_ms?: number;
  openTimeoutMs?: number;
  close_timeout_ms?: number;
  closeTimeoutMs?: number;
  /** Allows timings below the protocol's minimums (tests). */
  relaxed_timing?: boolean;
  relaxedTiming?: boolean;
  /** Side B address ("host:port"); turns reconnection on. */
  address_b?: string;
  addressB?: string;
  /** Reconnect after a failure (default: true when side B is given). */
  reconnect?: boolean;
  /** Expected number of CTI clients (random reconnect spread of N/10 s). */
  expected_clients?: number;
  expectedClients?: number;
  /** Multiplies every reconnect wait (1 in production; small values in tests). */
  reconnect_time_scale?: number;
  reconnectTimeScale?: number;
  /** Time allowed for one TCP connect attempt. */
  connect_timeout_ms?: number;
  connectTimeoutMs?: number;
  /** After a reconnect, how long calls in progress have to be re-announced. */
  /** TLS on both sides (secured CTI ports: 42030 side A, 43030 side B, + 40 x instance). */
  tls?: TlsConfig;
  resync_window_ms?: number;
  resyncWindowMs?: number;
  /** Request the v24+ active/standby service. */
  active_standby?: boolean;
  activeStandby?: boolean;
  /** Answer ACTIVE_MAINTENANCE_REQ with accept (default true). */
  accept_maintenance?: boolean;
  /** Refuse messages with count mismatches or wrongly sized fields as DECODE_ERROR (default false: delivered with `_warnings`). */
  strict_decode?: boolean;
  acceptMaintenance?: boolean;
  /** Deliver MODEL_CHANGED events ('model'). */
  model_events?: boolean;
  modelEvents?: boolean;
  /** Wire trace of every frame to the logger ('info', target 'libcce::wire'). */
  trace?: boolean;
  /** Wire trace appended to this file as JSON lines. */
  trace_file?: string;
  traceFile?: string;
}

/** Counters of a CTI session, kept across reconnects. */
export interface SessionStats {
  session: number;
  client_id: string;
  frames_in: number;
  frames_out: number;
  bytes_in: number;
  bytes_out: number;
  decode_errors: number;
  unrecognized: number;
  opens: number;
  reconnects: number;
  failovers: number;
  heartbeats: number;
  heartbeat_rtt_ms: { last: number | null; avg: number | null; max: number | null };
  requests: number;
  request_latency_ms: { p50: number | null; p99: number | null };
  ms_since_last_frame: number | null;
  /** Reserved for the event queue (null until measured). */
  queue_depth: number | null;
  queue_high_water: number | null;
  queue_drops: number | null;
}

/** Log severity names, most severe first. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'off';

/**
 * Sends the library's log records at `level` (default 'info') and above to `callback`
 * on the main thread; `null` turns logging off. `NODE_DEBUG=libcce` logs to stderr.
 */
export declare function setLogger(
  callback: ((level: LogLevel, target: string, message: string) => void) | null,
  level?: LogLevel,
): void;

/** Every live CTI session's counters in the Prometheus text format. */
export declare function metricsText(): string;

/**
 * Session configuration. Keys are snake_case as in the library (camelCase is
 * accepted too, but not both forms of one key). `address` and the client ID are required.
 */
export type SessionConfig = SessionConfigCommon & ({ client_id: string } | { clientId: string });

// Simulator types live in sim.d.ts.
export * from './sim.js';

/** The fields of a request sent with `call()` or a helper (no MessageName needed). */
export interface OutgoingFields {
  [field: string]: unknown;
}

/** A `CONNECTION_STATE` event: the link to the CTI Server changed. */
export interface ConnectionStateEvent extends CtiEvent {
  MessageType: 0;
  MessageName: 'CONNECTION_STATE';
  state: 'Connected' | 'Disconnected' | 'AttemptFailed' | 'BecameActive' | 'Resynchronized';
  side?: 'A' | 'B';
  address?: string;
  reconnected?: boolean;
  reason?: string;
}

/** One request of the catalogue. */
export interface RequestInfo {
  request: string;
  confirmation: string;
  helper: string;
  service: string;
}

/** Every request of the catalogue; each has a camelCase helper on `CtiSession`. */
export declare const REQUESTS: ReadonlyArray<Readonly<RequestInfo>>;

/** Options of `CtiSession.request()`. */
export interface RequestOptions {
  /** How long to wait for the confirmation (default: the session's request timeout). */
  timeoutMs?: number;
}

/**
 * An open CTI session.
 *
 * Events, in order: `'event'` for every event; then `'message'` for CTI messages
 * (MessageType != 0), `'decodeError'` for DECODE_ERROR, or `'closed'` for the final
 * SESSION_CLOSED. The library delivers them in batches (one call into JavaScript per
 * batch of events that arrived together). Delivery starts when `open()` resolves and
 * keeps the process alive until SESSION_CLOSED: attach listeners at once, or use
 * `for await (const ev of session.events())`, which buffers.
 */
/** Helper methods, one per request (generated from the catalogue). */
export interface CtiSession extends RequestHelpers {}

export declare class CtiSession extends EventEmitter {
  private constructor();
  /** Connects and opens a session; resolves once OPEN_CONF has arrived. */
  static open(config: SessionConfig): Promise<CtiSession>;
  /** The OPEN_CONF the server answered with. */
  readonly openConf: CtiEvent;
  /** Protocol version of the session. */
  readonly version: number;
  /** True once SESSION_CLOSED has been emitted. */
  readonly isClosed: boolean;
  /** Resolves to SESSION_CLOSED once it has been emitted; never rejects. */
  readonly closed: Promise<SessionClosedEvent>;
  /** Sends without waiting; returns the InvokeID. The confirmation comes as an event. */
  send(msg: OutgoingMessage | string): number;
  /** Sends a request and resolves to its confirmation; rejects with a `CceError`. */
  request(msg: OutgoingMessage | string, options?: RequestOptions): Promise<CtiEvent>;
  /** Sends request `name` (`'makeCall'`, `'make_call'` or `'MAKE_CALL_REQ'`); resolves to the confirmation. */
  call(name: string, fields?: OutgoingFields, options?: RequestOptions): Promise<CtiEvent>;
  /** The live model: agents, calls, skill groups, peripherals. */
  model(): { agents: any[]; calls: any[]; skill_groups: any[]; peripherals: Record<string, boolean> };
  /** The link state. */
  state(): { connected: boolean; closed: boolean; side: 'A' | 'B' | null };
  /** The session's counters (durations in milliseconds, null until measured). */
  stats(): SessionStats;
  /** Replaces the TLS settings (null: plain TCP); they apply from the next reconnect on. */
  setTls(tls: TlsConfig | null): void;
  /** Closes the session; resolves after `'closed'` has been emitted. Idempotent. */
  close(): Promise<SessionClosedEvent>;
  /**
   * The events from now on, ending after SESSION_CLOSED. Buffers up to 4096 events,
   * then holds the session's delivery until read; `break` unsubscribes it.
   */
  events(): AsyncIterableIterator<CtiEvent>;

  on(event: 'event' | 'message', listener: (ev: CtiEvent) => void): this;
  on(event: 'decodeError', listener: (ev: DecodeErrorEvent) => void): this;
  on(event: 'closed', listener: (ev: SessionClosedEvent) => void): this;
  on(event: 'connection', listener: (ev: ConnectionStateEvent) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'event' | 'message', listener: (ev: CtiEvent) => void): this;
  once(event: 'decodeError', listener: (ev: DecodeErrorEvent) => void): this;
  once(event: 'closed', listener: (ev: SessionClosedEvent) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
  addListener(event: 'event' | 'message', listener: (ev: CtiEvent) => void): this;
  addListener(event: 'decodeError', listener: (ev: DecodeErrorEvent) => void): this;
  addListener(event: 'closed', listener: (ev: SessionClosedEvent) => void): this;
  addListener(event: string | symbol, listener: (...args: any[]) => void): this;
  off(event: 'event' | 'message', listener: (ev: CtiEvent) => void): this;
  off(event: 'decodeError', listener: (ev: DecodeErrorEvent) => void): this;
  off(event: 'closed', listener: (ev: SessionClosedEvent) => void): this;
  off(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** Options of `decode()`. */
export interface DecodeOptions {
  /** true (default): refuse count mismatches and wrongly sized fields; false: keep them and list them in `_warnings`. */
  strict?: boolean;
}
/** Decodes one whole message (header included) at `version` (default 24). */
export declare function decode(bytes: Uint8Array | number[], version?: number, options?: DecodeOptions): CtiEvent;

/** Encodes a message at `version` (default 24); returns the frame, header included. */
export declare function encode(msg: OutgoingMessage | string, version?: number): Buffer;

/**
 * Decodes the messages of a byte stream received in arbitrary pieces. A message that
 * cannot be decoded throws a `CceError` with code `Codec` once and the stream goes on;
 * a length over 12,492 throws code `Codec` and breaks the stream: every later call throws.
 */
export declare class StreamDecoder {
  /** A decoder at `version` (default 24); throws code `InvalidArgument` outside 15..25. */
  constructor(version?: number);
  /** Bytes buffered while waiting for the rest of a message. */
  readonly pending: number;
  /** Appends received bytes. */
  push(bytes: Uint8Array | number[]): void;
  /** The next whole message, or null when more bytes are needed. */
  next(): CtiEvent | null;
  /**
   * Pushes `bytes` and returns every message now complete, in order. An error after
   * some messages in one call is thrown by the next `next()`/`feed()` instead.
   */
  feed(bytes: Uint8Array | number[]): CtiEvent[];
}

// ---------------------------------------------------------------------------
// Generic Connector (GC) over ActiveMQ: `require('libcce').gc`.

/** GC client configuration (camelCase or snake_case keys). */
export interface GcConfig {
  /** "host:port" or a list, local site first. */
  brokers: string | string[];
  /** Client destination (event topic); default `<host>-<pid>`. */
  destination?: string;
  /** GC request queue (default "Connector1"). */
  requestQueue?: string;
  brokerLogin?: string;
  brokerPasscode?: string;
  helloKey?: string;
  heartbeatMs?: number;
  heartbeatMisses?: number;
  useBeat?: boolean;
  reloginAttempts?: number;
  connectTimeoutMs?: number;
  receiptTimeoutMs?: number;
  stompHeartbeatMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Extra JMS string properties on every request. */
  properties?: Record<string, string>;
  /** Events waiting for the application (default 10000). */
  eventQueue?: number;
  /** Commands waiting to be sent (default 1000); beyond: code Refused. */
  commandQueue?: number;
  /** Full event queue: stop reading the broker (default) or end with an Overrun event. */
  overflow?: 'back_pressure' | 'close';
  /** close() returns within this plus 0.5 s (default 2000). */
  closeTimeoutMs?: number;
  /** Wire trace of every STOMP frame to the logger ('info', target 'libcce::wire'). */
  trace?: boolean;
  /** Wire trace appended to this file as JSON lines (passcode and passwords redacted). */
  traceFile?: string;
  [key: string]: unknown;
}

/**
 * A GC event (`event`: "State", "InboundCall", "Error", ...) or a library event
 * ("Connected", "Disconnected", "Notice", "BadMessage", "Closed"); see docs/gc.md.
 */
export interface GcEvent {
  event: string;
  agent_id?: string;
  format?: 'text' | 'json';
  /** Error events: who raised the code. */
  origin?: 'Finesse' | 'Gc' | 'Unknown';
  /** Error events: the expected client behaviour (e.g. "AskForCredentials"). */
  behaviour?: string;
  /** Error events: what the code means. */
  description?: string;
  /** Error events: the suggested display text (null for an unknown code). */
  user_message?: string | null;
  [key: string]: unknown;
}

/** A GC command: `{command: "Login", agent_id: "1001", password, extension}`. */
export interface GcCommand {
  command: string;
  agent_id?: string;
  [key: string]: unknown;
}

export declare class GcSession {
  private constructor();
  /** Connects; resolves once a broker link is up. */
  static open(config: GcConfig): Promise<GcSession>;
  /** Link and GC status. */
  readonly state: {
    broker: string | null;
    gc: string;
    events_queued?: number | null;
    events_high_water?: number;
    events_dropped?: number;
  };
  readonly isClosed: boolean;
  readonly closed: Promise<GcEvent>;
  /**
   * Sends a command; resolves once the broker has it. Rejects with code
   * InvalidArgument (nothing sent), Disconnected (no broker link: nothing sent),
   * Refused (command queue full) or Timeout (no broker receipt: outcome unknown).
   */
  send(command: string, agentId?: string, params?: Record<string, unknown>): Promise<void>;
  send(command: GcCommand): Promise<void>;
  /** Connect + Login. */
  login(agentId: string, password: string, extension: string): Promise<void>;
  /** The first matching event from now on; rejects with code Timeout. */
  waitFor(
    match: string | ((ev: GcEvent) => boolean),
    options?: { agentId?: string; timeoutMs?: number; [field: string]: unknown },
  ): Promise<GcEvent>;
  /** Closes the broker link; resolves to {event: "Closed"}. */
  close(): Promise<GcEvent>;
  /**
   * The events from now on, ending after {event: "Closed"}. Buffers up to 4096 events,
   * then holds the session's delivery until read; `break` unsubscribes it.
   */
  events(): AsyncIterableIterator<GcEvent>;
  on(event: 'event' | 'closed', listener: (ev: GcEvent) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  off(event: 'event' | 'closed', listener: (ev: GcEvent) => void): this;
  off(event: string | symbol, listener: (...args: any[]) => void): this;
}

export declare class GcSimulator {
  private constructor();
  /** Starts a simulator on `config.broker` ('host:port', or 'embedded' for an in-memory broker of its own: `control('broker')` gives its address). */
  static start(config: { broker: string; requestQueue?: string; format?: 'json' | 'text'; [key: string]: unknown }): Promise<GcSimulator>;
  /** Performs a control action and returns its result. */
  control(action: string, params?: Record<string, unknown>): unknown;
  /** Rings an inbound call; returns the dialog ID. */
  injectCall(agentId: string, from: string, callVariables?: Record<string, string>): string;
  /** The agent's state as the simulated GC sees it. */
  agentState(agentId: string): string | null;
  stop(): Promise<void>;
}

export declare const gc: {
  GcSession: typeof GcSession;
  GcSimulator: typeof GcSimulator;
  /** The wire form [jmsType, body] of a command. */
  encodeCommand(command: GcCommand): [string, string];
  /** Parses one GC message body into events. */
  parseEvent(body: Buffer | string, jmsType?: string | null): GcEvent[];
};

/** Cisco Enterprise Chat and Email: Messaging API client, webhook server, chat web services, simulator. */
export * as ece from './ece';
