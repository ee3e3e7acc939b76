/*
 * Request round trip of the end-to-end benchmark.
 *
 *   request MODE PORT N      MODE: raw | lib
 *
 * Sends N QUERY_AGENT_STATE_REQs one after the other on an idle session of the
 * blaster (ClientID "idle") and times each until its QUERY_AGENT_STATE_CONF:
 *   raw  over a blocking socket (TCP_NODELAY), the request encoded once by
 *        cce_encode with its InvokeID patched, the answer read by its header;
 *   lib  through libcce: cti_request with the request as JSON, the answer as JSON.
 * 200 warm-up requests are not counted. Prints
 *   {"mode":MODE,"requests":N,"p50_us":..,"p99_us":..,"mean_us":..}
 */
#include "common.h"

#define WARMUP 200

static const char *REQ_JSON =
    "{\"MessageName\":\"QUERY_AGENT_STATE_REQ\",\"PeripheralID\":5000,\"MRDID\":1,"
    "\"AgentInstrument\":\"51000\"}";

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 4) die("usage: request raw|lib PORT N");
  const char *mode = argv[1];
  int port = atoi(argv[2]);
  long n = atol(argv[3]);
  if (n < 1) die("N must be positive");
  uint64_t *lat = calloc((size_t)n, sizeof *lat);
  if (!lat) die("out of memory");

  if (strcmp(mode, "raw") == 0) {
    int fd = connect_loopback(port);
    wire_msg open = open_req("idle");
    write_all(fd, open.bytes, open.len);
    static uint8_t buf[8 + BENCH_MAX_BODY];
    size_t len;
    if (read_frame(fd, buf, &len) != MT_OPEN_CONF) die("raw: expected OPEN_CONF");
    wire_msg req = encode_json(REQ_JSON);
    for (long i = -WARMUP; i < n; i++) {
      uint32_t invoke = (uint32_t)(i + WARMUP + 2);
      set_invoke_id(req.bytes, invoke);
      uint64_t t0 = now_ns();
      write_all(fd, req.bytes, req.len);
      uint32_t type = read_frame(fd, buf, &len);
      uint64_t t1 = now_ns();
      if (type != MT_QUERY_AGENT_STATE_CONF || get_be32(buf + 8) != invoke) die("raw: unexpected answer type %u", type);
      if (i >= 0) lat[i] = t1 - t0;
    }
    close(fd);
  } else if (strcmp(mode, "lib") == 0) {
    char cfg[512];
    session_config(cfg, sizeof cfg, port, "idle", NULL);
    cti_session *s = NULL;
    if (cti_open(cfg, NULL, NULL, &s) != CCE_OK) die("cti_open: %s", cce_last_error());
    for (long i = -WARMUP; i < n; i++) {
      uint32_t type = 0;
      char *json = NULL;
      uint64_t t0 = now_ns();
      cce_status st = cti_request(s, REQ_JSON, 0, &type, &json);
      uint64_t t1 = now_ns();
      if (st != CCE_OK) die("cti_request: %s", cce_last_error());
      if (type != MT_QUERY_AGENT_STATE_CONF) die("lib: unexpected answer type %u", type);
      cce_string_free(json);
      if (i >= 0) lat[i] = t1 - t0;
    }
    cti_close(s);
  } else {
    die("unknown mode %s", mode);
  }

  uint64_t sum = 0;
  for (long i = 0; i < n; i++) sum += lat[i];
  qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
  size_t p50 = (size_t)((n - 1) * 50 / 100), p99 = (size_t)((n - 1) * 99 / 100);
  printf("{\"mode\":\"%s\",\"requests\":%ld,\"p50_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f}\n", mode, n,
         (double)lat[p50] / 1e3, (double)lat[p99] / 1e3, (double)sum / (double)n / 1e3);
  free(lat);
  return 0;
}
