/* Registration slots (JSON config, docs/config-json.md): which registered API connection
 * serves each slot. Process-wide: the registration server writes it, every
 * accept loop reads it. Loops never use the registered descriptor itself; they
 * take their own duplicate, so the server may close its copy at any time. */
#ifndef SKBOX_SLOT_REGISTRY_H
#define SKBOX_SLOT_REGISTRY_H

#include <stdint.h>

#include "server/table.h"

/* Bumped on every change of the slot; cheap to read on the hot path. */
uint64_t skbox_slot_generation(uint32_t slot);

/* A CLOEXEC duplicate of the slot's registered descriptor (-1 when nobody is
 * registered) and the generation it belongs to. */
int skbox_slot_dup(uint32_t slot, uint64_t *generation);

/* The registration server: fd now serves slot (-1: nobody). The registry does
 * not own fd; the caller closes it only after clearing the slot. Wakes every
 * watcher, so that loops drop duplicates of a receiver that is gone at once. */
void skbox_slot_assign(uint32_t slot, int fd);

/* How many assignments there have been, over all slots: a loop compares it
 * with the last value it saw to learn that some slot changed. */
uint64_t skbox_slot_changes(void);

/* An accept loop's eventfd, written to on every assignment (until unwatched).
 * Returns -1 when the table of watchers is full. */
int skbox_slot_watch(int eventfd);
void skbox_slot_unwatch(int eventfd);

#endif
