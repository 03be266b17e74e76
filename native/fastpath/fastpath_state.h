/* The fast path's process-wide state, shared by its own C files only. */
#ifndef SKBOX_FASTPATH_STATE_H
#define SKBOX_FASTPATH_STATE_H

#include <pthread.h>
#include <stdint.h>

#include "fastpath/fastpath_abi.h"

struct bpf_object;

typedef struct {
  struct bpf_object *obj;
  int prog_fd, link_fd, netns_fd;
  int state_fd, headers_fd, starts_fd, sets_fd, rules_fd, map_entries_fd, targets_fd;
  int listeners_fd, slot_sockets_fd, decisions_fd, assigned_fd;
  int barrier_fd, barrier_inner_fd; /* updating this map-of-maps waits for running programs */
} skbox_fp_maps;

extern skbox_fp_maps skbox_fp;
extern int skbox_fp_attached;
extern pthread_mutex_t skbox_fp_slot_lock;

/* Forget what was published (after a stop). */
void skbox_fp_table_reset(void);

/* Returns once no program run that started before the call is still running. */
int skbox_fp_wait_for_programs(void);

#endif
