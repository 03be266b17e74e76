#include "listener_registration.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "common/registration_client.h"

#define REGISTRATION_TIMEOUT_MS 10000
#define MAX_REGISTRATIONS 64

/* Daemons bind a handful of sockets at start-up: a small table, under a lock. */
static struct {
  int fd;                    /* the daemon's descriptor number */
  int registration;          /* its registration connection (== fd without a listener) */
  struct sockaddr_in6 bound; /* what the daemon bound: getsockname reports it */
} registered[MAX_REGISTRATIONS];
static int n_registered;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int remember(int fd, int registration, const struct sockaddr_in6 *bound) {
  int rc = -1;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < n_registered; i++)
    if (registered[i].fd == fd) { /* the daemon closed it and the number came back */
      if (registered[i].registration != fd) close(registered[i].registration);
      registered[i].registration = registration;
      registered[i].bound = *bound;
      rc = 0;
    }
  if (rc != 0 && n_registered < MAX_REGISTRATIONS) {
    registered[n_registered].fd = fd;
    registered[n_registered].bound = *bound;
    registered[n_registered++].registration = registration;
    rc = 0;
  }
  pthread_mutex_unlock(&lock);
  if (rc != 0) errno = EMFILE;
  return rc;
}

static int set_status(int fd, int nonblocking) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -1;
  int wanted = nonblocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
  return wanted == flags ? 0 : fcntl(fd, F_SETFL, wanted);
}

int skbox_listener_bind(int fd, uint16_t slot, const char *registration_socket, const struct sockaddr *addr,
                        socklen_t len) {
  struct sockaddr_in6 bound;
  memset(&bound, 0, sizeof bound);
  memcpy(&bound, addr, len < sizeof bound ? len : sizeof bound);
  int status = fcntl(fd, F_GETFL), descriptor = fcntl(fd, F_GETFD);
  if (status < 0 || descriptor < 0) return -1;
  const char *why = "";
  int listener = -1;
  int registration = skbox_register_listener(registration_socket, slot, REGISTRATION_TIMEOUT_MS, &listener, &why);
  if (registration < 0) return -1;
  /* What takes the daemon's number: the listener, or (no fast path) the registration itself. */
  int replacement = listener >= 0 ? listener : registration;
  if (set_status(replacement, (status & O_NONBLOCK) != 0) != 0 || (listener >= 0 && set_status(registration, 1) != 0) ||
      dup3(replacement, fd, (descriptor & FD_CLOEXEC) ? O_CLOEXEC : 0) != fd) {
    int saved = errno;
    if (listener >= 0) close(listener);
    close(registration);
    errno = saved;
    return -1;
  }
  close(replacement);
  if (replacement == registration) registration = fd;
  if (remember(fd, registration, &bound) != 0) {
    if (registration != fd) close(registration);
    return -1;
  }
  return 0;
}

int skbox_listener_registration(int fd) {
  int found = -1;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < n_registered; i++)
    if (registered[i].fd == fd) found = registered[i].registration;
  pthread_mutex_unlock(&lock);
  return found;
}

int skbox_listener_bound_address(int fd, struct sockaddr *addr, socklen_t *len) {
  int rc = -1;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < n_registered && rc != 0; i++)
    if (registered[i].fd == fd) {
      if (addr && len) {
        memcpy(addr, &registered[i].bound, *len < sizeof registered[i].bound ? *len : sizeof registered[i].bound);
        *len = sizeof registered[i].bound;
      }
      rc = 0;
    }
  pthread_mutex_unlock(&lock);
  return rc;
}
