/*
 * Many idle sessions with callbacks in one process.
 *
 *   scale PORT SESSIONS
 *
 * Raises RLIMIT_NOFILE to its hard limit (and reports a skip when that cannot hold
 * SESSIONS sockets), opens one session with a callback (the library's start-up:
 * runtime and callback threads), then the other SESSIONS - 1 one after the other
 * (cti_open blocks until OPEN_CONF) against the blaster's idle mode, and prints
 *   {"sessions":N,"open_s":..,"threads":..,"rss_per_session_kb":..,"close_s":..}
 * threads from /proc/self/status once all are open; RSS per session = the growth of
 * VmRSS after the first session / (N - 1); open_s the time to open all N.
 */
#include "common.h"

#include <stdatomic.h>

static atomic_ulong events, closed;

static void on_event(void *ud, uint32_t type, const char *json) {
  (void)ud;
  (void)json;
  if (type == 0) atomic_fetch_add(&closed, 1);
  else atomic_fetch_add(&events, 1);
}

int main(int argc, char **argv) {
  if (argc != 3) die("usage: scale PORT SESSIONS");
  int port = atoi(argv[1]);
  long n = atol(argv[2]);
  if (n < 2) die("SESSIONS must be at least 2");
  long limit = raise_nofile();
  if (limit < n + 256) {
    printf("{\"sessions\":%ld,\"skipped\":\"RLIMIT_NOFILE hard limit %ld cannot hold %ld sessions\"}\n", n, limit,
           n);
    return 0;
  }
  cti_session **s = calloc((size_t)n, sizeof *s);
  if (!s) die("out of memory");
  char cfg[512];
  session_config(cfg, sizeof cfg, port, "idle", NULL);

  long threads_before = thread_count();
  uint64_t t0 = now_ns();
  if (cti_open(cfg, on_event, NULL, &s[0]) != CCE_OK) die("cti_open 1: %s", cce_last_error());
  long rss0 = rss_kb();
  for (long i = 1; i < n; i++) {
    if (cti_open(cfg, on_event, NULL, &s[i]) != CCE_OK)
      die("cti_open %ld of %ld: %s", i + 1, n, cce_last_error());
  }
  uint64_t t1 = now_ns();
  long rss1 = rss_kb();
  long threads = thread_count();

  uint64_t t2 = now_ns();
  long close_failures = 0;
  for (long i = 0; i < n; i++)
    if (cti_close(s[i]) != CCE_OK) close_failures++;
  uint64_t t3 = now_ns();

  printf("{\"sessions\":%ld,\"open_s\":%.3f,\"threads\":%ld,\"threads_before\":%ld,\"rss_first_kb\":%ld,"
         "\"rss_all_kb\":%ld,\"rss_per_session_kb\":%.2f,\"close_s\":%.3f,\"close_failures\":%ld,"
         "\"events\":%lu,\"session_closed\":%lu}\n",
         n, (double)(t1 - t0) / 1e9, threads, threads_before, rss0, rss1, (double)(rss1 - rss0) / (double)(n - 1),
         (double)(t3 - t2) / 1e9, close_failures, atomic_load(&events), atomic_load(&closed));
  free(s);
  return 0;
}
