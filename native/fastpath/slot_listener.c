/* Listening sockets of listener-mode slots. Each is made by socketbox in its
 * own network namespace, bound (IPV6_FREEBIND) to ::ffff:192.0.0.8, the IPv4
 * dummy address (RFC 7600), which is not local, so the kernel's normal lookup
 * never finds it: only the program puts connections into it. (A specific IPv6
 * address would make the socket IPv6-only, and the kernel would refuse to
 * assign IPv4 connections to it.) It goes into the
 * program's socket map, and handed to the receiver at registration. socketbox
 * keeps its own copy, so that when the receiver goes it can take back what
 * waits in the queue and count it. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fastpath/libbpf_calls.h"

#include "fastpath/fastpath.h"
#include "fastpath/fastpath_state.h"

#define SLOT_BACKLOG 4096

/* fd + 1, so that zero means none; under skbox_fp_slot_lock. */
static int listener_plus_one[SKBOX_FP_MAX_SLOTS];
static uint8_t seen[SKBOX_FP_MAX_SLOTS];
static uint64_t reclaimed[SKBOX_FP_MAX_SLOTS];

static int open_listener(void) {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int off = 0, on = 1; /* V6ONLY off: the program assigns IPv4 connections to it too */
  struct sockaddr_in6 a = {.sin6_family = AF_INET6,
                           .sin6_addr = {.s6_addr = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 0, 8}}};
  /* SO_REUSEADDR: its connections inherit it, so their TIME_WAIT on socketbox's address and
   * port never stops socketbox from binding that port again after a restart. */
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
      setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &on, sizeof on) != 0 ||
      bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, SLOT_BACKLOG) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static void reset_and_close(int fd) {
  struct linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
}

/* Takes back what waits in the queue of a listener whose receiver is gone. */
static void reclaim_queue(uint32_t slot, int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  for (;;) {
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      break;
    }
    reset_and_close(c);
    __atomic_fetch_add(&reclaimed[slot], 1, __ATOMIC_RELAXED);
  }
}

int skbox_fastpath_slot_open(uint32_t slot) {
  if (slot >= SKBOX_FP_MAX_SLOTS) {
    errno = ERANGE;
    return -1;
  }
  pthread_mutex_lock(&skbox_fp_slot_lock);
  int fd = -1;
  if (!skbox_fastpath_active() || skbox_fp.slot_sockets_fd < 0) {
    errno = ENOTCONN;
  } else if (listener_plus_one[slot]) {
    errno = EBUSY;
  } else if ((fd = open_listener()) >= 0) {
    uint64_t value = (uint64_t)fd;
    if (bpf_map_update_elem(skbox_fp.slot_sockets_fd, &slot, &value, BPF_ANY) != 0) {
      int e = errno;
      close(fd);
      fd = -1;
      errno = e;
    } else {
      listener_plus_one[slot] = fd + 1;
      seen[slot] = 1;
    }
  }
  pthread_mutex_unlock(&skbox_fp_slot_lock);
  return fd;
}

void skbox_fastpath_slot_close(uint32_t slot, int reclaim) {
  if (slot >= SKBOX_FP_MAX_SLOTS) return;
  pthread_mutex_lock(&skbox_fp_slot_lock);
  int fd = listener_plus_one[slot] - 1;
  listener_plus_one[slot] = 0;
  if (fd >= 0) {
    if (skbox_fp.slot_sockets_fd >= 0) {
      bpf_map_delete_elem(skbox_fp.slot_sockets_fd, &slot);
      /* No program run may still be about to put a connection into it. */
      if (reclaim) skbox_fp_wait_for_programs();
    }
    if (reclaim) {
      reclaim_queue(slot, fd);
      shutdown(fd, SHUT_RDWR); /* a receiver still holding it sees the end too */
    }
    close(fd);
  }
  pthread_mutex_unlock(&skbox_fp_slot_lock);
}

uint64_t skbox_fastpath_reclaimed(uint32_t slot) {
  return slot < SKBOX_FP_MAX_SLOTS ? __atomic_load_n(&reclaimed[slot], __ATOMIC_RELAXED) : 0;
}

uint32_t skbox_fastpath_slots_seen(uint32_t *out, uint32_t cap) {
  uint32_t n = 0;
  pthread_mutex_lock(&skbox_fp_slot_lock);
  for (uint32_t s = 0; s < SKBOX_FP_MAX_SLOTS && n < cap; s++)
    if (seen[s]) out[n++] = s;
  pthread_mutex_unlock(&skbox_fp_slot_lock);
  return n;
}
