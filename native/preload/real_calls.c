#include "real_calls.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *next_definition(const char *name) {
  void *symbol = dlsym(RTLD_NEXT, name);
  if (symbol == NULL) {
    static const char prefix[] = "libsocketbox-preload: cannot find the real ";
    /* write(2), not stdio: this may run before the program's stdio is usable. */
    ssize_t ignored = write(2, prefix, sizeof(prefix) - 1);
    ignored = write(2, name, strlen(name));
    ignored = write(2, "\n", 1);
    (void)ignored;
    abort();
  }
  return symbol;
}

void skbox_resolve_real_calls(struct skbox_real_calls *out) {
  out->bind = (int (*)(int, const struct sockaddr *, socklen_t))next_definition("bind");
  out->connect = (int (*)(int, const struct sockaddr *, socklen_t))next_definition("connect");
  out->listen = (int (*)(int, int))next_definition("listen");
  out->accept4 = (int (*)(int, struct sockaddr *, socklen_t *, int))next_definition("accept4");
  out->getsockname = (int (*)(int, struct sockaddr *, socklen_t *))next_definition("getsockname");
  out->getpeername = (int (*)(int, struct sockaddr *, socklen_t *))next_definition("getpeername");
}
