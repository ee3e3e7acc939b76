/*
 * Typed, zero-copy events: cti_open_typed (callback), cti_poll_typed (pull), every
 * cce_event accessor, NULL arguments, absent fields, library events, and the JSON of
 * each typed event equal to the JSON callback's text for the same event stream.
 * Runs against the embedded simulator; every wait has a timeout.
 */
#include <poll.h>
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

static char *config(uint16_t port, const char *client) {
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"address\":\"127.0.0.1:%u\",\"client_id\":\"%s\",\"version\":24,"
             "\"services\":\"CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL\","
             "\"peripheral_id\":5000,\"agent_id\":\"1001\"}",
             (unsigned)port, client);
    return buf;
}

/* A bridge: every call and agent event, no agent of its own. */
static char *bridge_config(uint16_t port, const char *client) {
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"address\":\"127.0.0.1:%u\",\"client_id\":\"%s\",\"version\":24,"
             "\"services\":\"CTI_SERVICE_ALL_EVENTS\"}",
             (unsigned)port, client);
    return buf;
}

static const char *CALL =
    "{\"ani\":\"5551234\",\"dnis\":\"8000\",\"call_variables\":[\"cv1\"],"
    "\"named_variables\":[[\"user.a\",\"x1\"],[\"user.b\",\"y\\\"2\"]]}";

/* One event stream as text: the JSON of every event in order. */
#define MAX_EVENTS 256
struct stream {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *json[MAX_EVENTS];
    uint32_t type[MAX_EVENTS];
    int n, ended, closed;
};

static void stream_add(struct stream *st, uint32_t type, const char *json, size_t len) {
    pthread_mutex_lock(&st->lock);
    if (st->n < MAX_EVENTS) {
        st->json[st->n] = strndup(json, len);
        st->type[st->n] = type;
        st->n++;
    }
    if (type == 24) st->ended = 1; /* END_CALL_EVENT */
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

static int stream_wait_end(struct stream *st) {
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 15;
    pthread_mutex_lock(&st->lock);
    while (!st->ended && pthread_cond_timedwait(&st->cond, &st->lock, &dl) == 0) {
    }
    int ok = st->ended;
    pthread_mutex_unlock(&st->lock);
    return ok;
}

static void stream_free(struct stream *st) {
    for (int i = 0; i < st->n; i++) free(st->json[i]);
}

/* The events from the call's BEGIN_CALL_EVENT (23) to its END_CALL_EVENT (24). */
static int call_span(const struct stream *st, int *from) {
    int b = -1, e = -1;
    for (int i = 0; i < st->n; i++) {
        if (st->type[i] == 23 && b < 0) b = i;
        if (st->type[i] == 24) e = i;
    }
    *from = b;
    return (b >= 0 && e >= b) ? e - b + 1 : 0;
}

static void on_json(void *ud, uint32_t type, const char *json) {
    stream_add((struct stream *)ud, type, json, strlen(json));
}

/* What the typed callback checked, per event. */
struct typed_checks {
    struct stream st;
    int begin_ok, named_ok, json_len_ok, closed_ok, library_ok, absent_ok, nulls_ok;
};

static void check_begin_call(struct typed_checks *c, const cce_event *ev) {
    uint32_t id = 0, id2 = 0, none = 7;
    int32_t sid = 0;
    const char *s = NULL, *s2 = NULL;
    size_t len = 0, len2 = 0;
    int ok = 1;
    ok &= cce_event_u32(ev, "ConnectionCallID", &id) == CCE_OK && id != 0;
    ok &= cce_event_u32_id(ev, CCE_FIELD_ConnectionCallID, &id2) == CCE_OK && id2 == id;
    ok &= cce_event_i32(ev, "ConnectionCallID", &sid) == CCE_OK && (uint32_t)sid == id;
    ok &= cce_event_u32(ev, "PeripheralID", &id2) == CCE_OK && id2 == 5000;
    ok &= cce_event_str(ev, "ANI", &s, &len) == CCE_OK && len == 7 && memcmp(s, "5551234", 7) == 0 &&
          s[len] == '\0';
    ok &= cce_event_str_id(ev, CCE_FIELD_ANI, &s2, &len2) == CCE_OK && len2 == len &&
          strcmp(s2, "5551234") == 0;
    ok &= cce_event_str(ev, "CallVariable1", &s, NULL) == CCE_OK && strcmp(s, "cv1") == 0;
    c->begin_ok = ok;

    /* Absent fields: a distinct status, the output untouched. */
    c->absent_ok = cce_event_u32(ev, "NoSuchField", &none) == CCE_ERR_NOT_FOUND && none == 7 &&
                   cce_event_str(ev, "CallVariable9", &s, &len) == CCE_ERR_NOT_FOUND &&
                   cce_event_str(ev, "ConnectionCallID", &s, &len) == CCE_ERR_NOT_FOUND &&
                   cce_event_u32_id(ev, CCE_FIELD_AgentState, &none) == CCE_ERR_NOT_FOUND &&
                   cce_event_named_var(ev, 2, &s, &len, &s2, &len2) == CCE_ERR_NOT_FOUND;

    /* NULL arguments and unknown ids. */
    c->nulls_ok = cce_event_u32(NULL, "PeripheralID", &id) == CCE_ERR_INVALID_ARGUMENT &&
                  cce_event_u32(ev, NULL, &id) == CCE_ERR_INVALID_ARGUMENT &&
                  cce_event_u32(ev, "PeripheralID", NULL) == CCE_ERR_INVALID_ARGUMENT &&
                  cce_event_i32(ev, "PeripheralID", NULL) == CCE_ERR_INVALID_ARGUMENT &&
                  cce_event_str(ev, "ANI", NULL, &len) == CCE_ERR_INVALID_ARGUMENT &&
                  cce_event_str(NULL, "ANI", &s, &len) == CCE_ERR_INVALID_ARGUMENT &&
                  cce_event_u32_id(ev, (cce_field)1000000, &id) == CCE_ERR_INVALID_ARGUMENT &&
                  cce_event_str_id(ev, (cce_field)1000000, &s, &len) == CCE_ERR_INVALID_ARGUMENT &&
                  cce_event_named_var(NULL, 0, &s, &len, &s2, &len2) == CCE_ERR_INVALID_ARGUMENT &&
                  cce_event_named_var(ev, 0, NULL, &len, &s2, &len2) == CCE_ERR_INVALID_ARGUMENT &&
                  cce_event_json(NULL, &s, &len) == CCE_ERR_INVALID_ARGUMENT &&
                  cce_event_json(ev, NULL, &len) == CCE_ERR_INVALID_ARGUMENT &&
                  cce_event_named_var_count(NULL) == 0 && cce_event_type(NULL) == 0 &&
                  cce_event_name(NULL) == NULL;

    /* Named variables in wire order, NUL-terminated in place. */
    const char *n0, *v0, *n1, *v1;
    size_t n0l, v0l, n1l, v1l;
    c->named_ok = cce_event_named_var_count(ev) == 2 &&
                  cce_event_named_var(ev, 0, &n0, &n0l, &v0, &v0l) == CCE_OK &&
                  cce_event_named_var(ev, 1, &n1, &n1l, &v1, NULL) == CCE_OK &&
                  strcmp(n0, "user.a") == 0 && n0l == 6 && strcmp(v0, "x1") == 0 && v0l == 2 &&
                  strcmp(n1, "user.b") == 0 && strcmp(v1, "y\"2") == 0;
    (void)n1l;
    (void)v1l;
}

static void on_typed(void *ud, const cce_event *ev) {
    struct typed_checks *c = (struct typed_checks *)ud;
    uint32_t type = cce_event_type(ev);
    const char *name = cce_event_name(ev);
    const char *json = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    if (cce_event_json(ev, &json, &len) != CCE_OK || name == NULL) {
        c->json_len_ok = -1;
        return;
    }
    /* Cached: the same pointer the second time; the length is the text's. */
    if (cce_event_json(ev, &again, &len2) == CCE_OK && again == json && len2 == len &&
        strlen(json) == len && c->json_len_ok == 0)
        c->json_len_ok = 1;
    if (type == 23 && strcmp(name, "BEGIN_CALL_EVENT") == 0) check_begin_call(c, ev);
    if (strcmp(name, "SESSION_CLOSED") == 0) {
        const char *reason = NULL;
        size_t rlen = 0;
        uint32_t t = 1;
        c->closed_ok = type == 0 && cce_event_str(ev, "reason", &reason, &rlen) == CCE_OK &&
                       strcmp(reason, "Closed") == 0 && rlen == 6 &&
                       cce_event_u32(ev, "MessageType", &t) == CCE_OK && t == 0 &&
                       cce_event_named_var_count(ev) == 0 &&
                       cce_event_u32(ev, "NoSuchKey", &t) == CCE_ERR_NOT_FOUND;
        pthread_mutex_lock(&c->st.lock);
        c->st.closed = 1;
        pthread_cond_broadcast(&c->st.cond);
        pthread_mutex_unlock(&c->st.lock);
        return;
    }
    stream_add(&c->st, type, json, len);
}

static int make_available(cti_session *s) {
    uint32_t type = 0;
    char *json = NULL;
    cce_status st = cti_request(s,
                                "{\"MessageName\":\"SET_AGENT_STATE_REQ\",\"AgentState\":\"AGENT_STATE_AVAILABLE\","
                                "\"AgentInstrument\":\"5001\"}",
                                0, &type, &json);
    cce_string_free(json);
    return st == CCE_OK;
}

static void test_typed_callback_matches_json_callback(void) {
    cce_sim *sim = NULL;
    cti_session *a = NULL, *b = NULL, *agent = NULL;
    uint16_t port = 0;
    struct stream js = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, {0}, 0, 0, 0};
    struct typed_checks tc;
    memset(&tc, 0, sizeof tc);
    pthread_mutex_init(&tc.st.lock, NULL);
    pthread_cond_init(&tc.st.cond, NULL);
    cce_sim_start(NULL, &sim);
    cce_sim_port(sim, &port);
    /* Two bridges see the same stream: one through JSON, one typed. */
    EXPECT(cti_open(bridge_config(port, "json-cb"), on_json, &js, &a) == CCE_OK,
           "open with the JSON callback");
    EXPECT(cti_open_typed(bridge_config(port, "typed-cb"), on_typed, &tc, &b) == CCE_OK, "open typed");
    cti_session *bad = NULL;
    EXPECT(cti_open_typed(bridge_config(port, "x"), NULL, NULL, &bad) == CCE_ERR_INVALID_ARGUMENT &&
               bad == NULL,
           "a NULL typed callback is refused");
    EXPECT(cti_open(config(port, "agent"), NULL, NULL, &agent) == CCE_OK, "open the agent session");
    EXPECT(make_available(agent), "agent available");
    EXPECT(cce_sim_inject_call(sim, CALL, NULL) == CCE_OK, "inject a call");
    EXPECT(stream_wait_end(&js), "JSON callback saw END_CALL_EVENT");
    EXPECT(stream_wait_end(&tc.st), "typed callback saw END_CALL_EVENT");
    EXPECT(tc.begin_ok == 1, "typed accessors on BEGIN_CALL_EVENT");
    EXPECT(tc.absent_ok == 1, "absent fields are CCE_ERR_NOT_FOUND");
    EXPECT(tc.nulls_ok == 1, "NULL arguments and unknown ids are CCE_ERR_INVALID_ARGUMENT");
    EXPECT(tc.named_ok == 1, "named variables");
    EXPECT(tc.json_len_ok == 1, "cce_event_json cached, length right");

    int fa = 0, fb = 0;
    int na = call_span(&js, &fa), nb = call_span(&tc.st, &fb);
    EXPECT(na >= 3 && na == nb, "the same call events on both sessions");
    int same = na == nb;
    for (int i = 0; same && i < na; i++)
        same = js.type[fa + i] == tc.st.type[fb + i] && strcmp(js.json[fa + i], tc.st.json[fb + i]) == 0;
    EXPECT(same, "typed event JSON == the JSON callback's text, event by event");
    if (!same && na > 0 && nb > 0) fprintf(stderr, "  json: %s\n  typed: %s\n", js.json[fa], tc.st.json[fb]);

    EXPECT(cti_close(b) == CCE_OK, "close typed");
    EXPECT(tc.closed_ok == 1, "SESSION_CLOSED through the typed accessors");
    EXPECT(cti_close(a) == CCE_OK, "close JSON");
    EXPECT(cti_close(agent) == CCE_OK, "close the agent session");
    stream_free(&js);
    stream_free(&tc.st);
    cce_sim_stop(sim);
}

static void test_poll_typed(void) {
    cce_sim *sim = NULL;
    cti_session *s = NULL, *cb = NULL;
    uint16_t port = 0;
    int fd = -1;
    const cce_event *evs[16];
    size_t n = 0;
    struct typed_checks tc;
    memset(&tc, 0, sizeof tc);
    pthread_mutex_init(&tc.st.lock, NULL);
    pthread_cond_init(&tc.st.cond, NULL);
    cce_sim_start(NULL, &sim);
    cce_sim_port(sim, &port);
    EXPECT(cti_open(config(port, "typed-poll"), NULL, NULL, &s) == CCE_OK, "open in pull mode");
    EXPECT(cti_event_fd(s, &fd) == CCE_OK && fd >= 0, "event descriptor");
    EXPECT(make_available(s), "agent available");
    EXPECT(cce_sim_inject_call(sim, CALL, NULL) == CCE_OK, "inject a call");
    struct pollfd p = {fd, POLLIN, 0};
    int saw_begin = 0, saw_end = 0, rounds = 0;
    while (!saw_end && rounds < 200) {
        p.revents = 0;
        if (poll(&p, 1, 10000) != 1) break;
        rounds++;
        EXPECT(cti_poll_typed(s, evs, 16, &n) == CCE_OK, "poll a typed batch");
        /* Released events are independent: keep the batch, read it, release it. */
        for (size_t i = 0; i < n; i++) {
            const char *json = NULL;
            size_t len = 0;
            EXPECT(cce_event_json(evs[i], &json, &len) == CCE_OK && strstr(json, "\"MessageName\""),
                   "polled event JSON");
            if (cce_event_type(evs[i]) == 23) {
                check_begin_call(&tc, evs[i]);
                saw_begin = 1;
            }
            if (cce_event_type(evs[i]) == 24) saw_end = 1;
        }
        for (size_t i = 0; i < n; i++) cce_event_release(evs[i]);
    }
    EXPECT(saw_begin && saw_end, "the call arrived through cti_poll_typed");
    EXPECT(tc.begin_ok == 1 && tc.absent_ok == 1 && tc.nulls_ok == 1 && tc.named_ok == 1,
           "accessors on a polled event");
    cce_event_release(NULL);
    EXPECT(cti_poll_typed(s, NULL, 16, &n) == CCE_ERR_NULL_POINTER, "NULL array refused");
    EXPECT(cti_poll_typed(s, evs, 0, &n) == CCE_OK && n == 0, "max 0 takes nothing");
    EXPECT(cti_poll_typed(s, evs, 16, &n) == CCE_OK, "empty poll does not block");
    for (size_t i = 0; i < n; i++) cce_event_release(evs[i]);
    EXPECT(cti_open_typed(bridge_config(port, "typed-cb2"), on_typed, &tc, &cb) == CCE_OK, "open typed");
    EXPECT(cti_poll_typed(cb, evs, 16, &n) == CCE_ERR_INVALID_ARGUMENT,
           "a callback session cannot be polled");
    EXPECT(cti_close(cb) == CCE_OK, "close typed");
    EXPECT(cti_close(s) == CCE_OK, "close");
    EXPECT(cti_poll_typed(s, evs, 16, &n) == CCE_ERR_INVALID_HANDLE, "closed handle refused");
    stream_free(&tc.st);
    cce_sim_stop(sim);
}

int main(void) {
    test_typed_callback_matches_json_callback();
    test_poll_typed();
    printf("test_typed: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
