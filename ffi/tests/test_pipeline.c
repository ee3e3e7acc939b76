/*
 * The C ABI's event pipeline: batch polling, the event descriptor, queue figures,
 * close bounded whatever the callback does, and callbacks of many sessions on a few
 * shared threads. Runs against the embedded simulator; waits use timeouts.
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

static char *config(uint16_t port, const char *extra) {
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"address\":\"127.0.0.1:%u\",\"client_id\":\"pipeline-test\",\"version\":24,"
             "\"services\":\"CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL\","
             "\"peripheral_id\":5000,\"agent_id\":\"1001\"%s}",
             (unsigned)port, extra);
    return buf;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int thread_count(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1) break;
    if (f) fclose(f);
    return n;
}

static const char *CALL = "{\"ani\":\"5551234\",\"dnis\":\"8000\"}";

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

static void test_batch_poll_and_event_fd(void) {
    cce_sim *sim = NULL;
    cti_session *s = NULL;
    uint16_t port = 0;
    int fd = -1;
    cti_event evs[16];
    size_t n = 0;
    char *json = NULL;
    cce_sim_start(NULL, &sim);
    cce_sim_port(sim, &port);
    EXPECT(cti_open(config(port, ""), NULL, NULL, &s) == CCE_OK, "open in pull mode");
    EXPECT(cti_event_fd(s, &fd) == CCE_OK && fd >= 0, "event descriptor");
    EXPECT(make_available(s), "agent available");
    /* Take what the open produced, until the queue is empty. */
    do {
        EXPECT(cti_poll_events(s, evs, 16, 0, &n) == CCE_OK, "drain");
        cti_events_free(evs, n);
    } while (n > 0);
    struct pollfd p = {fd, POLLIN, 0};
    EXPECT(poll(&p, 1, 0) == 0, "descriptor not readable while the queue is empty");
    EXPECT(cce_sim_inject_call(sim, CALL, NULL) == CCE_OK, "inject a call");
    int saw_end = 0, batches = 0, events = 0;
    while (!saw_end && batches < 100) {
        p.revents = 0;
        if (poll(&p, 1, 10000) != 1) break;
        EXPECT(cti_poll_events(s, evs, 16, 0, &n) == CCE_OK, "poll a batch");
        batches++;
        for (size_t i = 0; i < n; i++) {
            events++;
            if (evs[i].msg_type == 24) saw_end = 1;
            EXPECT(evs[i].json != NULL && strstr(evs[i].json, "MessageName") != NULL, "event JSON");
        }
        cti_events_free(evs, n);
    }
    EXPECT(saw_end, "END_CALL_EVENT reached through the descriptor and batches");
    EXPECT(events >= 5, "the call's events arrived");
    do {
        EXPECT(cti_poll_events(s, evs, 16, 0, &n) == CCE_OK, "drain");
        cti_events_free(evs, n);
    } while (n > 0);
    p.revents = 0;
    EXPECT(poll(&p, 1, 0) == 0, "descriptor cleared once drained");
    EXPECT(cti_queue_stats(s, &json) == CCE_OK && strstr(json, "\"high_water_events\"") &&
               strstr(json, "\"dropped\":0"),
           "queue figures");
    cce_string_free(json);
    EXPECT(cti_poll_events(s, NULL, 16, 0, &n) == CCE_ERR_NULL_POINTER, "NULL array refused");
    EXPECT(cti_close(s) == CCE_OK, "close");
    EXPECT(cti_poll_events(s, evs, 16, 0, &n) == CCE_ERR_INVALID_HANDLE, "closed handle refused");
    cce_sim_stop(sim);
}

/* A callback that blocks until released. */
struct stuck {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int entered, release, late, close_returned;
};

static void on_stuck(void *ud, uint32_t type, const char *json) {
    struct stuck *st = (struct stuck *)ud;
    (void)type;
    (void)json;
    pthread_mutex_lock(&st->lock);
    if (st->close_returned) st->late++;
    st->entered++;
    pthread_cond_broadcast(&st->cond);
    while (!st->release) pthread_cond_wait(&st->cond, &st->lock);
    pthread_mutex_unlock(&st->lock);
}

static void test_close_is_bounded_whatever_the_callback_does(void) {
    struct stuck st = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0};
    cce_sim *sim = NULL;
    cti_session *s = NULL;
    uint16_t port = 0;
    cce_sim_start(NULL, &sim);
    cce_sim_port(sim, &port);
    EXPECT(cti_open(config(port, ",\"close_timeout_ms\":300"), on_stuck, &st, &s) == CCE_OK, "open");
    EXPECT(make_available(s), "agent available");
    for (int i = 0; i < 5; i++) cce_sim_inject_call(sim, CALL, NULL);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&st.lock);
    while (!st.entered && pthread_cond_timedwait(&st.cond, &st.lock, &deadline) == 0) {
    }
    pthread_mutex_unlock(&st.lock);
    EXPECT(st.entered == 1, "the callback is stuck in its first event");
    double t0 = now_s();
    cce_status rc = cti_close(s);
    double took = now_s() - t0;
    pthread_mutex_lock(&st.lock);
    st.close_returned = 1;
    st.release = 1;
    pthread_cond_broadcast(&st.cond);
    pthread_mutex_unlock(&st.lock);
    EXPECT(rc == CCE_ERR_TIMEOUT, "close reports the callback that did not return");
    EXPECT(took < 0.3 + 1.5, "close returned within the close timeout plus a little");
    cce_sim_stop(sim);
    /* Checked again at the end of the run: no callback started after close returned. */
    pthread_mutex_lock(&st.lock);
    EXPECT(st.late == 0, "no callback after close returned");
    pthread_mutex_unlock(&st.lock);
}

/* Counts events and SESSION_CLOSED per session. */
struct counter {
    pthread_mutex_t lock;
    long events, closed;
};

static void on_count(void *ud, uint32_t type, const char *json) {
    struct counter *c = (struct counter *)ud;
    pthread_mutex_lock(&c->lock);
    c->events++;
    if (type == 0 && strstr(json, "SESSION_CLOSED")) c->closed++;
    pthread_mutex_unlock(&c->lock);
}

#define SESSIONS 1000

static void test_many_sessions_few_threads(void) {
    static cti_session *sessions[SESSIONS];
    struct counter c = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    cce_sim *sim = NULL;
    uint16_t port = 0;
    cce_sim_start(NULL, &sim);
    cce_sim_port(sim, &port);
    int before = thread_count();
    int opened = 0;
    for (int i = 0; i < SESSIONS; i++)
        if (cti_open(config(port, ""), on_count, &c, &sessions[i]) == CCE_OK) opened++;
    EXPECT(opened == SESSIONS, "1000 sessions with callbacks open");
    int during = thread_count();
    printf("threads: %d before, %d with %d sessions\n", before, during, opened);
    EXPECT(during > 0 && during <= before + 8, "callbacks need no thread per session");
    int closed_ok = 0;
    for (int i = 0; i < SESSIONS; i++)
        if (sessions[i] && cti_close(sessions[i]) == CCE_OK) closed_ok++;
    EXPECT(closed_ok == opened, "every session closes");
    pthread_mutex_lock(&c.lock);
    EXPECT(c.closed == opened, "each got its SESSION_CLOSED");
    pthread_mutex_unlock(&c.lock);
    cce_sim_stop(sim);
}

int main(void) {
    EXPECT(cce_set_callback_threads(0) == CCE_ERR_INVALID_ARGUMENT, "zero callback threads refused");
    EXPECT(cce_set_callback_threads(3) == CCE_OK, "callback pool size set before first use");
    test_batch_poll_and_event_fd();
    test_close_is_bounded_whatever_the_callback_does();
    test_many_sessions_few_threads();
    EXPECT(cce_set_callback_threads(4) == CCE_ERR_INVALID_ARGUMENT, "pool size fixed once running");
    printf("test_pipeline: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
