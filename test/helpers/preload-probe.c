/* A tiny daemon for testing libsocketbox-preload: it makes the socket calls the test asks for
 * on stdin (one command per line) and answers each with one JSON line on stdout. Background
 * servers ("serve") report each connection as an {"event":...} line.
 * Every call runs with errno preset to 4242, and successful calls report errno afterwards,
 * so the test sees whether the library leaves errno alone. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define ERRNO_MARK 4242

static pthread_mutex_t output_lock = PTHREAD_MUTEX_INITIALIZER;

static void emit(const char *json) {
  pthread_mutex_lock(&output_lock);
  fputs(json, stdout);
  fputc('\n', stdout);
  fflush(stdout);
  pthread_mutex_unlock(&output_lock);
}

static const char *errno_name(int e) {
  switch (e) {
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EADDRINUSE: return "EADDRINUSE";
    case ENOENT: return "ENOENT";
    case ERANGE: return "ERANGE";
    case ENOTSOCK: return "ENOTSOCK";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ENETUNREACH: return "ENETUNREACH";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ERRNO_MARK: return "MARK";
    default: return "OTHER";
  }
}

static void reply_result(int rv, int saved_errno) {
  char line[256];
  if (rv < 0)
    snprintf(line, sizeof(line), "{\"rv\":%d,\"errno\":\"%s\",\"errnoNumber\":%d}", rv, errno_name(saved_errno), saved_errno);
  else
    snprintf(line, sizeof(line), "{\"rv\":%d,\"errnoAfter\":\"%s\"}", rv, errno_name(saved_errno));
  emit(line);
}

/* ADDR PORT into a sockaddr: IPv6 if it has a colon, else IPv4. */
static socklen_t parse_address(const char *text, const char *port, struct sockaddr_storage *out) {
  memset(out, 0, sizeof(*out));
  if (strchr(text, ':') != NULL) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)atoi(port));
    if (inet_pton(AF_INET6, text, &a->sin6_addr) != 1) return 0;
    return sizeof(*a);
  }
  struct sockaddr_in *a = (struct sockaddr_in *)out;
  a->sin_family = AF_INET;
  a->sin_port = htons((uint16_t)atoi(port));
  if (inet_pton(AF_INET, text, &a->sin_addr) != 1) return 0;
  return sizeof(*a);
}

/* An address as JSON members: "family", "addr", "port" (or "path" for UNIX). */
static void describe_address(const struct sockaddr *sa, socklen_t len, char *out, size_t size) {
  char text[INET6_ADDRSTRLEN] = "";
  if (len < sizeof(sa_family_t)) {
    snprintf(out, size, "\"family\":0");
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    snprintf(out, size, "\"family\":\"inet6\",\"addr\":\"%s\",\"port\":%d,\"scope\":%u", text, ntohs(a->sin6_port),
             a->sin6_scope_id);
  } else if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    snprintf(out, size, "\"family\":\"inet\",\"addr\":\"%s\",\"port\":%d", text, ntohs(a->sin_port));
  } else if (sa->sa_family == AF_UNIX) {
    const struct sockaddr_un *a = (const struct sockaddr_un *)sa;
    size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
    char path[sizeof(a->sun_path) + 1] = "";
    if (n > 0 && a->sun_path[0] == '\0') {
      path[0] = '@';
      memcpy(path + 1, a->sun_path + 1, n - 1);
      path[n] = '\0';
    } else {
      memcpy(path, a->sun_path, n);
      path[n] = '\0';
    }
    snprintf(out, size, "\"family\":\"unix\",\"path\":\"%s\"", path);
  } else {
    snprintf(out, size, "\"family\":%d", sa->sa_family);
  }
}

static void hex(const unsigned char *bytes, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", bytes[i]);
  out[2 * n] = '\0';
}

static int flag_set(int fd, int getter, int bit) {
  int flags = fcntl(fd, getter);
  return flags >= 0 && (flags & bit) != 0;
}

static int socket_option(int fd, int option) {
  int value = -1;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, SOL_SOCKET, option, &value, &len) != 0) return -1;
  return value;
}

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.') n++;
  }
  closedir(d);
  return n - 1; /* the directory's own descriptor */
}

/* accept4 with FLAGS ("-", "n", "c", "nc", or "plain" for accept) and a 0xAA-filled buffer. */
static void do_accept(int fd, const char *flags_text, socklen_t room) {
  unsigned char buffer[256];
  memset(buffer, 0xAA, sizeof(buffer));
  socklen_t len = room;
  int flags = (strchr(flags_text, 'n') ? SOCK_NONBLOCK : 0) | (strchr(flags_text, 'c') ? SOCK_CLOEXEC : 0);
  errno = ERRNO_MARK;
  int conn = strcmp(flags_text, "plain") == 0 ? accept(fd, (struct sockaddr *)buffer, &len)
                                              : accept4(fd, (struct sockaddr *)buffer, &len, flags);
  int saved = errno;
  if (conn < 0) {
    reply_result(conn, saved);
    return;
  }
  char address[300], raw[2 * sizeof(buffer) + 1], line[1200];
  describe_address((struct sockaddr *)buffer, len < room ? len : room, address, sizeof(address));
  hex(buffer, room, raw);
  snprintf(line, sizeof(line),
           "{\"rv\":%d,\"errnoAfter\":\"%s\",\"len\":%u,%s,\"nonblock\":%s,\"cloexec\":%s,\"domain\":%d,\"raw\":\"%s\"}",
           conn, errno_name(saved), len, address, flag_set(conn, F_GETFL, O_NONBLOCK) ? "true" : "false",
           flag_set(conn, F_GETFD, FD_CLOEXEC) ? "true" : "false", socket_option(conn, SO_DOMAIN), raw);
  emit(line);
}

static void do_name(int fd, int peer, socklen_t room) {
  unsigned char buffer[256];
  memset(buffer, 0xAA, sizeof(buffer));
  socklen_t len = room;
  errno = ERRNO_MARK;
  int rv = peer ? getpeername(fd, (struct sockaddr *)buffer, &len) : getsockname(fd, (struct sockaddr *)buffer, &len);
  int saved = errno;
  if (rv < 0) {
    reply_result(rv, saved);
    return;
  }
  char address[300], raw[2 * sizeof(buffer) + 1], line[1000];
  describe_address((struct sockaddr *)buffer, len < room ? len : room, address, sizeof(address));
  hex(buffer, room, raw);
  snprintf(line, sizeof(line), "{\"rv\":0,\"len\":%u,%s,\"raw\":\"%s\"}", len, address, raw);
  emit(line);
}

static void do_info(int fd) {
  struct sockaddr_storage local;
  socklen_t len = sizeof(local);
  char address[300] = "\"family\":0", line[600];
  if (getsockname(fd, (struct sockaddr *)&local, &len) == 0) describe_address((struct sockaddr *)&local, len, address, sizeof(address));
  snprintf(line, sizeof(line), "{\"domain\":%d,\"type\":%d,\"listening\":%d,\"nonblock\":%s,\"cloexec\":%s,%s}",
           socket_option(fd, SO_DOMAIN), socket_option(fd, SO_TYPE), socket_option(fd, SO_ACCEPTCONN),
           flag_set(fd, F_GETFL, O_NONBLOCK) ? "true" : "false", flag_set(fd, F_GETFD, FD_CLOEXEC) ? "true" : "false",
           address);
  emit(line);
}

/* "serve": accept forever, greet each connection with its own description, close it. */
struct server {
  int fd;
  int index;
};

static void *serve_loop(void *arg) {
  struct server *s = arg;
  for (;;) {
    struct sockaddr_storage peer;
    socklen_t len = sizeof(peer);
    int conn = accept4(s->fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      char line[100];
      snprintf(line, sizeof(line), "{\"event\":\"accept-failed\",\"errno\":\"%s\"}", errno_name(errno));
      emit(line);
      return NULL;
    }
    char address[300], line[500];
    describe_address((struct sockaddr *)&peer, len, address, sizeof(address));
    snprintf(line, sizeof(line), "{\"event\":\"accepted\",\"thread\":%d,\"domain\":%d,\"type\":%d,%s}", s->index,
             socket_option(conn, SO_DOMAIN), socket_option(conn, SO_TYPE), address);
    char greeting[32];
    int n = snprintf(greeting, sizeof(greeting), "served by thread %d\n", s->index);
    ssize_t ignored = write(conn, greeting, (size_t)n);
    (void)ignored;
    close(conn);
    emit(line);
  }
}

static void start_servers(int fd, int count) {
  for (int i = 0; i < count; i++) {
    struct server *s = malloc(sizeof(*s));
    s->fd = fd;
    s->index = i;
    pthread_t thread;
    pthread_create(&thread, NULL, serve_loop, s);
    pthread_detach(thread);
  }
  emit("{\"rv\":0}");
}

int main(void) {
  char line[1024];
  setvbuf(stdin, NULL, _IOLBF, 0);
  emit("{\"ready\":true}");
  while (fgets(line, sizeof(line), stdin) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    char *argv[8] = {0};
    int argc = 0;
    for (char *token = strtok(line, " "); token != NULL && argc < 8; token = strtok(NULL, " ")) argv[argc++] = token;
    if (argc == 0) continue;
    const char *cmd = argv[0];
    int fd = argc > 1 ? atoi(argv[1]) : -1;

    if (strcmp(cmd, "socket") == 0) {
      /* socket 4|6|unix stream|dgram [nonblock] [inherit] */
      int family = strcmp(argv[1], "4") == 0 ? AF_INET : strcmp(argv[1], "6") == 0 ? AF_INET6 : AF_UNIX;
      int type = strcmp(argv[2], "dgram") == 0 ? SOCK_DGRAM : SOCK_STREAM;
      int extra = SOCK_CLOEXEC;
      for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "nonblock") == 0) extra |= SOCK_NONBLOCK;
        if (strcmp(argv[i], "inherit") == 0) extra &= ~SOCK_CLOEXEC;
      }
      errno = ERRNO_MARK;
      int s = socket(family, type | extra, 0);
      reply_result(s, errno);
    } else if (strcmp(cmd, "freebind") == 0) {
      int one = 1;
      reply_result(setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one)), errno);
    } else if (strcmp(cmd, "bind") == 0 || strcmp(cmd, "connect") == 0) {
      struct sockaddr_storage addr;
      socklen_t len = parse_address(argv[2], argv[3], &addr);
      errno = ERRNO_MARK;
      int rv = cmd[0] == 'b' ? bind(fd, (struct sockaddr *)&addr, len) : connect(fd, (struct sockaddr *)&addr, len);
      reply_result(rv, errno);
    } else if (strcmp(cmd, "listen") == 0) {
      errno = ERRNO_MARK;
      int rv = listen(fd, 16);
      reply_result(rv, errno);
    } else if (strcmp(cmd, "accept") == 0) {
      do_accept(fd, argv[2], (socklen_t)atoi(argv[3]));
    } else if (strcmp(cmd, "getsockname") == 0 || strcmp(cmd, "getpeername") == 0) {
      do_name(fd, cmd[3] == 'p', (socklen_t)atoi(argv[2]));
    } else if (strcmp(cmd, "info") == 0) {
      do_info(fd);
    } else if (strcmp(cmd, "write") == 0) {
      char text[600];
      int n = snprintf(text, sizeof(text), "%s\n", argv[2]);
      reply_result((int)write(fd, text, (size_t)n), errno);
    } else if (strcmp(cmd, "read") == 0) {
      char data[512];
      ssize_t n = read(fd, data, sizeof(data) - 1);
      if (n < 0) {
        reply_result(-1, errno);
      } else {
        data[n] = '\0';
        data[strcspn(data, "\n\"\\")] = '\0';
        char reply[600];
        snprintf(reply, sizeof(reply), "{\"rv\":%zd,\"data\":\"%s\"}", n, data);
        emit(reply);
      }
    } else if (strcmp(cmd, "close") == 0) {
      reply_result(close(fd), errno);
    } else if (strcmp(cmd, "fdcount") == 0) {
      char reply[64];
      snprintf(reply, sizeof(reply), "{\"rv\":%d}", count_fds());
      emit(reply);
    } else if (strcmp(cmd, "serve") == 0) {
      start_servers(fd, argc > 2 ? atoi(argv[2]) : 1);
    } else {
      emit("{\"rv\":-1,\"errno\":\"unknown command\"}");
    }
  }
  return 0;
}
