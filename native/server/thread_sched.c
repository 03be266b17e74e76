#include "server/thread_sched.h"

#include <sched.h>

/* Why SCHED_BATCH: a woken batch thread does not preempt the task running on
 * its CPU. When an accept loop shares a CPU with its receivers, each new
 * connection would otherwise preempt a receiver, and each datagram sent would
 * let the receiver preempt the loop back: two context switches per
 * connection. As a batch thread the loop takes what arrived while a receiver
 * ran, and the receiver then drains the burst. On an idle CPU nothing changes. */
int skbox_thread_sched_batch(int batch) {
  struct sched_param none = {.sched_priority = 0};
  /* pid 0 is the calling thread: Linux schedules threads, not processes. */
  return sched_setscheduler(0, batch ? SCHED_BATCH : SCHED_OTHER, &none);
}
