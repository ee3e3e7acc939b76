// libcce for Node.js — Cisco Enterprise Chat and Email (ECE): the Messaging API
// client, the webhook server ECE posts agent events to, the chat web services and an
// embedded ECE simulator. Exposed as `require('libcce').ece`.
//
// Every call that may touch the network returns a Promise; configuration keys may be
// given in snake_case or camelCase. Errors are CceError objects whose `status` is the
// HTTP status (e.g. 409) and `statusName` the ECE error name ("Unauthorized",
// "StaleConfiguration", "NotFound", "ServerError", "Timeout", ...).
'use strict';

/** Most webhook events taken from the library at once by events(). */
const EVENT_BATCH = 256;

/** How long one wait of events() lasts before it waits again. */
const EVENT_WAIT_MS = 30_000;

/** Builds the `ece` namespace from the helpers of index.js. */
module.exports = function makeEce({ native, CceError, call, callAsync, snakeKeys, stringify }) {
  const invalid = (message) => new CceError('InvalidArgument', message);
  const CONFIGURED = Symbol('configured');

  function configJson(config, what) {
    return stringify(snakeKeys(config ?? {}, what), what);
  }

  /**
   * A Messaging API client. Tokens and the entry point configuration are cached; a
   * 401 triggers one re-login and retry; a 409 on start one configuration refresh and
   * retry. Messages are never re-sent after a timeout or a server error.
   */
  class Client {
    #native;

    /**
     * `config`: serverUrl, clientKey, clientSecret, entryPointId (required);
     * forceLogin, acceptLanguage, tokenRefreshRatio, endConversationPath, apiPath,
     * connectTimeoutMs, requestTimeoutMs, verifyTls (default true), caPem, allowHttp,
     * maxRetries, retryBaseMs, retryMaxMs, rateLimitPerSec, rateLimitBurst, trace.
     */
    constructor(config) {
      const json = configJson(config, 'ECE client config');
      this.#native = call(() => native.NativeEceClient.create(json));
    }

    /** Logins made so far. */
    get logins() {
      return this.#native.logins;
    }

    /** Logs in now (checks the credentials early). */
    login() {
      return callAsync(() => this.#native.login());
    }

    /** The entry point configuration: `{entry_point_id, last_modified, raw}`. */
    async configuration({ refresh = false } = {}) {
      return JSON.parse(await callAsync(() => this.#native.configurationJson(Boolean(refresh))));
    }

    /**
     * Starts a conversation; resolves to `{id, activity_id, case_id}`. `customer`:
     * firstName, lastName, email, phones ([{number, type, countryCode, areaCode}]),
     * customerType. `options`: sendTypingNotification (default true),
     * searchContactOnAttribute (default "email.emailAddress", null omits), activity.
     */
    async startConversation(customer = {}, options = {}) {
      const c = snakeKeys(customer, 'customer');
      if (Array.isArray(c.phones)) c.phones = c.phones.map((p, i) => snakeKeys(p, `phones[${i}]`));
      const req = { customer: c, ...snakeKeys(options, 'start options') };
      const json = stringify(req, 'start request');
      return JSON.parse(await callAsync(() => this.#native.startConversationJson(json)));
    }

    /** Sends a customer message (`type` "text/html", the default, or "text/plain"). */
    sendMessage(conversationId, content, type = 'text/html') {
      if (typeof conversationId !== 'string' || typeof content !== 'string') {
        return Promise.reject(invalid('conversationId and content must be strings'));
      }
      return callAsync(() => this.#native.sendMessage(conversationId, content, String(type)));
    }

    /** Ends a conversation (endpoint unverified, configurable); `complete` should follow. */
    endConversation(conversationId) {
      return callAsync(() => this.#native.endConversation(String(conversationId)));
    }
  }

  /**
   * The HTTP server ECE posts events to. Events come in arrival order (so in order
   * per conversation): take them with `nextEvent()` or `for await (const ev of
   * hook.events())`.
   */
  class WebhookServer {
    #native;
    #stopped = false;
    /** The last batch events() took (at most 256 events), and how many were handed out. */
    #batch = [];
    #taken = 0;

    constructor(n) {
      this.#native = n;
    }

    /**
     * Starts a server. `options`: exactly one of `basic: {username, password}`,
     * `bearer: "<token>"` or `allowUnauthenticated: true` (lab use only); bind
     * ("127.0.0.1:0"), path ("/"), maxBodyBytes, maxDepth, maxEvents, queueCapacity,
     * dedupWindow, maxConnections, maxConnectionsPerPeer, firstByteTimeoutMs, readTimeoutMs.
     * POSTs need a JSON Content-Type (else 415).
     */
    static start(options = {}) {
      const { basic, bearer, allowUnauthenticated, ...rest } = options ?? {};
      const chosen = [basic !== undefined, bearer !== undefined, Boolean(allowUnauthenticated)];
      if (chosen.filter(Boolean).length !== 1) {
        throw invalid('give exactly one of basic, bearer, allowUnauthenticated');
      }
      let auth;
      if (basic !== undefined) auth = { basic: { username: basic.username, password: basic.password } };
      else if (bearer !== undefined) auth = { bearer };
      else auth = { none: true };
      const json = stringify({ auth, ...snakeKeys(rest, 'webhook config') }, 'webhook config');
      return new WebhookServer(call(() => native.NativeEceWebhook.start(json)));
    }

    /** Listening port. */
    get port() {
      return this.#native.port;
    }

    /** Callback URL on the listening address (`http://127.0.0.1:PORT/PATH`). */
    get url() {
      return this.#native.url;
    }

    /**
     * The next event, or null after `timeoutMs` (absent: wait for one). Rejects with
     * code Closed once stopped and every event was taken.
     */
    async nextEvent({ timeoutMs } = {}) {
      if (this.#taken < this.#batch.length) return this.#take();
      const text = await callAsync(() => this.#native.nextEvent(timeoutMs));
      return text === null ? null : JSON.parse(text);
    }

    /** The next event of the batch events() took last (events left by a `break`). */
    #take() {
      const ev = this.#batch[this.#taken];
      this.#batch[this.#taken++] = undefined;
      return ev;
    }

    /**
     * Async iterator over events (`for await (const ev of hook.events())`); ends when
     * the server is stopped and drained. Takes them in batches (everything queued,
     * up to 256, per call into the library) and yields them one by one.
     */
    async *events() {
      for (;;) {
        // What a `break` left of the last batch comes first, to the next reader.
        while (this.#taken < this.#batch.length) yield this.#take();
        let text;
        try {
          text = await callAsync(() => this.#native.nextEventsJson(EVENT_BATCH, EVENT_WAIT_MS));
        } catch (e) {
          if (e instanceof CceError && e.code === 'Closed') return;
          throw e;
        }
        this.#batch = JSON.parse(text);
        this.#taken = 0;
      }
    }

    /** Counters: requests, accepted, events, duplicates, unroutable, unauthorized, ... */
    stats() {
      return JSON.parse(call(() => this.#native.statsJson()));
    }

    /** Stops the server; queued events can still be read. */
    async stop() {
      await callAsync(() => this.#native.stop());
      this.#stopped = true;
    }

    /** True once stopped. */
    get stopped() {
      return this.#stopped;
    }
  }

  /** The anonymous XML chat web services under a context root. */
  class ChatWebServices {
    #native;

    /**
     * `config`: baseUrl (e.g. "https://ece.example.com/system"; required), paths,
     * tryAlternateSegment (default true), maxXmlBytes and the HTTP options of Client.
     */
    constructor(config) {
      const c = snakeKeys(config ?? {}, 'chat ws config');
      if (c.paths !== undefined) c.paths = snakeKeys(c.paths, 'paths');
      const json = stringify(c, 'chat ws config');
      this.#native = call(() => native.NativeEceChatWs.create(json));
    }

    /** Whether an agent is available for the entry point's chats. */
    agentAvailability(entryPointId) {
      return callAsync(() => this.#native.agentAvailability(entryPointId));
    }

    /** Remaining chat slots. */
    capacity(entryPointId) {
      return callAsync(() => this.#native.capacity(entryPointId));
    }

    /** `{wait_time, queue_depth}`. */
    async liveSessionStatus(entryPointId) {
      return JSON.parse(await callAsync(() => this.#native.liveSessionStatusJson(entryPointId)));
    }

    /** `{code, name}`: name is eligible, no_agent_available, queue_full, agent_limit_reached or other. */
    async checkEligibility(entryPointId) {
      return JSON.parse(await callAsync(() => this.#native.checkEligibilityJson(entryPointId)));
    }

    /** `{allowed, reason}`. */
    async chatAllowed(entryPointId) {
      return JSON.parse(await callAsync(() => this.#native.chatAllowedJson(entryPointId)));
    }

    /** Submits answers given as `[question, answer]` pairs or `{question, answer}` objects. */
    submitSurvey(sid, answers) {
      if (!Array.isArray(answers)) return Promise.reject(invalid('answers must be an array'));
      const items = answers.map((a) => (Array.isArray(a) ? { question: a[0], answer: a[1] } : a));
      const json = stringify({ sid, answers: items }, 'survey');
      return callAsync(() => this.#native.submitSurveyJson(json));
    }
  }

  /**
   * An embedded ECE (plain HTTP on loopback): tokens, configuration, conversations, an
   * agent that answers through your webhook, chat web services, fault injection.
   */
  class Simulator {
    #native;

    constructor(n) {
      this.#native = n;
    }

    /** Starts a simulator (`config` as in docs/ece.md; none: defaults). */
    static start(config) {
      const json = configJson(config, 'ECE simulator config');
      return new Simulator(call(() => native.NativeEceSim.start(json)));
    }

    /** `http://127.0.0.1:PORT`: the Client's serverUrl. */
    get serverUrl() {
      return this.#native.serverUrl;
    }

    /** The ChatWebServices baseUrl. */
    get chatBaseUrl() {
      return this.#native.chatBaseUrl;
    }

    /** Listening port. */
    get port() {
      return this.#native.port;
    }

    /** Runs a command (`{op, ...}`, see docs/ece.md); resolves to its answer. */
    async control(op, args = {}) {
      const json = stringify({ op, ...args }, 'simulator command');
      return JSON.parse(await callAsync(() => this.#native.control(json)));
    }

    /** Where the agent's events go, with `{basic: {username, password}}` or `{bearer}`. */
    async setWebhook(url, { basic, bearer } = {}) {
      const args = {};
      if (url !== null && url !== undefined) args.url = url;
      if (basic !== undefined) args.basic = basic;
      if (bearer !== undefined) args.bearer = bearer;
      await this.control('set_webhook', args);
    }

    /** The next `count` requests to `endpoint` (e.g. "start", "send_message") get `status`. */
    async failNext(endpoint, status, count = 1) {
      await this.control('fail_next', { endpoint, status, count });
    }

    /** Delays every answer of `endpoint` by `ms` (0: no delay). */
    async setDelay(endpoint, ms) {
      await this.control('set_delay', { endpoint, ms });
    }

    /** Expires every token: the next authenticated call gets 401. */
    async expireTokens() {
      await this.control('expire_tokens');
    }

    /** Changes lastModified: the next start with the old one gets 409. */
    async touchConfiguration(entryPoint) {
      await this.control('touch_configuration', { entry_point: entryPoint });
    }

    /** The agent types and sends `text`. */
    async agentSay(conversationId, text) {
      await this.control('agent_say', { conversation_id: conversationId, text });
    }

    /** The agent sends an event of any type.value. */
    async agentEvent(conversationId, type, content = null) {
      await this.control('agent_event', { conversation_id: conversationId, type, content });
    }

    /** The agent ends the conversation. */
    async agentComplete(conversationId) {
      await this.control('agent_complete', { conversation_id: conversationId });
    }

    /**
     * POSTs `body` to the webhook; resolves to the HTTP status it answered.
     * `authorization`: omitted = configured credentials, null = none, string = header.
     */
    async webhookRaw(body, { contentType = 'application/json', authorization = CONFIGURED } = {}) {
      const args = { body, content_type: contentType };
      if (authorization !== CONFIGURED) args.authorization = authorization;
      return (await this.control('webhook_raw', args)).status;
    }

    /** Waits until every queued webhook POST was made; false on timeout. */
    async waitIdle(timeoutMs = 5000) {
      return (await this.control('wait_idle', { timeout_ms: timeoutMs })).idle;
    }

    /** Logins, requests per endpoint, conversations, webhook deliveries, surveys. */
    stats() {
      return this.control('stats');
    }

    /** Stops the simulator. */
    stop() {
      return callAsync(() => this.#native.stop());
    }
  }

  return { Client, WebhookServer, ChatWebServices, Simulator };
};
