/* Capabilities are per thread, and a new thread copies its creator's. Node
 * starts its threads (V8 platform workers, the signal watcher) before any
 * JavaScript or addon code runs, so clearing capabilities from there reaches
 * only the main thread. This constructor runs in node before main(), while
 * the process still has a single thread: what it clears, no thread inherits.
 *
 * It empties the inheritable and ambient sets (so no program socketbox
 * execs gets capabilities it was not given), and, when socketbox starts
 * without root and holds CAP_SETPCAP, the bounding set too. The permitted and
 * effective sets stay: an unprivileged socketbox given CAP_NET_BIND_SERVICE
 * must still bind port 80. A root start keeps its bounding set here, since
 * -d re-executes socketbox as root and -e may exec a program that needs it. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/thread_caps.h"
#include "startup/startup.h"

int skbox_startup_unprivileged;

/* Its presence tells the server addon that the constructor ran (dlsym), and where the library is (dladdr). */
SKBOX_STARTUP_EXPORT const char skbox_startup_library[] = "libsocketbox-startup";

void skbox_startup_report(const char *what) {
  char line[256];
  int n = snprintf(line, sizeof line, "socketbox: %s: %s\n", what, strerror(errno));
  if (n > 0 && write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) {
    /* nothing more to do */
  }
}

static int same_file(const char *a, const struct stat *b) {
  struct stat st;
  return stat(a, &st) == 0 && st.st_dev == b->st_dev && st.st_ino == b->st_ino;
}

/* Takes this library out of LD_PRELOAD, so that programs socketbox starts do not load it. */
static void leave_preload_list(void) {
  const char *list = getenv("LD_PRELOAD");
  Dl_info self;
  struct stat self_st;
  if (!list || !dladdr(skbox_startup_library, &self) || !self.dli_fname || stat(self.dli_fname, &self_st) != 0) return;
  size_t size = strlen(list) + 1;
  char *copy = malloc(size), *rest = malloc(size);
  if (!copy || !rest) goto out;
  memcpy(copy, list, size);
  rest[0] = '\0';
  /* ld.so separates entries with colons or spaces. */
  for (char *save = NULL, *entry = strtok_r(copy, ": ", &save); entry; entry = strtok_r(NULL, ": ", &save)) {
    if (same_file(entry, &self_st)) continue;
    if (rest[0]) strcat(rest, ":");
    strcat(rest, entry);
  }
  if (rest[0]) setenv("LD_PRELOAD", rest, 1);
  else unsetenv("LD_PRELOAD");
out:
  free(copy);
  free(rest);
}

__attribute__((constructor)) static void start_without_inherited_capabilities(void) {
  leave_preload_list();
  if (skbox_caps_clear_inheritable_ambient() != 0) {
    skbox_startup_report("cannot clear the inheritable and ambient capabilities");
    _exit(1);
  }
  skbox_startup_unprivileged = !skbox_uid_is_root();
  if (skbox_startup_unprivileged && skbox_caps_drop_bounding() < 0) {
    skbox_startup_report("cannot empty the capability bounding set");
    _exit(1);
  }
}
