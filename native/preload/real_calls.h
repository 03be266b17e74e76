/* The next definitions (normally libc's) of the functions this library replaces. */
#ifndef SKBOX_PRELOAD_REAL_CALLS_H
#define SKBOX_PRELOAD_REAL_CALLS_H

#include <sys/socket.h>

struct skbox_real_calls {
  int (*bind)(int, const struct sockaddr *, socklen_t);
  int (*connect)(int, const struct sockaddr *, socklen_t);
  int (*listen)(int, int);
  int (*accept4)(int, struct sockaddr *, socklen_t *, int);
  int (*getsockname)(int, struct sockaddr *, socklen_t *);
  int (*getpeername)(int, struct sockaddr *, socklen_t *);
};

/* Resolved together with the configuration (see preload_config.h). Never NULL. */
const struct skbox_real_calls *skbox_real(void);

/* Called once from the initialiser; aborts when a symbol cannot be found, since every
 * intercepted call would otherwise have nowhere to go. */
void skbox_resolve_real_calls(struct skbox_real_calls *out);

#endif
