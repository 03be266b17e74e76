#include "exec_with_fd.h"
#include "fd_flags.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Caught signals are reset by exec anyway; ignored ones would be inherited. */
static void restore_default_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &sa, NULL); /* fails harmlessly for signals reserved by libc */
  }
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, NULL);
}

int skbox_exec_with_received_fd(int fd, const int *keep, unsigned keep_count, const char *file, char *const argv[]) {
  char number[16];
  snprintf(number, sizeof(number), "%d", fd);
  /* Node marks only the descriptors it knows close-on-exec: mark every other
   * one too, then re-open exactly the ones the program is meant to get. */
  if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) return -1;
  if (skbox_make_inheritable(fd) != 0 || skbox_make_blocking(fd) != 0) return -1;
  for (int std = 0; std <= 2; std++) {
    if (skbox_make_inheritable(std) != 0 && errno != EBADF) return -1;
  }
  for (unsigned i = 0; i < keep_count; i++) {
    if (skbox_make_inheritable(keep[i]) != 0) return -1;
  }
  if (setenv("SKBOX_RECEIVED_FD", number, 1) != 0) return -1;
  restore_default_signals();
  execvp(file, argv);
  return -1;
}
