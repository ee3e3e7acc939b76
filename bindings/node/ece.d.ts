// Type definitions for the ECE part of libcce (`require('libcce').ece`).

/** Messaging API client settings (snake_case keys are accepted too). */
export interface ClientConfig {
  serverUrl: string;
  clientKey: string;
  clientSecret: string;
  entryPointId: number;
  apiPath?: string;
  forceLogin?: boolean;
  acceptLanguage?: string | null;
  tokenRefreshRatio?: number;
  endConversationPath?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  verifyTls?: boolean;
  caPem?: string;
  allowHttp?: boolean;
  maxResponseBytes?: number;
  maxRetries?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  rateLimitPerSec?: number;
  rateLimitBurst?: number;
  /** Each call as an 'info' log record under 'libcce::wire' (no bodies). */
  trace?: boolean;
}

/** A customer phone number. */
export interface Phone {
  number: string;
  type?: string;
  countryCode?: string;
  areaCode?: string;
}

/** Customer contact data. */
export interface Customer {
  firstName?: string;
  lastName?: string;
  email?: string;
  phones?: Phone[];
  customerType?: string;
}

/** Options of a conversation start. */
export interface StartOptions {
  sendTypingNotification?: boolean;
  searchContactOnAttribute?: string | null;
  activity?: Record<string, unknown>;
}

/** A started conversation. */
export interface Conversation {
  id: string;
  activity_id: number | null;
  case_id: number | null;
}

/** A webhook event. */
export interface EceEvent {
  type: 'assigned' | 'startTyping' | 'endTyping' | 'message' | 'complete' | 'other';
  type_value: string;
  conversation_id: string;
  id: string | null;
  timestamp: number | null;
  content: string | null;
  sender: string | null;
  agent: { name: string | null; screen_name: string | null } | null;
  format?: 'html' | 'plain';
  raw: Record<string, unknown>;
  /** What was repaired in this event (e.g. a lone UTF-16 surrogate replaced by U+FFFD); absent when nothing was. */
  warnings?: string[];
}

/** Webhook server options: exactly one of basic, bearer, allowUnauthenticated. */
export interface WebhookOptions {
  basic?: { username: string; password: string };
  bearer?: string;
  allowUnauthenticated?: boolean;
  bind?: string;
  path?: string;
  maxBodyBytes?: number;
  maxDepth?: number;
  maxEvents?: number;
  queueCapacity?: number;
  dedupWindow?: number;
  /** Simultaneous connections (256); when all are held, the oldest that never sent a byte makes room. */
  maxConnections?: number;
  /** Simultaneous connections of one peer address (128). */
  maxConnectionsPerPeer?: number;
  /** A connection that sends nothing for this long is closed (2000). */
  firstByteTimeoutMs?: number;
  readTimeoutMs?: number;
}

/** Webhook server counters. */
export interface WebhookStats {
  requests: number;
  accepted: number;
  events: number;
  duplicates: number;
  unroutable: number;
  unauthorized: number;
  bad_bodies: number;
  bad_requests: number;
  overloaded: number;
  /** Connections closed to make room before they sent a byte. */
  evicted: number;
}

/** The Messaging API client. */
export declare class Client {
  constructor(config: ClientConfig);
  readonly logins: number;
  login(): Promise<void>;
  configuration(options?: { refresh?: boolean }): Promise<{
    entry_point_id: number | string;
    last_modified: string;
    raw: Record<string, unknown>;
  }>;
  startConversation(customer?: Customer, options?: StartOptions): Promise<Conversation>;
  sendMessage(conversationId: string, content: string, type?: 'text/html' | 'text/plain'): Promise<void>;
  endConversation(conversationId: string): Promise<void>;
}

/** The webhook server ECE posts events to. */
export declare class WebhookServer {
  private constructor();
  static start(options: WebhookOptions): WebhookServer;
  readonly port: number;
  readonly url: string;
  readonly stopped: boolean;
  nextEvent(options?: { timeoutMs?: number }): Promise<EceEvent | null>;
  /** The events, taken in batches and yielded one by one; ends once stopped and drained. */
  events(): AsyncGenerator<EceEvent, void, void>;
  stats(): WebhookStats;
  stop(): Promise<void>;
}

/** The anonymous XML chat web services. */
export declare class ChatWebServices {
  constructor(config: {
    baseUrl: string;
    paths?: Partial<Record<
      'agentAvailability' | 'capacity' | 'liveSessionStatus' | 'checkEligibility' | 'chatAllowed' | 'survey',
      string
    >>;
    tryAlternateSegment?: boolean;
    maxXmlBytes?: number;
    [httpOption: string]: unknown;
  });
  agentAvailability(entryPointId: number): Promise<boolean>;
  capacity(entryPointId: number): Promise<number>;
  liveSessionStatus(entryPointId: number): Promise<{ wait_time: number; queue_depth: number }>;
  checkEligibility(entryPointId: number): Promise<{
    code: number;
    name: 'eligible' | 'no_agent_available' | 'queue_full' | 'agent_limit_reached' | 'other';
  }>;
  chatAllowed(entryPointId: number): Promise<{ allowed: boolean; reason: string | null }>;
  submitSurvey(sid: string, answers: Array<[string, string] | { question: string; answer: string }>): Promise<void>;
}

/** Simulator endpoints for fault injection. */
export type SimEndpoint =
  | 'token'
  | 'configuration'
  | 'start'
  | 'send_message'
  | 'end'
  | 'agent_availability'
  | 'capacity'
  | 'live_session_status'
  | 'check_eligibility'
  | 'chat_allowed'
  | 'survey';

/** The embedded ECE simulator. */
export declare class Simulator {
  private constructor();
  static start(config?: Record<string, unknown>): Simulator;
  readonly serverUrl: string;
  readonly chatBaseUrl: string;
  readonly port: number;
  control(op: string, args?: Record<string, unknown>): Promise<Record<string, any>>;
  setWebhook(url: string | null, auth?: { basic?: { username: string; password: string }; bearer?: string }): Promise<void>;
  failNext(endpoint: SimEndpoint, status: number, count?: number): Promise<void>;
  setDelay(endpoint: SimEndpoint, ms: number): Promise<void>;
  expireTokens(): Promise<void>;
  touchConfiguration(entryPoint: number): Promise<void>;
  agentSay(conversationId: string, text: string): Promise<void>;
  agentEvent(conversationId: string, type: string, content?: string | null): Promise<void>;
  agentComplete(conversationId: string): Promise<void>;
  webhookRaw(body: string, options?: { contentType?: string; authorization?: string | null }): Promise<number>;
  waitIdle(timeoutMs?: number): Promise<boolean>;
  stats(): Promise<Record<string, any>>;
  stop(): Promise<void>;
}
