#include "unix_target_path.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

void skbox_five_digits(uint16_t value, char *out) {
  for (int i = 4; i >= 0; i--) {
    out[i] = (char)('0' + value % 10);
    value /= 10;
  }
}

/* Record B of $SKBOX_DIRECTORY_ROOT/skbox_dir_AAAAA into PATH (sun_path sized, zero-filled). */
static int read_record(const struct skbox_socketbox_target *target, const char *root, char *path, size_t path_size) {
  char file[SKBOX_ROOT_MAX + 32];
  size_t root_length = strlen(root);
  static const char name[] = "/skbox_dir_";
  memcpy(file, root, root_length);
  memcpy(file + root_length, name, sizeof(name) - 1);
  skbox_five_digits(target->group, file + root_length + sizeof(name) - 1);
  file[root_length + sizeof(name) - 1 + 5] = '\0';

  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return -1;
  ssize_t got = pread(fd, path, path_size, (off_t)target->slot * SKBOX_RECORD_SIZE);
  int read_errno = errno;
  close(fd);
  if (got < 0) {
    errno = read_errno;
    return -1;
  }
  /* A short record is fine if it is terminated (a hand-written last entry); the original
   * reported ERANGE for anything past the end, which stays the answer for no data at all. */
  if (got == 0 || ((size_t)got < path_size && memchr(path, '\0', (size_t)got) == NULL)) {
    errno = ERANGE;
    return -1;
  }
  return 0;
}

/* $SKBOX_DIRECTORY_ROOT2/AAAAA/BBBBB_PPPPP */
static int root2_path(const struct skbox_socketbox_target *target, const char *root, char *path, size_t path_size) {
  size_t root_length = strlen(root);
  const size_t suffix_length = sizeof("/00000/00000_00000") - 1;
  if (root_length + suffix_length + 1 > path_size) {
    errno = ENAMETOOLONG;
    return -1;
  }
  char *p = path + root_length;
  memcpy(path, root, root_length);
  *p++ = '/';
  skbox_five_digits(target->group, p);
  p += 5;
  *p++ = '/';
  skbox_five_digits(target->slot, p);
  p += 5;
  *p++ = '_';
  skbox_five_digits(target->port, p);
  p += 5;
  *p = '\0';
  return 0;
}

int skbox_resolve_unix_target(const struct skbox_socketbox_target *target, const struct skbox_preload_config *config,
                              struct skbox_unix_target *out) {
  memset(out, 0, sizeof(*out));
  out->addr.sun_family = AF_UNIX;
  char *path = out->addr.sun_path;
  const size_t path_size = sizeof(out->addr.sun_path);

  if (target->named_by_root2) {
    if (root2_path(target, config->directory_root2, path, path_size) != 0) return -1;
  } else {
    if (read_record(target, config->directory_root, path, path_size) != 0) return -1;
    char *marker = memmem(path, strnlen(path, path_size), SKBOX_PORT_MARKER, sizeof(SKBOX_PORT_MARKER) - 1);
    if (marker != NULL) skbox_five_digits(target->port, marker);
  }

  size_t length = strnlen(path, path_size);
  if (length == 0) {
    errno = EADDRNOTAVAIL;
    return -1;
  }
  if (path[0] == '@') {
    /* Abstract name: a leading NUL, and the length counts exactly the name. */
    if (length == 1) {
      errno = EADDRNOTAVAIL;
      return -1;
    }
    path[0] = '\0';
    out->abstract = 1;
    out->length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length);
  } else {
    /* A 108-byte path has no room for the NUL; the kernel accepts it with the full length. */
    out->length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (length < path_size ? length + 1 : length));
  }
  return 0;
}
