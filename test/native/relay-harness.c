/* The relay's C core (native/relay/) under AddressSanitizer, UBSan and
 * LeakSanitizer with real sockets. Built and run by
 * test/native-sanitize-relay.test.ts. Three relays run at once:
 *   A  accepts on a TCP listener, relays to a TCP echo backend, PROXY v2
 *   B  receives connections as descriptors on a datagram socket (sent with
 *      server/fdpass.c, mixed with descriptor floods), relays to a UNIX
 *      stream echo backend, PROXY v1, at most 4 connections at a time
 *   C  accepts on a TCP listener whose backend port is closed
 * Clients send random amounts (up to 256 KiB), half-close, and read the echo
 * back byte for byte; one in eight resets its connection mid-transfer
 * instead. The echo backends check each PROXY header names the client and
 * the relay's address. Then every relay is stopped and destroyed; no
 * descriptor may be left open. Prints one JSON line of figures. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/datagram_bind.h"
#include "harness_util.h"
#include "hostile_peers.h"
#include "relay/relay.h"
#include "server/fdpass.h"

static char dir[200];

/* ---- echo backends ---- */

typedef struct {
  int listener;
  int proxy;           /* 0, 1 or 2: the header each connection starts with */
  uint16_t relay_port; /* the destination port the header must name (0: not checked) */
  uint64_t connections, bytes, headers_checked;
  pthread_t thread;
} echo_server;

static int read_full(int fd, void *buf, size_t n) {
  for (size_t got = 0; got < n;) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

/* Reads and checks the PROXY header; -1 when the connection ended first (a client reset). */
static int check_header(echo_server *e, int fd) {
  if (e->proxy == 2) {
    unsigned char h[52];
    if (read_full(fd, h, 16) != 0) return -1;
    CHECK(memcmp(h, "\r\n\r\n\0\r\nQUIT\n", 12) == 0, "a malformed PROXY v2 signature");
    if (h[12] == 0x20) { /* LOCAL: the client was gone before its addresses could be read */
      CHECK(h[13] == 0 && h[14] == 0 && h[15] == 0, "a malformed PROXY v2 LOCAL header");
      return 0;
    }
    CHECK(h[12] == 0x21 && h[13] == 0x21 && h[14] == 0 && h[15] == 36, "a malformed PROXY v2 header");
    if (read_full(fd, h + 16, 36) != 0) return -1;
    static const unsigned char client[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
    CHECK(memcmp(h + 16, client, 16) == 0, "the PROXY v2 source is not the client");
    CHECK(!e->relay_port || (h[50] << 8 | h[51]) == e->relay_port, "the PROXY v2 destination is not the relay");
  } else if (e->proxy == 1) {
    char line[108];
    size_t n = 0;
    while (n < sizeof line - 1) {
      if (read(fd, line + n, 1) != 1) return -1;
      if (line[n++] == '\n') break;
    }
    line[n] = 0;
    char expect[32];
    snprintf(expect, sizeof expect, " %u\r\n", e->relay_port);
    static const char prefix[] = "PROXY TCP6 ::ffff:127.0.0.1 ::ffff:127.0.0.1 ";
    if (strcmp(line, "PROXY UNKNOWN\r\n") == 0) return 0; /* the client was gone already */
    CHECK(strncmp(line, prefix, sizeof prefix - 1) == 0, "a malformed PROXY v1 header");
    CHECK(!e->relay_port || (n > strlen(expect) && strcmp(line + n - strlen(expect), expect) == 0),
          "the PROXY v1 destination is not the relay");
  }
  __atomic_add_fetch(&e->headers_checked, e->proxy ? 1 : 0, __ATOMIC_RELAXED);
  return 0;
}

typedef struct {
  echo_server *e;
  int fd;
} echo_job;

static void *echo_one(void *arg) {
  echo_job *job = arg;
  int fd = job->fd;
  echo_server *e = job->e;
  free(job);
  if (check_header(e, fd) == 0) {
    char buf[16384];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
      if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n) break;
      __atomic_add_fetch(&e->bytes, (uint64_t)n, __ATOMIC_RELAXED);
    }
    shutdown(fd, SHUT_WR); /* the half-close travels back */
  }
  close(fd);
  return NULL;
}

static void *echo_main(void *arg) {
  echo_server *e = arg;
  for (;;) {
    int fd = accept4(e->listener, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return NULL; /* the listener was shut down */
    }
    __atomic_add_fetch(&e->connections, 1, __ATOMIC_RELAXED);
    echo_job *job = malloc(sizeof *job);
    CHECK(job != NULL, "out of memory");
    *job = (echo_job){e, fd};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, echo_one, job) == 0, "pthread_create");
    pthread_detach(t);
  }
}

static int tcp_listener(uint16_t *port) {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int off = 0;
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6};
  CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 512) == 0, "a TCP listener");
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  *port = ntohs(a.sin6_port);
  return fd;
}

/* ---- relays ---- */

typedef struct {
  struct skbox_relay *relay;
  struct skbox_relay_exit exit;
  pthread_t thread;
} relay_runner;

static void *relay_main(void *arg) {
  relay_runner *r = arg;
  r->exit = skbox_relay_run(r->relay);
  return NULL;
}

static void relay_start(relay_runner *r, const struct skbox_relay_config *cfg) {
  const char *why = "";
  r->relay = skbox_relay_create(cfg, &why);
  CHECK(r->relay != NULL, "skbox_relay_create");
  CHECK(pthread_create(&r->thread, NULL, relay_main, r) == 0, "pthread_create");
}

static void base_config(struct skbox_relay_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->validation_level = 2;
  cfg->connect_timeout_ms = 2000;
  cfg->log = NULL; /* no per-connection lines (as -q) */
  cfg->errors = NULL;
  cfg->tcp_target.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:127.0.0.1", &cfg->tcp_target.sin6_addr);
}

/* ---- relay B's sender: connections as descriptors, floods in between ---- */

typedef struct {
  int listener;
  char target[108];
  int stop;
  uint64_t sent, floods;
  pthread_t thread;
} fd_sender;

static void *sender_main(void *arg) {
  fd_sender *s = arg;
  uint64_t rng = 5;
  int via = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un to = {.sun_family = AF_UNIX};
  snprintf(to.sun_path, sizeof to.sun_path, "%s", s->target);
  CHECK(connect(via, (struct sockaddr *)&to, sizeof to) == 0, "connect to the relay's socket");
  while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
    struct pollfd p = {.fd = s->listener, .events = POLLIN};
    if (poll(&p, 1, 20) != 1) continue;
    int fd = accept4(s->listener, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) continue;
    while (skbox_send_fd(via, fd) != 0) {
      CHECK(errno == EAGAIN, "cannot hand a connection to the relay");
      harness_sleep_ms(1);
    }
    close(fd);
    s->sent++;
    if (hostile_random(&rng) % 4 == 0)
      s->floods += (uint64_t)hostile_flood(s->target, (int)(hostile_random(&rng) % 40), (int)(rng & 1), 64, &rng);
  }
  close(via);
  return NULL;
}

/* ---- clients ---- */

typedef struct {
  uint16_t port;
  int n;
  int expect_refused; /* the backend is unreachable */
  uint64_t seed;
  uint64_t echoed, resets, refused, bytes;
  pthread_t thread;
} client_job;

static void *client_main(void *arg) {
  client_job *c = arg;
  static __thread unsigned char out[262144], in[262144];
  for (int i = 0; i < c->n; i++) {
    int fd = harness_connect("127.0.0.1", "127.0.0.1", c->port);
    CHECK(fd >= 0, "connect to a relay");
    size_t len = (size_t)(hostile_random(&c->seed) % sizeof out);
    if (hostile_random(&c->seed) % 4 == 0) len %= 64; /* many tiny ones */
    for (size_t k = 0; k < len; k++) out[k] = (unsigned char)hostile_random(&c->seed);
    int reset = !c->expect_refused && hostile_random(&c->seed) % 8 == 0;
    size_t sent = 0, got = 0;
    int done_sending = 0, eof = 0;
    uint64_t deadline = harness_now_ms() + 15000;
    while (!eof) {
      CHECK(harness_now_ms() < deadline, "a relayed connection made no progress for 15 s");
      struct pollfd p = {.fd = fd, .events = POLLIN | (done_sending ? 0 : POLLOUT)};
      poll(&p, 1, 100);
      if (!done_sending && (p.revents & POLLOUT)) {
        ssize_t w = send(fd, out + sent, len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) sent += (size_t)w;
        if (w < 0 && errno != EAGAIN) break; /* refused by the relay */
        if (reset && sent > len / 2) break;
        if (sent == len) {
          shutdown(fd, SHUT_WR);
          done_sending = 1;
        }
      }
      if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t r = recv(fd, in + got, sizeof in - got, MSG_DONTWAIT);
        if (r == 0) eof = 1;
        else if (r < 0 && errno != EAGAIN) break;
        else if (r > 0) got += (size_t)r;
      }
    }
    if (reset) {
      struct linger lg = {1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      c->resets++;
    } else if (c->expect_refused) {
      CHECK(got == 0, "bytes came back through a relay without a backend");
      c->refused++;
    } else {
      CHECK(eof && got == len && memcmp(in, out, len) == 0, "the echo differs from what was sent");
      c->echoed++;
      c->bytes += len;
    }
    close(fd);
  }
  return NULL;
}

static void run_clients(client_job *jobs, int n) {
  for (int i = 0; i < n; i++) CHECK(pthread_create(&jobs[i].thread, NULL, client_main, &jobs[i]) == 0, "pthread_create");
  for (int i = 0; i < n; i++) pthread_join(jobs[i].thread, NULL);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: relay-harness DIR CONNECTIONS_PER_CLIENT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  snprintf(dir, sizeof dir, "%s", argv[1]);
  int per_client = atoi(argv[2]);
  int fds_before = harness_open_fds();

  /* backends */
  echo_server tcp_echo = {.proxy = 2}, unix_echo = {.proxy = 1};
  uint16_t tcp_echo_port;
  tcp_echo.listener = tcp_listener(&tcp_echo_port);
  char unix_path[108];
  snprintf(unix_path, sizeof unix_path, "%s/echo.sock", dir);
  const char *step = "";
  unix_echo.listener = skbox_bind_unix_socket(unix_path, SOCK_STREAM, 0600, -1, -1, &step);
  CHECK(unix_echo.listener >= 0 && fcntl(unix_echo.listener, F_SETFL, 0) == 0 && listen(unix_echo.listener, 512) == 0,
        "the UNIX echo backend");

  /* relay A: TCP listener -> TCP backend, PROXY v2 */
  uint16_t a_port, c_port, b_front_port;
  struct skbox_relay_config a;
  base_config(&a);
  a.source_fd = tcp_listener(&a_port);
  fcntl(a.source_fd, F_SETFL, O_NONBLOCK);
  a.tcp_target.sin6_port = htons(tcp_echo_port);
  a.proxy = SKBOX_RELAY_PROXY_V2;
  tcp_echo.relay_port = a_port;
  /* relay B: descriptors on a datagram socket -> UNIX backend, PROXY v1 */
  struct skbox_relay_config b;
  base_config(&b);
  char b_path[108];
  snprintf(b_path, sizeof b_path, "%s/relay-b.sock", dir);
  b.source_fd = skbox_bind_datagram_socket(b_path, 0600);
  CHECK(b.source_fd >= 0, "relay B's socket");
  b.source_kind = SKBOX_RELAY_SOURCE_RECEIVE;
  snprintf(b.unlink_path, sizeof b.unlink_path, "%s", b_path);
  b.target_is_unix = 1;
  snprintf(b.unix_path, sizeof b.unix_path, "%s", unix_path);
  b.proxy = SKBOX_RELAY_PROXY_V1;
  b.max_connections = 4;
  fd_sender sender = {0};
  sender.listener = tcp_listener(&b_front_port);
  snprintf(sender.target, sizeof sender.target, "%s", b_path);
  unix_echo.relay_port = b_front_port;
  /* relay C: a backend port nobody listens on */
  struct skbox_relay_config c;
  base_config(&c);
  c.source_fd = tcp_listener(&c_port);
  fcntl(c.source_fd, F_SETFL, O_NONBLOCK);
  uint16_t closed_port;
  int closed = tcp_listener(&closed_port);
  close(closed);
  c.tcp_target.sin6_port = htons(closed_port);

  CHECK(pthread_create(&tcp_echo.thread, NULL, echo_main, &tcp_echo) == 0, "pthread_create");
  CHECK(pthread_create(&unix_echo.thread, NULL, echo_main, &unix_echo) == 0, "pthread_create");
  relay_runner ra, rb, rc;
  relay_start(&ra, &a);
  relay_start(&rb, &b);
  relay_start(&rc, &c);
  CHECK(pthread_create(&sender.thread, NULL, sender_main, &sender) == 0, "pthread_create");

  client_job jobs[] = {
      {.port = a_port, .n = per_client, .seed = 1},
      {.port = a_port, .n = per_client, .seed = 2},
      {.port = a_port, .n = per_client, .seed = 3},
      {.port = b_front_port, .n = per_client, .seed = 4},
      {.port = b_front_port, .n = per_client, .seed = 5},
      {.port = c_port, .n = per_client / 4 + 1, .expect_refused = 1, .seed = 6},
  };
  int n_jobs = (int)(sizeof jobs / sizeof *jobs);
  run_clients(jobs, n_jobs);

  __atomic_store_n(&sender.stop, 1, __ATOMIC_RELEASE);
  pthread_join(sender.thread, NULL);
  relay_runner *relays[] = {&ra, &rb, &rc};
  for (int i = 0; i < 3; i++) skbox_relay_stop(relays[i]->relay);
  for (int i = 0; i < 3; i++) {
    pthread_join(relays[i]->thread, NULL);
    CHECK(relays[i]->exit.status == 0, "a relay's loop failed");
    skbox_relay_destroy(relays[i]->relay);
  }
  /* The backends: their listeners end, their connection threads have finished with the relays. */
  shutdown(tcp_echo.listener, SHUT_RDWR);
  shutdown(unix_echo.listener, SHUT_RDWR);
  pthread_join(tcp_echo.thread, NULL);
  pthread_join(unix_echo.thread, NULL);
  close(tcp_echo.listener);
  close(unix_echo.listener);
  unlink(unix_path);
  close(sender.listener);
  harness_sleep_ms(100); /* detached echo threads close their last sockets */

  uint64_t echoed = 0, resets = 0, refused = 0, bytes = 0, connections = 0;
  for (int i = 0; i < n_jobs; i++) {
    echoed += jobs[i].echoed;
    resets += jobs[i].resets;
    refused += jobs[i].refused;
    bytes += jobs[i].bytes;
    connections += (uint64_t)jobs[i].n;
  }
  CHECK(echoed + resets + refused == connections, "a connection had no outcome");
  CHECK(refused == (uint64_t)jobs[5].n, "relay C passed bytes");
  CHECK(tcp_echo.headers_checked > 0 && unix_echo.headers_checked > 0, "no PROXY header was checked");
  CHECK(sender.sent == (uint64_t)(jobs[3].n + jobs[4].n), "relay B's sender lost a connection");
  int fds_after = harness_open_fds();
  if (fds_after != fds_before) {
    printf("{\"error\":\"%d descriptors left open\"}\n", fds_after - fds_before);
    return 1;
  }
  printf(
      "{\"connections\":%llu,\"echoed\":%llu,\"resets\":%llu,\"refused\":%llu,\"bytesEchoed\":%llu,"
      "\"proxyV2Checked\":%llu,\"proxyV1Checked\":%llu,\"descriptorsHandedOver\":%llu,\"floods\":%llu}\n",
      (unsigned long long)connections, (unsigned long long)echoed, (unsigned long long)resets,
      (unsigned long long)refused, (unsigned long long)bytes, (unsigned long long)tcp_echo.headers_checked,
      (unsigned long long)unix_echo.headers_checked, (unsigned long long)sender.sent, (unsigned long long)sender.floods);
  return 0;
}
