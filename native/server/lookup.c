/* Rule sets are scanned in order (first match wins); maps are binary searched
 * on the masked tuple. No allocation, no locks: safe on the accept hot path. */
#include "server/lookup.h"

#include <string.h>

static int rule_matches(const skbox_entry *e, const skbox_tuple *tuple) {
  for (unsigned i = 0; i < SKBOX_TUPLE_SIZE; i++)
    if ((tuple->bytes[i] & e->mask.bytes[i]) != e->pattern.bytes[i]) return 0;
  return 1;
}

static uint32_t rule_set_action(const skbox_table *t, const skbox_set *s, const skbox_tuple *tuple) {
  const skbox_entry *e = &t->entries[s->first_entry];
  for (uint32_t i = 0; i < s->n_entries; i++)
    if (rule_matches(&e[i], tuple)) return e[i].action;
  return s->default_action;
}

static uint32_t map_action(const skbox_table *t, const skbox_set *s, const skbox_tuple *tuple) {
  skbox_tuple key;
  for (unsigned i = 0; i < SKBOX_TUPLE_SIZE; i++) key.bytes[i] = tuple->bytes[i] & s->mask.bytes[i];
  const skbox_entry *e = &t->entries[s->first_entry];
  uint32_t lo = 0, hi = s->n_entries;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    int c = memcmp(key.bytes, e[mid].pattern.bytes, SKBOX_TUPLE_SIZE);
    if (c == 0) return e[mid].action;
    if (c < 0) hi = mid;
    else lo = mid + 1;
  }
  return s->default_action;
}

skbox_decision skbox_lookup(const skbox_table *t, uint32_t listener, const skbox_tuple *tuple) {
  skbox_decision d = {SKBOX_DECIDE_NO_MATCH, 0};
  uint32_t set = listener < t->n_listener_starts ? t->listener_starts[listener] : t->start_set;
  if (set == 0xffffffffu) return d;
  for (int step = 0; step < SKBOX_MAX_LOOKUP_STEPS; step++) {
    const skbox_set *s = &t->sets[set];
    uint32_t a = s->kind == SKBOX_SET_MAP ? map_action(t, s, tuple) : rule_set_action(t, s, tuple);
    switch (SKBOX_ACTION_KIND(a)) {
      case SKBOX_ACT_JUMP: set = SKBOX_ACTION_ARG(a); continue;
      case SKBOX_ACT_TARGET:
        d.kind = SKBOX_DECIDE_TARGET;
        d.target_index = SKBOX_ACTION_ARG(a);
        return d;
      case SKBOX_ACT_FAIL: d.kind = SKBOX_DECIDE_FAIL; return d;
      default: d.kind = SKBOX_DECIDE_NO_MATCH; return d;
    }
  }
  d.kind = SKBOX_DECIDE_LOOP;
  return d;
}
