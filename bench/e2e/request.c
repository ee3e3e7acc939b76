/*
 * Request round trip of the end-to-end benchmark.
 *
 *   request PORT N
 *
 * Sends N QUERY_AGENT_STATE_REQs one after the other on each of two idle sessions of
 * the blaster (ClientID "idle"), alternating between them so that both see the same
 * machine load, and times each until its QUERY_AGENT_STATE_CONF:
 *   raw  over a blocking socket (TCP_NODELAY), the request encoded once by
 *        cce_encode with its InvokeID patched, the answer read by its header;
 *   lib  through libcce: cti_request with the request as JSON, the answer as JSON.
 * 200 warm-up pairs are not counted. Prints
 *   {"raw":{"requests":N,"p50_us":..,"p99_us":..,"mean_us":..},"lib":{...}}
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

typedef struct {
  int fd;
  wire_msg req;
  uint32_t invoke;
  uint8_t buf[8 + BENCH_MAX_BODY];
} raw_client;

static void raw_open(raw_client *r, int port) {
  r->fd = connect_loopback(port);
  wire_msg open = open_req("idle");
  write_all(r->fd, open.bytes, open.len);
  free(open.bytes);
  size_t len;
  if (read_frame(r->fd, r->buf, &len) != MT_OPEN_CONF) die("raw: expected OPEN_CONF");
  r->req = encode_json(REQ_JSON);
  r->invoke = 1;
}

/* One raw round trip; returns its duration in ns. */
static uint64_t raw_once(raw_client *r) {
  size_t len;
  uint32_t invoke = ++r->invoke;
  set_invoke_id(r->req.bytes, invoke);
  uint64_t t0 = now_ns();
  write_all(r->fd, r->req.bytes, r->req.len);
  uint32_t type = read_frame(r->fd, r->buf, &len);
  uint64_t t1 = now_ns();
  if (type != MT_QUERY_AGENT_STATE_CONF || get_be32(r->buf + 8) != invoke) die("raw: unexpected answer type %u", type);
  return t1 - t0;
}

/* One cti_request round trip; returns its duration in ns. */
static uint64_t lib_once(cti_session *s) {
  uint32_t type = 0;
  char *json = NULL;
  uint64_t t0 = now_ns();
  cce_status st = cti_request(s, REQ_JSON, 0, &type, &json);
  uint64_t t1 = now_ns();
  if (st != CCE_OK) die("cti_request: %s", cce_last_error());
  if (type != MT_QUERY_AGENT_STATE_CONF) die("lib: unexpected answer type %u", type);
  cce_string_free(json);
  return t1 - t0;
}

static void report(const char *mode, uint64_t *lat, long n) {
  uint64_t sum = 0;
  for (long i = 0; i < n; i++) sum += lat[i];
  qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
  size_t p50 = (size_t)((n - 1) * 50 / 100), p99 = (size_t)((n - 1) * 99 / 100);
  printf("\"%s\":{\"requests\":%ld,\"p50_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f}", mode, n,
         (double)lat[p50] / 1e3, (double)lat[p99] / 1e3, (double)sum / (double)n / 1e3);
}

int main(int argc, char **argv) {
  if (argc != 3) die("usage: request PORT N");
  int port = atoi(argv[1]);
  long n = atol(argv[2]);
  if (n < 1) die("N must be positive");
  uint64_t *raw = calloc((size_t)n, sizeof *raw), *lib = calloc((size_t)n, sizeof *lib);
  if (!raw || !lib) die("out of memory");

  static raw_client r;
  raw_open(&r, port);
  char cfg[512];
  session_config(cfg, sizeof cfg, port, "idle", NULL);
  cti_session *s = NULL;
  if (cti_open(cfg, NULL, NULL, &s) != CCE_OK) die("cti_open: %s", cce_last_error());

  /* Alternate the two, so that both see the same machine load. */
  for (long i = -WARMUP; i < n; i++) {
    uint64_t a = raw_once(&r), b = lib_once(s);
    if (i >= 0) {
      raw[i] = a;
      lib[i] = b;
    }
  }
  cti_close(s);
  close(r.fd);

  printf("{");
  report("raw", raw, n);
  printf(",");
  report("lib", lib, n);
  printf("}\n");
  free(raw);
  free(lib);
  return 0;
}
