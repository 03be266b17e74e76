/* libFuzzer target: what a receiver makes of a received message's control
 * data (native/common/received_fds.c, fd_receive.c).
 *
 * Mode 0 hands skbox_keep_first_descriptor raw control bytes in a heap block
 * of exactly their size; close() is wrapped (-Wl,--wrap=close) so that the
 * "descriptors" it closes are only recorded: each must be one of the
 * SCM_RIGHTS slots inside the buffer, never the first, and their number is
 * extra_closed. Mode 1 builds a real message from the input (descriptors of
 * several kinds, one or two SCM_RIGHTS headers, a payload, credentials) on a
 * datagram, seqpacket or stream socketpair and receives it with
 * skbox_receive_fd: afterwards exactly the kept descriptor is new in this
 * process. Built and run by test/native-fuzz.test.ts. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fd_receive.h"
#include "common/received_fds.h"

int __real_close(int fd);

static int recording;
static int recorded[4096];
static unsigned n_recorded;

int __wrap_close(int fd) {
  if (!recording) return __real_close(fd);
  if (n_recorded < sizeof recorded / sizeof *recorded) recorded[n_recorded] = fd;
  n_recorded++;
  return 0;
}

static void fail(const char *what) {
  fprintf(stderr, "fuzz_received_fds: %s\n", what);
  abort();
}

/* Is v the value of a 4-byte slot somewhere in [from, to)? */
static int appears(const uint8_t *from, const uint8_t *to, int v) {
  for (const uint8_t *p = from; p + sizeof(int) <= to; p++) {
    int x;
    memcpy(&x, p, sizeof x);
    if (x == v) return 1;
  }
  return 0;
}

static void raw_control(const uint8_t *data, size_t size) {
  uint8_t *control = malloc(size ? size : 1);
  if (!control) fail("out of memory");
  memcpy(control, data, size);
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_control = size ? control : NULL;
  m.msg_controllen = size;
  unsigned extra = 0;
  n_recorded = 0;
  recording = 1;
  int first = skbox_keep_first_descriptor(&m, &extra);
  recording = 0;
  if (extra != n_recorded) fail("extra_closed differs from the descriptors closed");
  if (n_recorded > 0 && first < 0) fail("closed descriptors but kept none");
  for (unsigned i = 0; i < n_recorded && i < sizeof recorded / sizeof *recorded; i++)
    if (!appears(control, control + size, recorded[i])) fail("closed a descriptor that is not in the message");
  if (first >= 0 && !appears(control, control + size, first)) fail("kept a descriptor that is not in the message");
  free(control);
}

static int open_descriptors(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) fail("opendir");
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static int make_descriptor(uint8_t kind) {
  int pair[2], fd = -1;
  switch (kind % 4) {
    case 0: return open("/dev/null", O_RDONLY | O_CLOEXEC);
    case 1:
      if (pipe2(pair, O_CLOEXEC) != 0) return -1;
      close(pair[1]);
      return pair[0];
    case 2:
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return -1;
      close(pair[1]);
      return pair[0];
    default: fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0); return fd;
  }
}

static void real_message(const uint8_t *data, size_t size) {
  if (size < 4) return;
  static const int types[] = {SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM};
  int type = types[data[0] % 3], level = data[1] % 3, two_headers = data[2] & 1, creds = data[2] & 2,
      sender_gone = data[2] & 4;
  size_t n_fds = data[3] % 41;
  data += 4;
  size -= 4;
  int before = open_descriptors();
  int pair[2];
  if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, pair) != 0) fail("socketpair");
  int on = 1;
  if (creds) setsockopt(pair[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  int fds[40];
  for (size_t i = 0; i < n_fds; i++)
    if ((fds[i] = make_descriptor(i < size ? data[i] : 0)) < 0) fail("cannot make a descriptor");
  union {
    struct cmsghdr align;
    char buf[2 * CMSG_SPACE(sizeof fds)];
  } control;
  memset(&control, 0, sizeof control);
  struct iovec iov = {.iov_base = (void *)data, .iov_len = size > 300 ? 300 : size};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  if (n_fds) {
    size_t first = two_headers && n_fds > 1 ? n_fds / 2 : n_fds;
    m.msg_control = control.buf;
    m.msg_controllen = CMSG_SPACE(first * sizeof(int)) + (first < n_fds ? CMSG_SPACE((n_fds - first) * sizeof(int)) : 0);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(first * sizeof(int));
    memcpy(CMSG_DATA(c), fds, first * sizeof(int));
    if (first < n_fds) {
      c = CMSG_NXTHDR(&m, c);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN((n_fds - first) * sizeof(int));
      memcpy(CMSG_DATA(c), fds + first, (n_fds - first) * sizeof(int));
    }
  }
  int sent = sendmsg(pair[1], &m, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0;
  for (size_t i = 0; i < n_fds; i++) close(fds[i]);
  if (!sent && !(type == SOCK_STREAM && iov.iov_len == 0)) fail("sendmsg");
  if (sender_gone) { /* the sender is gone too */
    close(pair[1]);
    pair[1] = -1;
  }
  struct skbox_received got;
  enum skbox_receive_status st = skbox_receive_fd(pair[0], level, 0, &got);
  if (st == SKBOX_RECEIVE_FD) {
    if (got.fd < 0 || n_fds == 0) fail("a descriptor from nowhere");
    close(got.fd);
  } else if (got.fd != -1) {
    fail("a descriptor without SKBOX_RECEIVE_FD");
  }
  if (got.extra_closed + (st == SKBOX_RECEIVE_FD || got.rejected) > n_fds) fail("more closed than sent");
  close(pair[0]);
  if (pair[1] >= 0) close(pair[1]);
  if (open_descriptors() != before) fail("a descriptor was left open");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  if (data[0] & 0x80) real_message(data + 1, size - 1);
  else raw_control(data + 1, size - 1);
  return 0;
}
