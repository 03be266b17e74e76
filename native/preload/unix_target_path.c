#include "unix_target_path.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "record_file.h"

void skbox_five_digits(uint16_t value, char *out) {
  for (int i = 4; i >= 0; i--) {
    out[i] = (char)('0' + value % 10);
    value /= 10;
  }
}

static int fail(struct skbox_target_error *error, int code, const char *subject, const char *why) {
  if (subject != error->subject) snprintf(error->subject, sizeof(error->subject), "%s", subject);
  error->why = why;
  errno = code;
  return -1;
}

/* The root the target needs, or NULL (error filled) when its variable cannot be used. */
static const char *usable_root(const struct skbox_directory_root *root, struct skbox_target_error *error) {
  if (root->problem == NULL) return root->path;
  fail(error, EADDRNOTAVAIL, root->variable, root->problem);
  return NULL;
}

/* Record B of $SKBOX_DIRECTORY_ROOT/skbox_dir_AAAAA into PATH, with the port marker replaced. */
static int record_path(const struct skbox_socketbox_target *target, const char *root, char *path,
                       struct skbox_target_error *error) {
  char file[PATH_MAX];
  const char *why = "";
  int rv = skbox_read_record(root, target->group, target->slot, path, file, sizeof(file), &why);
  int code = errno;
  /* The subject of any later complaint about the path, too. */
  snprintf(error->subject, sizeof(error->subject), "%s, record %u", file, (unsigned)target->slot);
  if (rv != 0) return fail(error, code, error->subject, why);
  char *marker = memmem(path, strlen(path), SKBOX_PORT_MARKER, sizeof(SKBOX_PORT_MARKER) - 1);
  if (marker != NULL) skbox_five_digits(target->port, marker);
  return 0;
}

/* $SKBOX_DIRECTORY_ROOT2/AAAAA/BBBBB_PPPPP */
static int root2_path(const struct skbox_socketbox_target *target, const struct skbox_directory_root *root, char *path,
                      size_t path_size, struct skbox_target_error *error) {
  size_t root_length = strlen(root->path);
  const size_t suffix_length = sizeof("/00000/00000_00000") - 1;
  if (root_length + suffix_length + 1 > path_size)
    return fail(error, ENAMETOOLONG, root->variable,
                "too long for a UNIX socket path with /AAAAA/BBBBB_PPPPP (at most 89 bytes)");
  char *p = path + root_length;
  memcpy(path, root->path, root_length);
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
                              struct skbox_unix_target *out, struct skbox_target_error *error) {
  memset(out, 0, sizeof(*out));
  error->subject[0] = '\0';
  error->why = "";
  out->addr.sun_family = AF_UNIX;
  char *path = out->addr.sun_path;
  const size_t path_size = sizeof(out->addr.sun_path);

  if (target->named_by_root2) {
    if (usable_root(&config->directory_root2, error) == NULL) return -1;
    if (root2_path(target, &config->directory_root2, path, path_size, error) != 0) return -1;
  } else {
    const char *root = usable_root(&config->directory_root, error);
    if (root == NULL || record_path(target, root, path, error) != 0) return -1;
  }

  size_t length = strlen(path); /* both paths above end with a NUL inside sun_path */
  if (path[0] == '@') {
    if (length == 1) return fail(error, EADDRNOTAVAIL, error->subject, "an abstract name with nothing after '@'");
    /* Abstract name: a leading NUL, and the length counts exactly the name. */
    path[0] = '\0';
    out->abstract = 1;
    out->length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length);
  } else {
    out->length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length + 1);
  }
  return 0;
}
