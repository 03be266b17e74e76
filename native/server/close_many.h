/* Closing the descriptors of connections handed over, a burst at a time. */
#ifndef SKBOX_CLOSE_MANY_H
#define SKBOX_CLOSE_MANY_H

/* Closes fds[0..n) (reordering the array): each run of consecutive numbers takes one
 * close_range, falling back to close one by one where the kernel lacks it. A burst of
 * accepted connections usually holds consecutive numbers (accept takes the lowest free). */
void skbox_close_many(int *fds, unsigned n);

#endif
