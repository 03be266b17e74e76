/* libsocketbox-startup.so: preloaded into node by bin/socketbox, it removes the
 * capabilities Node's threads would otherwise inherit (see startup_library.c). */
#ifndef SKBOX_STARTUP_H
#define SKBOX_STARTUP_H

#define SKBOX_STARTUP_EXPORT __attribute__((visibility("default")))

/* Set by the constructor: the process started with no uid 0 (real, effective
 * or saved), so no setresuid() will ever clear its capabilities for it. */
extern int skbox_startup_unprivileged;

/* Writes "socketbox: WHAT: strerror(errno)" to stderr. */
void skbox_startup_report(const char *what);

#endif
