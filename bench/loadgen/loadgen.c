// The benchmark's and the soak's load generator: one single-threaded epoll
// process, written so that it is never the limit (it reports its own CPU so
// that every figure can say so). bench/loadgen/loadgen.ts compiles it with
// the machine's gcc, cached by the source's hash, and parses its output.
//
//   loadgen MODE --name=value ...
//
// Every mode speaks RFC 6455 as a client: a handshake with a random
// Sec-WebSocket-Key whose Sec-WebSocket-Accept it checks, masked frames with
// a fresh key each, pings answered, a close answered. Connections spread
// over --sources loopback source addresses (127.0.0.1 … 127.0.0.N), each
// bound with IP_BIND_ADDRESS_NO_PORT, so that more than one address's
// ephemeral ports (net.ipv4.ip_local_port_range) can be open at once.
//
// Modes:
//   echo       --clients --inflight --size [--warmup --duration]
//              each client keeps --inflight binary messages of --size bytes
//              in flight and sends one back for each echo; counts round trips.
//   handshake  --concurrency [--warmup --duration]
//              --concurrency at a time: connect, upgrade, send a close frame,
//              wait for the server's end; counts upgrades per second.
//   connect    --count [--concurrency --open-timeout=MS --give-up=N]
//              stdin: "warm K" opens K and closes them (prints "warm"),
//              "open" opens --count (prints "opened"), "close" closes them
//              all with 1000 (prints "closed"); EOF exits. A handshake
//              not done in --open-timeout ms (15,000) fails; after --give-up
//              failures in a row the rest are not attempted ("notAttempted").
//   listen     --count [--concurrency --publisher=1 --publish-path --size]
//              connect's commands, and every message received is a
//              broadcast: sequence number (u64 LE at 0) and send time (u64 LE
//              ns of CLOCK_MONOTONIC at 8). It records each delivery's
//              latency and counts lost, duplicated and reordered numbers per
//              connection. With --publisher=1 it also opens one connection on
//              --publish-path and, on stdin, "sync" publishes number 0 every
//              100 ms until "publish P MS" publishes 1..P, one every MS ms
//              (prints "published"). "synced" is printed once every
//              connection has seen a message; "end P" prints "result" with
//              what each connection lacked of 1..P.
//   fanout     --subscribers --size [--window=16 --rate=50 --publish-port --warmup
//              --duration]
//              the fan-out benchmark's client: --subscribers connections on
//              --path (/fanout), opened 100 at a time, then one publisher on
//              --publish-path (/publish) of --publish-port (default --port: a
//              backplane's other node). Each publish is a binary message of
//              --size bytes: its number (u64 LE at 0) and its send time (u64
//              LE ns of CLOCK_MONOTONIC at 8). 1. Sync: a publish every 50 ms
//              until one has reached every subscriber (subscribing may be
//              asynchronous). 2. Closed loop: --window publishes in flight, the
//              next sent when the oldest has reached every subscriber; over
//              --duration after --warmup, deliveries/s and CPU (the result's
//              rate and CPU figures). 3. Drain. 4. Open loop: --rate
//              publishes/s on a fixed schedule; over --duration after
//              --warmup, the latency of each delivery from send to read (p50,
//              p99, max, in ms), the time for a publish to reach its last
//              subscriber (reachAllP50, reachAllP99), deliveries/s and CPU (in
//              "extra"). Each read takes up to 1 MiB, its frames parsed in
//              place. Fails (exit 2, an "error" line) when the closed loop
//              makes no progress for 10 s, a delivery is not a --size-byte
//              binary message, or the server closes a connection.
//
// Common flags: --port, --host (127.0.0.1), --path (/echo), --sources
// (enough for the count) from --source-first (1: 127.0.0.1), --server-pid and --server-pid-N (their CPU is
// the server's), --budget (seconds before a watchdog exits).
// Output: one line per event, "<kind> <json>". CPU figures are over the
// measured window: the server's from /proc/<pid>/stat, this process's own
// from getrusage(), each core's busy share from /proc/stat.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

// ---- flags ------------------------------------------------------------------

#define MAX_FLAGS 64
static const char *flag_names[MAX_FLAGS];
static const char *flag_values[MAX_FLAGS];
static int flag_count;

static const char *flag_str(const char *name, const char *fallback) {
  for (int i = 0; i < flag_count; i++) {
    if (strcmp(flag_names[i], name) == 0) return flag_values[i];
  }
  return fallback;
}

static double flag_num(const char *name, double fallback) {
  const char *value = flag_str(name, NULL);
  return value ? atof(value) : fallback;
}

// ---- time, randomness, output ----------------------------------------------

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// CLOCK_REALTIME: the kernel's receive timestamps (SO_TIMESTAMPNS) are on it.
static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// CLOCK_MONOTONIC: fanout's send and receipt times, both taken here.
static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double clock_origin;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng_next(void) {
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return rng_state = x;
}

static void emit(const char *kind, const char *format, ...) {
  printf("%s {", kind);
  va_list args;
  va_start(args, format);
  vprintf(format, args);
  va_end(args);
  printf("}\n");
  fflush(stdout);
}

static void die(const char *message) {
  fprintf(stderr, "loadgen: %s\n", message);
  exit(2);
}

// The first distinct errors, for the report.
#define MAX_ERRORS 8
static char error_texts[MAX_ERRORS][96];
static uint64_t error_counts[MAX_ERRORS];
static int error_kinds;
static uint64_t error_total;

static void note_error(const char *what, int err) {
  char text[96];
  snprintf(text, sizeof text, "%s: %s", what, err ? strerror(err) : "failed");
  error_total++;
  for (int i = 0; i < error_kinds; i++) {
    if (strcmp(error_texts[i], text) == 0) {
      error_counts[i]++;
      return;
    }
  }
  if (error_kinds < MAX_ERRORS) {
    strcpy(error_texts[error_kinds], text);
    error_counts[error_kinds++] = 1;
  }
}

static void print_errors(void) {
  printf("\"errors\":%llu,\"errorKinds\":[", (unsigned long long)error_total);
  for (int i = 0; i < error_kinds; i++) {
    printf("%s\"%s ×%llu\"", i ? "," : "", error_texts[i], (unsigned long long)error_counts[i]);
  }
  printf("]");
}

// ---- SHA-1 and base64, for Sec-WebSocket-Accept -----------------------------

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1(const uint8_t *data, size_t len, uint8_t out[20]) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  uint8_t block[64];
  size_t total = len + 9;
  size_t blocks = (total + 63) / 64;
  for (size_t b = 0; b < blocks; b++) {
    for (int i = 0; i < 64; i++) {
      size_t at = b * 64 + i;
      if (at < len) block[i] = data[at];
      else if (at == len) block[i] = 0x80;
      else block[i] = 0;
    }
    if (b == blocks - 1) {
      uint64_t bits = (uint64_t)len * 8;
      for (int i = 0; i < 8; i++) block[63 - i] = (uint8_t)(bits >> (8 * i));
    }
    uint32_t w[80];
    for (int i = 0; i < 16; i++) {
      w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
             (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
    }
    for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
      uint32_t f, k;
      if (i < 20) f = (bb & c) | (~bb & d), k = 0x5A827999;
      else if (i < 40) f = bb ^ c ^ d, k = 0x6ED9EBA1;
      else if (i < 60) f = (bb & c) | (bb & d) | (c & d), k = 0x8F1BBCDC;
      else f = bb ^ c ^ d, k = 0xCA62C1D6;
      uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d, d = c, c = rol(bb, 30), bb = a, a = t;
    }
    h[0] += a, h[1] += bb, h[2] += c, h[3] += d, h[4] += e;
  }
  for (int i = 0; i < 5; i++) {
    out[4 * i] = h[i] >> 24, out[4 * i + 1] = h[i] >> 16;
    out[4 * i + 2] = h[i] >> 8, out[4 * i + 3] = h[i];
  }
}

static void base64(const uint8_t *in, size_t len, char *out) {
  static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) |
                 (i + 2 < len ? in[i + 2] : 0);
    out[o++] = table[v >> 18 & 63];
    out[o++] = table[v >> 12 & 63];
    out[o++] = i + 1 < len ? table[v >> 6 & 63] : '=';
    out[o++] = i + 2 < len ? table[v & 63] : '=';
  }
  out[o] = 0;
}

// ---- connections ------------------------------------------------------------

enum { M_ECHO, M_HANDSHAKE, M_CONNECT, M_LISTEN, M_FANOUT };
static int mode;
static const char *mode_name;

enum { C_FREE, C_CONNECTING, C_UPGRADING, C_OPEN, C_CLOSING };
enum { ROLE_MAIN, ROLE_WARM, ROLE_PUBLISHER };

typedef struct {
  int fd;
  uint8_t state;
  uint8_t role;
  uint8_t want_out;
  uint8_t got_any;  // listen: saw a message since open
  uint8_t ever_open;  // listen: reached OPEN once (lost counts only those)
  uint32_t gen;     // bumped by every start: an event for a reused slot is told apart
  float started;    // connect/listen: when the connect began (ms, for --open-timeout)
  char key[25];
  uint8_t *rbuf;  // unparsed bytes (a partial head or frame)
  uint32_t rlen;
  uint8_t *wbuf;  // bytes not yet written
  uint32_t wlen, wcap, woff;
  // listen: the highest number seen + 1, a bitmap of the 64 below it, and
  // how many distinct numbers arrived.
  uint64_t high, window, unique;
} Conn;

static int epfd;
static Conn *conns;
static int conn_cap;
static int port;
static int publish_port;  // the publisher's: --publish-port, else --port
static const char *host;
static const char *path;
static int sources;
static int source_first;
static int next_source;
static uint8_t *readbuf;
#define READBUF (1 << 20)

static uint64_t opened_total, failed_total, closed_clean, closed_by_server;

static void conn_update_events(Conn *c) {
  struct epoll_event ev = {.events = EPOLLIN | (c->want_out ? EPOLLOUT : 0), .data.u32 = 0};
  ev.data.u32 = (uint32_t)(c - conns);
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_queue(Conn *c, const void *data, size_t len) {
  if (c->wlen + len > c->wcap) {
    uint32_t cap = c->wcap ? c->wcap : 1024;
    while (cap < c->wlen + len) cap *= 2;
    c->wbuf = realloc(c->wbuf, cap);
    if (!c->wbuf) die("out of memory");
    c->wcap = cap;
  }
  memcpy(c->wbuf + c->wlen, data, len);
  c->wlen += (uint32_t)len;
}

static void conn_close(Conn *c);

// Writes what is queued; waits for EPOLLOUT when the socket is full.
static void conn_flush(Conn *c) {
  while (c->woff < c->wlen) {
    ssize_t n = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
    if (n < 0) {
      if (errno == EAGAIN) break;
      if (c->state == C_OPEN) closed_by_server++;
      note_error("write", errno);
      conn_close(c);
      return;
    }
    c->woff += (uint32_t)n;
  }
  if (c->woff == c->wlen) {
    c->woff = c->wlen = 0;
    // A big buffer from a burst is given back: 100,000 connections hold
    // nothing they do not need.
    if (c->wcap > 65536) {
      free(c->wbuf);
      c->wbuf = NULL;
      c->wcap = 0;
    }
  }
  int want = c->woff < c->wlen;
  if (want != c->want_out) {
    c->want_out = (uint8_t)want;
    conn_update_events(c);
  }
}

// A masked client frame, with a fresh masking key.
static void conn_send_frame(Conn *c, int opcode, const uint8_t *payload, size_t len) {
  uint8_t head[14];
  size_t h = 0;
  head[h++] = (uint8_t)(0x80 | opcode);
  if (len < 126) {
    head[h++] = (uint8_t)(0x80 | len);
  } else if (len < 65536) {
    head[h++] = 0x80 | 126;
    head[h++] = (uint8_t)(len >> 8), head[h++] = (uint8_t)len;
  } else {
    head[h++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--) head[h++] = (uint8_t)((uint64_t)len >> (8 * i));
  }
  uint32_t key = (uint32_t)rng_next();
  memcpy(head + h, &key, 4);
  h += 4;
  conn_queue(c, head, h);
  uint8_t *out = c->wbuf + c->wlen;
  if (c->wlen + len > c->wcap) {
    conn_queue(c, payload, len);  // grows the buffer, then masks in place
    out = c->wbuf + c->wlen - len;
  } else {
    memcpy(out, payload, len);
    c->wlen += (uint32_t)len;
  }
  uint8_t k[4];
  memcpy(k, &key, 4);
  uint64_t k8;
  memcpy(&k8, (uint8_t[8]){k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3]}, 8);
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t v;
    memcpy(&v, out + i, 8);
    v ^= k8;
    memcpy(out + i, &v, 8);
  }
  for (; i < len; i++) out[i] ^= k[i & 3];
}

static void conn_release(Conn *c) {
  free(c->rbuf);
  free(c->wbuf);
  c->rbuf = c->wbuf = NULL;
  c->rlen = c->wlen = c->wcap = c->woff = 0;
  c->want_out = 0;
}

static void mode_on_closed(Conn *c, int was_open);
static void mode_on_open(Conn *c);

static void conn_close(Conn *c) {
  if (c->state == C_FREE) return;
  int was_open = c->state == C_OPEN || c->state == C_CLOSING;
  close(c->fd);
  c->fd = -1;
  c->state = C_FREE;
  conn_release(c);
  mode_on_closed(c, was_open);
}

// Starts a connection: a non-blocking connect from the next source address.
static int conn_start(Conn *c, uint8_t role) {
  uint32_t gen = c->gen + 1;
  memset(c, 0, sizeof *c);
  c->gen = gen;
  c->fd = -1;
  c->role = role;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    note_error("socket", errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  if (mode == M_LISTEN) setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  struct sockaddr_in src = {.sin_family = AF_INET, .sin_port = 0};
  src.sin_addr.s_addr = htonl(0x7f000000u + (uint32_t)(source_first + next_source++ % sources));
  if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
    note_error("bind", errno);
    close(fd);
    return -1;
  }
  int to = role == ROLE_PUBLISHER ? publish_port : port;
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)to)};
  inet_pton(AF_INET, host, &dst.sin_addr);
  if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) {
    note_error("connect", errno);
    close(fd);
    return -1;
  }
  c->fd = fd;
  c->started = (float)(now_ms() - clock_origin);
  c->state = C_CONNECTING;
  c->want_out = 1;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT};
  ev.data.u32 = (uint32_t)(c - conns);
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  return 0;
}

static void conn_send_request(Conn *c, const char *request_path) {
  uint8_t raw[16];
  for (int i = 0; i < 16; i += 8) {
    uint64_t r = rng_next();
    memcpy(raw + i, &r, 8);
  }
  base64(raw, 16, c->key);
  char request[512];
  int n = snprintf(request, sizeof request,
                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n",
                   request_path, host, c->role == ROLE_PUBLISHER ? publish_port : port, c->key);
  conn_queue(c, request, (size_t)n);
  c->state = C_UPGRADING;
}

// Checks the 101 and its Sec-WebSocket-Accept; returns the head's length,
// 0 while incomplete, -1 when refused.
static int check_upgrade(Conn *c, const uint8_t *data, size_t len) {
  const uint8_t *end = memmem(data, len, "\r\n\r\n", 4);
  if (!end) return len > 8192 ? -1 : 0;
  size_t head = (size_t)(end - data) + 4;
  if (len < 12 || memcmp(data, "HTTP/1.1 101", 12) != 0) {
    note_error("upgrade refused", 0);
    return -1;
  }
  char expected[32];
  char keyed[64];
  uint8_t digest[20];
  int k = snprintf(keyed, sizeof keyed, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", c->key);
  sha1((uint8_t *)keyed, (size_t)k, digest);
  base64(digest, 20, expected);
  const char *name = "sec-websocket-accept:";
  size_t nlen = strlen(name);
  for (size_t i = 0; i + nlen < head; i++) {
    if ((i == 0 || data[i - 1] == '\n') && strncasecmp((const char *)data + i, name, nlen) == 0) {
      size_t v = i + nlen;
      while (v < head && data[v] == ' ') v++;
      if (head - v >= 28 && memcmp(data + v, expected, 28) == 0) return (int)head;
      break;
    }
  }
  note_error("bad Sec-WebSocket-Accept", 0);
  return -1;
}

// ---- modes ------------------------------------------------------------------


// echo
static uint8_t *echo_payload;
static size_t echo_size;
static int echo_inflight;
static uint64_t echo_count, echo_wrong;
static int echo_clients, echo_open;
// handshake
static uint64_t upgrades;
static int hs_concurrency;
// connect / listen
static int target_count, concurrency, warm_left, warm_open;
static int next_to_open, opening, open_now;
static double open_started;
static int open_requested, open_reported;
static int failed_in_a_row, give_up, not_attempted;
static double stdin_cpu_mark, stdin_wall_mark;
static int close_requested;
static Conn *publisher;
static int publishing;  // 0 none, 1 sync, 2 numbered
static uint64_t publish_total, publish_sent;
static double publish_interval, next_publish;
static size_t publish_size;
static int synced_reported, got_any_count;
static uint64_t deliveries, duplicated, reordered, wrong_size;
#define BUCKETS 400
// Two latencies per delivery: to the moment the kernel queued the bytes on
// the subscriber's socket (SO_TIMESTAMPNS), which leaves out this process's
// own read loop, and to the moment this process parsed the frame.
static uint64_t histogram[BUCKETS], histogram_read[BUCKETS];
static uint64_t read_stamp;  // the last read's kernel receive time, ns (0: none)
static uint64_t kernel_stamps;

static void record_into(uint64_t *h, int64_t ns) {
  double us = ns / 1000.0;
  int k = us <= 1 ? 0 : (int)(log(us) / log(1.05));
  h[k < BUCKETS ? k : BUCKETS - 1]++;
}

static void fan_on_delivery(Conn *c, int opcode, const uint8_t *p, size_t len);
static uint64_t read_now;  // fanout: this read's receipt time (mono_ns), 0 until taken

static void on_message(Conn *c, int opcode, const uint8_t *p, size_t len) {
  if (mode == M_FANOUT) {
    if (c->role == ROLE_MAIN) fan_on_delivery(c, opcode, p, len);
    return;
  }
  if (mode == M_ECHO) {
    if (opcode != 2 || len != echo_size) echo_wrong++;
    echo_count++;
    conn_send_frame(c, 2, echo_payload, echo_size);
    return;
  }
  if (mode != M_LISTEN || c->role != ROLE_MAIN) return;
  if (!c->got_any) {
    c->got_any = 1;
    got_any_count++;
  }
  if (len < 16 || len != publish_size) {
    wrong_size++;
    return;
  }
  uint64_t seq, sent;
  memcpy(&seq, p, 8);
  memcpy(&sent, p + 8, 8);
  if (seq == 0) return;  // a sync message
  deliveries++;
  record_into(histogram_read, (int64_t)(now_ns() - sent));
  if (read_stamp) {
    kernel_stamps++;
    record_into(histogram, (int64_t)(read_stamp - sent));
  }
  if (seq >= c->high) {
    uint64_t shift = seq + 1 - c->high;
    c->window = shift >= 64 ? 0 : c->window << shift;
    c->window |= 1;  // bit 0 is seq itself (high - 1)
    c->high = seq + 1;
    c->unique++;
  } else {
    uint64_t back = c->high - 1 - seq;
    if (back < 64 && (c->window >> back & 1)) {
      duplicated++;
    } else {
      if (back < 64) c->window |= 1ull << back;
      reordered++;
      c->unique++;
    }
  }
}

// Parses what the server sent: the 101's head first, then frames.
static void conn_parse(Conn *c, uint8_t *data, size_t len) {
  size_t at = 0;
  if (c->state == C_UPGRADING) {
    int head = check_upgrade(c, data, len);
    if (head == 0) goto keep;
    if (head < 0) {
      failed_total++;
      conn_close(c);
      return;
    }
    at = (size_t)head;
    c->state = C_OPEN;
    c->ever_open = 1;
    opened_total++;
    mode_on_open(c);
    if (c->state != C_OPEN && c->state != C_CLOSING) return;
  }
  while (len - at >= 2) {
    uint8_t b0 = data[at], b1 = data[at + 1];
    size_t need = 2;
    uint64_t plen = b1 & 0x7f;
    if (plen == 126) {
      if (len - at < 4) break;
      plen = (uint64_t)data[at + 2] << 8 | data[at + 3];
      need = 4;
    } else if (plen == 127) {
      if (len - at < 10) break;
      plen = 0;
      for (int i = 0; i < 8; i++) plen = plen << 8 | data[at + 2 + i];
      need = 10;
    }
    if (len - at < need + plen) break;
    const uint8_t *p = data + at + need;
    int opcode = b0 & 0x0f;
    at += need + plen;
    if (opcode == 9) {
      conn_send_frame(c, 10, p, plen);
    } else if (opcode == 8) {
      if (c->state == C_OPEN) {
        closed_by_server++;
        conn_send_frame(c, 8, p, plen < 2 ? plen : 2);
        conn_flush(c);
      } else {
        closed_clean++;
      }
      conn_close(c);
      return;
    } else if (opcode != 10) {
      on_message(c, opcode, p, plen);
    }
  }
keep:
  if (at < len) {
    uint8_t *rest = malloc(len - at);
    if (!rest) die("out of memory");
    memcpy(rest, data + at, len - at);
    free(c->rbuf);
    c->rbuf = rest;
    c->rlen = (uint32_t)(len - at);
  } else {
    free(c->rbuf);
    c->rbuf = NULL;
    c->rlen = 0;
  }
}

static void conn_readable(Conn *c) {
  size_t have = c->rlen;
  if (have > READBUF / 2) die("a frame larger than the read buffer");
  if (have) memcpy(readbuf, c->rbuf, have);
  ssize_t n;
  read_stamp = 0;
  read_now = 0;
  if (mode == M_LISTEN && c->state == C_OPEN) {
    struct iovec iov = {.iov_base = readbuf + have, .iov_len = READBUF - have};
    union {
      char buf[CMSG_SPACE(sizeof(struct timespec))];
      struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    n = recvmsg(c->fd, &msg, 0);
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); n > 0 && cm; cm = CMSG_NXTHDR(&msg, cm)) {
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(cm), sizeof ts);
        read_stamp = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
      }
    }
  } else {
    n = read(c->fd, readbuf + have, READBUF - have);
  }
  if (n <= 0) {
    if (n < 0 && errno == EAGAIN) return;
    if (c->state == C_UPGRADING || c->state == C_CONNECTING) {
      failed_total++;
      note_error(n == 0 ? "closed before the 101" : "read before the 101", n == 0 ? 0 : errno);
    } else if (c->state == C_OPEN) {
      closed_by_server++;
      note_error(n == 0 ? "TCP closed without a close frame" : "read", n == 0 ? 0 : errno);
    } else if (c->state == C_CLOSING) {
      closed_clean++;  // the server's end after its close frame
    }
    conn_close(c);
    return;
  }
  uint32_t gen = c->gen;
  conn_parse(c, readbuf, have + (size_t)n);
  // The slot may hold a new connection now (handshake mode reuses it at once).
  if (c->state != C_FREE && c->gen == gen) conn_flush(c);
}

static void conn_writable(Conn *c) {
  if (c->state == C_CONNECTING) {
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) {
      failed_total++;
      note_error("connect", err);
      conn_close(c);
      return;
    }
    conn_send_request(c, c->role == ROLE_PUBLISHER ? flag_str("publish-path", "/publish") : path);
  }
  conn_flush(c);
}

// A clean close: a close frame (1000); the server answers and ends TCP.
static void conn_begin_close(Conn *c) {
  if (c->state != C_OPEN) return;
  static const uint8_t code[2] = {0x03, 0xe8};
  conn_send_frame(c, 8, code, 2);
  c->state = C_CLOSING;
  conn_flush(c);
}

// ---- CPU accounting ---------------------------------------------------------

static int server_pids[16];
static int server_pid_count;

static long read_ticks(int pid) {
  char file[64], buf[1024];
  snprintf(file, sizeof file, "/proc/%d/stat", pid);
  int fd = open(file, O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  p += 2;
  long utime = 0, stime = 0;
  // After ")": state(3) … utime is field 14, stime 15: the 12th and 13th here.
  for (int field = 3; field <= 15 && p; field++) {
    if (field == 14) utime = atol(p);
    if (field == 15) stime = atol(p);
    p = strchr(p, ' ');
    if (p) p++;
  }
  return utime + stime;
}

#define MAX_CORES 64
typedef struct {
  double at;
  long server;
  double self;
  int cores;
  long busy[MAX_CORES], total[MAX_CORES], softirq[MAX_CORES];
  uint64_t count;
} Snapshot;

static double self_cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static void take_snapshot(Snapshot *s, uint64_t count) {
  s->at = now_ms();
  s->count = count;
  s->server = 0;
  for (int i = 0; i < server_pid_count; i++) s->server += read_ticks(server_pids[i]);
  s->self = self_cpu_seconds();
  s->cores = 0;
  FILE *f = fopen("/proc/stat", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    int core;
    long t[8];
    if (sscanf(line, "cpu%d %ld %ld %ld %ld %ld %ld %ld %ld", &core, &t[0], &t[1], &t[2], &t[3],
               &t[4], &t[5], &t[6], &t[7]) == 9 && core < MAX_CORES) {
      long total = 0;
      for (int i = 0; i < 8; i++) total += t[i];
      s->busy[core] = total - t[3] - t[4];
      s->total[core] = total;
      s->softirq[core] = t[6];
      if (core + 1 > s->cores) s->cores = core + 1;
    }
  }
  if (f) fclose(f);
}

// A window's figures: rates, and CPU in % of one core.
typedef struct {
  double seconds, rate, server, self, softirq, other;
  uint64_t count;
  int cores;
  double busy[MAX_CORES];
} Figures;

static Figures window_figures(const Snapshot *a, const Snapshot *b) {
  Figures f = {0};
  double hz = (double)sysconf(_SC_CLK_TCK);
  f.seconds = (b->at - a->at) / 1000;
  f.count = b->count - a->count;
  f.rate = f.count / f.seconds;
  f.server = (b->server - a->server) / hz / f.seconds * 100;
  f.self = (b->self - a->self) / f.seconds * 100;
  long busy = 0, soft = 0;
  f.cores = b->cores;
  for (int i = 0; i < b->cores; i++) {
    long total = b->total[i] - a->total[i];
    busy += b->busy[i] - a->busy[i];
    soft += b->softirq[i] - a->softirq[i];
    f.busy[i] = total > 0 ? (b->busy[i] - a->busy[i]) * 100.0 / total : 0.0;
  }
  f.softirq = soft / hz / f.seconds * 100;
  f.other = busy / hz / f.seconds * 100 - f.softirq - f.server - f.self;
  if (f.other < 0) f.other = 0;
  return f;
}

// The figures as JSON members (no braces), with `other` as otherCpu.
static void print_figures(const Figures *f, double other) {
  printf("\"seconds\":%.3f,\"count\":%llu,\"rate\":%.1f,\"serverCpu\":%.1f,\"clientCpu\":%.1f,"
         "\"coreBusy\":[",
         f->seconds, (unsigned long long)f->count, f->rate, f->server, f->self);
  for (int i = 0; i < f->cores; i++) printf("%s%.1f", i ? "," : "", f->busy[i]);
  printf("],\"softirqCpu\":%.1f,\"otherCpu\":%.1f", f->softirq, other);
}

// The window's figures as JSON members (no braces).
static void print_window(const Snapshot *a, const Snapshot *b) {
  Figures f = window_figures(a, b);
  print_figures(&f, f.other);
}

// ---- fanout -----------------------------------------------------------------

#define FAN_RING (1u << 16)
enum { F_CONNECT, F_SYNC, F_CLOSED, F_DRAIN, F_OPEN };
static int fan_phase;
static int fan_window;
static double fan_rate, fan_warmup, fan_duration;
static uint32_t *fan_received;  // per publish (its number mod FAN_RING): subscribers reached
static uint8_t *fan_message;
static uint64_t fan_next_seq, fan_delivered;
static int64_t fan_completed = -1;  // the publish that reached its last subscriber last
static uint64_t fan_closed_from = UINT64_MAX;  // sync publishes before it open no window
static double fan_last_progress, fan_next_publish, fan_open_start;
static uint64_t fan_open_sent;
static int fan_window_state, fan_recording;  // window: 0 warming up, 1 measuring
static double fan_window_at;
static Snapshot fan_from, fan_to;
static Figures fan_closed;
typedef struct {
  double *values;
  size_t len, cap;
} Samples;
static Samples fan_latencies, fan_reach;

static void fan_fail(const char *format, ...) {
  char message[512];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  printf("error {\"message\":\"%s\",", message);
  print_errors();
  printf("}\n");
  fflush(stdout);
  fprintf(stderr, "loadgen: fanout: %s\n", message);
  exit(2);
}

static void samples_push(Samples *s, double value) {
  if (s->len == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 65536;
    s->values = realloc(s->values, s->cap * sizeof(double));
    if (!s->values) die("out of memory");
  }
  s->values[s->len++] = value;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

// The q-quantile of sorted values, as bench/load_client.cjs took it; null when none.
static void print_quantile(const char *name, const Samples *s, double q) {
  if (!s->len) {
    printf(",\"%s\":null", name);
    return;
  }
  size_t at = (size_t)floor(q * s->len);
  printf(",\"%s\":%.4f", name, s->values[at < s->len ? at : s->len - 1]);
}

static void fan_publish(void) {
  uint64_t seq = fan_next_seq++;
  fan_received[seq % FAN_RING] = 0;
  uint64_t sent = mono_ns();
  memcpy(fan_message, &seq, 8);
  memcpy(fan_message + 8, &sent, 8);
  conn_send_frame(publisher, 2, fan_message, publish_size);
  conn_flush(publisher);
}

static void fan_start_closed(void) {
  fan_phase = F_CLOSED;
  fan_closed_from = fan_next_seq;
  fan_window_state = 0;
  fan_window_at = now_ms() + fan_warmup * 1000;
  for (int k = 0; k < fan_window; k++) fan_publish();
}

static void fan_on_complete(uint64_t seq, double reach_ms) {
  fan_completed = (int64_t)seq;
  fan_last_progress = now_ms();
  if (fan_phase == F_SYNC) {
    fan_start_closed();
  } else if (fan_phase == F_CLOSED) {
    if (seq >= fan_closed_from) fan_publish();
  } else if (fan_phase == F_OPEN && fan_recording) {
    samples_push(&fan_reach, reach_ms);
  }
}

// One message on a subscriber, parsed in place in the read buffer.
static void fan_on_delivery(Conn *c, int opcode, const uint8_t *p, size_t len) {
  (void)c;
  fan_delivered++;
  if (opcode != 2 || len != publish_size) {
    fan_fail("a delivery was not a %zu-byte binary message: opcode %d, %zu bytes", publish_size,
             opcode, len);
  }
  uint64_t seq;
  memcpy(&seq, p, 8);
  uint32_t reached = ++fan_received[seq % FAN_RING];
  if (fan_phase == F_OPEN) {
    uint64_t sent;
    memcpy(&sent, p + 8, 8);
    if (!read_now) read_now = mono_ns();
    double ms = (double)(int64_t)(read_now - sent) / 1e6;
    if (fan_recording) samples_push(&fan_latencies, ms);
    if (reached == (uint32_t)target_count) fan_on_complete(seq, ms);
  } else if (reached == (uint32_t)target_count) {
    fan_on_complete(seq, 0);
  }
}

static void fan_print_result(const Figures *open) {
  qsort(fan_latencies.values, fan_latencies.len, sizeof(double), compare_doubles);
  qsort(fan_reach.values, fan_reach.len, sizeof(double), compare_doubles);
  printf("result {\"mode\":\"fanout\",\"subscribers\":%d,\"size\":%zu,\"window\":%d,", target_count,
         publish_size, fan_window);
  print_figures(&fan_closed, fan_closed.other > open->other ? fan_closed.other : open->other);
  printf(",\"sources\":%d,", sources);
  print_errors();
  printf(",\"extra\":{\"closedOtherCpu\":%.1f,\"openRate\":%.1f,\"openExpected\":%.1f",
         fan_closed.other, open->rate, fan_rate * target_count);
  print_quantile("p50", &fan_latencies, 0.5);
  print_quantile("p99", &fan_latencies, 0.99);
  print_quantile("max", &fan_latencies, 1);
  print_quantile("reachAllP50", &fan_reach, 0.5);
  print_quantile("reachAllP99", &fan_reach, 0.99);
  printf(",\"latencySamples\":%zu,\"openServerCpu\":%.1f,\"openClientCpu\":%.1f,"
         "\"openOtherCpu\":%.1f}}\n",
         fan_latencies.len, open->server, open->self, open->other);
  fflush(stdout);
}

// The timed work; returns the milliseconds until it is next due (at most 10).
static double fan_tick(double t) {
  double due = t + 10;
  if (fan_phase == F_CONNECT) {
    if (open_reported && !publisher) {
      if (open_now < target_count) {
        fan_fail("%d of %d subscribers opened", open_now, target_count);
      }
      publisher = &conns[target_count];
      if (conn_start(publisher, ROLE_PUBLISHER) < 0) fan_fail("cannot open the publisher");
    }
  } else if (fan_phase == F_SYNC) {
    if (t >= fan_next_publish) {
      fan_publish();
      fan_next_publish = t + 50;
    }
    due = fan_next_publish;
  } else if (fan_phase == F_CLOSED) {
    if (t - fan_last_progress > 10000) {
      uint64_t next = (uint64_t)(fan_completed + 1);
      fan_fail("closed loop stalled: publish %llu reached %u of %d subscribers",
               (unsigned long long)next, fan_received[next % FAN_RING], target_count);
    }
    if (t >= fan_window_at && fan_window_state == 0) {
      take_snapshot(&fan_from, fan_delivered);
      fan_window_state = 1;
      fan_window_at = t + fan_duration * 1000;
    } else if (t >= fan_window_at && fan_window_state == 1) {
      take_snapshot(&fan_to, fan_delivered);
      fan_closed = window_figures(&fan_from, &fan_to);
      fan_phase = F_DRAIN;
    }
    if (fan_window_at < due) due = fan_window_at;
  } else if (fan_phase == F_DRAIN) {
    if (fan_completed == (int64_t)fan_next_seq - 1 || t - fan_last_progress > 2000) {
      fan_phase = F_OPEN;
      fan_open_start = t;
      fan_open_sent = 0;
      fan_window_state = 0;
      fan_window_at = t + fan_warmup * 1000;
    }
  }
  if (fan_phase == F_OPEN) {
    // A fixed schedule: a late loop sends at once, never fewer messages.
    double interval = 1000 / fan_rate;
    while (fan_open_start + fan_open_sent * interval <= t) {
      fan_publish();
      fan_open_sent++;
    }
    if (t >= fan_window_at && fan_window_state == 0) {
      fan_recording = 1;
      take_snapshot(&fan_from, fan_delivered);
      fan_window_state = 1;
      fan_window_at = t + fan_duration * 1000;
    } else if (t >= fan_window_at && fan_window_state == 1) {
      fan_recording = 0;
      take_snapshot(&fan_to, fan_delivered);
      Figures open = window_figures(&fan_from, &fan_to);
      fan_print_result(&open);
      exit(0);
    }
    due = fan_open_start + fan_open_sent * interval;
    if (fan_window_at < due) due = fan_window_at;
  }
  double left = due - t;
  return left < 0 ? 0 : left > 10 ? 10 : left;
}

// ---- per-mode behaviour -----------------------------------------------------

static void start_next_handshake(Conn *c);
static void open_next(void);

static void mode_on_open(Conn *c) {
  if (mode == M_ECHO) {
    for (int k = 0; k < echo_inflight; k++) conn_send_frame(c, 2, echo_payload, echo_size);
    echo_open++;
  } else if (mode == M_HANDSHAKE) {
    upgrades++;
    conn_begin_close(c);
  } else if (c->role == ROLE_WARM) {
    conn_begin_close(c);
  } else if (c->role == ROLE_MAIN) {
    opening--;
    open_now++;
    failed_in_a_row = 0;
    open_next();
  } else if (mode == M_FANOUT && c->role == ROLE_PUBLISHER) {
    fan_phase = F_SYNC;
    fan_next_publish = now_ms();
  }
}

static void mode_on_closed(Conn *c, int was_open) {
  if (mode == M_FANOUT) {
    const char *who = c->role == ROLE_PUBLISHER ? "the publisher" : "a subscriber";
    if (was_open) fan_fail("%s was closed", who);
    fan_fail("%s's handshake failed", who);
  }
  if (mode == M_HANDSHAKE) {
    start_next_handshake(c);
    return;
  }
  if (mode == M_ECHO) {
    if (was_open) echo_open--;
    return;
  }
  if (c->role == ROLE_WARM) {
    if (--warm_open == 0 && warm_left == 0) emit("warm", "\"errors\":%llu", (unsigned long long)error_total);
  } else if (c->role == ROLE_MAIN) {
    if (was_open) {
      open_now--;
      if (c->got_any) got_any_count--;
    } else {
      opening--;
      failed_in_a_row++;
      open_next();
    }
  } else if (c->role == ROLE_PUBLISHER) {
    publisher = NULL;
  }
}

static int handshake_stopping;
static void start_next_handshake(Conn *c) {
  // Retry a failed start on the next tick rather than spin.
  if (handshake_stopping) return;
  if (conn_start(c, ROLE_MAIN) < 0) c->state = C_FREE;
}

// Opens main connections up to --concurrency at a time.
// Opens main connections up to --concurrency at a time, until --give-up
// handshakes in a row have failed: a server that stopped accepting (out of
// descriptors, say) would otherwise cost --open-timeout per connection left.
static void open_next(void) {
  if (failed_in_a_row >= give_up && next_to_open < target_count) {
    not_attempted = target_count - next_to_open;
    next_to_open = target_count;
  }
  while (open_requested && opening < concurrency && next_to_open < target_count) {
    Conn *c = &conns[next_to_open++];
    if (conn_start(c, ROLE_MAIN) < 0) {
      failed_total++;
      failed_in_a_row++;
      continue;
    }
    opening++;
  }
  if (open_requested && !open_reported && opening == 0 && next_to_open == target_count) {
    open_reported = 1;
    double seconds = (now_ms() - open_started) / 1000;
    printf("opened {\"opened\":%d,\"failed\":%llu,\"notAttempted\":%d,\"seconds\":%.3f,"
           "\"rate\":%.1f,\"sources\":%d,\"sourceFirst\":%d,\"clientCpuSeconds\":%.3f,",
           open_now, (unsigned long long)failed_total, not_attempted, seconds, open_now / seconds,
           sources, source_first, self_cpu_seconds() - stdin_cpu_mark);
    print_errors();
    printf("}\n");
    fflush(stdout);
  }
}

static void publish_one(uint64_t seq) {
  if (!publisher || publisher->state != C_OPEN) return;
  uint8_t *message = calloc(1, publish_size);
  uint64_t sent = now_ns();
  memcpy(message, &seq, 8);
  memcpy(message + 8, &sent, 8);
  conn_send_frame(publisher, 2, message, publish_size);
  free(message);
  conn_flush(publisher);
}

static void print_result_listen(uint64_t expected) {
  uint64_t lost = 0, complete = 0, ever = 0;
  for (int i = 0; i < target_count; i++) {
    Conn *c = &conns[i];
    if (!c->ever_open) continue;
    ever++;
    uint64_t got = c->unique > expected ? expected : c->unique;
    lost += expected - got;
    if (got == expected && c->state == C_OPEN) complete++;
  }
  printf("result {\"mode\":\"listen\",\"connections\":%d,\"open\":%d,\"published\":%llu,"
         "\"expected\":%llu,\"deliveries\":%llu,\"lost\":%llu,\"duplicated\":%llu,"
         "\"reordered\":%llu,\"wrongSize\":%llu,\"complete\":%llu,\"closedByServer\":%llu,"
         "\"clientCpuSeconds\":%.3f,",
         target_count, open_now, (unsigned long long)publish_sent,
         (unsigned long long)(expected * ever), (unsigned long long)deliveries,
         (unsigned long long)lost, (unsigned long long)duplicated, (unsigned long long)reordered,
         (unsigned long long)wrong_size, (unsigned long long)complete,
         (unsigned long long)closed_by_server, self_cpu_seconds());
  print_errors();
  printf(",\"kernelStamps\":%llu", (unsigned long long)kernel_stamps);
  const uint64_t *hs[2] = {histogram, histogram_read};
  const char *names[2] = {"histogram", "histogramRead"};
  for (int h = 0; h < 2; h++) {
    printf(",\"%s\":[", names[h]);
    int last = BUCKETS - 1;
    while (last > 0 && hs[h][last] == 0) last--;
    for (int k = 0; k <= last; k++) printf("%s%llu", k ? "," : "", (unsigned long long)hs[h][k]);
    printf("]");
  }
  printf("}\n");
  fflush(stdout);
}


static void handle_command(char *line) {
  if (strncmp(line, "warm", 4) == 0) {
    int k = atoi(line + 4);
    if (k <= 0) k = 100;
    // Warm connections live past the main ones in the table.
    warm_left = 0;
    for (int i = 0; i < k; i++) {
      Conn *c = &conns[target_count + 1 + (i % 100)];
      if (c->state != C_FREE) {
        warm_left++;
        continue;
      }
      if (conn_start(c, ROLE_WARM) == 0) warm_open++;
    }
    if (warm_open == 0) emit("warm", "\"errors\":%llu", (unsigned long long)error_total);
  } else if (strcmp(line, "open") == 0) {
    open_requested = 1;
    open_started = now_ms();
    stdin_cpu_mark = self_cpu_seconds();
    stdin_wall_mark = now_ms();
    if (flag_num("publisher", 0) && !publisher) {
      publisher = &conns[target_count];
      if (conn_start(publisher, ROLE_PUBLISHER) < 0) publisher = NULL;
    }
    open_next();
  } else if (strcmp(line, "sync") == 0) {
    publishing = 1;
    next_publish = now_ms();
  } else if (strncmp(line, "publish", 7) == 0) {
    unsigned long long total = 0;
    double interval = 100;
    sscanf(line + 7, "%llu %lf", &total, &interval);
    publishing = 2;
    publish_total = total;
    publish_interval = interval;
    next_publish = now_ms();
  } else if (strncmp(line, "end", 3) == 0) {
    print_result_listen(strtoull(line + 3, NULL, 10));
  } else if (strcmp(line, "stats") == 0) {
    double wall = (now_ms() - stdin_wall_mark) / 1000;
    emit("stats", "\"open\":%d,\"opening\":%d,\"deliveries\":%llu,\"gotAny\":%d,"
         "\"closedByServer\":%llu,\"clientCpu\":%.1f,\"clientCpuSeconds\":%.3f",
         open_now, opening, (unsigned long long)deliveries, got_any_count,
         (unsigned long long)closed_by_server,
         wall > 0 ? (self_cpu_seconds() - stdin_cpu_mark) / wall * 100 : 0.0, self_cpu_seconds());
  } else if (strcmp(line, "close") == 0) {
    close_requested = 1;
    for (int i = 0; i <= target_count; i++) conn_begin_close(&conns[i]);
  }
}

// ---- main -------------------------------------------------------------------

static rlim_t raise_file_limit(rlim_t needed) {
  struct rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < needed) {
    emit("limit", "\"nofile\":%llu,\"needed\":%llu,\"message\":\"RLIMIT_NOFILE hard limit %llu is "
         "below the %llu descriptors this process needs: connections past it fail with EMFILE\"",
         (unsigned long long)limit.rlim_cur, (unsigned long long)needed,
         (unsigned long long)limit.rlim_cur, (unsigned long long)needed);
  }
  return limit.rlim_cur;
}

int main(int argc, char **argv) {
  if (argc < 2) die("usage: loadgen echo|handshake|connect|listen|fanout --name=value ...");
  mode_name = argv[1];
  for (int i = 2; i < argc && flag_count < MAX_FLAGS; i++) {
    char *arg = argv[i];
    if (strncmp(arg, "--", 2) != 0) die("flags are --name=value");
    char *eq = strchr(arg, '=');
    if (!eq) die("flags are --name=value");
    *eq = 0;
    flag_names[flag_count] = arg + 2;
    flag_values[flag_count++] = eq + 1;
  }
  if (strcmp(mode_name, "echo") == 0) mode = M_ECHO;
  else if (strcmp(mode_name, "handshake") == 0) mode = M_HANDSHAKE;
  else if (strcmp(mode_name, "connect") == 0) mode = M_CONNECT;
  else if (strcmp(mode_name, "listen") == 0) mode = M_LISTEN;
  else if (strcmp(mode_name, "fanout") == 0) mode = M_FANOUT;
  else die("unknown mode");
  port = (int)flag_num("port", 0);
  if (port <= 0) die("--port is required");
  host = flag_str("host", "127.0.0.1");
  publish_port = (int)flag_num("publish-port", port);
  path = flag_str("path", mode == M_LISTEN || mode == M_FANOUT ? "/fanout" : "/echo");
  rng_state ^= (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
  clock_origin = now_ms();
  for (int i = 0; i < flag_count; i++) {
    if (strncmp(flag_names[i], "server-pid", 10) == 0 && server_pid_count < 16 && atoi(flag_values[i]) > 0) {
      server_pids[server_pid_count++] = atoi(flag_values[i]);
    }
  }
  double warmup = flag_num("warmup", 1), duration = flag_num("duration", 3);
  // fanout measures two windows, the closed loop's and the open loop's.
  double budget = flag_num("budget", (mode == M_FANOUT ? 2 : 1) * (warmup + duration) + 120);

  int total;
  if (mode == M_ECHO) total = echo_clients = (int)flag_num("clients", 64);
  else if (mode == M_HANDSHAKE) total = hs_concurrency = (int)flag_num("concurrency", 64);
  else if (mode == M_FANOUT) total = target_count = (int)flag_num("subscribers", 1000);
  else total = target_count = (int)flag_num("count", 1000);
  // The main connections, the publisher, and up to 100 warm ones.
  conn_cap = total + 101;
  // One source address per 2,500 connections, at least one; handshake churn
  // gets four. The kernel's search for a free ephemeral port slows as a
  // source address's ports fill: 19,500 connections from one address cost
  // this process 4.5 s of CPU to open, from eight 0.8 s.
  int default_sources = (total + 2499) / 2500;
  if (default_sources > 200) default_sources = 200;
  if (mode == M_HANDSHAKE) default_sources = 4;
  sources = (int)flag_num("sources", default_sources < 1 ? 1 : default_sources);
  source_first = (int)flag_num("source-first", 1);
  if (sources < 1 || source_first < 1 || source_first + sources > 255) {
    die("--source-first and --sources must stay within 127.0.0.1…127.0.0.254");
  }
  rlim_t nofile = raise_file_limit((rlim_t)conn_cap + 16);

  conns = calloc((size_t)conn_cap, sizeof(Conn));
  readbuf = malloc(READBUF);
  if (!conns || !readbuf) die("out of memory");
  for (int i = 0; i < conn_cap; i++) conns[i].fd = -1;
  epfd = epoll_create1(EPOLL_CLOEXEC);
  concurrency = (int)flag_num("concurrency", 256);
  give_up = (int)flag_num("give-up", 1000000000);
  publish_size = (size_t)flag_num("size", 64);
  if (mode == M_LISTEN && publish_size < 16) die("--size must be at least 16 in listen mode");
  if (mode == M_FANOUT) {
    if (publish_size < 16) die("--size must be at least 16 in fanout mode");
    if (target_count < 1) die("--subscribers must be at least 1");
    fan_window = (int)flag_num("window", 16);
    fan_rate = flag_num("rate", 50);
    fan_warmup = warmup;
    fan_duration = duration;
    fan_received = calloc(FAN_RING, sizeof(uint32_t));
    fan_message = malloc(publish_size);
    if (!fan_received || !fan_message) die("out of memory");
    memset(fan_message, 0xab, publish_size);
    // Subscribers 100 handshakes at a time, then the publisher (fan_tick).
    concurrency = (int)flag_num("concurrency", 100);
    open_requested = 1;
    open_started = now_ms();
    open_next();
  }

  int use_stdin = mode == M_CONNECT || mode == M_LISTEN;
  if (use_stdin) {
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
    epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev);
    emit("ready", "\"pid\":%d,\"nofile\":%llu,\"sources\":%d", getpid(), (unsigned long long)nofile,
         sources);
  }
  if (mode == M_ECHO) {
    echo_size = (size_t)flag_num("size", 1024);
    echo_inflight = (int)flag_num("inflight", 16);
    echo_payload = malloc(echo_size);
    memset(echo_payload, 0xab, echo_size);
    for (int i = 0; i < echo_clients; i++) {
      if (conn_start(&conns[i], ROLE_MAIN) < 0) die("could not open the echo clients");
    }
  } else if (mode == M_HANDSHAKE) {
    for (int i = 0; i < hs_concurrency; i++) start_next_handshake(&conns[i]);
  }

  double open_timeout = flag_num("open-timeout", 15000), next_timeout_scan = 0;
  Snapshot from = {0}, to = {0};
  int window_state = 0;  // 0 warming up, 1 measuring, 2 done
  double started = now_ms(), window_at = 0;
  char line[256];
  size_t line_len = 0;
  struct epoll_event events[512];
  for (;;) {
    double t = now_ms();
    if ((t - started) / 1000 > budget) die("watchdog fired");
    // Timed work: the measurement window, publishing, retries.
    if (mode == M_ECHO || mode == M_HANDSHAKE) {
      uint64_t count = mode == M_ECHO ? echo_count : upgrades;
      int ready = mode == M_HANDSHAKE || echo_open == echo_clients;
      if (window_state == 0 && ready && window_at == 0) window_at = t + warmup * 1000;
      if (window_state == 0 && window_at && t >= window_at) {
        take_snapshot(&from, count);
        window_state = 1;
        window_at = t + duration * 1000;
      } else if (window_state == 1 && t >= window_at) {
        take_snapshot(&to, count);
        printf("result {\"mode\":\"%s\",", mode_name);
        print_window(&from, &to);
        if (mode == M_ECHO) {
          printf(",\"clients\":%d,\"inflight\":%d,\"size\":%zu,\"wrong\":%llu,", echo_clients,
                 echo_inflight, echo_size, (unsigned long long)echo_wrong);
        } else {
          printf(",\"concurrency\":%d,\"failed\":%llu,", hs_concurrency,
                 (unsigned long long)failed_total);
        }
        printf("\"sources\":%d,", sources);
        print_errors();
        printf("}\n");
        fflush(stdout);
        exit(0);
      }
      if (mode == M_HANDSHAKE) {
        // A slot whose start failed (ports, descriptors) tries again.
        for (int i = 0; i < hs_concurrency; i++) {
          if (conns[i].state == C_FREE) start_next_handshake(&conns[i]);
        }
        if (error_total > 1000 && upgrades < error_total) die("over 1,000 failed handshakes");
      }
      if (mode == M_ECHO && echo_open < echo_clients && window_at && error_total > 0) {
        die("an echo client was closed");
      }
    } else if (publishing && publisher && publisher->state == C_OPEN && t >= next_publish) {
      if (publishing == 1) {
        publish_one(0);
        next_publish = t + 100;
      } else if (publish_sent < publish_total) {
        publish_one(++publish_sent);
        next_publish += publish_interval;
        if (publish_sent == publish_total) {
          publishing = 0;
          emit("published", "\"published\":%llu", (unsigned long long)publish_sent);
        }
      }
    }
    // A handshake the server never answers (a full accept queue, a server out
    // of descriptors) fails after --open-timeout ms instead of holding the run.
    if ((use_stdin || mode == M_FANOUT) && open_requested && t >= next_timeout_scan) {
      next_timeout_scan = t + 500;
      float limit = (float)(t - clock_origin - open_timeout);
      for (int i = 0; i < next_to_open; i++) {
        Conn *c = &conns[i];
        if ((c->state == C_CONNECTING || c->state == C_UPGRADING) && c->started < limit) {
          failed_total++;
          note_error("handshake timed out", 0);
          conn_close(c);
        }
      }
    }
    if (mode == M_LISTEN && !synced_reported && open_reported && got_any_count == open_now &&
        open_now > 0) {
      synced_reported = 1;
      emit("synced", "\"open\":%d", open_now);
    }
    int timeout = 50;
    if (mode == M_FANOUT) timeout = (int)ceil(fan_tick(now_ms()));
    if (publishing && publisher) {
      double left = next_publish - now_ms();
      timeout = left < 0 ? 0 : left < 50 ? (int)left + 1 : 50;
    }
    int n = epoll_wait(epfd, events, 512, timeout);
    for (int i = 0; i < n; i++) {
      uint32_t id = events[i].data.u32;
      if (id == UINT32_MAX) {
        char buf[256];
        ssize_t r = read(0, buf, sizeof buf);
        if (r == 0) exit(0);  // the parent went away
        for (ssize_t j = 0; j < r; j++) {
          if (buf[j] == '\n') {
            line[line_len] = 0;
            handle_command(line);
            line_len = 0;
          } else if (line_len < sizeof line - 1) {
            line[line_len++] = buf[j];
          }
        }
        continue;
      }
      Conn *c = &conns[id];
      if (c->state == C_FREE) continue;
      uint32_t e = events[i].events;
      uint32_t gen = c->gen;
      if (e & (EPOLLOUT)) conn_writable(c);
      if (c->state != C_FREE && c->gen == gen && (e & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        if (c->state == C_CONNECTING) conn_writable(c);
        else conn_readable(c);
      }
    }
    if (close_requested) {
      int left = 0;
      for (int i = 0; i <= target_count; i++) left += conns[i].state != C_FREE;
      if (left == 0) {
        close_requested = 0;
        emit("closed", "\"clean\":%llu,\"closedByServer\":%llu", (unsigned long long)closed_clean,
             (unsigned long long)closed_by_server);
      }
    }
  }
}
