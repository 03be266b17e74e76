/* The thread an accept loop runs on: a plain thread of the process, started by
 * the main thread, with no JavaScript runtime of its own. */
#ifndef SKBOX_LOOP_THREAD_H
#define SKBOX_LOOP_THREAD_H

#include "server/accept_loop.h"

/* Called on the loop's thread once skbox_loop_run has returned, with its
 * status and skbox_loop_fatal_errno; the thread ends after it returns. */
typedef void (*skbox_loop_thread_end)(void *ctx, int status, int fatal_errno);

/* Starts a detached thread that puts itself in SCHED_BATCH (batch non-zero)
 * or SCHED_OTHER, then runs the loop and calls end(ctx, ...). Returns once the
 * thread has set its policy: *sched_errno is 0, or why the kernel refused (the
 * loop runs anyway). The thread blocks every signal, so signals go to the main
 * thread and never interrupt the loop. Returns 0, or -1 with errno set when
 * no thread could be started (end is never called then). */
int skbox_loop_thread_start(skbox_loop *loop, int batch, skbox_loop_thread_end end, void *ctx, int *sched_errno);

#endif
