#include "server/registrar.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/fd_send.h"
#include "server/slot_registry.h"
#include "fastpath/fastpath.h" /* listener mode (docs/fast-path.md) */

#define TAG_API_LISTENER 0x4150494c
#define TAG_API_CONN 0x41504943
#define TAG_CONTROL 0x4354524c
#define ACCEPT_BATCH 32
#define NOFILE_BACKOFF_MS 100
#define REGISTER_COMMAND 1
#define REGISTER_LISTENER_COMMAND 2 /* listener mode: the grant may carry a listening socket */
#define NOBODY (-1)
#define STOP 1
#define PAUSE 2

typedef struct {
  int tag;
  int fd;
  uint32_t index;
} api_listener;

typedef struct api_conn {
  int tag;
  int fd;
  uint32_t uid, api_index;
  int64_t slot;         /* NOBODY until registered */
  int listener_mode;    /* the fast path holds a listener for the slot */
  uint64_t deadline_ms; /* to register by */
  struct api_conn *prev, *next;
  int64_t registered_at_ms; /* wall clock, for skbox_registrar_held */
} api_conn;

typedef struct {
  uint32_t uid, count;
} uid_count;

struct skbox_registrar {
  int epfd, ctl_fd, ctl_tag;
  api_listener *listeners;
  int n_listeners, listening;
  uint64_t resume_at_ms;
  uint64_t *stats;
  api_conn *conns;
  /* The configuration in force: touched by the registrar's thread only. */
  skbox_slot_rule *slots;
  api_conn **owners; /* per slot: the registered connection, or NULL; changed under lock (read by skbox_registrar_held) */
  uint32_t n_slots, limit;
  uid_count *uids;
  uint32_t n_uids, cap_uids;
  /* The next configuration, handed over under the lock. */
  pthread_mutex_t lock;
  skbox_slot_rule *next_slots;
  uint32_t next_n_slots, next_limit;
  int has_next, stop;
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void stat_add(skbox_registrar *r, int s, int64_t n) {
  __atomic_fetch_add(&r->stats[s], (uint64_t)n, __ATOMIC_RELAXED);
}

static void wake(skbox_registrar *r) {
  uint64_t one = 1;
  (void)!write(r->ctl_fd, &one, sizeof one);
}

skbox_registrar *skbox_registrar_create(const int *api_fds, int n_api, uint64_t *stats, const char **why) {
  skbox_registrar *r = calloc(1, sizeof *r);
  if (!r) {
    *why = "out of memory";
    return NULL;
  }
  pthread_mutex_init(&r->lock, NULL);
  r->epfd = epoll_create1(EPOLL_CLOEXEC);
  r->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  r->ctl_tag = TAG_CONTROL;
  r->listeners = calloc(n_api > 0 ? n_api : 1, sizeof *r->listeners);
  r->stats = stats;
  r->limit = 5;
  if (r->epfd < 0 || r->ctl_fd < 0 || !r->listeners) {
    *why = "cannot create the registrar's epoll set or eventfd";
    skbox_registrar_destroy(r);
    return NULL;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &r->ctl_tag};
  epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->ctl_fd, &ev);
  for (int i = 0; i < n_api; i++) r->listeners[i] = (api_listener){TAG_API_LISTENER, api_fds[i], (uint32_t)i};
  r->n_listeners = n_api;
  return r;
}

static void set_listening(skbox_registrar *r, int on) {
  if (r->listening == on) return;
  for (int i = 0; i < r->n_listeners; i++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &r->listeners[i]};
    epoll_ctl(r->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, r->listeners[i].fd, on ? &ev : NULL);
  }
  r->listening = on;
}

static uid_count *uid_entry(skbox_registrar *r, uint32_t uid, int create) {
  for (uint32_t i = 0; i < r->n_uids; i++)
    if (r->uids[i].uid == uid) return &r->uids[i];
  if (!create) return NULL;
  if (r->n_uids == r->cap_uids) {
    uint32_t cap = r->cap_uids ? r->cap_uids * 2 : 8;
    uid_count *grown = realloc(r->uids, cap * sizeof *grown);
    if (!grown) return NULL;
    r->uids = grown;
    r->cap_uids = cap;
  }
  r->uids[r->n_uids] = (uid_count){uid, 0};
  return &r->uids[r->n_uids++];
}

static int uid_owns_a_slot(const skbox_registrar *r, uint32_t uid) {
  for (uint32_t i = 0; i < r->n_slots; i++)
    if (r->slots[i].uid == uid) return 1;
  return 0;
}

/* Ends an API connection; a registered one frees its slot first, so no loop
 * can take a duplicate of a descriptor that is about to close. */
static void close_conn(skbox_registrar *r, api_conn *c, int why) {
  if (c->slot != NOBODY) {
    skbox_slot_assign((uint32_t)c->slot, -1);
    /* Fast path: out of the map; if the receiver is gone, its queue is taken back and counted. */
    if (c->listener_mode)
      skbox_fastpath_slot_close((uint32_t)c->slot, why == SKBOX_REG_ENDED || why == SKBOX_REG_REFUSED_MALFORMED);
    pthread_mutex_lock(&r->lock);
    if ((uint64_t)c->slot < r->n_slots && r->owners[c->slot] == c) r->owners[c->slot] = NULL;
    pthread_mutex_unlock(&r->lock);
    stat_add(r, SKBOX_REG_SLOTS_REGISTERED, -1);
  }
  if (why >= 0) stat_add(r, why, 1);
  epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
  /* Accept loops may still hold duplicates of a registered descriptor: shutdown ends the
   * connection itself, so the receiver sees the end of the stream now, not when the last
   * duplicate goes. */
  shutdown(c->fd, SHUT_RDWR);
  close(c->fd);
  uid_count *u = uid_entry(r, c->uid, 0);
  if (u && u->count) u->count--;
  stat_add(r, SKBOX_REG_CONNECTIONS, -1);
  if (c->prev) c->prev->next = c->next;
  else r->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  free(c);
  if (r->resume_at_ms) r->resume_at_ms = 0; /* a descriptor was freed */
}

static void admit(skbox_registrar *r, const api_listener *l, int fd, uint64_t now) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || !uid_owns_a_slot(r, cred.uid)) {
    close(fd);
    stat_add(r, SKBOX_REG_REFUSED_UID, 1);
    return;
  }
  uid_count *u = uid_entry(r, cred.uid, 1);
  api_conn *c = u && u->count < r->limit ? calloc(1, sizeof *c) : NULL;
  if (!c) {
    close(fd);
    stat_add(r, SKBOX_REG_REFUSED_LIMIT, 1);
    return;
  }
  *c = (api_conn){TAG_API_CONN, fd, cred.uid, l->index, NOBODY, 0, now + SKBOX_REGISTRATION_TIMEOUT_MS, NULL, r->conns};
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
  if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    close(fd);
    free(c);
    stat_add(r, SKBOX_REG_REFUSED_LIMIT, 1);
    return;
  }
  if (r->conns) r->conns->prev = c;
  r->conns = c;
  u->count++;
  stat_add(r, SKBOX_REG_API_ACCEPTED, 1);
  stat_add(r, SKBOX_REG_CONNECTIONS, 1);
}

static void accept_api(skbox_registrar *r, const api_listener *l, uint64_t now) {
  for (int i = 0; i < ACCEPT_BATCH; i++) {
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      admit(r, l, fd, now);
      continue;
    }
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      set_listening(r, 0); /* no busy loop while descriptors are short */
      r->resume_at_ms = now + NOFILE_BACKOFF_MS;
    }
    return;
  }
}

static uint32_t read_be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Which refusal a well-formed registration for slot gets, or -1 to grant it. */
static int registration_problem(const skbox_registrar *r, const api_conn *c, uint32_t slot) {
  if (slot >= r->n_slots || r->slots[slot].uid != c->uid || r->slots[slot].path_nr != c->api_index)
    return SKBOX_REG_REFUSED_SLOT;
  if (r->owners[slot]) return SKBOX_REG_REFUSED_TAKEN;
  return -1;
}

static void serve_conn(skbox_registrar *r, api_conn *c) {
  unsigned char packet[16];
  /* MSG_TRUNC: the packet's real length, so an oversized one is seen as such.
   * Descriptors sent along are discarded (and closed) by the kernel. */
  ssize_t n = recv(c->fd, packet, sizeof packet, MSG_DONTWAIT | MSG_TRUNC);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (n <= 0) {
    close_conn(r, c, c->slot != NOBODY ? SKBOX_REG_ENDED : -1);
    return;
  }
  int command = packet[0];
  if (c->slot != NOBODY || n != 8 || (command != REGISTER_COMMAND && command != REGISTER_LISTENER_COMMAND) || packet[1] ||
      packet[2] || packet[3]) {
    close_conn(r, c, SKBOX_REG_REFUSED_MALFORMED);
    return;
  }
  uint32_t slot = read_be32(packet + 4);
  int problem = registration_problem(r, c, slot);
  if (problem >= 0) {
    close_conn(r, c, problem);
    return;
  }
  static const unsigned char granted[4] = {0x80, 0, 0, 0};
  ssize_t sent = command == REGISTER_LISTENER_COMMAND
                     ? skbox_fastpath_grant(c->fd, slot, &c->listener_mode)
                     : skbox_send_fds(c->fd, NULL, 0, granted, sizeof granted, NULL, 0, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (sent != (ssize_t)sizeof granted) {
    close_conn(r, c, -1);
    return;
  }
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  pthread_mutex_lock(&r->lock);
  c->slot = slot;
  c->registered_at_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
  r->owners[slot] = c;
  pthread_mutex_unlock(&r->lock);
  skbox_slot_assign(slot, c->fd);
  stat_add(r, SKBOX_REG_REGISTERED, 1);
  stat_add(r, SKBOX_REG_SLOTS_REGISTERED, 1);
}

int skbox_registrar_configure(skbox_registrar *r, const skbox_slot_rule *slots, uint32_t n_slots,
                              uint32_t per_uid_limit) {
  skbox_slot_rule *copy = malloc((n_slots ? n_slots : 1) * sizeof *copy);
  if (!copy) return -1;
  if (n_slots) memcpy(copy, slots, n_slots * sizeof *copy);
  pthread_mutex_lock(&r->lock);
  free(r->next_slots);
  r->next_slots = copy;
  r->next_n_slots = n_slots;
  r->next_limit = per_uid_limit ? per_uid_limit : 1;
  r->has_next = 1;
  pthread_mutex_unlock(&r->lock);
  wake(r);
  return 0;
}

/* A new configuration: registrations keep their slot while it still exists
 * with the same owner and API socket; the others are dropped. */
static void adopt_configuration(skbox_registrar *r) {
  pthread_mutex_lock(&r->lock);
  if (!r->has_next) {
    pthread_mutex_unlock(&r->lock);
    return;
  }
  skbox_slot_rule *slots = r->next_slots;
  uint32_t n = r->next_n_slots;
  r->next_slots = NULL;
  r->has_next = 0;
  r->limit = r->next_limit;
  pthread_mutex_unlock(&r->lock);
  api_conn **owners = calloc(n ? n : 1, sizeof *owners);
  if (!owners) {
    free(slots);
    return; /* keep the old configuration rather than lose registrations */
  }
  pthread_mutex_lock(&r->lock);
  free(r->slots);
  free(r->owners);
  r->slots = slots;
  r->owners = owners;
  r->n_slots = n;
  for (api_conn *c = r->conns; c; c = c->next) {
    if (c->slot == NOBODY) continue;
    uint32_t s = (uint32_t)c->slot;
    if (s < n && slots[s].uid == c->uid && slots[s].path_nr == c->api_index && !owners[s]) owners[s] = c;
  }
  pthread_mutex_unlock(&r->lock);
  /* The registrations left without their slot; close_conn takes the lock itself. */
  for (api_conn *c = r->conns, *next; c; c = next) {
    next = c->next;
    if (c->slot != NOBODY && ((uint32_t)c->slot >= n || owners[c->slot] != c))
      close_conn(r, c, SKBOX_REG_DROPPED_BY_RELOAD);
  }
}

static int expire_and_next_deadline(skbox_registrar *r, uint64_t now) {
  int64_t best = -1;
  for (api_conn *c = r->conns, *next; c; c = next) {
    next = c->next;
    if (c->slot != NOBODY) continue;
    if (c->deadline_ms <= now) {
      close_conn(r, c, SKBOX_REG_REFUSED_TIMEOUT);
      continue;
    }
    if (best < 0 || (int64_t)c->deadline_ms < best) best = (int64_t)c->deadline_ms;
  }
  if (!r->listening && (best < 0 || (int64_t)r->resume_at_ms < best)) best = (int64_t)r->resume_at_ms;
  if (best < 0) return -1;
  return best <= (int64_t)now ? 0 : (int)(best - (int64_t)now);
}

int skbox_registrar_run(skbox_registrar *r) {
  struct epoll_event events[32];
  int status = 0;
  adopt_configuration(r);
  set_listening(r, 1);
  while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
    uint64_t now = now_ms();
    if (!r->listening && now >= r->resume_at_ms) set_listening(r, 1);
    int n = epoll_wait(r->epfd, events, 32, expire_and_next_deadline(r, now));
    if (n < 0 && errno != EINTR) {
      status = -1;
      break;
    }
    now = now_ms();
    for (int i = 0; i < n; i++) {
      int tag = *(int *)events[i].data.ptr;
      if (tag == TAG_API_LISTENER) {
        if (r->listening) accept_api(r, events[i].data.ptr, now);
      } else if (tag == TAG_API_CONN) {
        serve_conn(r, events[i].data.ptr);
      } else {
        uint64_t v;
        (void)!read(r->ctl_fd, &v, sizeof v);
        adopt_configuration(r);
        /* It may have closed connections with events later in this batch;
         * epoll is level-triggered, so those come again. */
        break;
      }
    }
  }
  set_listening(r, 0);
  int paused = PAUSE;
  if (status == 0 && __atomic_compare_exchange_n(&r->stop, &paused, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return SKBOX_REGISTRAR_PAUSED;
  while (r->conns) close_conn(r, r->conns, -1);
  return status;
}

void skbox_registrar_stop(skbox_registrar *r) {
  __atomic_store_n(&r->stop, STOP, __ATOMIC_RELEASE);
  wake(r);
}

void skbox_registrar_pause(skbox_registrar *r) {
  int running = 0;
  __atomic_compare_exchange_n(&r->stop, &running, PAUSE, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
  wake(r);
}

int skbox_registrar_connections(const skbox_registrar *r, skbox_api_conn_state *out, int max) {
  int n = 0;
  for (const api_conn *c = r->conns; c; c = c->next, n++)
    if (n < max) out[n] = (skbox_api_conn_state){c->fd, c->uid, c->api_index, c->slot, c->listener_mode};
  return n;
}

int skbox_registrar_adopt(skbox_registrar *r, const skbox_api_conn_state *s, const char **why) {
  int type = 0;
  socklen_t len = sizeof type;
  struct ucred cred;
  socklen_t cred_len = sizeof cred;
  if (getsockopt(s->fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET ||
      getsockopt(s->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0 || cred.uid != s->uid) {
    *why = "not a registration connection of that uid";
    return -1;
  }
  if (s->slot != NOBODY && (s->slot < 0 || s->slot >= SKBOX_MAX_SLOTS || s->listener_mode)) {
    *why = "its slot cannot be taken over";
    return -1;
  }
  uid_count *u = uid_entry(r, s->uid, 1);
  api_conn *c = u ? calloc(1, sizeof *c) : NULL;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
  if (!c || fcntl(s->fd, F_SETFD, FD_CLOEXEC) < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
    free(c);
    *why = "out of memory";
    return -1;
  }
  *c = (api_conn){TAG_API_CONN, s->fd,   s->uid, s->api_index, s->slot, 0, now_ms() + SKBOX_REGISTRATION_TIMEOUT_MS,
                  NULL,         r->conns};
  if (r->conns) r->conns->prev = c;
  r->conns = c;
  u->count++;
  stat_add(r, SKBOX_REG_CONNECTIONS, 1);
  if (c->slot != NOBODY) {
    skbox_slot_assign((uint32_t)c->slot, c->fd);
    stat_add(r, SKBOX_REG_SLOTS_REGISTERED, 1);
  }
  return 0;
}

void skbox_registrar_release(skbox_registrar *r) {
  while (r->conns) {
    api_conn *c = r->conns;
    if (c->slot != NOBODY) skbox_slot_assign((uint32_t)c->slot, -1);
    epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    r->conns = c->next;
    free(c);
  }
}

void skbox_registrar_destroy(skbox_registrar *r) {
  if (!r) return;
  while (r->conns) close_conn(r, r->conns, -1);
  if (r->epfd >= 0) close(r->epfd);
  if (r->ctl_fd >= 0) close(r->ctl_fd);
  free(r->listeners);
  free(r->slots);
  free(r->owners);
  free(r->next_slots);
  free(r->uids);
  pthread_mutex_destroy(&r->lock);
  free(r);
}

uint32_t skbox_registrar_held(skbox_registrar *r, skbox_registration_held *out, uint32_t max) {
  uint32_t n = 0;
  pthread_mutex_lock(&r->lock);
  for (uint32_t s = 0; s < r->n_slots && n < max; s++) {
    const api_conn *c = r->owners[s];
    if (c) out[n++] = (skbox_registration_held){s, c->uid, c->registered_at_ms, c->listener_mode};
  }
  pthread_mutex_unlock(&r->lock);
  return n;
}
