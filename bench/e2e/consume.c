/*
 * Event throughput consumers of the end-to-end benchmark.
 *
 *   consume MODE PORT N      MODE: raw | json | poll | typed
 *
 * Each opens one session to the blaster with ClientID "blast:N", counts the N events
 * that follow the OPEN_CONF and prints
 *   {"consumer":MODE,"events":N,"seconds":S,"events_per_s":R,"check":C}
 * where S runs from the first event to the last (R = (N - 1) / S) and C is a checksum of
 * what was read from every event (the message type and one string field), so that
 * nothing can be skipped.
 *
 *   raw    a blocking socket read into a 256 KiB buffer; events are counted by their
 *          8-byte headers and the type read from the header (the ceiling: no decoding);
 *   json   cti_open with a JSON callback: the type argument and one string field
 *          located in the JSON text (AgentID or ConnectionDeviceID);
 *   poll   cti_open without a callback and cti_poll_events batches of 256;
 *   typed  cti_open_typed (only when cce.h has it: CTI_TYPED_EVENTS_AVAILABLE):
 *          cce_event_type and cce_event_str of the same field.
 */
#include "common.h"

#include <pthread.h>

/* The wait for the last event (then the run fails). */
#define DONE_TIMEOUT_S 600

typedef struct {
  uint64_t want, got;
  uint64_t t_first, t_last;
  uint64_t check;
  int closed_early;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
} counter;

static counter C = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Counts one stream event; signals the main thread after the last. */
static inline void count_event(counter *c, uint64_t check) {
  uint64_t t = now_ns();
  if (c->got == 0) c->t_first = t;
  c->check += check;
  if (++c->got == c->want) {
    c->t_last = t;
    pthread_mutex_lock(&c->mu);
    c->done = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
  }
}

static void mark_closed(counter *c) {
  pthread_mutex_lock(&c->mu);
  if (!c->done) c->closed_early = 1;
  c->done = 1;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

static void wait_done(counter *c) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += DONE_TIMEOUT_S;
  pthread_mutex_lock(&c->mu);
  while (!c->done) {
    if (pthread_cond_timedwait(&c->cv, &c->mu, &dl) == ETIMEDOUT) {
      pthread_mutex_unlock(&c->mu);
      die("timed out after %d s with %llu of %llu events", DONE_TIMEOUT_S, (unsigned long long)c->got,
          (unsigned long long)c->want);
    }
  }
  pthread_mutex_unlock(&c->mu);
  if (c->closed_early) die("the session closed after %llu of %llu events", (unsigned long long)c->got,
                           (unsigned long long)c->want);
}

/* The field whose value every consumer reads. */
static const char *field_for(uint32_t type) {
  return type == MT_AGENT_STATE_EVENT ? "AgentID" : "ConnectionDeviceID";
}

/* The first byte and the length of a string value found in JSON text (a C host
 * without a JSON parser would do as much). */
static uint64_t json_string_check(uint32_t type, const char *json) {
  const char *key = type == MT_AGENT_STATE_EVENT ? "\"AgentID\":\"" : "\"ConnectionDeviceID\":\"";
  const char *p = strstr(json, key);
  if (!p) return 0;
  p += strlen(key);
  const char *q = strchr(p, '"');
  return (uint64_t)(unsigned char)p[0] + (uint64_t)(q ? q - p : 0);
}

static int is_stream_event(uint32_t type) { return type != 0 && type != MT_HEARTBEAT_CONF; }

/* ---- raw socket ------------------------------------------------------------------ */

static void run_raw(int port) {
  int fd = connect_loopback(port);
  char id[64];
  snprintf(id, sizeof id, "blast:%llu", (unsigned long long)C.want);
  wire_msg req = open_req(id);
  write_all(fd, req.bytes, req.len);
  static uint8_t buf[256 * 1024];
  size_t len = 0;
  int opened = 0;
  while (C.got < C.want) {
    ssize_t r = read(fd, buf + len, sizeof buf - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die("raw: connection ended after %llu events", (unsigned long long)C.got);
    len += (size_t)r;
    size_t off = 0;
    while (len - off >= 8) {
      uint32_t body = get_be32(buf + off);
      if (body > BENCH_MAX_BODY) die("raw: frame of %u bytes", body);
      if (len - off < 8 + (size_t)body) break;
      uint32_t type = get_be32(buf + off + 4);
      if (!opened) {
        if (type != MT_OPEN_CONF) die("raw: expected OPEN_CONF, got type %u", type);
        opened = 1;
      } else if (C.got < C.want) {
        count_event(&C, type + body);
      }
      off += 8 + (size_t)body;
    }
    memmove(buf, buf + off, len - off);
    len -= off;
  }
  close(fd);
}

/* ---- libcce: JSON callback -------------------------------------------------------- */

static void on_json(void *ud, uint32_t type, const char *json) {
  counter *c = ud;
  if (type == 0) {
    mark_closed(c);
    return;
  }
  if (is_stream_event(type) && c->got < c->want) count_event(c, type + json_string_check(type, json));
}

static cti_session *open_session(int port, cti_event_cb cb) {
  char id[64], cfg[512];
  snprintf(id, sizeof id, "blast:%llu", (unsigned long long)C.want);
  session_config(cfg, sizeof cfg, port, id, NULL);
  cti_session *s = NULL;
  if (cti_open(cfg, cb, &C, &s) != CCE_OK) die("cti_open: %s", cce_last_error());
  return s;
}

static void run_json(int port) {
  cti_session *s = open_session(port, on_json);
  wait_done(&C);
  cti_close(s);
}

/* ---- libcce: batch poll ------------------------------------------------------------ */

static void run_poll(int port) {
  cti_session *s = open_session(port, NULL);
  enum { BATCH = 256 };
  static cti_event evs[BATCH];
  while (C.got < C.want) {
    size_t n = 0;
    cce_status st = cti_poll_events(s, evs, BATCH, 1000, &n);
    if (st != CCE_OK) die("cti_poll_events: %s after %llu events", cce_last_error(), (unsigned long long)C.got);
    for (size_t i = 0; i < n; i++) {
      uint32_t type = evs[i].msg_type;
      if (type == 0) die("poll: the session closed after %llu events", (unsigned long long)C.got);
      if (is_stream_event(type) && C.got < C.want) count_event(&C, type + json_string_check(type, evs[i].json));
    }
    cti_events_free(evs, n);
  }
  cti_close(s);
}

/* ---- libcce: typed callback ---------------------------------------------------------- */

#ifdef CTI_TYPED_EVENTS_AVAILABLE
static void on_typed(void *ud, const cce_event *ev) {
  counter *c = ud;
  uint32_t type = cce_event_type(ev);
  if (type == 0) {
    mark_closed(c);
    return;
  }
  if (!is_stream_event(type) || c->got >= c->want) return;
  const char *p = NULL;
  size_t len = 0;
  cce_event_str(ev, field_for(type), &p, &len);
  count_event(c, type + (p && len ? (uint64_t)(unsigned char)p[0] + len : 0));
}

static void run_typed(int port) {
  char id[64], cfg[512];
  snprintf(id, sizeof id, "blast:%llu", (unsigned long long)C.want);
  session_config(cfg, sizeof cfg, port, id, NULL);
  cti_session *s = NULL;
  if (cti_open_typed(cfg, on_typed, &C, &s) != CCE_OK) die("cti_open_typed: %s", cce_last_error());
  wait_done(&C);
  cti_close(s);
}
#endif

int main(int argc, char **argv) {
  if (argc != 4) die("usage: consume raw|json|poll|typed PORT N");
  const char *mode = argv[1];
  int port = atoi(argv[2]);
  C.want = strtoull(argv[3], NULL, 10);
  if (C.want < 2) die("N must be at least 2");
  (void)field_for;
  if (strcmp(mode, "raw") == 0) run_raw(port);
  else if (strcmp(mode, "json") == 0) run_json(port);
  else if (strcmp(mode, "poll") == 0) run_poll(port);
#ifdef CTI_TYPED_EVENTS_AVAILABLE
  else if (strcmp(mode, "typed") == 0) run_typed(port);
#else
  else if (strcmp(mode, "typed") == 0) {
    printf("{\"consumer\":\"typed\",\"unavailable\":\"cce.h has no cti_open_typed\"}\n");
    return 0;
  }
#endif
  else die("unknown mode %s", mode);
  double secs = (double)(C.t_last - C.t_first) / 1e9;
  printf("{\"consumer\":\"%s\",\"events\":%llu,\"seconds\":%.6f,\"events_per_s\":%.0f,\"check\":%llu}\n", mode,
         (unsigned long long)C.want, secs, secs > 0 ? (double)(C.want - 1) / secs : 0.0,
         (unsigned long long)C.check);
  return 0;
}
