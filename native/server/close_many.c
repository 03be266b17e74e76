#include "server/close_many.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

static void sort_fds(int *fds, unsigned n) {
  for (unsigned i = 1; i < n; i++) { /* insertion sort: a burst is at most a few dozen */
    int v = fds[i];
    unsigned j = i;
    for (; j > 0 && fds[j - 1] > v; j--) fds[j] = fds[j - 1];
    fds[j] = v;
  }
}

/* Only ever over numbers all of which are in the caller's list: never anyone else's descriptor. */
static void close_run(int first, int last) {
  if (first < last && syscall(SYS_close_range, (unsigned)first, (unsigned)last, 0u) == 0) return;
  for (int fd = first; fd <= last; fd++) close(fd);
}

void skbox_close_many(int *fds, unsigned n) {
  sort_fds(fds, n);
  for (unsigned i = 0; i < n;) {
    unsigned j = i;
    while (j + 1 < n && fds[j + 1] == fds[j] + 1) j++;
    close_run(fds[i], fds[j]);
    i = j + 1;
  }
}
