/*
 * The handle table of the libcce C ABI: for each family (CTI, GC, ECE), a live
 * handle of one type passed where another type is expected is refused with
 * CCE_ERR_INVALID_ARGUMENT (and the handle stays usable), and closing or freeing a
 * handle twice gives CCE_ERR_INVALID_HANDLE. Also cce_status_name, and configuration
 * JSON in camelCase (as every binding accepts it).
 */
#include <stdio.h>
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

#define WRONG_TYPE(call, what) EXPECT((call) == CCE_ERR_INVALID_ARGUMENT && strstr(cce_last_error(), "not a"), what)

static void cti_family(void) {
    cce_sim *sim = NULL;
    cti_session *s = NULL;
    cce_stream *st = NULL;
    uint16_t port = 0;
    char cfg[256];
    EXPECT(cce_sim_start(NULL, &sim) == CCE_OK, "CTI simulator starts");
    EXPECT(cce_sim_port(sim, &port) == CCE_OK, "simulator port");
    snprintf(cfg, sizeof cfg, "{\"address\":\"127.0.0.1:%u\",\"client_id\":\"handles\",\"version\":24}",
             (unsigned)port);
    EXPECT(cti_open(cfg, NULL, NULL, &s) == CCE_OK, "session opens");
    EXPECT(cce_stream_new(24, &st) == CCE_OK, "stream created");

    WRONG_TYPE(cti_close((cti_session *)sim), "cti_close on a cce_sim");
    WRONG_TYPE(cti_close((cti_session *)st), "cti_close on a cce_stream");
    WRONG_TYPE(cce_sim_stop((cce_sim *)s), "cce_sim_stop on a cti_session");
    WRONG_TYPE(cce_stream_free((cce_stream *)s), "cce_stream_free on a cti_session");
    char *json = NULL;
    WRONG_TYPE(cti_state((cti_session *)sim, &json), "cti_state on a cce_sim");
    EXPECT(cce_last_error_kind() == CCE_ERR_INVALID_ARGUMENT, "kind of the wrong-type error");

    /* Refused wrong-type calls left every handle alive. */
    EXPECT(cti_state(s, &json) == CCE_OK, "session still usable");
    cce_string_free(json);
    EXPECT(cce_sim_port(sim, &port) == CCE_OK, "simulator still usable");

    EXPECT(cti_close(s) == CCE_OK, "session closes");
    EXPECT(cti_close(s) == CCE_ERR_INVALID_HANDLE, "double cti_close");
    EXPECT(cce_stream_free(st) == CCE_OK, "stream freed");
    EXPECT(cce_stream_free(st) == CCE_ERR_INVALID_HANDLE, "double cce_stream_free");
    EXPECT(cce_sim_stop(sim) == CCE_OK, "simulator stops");
    EXPECT(cce_sim_stop(sim) == CCE_ERR_INVALID_HANDLE, "double cce_sim_stop");
}

static void gc_family(void) {
    gc_sim *sim = NULL;
    gc_session *s = NULL;
    char *addr_json = NULL;
    char addr[64] = "";
    char cfg[256];
    EXPECT(gc_sim_start("{\"broker\":\"embedded\"}", &sim) == CCE_OK, "GC simulator starts");
    EXPECT(gc_sim_control(sim, "{\"action\":\"broker\"}", &addr_json) == CCE_OK, "broker address");
    const char *p = addr_json ? strstr(addr_json, "127.0.0.1:") : NULL;
    if (p) {
        size_t n = strcspn(p, "\"");
        if (n < sizeof addr) {
            memcpy(addr, p, n);
            addr[n] = 0;
        }
    }
    cce_string_free(addr_json);
    snprintf(cfg, sizeof cfg, "{\"brokers\":\"%s\",\"destination\":\"handles-test\"}", addr);
    EXPECT(gc_open(cfg, NULL, NULL, &s) == CCE_OK, "GC session opens");

    WRONG_TYPE(gc_close((gc_session *)sim), "gc_close on a gc_sim");
    WRONG_TYPE(gc_sim_stop((gc_sim *)s), "gc_sim_stop on a gc_session");
    char *json = NULL;
    WRONG_TYPE(gc_poll_event((gc_session *)sim, 0, &json), "gc_poll_event on a gc_sim");
    /* Across families too. */
    WRONG_TYPE(cti_close((cti_session *)s), "cti_close on a gc_session");
    WRONG_TYPE(gc_close((gc_session *)sim), "gc_close on a gc_sim, again");
    EXPECT(gc_state(s, &json) == CCE_OK, "GC session still usable");
    cce_string_free(json);

    EXPECT(gc_close(s) == CCE_OK, "GC session closes");
    EXPECT(gc_close(s) == CCE_ERR_INVALID_HANDLE, "double gc_close");
    EXPECT(gc_sim_stop(sim) == CCE_OK, "GC simulator stops");
    EXPECT(gc_sim_stop(sim) == CCE_ERR_INVALID_HANDLE, "double gc_sim_stop");
}

static void ece_family(void) {
    ece_sim *sim = NULL;
    ece_client *client = NULL;
    ece_webhook *hook = NULL;
    ece_chatws *ws = NULL;
    char *server_url = NULL, *chat_url = NULL;
    char cfg[512];
    EXPECT(ece_sim_start(NULL, &sim) == CCE_OK, "ECE simulator starts");
    EXPECT(ece_sim_urls(sim, &server_url, &chat_url) == CCE_OK, "simulator URLs");
    snprintf(cfg, sizeof cfg,
             "{\"server_url\":\"%s\",\"client_key\":\"sim-key\",\"client_secret\":\"sim-secret\","
             "\"entry_point_id\":1001}",
             server_url ? server_url : "");
    EXPECT(ece_client_new(cfg, &client) == CCE_OK, "client created");
    snprintf(cfg, sizeof cfg, "{\"base_url\":\"%s\"}", chat_url ? chat_url : "");
    EXPECT(ece_chatws_new(cfg, &ws) == CCE_OK, "chat ws client created");
    cce_string_free(server_url);
    cce_string_free(chat_url);
    EXPECT(ece_webhook_start("{\"auth\":{\"none\":true}}", NULL, NULL, &hook) == CCE_OK, "webhook starts");

    WRONG_TYPE(ece_client_free((ece_client *)ws), "ece_client_free on an ece_chatws");
    WRONG_TYPE(ece_chatws_free((ece_chatws *)client), "ece_chatws_free on an ece_client");
    WRONG_TYPE(ece_webhook_stop((ece_webhook *)client), "ece_webhook_stop on an ece_client");
    WRONG_TYPE(ece_sim_stop((ece_sim *)hook), "ece_sim_stop on an ece_webhook");
    uint16_t port = 0;
    WRONG_TYPE(ece_webhook_port((ece_webhook *)sim, &port), "ece_webhook_port on an ece_sim");
    WRONG_TYPE(gc_close((gc_session *)hook), "gc_close on an ece_webhook");
    EXPECT(ece_webhook_port(hook, &port) == CCE_OK && port != 0, "webhook still usable");

    EXPECT(ece_webhook_stop(hook) == CCE_OK, "webhook stops");
    EXPECT(ece_webhook_stop(hook) == CCE_ERR_INVALID_HANDLE, "double ece_webhook_stop");
    EXPECT(ece_chatws_free(ws) == CCE_OK, "chat ws freed");
    EXPECT(ece_chatws_free(ws) == CCE_ERR_INVALID_HANDLE, "double ece_chatws_free");
    EXPECT(ece_client_free(client) == CCE_OK, "client freed");
    EXPECT(ece_client_free(client) == CCE_ERR_INVALID_HANDLE, "double ece_client_free");
    EXPECT(ece_sim_stop(sim) == CCE_OK, "ECE simulator stops");
    EXPECT(ece_sim_stop(sim) == CCE_ERR_INVALID_HANDLE, "double ece_sim_stop");
}

static void status_names(void) {
    EXPECT(strcmp(cce_status_name(CCE_OK), "CCE_OK") == 0, "name of CCE_OK");
    EXPECT(strcmp(cce_status_name(CCE_ERR_TIMEOUT), "CCE_ERR_TIMEOUT") == 0, "name of CCE_ERR_TIMEOUT");
    EXPECT(strcmp(cce_status_name(CCE_ERR_NOT_FOUND), "CCE_ERR_NOT_FOUND") == 0, "name of the last status");
    EXPECT(strcmp(cce_status_name(99), "CCE_ERR_UNKNOWN") == 0, "unknown status");
    EXPECT(strcmp(cce_status_name(-1), "CCE_ERR_UNKNOWN") == 0, "negative status");
    /* Every status has its own name, and the name of what a call returned matches. */
    for (int i = 0; i <= CCE_ERR_NOT_FOUND; i++) {
        const char *a = cce_status_name(i);
        EXPECT(a && strncmp(a, "CCE_", 4) == 0 && strcmp(a, "CCE_ERR_UNKNOWN") != 0, "a known status has a name");
        for (int j = 0; j < i; j++)
            EXPECT(strcmp(a, cce_status_name(j)) != 0, "names are distinct");
    }
    EXPECT(strcmp(cce_status_name(cce_sim_stop(NULL)), "CCE_ERR_INVALID_HANDLE") == 0, "name of a returned status");
}

static int poll_until(cti_session *s, uint32_t want, const char *must_contain) {
    for (int i = 0; i < 50; i++) {
        uint32_t type = 0;
        char *json = NULL;
        if (cti_poll_event(s, 10000, &type, &json) != CCE_OK) return 0;
        int hit = type == want && (!must_contain || strstr(json, must_contain));
        cce_string_free(json);
        if (hit) return 1;
    }
    return 0;
}

static void camel_case_config(void) {
    cce_sim *sim = NULL;
    cti_session *s = NULL;
    uint16_t port = 0;
    uint32_t type = 0;
    char *json = NULL;
    char cfg[512];
    EXPECT(cce_sim_start("{\"bindB\":\"127.0.0.1:0\"}", &sim) == CCE_OK, "simulator starts from camelCase config");
    EXPECT(cce_sim_side_port(sim, "B", &port) == CCE_OK && port != 0, "bindB read as bind_b");
    EXPECT(cce_sim_port(sim, &port) == CCE_OK, "simulator port");
    snprintf(cfg, sizeof cfg,
             "{\"address\":\"127.0.0.1:%u\",\"clientId\":\"camel\",\"peripheralId\":5000,\"agentId\":\"1001\","
             "\"services\":[\"CTI_SERVICE_CLIENT_EVENTS\",\"CTI_SERVICE_CLIENT_CONTROL\"],"
             "\"agentStateMask\":[\"AGENT_LOGIN_MASK\",\"AGENT_AVAILABLE_MASK\"],\"requestTimeoutMs\":5000}",
             (unsigned)port);
    EXPECT(cti_open(cfg, NULL, NULL, &s) == CCE_OK, "camelCase session config with mask lists");
    EXPECT(cti_request(s, "{\"MessageName\":\"SET_AGENT_STATE_REQ\",\"AgentState\":\"AGENT_STATE_AVAILABLE\","
                          "\"AgentInstrument\":\"5001\"}",
                       0, &type, &json) == CCE_OK,
           "control service granted by the mask list");
    cce_string_free(json);
    EXPECT(cce_sim_inject_call(sim, "{\"ani\":\"5551234\",\"callVariables\":[\"acct-42\"],"
                                    "\"namedVariables\":{\"user.crm.id\":\"C-7\"}}",
                               NULL) == CCE_OK,
           "camelCase call with named variables as an object");
    EXPECT(poll_until(s, 23, "C-7"), "BEGIN_CALL_EVENT carries the named variable");
    EXPECT(cti_close(s) == CCE_OK, "session closes");
    snprintf(cfg, sizeof cfg, "{\"address\":\"127.0.0.1:%u\",\"clientId\":\"a\",\"client_id\":\"b\"}", (unsigned)port);
    EXPECT(cti_open(cfg, NULL, NULL, &s) == CCE_ERR_INVALID_ARGUMENT && strstr(cce_last_error(), "given twice"),
           "a key in both spellings is refused");
    EXPECT(cce_sim_stop(sim) == CCE_OK, "simulator stops");
}

int main(void) {
    status_names();
    camel_case_config();
    cti_family();
    gc_family();
    ece_family();
    printf("test_handles: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
