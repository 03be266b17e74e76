#include "hostile_peers.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/unix_address.h"
#include "harness_util.h"

#define MAX_FLOOD 253 /* SCM_MAX_FD: the kernel's limit per message */

uint64_t hostile_random(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Fills fds[0, n) with descriptors of mixed kinds; returns how many it made. */
static int make_descriptors(int *fds, int n, uint64_t *rng) {
  int made = 0;
  while (made < n) {
    int pair[2];
    switch (hostile_random(rng) % 5) {
      case 0: fds[made++] = open("/dev/null", O_RDONLY | O_CLOEXEC); break;
      case 1:
        CHECK(pipe2(pair, O_CLOEXEC) == 0, "pipe2");
        fds[made++] = pair[0];
        close(pair[1]);
        break;
      case 2: /* passes SKBOX_STRICT_STREAM_MODE=2: the receiver must cope with it */
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0, "socketpair");
        fds[made++] = pair[0];
        close(pair[1]);
        break;
      case 3: fds[made++] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); break;
      default: fds[made++] = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0); break;
    }
    CHECK(fds[made - 1] >= 0, "cannot make a descriptor to send");
  }
  return made;
}

/* sendmsg with the descriptors in one or two SCM_RIGHTS headers. */
static int send_descriptors(int sock, const struct sockaddr_un *to, socklen_t to_len, const void *bytes, size_t len,
                            const int *fds, int n, int two_headers) {
  union {
    struct cmsghdr align;
    char buf[2 * CMSG_SPACE(sizeof(int) * MAX_FLOOD)];
  } control;
  memset(&control, 0, sizeof control);
  struct iovec iov = {.iov_base = (void *)bytes, .iov_len = len};
  struct msghdr m = {.msg_name = (void *)to, .msg_namelen = to ? to_len : 0, .msg_iov = &iov, .msg_iovlen = 1};
  if (n > 0) {
    int first = two_headers && n > 1 ? n / 2 : n;
    m.msg_control = control.buf;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)first) +
                       (first < n ? CMSG_SPACE(sizeof(int) * (size_t)(n - first)) : 0);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)first);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)first);
    if (first < n) {
      c = CMSG_NXTHDR(&m, c);
      CHECK(c != NULL, "no room for a second header");
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)(n - first));
      memcpy(CMSG_DATA(c), fds + first, sizeof(int) * (size_t)(n - first));
    }
  }
  return sendmsg(sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0;
}

int hostile_flood(const char *path, int n, int two_headers, size_t payload_len, uint64_t *rng) {
  struct sockaddr_un to;
  int to_len = skbox_unix_address(path, &to);
  CHECK(to_len > 0, "bad flood path");
  if (n > MAX_FLOOD) n = MAX_FLOOD;
  int fds[MAX_FLOOD];
  make_descriptors(fds, n, rng);
  char payload[512];
  if (payload_len > sizeof payload) payload_len = sizeof payload;
  for (size_t i = 0; i < payload_len; i++) payload[i] = (char)hostile_random(rng);
  int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CHECK(sock >= 0, "socket");
  int sent = send_descriptors(sock, &to, (socklen_t)to_len, payload, payload_len, fds, n, two_headers);
  close(sock);
  for (int i = 0; i < n; i++) close(fds[i]);
  return sent;
}

int hostile_send(int sock, const void *bytes, size_t len, int n_fds) {
  uint64_t rng = (uint64_t)len * 7919u + (uint64_t)n_fds;
  int fds[MAX_FLOOD];
  if (n_fds > MAX_FLOOD) n_fds = MAX_FLOOD;
  make_descriptors(fds, n_fds, &rng);
  int sent = send_descriptors(sock, NULL, 0, bytes, len, fds, n_fds, 0);
  for (int i = 0; i < n_fds; i++) close(fds[i]);
  return sent;
}

static int connect_api(const char *path) {
  struct sockaddr_un to;
  int to_len = skbox_unix_address(path, &to);
  CHECK(to_len > 0, "bad API path");
  int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  CHECK(sock >= 0, "socket");
  if (connect(sock, (struct sockaddr *)&to, (socklen_t)to_len) != 0) {
    close(sock);
    return -1;
  }
  return sock;
}

/* Reads until the server closes (or 2 s pass); 1 when it granted something. */
static int wait_for_close(int sock) {
  int granted = 0;
  uint64_t until = harness_now_ms() + 2000;
  while (harness_now_ms() < until) {
    struct pollfd p = {.fd = sock, .events = POLLIN};
    if (poll(&p, 1, 50) <= 0) continue;
    unsigned char answer[16];
    ssize_t n = recv(sock, answer, sizeof answer, MSG_DONTWAIT);
    if (n == 4 && answer[0] == 0x80) granted = 1;
    if (n <= 0 && !(n < 0 && errno == EAGAIN)) break;
  }
  return granted;
}

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

void hostile_registration(const char *path, uint32_t taken_slot, uint32_t n_slots, uint64_t *rng,
                          hostile_registration_counts *counts) {
  int sock = connect_api(path);
  if (sock < 0) return; /* the backlog is full or listening paused: that is an answer too */
  counts->attempts++;
  unsigned char packet[32] = {1, 0, 0, 0};
  const uint32_t slots[] = {taken_slot, taken_slot, n_slots, 1000 + n_slots, 0x7fffffffu, 0xffffffffu};
  put_be32(packet + 4, slots[hostile_random(rng) % 6]);
  size_t len = 8;
  switch (hostile_random(rng) % 7) {
    case 0: break; /* a taken or absent slot */
    case 1:
      len = hostile_random(rng) % 32;
      if (len == 8) len = 9;
      break;
    case 2: packet[0] = (unsigned char)(2 + hostile_random(rng) % 254); break;
    case 3: packet[1 + hostile_random(rng) % 3] = (unsigned char)(1 + hostile_random(rng) % 255); break;
    case 4: /* descriptors along with it: the server must not keep them */
      hostile_send(sock, packet, len, 1 + (int)(hostile_random(rng) % 40));
      len = 0;
      break;
    case 5: /* says nothing and leaves */ close(sock); return;
    default: /* a second packet right behind the first */ send(sock, packet, len, MSG_NOSIGNAL); break;
  }
  if (len > 0) send(sock, packet, len, MSG_NOSIGNAL);
  if (wait_for_close(sock)) counts->granted++;
  close(sock);
}

void hostile_registration_other_uid(const char *path, uint32_t slot, hostile_registration_counts *counts) {
  pid_t child = fork();
  CHECK(child >= 0, "fork");
  if (child == 0) {
    /* Only system calls from here: the parent's other threads may hold locks. */
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(3);
    struct sockaddr_un to;
    int to_len = skbox_unix_address(path, &to);
    int sock = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (sock < 0 || connect(sock, (struct sockaddr *)&to, (socklen_t)to_len) != 0) _exit(4);
    unsigned char packet[8] = {1, 0, 0, 0};
    put_be32(packet + 4, slot);
    send(sock, packet, sizeof packet, MSG_NOSIGNAL);
    struct pollfd p = {.fd = sock, .events = POLLIN};
    poll(&p, 1, 2000);
    unsigned char answer[4];
    _exit(recv(sock, answer, sizeof answer, MSG_DONTWAIT) > 0 ? 5 : 0); /* 0: closed without an answer */
  }
  int status = 0;
  CHECK(waitpid(child, &status, 0) == child, "waitpid");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a peer of another uid got an answer or could not connect");
  counts->forked_other_uid++;
}
