/* Opens libbpf with dlopen (see libbpf_calls.h): the one place that knows the
 * fast path's libbpf is found at run time, not at link time. */
#define SKBOX_LIBBPF_CALLS_DEFINE
#include "fastpath/libbpf_calls.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

skbox_libbpf_calls skbox_libbpf;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failure[256] = "not opened"; /* empty once every call was found */

static void open_library(void) {
  void *lib = dlopen(SKBOX_LIBBPF_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *e = dlerror();
    snprintf(failure, sizeof failure, "cannot open %s (install libbpf1): %s", SKBOX_LIBBPF_SONAME,
             e ? e : "unknown error");
    return;
  }
  skbox_libbpf_calls found;
#define SKBOX_LIBBPF_FIND(name) \
  if (!(*(void **)&found.name = dlsym(lib, #name))) { \
    snprintf(failure, sizeof failure, "%s has no %s: a libbpf older than the build's", SKBOX_LIBBPF_SONAME, #name); \
    dlclose(lib); \
    return; \
  }
  SKBOX_LIBBPF_CALLS(SKBOX_LIBBPF_FIND)
#undef SKBOX_LIBBPF_FIND
  skbox_libbpf = found;
  failure[0] = 0;
}

int skbox_libbpf_open(char *why, size_t why_len) {
  pthread_once(&once, open_library);
  if (!failure[0]) return 0;
  snprintf(why, why_len, "%s", failure);
  errno = ENOENT;
  return -1;
}
