/*
 * Tests of the libcce C ABI against the embedded simulator. Prints one line per
 * check and ends with "N passed, N failed"; exits non-zero on any failure.
 * Synchronisation uses event waits with timeouts, never sleeps.
 */
#include <pthread.h>
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

static char *open_config(uint16_t port, int version, const char *extra) {
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"address\":\"127.0.0.1:%u\",\"client_id\":\"abi-test\",\"version\":%d,"
             "\"services\":\"CTI_SERVICE_CLIENT_EVENTS|CTI_SERVICE_CLIENT_CONTROL\","
             "\"peripheral_id\":5000%s}",
             (unsigned)port, version, extra);
    return buf;
}

static void test_null_and_invalid_handles(void) {
    cce_sim *sim = NULL;
    uint16_t port;
    EXPECT(cce_sim_start(NULL, NULL) == CCE_ERR_NULL_POINTER, "NULL out pointer");
    EXPECT(strlen(cce_last_error()) > 0, "last error is set");
    EXPECT(cce_sim_port(NULL, &port) == CCE_ERR_INVALID_HANDLE, "NULL simulator handle");
    EXPECT(cti_close(NULL) == CCE_ERR_INVALID_HANDLE, "NULL session handle");
    EXPECT(cti_send(NULL, NULL, NULL) == CCE_ERR_INVALID_HANDLE, "send on NULL session");
    EXPECT(cce_sim_start("{not json", &sim) == CCE_ERR_INVALID_ARGUMENT, "bad simulator JSON");
    EXPECT(cce_sim_start("{}", &sim) == CCE_OK, "simulator starts");
    EXPECT(strlen(cce_last_error()) == 0, "last error cleared on success");
    EXPECT(cce_sim_port(sim, NULL) == CCE_ERR_NULL_POINTER, "NULL port_out");
    EXPECT(cce_sim_stop(sim) == CCE_OK, "simulator stops");
    EXPECT(cce_sim_stop(sim) == CCE_ERR_INVALID_HANDLE, "double stop is an error");
    EXPECT(cce_sim_port(sim, &port) == CCE_ERR_INVALID_HANDLE, "stopped handle is invalid");
    cce_string_free(NULL);
    cce_bytes_free(NULL, 0);
}

static void test_codec_golden_bytes(void) {
    /* HEARTBEAT_REQ, InvokeID 7: MessageLength 4, MessageType 5. */
    static const uint8_t hb[] = {0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 7};
    uint32_t type = 0;
    char *json = NULL;
    EXPECT(cce_decode(hb, sizeof hb, 24, &type, &json) == CCE_OK, "decode HEARTBEAT_REQ");
    EXPECT(type == 5, "type 5");
    EXPECT(json && strstr(json, "\"InvokeID\":7"), "InvokeID 7 in JSON");
    cce_string_free(json);

    /* QUERY_AGENT_STATE_REQ: 16-byte fixed part (InvokeID 9, PeripheralID 5000 = 0x1388,
       MRDID 0, ICMAgentID 0) then AgentID "1001" (tag 5, 5 bytes with NUL).
       v15: 1-byte tag and length; v24: 2-byte tag and length. */
    static const uint8_t v15[] = {0, 0, 0, 23, 0, 0, 0, 36, 0, 0, 0, 9, 0, 0, 0x13, 0x88,
                                  0, 0, 0, 0, 0, 0, 0, 0, 5, 5, '1', '0', '0', '1', 0};
    static const uint8_t v24[] = {0, 0, 0, 25, 0, 0, 0, 36, 0, 0, 0, 9, 0, 0, 0x13, 0x88,
                                  0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 5, '1', '0', '0', '1', 0};
    const char *msg = "{\"MessageName\":\"QUERY_AGENT_STATE_REQ\",\"InvokeID\":9,"
                      "\"PeripheralID\":5000,\"AgentID\":\"1001\"}";
    uint8_t *bytes = NULL;
    size_t len = 0;
    EXPECT(cce_encode(msg, 15, &bytes, &len) == CCE_OK, "encode v15");
    EXPECT(len == sizeof v15 && memcmp(bytes, v15, len) == 0, "v15 bytes: 1-byte tag/length");
    cce_bytes_free(bytes, len);
    EXPECT(cce_encode(msg, 24, &bytes, &len) == CCE_OK, "encode v24");
    EXPECT(len == sizeof v24 && memcmp(bytes, v24, len) == 0, "v24 bytes: 2-byte tag/length");
    cce_bytes_free(bytes, len);

    static const uint8_t truncated[] = {0, 0, 0, 3, 0, 0, 0, 24, 1, 2, 3};
    EXPECT(cce_decode(truncated, sizeof truncated, 24, &type, &json) == CCE_ERR_CODEC,
           "short fixed part is a codec error");
    EXPECT(cce_encode("{\"MessageName\":\"NO_SUCH_MSG\"}", 24, &bytes, &len) == CCE_ERR_INVALID_ARGUMENT,
           "unknown message name");
    EXPECT(cce_last_error_kind() == CCE_ERR_INVALID_ARGUMENT, "kind of the last error");
    EXPECT(cce_last_error_code() == -1 && cce_last_error_cti_status() == -1, "no code");
    EXPECT(cce_decode(hb, sizeof hb, 24, &type, &json) == CCE_OK, "decode again");
    EXPECT(cce_last_error_kind() == CCE_OK && strcmp(cce_last_error_protocol(), "") == 0,
           "a successful call clears the last error");
    cce_string_free(json);
}

static void test_tolerant_decode(void) {
    /* LIST_AGENT_TEAM_CONF (134): InvokeID 4, NumberOfAgentTeams 0, SegmentNumber 1, More 0,
       then two TeamID fields (tag 92, UINT 11 and 12): the count disagrees. */
    static const uint8_t teams[] = {0, 0, 0, 26, 0, 0, 0, 134, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0,
                                    0, 92, 0, 4, 0, 0, 0, 11, 0, 92, 0, 4, 0, 0, 0, 12};
    /* RTP_STOPPED_EVENT (117): 20-byte fixed part (PeripheralID 5000, ConnectionCallID 7),
       ConnectionDeviceID[25] "5", ClientAddress[81] "a", SendingAddress[125] "b", and
       SendingPort[126] as the 12-byte string "16384" instead of a 4-byte UINT. */
    static const uint8_t port[] = {0, 0, 0, 54, 0, 0, 0, 117, 0, 0, 0, 0, 0, 0, 0x13, 0x88,
                                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
                                   0, 25, 0, 2, '5', 0, 0, 81, 0, 2, 'a', 0, 0, 125, 0, 2, 'b', 0,
                                   0, 126, 0, 12, '1', '6', '3', '8', '4', 0, 0, 0, 0, 0, 0, 0};
    uint32_t type = 0;
    char *json = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    EXPECT(sizeof teams == 8 + 26 && sizeof port == 8 + 54, "hand-written lengths");
    EXPECT(cce_decode(teams, sizeof teams, 24, &type, &json) == CCE_ERR_CODEC, "strict refuses the count");
    EXPECT(strstr(cce_last_error(), "NumberOfAgentTeams") != NULL, "names the count field");
    EXPECT(cce_decode_ex(teams, sizeof teams, 24, 0, &type, &json) == CCE_ERR_CODEC, "flags 0 is strict");
    EXPECT(cce_decode_ex(teams, sizeof teams, 24, 0x80, &type, &json) == CCE_ERR_INVALID_ARGUMENT,
           "unknown flags");
    EXPECT(cce_decode_ex(teams, sizeof teams, 24, CCE_DECODE_TOLERANT, &type, &json) == CCE_OK,
           "tolerant accepts the count mismatch");
    EXPECT(type == 134 && json && strstr(json, "\"NumberOfAgentTeams\":0") && strstr(json, "\"_warnings\":["),
           "count as received, with warnings");
    EXPECT(json && cce_encode(json, 24, &bytes, &len) == CCE_OK, "re-encode");
    EXPECT(len == sizeof teams && memcmp(bytes, teams, len) == 0, "byte-identical");
    cce_bytes_free(bytes, len);
    cce_string_free(json);

    EXPECT(cce_decode(port, sizeof port, 24, &type, &json) == CCE_ERR_CODEC, "strict refuses the length");
    EXPECT(cce_decode_ex(port, sizeof port, 24, CCE_DECODE_TOLERANT, &type, &json) == CCE_OK,
           "tolerant keeps the field");
    EXPECT(json && strstr(json, "\"SendingPort\":{\"_raw\":\"313633383400000000000000\"}"),
           "raw bytes under its name");
    EXPECT(json && cce_encode(json, 24, &bytes, &len) == CCE_OK, "re-encode");
    EXPECT(len == sizeof port && memcmp(bytes, port, len) == 0, "byte-identical");
    cce_bytes_free(bytes, len);
    cce_string_free(json);
}

static void test_stream_decoder(void) {
    /* Two HEARTBEAT_CONF frames (type 6, InvokeID 7 and 8) fed in awkward pieces. */
    static const uint8_t wire[] = {0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 8};
    cce_stream *st = NULL;
    uint32_t type = 0;
    char *json = NULL;
    int got = 0;
    EXPECT(cce_stream_new(24, &st) == CCE_OK, "stream created");
    for (size_t off = 0; off < sizeof wire; off += 5) {
        size_t n = sizeof wire - off < 5 ? sizeof wire - off : 5;
        EXPECT(cce_stream_push(st, wire + off, n) == CCE_OK, "push");
        for (;;) {
            EXPECT(cce_stream_next(st, &type, &json) == CCE_OK, "next");
            if (!json) break;
            got++;
            EXPECT(type == 6, "HEARTBEAT_CONF");
            EXPECT(strstr(json, got == 1 ? "\"InvokeID\":7" : "\"InvokeID\":8") != NULL, "invoke ids in order");
            cce_string_free(json);
        }
    }
    EXPECT(got == 2, "two frames");
    static const uint8_t huge[] = {0, 0x10, 0, 0, 0, 0, 0, 9};
    EXPECT(cce_stream_push(st, huge, sizeof huge) == CCE_OK, "push oversized header");
    EXPECT(cce_stream_next(st, &type, &json) == CCE_ERR_CODEC, "oversized length breaks the stream");
    EXPECT(cce_stream_next(st, &type, &json) == CCE_ERR_CODEC, "and it stays broken");
    EXPECT(cce_stream_free(st) == CCE_OK, "free");
    EXPECT(cce_stream_free(st) == CCE_ERR_INVALID_HANDLE, "double free is an error");
    EXPECT(cce_stream_new(14, &st) == CCE_ERR_INVALID_ARGUMENT, "version 14 refused");
}

static void test_refused_open(void) {
    cce_sim *sim = NULL;
    cti_session *s = NULL;
    uint16_t port = 0;
    cce_sim_start(NULL, &sim);
    cce_sim_port(sim, &port);
    EXPECT(cti_open(open_config(port, 24, ",\"agent_id\":\"9999\""), NULL, NULL, &s) == CCE_ERR_REFUSED,
           "unknown agent is refused");
    EXPECT(cce_last_error_cti_status() == 8, "status 8 = E_CTI_INVALID_AGENT_DATA");
    EXPECT(strstr(cce_last_error(), "E_CTI_INVALID_AGENT_DATA") != NULL, "status name in message");
    /* The protocol-neutral accessors say the same. */
    EXPECT(cce_last_error_kind() == CCE_ERR_REFUSED, "kind is the returned status");
    EXPECT(strcmp(cce_last_error_protocol(), "cti") == 0, "protocol cti");
    EXPECT(cce_last_error_code() == 8, "code 8");
    EXPECT(strcmp(cce_last_error_code_name(), "E_CTI_INVALID_AGENT_DATA") == 0, "code name");
    EXPECT(cti_open(open_config(port, 14, ",\"agent_id\":\"1001\""), NULL, NULL, &s) == CCE_ERR_INVALID_ARGUMENT,
           "version 14 is not supported");
    cce_sim_stop(sim);
}

/* Pull mode: wait for a message type, collecting nothing else. */
static int poll_until(cti_session *s, uint32_t want, const char *must_contain) {
    for (int i = 0; i < 50; i++) {
        uint32_t type = 0;
        char *json = NULL;
        cce_status st = cti_poll_event(s, 10000, &type, &json);
        if (st != CCE_OK) return 0;
        int hit = type == want && (!must_contain || strstr(json, must_contain));
        cce_string_free(json);
        if (hit) return 1;
    }
    return 0;
}

static void test_poll_session_v15_and_v24(int version) {
    cce_sim *sim = NULL;
    cti_session *s = NULL;
    uint16_t port = 0;
    uint32_t type = 0, invoke = 0;
    char *json = NULL;
    cce_sim_start(NULL, &sim);
    cce_sim_port(sim, &port);
    EXPECT(cti_open(open_config(port, version, ",\"agent_id\":\"1001\""), NULL, NULL, &s) == CCE_OK, "open");
    EXPECT(cti_request(s, "{\"MessageName\":\"SET_AGENT_STATE_REQ\",\"AgentState\":999}", 0, &type, &json) ==
               CCE_ERR_REFUSED,
           "invalid state refused");
    EXPECT(cce_last_error_cti_status() == 38, "status 38 = E_CTI_INVALID_OBJECT_STATE");
    EXPECT(cti_send(s, "{\"MessageName\":\"SET_AGENT_STATE_REQ\",\"AgentState\":\"AGENT_STATE_AVAILABLE\","
                       "\"AgentInstrument\":\"5001\"}",
                    &invoke) == CCE_OK,
           "send returns at once");
    EXPECT(invoke > 1, "invoke id assigned");
    EXPECT(poll_until(s, 39, NULL), "SET_AGENT_STATE_CONF arrives as an event");
    EXPECT(poll_until(s, 30, "AGENT_STATE_AVAILABLE"), "AGENT_STATE_EVENT follows");
    EXPECT(cti_request(s, "{\"MessageName\":\"QUERY_AGENT_STATE_REQ\",\"AgentID\":\"1001\"}", 0, &type, &json) ==
               CCE_OK,
           "query agent state");
    EXPECT(type == 37 && json && strstr(json, "\"AgentState\":3"), "QUERY_AGENT_STATE_CONF says available");
    cce_string_free(json);
    EXPECT(cce_sim_inject_call(sim, "{\"ani\":\"5551234\",\"dnis\":\"8000\",\"call_variables\":[\"acct-42\"]}", NULL) ==
               CCE_OK,
           "inject call");
    EXPECT(poll_until(s, 23, "\"CallVariable1\":\"acct-42\""), "BEGIN_CALL_EVENT with call variable");
    EXPECT(poll_until(s, 9, "\"ANI\":\"5551234\""), "CALL_DELIVERED_EVENT with ANI");
    EXPECT(poll_until(s, 10, NULL), "CALL_ESTABLISHED_EVENT");
    EXPECT(poll_until(s, 13, NULL), "CALL_CLEARED_EVENT");
    EXPECT(poll_until(s, 24, NULL), "END_CALL_EVENT");
    EXPECT(cti_close(s) == CCE_OK, "close");
    EXPECT(cti_close(s) == CCE_ERR_INVALID_HANDLE, "double close is an error");
    EXPECT(cti_poll_event(s, 0, &type, &json) == CCE_ERR_INVALID_HANDLE, "closed session is invalid");
    cce_sim_stop(sim);
}

struct cb_state {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    cti_session *self;
    int events, closed, close_status;
    char close_json[512];
};

static void on_event(void *ud, uint32_t type, const char *json) {
    struct cb_state *st = (struct cb_state *)ud;
    pthread_mutex_lock(&st->lock);
    st->events++;
    if (st->self && st->close_status < 0) st->close_status = (int)cti_close(st->self);
    if (type == 0 && strstr(json, "SESSION_CLOSED")) {
        st->closed = 1;
        snprintf(st->close_json, sizeof st->close_json, "%s", json);
    }
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

static void test_callbacks_and_heartbeat_loss(void) {
    struct cb_state st = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, -1, {0}};
    cce_sim *sim = NULL;
    cti_session *s = NULL;
    uint16_t port = 0;
    uint32_t type;
    char *json = NULL;
    uint64_t unanswered = 0;
    cce_sim_start(NULL, &sim);
    cce_sim_port(sim, &port);
    EXPECT(cti_open(open_config(port, 24, ",\"agent_id\":\"1001\",\"heartbeat_ms\":50,\"relaxed_timing\":true"),
                    on_event, &st, &s) == CCE_OK,
           "open with callback");
    pthread_mutex_lock(&st.lock);
    st.self = s;
    pthread_mutex_unlock(&st.lock);
    EXPECT(cti_poll_event(s, 0, &type, &json) == CCE_ERR_INVALID_ARGUMENT, "poll refused in callback mode");
    EXPECT(cce_sim_set_answer_heartbeats(sim, false) == CCE_OK, "stop answering heartbeats");
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&st.lock);
    while (!st.closed && pthread_cond_timedwait(&st.cond, &st.lock, &deadline) == 0) {
    }
    pthread_mutex_unlock(&st.lock);
    EXPECT(st.closed, "SESSION_CLOSED delivered to the callback");
    EXPECT(strstr(st.close_json, "HeartbeatTimeout") != NULL, "closed because of heartbeat loss");
    EXPECT(st.close_status == CCE_ERR_WOULD_DEADLOCK, "cti_close inside the callback is refused");
    EXPECT(cce_sim_unanswered_heartbeats(sim, &unanswered) == CCE_OK && unanswered == 3,
           "exactly three heartbeats went unanswered");
    EXPECT(cti_close(s) == CCE_OK || 1, "close after failure frees the handle");
    EXPECT(cti_close(s) == CCE_ERR_INVALID_HANDLE, "and only once");
    cce_sim_stop(sim);
}

/* Polls until an event whose JSON contains every needle; returns 1 if found. */
static int poll_json(cti_session *s, const char *a, const char *b) {
    for (int i = 0; i < 200; i++) {
        uint32_t type = 0;
        char *json = NULL;
        cce_status st = cti_poll_event(s, 10000, &type, &json);
        if (st != CCE_OK) return 0;
        int hit = strstr(json, a) != NULL && (b == NULL || strstr(json, b) != NULL);
        cce_string_free(json);
        if (hit) return 1;
    }
    return 0;
}

static void test_failover_model_and_helpers(void) {
    cce_sim *a = NULL, *b = NULL;
    uint16_t pa = 0, pb = 0;
    cti_session *s = NULL;
    uint32_t type = 0;
    char *json = NULL;
    char extra[256];
    EXPECT(cce_sim_start(NULL, &a) == CCE_OK && cce_sim_start(NULL, &b) == CCE_OK, "two simulators");
    cce_sim_port(a, &pa);
    cce_sim_port(b, &pb);
    snprintf(extra, sizeof extra,
             ",\"agent_id\":\"1001\",\"address_b\":\"127.0.0.1:%u\",\"expected_clients\":0,"
             "\"reconnect_time_scale\":0.001",
             (unsigned)pb);
    EXPECT(cti_open(open_config(pa, 24, extra), NULL, NULL, &s) == CCE_OK, "open a failover session");

    EXPECT(cce_cti_requests(&json) == CCE_OK && strstr(json, "\"helper\":\"make_call\"") != NULL,
           "the request catalogue lists make_call");
    cce_string_free(json);

    EXPECT(cti_call(s, "set_agent_state",
                    "{\"PeripheralID\":5000,\"AgentState\":\"AGENT_STATE_AVAILABLE\",\"AgentInstrument\":\"5001\"}",
                    0, &type, &json) == CCE_OK,
           "cti_call set_agent_state");
    EXPECT(type == 39, "SET_AGENT_STATE_CONF (39) returned");
    cce_string_free(json);
    EXPECT(cti_call(s, "SET_AGENT_STATE_REQ", "{\"PeripheralID\":5000,\"AgentState\":999}", 0, &type, &json) ==
               CCE_ERR_REFUSED,
           "an invalid state is refused with FAILURE_CONF");
    EXPECT(strstr(cce_last_error(), "E_CTI_INVALID_OBJECT_STATE") != NULL, "the status name is in the error");
    EXPECT(cce_last_error_cti_status() > 0, "the status code is available");
    EXPECT(cti_call(s, "no_such_request", NULL, 0, &type, &json) == CCE_ERR_INVALID_ARGUMENT,
           "unknown request names are argument errors");
    EXPECT(cti_call(s, NULL, NULL, 0, &type, &json) == CCE_ERR_NULL_POINTER, "NULL name");

    EXPECT(poll_json(s, "AGENT_STATE_EVENT", NULL), "agent state event arrives");
    EXPECT(cti_model(s, &json) == CCE_OK && strstr(json, "\"state_name\":\"AGENT_STATE_AVAILABLE\"") != NULL,
           "the model shows the agent available");
    cce_string_free(json);

    EXPECT(cce_sim_stop(a) == CCE_OK, "kill side A");
    EXPECT(poll_json(s, "\"Disconnected\"", "\"side\":\"A\""), "told that side A was lost");
    EXPECT(poll_json(s, "\"Connected\"", "\"side\":\"B\""), "reconnected to side B");
    EXPECT(cti_state(s, &json) == CCE_OK && strstr(json, "\"side\":\"B\"") != NULL, "state shows side B");
    cce_string_free(json);
    EXPECT(cti_call(s, "query_agent_state", "{\"AgentID\":\"1001\"}", 0, &type, &json) == CCE_OK,
           "requests go to side B");
    cce_string_free(json);
    EXPECT(cti_model(NULL, &json) == CCE_ERR_INVALID_HANDLE, "NULL session for the model");
    EXPECT(cti_close(s) == CCE_OK, "close the failover session");
    cce_sim_stop(b);
}

int main(void) {
    printf("libcce %s\n", cce_version());
    test_null_and_invalid_handles();
    test_codec_golden_bytes();
    test_tolerant_decode();
    test_stream_decoder();
    test_refused_open();
    test_poll_session_v15_and_v24(15);
    test_poll_session_v15_and_v24(24);
    test_callbacks_and_heartbeat_loss();
    test_failover_model_and_helpers();
    printf("c-abi: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
