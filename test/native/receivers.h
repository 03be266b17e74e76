/* Receivers for the server harness: threads that take connections the way a
 * socketbox receiver does (common/fd_receive.c), answer each TCP one with the
 * byte 'k' and close it. They can be fast, slow, stall for a while, vanish
 * and come back, and either bind a datagram socket or register for a slot. */
#ifndef SKBOX_HARNESS_RECEIVERS_H
#define SKBOX_HARNESS_RECEIVERS_H

#include <pthread.h>
#include <stdint.h>

enum receiver_mode {
  RECEIVER_FAST,
  RECEIVER_SLOW,   /* 2 ms per connection */
  RECEIVER_STALL,  /* reads nothing for stall_ms after its first message (and on restall) */
  RECEIVER_VANISH, /* closes its socket every 40 connections, comes back 20 ms later */
};

typedef struct {
  char path[108]; /* datagram socket path, or the registration socket ('@' = abstract) */
  int slot;       /* -1: bind path; else register for this slot at path */
  enum receiver_mode mode;
  int pass_credentials; /* SO_PASSCRED: every message carries SCM_CREDENTIALS too */
  unsigned stall_ms;
  int sock;
  pthread_t thread;
  /* written by the receiver, read by the harness */
  uint64_t tcp;       /* TCP connections answered */
  uint64_t other;     /* descriptors of other kinds that passed validation (floods) */
  uint64_t no_fd;     /* messages without a usable descriptor */
  uint64_t comebacks; /* times it vanished and came back */
  /* written by the harness */
  int stop;
  uint64_t stall_until; /* harness_now_ms() value; 0 = from the first message */
} receiver;

/* Binds or registers, then starts the thread; fails the run on error. */
void receiver_start(receiver *r);

/* Stops the thread and closes the socket (unlinks a bound path). */
void receiver_stop(receiver *r);

/* The receiver reads nothing for ms from now. */
void receiver_stall(receiver *r, unsigned ms);

uint64_t receiver_tcp(const receiver *r);

#endif
