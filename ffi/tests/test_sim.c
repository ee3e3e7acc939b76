/*
 * Tests of the simulator's C ABI (cce_sim_*): duplex sides, fault rules, live calls,
 * commands and scenarios. Prints failures and ends with "N passed, N failed"; exits
 * non-zero on any failure. Waits are event waits with timeouts, never sleeps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void test_duplex_sides(void) {
    cce_sim *sim = NULL;
    uint16_t a = 0, b = 0, again = 0;
    char *out = NULL;
    EXPECT(cce_sim_start("{\"bind_b\":\"127.0.0.1:0\"}", &sim) == CCE_OK, "duplex simulator starts");
    EXPECT(cce_sim_port(sim, &a) == CCE_OK && a != 0, "side A port");
    EXPECT(cce_sim_side_port(sim, "B", &b) == CCE_OK && b != 0 && b != a, "side B port");
    EXPECT(cce_sim_side_port(sim, "C", &b) == CCE_ERR_INVALID_ARGUMENT, "bad side name");
    EXPECT(cce_sim_side_port(sim, NULL, &b) == CCE_ERR_NULL_POINTER, "NULL side");

    EXPECT(cce_sim_kill_side(sim, "A") == CCE_OK, "kill side A");
    EXPECT(cce_sim_command(sim, "{\"op\":\"status\"}", &out) == CCE_OK, "status command");
    EXPECT(out && strstr(out, "\"side_a\":{") != NULL, "status JSON");
    EXPECT(out && strstr(out, "\"Down\"") && strstr(out, "\"Active\""), "A down, B active");
    cce_string_free(out);
    EXPECT(cce_sim_restart_side(sim, "A", &again) == CCE_OK && again == a, "restart A on its port");
    EXPECT(cce_sim_restart_side(sim, "A", NULL) == CCE_ERR_INVALID_ARGUMENT, "A already runs");

    EXPECT(cce_sim_set_answer_heartbeats_on(sim, "B", false) == CCE_OK, "heartbeats off on B");
    EXPECT(cce_sim_switch_active(sim, "A") == CCE_OK, "switch to A");
    out = NULL;
    EXPECT(cce_sim_maintenance(sim, "A", &out) == CCE_OK, "maintenance handshake");
    EXPECT(out && strstr(out, "\"accepted\":true") != NULL, "accepted with no clients");
    cce_string_free(out);
    EXPECT(cce_sim_maintenance(sim, "A", NULL) == CCE_ERR_INVALID_ARGUMENT, "A is in maintenance");
    EXPECT(cce_sim_end_maintenance(sim, "A") == CCE_OK, "end maintenance");
    EXPECT(cce_sim_stop(sim) == CCE_OK, "stop");
    EXPECT(cce_sim_kill_side(sim, "A") == CCE_ERR_INVALID_HANDLE, "stopped handle");
}

static void test_faults_and_events(void) {
    cce_sim *sim = NULL;
    cce_sim_start(NULL, &sim);
    EXPECT(cce_sim_add_fault(sim, "{\"request\":\"HOLD_CALL_REQ\",\"times\":1,"
                                  "\"action\":\"failure_conf\",\"status\":\"E_CTI_INVALID_CALLID\"}") == CCE_OK,
           "failure_conf rule");
    EXPECT(cce_sim_add_fault(sim, "{\"request\":\"MAKE_CALL_REQ\",\"action\":\"control_failure\","
                                  "\"failure_code\":\"CF_RESOURCE_BUSY\",\"peripheral_error\":42}") == CCE_OK,
           "control_failure rule");
    EXPECT(cce_sim_add_fault(sim, "{\"request\":\"NOPE\",\"action\":\"drop\"}") == CCE_ERR_INVALID_ARGUMENT,
           "unknown request name");
    EXPECT(cce_sim_add_fault(sim, NULL) == CCE_ERR_NULL_POINTER, "NULL rule");
    EXPECT(cce_sim_clear_faults(sim) == CCE_OK, "clear rules");
    EXPECT(cce_sim_send_failure_event(sim, "E_CTI_CTI_SERVER_OFFLINE", NULL) == CCE_OK, "FAILURE_EVENT");
    EXPECT(cce_sim_send_failure_event(sim, "15", "A") == CCE_OK, "FAILURE_EVENT by number");
    EXPECT(cce_sim_send_failure_event(sim, "E_NOPE", NULL) == CCE_ERR_INVALID_ARGUMENT, "unknown status");
    EXPECT(cce_sim_send_malformed(sim, NULL) == CCE_OK, "malformed frame");
    EXPECT(cce_sim_close_sessions(sim, "A") == CCE_OK, "close sessions");
    EXPECT(cce_sim_send_raw(sim, NULL, 0) == CCE_OK, "empty raw write");
    EXPECT(cce_sim_send_raw(sim, NULL, 3) == CCE_ERR_NULL_POINTER, "NULL raw bytes");

    uint32_t call = 0;
    EXPECT(cce_sim_set_agent_state(sim, "1001", "AGENT_STATE_AVAILABLE", 0) == CCE_OK, "agent available");
    EXPECT(cce_sim_set_agent_state(sim, "1001", "AGENT_STATE_NOPE", 0) == CCE_ERR_INVALID_ARGUMENT, "bad state");
    EXPECT(cce_sim_offer_call(sim, "{\"ani\":\"5551234\",\"dnis\":\"8000\"}", &call) == CCE_OK && call != 0,
           "offer a call");
    EXPECT(cce_sim_answer_call(sim, call, NULL) == CCE_OK, "answer it");
    EXPECT(cce_sim_answer_call(sim, call, NULL) == CCE_ERR_REFUSED, "nothing rings any more");
    EXPECT(strstr(cce_last_error(), "CF_NO_CALL_TO_ANSWER") != NULL, "refusal names the failure");
    char *calls = NULL;
    EXPECT(cce_sim_command(sim, "{\"op\":\"status\"}", &calls) == CCE_OK && strstr(calls, "LCS_CONNECT"),
           "the call is connected");
    cce_string_free(calls);
    EXPECT(cce_sim_hangup(sim, call) == CCE_OK, "caller hangs up");
    EXPECT(cce_sim_hangup(sim, call) == CCE_ERR_INVALID_ARGUMENT, "the call is gone");
    EXPECT(cce_sim_command(sim, "{\"op\":\"nope\"}", NULL) == CCE_ERR_INVALID_ARGUMENT, "unknown command");

    char *report = NULL;
    EXPECT(cce_sim_run_scenario(sim,
                                "{\"steps\":["
                                "{\"op\":\"offer_call\",\"name\":\"c1\",\"ani\":\"1\",\"dnis\":\"2\"},"
                                "{\"after_ms\":10,\"op\":\"answer_call\",\"call\":\"c1\"},"
                                "{\"op\":\"hangup\",\"call\":\"c1\"}]}",
                                &report) == CCE_OK,
           "scenario runs");
    EXPECT(report && strstr(report, "\"steps_run\":3") && strstr(report, "\"errors\":[]"), "scenario report");
    cce_string_free(report);
    cce_sim_stop(sim);
}

int main(void) {
    test_duplex_sides();
    test_faults_and_events();
    printf("c-abi sim: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
