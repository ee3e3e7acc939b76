/* An agent on the Generic Connector simulator (C), pull mode.
 *
 * Uses the STOMP broker at CCE_STOMP_ADDR=host:port if set, else the simulator's own
 * in-memory broker ("broker":"embedded"). Logs agent 1001 in, makes it ready, answers
 * one simulated call, releases it and logs out, printing every event as a JSON line.
 *
 * Build: cc gc_agent.c $(pkg-config --cflags --libs libcce) -o gc_agent
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cce.h"

#define CHECK(call)                                                                    \
    do {                                                                               \
        if ((call) != CCE_OK) {                                                        \
            fprintf(stderr, "%s failed: %s\n", #call, cce_last_error());               \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

/* Prints events until a State event of agent 1001 with `state`; exits on a timeout. */
static void wait_state(gc_session *gc, const char *state) {
    char want[64];
    snprintf(want, sizeof want, "\"state\":\"%s\"", state);
    for (;;) {
        char *json = NULL;
        cce_status st = gc_poll_event(gc, 10000, &json);
        if (st == CCE_ERR_TIMEOUT) {
            fprintf(stderr, "no %s state within 10 s\n", state);
            exit(1);
        }
        CHECK(st);
        puts(json);
        int done = strstr(json, "\"event\":\"State\"") && strstr(json, "\"agent_id\":\"1001\"") &&
                   strstr(json, want);
        cce_string_free(json);
        if (done) return;
    }
}

int main(void) {
    const char *env = getenv("CCE_STOMP_ADDR");
    char config[256], command[256], *broker = NULL, *dialog = NULL;
    gc_sim *sim = NULL;
    gc_session *gc = NULL;

    snprintf(config, sizeof config, "{\"broker\":\"%s\",\"request_queue\":\"Connector-c-example\"}",
             env && *env ? env : "embedded");
    CHECK(gc_sim_start(config, &sim));
    CHECK(gc_sim_control(sim, "{\"action\":\"broker\"}", &broker)); /* "\"host:port\"" */
    snprintf(config, sizeof config,
             "{\"broker\":%s,\"destination\":\"c-example\",\"request_queue\":\"Connector-c-example\"}",
             broker);
    cce_string_free(broker);
    CHECK(gc_open(config, NULL, NULL, &gc));

    CHECK(gc_send(gc, "{\"command\":\"Login\",\"agent_id\":\"1001\",\"password\":\"secret\","
                      "\"extension\":\"4001\"}"));
    wait_state(gc, "NOT_READY");
    CHECK(gc_send(gc, "{\"command\":\"MakeReady\",\"agent_id\":\"1001\"}"));
    wait_state(gc, "READY");
    CHECK(gc_sim_control(sim,
                         "{\"action\":\"inject_call\",\"agent_id\":\"1001\",\"from\":\"5551234\","
                         "\"call_variables\":{\"callVariable1\":\"acct-42\"}}",
                         &dialog)); /* the dialog ID as a JSON string */
    wait_state(gc, "RESERVED");
    snprintf(command, sizeof command,
             "{\"command\":\"AnswerCall\",\"agent_id\":\"1001\",\"dialog_id\":%s}", dialog);
    CHECK(gc_send(gc, command));
    wait_state(gc, "TALKING");
    snprintf(command, sizeof command,
             "{\"command\":\"ReleaseCall\",\"agent_id\":\"1001\",\"dialog_id\":%s}", dialog);
    cce_string_free(dialog);
    CHECK(gc_send(gc, command));
    wait_state(gc, "READY");
    CHECK(gc_send(gc, "{\"command\":\"Logout\",\"agent_id\":\"1001\"}"));
    wait_state(gc, "LOGOUT");

    CHECK(gc_close(gc));
    CHECK(gc_sim_stop(sim));
    return 0;
}
