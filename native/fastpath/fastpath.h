/* The kernel fast path (docs/fast-path.md): the BPF sk_lookup program, loaded
 * and attached once per process, its maps kept in step with the rule table,
 * socketbox's listeners and the listener-mode slots. Process-wide, like the
 * slot registry: the main thread loads and publishes, the registrar thread
 * opens and closes slot listeners, the metrics read the counters. */
#ifndef SKBOX_FASTPATH_H
#define SKBOX_FASTPATH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fastpath/fastpath_abi.h"
#include "server/table.h"

/* Load the BPF object at object_path and attach its program to the network
 * namespace of the calling thread. 0, or -1 with errno set and a reason in why
 * (the first line the kernel or libbpf gave, when there is one). Needs
 * CAP_BPF and CAP_NET_ADMIN (or root); the maps stay usable after they are dropped.
 * verbose: libbpf's messages, the verifier's log among them, go to stderr. */
int skbox_fastpath_start(const char *object_path, int verbose, char *why, size_t why_len);

/* Whether the program is attached. */
int skbox_fastpath_active(void);

/* Detach and release everything: every connection goes to the accept loops again. */
void skbox_fastpath_stop(void);

/* socketbox's listeners, listeners[i] being incoming_socket i. Those in the
 * attached namespace are published; returns how many, or -1 (errno). */
int skbox_fastpath_set_listeners(const int *fds, uint32_t n);

/* Publish a validated table: evaluated if within the limits of fastpath_abi.h
 * (returns 1), else every connection passes (returns 0); -1 on a map error. */
int skbox_fastpath_publish(const skbox_table *t);

/* The registrar: a listening socket for slot, in the map, or -1 (errno; the
 * slot is then served over the registration connection only). */
int skbox_fastpath_slot_open(uint32_t slot);

/* The registrar: slot's listener leaves the map. reclaim: its receiver is
 * gone, so socketbox takes what waits in the socket's queue, resets it and
 * counts it (skbox_fastpath_reclaimed), and shuts the socket down. */
void skbox_fastpath_slot_close(uint32_t slot, int reclaim);

/* The registrar, for a listener-mode registration of slot: send the grant,
 * with the slot's listener when the fast path serves it (*listener_mode = 1).
 * Returns what sendmsg returned; 4 when the grant went out. */
ssize_t skbox_fastpath_grant(int conn_fd, uint32_t slot, int *listener_mode);
/* Listener-mode registrations granted with (1) or without (0) a listener. */
uint64_t skbox_fastpath_grants(int with_listener);

/* Counters: per decision (summed over CPUs), per slot. */
int skbox_fastpath_decisions(uint64_t out[SKBOX_FP_DECISION_COUNT]);
uint64_t skbox_fastpath_assigned(uint32_t slot);
uint64_t skbox_fastpath_reclaimed(uint32_t slot);
/* Slots that have had a listener, in ascending order; returns how many (<= cap). */
uint32_t skbox_fastpath_slots_seen(uint32_t *out, uint32_t cap);

/* Test support: run the program on one connection (BPF_PROG_TEST_RUN).
 * tuple: 36 bytes as in docs/table-format.md; ipv4: local and remote are
 * IPv4-mapped and the connection is IPv4. Returns the decision (enum
 * skbox_fp_decision) and the assigned socket's cookie, or -1 (errno). */
int skbox_fastpath_test_run(const uint8_t tuple[36], int ipv4, uint64_t *cookie);

#endif
