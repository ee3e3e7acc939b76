/*
 * Logging, wire trace and statistics through the C ABI: a log callback receives the
 * session's records and wire trace, no secret appears in them, cti_stats() matches
 * the exchange, and cce_metrics_text() lists the session. Prints "N passed, N failed".
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

#define SECRET "hunter2-c-secret"
#define ECE_SECRET "ece-c-secret-77"

/* Every record as "LEVEL|target|message\n", appended under a lock. */
struct collector {
    pthread_mutex_t lock;
    char *text;
    size_t len, cap;
    int records, nested_status;
};

static void on_log(cce_log_level level, const char *target, const char *message, void *user_data) {
    struct collector *c = user_data;
    pthread_mutex_lock(&c->lock);
    size_t need = strlen(target) + strlen(message) + 16;
    if (c->len + need >= c->cap) {
        size_t cap = (c->cap + need) * 2;
        char *grown = realloc(c->text, cap);
        if (grown == NULL) {
            pthread_mutex_unlock(&c->lock);
            return;
        }
        c->text = grown;
        c->cap = cap;
    }
    c->len += (size_t)snprintf(c->text + c->len, c->cap - c->len, "%d|%s|%s\n", (int)level, target, message);
    c->records++;
    if (c->records == 1) {
        /* Changing the callback from inside it would wait for itself. */
        c->nested_status = cce_set_log_callback(CCE_LOG_OFF, NULL, NULL);
    }
    pthread_mutex_unlock(&c->lock);
}

/* Counts the lines holding both a and b. */
static int count_lines(const char *text, const char *a, const char *b) {
    int n = 0;
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[8192];
        if (len < sizeof buf) {
            memcpy(buf, line, len);
            buf[len] = '\0';
            if (strstr(buf, a) != NULL && (b == NULL || strstr(buf, b) != NULL)) n++;
        }
        line = end ? end + 1 : NULL;
    }
    return n;
}

static long json_number(const char *json, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *p = strstr(json, pattern);
    return p ? strtol(p + strlen(pattern), NULL, 10) : -1;
}

int main(void) {
    static struct collector c = {.lock = PTHREAD_MUTEX_INITIALIZER};
    EXPECT(cce_set_log_callback(9, on_log, &c) == CCE_ERR_INVALID_ARGUMENT, "level out of range refused");
    EXPECT(cce_set_log_callback(CCE_LOG_INFO, on_log, &c) == CCE_OK, "log callback set");

    cce_sim *sim = NULL;
    uint16_t port = 0;
    EXPECT(cce_sim_start("{}", &sim) == CCE_OK && cce_sim_port(sim, &port) == CCE_OK, "simulator");
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "{\"address\":\"127.0.0.1:%u\",\"client_id\":\"log-test\",\"client_password\":\"" SECRET "\","
             "\"services\":\"CTI_SERVICE_CLIENT_EVENTS\",\"peripheral_id\":5000,\"agent_id\":\"1001\","
             "\"trace\":true}",
             (unsigned)port);
    cti_session *s = NULL;
    EXPECT(cti_open(cfg, NULL, NULL, &s) == CCE_OK, "session opens with trace on");
    for (int i = 0; i < 2; i++) {
        uint32_t type = 0;
        char *conf = NULL;
        EXPECT(cti_request(s, "{\"MessageName\":\"QUERY_AGENT_STATE_REQ\",\"AgentID\":\"1001\"}", 5000, &type,
                           &conf) == CCE_OK,
               "request answered");
        cce_string_free(conf);
    }

    char *stats = NULL;
    EXPECT(cti_stats(s, &stats) == CCE_OK && stats != NULL, "cti_stats");
    char *metrics = NULL;
    EXPECT(cce_metrics_text(&metrics) == CCE_OK && metrics != NULL, "cce_metrics_text");
    EXPECT(strstr(metrics, "cce_cti_requests_total{session=") != NULL &&
               strstr(metrics, "client_id=\"log-test\"} 2") != NULL,
           "metrics list the session's requests");
    cce_string_free(metrics);

    /* The ECE client warns when TLS verification is off; its secret stays out. */
    ece_client *ece = NULL;
    EXPECT(ece_client_new("{\"server_url\":\"https://ece.example.com\",\"client_key\":\"k\","
                          "\"client_secret\":\"" ECE_SECRET "\",\"entry_point_id\":1,\"verify_tls\":false}",
                          &ece) == CCE_OK,
           "ECE client without TLS verification");
    ece_client_free(ece);

    pthread_mutex_lock(&c.lock);
    const char *text = c.text ? c.text : "";
    long out = json_number(stats, "frames_out"), in = json_number(stats, "frames_in");
    EXPECT(out == 3, "three frames out: OPEN_REQ and two requests");
    EXPECT(count_lines(text, "|libcce::wire|", "\"dir\":\"out\"") == out, "one wire record per frame out");
    EXPECT(in >= 3 && count_lines(text, "|libcce::wire|", "\"dir\":\"in\"") >= in, "one wire record per frame in");
    EXPECT(json_number(stats, "requests") == 2 && json_number(stats, "opens") == 1 &&
               json_number(stats, "decode_errors") == 0,
           "stats count the exchange");
    EXPECT(count_lines(text, "\"name\":\"OPEN_REQ\"", "\"ClientPassword\":\"<redacted>\"") == 1,
           "OPEN_REQ traced with its password redacted");
    EXPECT(count_lines(text, "2|cce::ece::http|", "TLS certificate verification is OFF") == 1,
           "the TLS warning reaches the callback");
    EXPECT(strstr(text, SECRET) == NULL && strstr(text, ECE_SECRET) == NULL, "no secret in any record");
    EXPECT(c.nested_status == CCE_ERR_WOULD_DEADLOCK, "changing the callback from inside it is refused");
    int before = c.records;
    pthread_mutex_unlock(&c.lock);
    cce_string_free(stats);

    EXPECT(cce_set_log_callback(CCE_LOG_OFF, NULL, NULL) == CCE_OK, "logging off");
    EXPECT(cti_close(s) == CCE_OK, "close");
    EXPECT(cce_sim_stop(sim) == CCE_OK, "simulator stops");
    pthread_mutex_lock(&c.lock);
    EXPECT(c.records == before, "no record after the callback is removed");
    pthread_mutex_unlock(&c.lock);
    free(c.text);

    printf("test_log: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
