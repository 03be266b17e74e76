/* Peers that misbehave on purpose, for the server harness: descriptor floods
 * at receivers' sockets, and registration-socket clients that send anything
 * but one well-formed registration. */
#ifndef SKBOX_HARNESS_HOSTILE_PEERS_H
#define SKBOX_HARNESS_HOSTILE_PEERS_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64 over *state. */
uint64_t hostile_random(uint64_t *state);

/* Sends one datagram to path ('@' = abstract) carrying n descriptors of mixed
 * kinds (/dev/null, pipes, UNIX stream sockets, UDP and unconnected TCP
 * sockets), split over two SCM_RIGHTS headers when two_headers, with a
 * payload of payload_len bytes. Never blocks; our copies are closed. Returns
 * 1 when the message was sent. */
int hostile_flood(const char *path, int n, int two_headers, size_t payload_len, uint64_t *rng);

/* Sends bytes (with n_fds descriptors attached) on a connected socket. */
int hostile_send(int sock, const void *bytes, size_t len, int n_fds);

typedef struct {
  uint64_t attempts, granted, forked_other_uid;
} hostile_registration_counts;

/* One API connection to the registration socket at path that misbehaves in
 * one of several ways, chosen by rng; waits (at most 2 s) for the server to
 * close it. taken_slot is held by a real receiver; slots >= n_slots do not
 * exist. */
void hostile_registration(const char *path, uint32_t taken_slot, uint32_t n_slots, uint64_t *rng,
                          hostile_registration_counts *counts);

/* A child process of uid 65534 connects and sends a registration for slot. */
void hostile_registration_other_uid(const char *path, uint32_t slot, hostile_registration_counts *counts);

#endif
