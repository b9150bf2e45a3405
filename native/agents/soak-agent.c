/*
 * soak-agent: the lightest real Maxwell agent, for the soak (docs/RELIABILITY.md). A process that
 * speaks the agent protocol (docs/PROTOCOL.md) over its Unix socket with no runtime around it:
 * about 1 MiB resident, so a thousand of them fit beside the daemon on a small machine.
 *
 *   soak-agent scientist START   searches [START, …) for primes by trial division and reports
 *                                what it searched as `work` every 20 ms (at most 50 frames/s)
 *   soak-agent leech             burns CPU and reports nothing
 *
 * Either role reads what the daemon sends between blocks: `apoptosis` ends it with 0, an `error`
 * frame or a closed connection with 1 (the code is printed on stderr). Without MAXWELL_SOCKET it
 * exits 2: it has no meaning outside Maxwell.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* A scientist reports every REPORT_MS of its wall time, or sooner at MAX_PRIMES primes. */
#define REPORT_MS 20.0
#define MAX_PRIMES 1500
#define MAX_FRAME 65536u
/* Blocks between reports of a leech's liveness: it reads the socket, it never writes. */
#define LEECH_SPIN 2000000u

static int sock = -1;
static char inbuf[MAX_FRAME + 4];
static size_t inlen = 0;

static void die(int code, const char *what) {
  fprintf(stderr, "soak-agent: %s\n", what);
  exit(code);
}

static void send_frame(const char *body, size_t n) {
  unsigned char head[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
  struct iovec parts[2] = {{head, 4}, {(void *)body, n}};
  struct msghdr msg = {.msg_iov = parts, .msg_iovlen = 2};
  size_t left = n + 4;
  while (left > 0) {
    ssize_t w = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      die(1, "the daemon closed the connection");
    }
    left -= (size_t)w;
    /* A partial write: advance the iovecs past what went. */
    while (w > 0 && msg.msg_iovlen > 0) {
      size_t take = (size_t)w < msg.msg_iov->iov_len ? (size_t)w : msg.msg_iov->iov_len;
      msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + take;
      msg.msg_iov->iov_len -= take;
      w -= (ssize_t)take;
      if (msg.msg_iov->iov_len == 0) { msg.msg_iov++; msg.msg_iovlen--; }
    }
  }
}

/* Acts on one frame from the daemon; only the type matters to this agent. */
static void on_frame(const char *body, size_t n) {
  if (memmem(body, n, "\"type\":\"apoptosis\"", 18) != NULL) {
    fprintf(stderr, "soak-agent: apoptosis notice: stopping\n");
    exit(0);
  }
  if (memmem(body, n, "\"type\":\"error\"", 14) != NULL) {
    fprintf(stderr, "soak-agent: the daemon closed the connection: %.*s\n", (int)(n > 300 ? 300 : n), body);
    exit(1);
  }
}

/* Reads whatever has arrived, waiting up to `wait_ms`, and acts on every whole frame. */
static void drain(int wait_ms) {
  struct pollfd p = {.fd = sock, .events = POLLIN};
  while (poll(&p, 1, wait_ms) > 0) {
    ssize_t r = read(sock, inbuf + inlen, sizeof inbuf - inlen);
    if (r == 0) die(1, "the daemon closed the connection");
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) return;
      die(1, "read failed");
    }
    inlen += (size_t)r;
    for (;;) {
      if (inlen < 4) break;
      uint32_t n = ((uint32_t)(unsigned char)inbuf[0] << 24) | ((uint32_t)(unsigned char)inbuf[1] << 16) | ((uint32_t)(unsigned char)inbuf[2] << 8) | (unsigned char)inbuf[3];
      if (n > MAX_FRAME) die(1, "a frame over 64 KiB from the daemon");
      if (inlen < 4 + n) break;
      on_frame(inbuf + 4, n);
      memmove(inbuf, inbuf + 4 + n, inlen - 4 - n);
      inlen -= 4 + n;
    }
    wait_ms = 0;
  }
}

/* Trial division by odd numbers up to the square root, as the WASM scientist and the VM guest search. */
static int is_prime(uint64_t n) {
  if (n < 2) return 0;
  if (n % 2 == 0) return n == 2;
  for (uint64_t d = 3; d <= n / d; d += 2)
    if (n % d == 0) return 0;
  return 1;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/*
 * Searches upwards from `start` and reports what it searched every REPORT_MS (or every
 * MAX_PRIMES primes): at most 50 frames a second, a quarter of the daemon's default limit.
 */
static void scientist(uint64_t start) {
  static char body[MAX_FRAME];
  uint64_t seq = 1, lo = start, n = start;
  for (;;) {
    double since = now_ms();
    int len = 0, found = 0;
    char primes[MAX_FRAME / 2];
    for (; found < MAX_PRIMES; n++) {
      /* 23 bytes hold one more prime (20 digits, quotes, comma): stop before the buffer could truncate. */
      if (is_prime(n)) len += snprintf(primes + len, sizeof primes - (size_t)len, "%s\"%" PRIu64 "\"", found++ ? "," : "", n);
      if (len > (int)sizeof primes - 24) { n++; break; }
      if ((n & 63) == 0 && now_ms() - since >= REPORT_MS) { n++; break; }
    }
    int total = snprintf(body, sizeof body, "{\"type\":\"work\",\"seq\":%" PRIu64 ",\"kind\":\"primes\",\"range\":[\"%" PRIu64 "\",\"%" PRIu64 "\"],\"primes\":[%.*s]}", seq++, lo, n, len, primes);
    send_frame(body, (size_t)total);
    lo = n;
    drain(0);
  }
}

static void leech(void) {
  volatile uint64_t x = 0;
  for (;;) {
    for (uint32_t i = 0; i < LEECH_SPIN; i++) x = x * 6364136223846793005u + 1442695040888963407u;
    drain(0);
  }
}

int main(int argc, char **argv) {
  const char *path = getenv("MAXWELL_SOCKET"), *token = getenv("MAXWELL_TOKEN"), *id = getenv("MAXWELL_AGENT_ID");
  if (argc < 2 || (strcmp(argv[1], "scientist") != 0 && strcmp(argv[1], "leech") != 0)) {
    fprintf(stderr, "usage: soak-agent scientist START | soak-agent leech   (under Maxwell only)\n");
    return 2;
  }
  if (path == NULL || token == NULL || id == NULL) die(2, "MAXWELL_SOCKET, MAXWELL_TOKEN and MAXWELL_AGENT_ID must be set: run it under Maxwell");
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) die(2, "MAXWELL_SOCKET is too long");
  strcpy(addr.sun_path, path);
  sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) die(1, "cannot connect to MAXWELL_SOCKET");
  char hello[512];
  int n = snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"protocol\":1,\"agentId\":\"%s\",\"token\":\"%s\"}", id, token);
  if (n < 0 || (size_t)n >= sizeof hello) die(2, "agent id or token too long");
  send_frame(hello, (size_t)n);
  if (strcmp(argv[1], "leech") == 0) leech();
  if (argc < 3) die(2, "a scientist needs START");
  char *end = NULL;
  errno = 0;
  uint64_t start = strtoull(argv[2], &end, 10);
  if (errno != 0 || end == argv[2] || *end != '\0') die(2, "START must be a decimal integer");
  scientist(start);
  return 0;
}
