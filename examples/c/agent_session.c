/*
 * One agent session through libcce against the embedded CTI simulator:
 * set the agent ready, receive a scripted inbound call, print every event as one
 * JSON line, close. Events arrive on libcce's callback thread; the main thread
 * waits on a condition variable for END_CALL_EVENT (no sleeps).
 *
 * Build: cc agent_session.c -I include -L target/debug -lcce -lpthread -o agent_session
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cce.h"

struct state {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int agent_ready;
    int call_ended;
};

static void on_event(void *user_data, uint32_t msg_type, const char *json) {
    struct state *st = (struct state *)user_data;
    printf("%s\n", json);
    fflush(stdout);
    pthread_mutex_lock(&st->lock);
    if (msg_type == 30 && strstr(json, "\"AgentState_name\":\"AGENT_STATE_AVAILABLE\"")) st->agent_ready = 1;
    if (msg_type == 24) st->call_ended = 1; /* END_CALL_EVENT */
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

#define CHECK(call)                                                                  \
    do {                                                                             \
        cce_status s_ = (call);                                                      \
        if (s_ != CCE_OK) {                                                          \
            fprintf(stderr, "%s failed: %d %s\n", #call, (int)s_, cce_last_error()); \
            return 1;                                                                \
        }                                                                            \
    } while (0)

static int wait_for(struct state *st, int *flag) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    int rc = 0;
    pthread_mutex_lock(&st->lock);
    while (!*flag && rc == 0) rc = pthread_cond_timedwait(&st->cond, &st->lock, &deadline);
    pthread_mutex_unlock(&st->lock);
    return *flag ? 0 : -1;
}

int main(void) {
    struct state st = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    cce_sim *sim = NULL;
    cti_session *session = NULL;
    uint16_t port = 0;
    char config[512];
    uint32_t conf_type = 0;
    char *conf_json = NULL;

    CHECK(cce_sim_start(NULL, &sim));
    CHECK(cce_sim_port(sim, &port));
    snprintf(config, sizeof config,
             "{\"address\":\"127.0.0.1:%u\",\"client_id\":\"c-example\",\"version\":24,"
             "\"services\":\"CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL\","
             "\"peripheral_id\":5000,\"agent_id\":\"1001\"}",
             (unsigned)port);
    CHECK(cti_open(config, on_event, &st, &session));

    CHECK(cti_open_conf(session, &conf_json));
    printf("%s\n", conf_json);
    cce_string_free(conf_json);

    CHECK(cti_request(session,
                      "{\"MessageName\":\"SET_AGENT_STATE_REQ\",\"PeripheralID\":5000,"
                      "\"AgentState\":\"AGENT_STATE_AVAILABLE\",\"AgentInstrument\":\"5001\"}",
                      0, &conf_type, &conf_json));
    cce_string_free(conf_json);
    if (wait_for(&st, &st.agent_ready) != 0) {
        fprintf(stderr, "agent never became ready\n");
        return 1;
    }
    CHECK(cce_sim_inject_call(sim,
                              "{\"ani\":\"5551234\",\"dnis\":\"8000\","
                              "\"call_variables\":[\"acct-42\"],\"named_variables\":[[\"user.crm.id\",\"C-7\"]]}",
                              NULL));
    if (wait_for(&st, &st.call_ended) != 0) {
        fprintf(stderr, "call never ended\n");
        return 1;
    }
    CHECK(cti_close(session));
    CHECK(cce_sim_stop(sim));
    return 0;
}
