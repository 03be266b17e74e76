#include "record_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int refuse(int error, const char *reason, const char **why) {
  *why = reason;
  errno = error;
  return -1;
}

int skbox_parse_record(const char *bytes, size_t got, char *path, const char **why) {
  memset(path, 0, SKBOX_RECORD_READ);
  if (got == 0) return refuse(ERANGE, "past the end of the file", why);
  if (got > SKBOX_RECORD_READ) got = SKBOX_RECORD_READ;
  const char *end = memchr(bytes, '\0', got);
  size_t length = end != NULL ? (size_t)(end - bytes) : got;
  /* First, as the most telling complaint about a text file or binary junk. */
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)bytes[i];
    if (c < 0x20 || c == 0x7f) return refuse(EINVAL, "a control character in the path (not a record file?)", why);
  }
  if (end == NULL) {
    if (got < SKBOX_RECORD_READ) return refuse(ERANGE, "cut off by the end of the file", why);
    return refuse(ENAMETOOLONG, "no NUL within 108 bytes (a path holds at most 107)", why);
  }
  if (length == 0) return refuse(EADDRNOTAVAIL, "empty", why);
  memcpy(path, bytes, length);
  return 0;
}

int skbox_read_record(const char *root, uint16_t group, uint16_t slot, char *path, char *file, size_t file_size,
                      const char **why) {
  if ((size_t)snprintf(file, file_size, "%s/skbox_dir_%05u", root, (unsigned)group) >= file_size)
    return refuse(ENAMETOOLONG, "the file name is too long", why);
  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return refuse(errno, "cannot open the file", why);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return refuse(EINVAL, "not a regular file", why);
  }
  char bytes[SKBOX_RECORD_READ];
  ssize_t got = pread(fd, bytes, sizeof(bytes), (off_t)slot * SKBOX_RECORD_SIZE);
  int read_errno = errno;
  close(fd);
  if (got < 0) return refuse(read_errno, "cannot read the file", why);
  return skbox_parse_record(bytes, (size_t)got, path, why);
}
