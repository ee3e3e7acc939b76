/*
 * Tests of the ECE part of the libcce C ABI against the embedded ECE simulator: a
 * full chat through the real HTTP stack, token expiry, 409 recovery, webhook auth
 * failure, malformed webhook bodies, chat web services, NULL/stale handles.
 * Prints one line per failed check and ends with "N passed, N failed".
 * Synchronisation uses condition-variable waits with timeouts, never sleeps.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cce.h"

static int passed, failed;

#define EXPECT(cond, what)                                                   \
    do {                                                                     \
        if (cond) {                                                          \
            passed++;                                                        \
        } else {                                                             \
            failed++;                                                        \
            fprintf(stderr, "FAIL %s:%d: %s (last error: %s)\n", __FILE__,   \
                    __LINE__, what, cce_last_error());                       \
        }                                                                    \
    } while (0)

/* Events delivered by the webhook callback, kept in order. */
#define MAX_EVENTS 64
struct inbox {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *events[MAX_EVENTS];
    int count, taken;
};

static void on_event(void *user_data, const char *json) {
    struct inbox *in = user_data;
    pthread_mutex_lock(&in->lock);
    if (in->count < MAX_EVENTS) in->events[in->count++] = strdup(json);
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->lock);
}

/* The next event (owned by the inbox), or NULL after 5 s. */
static const char *next_event(struct inbox *in) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    const char *ev = NULL;
    pthread_mutex_lock(&in->lock);
    while (in->taken == in->count) {
        if (pthread_cond_timedwait(&in->cond, &in->lock, &deadline) == ETIMEDOUT) break;
    }
    if (in->taken < in->count) ev = in->events[in->taken++];
    pthread_mutex_unlock(&in->lock);
    return ev;
}

static int is_type(const char *ev, const char *type) {
    char want[64];
    snprintf(want, sizeof want, "\"type\":\"%s\"", type);
    return ev && strstr(ev, want) != NULL;
}

/* Copies the string value of "key" in a flat JSON object into buf. */
static int json_str(const char *json, const char *key, char *buf, size_t len) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = json ? strstr(json, pat) : NULL;
    if (!p) return 0;
    p += strlen(pat);
    const char *end = strchr(p, '"');
    if (!end || (size_t)(end - p) >= len) return 0;
    memcpy(buf, p, (size_t)(end - p));
    buf[end - p] = 0;
    return 1;
}

/* Runs a simulator command; returns whether the answer contains `expect` (if given). */
static int sim_cmd(ece_sim *sim, const char *cmd, const char *expect) {
    char *out = NULL;
    int ok = ece_sim_control(sim, cmd, &out) == CCE_OK && (!expect || (out && strstr(out, expect)));
    if (!ok) fprintf(stderr, "  command %s answered %s\n", cmd, out ? out : "(error)");
    cce_string_free(out);
    return ok;
}

static void test_handles(void) {
    ece_client *c = NULL;
    EXPECT(ece_client_new(NULL, &c) == CCE_ERR_NULL_POINTER, "NULL config");
    EXPECT(ece_client_new("{}", &c) == CCE_ERR_INVALID_ARGUMENT, "config without keys");
    EXPECT(ece_client_new("{\"server_url\":\"http://ece.example.com\",\"client_key\":\"k\","
                          "\"client_secret\":\"s\",\"entry_point_id\":1}", &c) == CCE_ERR_INVALID_ARGUMENT,
           "plain http to a remote host is refused");
    EXPECT(ece_client_login(NULL) == CCE_ERR_INVALID_HANDLE, "NULL client");
    EXPECT(ece_client_free(NULL) == CCE_ERR_INVALID_HANDLE, "free NULL client");
    EXPECT(ece_webhook_stop(NULL) == CCE_ERR_INVALID_HANDLE, "stop NULL webhook");
    ece_webhook *w = NULL;
    EXPECT(ece_webhook_start("{}", NULL, NULL, &w) == CCE_ERR_INVALID_ARGUMENT, "webhook needs auth");
    EXPECT(ece_sim_control(NULL, "{\"op\":\"stats\"}", NULL) == CCE_ERR_INVALID_HANDLE, "NULL simulator");
    EXPECT(ece_chatws_capacity(NULL, 1, NULL) == CCE_ERR_INVALID_HANDLE, "NULL chat ws");
}

static void test_full_chat(void) {
    struct inbox in = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    ece_sim *sim = NULL;
    ece_webhook *hook = NULL;
    ece_client *client = NULL;
    char *server_url = NULL, *chat_url = NULL, *hook_url = NULL, *result = NULL;
    char cfg[1024], cmd[1024], conv[128] = "";

    EXPECT(ece_sim_start(NULL, &sim) == CCE_OK, "simulator starts");
    EXPECT(ece_sim_urls(sim, &server_url, &chat_url) == CCE_OK, "simulator URLs");
    EXPECT(ece_webhook_start("{\"auth\":{\"basic\":{\"username\":\"ece\",\"password\":\"pw\"}}}",
                             on_event, &in, &hook) == CCE_OK,
           "webhook starts");
    EXPECT(ece_webhook_url(hook, &hook_url) == CCE_OK, "webhook URL");
    snprintf(cmd, sizeof cmd,
             "{\"op\":\"set_webhook\",\"url\":\"%s\",\"basic\":{\"username\":\"ece\",\"password\":\"pw\"}}",
             hook_url);
    EXPECT(sim_cmd(sim, cmd, NULL), "simulator posts to the webhook");
    snprintf(cfg, sizeof cfg,
             "{\"server_url\":\"%s\",\"client_key\":\"sim-key\",\"client_secret\":\"sim-secret\","
             "\"entry_point_id\":1001,\"retry_base_ms\":10}",
             server_url);
    EXPECT(ece_client_new(cfg, &client) == CCE_OK, "client created");

    /* Start, assigned. */
    EXPECT(ece_client_start_conversation(client, "{\"customer\":{\"email\":\"c@example.com\"}}", &result) == CCE_OK,
           "conversation starts");
    EXPECT(json_str(result, "id", conv, sizeof conv), "conversation id returned");
    cce_string_free(result);
    const char *ev = next_event(&in);
    EXPECT(is_type(ev, "assigned"), "assigned event");
    EXPECT(ev && strstr(ev, conv), "event carries the conversation id");

    /* A message and the agent's answer. */
    EXPECT(ece_client_send_message(client, conv, "Hello from C", NULL) == CCE_OK, "message sent");
    EXPECT(is_type(next_event(&in), "startTyping"), "agent typing");
    EXPECT(is_type(next_event(&in), "endTyping"), "agent stopped typing");
    ev = next_event(&in);
    EXPECT(is_type(ev, "message") && strstr(ev, "You said: Hello from C"), "agent reply");

    /* Token expiry: the next call gets 401, logs in again and succeeds. */
    EXPECT(sim_cmd(sim, "{\"op\":\"expire_tokens\"}", NULL), "tokens expired");
    EXPECT(ece_client_configuration(client, true, &result) == CCE_OK, "configuration after expiry");
    EXPECT(result && strstr(result, "\"entry_point_id\":1001"), "configuration JSON");
    cce_string_free(result);
    EXPECT(sim_cmd(sim, "{\"op\":\"stats\"}", "\"logins\":2"), "exactly one re-login");

    /* 409: stale lastModified is recovered by refetching the configuration. */
    EXPECT(sim_cmd(sim, "{\"op\":\"touch_configuration\",\"entry_point\":1001}", NULL), "configuration changed");
    EXPECT(ece_client_start_conversation(client, "{}", &result) == CCE_OK, "start after 409");
    cce_string_free(result);
    EXPECT(is_type(next_event(&in), "assigned"), "second conversation assigned");
    EXPECT(sim_cmd(sim, "{\"op\":\"fail_next\",\"endpoint\":\"start\",\"status\":409,\"count\":2}", NULL),
           "two 409s injected");
    result = NULL;
    EXPECT(ece_client_start_conversation(client, "{}", &result) == CCE_ERR_REFUSED, "second 409 is returned");
    EXPECT(cce_last_error_cti_status() == -1, "an HTTP status is not a CTI status");
    EXPECT(cce_last_error_code() == 409, "HTTP status as the protocol code");
    EXPECT(strcmp(cce_last_error_protocol(), "ece") == 0, "protocol ece");
    EXPECT(strcmp(cce_last_error_code_name(), "StaleConfiguration") == 0, "code name");
    EXPECT(cce_last_error_kind() == CCE_ERR_REFUSED, "kind");
    EXPECT(result == NULL, "no result on failure");

    /* Send failures are typed and not retried. */
    EXPECT(sim_cmd(sim, "{\"op\":\"fail_next\",\"endpoint\":\"send_message\",\"status\":500}", NULL),
           "500 injected");
    EXPECT(ece_client_send_message(client, conv, "x", "text/plain") == CCE_ERR_REFUSED, "500 refused");
    EXPECT(cce_last_error_code() == 500 && cce_last_error_cti_status() == -1, "status 500");
    EXPECT(ece_client_send_message(client, "no-such", "x", NULL) == CCE_ERR_CLOSED, "unknown conversation");
    EXPECT(ece_client_send_message(client, conv, "x", "image/png") == CCE_ERR_INVALID_ARGUMENT, "bad type");

    /* Completion. */
    EXPECT(ece_client_send_message(client, conv, "bye", NULL) == CCE_OK, "farewell sent");
    int complete = 0;
    for (int i = 0; i < 4 && !complete; i++) complete = is_type(next_event(&in), "complete");
    EXPECT(complete, "complete event");

    /* Webhook: missing credentials and malformed bodies get 4xx. */
    EXPECT(sim_cmd(sim, "{\"op\":\"webhook_raw\",\"body\":\"{}\",\"authorization\":null}", "\"status\":401"),
           "no credentials: 401");
    EXPECT(sim_cmd(sim, "{\"op\":\"webhook_raw\",\"body\":\"{}\",\"authorization\":\"Basic ZWNlOnd4\"}",
                   "\"status\":401"),
           "wrong password: 401");
    EXPECT(sim_cmd(sim, "{\"op\":\"webhook_raw\",\"body\":\"{\\\"message\\\":\"}", "\"status\":400"),
           "truncated JSON: 400");
    EXPECT(sim_cmd(sim, "{\"op\":\"webhook_raw\",\"body\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\"}",
                   "\"status\":400"),
           "deep JSON: 400");
    EXPECT(sim_cmd(sim, "{\"op\":\"webhook_raw\",\"body\":\"<message/>\",\"content_type\":\"text/xml\"}",
                   "\"status\":415"),
           "XML: 415");
    char *stats = NULL;
    EXPECT(ece_webhook_stats(hook, &stats) == CCE_OK, "webhook stats");
    EXPECT(stats && strstr(stats, "\"unauthorized\":2") && strstr(stats, "\"bad_bodies\":3"), "stats count refusals");
    cce_string_free(stats);

    /* Chat web services. */
    ece_chatws *ws = NULL;
    snprintf(cfg, sizeof cfg, "{\"base_url\":\"%s\"}", chat_url);
    EXPECT(ece_chatws_new(cfg, &ws) == CCE_OK, "chat ws client");
    bool available = false, allowed = false;
    uint32_t slots = 0, depth = 0, eligibility = 99;
    double wait = -1;
    char *reason = (char *)1;
    EXPECT(ece_chatws_agent_availability(ws, 1001, &available) == CCE_OK && available, "agent available");
    EXPECT(ece_chatws_capacity(ws, 1001, &slots) == CCE_OK && slots == 4, "capacity 4");
    EXPECT(ece_chatws_live_session_status(ws, 1001, &wait, &depth) == CCE_OK && wait == 3.0 && depth == 1,
           "wait 3.0, depth 1");
    EXPECT(ece_chatws_check_eligibility(ws, 1001, &eligibility) == CCE_OK && eligibility == 0, "eligible");
    EXPECT(ece_chatws_chat_allowed(ws, 1001, &allowed, &reason) == CCE_OK && allowed && reason == NULL,
           "chat allowed");
    EXPECT(ece_chatws_chat_allowed(ws, 42, &allowed, &reason) == CCE_OK && !allowed && reason &&
               strcmp(reason, "invalid_entry_point") == 0,
           "unknown entry point: not allowed, with reason");
    cce_string_free(reason);
    EXPECT(ece_chatws_submit_survey(ws, "{\"sid\":\"1000_x\",\"answers\":[{\"question\":\"Q\",\"answer\":\"A\"}]}") ==
               CCE_OK,
           "survey submitted");
    EXPECT(sim_cmd(sim, "{\"op\":\"stats\"}", "\"sid\":\"1000_x\""), "simulator got the survey");
    EXPECT(ece_chatws_free(ws) == CCE_OK, "chat ws freed");

    EXPECT(ece_client_free(client) == CCE_OK, "client freed");
    EXPECT(ece_client_free(client) == CCE_ERR_INVALID_HANDLE, "double free is an error");
    EXPECT(ece_webhook_stop(hook) == CCE_OK, "webhook stops");
    EXPECT(ece_webhook_stop(hook) == CCE_ERR_INVALID_HANDLE, "double stop is an error");
    EXPECT(ece_sim_stop(sim) == CCE_OK, "simulator stops");
    cce_string_free(server_url);
    cce_string_free(chat_url);
    cce_string_free(hook_url);
    for (int i = 0; i < in.count; i++) free(in.events[i]);
}

static void test_poll_mode(void) {
    ece_webhook *hook = NULL;
    ece_sim *sim = NULL;
    char *url = NULL, *ev = NULL, cmd[512];
    EXPECT(ece_webhook_start("{\"auth\":{\"bearer\":\"t0k\"},\"path\":\"/ece\"}", NULL, NULL, &hook) == CCE_OK,
           "polled webhook starts");
    EXPECT(ece_webhook_poll_event(hook, 1, &ev) == CCE_ERR_TIMEOUT, "no event yet");
    EXPECT(ece_sim_start("{}", &sim) == CCE_OK, "simulator starts");
    ece_webhook_url(hook, &url);
    snprintf(cmd, sizeof cmd, "{\"op\":\"set_webhook\",\"url\":\"%s\",\"bearer\":\"t0k\"}", url);
    EXPECT(sim_cmd(sim, cmd, NULL), "webhook set");
    EXPECT(sim_cmd(sim,
                   "{\"op\":\"webhook_raw\",\"body\":\"{\\\"message\\\":[{\\\"conversation\\\":{\\\"id\\\":\\\"c1\\\"},"
                   "\\\"type\\\":{\\\"value\\\":\\\"pagePush\\\"},\\\"content\\\":\\\"https://x\\\"}]}\"}",
                   "\"status\":204"),
           "unknown event type accepted");
    EXPECT(ece_webhook_poll_event(hook, 5000, &ev) == CCE_OK, "event polled");
    EXPECT(ev && strstr(ev, "\"type\":\"other\"") && strstr(ev, "\"type_value\":\"pagePush\""), "kept raw");
    cce_string_free(ev);
    EXPECT(ece_webhook_stop(hook) == CCE_OK, "webhook stops");
    EXPECT(ece_sim_stop(sim) == CCE_OK, "simulator stops");
    cce_string_free(url);
}

int main(void) {
    test_handles();
    test_full_chat();
    test_poll_mode();
    printf("test_ece: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
