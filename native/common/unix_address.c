#include "common/unix_address.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

int skbox_unix_address(const char *path, struct sockaddr_un *out) {
  size_t len = strlen(path);
  if (len == 0 || (path[0] == '@' && len == 1)) {
    errno = EINVAL;
    return -1;
  }
  if (len > SKBOX_UNIX_NAME_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memset(out, 0, sizeof *out);
  out->sun_family = AF_UNIX;
  memcpy(out->sun_path, path, len);
  if (path[0] == '@') out->sun_path[0] = '\0';
  return (int)(offsetof(struct sockaddr_un, sun_path) + len);
}
