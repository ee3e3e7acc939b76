/* C ABI tests of the gc_* functions. The broker part needs CCE_STOMP_ADDR (set by
 * `make test-gc`); without it only the offline checks run, unless CCE_REQUIRE_BROKER
 * is set, which makes a missing broker a failure. */
#include <cce.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        checks++;                                                                     \
        if (!(cond)) {                                                                \
            failures++;                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__,   \
                    __LINE__, #cond, cce_last_error());                               \
        }                                                                             \
    } while (0)

static void offline(void) {
    char *t = NULL, *b = NULL;
    CHECK(gc_encode_command("{\"command\":\"Login\",\"agent_id\":\"1001\",\"password\":\"pw\","
                            "\"extension\":\"4012\"}",
                            &t, &b) == CCE_OK);
    CHECK(t && strcmp(t, "Login#1001") == 0);
    CHECK(b && strcmp(b, "pw,4012") == 0);
    cce_string_free(t);
    cce_string_free(b);

    /* Separators are refused with a clear message. */
    t = b = NULL;
    CHECK(gc_encode_command("{\"command\":\"MakeCall\",\"agent_id\":\"1001\",\"number\":\"5#5\"}",
                            &t, &b) == CCE_ERR_INVALID_ARGUMENT);
    CHECK(strstr(cce_last_error(), "must not contain") != NULL);
    CHECK(t == NULL && b == NULL);

    char *j = NULL;
    const char *msg = "1001#State#NOT_READY#12#Al Smith#extra";
    CHECK(gc_parse_event((const uint8_t *)msg, strlen(msg), NULL, &j) == CCE_OK);
    CHECK(j && strstr(j, "\"event\":\"State\"") && strstr(j, "\"reason_code\":\"12\"") &&
          strstr(j, "\"extra\":[\"extra\"]"));
    cce_string_free(j);
    /* Error events carry the GC error table's columns. */
    const char *err = "1001#Error#WRONG_EXTENSION";
    CHECK(gc_parse_event((const uint8_t *)err, strlen(err), NULL, &j) == CCE_OK);
    CHECK(j && strstr(j, "\"origin\":\"Gc\"") && strstr(j, "\"behaviour\":\"AskForExtension\"") &&
          strstr(j, "\"user_message\":\"the extension is not valid\""));
    cce_string_free(j);
    /* A password never shows in cce_last_error. */
    t = NULL;
    b = NULL;
    CHECK(gc_encode_command("{\"command\":\"Login\",\"agent_id\":\"1\",\"password\":\"Kn0wn,S3\","
                            "\"extension\":\"1\"}",
                            &t, &b) == CCE_ERR_INVALID_ARGUMENT);
    CHECK(strstr(cce_last_error(), "password") && !strstr(cce_last_error(), "Kn0wn"));
    const char *bad = "{oops";
    CHECK(gc_parse_event((const uint8_t *)bad, strlen(bad), NULL, &j) == CCE_ERR_CODEC);
    CHECK(gc_parse_event(NULL, 3, NULL, &j) == CCE_ERR_NULL_POINTER);

    /* Handles: NULL and stale ones are typed errors. */
    CHECK(gc_send(NULL, "{}") == CCE_ERR_INVALID_HANDLE);
    CHECK(gc_close(NULL) == CCE_ERR_INVALID_HANDLE);
    CHECK(gc_sim_stop(NULL) == CCE_ERR_INVALID_HANDLE);
    gc_session *s = NULL;
    CHECK(gc_open(NULL, NULL, NULL, &s) == CCE_ERR_NULL_POINTER);
    CHECK(gc_open("{\"brokers\":[],\"destination\":\"x\"}", NULL, NULL, &s) ==
          CCE_ERR_INVALID_ARGUMENT);
    /* Port 1 on loopback: nothing listens, connection refused. */
    CHECK(gc_open("{\"broker\":\"127.0.0.1:1\",\"destination\":\"x\"}", NULL, NULL, &s) ==
          CCE_ERR_IO);
}

/* Polls until an event containing all of `needles` (NULL-terminated) arrives. */
static int wait_event(gc_session *s, const char **needles) {
    for (int i = 0; i < 200; i++) {
        char *j = NULL;
        cce_status st = gc_poll_event(s, 100, &j);
        if (st == CCE_ERR_TIMEOUT) continue;
        if (st != CCE_OK) return 0;
        int all = 1;
        for (const char **n = needles; *n; n++)
            if (!strstr(j, *n)) all = 0;
        cce_string_free(j);
        if (all) return 1;
    }
    return 0;
}

struct cb_state {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int not_ready_seen;
    int ready_seen;
    int closed_seen;
};

static void on_event(void *ud, const char *json) {
    struct cb_state *st = ud;
    pthread_mutex_lock(&st->lock);
    if (strstr(json, "\"state\":\"NOT_READY\"")) st->not_ready_seen++;
    if (strstr(json, "\"state\":\"READY\"")) st->ready_seen++;
    if (strstr(json, "\"event\":\"Closed\"")) st->closed_seen++;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

/* Waits (at most 10 s) until *counter is positive. */
static int wait_count(struct cb_state *st, int *counter) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&st->lock);
    int rc = 0;
    while (*counter == 0 && rc == 0) rc = pthread_cond_timedwait(&st->cond, &st->lock, &deadline);
    int ok = *counter > 0;
    pthread_mutex_unlock(&st->lock);
    return ok;
}

static void with_broker(const char *addr) {
    char cfg[512];
    char queue[64], dest[64];
    snprintf(queue, sizeof queue, "Connector-c-%d", (int)getpid());
    snprintf(dest, sizeof dest, "crm-c-%d", (int)getpid());
    snprintf(cfg, sizeof cfg, "{\"broker\":\"%s\",\"request_queue\":\"%s\",\"format\":\"text\"}",
             addr, queue);
    gc_sim *sim = NULL;
    CHECK(gc_sim_start(cfg, &sim) == CCE_OK);

    snprintf(cfg, sizeof cfg, "{\"broker\":\"%s\",\"request_queue\":\"%s\",\"destination\":\"%s\"}",
             addr, queue, dest);
    gc_session *s = NULL;
    CHECK(gc_open(cfg, NULL, NULL, &s) == CCE_OK);
    CHECK(gc_send(s, "{\"command\":\"Login\",\"agent_id\":\"1001\",\"password\":\"secret\","
                     "\"extension\":\"4001\"}") == CCE_OK);
    const char *nr[] = {"\"event\":\"State\"", "\"state\":\"NOT_READY\"", NULL};
    CHECK(wait_event(s, nr));
    CHECK(gc_send(s, "{\"command\":\"MakeReady\",\"agent_id\":\"1001\"}") == CCE_OK);
    const char *rd[] = {"\"state\":\"READY\"", NULL};
    CHECK(wait_event(s, rd));
    char *r = NULL;
    CHECK(gc_sim_control(sim, "{\"action\":\"inject_call\",\"agent_id\":\"1001\",\"from\":\"5551234\"}",
                         &r) == CCE_OK);
    CHECK(r && r[0] == '"');
    char cmd[256];
    snprintf(cmd, sizeof cmd, "{\"command\":\"AnswerCall\",\"agent_id\":\"1001\",\"dialog_id\":%s}", r);
    cce_string_free(r);
    const char *ring[] = {"\"event\":\"NewInboundCall\"", "\"ani\":\"5551234\"", NULL};
    CHECK(wait_event(s, ring));
    CHECK(gc_send(s, cmd) == CCE_OK);
    const char *talk[] = {"\"state\":\"TALKING\"", NULL};
    CHECK(wait_event(s, talk));
    /* A bad parameter is refused before sending. */
    CHECK(gc_send(s, "{\"command\":\"MakeCall\",\"agent_id\":\"1001\",\"number\":\"1|2\"}") ==
          CCE_ERR_INVALID_ARGUMENT);
    char *state = NULL;
    CHECK(gc_state(s, &state) == CCE_OK);
    CHECK(state && strstr(state, "\"gc\":\"InService\""));
    cce_string_free(state);
    CHECK(gc_close(s) == CCE_OK);
    CHECK(gc_close(s) == CCE_ERR_INVALID_HANDLE);

    /* Callback mode: a second agent. */
    struct cb_state st = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};
    gc_session *c = NULL;
    snprintf(cfg, sizeof cfg, "{\"broker\":\"%s\",\"request_queue\":\"%s\",\"destination\":\"%s-cb\"}",
             addr, queue, dest);
    CHECK(gc_open(cfg, on_event, &st, &c) == CCE_OK);
    CHECK(gc_poll_event(c, 10, &r) == CCE_ERR_INVALID_ARGUMENT);
    CHECK(gc_send(c, "{\"command\":\"Login\",\"agent_id\":\"1002\",\"password\":\"secret\","
                     "\"extension\":\"4002\"}") == CCE_OK);
    CHECK(wait_count(&st, &st.not_ready_seen));
    CHECK(gc_send(c, "{\"command\":\"MakeReady\",\"agent_id\":\"1002\"}") == CCE_OK);
    CHECK(wait_count(&st, &st.ready_seen));
    CHECK(gc_close(c) == CCE_OK);
    CHECK(st.closed_seen == 1);
    CHECK(gc_sim_stop(sim) == CCE_OK);
    CHECK(gc_sim_stop(sim) == CCE_ERR_INVALID_HANDLE);
}

/* STOMP over TLS to the broker's TLS connector; the simulator stays on the plain one. */
static void with_tls_broker(const char *addr, const char *tls_addr, const char *ca) {
    char cfg[1024];
    char queue[64];
    snprintf(queue, sizeof queue, "Connector-ctls-%d", (int)getpid());
    snprintf(cfg, sizeof cfg, "{\"broker\":\"%s\",\"request_queue\":\"%s\"}", addr, queue);
    gc_sim *sim = NULL;
    CHECK(gc_sim_start(cfg, &sim) == CCE_OK);
    snprintf(cfg, sizeof cfg,
             "{\"broker\":\"%s\",\"request_queue\":\"%s\",\"destination\":\"crm-ctls-%d\","
             "\"tls\":{\"ca_file\":\"%s\"}}",
             tls_addr, queue, (int)getpid(), ca);
    gc_session *s = NULL;
    CHECK(gc_open(cfg, NULL, NULL, &s) == CCE_OK);
    CHECK(gc_send(s, "{\"command\":\"Login\",\"agent_id\":\"1001\",\"password\":\"secret\","
                     "\"extension\":\"4001\"}") == CCE_OK);
    const char *nr[] = {"\"event\":\"State\"", "\"state\":\"NOT_READY\"", NULL};
    CHECK(wait_event(s, nr));
    CHECK(gc_close(s) == CCE_OK);
    /* The system roots do not know the test CA. */
    snprintf(cfg, sizeof cfg, "{\"broker\":\"%s\",\"destination\":\"crm-ctls-x\",\"tls\":{}}",
             tls_addr);
    s = NULL;
    CHECK(gc_open(cfg, NULL, NULL, &s) == CCE_ERR_CERTIFICATE_INVALID);
    CHECK(cce_last_error_code() == CCE_CERT_UNKNOWN_ISSUER);
    CHECK(gc_sim_stop(sim) == CCE_OK);
}

int main(void) {
    offline();
    const char *addr = getenv("CCE_STOMP_ADDR");
    if (addr && *addr) {
        with_broker(addr);
        const char *tls_addr = getenv("CCE_STOMP_TLS_ADDR");
        const char *ca = getenv("CCE_STOMP_TLS_CA");
        CHECK(tls_addr && *tls_addr && ca && *ca);
        if (tls_addr && ca) with_tls_broker(addr, tls_addr, ca);
    } else if (getenv("CCE_REQUIRE_BROKER")) {
        fprintf(stderr, "CCE_REQUIRE_BROKER is set but CCE_STOMP_ADDR is not\n");
        return 1;
    } else {
        printf("test_gc: SKIPPED the broker part (CCE_STOMP_ADDR not set; run make test-gc)\n");
    }
    printf("test_gc: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
