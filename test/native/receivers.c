#include "receivers.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/datagram_bind.h"
#include "common/fd_receive.h"
#include "common/registration_client.h"
#include "harness_util.h"

#define VANISH_EVERY 40

static uint64_t load(const uint64_t *v) {
  return __atomic_load_n(v, __ATOMIC_ACQUIRE);
}
static void bump(uint64_t *v) {
  __atomic_add_fetch(v, 1, __ATOMIC_ACQ_REL);
}

static int open_socket(receiver *r) {
  if (r->slot >= 0) {
    /* Hostile peers may hold the uid's API connections for a moment: try for 2 s. */
    for (int attempt = 0; attempt < 200; attempt++) {
      const char *why = "";
      int fd = skbox_register(r->path, (uint32_t)r->slot, 2000, &why);
      if (fd >= 0) return fd;
      harness_sleep_ms(10);
    }
    CHECK(0, "a receiver cannot register for its slot");
  }
  int fd = skbox_bind_datagram_socket(r->path, 0600);
  CHECK(fd >= 0, "a receiver cannot bind its socket");
  int on = 1;
  if (r->pass_credentials) CHECK(setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0, "SO_PASSCRED");
  return fd;
}

static void close_socket(receiver *r) {
  close(r->sock);
  if (r->slot < 0 && r->path[0] != '@') unlink(r->path);
  r->sock = -1;
}

/* A connected TCP socket gets 'k'; anything else that passed validation (a
 * flood's UNIX or unconnected TCP sockets) is closed. A delivered connection
 * the receiver could not answer shows as a client without its byte. */
static void answer(receiver *r, int fd) {
  int domain = -1;
  socklen_t len = sizeof domain;
  getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len);
  if ((domain == AF_INET || domain == AF_INET6) && send(fd, "k", 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) {
    bump(&r->tcp);
  } else {
    bump(&r->other);
  }
  close(fd);
}

static int stalled(receiver *r) {
  uint64_t until = load(&r->stall_until);
  return until && harness_now_ms() < until;
}

static void *receiver_main(void *arg) {
  receiver *r = arg;
  unsigned since_comeback = 0;
  while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
    if (stalled(r)) {
      harness_sleep_ms(5);
      continue;
    }
    struct pollfd p = {.fd = r->sock, .events = POLLIN};
    if (poll(&p, 1, 20) <= 0) continue;
    if (r->mode == RECEIVER_STALL && !load(&r->stall_until)) {
      __atomic_store_n(&r->stall_until, harness_now_ms() + r->stall_ms, __ATOMIC_RELEASE);
      continue;
    }
    struct skbox_received got;
    enum skbox_receive_status st = skbox_receive_fd(r->sock, 2, 0, &got);
    if (st == SKBOX_RECEIVE_FD) {
      answer(r, got.fd);
    } else if (st == SKBOX_RECEIVE_NO_FD) {
      bump(&r->no_fd);
    } else if (st == SKBOX_RECEIVE_END || st == SKBOX_RECEIVE_ERROR) {
      CHECK(r->slot >= 0, "a datagram receiver's socket failed");
      /* The server ended the registration: register again. */
      close_socket(r);
      r->sock = open_socket(r);
      continue;
    }
    if (r->mode == RECEIVER_SLOW) harness_sleep_ms(2);
    if (r->mode == RECEIVER_VANISH && st == SKBOX_RECEIVE_FD && ++since_comeback >= VANISH_EVERY) {
      since_comeback = 0;
      close_socket(r);
      harness_sleep_ms(20);
      r->sock = open_socket(r);
      bump(&r->comebacks);
    }
  }
  return NULL;
}

void receiver_start(receiver *r) {
  r->sock = open_socket(r);
  CHECK(pthread_create(&r->thread, NULL, receiver_main, r) == 0, "pthread_create");
}

void receiver_stop(receiver *r) {
  __atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
  pthread_join(r->thread, NULL);
  close_socket(r);
}

void receiver_stall(receiver *r, unsigned ms) {
  __atomic_store_n(&r->stall_until, harness_now_ms() + ms, __ATOMIC_RELEASE);
}

uint64_t receiver_tcp(const receiver *r) {
  return load(&r->tcp);
}
