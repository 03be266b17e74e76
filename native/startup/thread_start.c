/* Every thread created after start-up (by Node, libuv, worker_threads or the
 * addons) goes through pthread_create, which this library interposes: the new
 * thread sheds capabilities before it runs anything.
 * - It empties its bounding set when allowed: no thread but the main one ever
 *   execs, and the main thread empties its own before serving.
 * - Started without root, it also empties its permitted and effective sets:
 *   no setresuid() will clear them, and a signal cannot reach every Node
 *   thread to do it later (one blocks all signals). Only the main thread keeps
 *   them, for binding, until it clears its own before serving.
 * A root start keeps the permitted set in every thread: setresuid() clears it
 * in all threads at once, and a server that stays root keeps its capabilities. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "common/thread_caps.h"
#include "startup/startup.h"

typedef void *(*thread_main)(void *);
typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, thread_main, void *);

struct thread_start {
  thread_main main;
  void *arg;
};

static void *start_without_capabilities(void *p) {
  struct thread_start start = *(struct thread_start *)p;
  free(p);
  if (skbox_caps_drop_bounding() < 0 || (skbox_startup_unprivileged && skbox_caps_clear_all() != 0)) {
    /* A thread that cannot shed them must not run. */
    skbox_startup_report("a new thread cannot give up its capabilities");
    abort();
  }
  return start.main(start.arg);
}

static pthread_create_fn real_pthread_create(void) {
  static pthread_create_fn real;
  pthread_create_fn fn = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
  if (!fn) {
    fn = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
    __atomic_store_n(&real, fn, __ATOMIC_RELEASE);
  }
  return fn;
}

SKBOX_STARTUP_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, thread_main main, void *arg) {
  pthread_create_fn real = real_pthread_create();
  struct thread_start *start = malloc(sizeof *start);
  if (!real || !start) {
    free(start);
    return EAGAIN;
  }
  start->main = main;
  start->arg = arg;
  int rc = real(thread, attr, start_without_capabilities, start);
  if (rc != 0) free(start);
  return rc;
}
