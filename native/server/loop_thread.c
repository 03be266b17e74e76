#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setname_np */
#endif
#include "server/loop_thread.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>

#include "server/thread_sched.h"

/* Lives on the starting thread's stack until the new thread posts started. */
struct loop_thread_start {
  skbox_loop *loop;
  int batch;
  skbox_loop_thread_end end;
  void *ctx;
  int sched_errno;
  sem_t started;
};

static void *loop_thread_main(void *arg) {
  struct loop_thread_start *start = arg;
  skbox_loop *loop = start->loop;
  skbox_loop_thread_end end = start->end;
  void *ctx = start->ctx;
  /* Named for ps -L and top -H: "socketbox-loop" fits the kernel's 15 characters. */
  pthread_setname_np(pthread_self(), "socketbox-loop");
  start->sched_errno = skbox_thread_sched_batch(start->batch) < 0 ? errno : 0;
  sem_post(&start->started); /* start is gone after this */
  int status = skbox_loop_run(loop);
  end(ctx, status, skbox_loop_fatal_errno(loop));
  return NULL;
}

int skbox_loop_thread_start(skbox_loop *loop, int batch, skbox_loop_thread_end end, void *ctx, int *sched_errno) {
  struct loop_thread_start start = {.loop = loop, .batch = batch, .end = end, .ctx = ctx};
  if (sem_init(&start.started, 0, 0) < 0) return -1;
  pthread_attr_t attr;
  int rc = pthread_attr_init(&attr);
  if (rc != 0) {
    sem_destroy(&start.started);
    errno = rc;
    return -1;
  }
  rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  /* The new thread inherits the mask in force while it is created. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t thread;
  if (rc == 0) rc = pthread_create(&thread, &attr, loop_thread_main, &start);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  if (rc == 0) {
    while (sem_wait(&start.started) < 0 && errno == EINTR) {
    }
  }
  sem_destroy(&start.started);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  *sched_errno = start.sched_errno;
  return 0;
}
