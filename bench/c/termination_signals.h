/* SIGTERM and SIGINT as a readable descriptor, so a poll/epoll loop never races a
 * signal handler. Shared by the benchmark's servers. */
#ifndef BENCH_TERMINATION_SIGNALS_H
#define BENCH_TERMINATION_SIGNALS_H

#include <signal.h>
#include <sys/signalfd.h>

/* Returns the signalfd, or -1 with errno set. */
static inline int termination_signals(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return -1;
  return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

#endif
