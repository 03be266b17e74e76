#include "conn_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void write_line(int fd, const char *line, int len) {
  if (len <= 0) return;
  if (len > 511) len = 511;
  ssize_t rc;
  do rc = write(fd, line, (size_t)len);
  while (rc < 0 && errno == EINTR);
  /* A full or closed log never stops relaying. */
}

void rly_log_connection(int log_fd, const struct rly_endpoint *remote, const struct rly_endpoint *local) {
  if (log_fd < 0) return;
  char r[RLY_ENDPOINT_TEXT_MAX], l[RLY_ENDPOINT_TEXT_MAX], line[512];
  rly_endpoint_format(remote, r, sizeof(r));
  rly_endpoint_format(local, l, sizeof(l));
  write_line(log_fd, line, snprintf(line, sizeof(line), "%lu %s -> %s\n", (unsigned long)time(NULL), r, l));
}

void rly_log_problem(int log_fd, const struct rly_endpoint *remote, const struct rly_endpoint *local,
                     const char *what, int err) {
  if (log_fd < 0) return;
  char r[RLY_ENDPOINT_TEXT_MAX], l[RLY_ENDPOINT_TEXT_MAX], line[512];
  rly_endpoint_format(remote, r, sizeof(r));
  rly_endpoint_format(local, l, sizeof(l));
  write_line(log_fd, line,
             snprintf(line, sizeof(line), "socketbox-relay: %s -> %s: %s%s%s\n", r, l, what, err ? ": " : "",
                      err ? strerror(err) : ""));
}

void rly_log_message(int log_fd, const char *what, int err) {
  if (log_fd < 0) return;
  char line[512];
  write_line(log_fd, line,
             snprintf(line, sizeof(line), "socketbox-relay: %s%s%s\n", what, err ? ": " : "", err ? strerror(err) : ""));
}
