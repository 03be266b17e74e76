/* Loading the BPF object and attaching its sk_lookup program to a network
 * namespace with a BPF link. The link lives as long as its descriptor: if
 * socketbox dies, the kernel detaches the program, and connections go back to
 * the normal lookup by themselves. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fastpath/libbpf_calls.h"

#include "fastpath/fastpath.h"
#include "fastpath/fastpath_state.h"

#define CLOSED \
  { \
    .prog_fd = -1, .link_fd = -1, .netns_fd = -1, .state_fd = -1, .headers_fd = -1, .starts_fd = -1, .sets_fd = -1, \
    .rules_fd = -1, .map_entries_fd = -1, .targets_fd = -1, .listeners_fd = -1, .slot_sockets_fd = -1, \
    .decisions_fd = -1, .assigned_fd = -1, .barrier_fd = -1, .barrier_inner_fd = -1 \
  }
static const skbox_fp_maps closed = CLOSED;
skbox_fp_maps skbox_fp = CLOSED;
int skbox_fp_attached = 0;
pthread_mutex_t skbox_fp_slot_lock = PTHREAD_MUTEX_INITIALIZER;

/* libbpf's messages: keep the last warning (the reason a load failed); print them all
 * (the verifier's log included) only when asked. */
static char last_message[256];
static int print_messages;

static int keep_last_message(enum libbpf_print_level level, const char *fmt, va_list args) {
  if (print_messages) {
    va_list copy;
    va_copy(copy, args);
    vfprintf(stderr, fmt, copy);
    va_end(copy);
  }
  if (level == LIBBPF_DEBUG) return 0;
  char line[sizeof last_message];
  vsnprintf(line, sizeof line, fmt, args);
  line[strcspn(line, "\n")] = 0;
  if (line[0]) memcpy(last_message, line, sizeof line);
  return 0;
}

static int map_fd(const char *name) {
  struct bpf_map *m = bpf_object__find_map_by_name(skbox_fp.obj, name);
  return m ? bpf_map__fd(m) : -1;
}

static void close_if_open(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static int fail(char *why, size_t len, const char *step) {
  int e = errno ? errno : EINVAL;
  snprintf(why, len, "%s%s%s", step, last_message[0] ? ": " : "", last_message);
  skbox_fastpath_stop();
  errno = e;
  return -1;
}

/* A map of maps whose update makes the kernel wait for every running program
 * (synchronize_rcu): how a publish knows the old generation is unused. */
static int create_barrier(void) {
  skbox_fp.barrier_inner_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "skbox_fp_inner", 4, 4, 1, NULL);
  if (skbox_fp.barrier_inner_fd < 0) return -1;
  LIBBPF_OPTS(bpf_map_create_opts, opts, .inner_map_fd = skbox_fp.barrier_inner_fd);
  skbox_fp.barrier_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "skbox_fp_sync", 4, 4, 1, &opts);
  return skbox_fp.barrier_fd < 0 ? -1 : 0;
}

int skbox_fp_wait_for_programs(void) {
  uint32_t key = 0;
  return bpf_map_update_elem(skbox_fp.barrier_fd, &key, &skbox_fp.barrier_inner_fd, BPF_ANY);
}

int skbox_fastpath_start(const char *object_path, int verbose, char *why, size_t why_len) {
  if (skbox_fp.obj) {
    snprintf(why, why_len, "already started");
    errno = EALREADY;
    return -1;
  }
  skbox_fp = closed;
  if (skbox_libbpf_open(why, why_len) != 0) return -1;
  last_message[0] = 0;
  print_messages = verbose;
  errno = 0;
  libbpf_set_print(keep_last_message);
  skbox_fp.obj = bpf_object__open_file(object_path, NULL);
  if (!skbox_fp.obj) {
    skbox_fp.obj = NULL;
    return fail(why, why_len, "opening the BPF object");
  }
  if (bpf_object__load(skbox_fp.obj) != 0) return fail(why, why_len, "loading the BPF program");
  struct bpf_program *prog = bpf_object__find_program_by_name(skbox_fp.obj, "skbox_sk_lookup");
  skbox_fp.prog_fd = prog ? bpf_program__fd(prog) : -1;
  skbox_fp.state_fd = map_fd("fp_state");
  skbox_fp.headers_fd = map_fd("fp_headers");
  skbox_fp.starts_fd = map_fd("fp_starts");
  skbox_fp.sets_fd = map_fd("fp_sets");
  skbox_fp.rules_fd = map_fd("fp_rules");
  skbox_fp.map_entries_fd = map_fd("fp_map_entries");
  skbox_fp.targets_fd = map_fd("fp_targets");
  skbox_fp.listeners_fd = map_fd("fp_listeners");
  skbox_fp.slot_sockets_fd = map_fd("fp_slot_sockets");
  skbox_fp.decisions_fd = map_fd("fp_decisions");
  skbox_fp.assigned_fd = map_fd("fp_assigned");
  if (skbox_fp.prog_fd < 0 || skbox_fp.state_fd < 0 || skbox_fp.headers_fd < 0 || skbox_fp.starts_fd < 0 ||
      skbox_fp.sets_fd < 0 || skbox_fp.rules_fd < 0 || skbox_fp.map_entries_fd < 0 || skbox_fp.targets_fd < 0 ||
      skbox_fp.listeners_fd < 0 || skbox_fp.slot_sockets_fd < 0 || skbox_fp.decisions_fd < 0 ||
      skbox_fp.assigned_fd < 0) {
    errno = ENOENT;
    return fail(why, why_len, "the BPF object lacks a program or map this socketbox needs");
  }
  if (create_barrier() != 0) return fail(why, why_len, "creating the publish barrier map");
  skbox_fp.netns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (skbox_fp.netns_fd < 0) return fail(why, why_len, "opening /proc/thread-self/ns/net");
  skbox_fp.link_fd = bpf_link_create(skbox_fp.prog_fd, skbox_fp.netns_fd, BPF_SK_LOOKUP, NULL);
  if (skbox_fp.link_fd < 0) return fail(why, why_len, "attaching the sk_lookup program to the network namespace");
  __atomic_store_n(&skbox_fp_attached, 1, __ATOMIC_RELEASE);
  return 0;
}

int skbox_fastpath_active(void) {
  return __atomic_load_n(&skbox_fp_attached, __ATOMIC_ACQUIRE);
}

void skbox_fastpath_stop(void) {
  /* Under the slot lock: the registrar must never use a map descriptor number
   * after it was closed (and perhaps reused). */
  pthread_mutex_lock(&skbox_fp_slot_lock);
  __atomic_store_n(&skbox_fp_attached, 0, __ATOMIC_RELEASE);
  close_if_open(&skbox_fp.link_fd);
  close_if_open(&skbox_fp.netns_fd);
  close_if_open(&skbox_fp.barrier_fd);
  close_if_open(&skbox_fp.barrier_inner_fd);
  if (skbox_fp.obj) bpf_object__close(skbox_fp.obj);
  skbox_fp = closed;
  skbox_fp_table_reset();
  pthread_mutex_unlock(&skbox_fp_slot_lock);
}
