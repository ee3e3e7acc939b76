/*
 * CTI over TLS through the C ABI: mutual TLS to the simulator's side A, failover to a
 * TLS side B, and CCE_ERR_CERTIFICATE_INVALID / CCE_ERR_TLS_HANDSHAKE with the reason
 * for each failure class. Key material comes from $CCE_TEST_PKI, a directory made at
 * test time by `cargo run -p libcce --example test_pki` (the Makefile does it).
 * Prints failures and ends with "N passed, N failed"; waits are event waits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cce.h"

static int passed, failed;
static const char *pki;

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

/* A simulator whose side(s) speak only TLS with `server`'s certificate and require a
 * client certificate from the test CA. */
static cce_sim *start_sim(const char *server, int duplex) {
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "{%s\"tls\":{\"cert_file\":\"%s/%s.pem\",\"key_file\":\"%s/%s.key\","
             "\"client_ca_file\":\"%s/ca.pem\",\"secure_only\":true}}",
             duplex ? "\"bind_b\":\"127.0.0.1:0\"," : "", pki, server, pki, server, pki);
    cce_sim *sim = NULL;
    EXPECT(cce_sim_start(cfg, &sim) == CCE_OK, "TLS simulator starts");
    return sim;
}

static uint16_t port_of(cce_sim *sim, const char *side) {
    uint16_t p = 0;
    EXPECT(cce_sim_side_port(sim, side, &p) == CCE_OK && p != 0, "side port");
    return p;
}

/* The client's `tls` object: the test CA, and the client certificate unless `no_cert`. */
static void client_tls(char *out, size_t n, const char *ca, int no_cert, const char *extra) {
    if (no_cert) {
        snprintf(out, n, "{\"ca_file\":\"%s/%s.pem\"%s}", pki, ca, extra);
    } else {
        snprintf(out, n,
                 "{\"ca_file\":\"%s/%s.pem\",\"cert_file\":\"%s/client.pem\","
                 "\"key_file\":\"%s/client.key\"%s}",
                 pki, ca, pki, pki, extra);
    }
}

static cce_status open_session(uint16_t port, uint16_t port_b, const char *tls, cti_session **s) {
    char cfg[4096], b[64] = "";
    if (port_b) {
        snprintf(b, sizeof b, "\"address_b\":\"127.0.0.1:%u\",", port_b);
    }
    snprintf(cfg, sizeof cfg,
             "{\"address\":\"127.0.0.1:%u\",%s\"client_id\":\"c-tls\",\"peripheral_id\":5000,"
             "\"expected_clients\":0,\"reconnect_time_scale\":0.001,\"connect_timeout_ms\":5000%s%s}",
             port, b, tls ? ",\"tls\":" : "", tls ? tls : "");
    return cti_open(cfg, NULL, NULL, s);
}

static void test_mutual_tls_and_failover(void) {
    cce_sim *sim = start_sim("server", 1);
    char tls[1024];
    client_tls(tls, sizeof tls, "ca", 0, "");
    cti_session *s = NULL;
    EXPECT(open_session(port_of(sim, "A"), port_of(sim, "B"), tls, &s) == CCE_OK,
           "mutual TLS session on side A");
    char *state = NULL;
    EXPECT(cti_state(s, &state) == CCE_OK && strstr(state, "\"side\":\"A\""), "on side A");
    cce_string_free(state);

    EXPECT(cce_sim_kill_side(sim, "A") == CCE_OK, "kill side A");
    int on_b = 0;
    for (int i = 0; i < 50 && !on_b; i++) {
        uint32_t type = 0;
        char *ev = NULL;
        if (cti_poll_event(s, 10000, &type, &ev) != CCE_OK) break;
        on_b = strstr(ev, "\"state\":\"Connected\"") && strstr(ev, "\"side\":\"B\"");
        cce_string_free(ev);
    }
    EXPECT(on_b, "reconnected over TLS to side B");
    EXPECT(cti_set_tls(s, tls) == CCE_OK, "new TLS settings accepted");
    EXPECT(cti_set_tls(s, "{\"min_version\":\"1.0\"}") == CCE_ERR_INVALID_ARGUMENT,
           "bad TLS settings refused");
    EXPECT(cti_set_tls(s, NULL) == CCE_ERR_NULL_POINTER, "NULL TLS settings");
    EXPECT(cti_close(s) == CCE_OK, "close");
    EXPECT(cce_sim_stop(sim) == CCE_OK, "stop");
}

static void expect_certificate(const char *server, const char *ca, int no_cert,
                               const char *extra, int64_t reason, const char *what) {
    cce_sim *sim = start_sim(server, 0);
    char tls[1024];
    client_tls(tls, sizeof tls, ca, no_cert, extra);
    cti_session *s = NULL;
    time_t t0 = time(NULL);
    cce_status st = open_session(port_of(sim, "A"), 0, tls, &s);
    EXPECT(st == CCE_ERR_CERTIFICATE_INVALID, what);
    EXPECT(cce_last_error_code() == reason, what);
    EXPECT(strstr(cce_last_error(), "PRIVATE KEY") == NULL, "no key material in the error");
    EXPECT(time(NULL) - t0 < 10, "no hang");
    EXPECT(cce_sim_stop(sim) == CCE_OK, "stop");
}

static void test_failure_classes(void) {
    expect_certificate("server", "other_ca", 0, "", CCE_CERT_UNKNOWN_ISSUER, "wrong CA");
    expect_certificate("wrong_name", "ca", 0, "", CCE_CERT_NAME_MISMATCH, "wrong name");
    expect_certificate("server", "ca", 0, ",\"server_name\":\"cti.example\"", CCE_CERT_NAME_MISMATCH,
                       "server_name mismatch");
    expect_certificate("expired", "ca", 0, "", CCE_CERT_EXPIRED, "expired certificate");
    expect_certificate("server", "ca", 1, "", CCE_CERT_CLIENT_CERTIFICATE_REFUSED,
                       "missing client certificate");

    /* A plain client on a TLS port, and a TLS client on a plain port. */
    cce_sim *secure = start_sim("server", 0);
    cti_session *s = NULL;
    EXPECT(open_session(port_of(secure, "A"), 0, NULL, &s) == CCE_ERR_TLS_HANDSHAKE,
           "plain client to TLS server");
    EXPECT(cce_sim_stop(secure) == CCE_OK, "stop");
    cce_sim *plain = NULL;
    EXPECT(cce_sim_start("{}", &plain) == CCE_OK, "plain simulator");
    char tls[1024];
    client_tls(tls, sizeof tls, "ca", 0, "");
    EXPECT(open_session(port_of(plain, "A"), 0, tls, &s) == CCE_ERR_TLS_HANDSHAKE,
           "TLS client to plain server");
    EXPECT(cce_sim_stop(plain) == CCE_OK, "stop");
}

int main(void) {
    pki = getenv("CCE_TEST_PKI");
    if (!pki || !*pki) {
        fprintf(stderr, "test_tls: set CCE_TEST_PKI (make test-c does)\n");
        return 2;
    }
    test_mutual_tls_and_failover();
    test_failure_classes();
    printf("test_tls: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
