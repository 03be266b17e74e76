/* The scheduling policy of an accept-loop thread. */
#ifndef SKBOX_THREAD_SCHED_H
#define SKBOX_THREAD_SCHED_H

/* Puts the calling thread (not the whole process) in SCHED_BATCH when batch
 * is non-zero, else back in SCHED_OTHER. Returns 0 or -1 with errno set. */
int skbox_thread_sched_batch(int batch);

#endif
