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
 * not own fd; the caller closes it only after clearing the slot. */
void skbox_slot_assign(uint32_t slot, int fd);

#endif
