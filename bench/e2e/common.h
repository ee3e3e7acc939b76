/*
 * Helpers shared by the end-to-end benchmark programs (bench/e2e/README.md):
 * clocks, process figures from /proc, the file-descriptor limit, loopback
 * sockets, GED-188 framing and messages encoded with libcce's cce_encode.
 *
 * Every program prints its result as one JSON object on stdout (read by
 * run.py) and diagnostics on stderr; it exits non-zero when something failed.
 */
#ifndef CCE_BENCH_E2E_COMMON_H
#define CCE_BENCH_E2E_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cce.h"

/* GED-188 message types the programs use (../shared/spec/cti/messages.json). */
#define MT_FAILURE_CONF 1u
#define MT_OPEN_REQ 3u
#define MT_OPEN_CONF 4u
#define MT_HEARTBEAT_REQ 5u
#define MT_HEARTBEAT_CONF 6u
#define MT_CLOSE_REQ 7u
#define MT_CLOSE_CONF 8u
#define MT_AGENT_STATE_EVENT 30u
#define MT_QUERY_AGENT_STATE_REQ 36u
#define MT_QUERY_AGENT_STATE_CONF 37u
/* Protocol version of every session of the benchmark. */
#define BENCH_VERSION 24u
/* Largest frame body the programs accept (the protocol's own limit is lower). */
#define BENCH_MAX_BODY 65536u

static inline void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "bench-e2e: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

/* Monotonic clock in nanoseconds. */
static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A numeric field of /proc/self/status ("VmRSS:" in kB, "Threads:"), or -1. */
static inline long proc_status(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long v = -1;
  size_t n = strlen(key);
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, key, n) == 0) {
      v = strtol(line + n, NULL, 10);
      break;
    }
  }
  fclose(f);
  return v;
}

static inline long rss_kb(void) { return proc_status("VmRSS:"); }
static inline long thread_count(void) { return proc_status("Threads:"); }

/* Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft limit. */
static inline long raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  return rl.rlim_cur == RLIM_INFINITY ? (long)1 << 30 : (long)rl.rlim_cur;
}

static inline uint32_t get_be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* A message encoded by libcce (header included), in memory owned by the caller. */
typedef struct {
  uint8_t *bytes;
  size_t len;
} wire_msg;

/* Encodes `json` at BENCH_VERSION with cce_encode; dies on error. */
static inline wire_msg encode_json(const char *json) {
  uint8_t *b = NULL;
  size_t n = 0;
  if (cce_encode(json, BENCH_VERSION, &b, &n) != CCE_OK) die("cce_encode(%s): %s", json, cce_last_error());
  wire_msg m = {malloc(n), n};
  if (!m.bytes) die("out of memory");
  memcpy(m.bytes, b, n);
  cce_bytes_free(b, n);
  return m;
}

/* Sets the InvokeID (first field of every request and confirmation body). */
static inline void set_invoke_id(uint8_t *frame, uint32_t invoke) { put_be32(frame + 8, invoke); }

/* Connects a blocking TCP socket to 127.0.0.1:port with TCP_NODELAY; dies on error. */
static inline int connect_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket: %s", strerror(errno));
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) die("connect 127.0.0.1:%d: %s", port, strerror(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static inline void write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die("write: %s", strerror(errno));
    p += w;
    n -= (size_t)w;
  }
}

static inline void read_all(int fd, uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) die("read: the server closed the connection");
    if (r < 0) die("read: %s", strerror(errno));
    p += r;
    n -= (size_t)r;
  }
}

/* Reads one whole frame into buf (at least 8 + BENCH_MAX_BODY bytes); returns its type. */
static inline uint32_t read_frame(int fd, uint8_t *buf, size_t *len_out) {
  read_all(fd, buf, 8);
  uint32_t body = get_be32(buf);
  if (body > BENCH_MAX_BODY) die("frame of %u bytes", body);
  read_all(fd, buf + 8, body);
  *len_out = 8 + (size_t)body;
  return get_be32(buf + 4);
}

/* The OPEN_REQ a raw client sends; `client_id` selects the blaster's mode. */
static inline wire_msg open_req(const char *client_id) {
  char json[512];
  snprintf(json, sizeof json,
           "{\"MessageName\":\"OPEN_REQ\",\"InvokeID\":1,\"VersionNumber\":%u,\"IdleTimeout\":0,"
           "\"PeripheralID\":5000,\"ServicesRequested\":\"CTI_SERVICE_ALL_EVENTS\","
           "\"CallMsgMask\":0,\"AgentStateMask\":0,\"ConfigMsgMask\":0,"
           "\"ClientID\":\"%s\",\"ClientPassword\":\"\"}",
           BENCH_VERSION, client_id);
  return encode_json(json);
}

/* The session config a libcce client opens with (`extra` is appended inside the object). */
static inline void session_config(char *out, size_t cap, int port, const char *client_id, const char *extra) {
  snprintf(out, cap,
           "{\"address\":\"127.0.0.1:%d\",\"client_id\":\"%s\",\"version\":%u,"
           "\"services\":\"CTI_SERVICE_ALL_EVENTS\",\"peripheral_id\":5000%s%s}",
           port, client_id, BENCH_VERSION, extra && *extra ? "," : "", extra ? extra : "");
}

#endif
