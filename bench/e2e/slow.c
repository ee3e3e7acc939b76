/*
 * A slow consumer under an endless event stream.
 *
 *   slow PORT SECONDS POLICY      POLICY: block | close (the session's "overrun")
 *
 * Opens a session with a callback that sleeps SLOW_MS per event against the
 * blaster's endless mode ("blast:0"), with the default event queue bounds and
 * close_timeout_ms 2000. Samples VmRSS once a second for SECONDS seconds (with
 * "close", until cti_state reports the session closed), then reads cti_queue_stats
 * and times cti_close. With "block" the callback is still sleeping during the close
 * (the close bound is the point); with "close" it stops sleeping first, so that the
 * SESSION_CLOSED event and its reason reach it. Prints one JSON object:
 *   rss_base_kb, rss_max_kb, rss_growth_kb, rss_samples_kb [...], delivered,
 *   queue_stats {...}, close_ms, close_status, closed_reason
 */
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>

#define SLOW_MS 10
#define CLOSE_TIMEOUT_MS 2000
#define MAX_SAMPLES 600

static atomic_int fast;
static atomic_ulong delivered;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char closed_reason[64];
static int got_closed;

static void on_event(void *ud, uint32_t type, const char *json) {
  (void)ud;
  if (type == 0) {
    const char *p = strstr(json, "\"reason\":\"");
    pthread_mutex_lock(&mu);
    if (strstr(json, "SESSION_CLOSED")) {
      got_closed = 1;
      if (p) {
        p += strlen("\"reason\":\"");
        size_t i = 0;
        while (p[i] && p[i] != '"' && i + 1 < sizeof closed_reason) {
          closed_reason[i] = p[i];
          i++;
        }
        closed_reason[i] = 0;
      }
      pthread_cond_signal(&cv);
    }
    pthread_mutex_unlock(&mu);
    return;
  }
  atomic_fetch_add(&delivered, 1);
  if (!atomic_load(&fast)) {
    struct timespec ts = {0, SLOW_MS * 1000000L};
    nanosleep(&ts, NULL);
  }
}

static int session_closed(cti_session *s) {
  char *json = NULL;
  if (cti_state(s, &json) != CCE_OK) return 0;
  int closed = strstr(json, "\"closed\":true") != NULL;
  cce_string_free(json);
  return closed;
}

int main(int argc, char **argv) {
  if (argc != 4) die("usage: slow PORT SECONDS block|close");
  int port = atoi(argv[1]);
  int seconds = atoi(argv[2]);
  const char *policy = argv[3];
  if (seconds < 1 || seconds > MAX_SAMPLES) die("SECONDS must be 1..%d", MAX_SAMPLES);
  if (strcmp(policy, "block") != 0 && strcmp(policy, "close") != 0) die("POLICY must be block or close");

  char extra[128], cfg[512];
  snprintf(extra, sizeof extra, "\"overrun\":\"%s\",\"close_timeout_ms\":%d", policy, CLOSE_TIMEOUT_MS);
  session_config(cfg, sizeof cfg, port, "blast:0", extra);
  cti_session *s = NULL;
  long rss_start = rss_kb();
  if (cti_open(cfg, on_event, NULL, &s) != CCE_OK) die("cti_open: %s", cce_last_error());
  long rss_base = rss_kb(); /* the library started, the stream just begun */

  long samples[MAX_SAMPLES];
  int ns = 0;
  long rss_max = rss_base;
  int closed_by_library = 0;
  for (int i = 0; i < seconds; i++) {
    struct timespec ts = {1, 0}; /* the sampling period */
    nanosleep(&ts, NULL);
    long r = rss_kb();
    samples[ns++] = r;
    if (r > rss_max) rss_max = r;
    if (strcmp(policy, "close") == 0 && session_closed(s)) {
      closed_by_library = 1;
      break;
    }
  }

  char *stats = NULL;
  if (cti_queue_stats(s, &stats) != CCE_OK) stats = NULL;
  if (strcmp(policy, "close") == 0) atomic_store(&fast, 1);
  uint64_t t0 = now_ns();
  cce_status st = cti_close(s);
  uint64_t t1 = now_ns();
  if (strcmp(policy, "close") == 0) {
    /* SESSION_CLOSED comes before cti_close returns; wait a bounded time all the same. */
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    pthread_mutex_lock(&mu);
    while (!got_closed && pthread_cond_timedwait(&cv, &mu, &dl) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&mu);
  }

  printf("{\"policy\":\"%s\",\"seconds\":%d,\"slow_ms_per_event\":%d,\"rss_start_kb\":%ld,\"rss_base_kb\":%ld,\"rss_max_kb\":%ld,"
         "\"rss_growth_kb\":%ld,\"rss_samples_kb\":[",
         policy, ns, SLOW_MS, rss_start, rss_base, rss_max, rss_max - rss_base);
  for (int i = 0; i < ns; i++) printf("%s%ld", i ? "," : "", samples[i]);
  pthread_mutex_lock(&mu);
  printf("],\"delivered\":%lu,\"closed_by_library\":%s,\"queue_stats\":%s,\"close_timeout_ms\":%d,"
         "\"close_ms\":%.1f,\"close_status\":%d,\"closed_reason\":\"%s\"}\n",
         atomic_load(&delivered), closed_by_library ? "true" : "false", stats ? stats : "null", CLOSE_TIMEOUT_MS,
         (double)(t1 - t0) / 1e6, (int)st, got_closed ? closed_reason : "(no SESSION_CLOSED)");
  pthread_mutex_unlock(&mu);
  if (stats) cce_string_free(stats);
  return 0;
}
