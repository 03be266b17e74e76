/* Publishing the rule table into the program's maps, double-buffered: the
 * table goes into the generation no program uses, then one word (fp_state)
 * makes it current, then the kernel waits until every program run that may
 * still read the old generation has ended. A program reads the word once per
 * connection, so each connection is decided by exactly one table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fastpath/libbpf_calls.h"

#include "fastpath/fastpath.h"
#include "fastpath/fastpath_state.h"

/* Map keys written into each generation, to delete them before it is reused. */
static struct skbox_fp_map_key *written[2];
static uint32_t n_written[2];
static uint32_t current_gen;
static int published;

static void copy_words(uint32_t out[SKBOX_FP_TUPLE_WORDS], const skbox_tuple *t) {
  memcpy(out, t->bytes, SKBOX_TUPLE_SIZE);
}

static int fits(const skbox_table *t, uint32_t *n_rules, uint32_t *n_map) {
  uint64_t rules = 0, map = 0;
  for (uint32_t i = 0; i < t->n_sets; i++) {
    if (t->sets[i].kind == SKBOX_SET_MAP) map += t->sets[i].n_entries;
    else rules += t->sets[i].n_entries;
  }
  *n_rules = (uint32_t)rules;
  *n_map = (uint32_t)map;
  return t->n_sets <= SKBOX_FP_MAX_SETS && rules <= SKBOX_FP_MAX_RULE_ENTRIES && map <= SKBOX_FP_MAX_MAP_ENTRIES &&
         t->n_targets <= SKBOX_FP_MAX_TARGETS && t->n_listener_starts <= SKBOX_FP_MAX_STARTS;
}

/* One batch update of n consecutive array elements starting at first. */
static int update_array(int fd, uint32_t first, const void *values, uint32_t n) {
  if (n == 0) return 0;
  uint32_t *keys = malloc(n * sizeof *keys);
  if (!keys) return -1;
  for (uint32_t i = 0; i < n; i++) keys[i] = first + i;
  uint32_t count = n;
  int rc = bpf_map_update_batch(fd, keys, values, &count, NULL);
  free(keys);
  return rc;
}

static int set_state(uint32_t state, uint32_t gen) {
  uint32_t zero = 0;
  struct skbox_fp_state s = {state, gen};
  return bpf_map_update_elem(skbox_fp.state_fd, &zero, &s, BPF_ANY);
}

static int clear_generation(uint32_t g) {
  if (n_written[g]) {
    uint32_t count = n_written[g];
    if (bpf_map_delete_batch(skbox_fp.map_entries_fd, written[g], &count, NULL) != 0 && errno != ENOENT) return -1;
  }
  free(written[g]);
  written[g] = NULL;
  n_written[g] = 0;
  return 0;
}

/* Sets, rule entries (renumbered contiguously), map entries and targets of generation g. */
static int write_generation(const skbox_table *t, uint32_t g, uint32_t n_rules, uint32_t n_map) {
  int rc = -1;
  struct skbox_fp_set *sets = calloc(t->n_sets ? t->n_sets : 1, sizeof *sets);
  struct skbox_fp_rule *rules = calloc(n_rules ? n_rules : 1, sizeof *rules);
  struct skbox_fp_map_key *keys = calloc(n_map ? n_map : 1, sizeof *keys);
  uint32_t *actions = calloc(n_map ? n_map : 1, sizeof *actions);
  uint32_t *slots = calloc(t->n_targets ? t->n_targets : 1, sizeof *slots);
  if (!sets || !rules || !keys || !actions || !slots) goto out;
  uint32_t r = 0, m = 0;
  for (uint32_t i = 0; i < t->n_sets; i++) {
    const skbox_set *s = &t->sets[i];
    sets[i] = (struct skbox_fp_set){.kind = s->kind, .first = r, .count = 0, .default_action = s->default_action};
    copy_words(sets[i].mask, &s->mask);
    for (uint32_t k = 0; k < s->n_entries; k++) {
      const skbox_entry *e = &t->entries[s->first_entry + k];
      if (s->kind == SKBOX_SET_MAP) {
        keys[m].gen_set = g * SKBOX_FP_MAX_SETS + i;
        copy_words(keys[m].key, &e->pattern);
        actions[m++] = e->action;
      } else {
        copy_words(rules[r].pattern, &e->pattern);
        copy_words(rules[r].mask, &e->mask);
        rules[r++].action = e->action;
        sets[i].count++;
      }
    }
  }
  for (uint32_t i = 0; i < t->n_targets; i++)
    slots[i] = t->targets[i].kind == SKBOX_TARGET_SLOT ? t->targets[i].slot : SKBOX_FP_NO_SLOT;
  uint32_t count = m;
  if (update_array(skbox_fp.sets_fd, g * SKBOX_FP_MAX_SETS, sets, t->n_sets) != 0 ||
      update_array(skbox_fp.rules_fd, g * SKBOX_FP_MAX_RULE_ENTRIES, rules, r) != 0 ||
      update_array(skbox_fp.targets_fd, g * SKBOX_FP_MAX_TARGETS, slots, t->n_targets) != 0 ||
      update_array(skbox_fp.starts_fd, g * SKBOX_FP_MAX_STARTS, t->listener_starts, t->n_listener_starts) != 0 ||
      (m && bpf_map_update_batch(skbox_fp.map_entries_fd, keys, actions, &count, NULL) != 0))
    goto out;
  struct skbox_fp_header h = {t->start_set, t->n_listener_starts};
  if (bpf_map_update_elem(skbox_fp.headers_fd, &g, &h, BPF_ANY) != 0) goto out;
  written[g] = keys;
  n_written[g] = m;
  keys = NULL;
  rc = 0;
out:
  free(sets);
  free(rules);
  free(keys);
  free(actions);
  free(slots);
  return rc;
}

int skbox_fastpath_publish(const skbox_table *t) {
  if (skbox_fp.state_fd < 0) {
    errno = ENOTCONN;
    return -1;
  }
  uint32_t n_rules, n_map;
  if (!fits(t, &n_rules, &n_map)) {
    if (set_state(SKBOX_FP_STATE_TOO_LARGE, current_gen) != 0 || skbox_fp_wait_for_programs() != 0) return -1;
    return 0;
  }
  /* Unused since the last publish waited for the programs that read it. */
  uint32_t g = published ? 1 - current_gen : 0;
  if (clear_generation(g) != 0 || write_generation(t, g, n_rules, n_map) != 0) {
    /* The accept loops have the new table: rather than decide by the old one, pass everything. */
    int e = errno;
    if (set_state(SKBOX_FP_STATE_NONE, current_gen) == 0) skbox_fp_wait_for_programs();
    errno = e;
    return -1;
  }
  if (set_state(SKBOX_FP_STATE_TABLE, g) != 0 || skbox_fp_wait_for_programs() != 0) return -1;
  current_gen = g;
  published = 1;
  return 1;
}

void skbox_fp_table_reset(void) {
  for (int g = 0; g < 2; g++) {
    free(written[g]);
    written[g] = NULL;
    n_written[g] = 0;
  }
  current_gen = 0;
  published = 0;
}
