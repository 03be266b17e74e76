/* libFuzzer target: the preload library's record-file reader
 * (native/preload/unix_target_path.c), which reads skbox_dir_AAAAA files
 * written by another process (socketbox-dirtool, or anyone who may write the
 * directory). Each input is one record file plus the record, port and mode to
 * resolve: [flags][slot][port hi][port lo][root2 length][file bytes...]. The
 * file is written to a private directory and resolved as a bind would; an
 * accepted address must be a well-formed sockaddr_un. Built and run by
 * test/native-fuzz.test.ts. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "preload/unix_target_path.h"

static struct skbox_preload_config config;
static char file[SKBOX_ROOT_MAX + 32];

static void fail(const char *what) {
  fprintf(stderr, "fuzz_preload_records: %s\n", what);
  abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  char dir[] = "/dev/shm/skbox-fuzz-records-XXXXXX"; /* tmpfs: thousands of rewrites */
  if (!mkdtemp(dir)) fail("mkdtemp");
  config.directory_root.variable = "SKBOX_DIRECTORY_ROOT";
  snprintf(config.directory_root.path, sizeof config.directory_root.path, "%s", dir);
  config.directory_root2.variable = "SKBOX_DIRECTORY_ROOT2";
  snprintf(file, sizeof file, "%s/skbox_dir_00007", dir);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 5) return 0;
  struct skbox_socketbox_target target = {
      .stream = data[0] & 1,
      .named_by_root2 = (data[0] & 2) != 0,
      .group = 7,
      .slot = data[1] % 24,
      .port = (uint16_t)(data[2] << 8 | data[3]),
  };
  /* $SKBOX_DIRECTORY_ROOT2 of the length the input asks for (the check against sun_path). */
  size_t root2 = data[4] % 128;
  memset(config.directory_root2.path, 'r', root2);
  config.directory_root2.path[0] = '/';
  config.directory_root2.path[root2] = '\0';
  /* An empty root is one the library refuses (fail closed), as with the variable unset. */
  config.directory_root2.problem = root2 == 0 ? "empty" : NULL;
  int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, data + 5, size - 5) != (ssize_t)(size - 5)) fail("cannot write the record file");
  close(fd);

  struct skbox_unix_target out;
  struct skbox_target_error error;
  errno = 0;
  if (skbox_resolve_unix_target(&target, &config, &out, &error) != 0) {
    if (errno != ERANGE && errno != EADDRNOTAVAIL && errno != ENAMETOOLONG && errno != EINVAL)
      fail("an unexpected errno");
    if (error.why == NULL || error.why[0] == '\0') fail("a refusal without a reason");
    return 0;
  }
  if (out.addr.sun_family != AF_UNIX) fail("not AF_UNIX");
  if (out.length <= offsetof(struct sockaddr_un, sun_path) || out.length > sizeof out.addr) fail("length out of range");
  size_t path_len = out.length - offsetof(struct sockaddr_un, sun_path);
  if (out.abstract) {
    if (out.addr.sun_path[0] != '\0' || path_len < 2) fail("malformed abstract name");
  } else {
    size_t text = strnlen(out.addr.sun_path, sizeof out.addr.sun_path);
    if (text == 0) fail("empty path accepted");
    if (path_len != (text < sizeof out.addr.sun_path ? text + 1 : text)) fail("length does not match the path");
  }
  return 0;
}
