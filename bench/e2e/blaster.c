/*
 * The blaster: a minimal CTI server for the end-to-end benchmark.
 *
 *   blaster            listens on 127.0.0.1:<ephemeral>, prints {"port":N} on stdout
 *
 * It exits when its standard input reaches end of file (run.py holds the pipe, so
 * the blaster never outlives the driver). One thread, epoll, non-blocking sockets.
 *
 * Per connection it answers OPEN_REQ with OPEN_CONF, HEARTBEAT_REQ with
 * HEARTBEAT_CONF, QUERY_AGENT_STATE_REQ with QUERY_AGENT_STATE_CONF, CLOSE_REQ with
 * CLOSE_CONF and any other request with FAILURE_CONF, each from a message encoded
 * once at start-up (only the InvokeID is patched). The ClientID of the OPEN_REQ
 * chooses what follows the OPEN_CONF:
 *
 *   "blast:N"  N events of the stream below, as fast as the socket takes them
 *              (N = 0: without end, until the client closes or sends CLOSE_REQ);
 *   anything else: nothing (idle session; requests are still answered).
 *
 * The stream is the event part of the codec benchmark's stream (core/benches/codec.rs):
 * 320 inbound calls over 48 agents, each BEGIN_CALL_EVENT and CALL_DELIVERED_EVENT
 * with ANI, DNIS, ten CallVariables and five NamedVariables, CALL_ESTABLISHED_EVENT,
 * CALL_CLEARED_EVENT, END_CALL_EVENT and three AGENT_STATE_EVENTs with two skill
 * groups: 2,560 events, encoded with cce_encode, sent in a loop. Replies to requests
 * go out between whole events.
 */
#include "common.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>

#define CALLS 320
#define AGENTS 48
#define CHUNK (64 * 1024)

/* ---- the event stream ------------------------------------------------------- */

static uint8_t *stream;       /* the events, back to back */
static size_t stream_len;     /* bytes */
static size_t *bounds;        /* bounds[i]: offset of event i; bounds[count] = stream_len */
static size_t stream_events;  /* events in the stream */
static size_t bounds_cap;

static void append(const char *json) {
  wire_msg m = encode_json(json);
  uint8_t *grown = realloc(stream, stream_len + m.len);
  if (!grown) die("out of memory");
  stream = grown;
  memcpy(stream + stream_len, m.bytes, m.len);
  if (stream_events + 2 > bounds_cap) {
    bounds_cap = bounds_cap ? bounds_cap * 2 : 4096;
    bounds = realloc(bounds, bounds_cap * sizeof *bounds);
    if (!bounds) die("out of memory");
  }
  bounds[stream_events++] = stream_len;
  stream_len += m.len;
  bounds[stream_events] = stream_len;
  free(m.bytes);
}

static const char *call_header(char *out, size_t cap, const char *name, unsigned call_id, unsigned ext) {
  snprintf(out, cap,
           "\"MessageName\":\"%s\",\"PeripheralID\":5000,\"PeripheralType\":\"PT_ENTERPRISE_AGENT\","
           "\"ConnectionDeviceIDType\":\"CONNECTION_ID_STATIC\",\"ConnectionCallID\":%u,"
           "\"ConnectionDeviceID\":\"%u\"",
           name, call_id, ext);
  return out;
}

static void call_data(char *out, size_t cap, unsigned n, const char *ani, const char *dnis) {
  static const char *tiers[] = {"gold", "silver", "bronze"};
  snprintf(out, cap,
           "\"ANI\":\"%s\",\"DNIS\":\"%s\",\"DialedNumber\":\"%s\","
           "\"CallVariable1\":\"CUST%08u\",\"CallVariable2\":\"ACCT-%010llu\","
           "\"CallVariable3\":\"PREMIUM\",\"CallVariable4\":\"lang=en-US;seg=%u\","
           "\"CallVariable5\":\"IVR-MENU-%u-%u\",\"CallVariable6\":\"%u\","
           "\"CallVariable7\":\"callback=no\",\"CallVariable8\":\"queue=Sales_%02u\","
           "\"CallVariable9\":\"case-%06u\",\"CallVariable10\":\"http://crm.example/c/%07u\","
           "\"NamedVariable\":["
           "{\"Name\":\"user.microapp.ToExtVXML[0]\",\"Value\":\"application=CustomerGreeting;ivr.session=%08x\"},"
           "{\"Name\":\"user.microapp.FromExtVXML[0]\",\"Value\":\"menu_choice=%u;auth=ok\"},"
           "{\"Name\":\"user.cust.tier\",\"Value\":\"%s\"},"
           "{\"Name\":\"user.cust.lang\",\"Value\":\"en-US\"},"
           "{\"Name\":\"user.courtesy.cb\",\"Value\":\"{\\\"cb\\\":false,\\\"wait\\\":%u}\"}]",
           ani, dnis, dnis, 4711000 + n * 13, 9900000000ull + (unsigned long long)n * 7919, n % 7, n % 5,
           n % 3, 1700000000u + n * 60, n % 12, 123456 + n, n * 31, n * 977, n % 9, tiers[n % 3],
           30 + n % 600);
}

static void agent_state(unsigned agent, const char *state, unsigned duration) {
  char json[2048];
  snprintf(json, sizeof json,
           "{\"MessageName\":\"AGENT_STATE_EVENT\",\"PeripheralID\":5000,\"SessionID\":0,"
           "\"PeripheralType\":\"PT_ENTERPRISE_AGENT\",\"SkillGroupState\":\"%s\",\"StateDuration\":%u,"
           "\"SkillGroupNumber\":7001,\"SkillGroupID\":5201,\"AgentState\":\"%s\",\"MRDID\":1,"
           "\"AgentMode\":1,\"MaxTaskLimit\":1,\"ICMAgentID\":%u,\"AgentAvailabilityStatus\":1,"
           "\"AgentID\":\"%u\",\"AgentExtension\":\"%u\",\"AgentInstrument\":\"%u\","
           "\"FltSkillGroupNumber\":[7001,7002],\"FltSkillGroupID\":[5201,5202],"
           "\"FltSkillGroupPriority\":[0,0],\"FltSkillGroupState\":[\"%s\",\"%s\"]}",
           state, duration, state, 5000 + duration % 100, 100100 + agent, 51000 + agent, 51000 + agent, state,
           state);
  append(json);
}

static void build_stream(void) {
  char json[4096], head[512], data[2048];
  for (unsigned n = 0; n < CALLS; n++) {
    unsigned agent = n % AGENTS, ext = 51000 + agent, call_id = 16777216 + n;
    char ani[32], dnis[16];
    snprintf(ani, sizeof ani, "+1408%07u", 5550000 + n * 37 % 10000);
    snprintf(dnis, sizeof dnis, "8%03u", 100 + n % 40);
    call_data(data, sizeof data, n, ani, dnis);

    snprintf(json, sizeof json,
             "{%s,\"CallType\":\"CALLTYPE_ACD_IN\",%s,\"RouterCallKeyDay\":152234,"
             "\"RouterCallKeyCallID\":%u,\"RouterCallKeySequenceNumber\":1}",
             call_header(head, sizeof head, "BEGIN_CALL_EVENT", call_id, ext), data, call_id + 3000);
    append(json);
    for (int delivered = 1; delivered >= 0; delivered--) {
      const char *party = delivered ? "Alerting" : "Answering";
      snprintf(json, sizeof json,
               "{%s,\"LineType\":\"LINETYPE_INBOUND_ACD\",\"ServiceNumber\":%u,\"ServiceID\":%u,"
               "\"SkillGroupNumber\":%u,\"SkillGroupID\":%u,\"%sDeviceType\":\"DEVID_DEVICE_IDENTIFIER\","
               "\"CallingDeviceType\":\"DEVID_DEVICE_IDENTIFIER\",\"CalledDeviceType\":\"DEVID_DEVICE_IDENTIFIER\","
               "\"LastRedirectDeviceType\":\"DEVID_NONE\",\"LocalConnectionState\":\"%s\",\"EventCause\":\"%s\","
               "\"%sDeviceID\":\"%u\",\"CallingDeviceID\":\"%s\",\"CalledDeviceID\":\"%s\"%s%s}",
               call_header(head, sizeof head, delivered ? "CALL_DELIVERED_EVENT" : "CALL_ESTABLISHED_EVENT",
                           call_id, ext),
               6000 + call_id % 12, 5100 + call_id % 12, 7000 + call_id % 12, 5200 + call_id % 12, party,
               delivered ? "LCS_ALERTING" : "LCS_CONNECT", delivered ? "CEC_NEW_CALL" : "CEC_NONE", party, ext,
               ani, dnis, delivered ? "," : "", delivered ? data : "");
      append(json);
    }
    agent_state(agent, "AGENT_STATE_TALKING", 4 + n % 20);
    snprintf(json, sizeof json, "{%s,\"LocalConnectionState\":\"LCS_NULL\",\"EventCause\":\"CEC_NONE\"}",
             call_header(head, sizeof head, "CALL_CLEARED_EVENT", call_id, ext));
    append(json);
    snprintf(json, sizeof json, "{%s}", call_header(head, sizeof head, "END_CALL_EVENT", call_id, ext));
    append(json);
    agent_state(agent, "AGENT_STATE_WORK_READY", 60 + n % 300);
    agent_state(agent, "AGENT_STATE_AVAILABLE", 20 + n % 40);
  }
}

/* ---- replies ------------------------------------------------------------------ */

static wire_msg open_conf, heartbeat_conf, close_conf, query_conf, failure_conf;

static void build_replies(void) {
  open_conf = encode_json(
      "{\"MessageName\":\"OPEN_CONF\",\"InvokeID\":1,\"ServicesGranted\":\"CTI_SERVICE_ALL_EVENTS\","
      "\"MonitorID\":0,\"PGStatus\":0,\"ICMCentralControllerTime\":1700000000,\"PeripheralOnline\":true,"
      "\"PeripheralType\":\"PT_ENTERPRISE_AGENT\",\"AgentState\":0,\"DepartmentID\":0,"
      "\"NumPeripherals\":1,\"FltPeripheralID\":[5000]}");
  heartbeat_conf = encode_json("{\"MessageName\":\"HEARTBEAT_CONF\",\"InvokeID\":1}");
  close_conf = encode_json("{\"MessageName\":\"CLOSE_CONF\",\"InvokeID\":1}");
  query_conf = encode_json(
      "{\"MessageName\":\"QUERY_AGENT_STATE_CONF\",\"InvokeID\":1,\"AgentState\":\"AGENT_STATE_AVAILABLE\","
      "\"MRDID\":1,\"AgentMode\":1,\"MaxTaskLimit\":1,\"AgentAvailabilityStatus\":1,\"AgentID\":\"100100\","
      "\"AgentExtension\":\"51000\",\"AgentInstrument\":\"51000\",\"SkillGroupNumber\":[7001,7002],"
      "\"SkillGroupID\":[5201,5202],\"SkillGroupPriority\":[0,0],\"SkillGroupState\":[3,3]}");
  failure_conf =
      encode_json("{\"MessageName\":\"FAILURE_CONF\",\"InvokeID\":1,\"Status\":\"E_CTI_INVALID_MESSAGE_LENGTH\"}");
}

/* ---- connections ---------------------------------------------------------------- */

typedef struct {
  int fd;
  uint8_t in[4096]; /* requests are small: a larger one ends the connection */
  size_t in_len;
  uint8_t *out; /* replies waiting to be written */
  size_t out_len, out_off, out_cap;
  int blasting;        /* events are due */
  uint64_t total;      /* bytes of events to send (UINT64_MAX: no end) */
  uint64_t sent;       /* bytes of events sent */
  size_t chunk_left;   /* bytes left of the chunk being written (ends on an event) */
  int want_out;        /* EPOLLOUT registered */
} conn;

static int ep;

static void queue_reply(conn *c, const wire_msg *m, uint32_t invoke) {
  if (c->out_len + m->len > c->out_cap) {
    size_t cap = (c->out_len + m->len) * 2;
    uint8_t *grown = realloc(c->out, cap);
    if (!grown) die("out of memory");
    c->out = grown;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, m->bytes, m->len);
  set_invoke_id(c->out + c->out_len, invoke);
  c->out_len += m->len;
}

static void drop(conn *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->out);
  free(c);
}

/* Bytes of the stream up to the end of event `n` (events counted from the first, looping). */
static uint64_t events_to_bytes(uint64_t n) {
  return (n / stream_events) * (uint64_t)stream_len + bounds[n % stream_events];
}

static void start_blast(conn *c, const char *client_id) {
  if (strncmp(client_id, "blast:", 6) != 0) return;
  uint64_t n = strtoull(client_id + 6, NULL, 10);
  c->blasting = 1;
  c->total = n == 0 ? UINT64_MAX : events_to_bytes(n);
}

/* The ClientID of an OPEN_REQ (decoded by libcce into JSON), or "". */
static void client_id_of(const uint8_t *frame, size_t len, char *out, size_t cap) {
  uint32_t type = 0;
  char *json = NULL;
  out[0] = 0;
  if (cce_decode_ex(frame, len, BENCH_VERSION, CCE_DECODE_TOLERANT, &type, &json) != CCE_OK) return;
  const char *p = strstr(json, "\"ClientID\":\"");
  if (p) {
    p += strlen("\"ClientID\":\"");
    size_t i = 0;
    while (p[i] && p[i] != '"' && i + 1 < cap) {
      out[i] = p[i];
      i++;
    }
    out[i] = 0;
  }
  cce_string_free(json);
}

static void handle_frame(conn *c, const uint8_t *f, size_t len) {
  uint32_t type = get_be32(f + 4);
  uint32_t invoke = len >= 12 ? get_be32(f + 8) : 0;
  char client_id[128];
  switch (type) {
    case MT_OPEN_REQ:
      queue_reply(c, &open_conf, invoke);
      client_id_of(f, len, client_id, sizeof client_id);
      start_blast(c, client_id);
      break;
    case MT_HEARTBEAT_REQ:
      queue_reply(c, &heartbeat_conf, invoke);
      break;
    case MT_QUERY_AGENT_STATE_REQ:
      queue_reply(c, &query_conf, invoke);
      break;
    case MT_CLOSE_REQ:
      c->blasting = 0; /* after the chunk being written */
      queue_reply(c, &close_conf, invoke);
      break;
    default:
      queue_reply(c, &failure_conf, invoke);
      break;
  }
}

/* Writes what it can; returns 0 when the connection is gone. */
static int pump_out(conn *c) {
  for (;;) {
    const uint8_t *p;
    size_t n;
    int is_chunk;
    if (c->chunk_left > 0) {
      size_t pos = (size_t)(c->sent % stream_len);
      p = stream + pos;
      n = c->chunk_left;
      is_chunk = 1;
    } else if (c->out_off < c->out_len) {
      p = c->out + c->out_off;
      n = c->out_len - c->out_off;
      is_chunk = 0;
    } else if (c->blasting && c->sent < c->total) {
      /* The next chunk: up to CHUNK bytes, ending on an event, not past the loop's end. */
      size_t pos = (size_t)(c->sent % stream_len);
      size_t target = pos + CHUNK < stream_len ? pos + CHUNK : stream_len;
      size_t lo = 0, hi = stream_events; /* largest bound <= target */
      while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;
        if (bounds[mid] <= target) lo = mid;
        else hi = mid - 1;
      }
      size_t end = bounds[lo] > pos ? bounds[lo] : bounds[lo + 1];
      uint64_t left = c->total - c->sent;
      c->chunk_left = (uint64_t)(end - pos) < left ? end - pos : (size_t)left;
      continue;
    } else {
      c->out_len = c->out_off = 0;
      break;
    }
    ssize_t w = write(c->fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (w <= 0) return 0;
    if (is_chunk) {
      c->chunk_left -= (size_t)w;
      c->sent += (uint64_t)w;
    } else {
      c->out_off += (size_t)w;
    }
  }
  int pending = c->chunk_left > 0 || c->out_off < c->out_len || (c->blasting && c->sent < c->total);
  if (pending != c->want_out) {
    struct epoll_event ev = {.events = EPOLLIN | (pending ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = pending;
  }
  return 1;
}

/* Reads and answers what arrived; returns 0 when the connection is gone. */
static int pump_in(conn *c) {
  for (;;) {
    ssize_t r = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (r <= 0) return 0;
    c->in_len += (size_t)r;
    size_t off = 0;
    while (c->in_len - off >= 8) {
      uint32_t body = get_be32(c->in + off);
      if (body > sizeof c->in - 8) return 0;
      if (c->in_len - off < 8 + (size_t)body) break;
      handle_frame(c, c->in + off, 8 + (size_t)body);
      off += 8 + (size_t)body;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
  }
  return 1;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  raise_nofile();
  build_replies();
  build_stream();
  fprintf(stderr, "blaster: %zu events, %zu bytes, %.1f bytes/event\n", stream_events, stream_len,
          (double)stream_len / (double)stream_events);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 4096) != 0 ||
      getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
    die("listen: %s", strerror(errno));
  printf("{\"port\":%d,\"events_in_loop\":%zu,\"bytes_per_event\":%.1f}\n", ntohs(a.sin_port), stream_events,
         (double)stream_len / (double)stream_events);
  fflush(stdout);

  ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  int stdin_tag = 0;
  ev.data.ptr = &stdin_tag;
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);

  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == &stdin_tag) {
        char b[256];
        if (read(0, b, sizeof b) <= 0) return 0; /* the driver is gone or done */
        continue;
      }
      if (evs[i].data.ptr == NULL) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn *c = calloc(1, sizeof *c);
          if (!c) die("out of memory");
          c->fd = fd;
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      conn *c = evs[i].data.ptr;
      if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !pump_in(c)) {
        drop(c);
        continue;
      }
      if (!pump_out(c)) drop(c);
    }
  }
}
