/* The server's native core under AddressSanitizer, UBSan and LeakSanitizer,
 * with real sockets: accept loops (native/server/accept_loop.c) on real TCP
 * listeners, the destination cache and descriptor passing (dest.c, fdpass.c),
 * the access log, the registrar with its slot registry (registrar.c,
 * slot_registry.c, registration_socket.c), the receiving side
 * (common/fd_receive.c, received_fds.c, registration_client.c) and the -P
 * upstream intake. Built and run by test/native-sanitize-server.test.ts.
 *
 *   server-harness routes   DIR TABLE SCALE LOG   receivers fast, slow, stalling, vanishing,
 *                                                 missing; templates, fail, no match; two
 *                                                 loops on one listener; descriptor floods;
 *                                                 reloads; a loop run again on another
 *                                                 thread; stop while connections wait
 *   server-harness slots    DIR TABLE SCALE       registrar, slot receivers (one vanishing),
 *                                                 a slot nobody holds, hostile API peers
 *   server-harness upstream DIR TABLE SCALE       -P intake: connections and junk arrive as
 *                                                 descriptors over a SOCK_SEQPACKET
 *   server-harness emfile   DIR TABLE             the descriptor table runs full
 *                                                 (RLIMIT_NOFILE) under the loop and the
 *                                                 registrar, then frees up
 *   server-harness source-rate DIR TABLE SCALE    --source-rate: two loops share a small
 *                                                 table; a flooding source is limited, a
 *                                                 polite one is not, and more sources than
 *                                                 it holds go through its eviction
 *
 * Every scenario checks accepted = delivered + refused (per loop counters),
 * that clients saw an outcome for every connection and that receivers
 * answered exactly the delivered ones (less those lost with a receiver that
 * vanished), destroys everything and checks no descriptor is left open.
 * Prints one JSON line of figures; a failed check prints {"error":...} and
 * exits 1; a sanitizer report aborts. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness_util.h"
#include "hostile_peers.h"
#include "receivers.h"
#include "server/accept_loop.h"
#include "server/access_log.h"
#include "server/fdpass.h"
#include "server/listener.h"
#include "server/registrar.h"
#include "server/registration_socket.h"
#include "server/source_rate.h"
#include "server/stats.h"
#include "server/table.h"

/* ---- tables ---- */

static uint8_t *table_bytes;
static size_t table_len;

static void read_table(const char *file) {
  FILE *f = fopen(file, "rb");
  CHECK(f != NULL, "cannot open the table file");
  table_bytes = malloc(1 << 20);
  CHECK(table_bytes != NULL, "out of memory");
  table_len = fread(table_bytes, 1, 1 << 20, f);
  fclose(f);
}

static skbox_table *load_table(void) {
  const char *why = NULL;
  skbox_table *t = skbox_table_load(table_bytes, table_len, &why);
  CHECK(t != NULL, "the test's table was rejected");
  return t;
}

/* ---- loops ---- */

typedef struct {
  skbox_loop *loop;
  uint64_t stats[SKBOX_STAT_COUNT];
  uint64_t target_stats[2 * SKBOX_TARGET_SLOTS];
  pthread_t thread;
  int status;
} loop_runner;

static void *loop_main(void *arg) {
  loop_runner *l = arg;
  l->status = skbox_loop_run(l->loop);
  return NULL;
}

static void loop_create(loop_runner *l, skbox_loop_listener listener, const skbox_loop_options *opt) {
  const char *why = "";
  l->loop = skbox_loop_create(&listener, 1, opt, l->stats, l->target_stats, &why);
  CHECK(l->loop != NULL, "skbox_loop_create");
  skbox_loop_publish(l->loop, load_table());
}

static void loop_start(loop_runner *l) {
  CHECK(pthread_create(&l->thread, NULL, loop_main, l) == 0, "pthread_create");
}

/* n loops on one listener (whose backlog a stop drains), running. */
static void start_loops(loop_runner *loops, int n, int listen_fd, const skbox_loop_options *opt) {
  for (int i = 0; i < n; i++) {
    loop_create(&loops[i], (skbox_loop_listener){.fd = listen_fd, .drain_backlog_on_stop = 1}, opt);
    loop_start(&loops[i]);
  }
}

static int loop_join(loop_runner *l) {
  pthread_join(l->thread, NULL);
  return l->status;
}

static uint64_t stat_of(const loop_runner *l, int n, unsigned s) {
  uint64_t sum = 0;
  for (int i = 0; i < n; i++) sum += __atomic_load_n(&l[i].stats[s], __ATOMIC_ACQUIRE);
  return sum;
}

static const unsigned refusals[] = {
    SKBOX_STAT_REFUSED_NO_MATCH,       SKBOX_STAT_REFUSED_FAIL,         SKBOX_STAT_REFUSED_LOOP,
    SKBOX_STAT_REFUSED_TARGET_MISSING, SKBOX_STAT_REFUSED_TIMEOUT,      SKBOX_STAT_REFUSED_QUEUE_FULL,
    SKBOX_STAT_REFUSED_SEND_ERROR,     SKBOX_STAT_REFUSED_DRAINING,     SKBOX_STAT_REFUSED_OUTSIDE_ROOT,
    SKBOX_STAT_REFUSED_NO_RECEIVER,    SKBOX_STAT_REFUSED_RATE_LIMITED,
};
static const char *const refusal_names[] = {"no_match",     "fail",        "loop",        "target_missing",
                                            "timeout",      "queue_full",  "send_error",  "draining",
                                            "outside_root", "no_receiver", "rate_limited"};
#define N_REFUSALS (sizeof refusals / sizeof *refusals)

static uint64_t refused_of(const loop_runner *l, int n) {
  uint64_t sum = 0;
  for (size_t i = 0; i < N_REFUSALS; i++) sum += stat_of(l, n, refusals[i]);
  return sum;
}

/* accepted = delivered + refused, nothing waits, and the clients agree. */
static void check_accounting(const loop_runner *l, int n, uint64_t clients, const harness_client_result *seen) {
  uint64_t accepted = stat_of(l, n, SKBOX_STAT_ACCEPTED), delivered = stat_of(l, n, SKBOX_STAT_DELIVERED);
  CHECK(accepted == delivered + refused_of(l, n), "accepted != delivered + refused");
  CHECK(stat_of(l, n, SKBOX_STAT_PENDING) == 0, "connections still counted as waiting");
  CHECK(seen->delivered + seen->refused == clients, "a client saw no outcome");
  CHECK(accepted == clients, "the loops accepted another number of connections than the clients made");
  CHECK(delivered >= seen->delivered, "clients were answered on more connections than were delivered");
}

static void print_counts(const char *scenario, const loop_runner *l, int n, const harness_client_result *seen,
                         const char *extra) {
  printf(
      "{\"scenario\":\"%s\",\"connections\":%llu,\"accepted\":%llu,\"delivered\":%llu,\"clientsDelivered\":%llu,"
      "\"clientsRefused\":%llu,\"acceptPauses\":%llu,\"refused\":{",
      scenario, (unsigned long long)(seen->delivered + seen->refused),
      (unsigned long long)stat_of(l, n, SKBOX_STAT_ACCEPTED), (unsigned long long)stat_of(l, n, SKBOX_STAT_DELIVERED),
      (unsigned long long)seen->delivered, (unsigned long long)seen->refused,
      (unsigned long long)stat_of(l, n, SKBOX_STAT_ACCEPT_PAUSES));
  for (size_t i = 0; i < N_REFUSALS; i++)
    printf("%s\"%s\":%llu", i ? "," : "", refusal_names[i], (unsigned long long)stat_of(l, n, refusals[i]));
  printf("}%s%s}\n", extra[0] ? "," : "", extra);
}

/* ---- listeners ---- */

static int open_listener(uint16_t *port) {
  skbox_listener_options o;
  memset(&o, 0, sizeof o); /* [::]: IPv4 clients arrive as ::ffff:a.b.c.d */
  o.reuseaddr = 1;
  const char *step = "";
  int fd = skbox_listener_bind(&o, &step);
  CHECK(fd >= 0, "skbox_listener_bind");
  CHECK(listen(fd, 4096) == 0, "listen");
  const char *why = "";
  CHECK(skbox_listener_adopt(fd, &why) == 0, "skbox_listener_adopt");
  struct sockaddr_in6 a;
  socklen_t len = sizeof a;
  CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0, "getsockname");
  *port = ntohs(a.sin6_port);
  return fd;
}

/* ---- clients, several routes at once ---- */

typedef struct {
  const char *src, *dst;
  int n, in_flight;
  uint16_t port;
  harness_client_result seen;
  pthread_t thread;
} route;

static void *route_main(void *arg) {
  route *r = arg;
  harness_drive(r->src, r->dst, r->port, r->n, r->in_flight, 10000, &r->seen);
  return NULL;
}

static void drive_routes(route *routes, int n, uint16_t port, harness_client_result *total, uint64_t *made) {
  for (int i = 0; i < n; i++) {
    routes[i].port = port;
    CHECK(pthread_create(&routes[i].thread, NULL, route_main, &routes[i]) == 0, "pthread_create");
  }
  for (int i = 0; i < n; i++) {
    pthread_join(routes[i].thread, NULL);
    total->delivered += routes[i].seen.delivered;
    total->refused += routes[i].seen.refused;
    *made += (uint64_t)routes[i].n;
  }
}

/* ---- descriptor floods at receivers ---- */

typedef struct {
  const char *paths[2];
  int messages;
  uint64_t sent;
  pthread_t thread;
} flooder;

static void *flood_main(void *arg) {
  flooder *f = arg;
  uint64_t rng = 42;
  for (int i = 0; i < f->messages; i++) {
    int n = hostile_random(&rng) % 8 == 0 ? 200 + (int)(hostile_random(&rng) % 54) : (int)(hostile_random(&rng) % 24);
    f->sent += (uint64_t)hostile_flood(f->paths[i % 2], n, (int)(hostile_random(&rng) % 2), hostile_random(&rng) % 300,
                                       &rng);
    if (i % 16 == 0) harness_sleep_ms(1);
  }
  return NULL;
}

static char dir[200];

static void path_in_dir(char *out, size_t size, const char *name) {
  int n = snprintf(out, size, "%s/%s", dir, name);
  CHECK(n > 0 && (size_t)n < size, "test directory path too long");
}

static uint64_t total_tcp(receiver *rs, int n) {
  uint64_t sum = 0;
  for (int i = 0; i < n; i++) sum += receiver_tcp(&rs[i]);
  return sum;
}

/* Reloads every 5 ms, pings, and once ends loop 0 and runs it again on a new thread. */
typedef struct {
  loop_runner *loops;
  int stop;
  uint64_t reloads;
} churn_state;

static void *churn_main(void *arg) {
  churn_state *c = arg;
  int rerun = 0;
  while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
    for (int i = 0; i < 2; i++) {
      skbox_loop_publish(c->loops[i].loop, load_table());
      skbox_loop_ping(c->loops[i].loop);
    }
    c->reloads++;
    if (!rerun && c->reloads == 20) {
      rerun = 1;
      skbox_loop_request_abandon(c->loops[0].loop);
      CHECK(loop_join(&c->loops[0]) == SKBOX_LOOP_ABANDONED, "an abandoned loop returned another status");
      loop_start(&c->loops[0]);
    }
    harness_sleep_ms(5);
  }
  return NULL;
}

/* ---- scenario: classic routes ---- */

enum { R_FAST, R_SLOW, R_STALL, R_VANISH, R_T257, R_T258, R_T259, R_T260, N_ROUTE_RECEIVERS };

static int scenario_routes(int scale, int log_format) {
  static const char *names[N_ROUTE_RECEIVERS] = {"fast.sock",    "slow.sock",    "stall.sock",   "vanish.sock",
                                                 "t-00257.sock", "t-00258.sock", "t-00259.sock", "t-00260.sock"};
  static receiver rs[N_ROUTE_RECEIVERS];
  for (int i = 0; i < N_ROUTE_RECEIVERS; i++) {
    path_in_dir(rs[i].path, sizeof rs[i].path, names[i]);
    rs[i].slot = -1;
  }
  rs[R_FAST].pass_credentials = 1;
  rs[R_SLOW].mode = RECEIVER_SLOW;
  rs[R_STALL].mode = RECEIVER_STALL;
  rs[R_STALL].stall_ms = 400;
  rs[R_VANISH].mode = RECEIVER_VANISH;
  for (int i = 0; i < N_ROUTE_RECEIVERS; i++) receiver_start(&rs[i]);

  uint16_t port;
  int listen_fd = open_listener(&port);
  /* A stop gives waiting connections 20 ms, less than their own 100 ms: those still
   * waiting for the stalled receiver then are refused as draining. */
  /* The access log's sink lives as long as the process, as socketbox's does. */
  static skbox_log_sink *access_sink;
  if (log_format && !access_sink) access_sink = skbox_log_sink_open(2, NULL);
  skbox_loop_options opt = {.max_pending = 128,
                            .max_pending_per_target = 32,
                            .dispatch_timeout_ms = 100,
                            .drain_timeout_ms = 20,
                            .max_cached_targets = 6,
                            .access_log = log_format,
                            .log_sink = access_sink};
  static loop_runner loops[2];
  start_loops(loops, 2, listen_fd, &opt);

  flooder flood = {.paths = {rs[R_FAST].path, rs[R_T257].path}, .messages = 150 * scale};
  CHECK(pthread_create(&flood.thread, NULL, flood_main, &flood) == 0, "pthread_create");

  route routes[] = {
      {"127.0.0.1", "127.0.0.1", 400 * scale, 64},  /* fast */
      {"::1", "::1", 100 * scale, 32},              /* fast, IPv6 */
      {"127.0.0.2", "127.0.0.1", 200 * scale, 64},  /* slow: waits for room */
      {"127.0.0.3", "127.0.0.1", 150 * scale, 200}, /* stalls: timeouts, a full queue */
      {"127.0.0.4", "127.0.0.1", 50 * scale, 16},   /* nobody there */
      {"127.0.0.5", "127.0.1.1", 40 * scale, 16},   /* -U templates: t-00257 .. t-00262 */
      {"127.0.0.5", "127.0.1.2", 40 * scale, 16},
      {"127.0.0.5", "127.0.1.3", 40 * scale, 16},
      {"127.0.0.5", "127.0.1.4", 40 * scale, 16},
      {"127.0.0.5", "127.0.1.5", 20 * scale, 16},
      {"127.0.0.5", "127.0.1.6", 20 * scale, 16},
      {"127.0.0.6", "127.0.0.1", 30 * scale, 8},   /* fail */
      {"127.0.0.7", "127.0.0.1", 200 * scale, 32}, /* vanishes and comes back */
      {"127.0.0.8", "127.0.0.1", 30 * scale, 8},   /* no rule matches */
  };
  int n_routes = (int)(sizeof routes / sizeof *routes);
  harness_client_result seen = {0, 0};
  uint64_t made = 0;
  /* Reloads, pings and a loop run again on another thread while the clients run. */
  static churn_state churn;
  churn.loops = loops;
  pthread_t churn_thread;
  CHECK(pthread_create(&churn_thread, NULL, churn_main, &churn) == 0, "pthread_create");
  drive_routes(routes, n_routes, port, &seen, &made);
  __atomic_store_n(&churn.stop, 1, __ATOMIC_RELEASE);
  pthread_join(churn_thread, NULL);
  pthread_join(flood.thread, NULL);

  /* Stop while connections wait for a stalled receiver: each is delivered or refused as draining. */
  receiver_stall(&rs[R_STALL], 1500);
  enum { WAITING = 60 };
  int waiting[WAITING];
  for (int i = 0; i < WAITING; i++) {
    waiting[i] = harness_connect("127.0.0.3", "127.0.0.1", port);
    CHECK(waiting[i] >= 0, "connect");
  }
  harness_sleep_ms(10);
  for (int i = 0; i < 2; i++) skbox_loop_request_stop(loops[i].loop);
  for (int i = 0; i < 2; i++) CHECK(loop_join(&loops[i]) == SKBOX_LOOP_STOPPED, "a loop did not stop cleanly");
  for (int i = 0; i < WAITING; i++) {
    int o = harness_outcome(waiting[i], 5000);
    CHECK(o >= 0, "a connection waiting at stop got no answer");
    if (o) seen.delivered++;
    else seen.refused++;
    close(waiting[i]);
  }
  made += WAITING;
  for (int i = 0; i < N_ROUTE_RECEIVERS; i++) receiver_stop(&rs[i]);

  check_accounting(loops, 2, made, &seen);
  CHECK(total_tcp(rs, N_ROUTE_RECEIVERS) == seen.delivered, "receivers answered other connections than clients saw");
  CHECK(stat_of(loops, 2, SKBOX_STAT_REFUSED_FAIL) == (uint64_t)routes[11].n, "fail");
  CHECK(stat_of(loops, 2, SKBOX_STAT_REFUSED_NO_MATCH) == (uint64_t)routes[13].n, "no_match");
  CHECK(stat_of(loops, 2, SKBOX_STAT_REFUSED_TIMEOUT) + stat_of(loops, 2, SKBOX_STAT_REFUSED_QUEUE_FULL) > 0,
        "a receiver stalled for 4 dispatch timeouts, yet nothing timed out");
  CHECK(stat_of(loops, 2, SKBOX_STAT_REFUSED_DRAINING) > 0, "nothing was refused as draining");
  CHECK(stat_of(loops, 2, SKBOX_STAT_REFUSED_TARGET_MISSING) > 0, "target_missing");
  CHECK(stat_of(loops, 2, SKBOX_STAT_TABLES_ADOPTED) >= 2, "tables adopted");
  CHECK(flood.sent > 0, "no flood message went out");

  char extra[256];
  snprintf(extra, sizeof extra,
           "\"floodMessages\":%llu,\"reloads\":%llu,\"vanished\":%llu,\"floodAccepted\":%llu,\"logLinesDropped\":%llu",
           (unsigned long long)flood.sent, (unsigned long long)churn.reloads, (unsigned long long)rs[R_VANISH].comebacks,
           (unsigned long long)(rs[R_FAST].other + rs[R_T257].other),
           (unsigned long long)(access_sink ? skbox_log_sink_dropped(access_sink) : 0));
  print_counts(log_format ? "routes-log" : "routes", loops, 2, &seen, extra);
  for (int i = 0; i < 2; i++) skbox_loop_destroy(loops[i].loop);
  close(listen_fd);
  return 0;
}

/* ---- scenario: registration slots ---- */

static void *registrar_main(void *arg) {
  CHECK(skbox_registrar_run(arg) == 0, "the registrar failed");
  return NULL;
}

/* A registrar serving the registration socket at an abstract name, on a thread of its own. */
typedef struct {
  int api_fd;
  skbox_registrar *registrar;
  pthread_t thread;
} registrar_runner;

static void registrar_start(registrar_runner *r, const char *api, uint64_t *stats, const skbox_slot_rule *slots,
                            uint32_t n_slots) {
  const char *why = "";
  r->api_fd = skbox_open_registration_socket(api, 0700, -1, -1, 64, &why);
  CHECK(r->api_fd >= 0, "skbox_open_registration_socket");
  r->registrar = skbox_registrar_create(&r->api_fd, 1, stats, &why);
  CHECK(r->registrar != NULL, "skbox_registrar_create");
  CHECK(skbox_registrar_configure(r->registrar, slots, n_slots, 8) == 0, "configure");
  CHECK(pthread_create(&r->thread, NULL, registrar_main, r->registrar) == 0, "pthread_create");
}

static void registrar_join(registrar_runner *r) {
  skbox_registrar_stop(r->registrar);
  pthread_join(r->thread, NULL);
}

static void registrar_destroy(registrar_runner *r) {
  skbox_registrar_destroy(r->registrar);
  close(r->api_fd);
}

typedef struct {
  route *routes;
  int n;
  uint16_t port;
  harness_client_result *seen;
  uint64_t *made;
} drive_args;

static void *drive_main(void *arg) {
  drive_args *a = arg;
  drive_routes(a->routes, a->n, a->port, a->seen, a->made);
  return NULL;
}

static void connect_abstract(int sock, const char *name) {
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  memcpy(a.sun_path + 1, name + 1, strlen(name) - 1);
  CHECK(connect(sock, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name))) == 0,
        "connect to the API socket");
}

static int scenario_slots(int scale) {
  char api[108];
  snprintf(api, sizeof api, "@skbox-harness-api-%d", (int)getpid());
  static uint64_t reg_stats[SKBOX_REG_STAT_COUNT];
  const skbox_slot_rule slots[3] = {{0, 0}, {0, 0}, {0, 0}}; /* slot 2: nobody registers */
  registrar_runner registrar;
  registrar_start(&registrar, api, reg_stats, slots, 3);

  static receiver rs[2];
  snprintf(rs[0].path, sizeof rs[0].path, "%s", api);
  snprintf(rs[1].path, sizeof rs[1].path, "%s", api);
  rs[0].slot = 0;
  rs[1].slot = 1;
  rs[1].mode = RECEIVER_VANISH;
  for (int i = 0; i < 2; i++) receiver_start(&rs[i]);

  uint16_t port;
  int listen_fd = open_listener(&port);
  skbox_loop_options opt = {.max_pending = 256,
                            .max_pending_per_target = 64,
                            .dispatch_timeout_ms = 1000,
                            .drain_timeout_ms = 1000,
                            .max_cached_targets = 16};
  static loop_runner loops[2];
  start_loops(loops, 2, listen_fd, &opt);

  route routes[] = {
      {"127.0.0.1", "127.0.0.1", 400 * scale, 64}, /* slot 0 */
      {"::1", "::1", 100 * scale, 32},             /* slot 0 */
      {"127.0.0.2", "127.0.0.1", 200 * scale, 32}, /* slot 1: its receiver comes and goes */
      {"127.0.0.3", "127.0.0.1", 50 * scale, 16},  /* slot 2: nobody */
  };
  harness_client_result seen = {0, 0};
  uint64_t made = 0;
  hostile_registration_counts hostile = {0, 0, 0};
  pthread_t clients;
  drive_args args = {routes, 4, port, &seen, &made};
  CHECK(pthread_create(&clients, NULL, drive_main, &args) == 0, "pthread_create");
  uint64_t rng = 7;
  for (int i = 0; i < 150 * scale; i++) {
    hostile_registration(api, 0, 3, &rng, &hostile);
    if (i % 50 == 0) CHECK(skbox_registrar_configure(registrar.registrar, slots, 3, 8) == 0, "reconfigure");
  }
  for (int i = 0; i < 3; i++) hostile_registration_other_uid(api, 2, &hostile);
  /* More API connections than the uid may hold, all at once. */
  int idle[10];
  for (int i = 0; i < 10; i++) {
    idle[i] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    connect_abstract(idle[i], api);
  }
  harness_sleep_ms(100);
  for (int i = 0; i < 10; i++) close(idle[i]);
  pthread_join(clients, NULL);

  for (int i = 0; i < 2; i++) skbox_loop_request_stop(loops[i].loop);
  for (int i = 0; i < 2; i++) CHECK(loop_join(&loops[i]) == SKBOX_LOOP_STOPPED, "a loop did not stop cleanly");
  for (int i = 0; i < 2; i++) receiver_stop(&rs[i]); /* before the registrar: they would register again */
  registrar_join(&registrar);

  check_accounting(loops, 2, made, &seen);
  CHECK(total_tcp(rs, 2) == seen.delivered, "receivers answered other connections than clients saw");
  CHECK(stat_of(loops, 2, SKBOX_STAT_REFUSED_NO_RECEIVER) >= (uint64_t)routes[3].n, "no_receiver");
  CHECK(hostile.granted == 0, "a hostile peer was granted a slot");
  CHECK(reg_stats[SKBOX_REG_REFUSED_UID] == hostile.forked_other_uid, "peers of another uid");
  CHECK(reg_stats[SKBOX_REG_REFUSED_MALFORMED] > 0 && reg_stats[SKBOX_REG_REFUSED_SLOT] > 0 &&
            reg_stats[SKBOX_REG_REFUSED_TAKEN] > 0 && reg_stats[SKBOX_REG_REFUSED_LIMIT] > 0,
        "every kind of refusal happened");
  CHECK(reg_stats[SKBOX_REG_CONNECTIONS] == 0 && reg_stats[SKBOX_REG_SLOTS_REGISTERED] == 0,
        "the registrar's gauges are not back at zero");
  char extra[400];
  snprintf(extra, sizeof extra,
           "\"hostileApiConnections\":%llu,\"registrations\":%llu,\"refusedMalformed\":%llu,\"refusedSlot\":%llu,"
           "\"refusedTaken\":%llu,\"refusedLimit\":%llu,\"refusedUid\":%llu,\"vanished\":%llu",
           (unsigned long long)hostile.attempts, (unsigned long long)reg_stats[SKBOX_REG_REGISTERED],
           (unsigned long long)reg_stats[SKBOX_REG_REFUSED_MALFORMED],
           (unsigned long long)reg_stats[SKBOX_REG_REFUSED_SLOT], (unsigned long long)reg_stats[SKBOX_REG_REFUSED_TAKEN],
           (unsigned long long)reg_stats[SKBOX_REG_REFUSED_LIMIT], (unsigned long long)reg_stats[SKBOX_REG_REFUSED_UID],
           (unsigned long long)rs[1].comebacks);
  print_counts("slots", loops, 2, &seen, extra);
  for (int i = 0; i < 2; i++) skbox_loop_destroy(loops[i].loop);
  registrar_destroy(&registrar);
  close(listen_fd);
  return 0;
}

/* ---- scenario: -P upstream intake ---- */

typedef struct {
  int tcp_listener; /* where the clients connect; accepted sockets go upstream */
  int upstream;     /* our end of the registration */
  int expected;
  uint64_t forwarded, junk;
} upstream_sender;

static void *upstream_main(void *arg) {
  upstream_sender *u = arg;
  static const unsigned char payload[4] = {3, 0, 0, 0};
  uint64_t rng = 99;
  while (u->forwarded < (uint64_t)u->expected) {
    int fd = accept4(u->tcp_listener, NULL, NULL, SOCK_CLOEXEC);
    CHECK(fd >= 0, "accept");
    while (skbox_send_fd_with(u->upstream, fd, payload, sizeof payload) != 0) {
      CHECK(errno == EAGAIN, "cannot forward a connection upstream");
      struct pollfd p = {.fd = u->upstream, .events = POLLOUT};
      poll(&p, 1, 100);
    }
    close(fd);
    u->forwarded++;
    if (hostile_random(&rng) % 4 == 0) { /* junk between connections */
      int n = (int)(hostile_random(&rng) % 3 == 0 ? 200 : hostile_random(&rng) % 20);
      unsigned char junk[200];
      size_t len = hostile_random(&rng) % sizeof junk;
      memset(junk, 0x5a, len);
      if (hostile_send(u->upstream, junk, len ? len : 1, n)) u->junk++;
    }
  }
  return NULL;
}

static int scenario_upstream(int scale) {
  static receiver rs[1];
  path_in_dir(rs[0].path, sizeof rs[0].path, "fast.sock");
  rs[0].slot = -1;
  receiver_start(&rs[0]);
  int pair[2];
  CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0, "socketpair");
  CHECK(fcntl(pair[0], F_SETFL, O_NONBLOCK) == 0, "fcntl");
  uint16_t port;
  int tcp = open_listener(&port);
  CHECK(fcntl(tcp, F_SETFL, 0) == 0, "fcntl"); /* the sender blocks in accept */
  skbox_loop_options opt = {.max_pending = 256,
                            .max_pending_per_target = 64,
                            .dispatch_timeout_ms = 1000,
                            .drain_timeout_ms = 1000,
                            .max_cached_targets = 8,
                            .upstream = 1};
  static loop_runner loop;
  loop_create(&loop, (skbox_loop_listener){.fd = pair[0]}, &opt);
  loop_start(&loop);
  route routes[] = {
      {"127.0.0.1", "127.0.0.1", 300 * scale, 32}, /* fast */
      {"::1", "::1", 100 * scale, 16},             /* fast */
      {"127.0.0.4", "127.0.0.1", 30 * scale, 8},   /* nobody there */
      {"127.0.0.8", "127.0.0.1", 30 * scale, 8},   /* no rule */
  };
  upstream_sender u = {.tcp_listener = tcp, .upstream = pair[1], .expected = 460 * scale};
  pthread_t sender;
  CHECK(pthread_create(&sender, NULL, upstream_main, &u) == 0, "pthread_create");
  harness_client_result seen = {0, 0};
  uint64_t made = 0;
  drive_routes(routes, 4, port, &seen, &made);
  pthread_join(sender, NULL);
  close(pair[1]); /* the upstream server goes away: the loop ends */
  CHECK(loop_join(&loop) == SKBOX_LOOP_UPSTREAM_GONE, "the loop did not see its upstream go");
  receiver_stop(&rs[0]);
  check_accounting(&loop, 1, made, &seen);
  CHECK(receiver_tcp(&rs[0]) == seen.delivered, "the receiver answered other connections than clients saw");
  CHECK(loop.stats[SKBOX_STAT_UPSTREAM_RECEIVED] == made, "upstream connections");
  CHECK(loop.stats[SKBOX_STAT_UPSTREAM_INVALID] > 0, "junk was not counted");
  /* Descriptors never ran short here: a message with more descriptors than fit is no reason
   * to stop taking connections. */
  CHECK(loop.stats[SKBOX_STAT_ACCEPT_PAUSES] == 0, "junk descriptors paused the intake");
  char extra[128];
  snprintf(extra, sizeof extra, "\"junkMessages\":%llu,\"upstreamInvalid\":%llu", (unsigned long long)u.junk,
           (unsigned long long)loop.stats[SKBOX_STAT_UPSTREAM_INVALID]);
  print_counts("upstream", &loop, 1, &seen, extra);
  skbox_loop_destroy(loop.loop);
  close(pair[0]);
  close(tcp);
  return 0;
}

/* ---- scenario: the descriptor table runs full ---- */

static int lowest_free_fd(void) {
  int fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
  CHECK(fd >= 0, "dup");
  close(fd);
  return fd;
}

static int scenario_emfile(void) {
  char api[108];
  snprintf(api, sizeof api, "@skbox-harness-emfile-%d", (int)getpid());
  static uint64_t reg_stats[SKBOX_REG_STAT_COUNT];
  const skbox_slot_rule slots[1] = {{0, 0}};
  registrar_runner registrar;
  registrar_start(&registrar, api, reg_stats, slots, 1);

  static receiver rs[1];
  path_in_dir(rs[0].path, sizeof rs[0].path, "fast.sock");
  rs[0].slot = -1;
  receiver_start(&rs[0]);
  uint16_t port;
  int listen_fd = open_listener(&port);
  skbox_loop_options opt = {.max_pending = 64,
                            .max_pending_per_target = 64,
                            .dispatch_timeout_ms = 1000,
                            .drain_timeout_ms = 1000,
                            .max_cached_targets = 4};
  static loop_runner loop;
  loop_create(&loop, (skbox_loop_listener){.fd = listen_fd}, &opt);
  loop_start(&loop);

  harness_client_result seen = {0, 0};
  harness_drive("127.0.0.1", "127.0.0.1", port, 100, 16, 5000, &seen); /* warm: the target is cached */
  enum { BACKLOG = 50 };
  int clients[BACKLOG];
  for (int i = 0; i < BACKLOG; i++) {
    clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(clients[i] >= 0, "socket");
  }
  int api_client = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  CHECK(api_client >= 0, "socket");
  struct rlimit saved;
  CHECK(getrlimit(RLIMIT_NOFILE, &saved) == 0, "getrlimit");
  harness_sleep_ms(50); /* the receiver closes the warm-up's last connections after answering them */
  /* Every descriptor number below the limit is taken: accept4 can only fail with EMFILE. */
  struct rlimit full = {.rlim_cur = (rlim_t)lowest_free_fd(), .rlim_max = saved.rlim_max};
  CHECK(setrlimit(RLIMIT_NOFILE, &full) == 0, "setrlimit");
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  for (int i = 0; i < BACKLOG; i++)
    CHECK(connect(clients[i], (struct sockaddr *)&to, sizeof to) == 0, "connect (completed by the backlog)");
  connect_abstract(api_client, api);
  harness_sleep_ms(350); /* three back-offs' worth of EMFILE */
  uint64_t accepted_while_full = loop.stats[SKBOX_STAT_ACCEPTED] - 100;
  uint64_t emfile = __atomic_load_n(&loop.stats[SKBOX_STAT_ACCEPT_ERRNO + EMFILE], __ATOMIC_ACQUIRE);
  uint64_t pauses = __atomic_load_n(&loop.stats[SKBOX_STAT_ACCEPT_PAUSES], __ATOMIC_ACQUIRE);
  uint64_t api_while_full = __atomic_load_n(&reg_stats[SKBOX_REG_API_ACCEPTED], __ATOMIC_ACQUIRE);
  CHECK(setrlimit(RLIMIT_NOFILE, &saved) == 0, "setrlimit");
  if (!(accepted_while_full == 0 && emfile > 0 && pauses > 0))
    printf("{\"acceptedWhileFull\":%llu,\"emfile\":%llu,\"pauses\":%llu}\n", (unsigned long long)accepted_while_full,
           (unsigned long long)emfile, (unsigned long long)pauses);
  CHECK(accepted_while_full == 0 && emfile > 0 && pauses > 0, "the loop did not pause on EMFILE");
  CHECK(api_while_full == 0, "the registrar accepted while the table was full");

  /* Freed: the backlog is served, the API client is let in. */
  for (int i = 0; i < BACKLOG; i++) {
    int o = harness_outcome(clients[i], 5000);
    CHECK(o == 1, "a connection from the backlog was not delivered after descriptors were freed");
    seen.delivered++;
    close(clients[i]);
  }
  unsigned char reg[8] = {1, 0, 0, 0, 0, 0, 0, 0};
  CHECK(send(api_client, reg, sizeof reg, MSG_NOSIGNAL) == 8, "send a registration");
  struct pollfd p = {.fd = api_client, .events = POLLIN};
  unsigned char answer[4] = {0};
  CHECK(poll(&p, 1, 5000) == 1 && recv(api_client, answer, sizeof answer, 0) == 4 && answer[0] == 0x80,
        "the API client was not served after descriptors were freed");
  close(api_client);

  skbox_loop_request_stop(loop.loop);
  CHECK(loop_join(&loop) == SKBOX_LOOP_STOPPED, "the loop did not stop cleanly");
  registrar_join(&registrar);
  receiver_stop(&rs[0]);
  check_accounting(&loop, 1, 100 + BACKLOG, &seen);
  CHECK(receiver_tcp(&rs[0]) == seen.delivered, "the receiver answered other connections than clients saw");
  char extra[128];
  snprintf(extra, sizeof extra, "\"emfileErrors\":%llu", (unsigned long long)emfile);
  print_counts("emfile", &loop, 1, &seen, extra);
  skbox_loop_destroy(loop.loop);
  registrar_destroy(&registrar);
  close(listen_fd);
  return 0;
}

/* ---- scenario: --source-rate ---- */

enum { RATE_BURST = 20, RATE_PER_S = 50, RATE_ENTRIES = 64, RATE_SOURCES = 200 };

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int scenario_source_rate(int scale) {
  static receiver rs[1];
  path_in_dir(rs[0].path, sizeof rs[0].path, "fast.sock");
  rs[0].slot = -1;
  receiver_start(&rs[0]);
  /* Small on purpose: 4 shards of 16, so that eviction runs often. */
  skbox_source_rate_config cfg = {.rate_milli = RATE_PER_S * 1000u,
                                  .burst = RATE_BURST,
                                  .prefix_v6 = 64,
                                  .prefix_v4 = 32,
                                  .entries = RATE_ENTRIES,
                                  .shards = 4};
  const char *why = "";
  skbox_source_rate *limit = skbox_source_rate_create(&cfg, &why);
  CHECK(limit != NULL, "skbox_source_rate_create");

  uint16_t port;
  int listen_fd = open_listener(&port);
  skbox_loop_options opt = {.max_pending = 512,
                            .max_pending_per_target = 512,
                            .dispatch_timeout_ms = 2000,
                            .drain_timeout_ms = 1000,
                            .max_cached_targets = 4,
                            .source_rate = limit};
  static loop_runner loops[2];
  start_loops(loops, 2, listen_fd, &opt);

  /* The flood (IPv6 ::1, a /64) and the polite source (IPv4, a /32) at once; both go to fast.sock. */
  route routes[] = {
      {"::1", "::1", 300 * scale, 64},
      {"127.0.0.1", "127.0.0.1", RATE_BURST / 2, 1},
  };
  harness_client_result seen = {0, 0};
  uint64_t made = 0;
  double began = seconds_now();
  drive_routes(routes, 2, port, &seen, &made);
  double took = seconds_now() - began;
  /* More sources than the table holds, one connection each (no rule for them: no_match). */
  for (int i = 0; i < RATE_SOURCES; i++) {
    char src[32];
    snprintf(src, sizeof src, "127.0.%d.%d", 3 + i / 250, 1 + i % 250);
    harness_client_result one = {0, 0};
    harness_drive(src, "127.0.0.1", port, 1, 1, 10000, &one);
    seen.delivered += one.delivered;
    seen.refused += one.refused;
    made++;
  }

  for (int i = 0; i < 2; i++) skbox_loop_request_stop(loops[i].loop);
  for (int i = 0; i < 2; i++) CHECK(loop_join(&loops[i]) == SKBOX_LOOP_STOPPED, "a loop did not stop cleanly");
  receiver_stop(&rs[0]);

  check_accounting(loops, 2, made, &seen);
  uint64_t limited = stat_of(loops, 2, SKBOX_STAT_REFUSED_RATE_LIMITED);
  CHECK(routes[1].seen.delivered == (uint64_t)routes[1].n, "the polite source was not fully served");
  CHECK(limited > 0 && limited <= routes[0].seen.refused, "the flood was not limited, or others were");
  CHECK(routes[0].seen.delivered <= RATE_BURST + RATE_PER_S * took + 1, "the flood got more than its bucket allows");
  CHECK(routes[0].seen.delivered >= RATE_BURST, "the flood did not get its burst");
  CHECK(stat_of(loops, 2, SKBOX_STAT_REFUSED_NO_MATCH) == RATE_SOURCES, "a new source was limited");
  uint64_t entries = stat_of(loops, 2, SKBOX_STAT_SOURCE_RATE_ENTRIES);
  uint64_t evictions = stat_of(loops, 2, SKBOX_STAT_SOURCE_RATE_EVICTIONS);
  CHECK(skbox_source_rate_held(limit) == entries, "the table and the counters disagree on its entries");
  CHECK(entries == RATE_ENTRIES, "the table is not full at its size");
  CHECK(entries + evictions == 2 + RATE_SOURCES, "a source was neither added nor evicting");

  char extra[160];
  snprintf(extra, sizeof extra, "\"floodDelivered\":%llu,\"floodSeconds\":%.3f,\"entries\":%llu,\"evictions\":%llu",
           (unsigned long long)routes[0].seen.delivered, took, (unsigned long long)entries,
           (unsigned long long)evictions);
  print_counts("source-rate", loops, 2, &seen, extra);
  for (int i = 0; i < 2; i++) skbox_loop_destroy(loops[i].loop);
  skbox_source_rate_free(limit);
  close(listen_fd);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: server-harness routes|slots|upstream|emfile|source-rate DIR TABLE [SCALE] [LOG]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  snprintf(dir, sizeof dir, "%s", argv[2]);
  read_table(argv[3]);
  int scale = argc > 4 ? atoi(argv[4]) : 1;
  if (scale < 1) scale = 1;
  int fds_before = harness_open_fds();
  int rc;
  if (strcmp(argv[1], "routes") == 0) rc = scenario_routes(scale, argc > 5 ? atoi(argv[5]) : SKBOX_ACCESS_LOG_OFF);
  else if (strcmp(argv[1], "slots") == 0) rc = scenario_slots(scale);
  else if (strcmp(argv[1], "upstream") == 0) rc = scenario_upstream(scale);
  else if (strcmp(argv[1], "emfile") == 0) rc = scenario_emfile();
  else if (strcmp(argv[1], "source-rate") == 0) rc = scenario_source_rate(scale);
  else {
    fprintf(stderr, "unknown scenario %s\n", argv[1]);
    return 2;
  }
  free(table_bytes);
  int fds_after = harness_open_fds();
  if (fds_after != fds_before) {
    printf("{\"error\":\"%d descriptors left open (%d before, %d after)\"}\n", fds_after - fds_before, fds_before,
           fds_after);
    return 1;
  }
  return rc;
}
