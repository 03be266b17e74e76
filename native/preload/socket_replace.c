#include "socket_replace.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd_send.h"
#include "real_calls.h"

struct original_flags {
  int nonblocking;
  int close_on_exec;
};

static int read_original_flags(int fd, struct original_flags *out) {
  int status_flags = fcntl(fd, F_GETFL);
  int descriptor_flags = fcntl(fd, F_GETFD);
  if (status_flags < 0 || descriptor_flags < 0) return -1;
  out->nonblocking = (status_flags & O_NONBLOCK) != 0;
  out->close_on_exec = (descriptor_flags & FD_CLOEXEC) != 0;
  return 0;
}

/* Moves REPLACEMENT onto FD (closing what FD was) and closes REPLACEMENT's own number. */
static int put_in_place(int replacement, int fd, const struct original_flags *flags) {
  if (dup3(replacement, fd, flags->close_on_exec ? O_CLOEXEC : 0) != fd) {
    int saved = errno;
    close(replacement);
    errno = saved;
    return -1;
  }
  close(replacement);
  return 0;
}

static int new_unix_socket(int type, const struct original_flags *flags) {
  return socket(AF_UNIX, type | SOCK_CLOEXEC | (flags->nonblocking ? SOCK_NONBLOCK : 0), 0);
}

/* True when the socket file at TARGET has no socket behind it: a datagram probe connect is
 * refused. (Against a live stream socket it fails with EPROTOTYPE without connecting.) */
static int socket_file_is_stale(const struct skbox_unix_target *target) {
  struct stat st;
  if (lstat(target->addr.sun_path, &st) != 0 || !S_ISSOCK(st.st_mode)) return 0;
  int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return 0;
  int refused = skbox_real()->connect(probe, (const struct sockaddr *)&target->addr, target->length) != 0 &&
                errno == ECONNREFUSED;
  close(probe);
  return refused;
}

int skbox_bind_unix_in_place(int fd, const struct skbox_unix_target *target, int stream) {
  const struct skbox_real_calls *real = skbox_real();
  struct original_flags flags;
  if (read_original_flags(fd, &flags) != 0) return -1;
  int replacement = new_unix_socket(stream ? SOCK_STREAM : SOCK_DGRAM, &flags);
  if (replacement < 0) return -1;

  const struct sockaddr *addr = (const struct sockaddr *)&target->addr;
  int rv = real->bind(replacement, addr, target->length);
  if (rv != 0 && errno == EADDRINUSE && !target->abstract && socket_file_is_stale(target)) {
    /* Left over from a daemon that died: take its place, as a restarted daemon expects. */
    unlink(target->addr.sun_path);
    rv = real->bind(replacement, addr, target->length);
  }
  if (rv != 0) {
    int saved = errno;
    close(replacement);
    errno = saved;
    return -1;
  }
  /* Senders (socketbox) usually share a group with the daemon, not its user. */
  if (!target->abstract) chmod(target->addr.sun_path, 0660);

  if (put_in_place(replacement, fd, &flags) != 0) {
    int saved = errno;
    if (!target->abstract) unlink(target->addr.sun_path);
    errno = saved;
    return -1;
  }
  return 0;
}

int skbox_connect_stream_in_place(int fd, const struct skbox_unix_target *target) {
  struct original_flags flags;
  if (read_original_flags(fd, &flags) != 0) return -1;
  int replacement = new_unix_socket(SOCK_STREAM, &flags);
  if (replacement < 0) return -1;
  if (skbox_real()->connect(replacement, (const struct sockaddr *)&target->addr, target->length) != 0) {
    int saved = errno;
    close(replacement);
    errno = saved;
    return -1;
  }
  return put_in_place(replacement, fd, &flags);
}

/* One message in the socketbox wire format (docs/wire-protocol.md): payload "\0" and one descriptor. */
static int send_descriptor(int sender, int descriptor, const struct skbox_unix_target *target) {
  static const char payload = '\0';
  ssize_t sent = skbox_send_fds(sender, &target->addr, target->length, &payload, 1, &descriptor, 1,
                                MSG_DONTWAIT | MSG_NOSIGNAL);
  return sent == 1 ? 0 : -1;
}

int skbox_connect_datagram_in_place(int fd, const struct skbox_unix_target *target) {
  struct original_flags flags;
  if (read_original_flags(fd, &flags) != 0) return -1;
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (flags.nonblocking ? SOCK_NONBLOCK : 0), 0, pair) != 0) return -1;
  /* The far end goes out blocking, as an accepted connection would. */
  int far_flags = fcntl(pair[1], F_GETFL);
  int sender = skbox_open_datagram_sender();
  int rv = -1;
  if (far_flags >= 0 && fcntl(pair[1], F_SETFL, far_flags & ~O_NONBLOCK) == 0 && sender >= 0)
    rv = send_descriptor(sender, pair[1], target);
  int saved = errno;
  if (sender >= 0) close(sender);
  close(pair[1]);
  if (rv != 0) {
    close(pair[0]);
    errno = saved;
    return -1;
  }
  return put_in_place(pair[0], fd, &flags);
}
