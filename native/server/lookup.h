/* Deciding where a connection goes: a walk over the validated table. */
#ifndef SKBOX_LOOKUP_H
#define SKBOX_LOOKUP_H

#include "server/table.h"

typedef enum {
  SKBOX_DECIDE_TARGET = 0, /* deliver to target_index */
  SKBOX_DECIDE_FAIL,       /* an explicit `fail` */
  SKBOX_DECIDE_NO_MATCH,   /* an implicit default, or no start set */
  SKBOX_DECIDE_LOOP,       /* gave up after SKBOX_MAX_LOOKUP_STEPS sets */
} skbox_decision_kind;

typedef struct {
  skbox_decision_kind kind;
  uint32_t target_index;
} skbox_decision;

/* listener: the index of the listening socket the connection arrived on
 * (0 for classic configs, which have one start set for all). */
skbox_decision skbox_lookup(const skbox_table *t, uint32_t listener, const skbox_tuple *tuple);

#endif
