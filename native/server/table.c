/* Loading a compiled rule table: every offset, count, index and length is
 * checked before it is used, so a corrupt buffer is rejected, never trusted. */
#include "server/table.h"

#include <stdlib.h>
#include <string.h>

static uint32_t read_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* True when [off, off + count * size) lies inside a buffer of len bytes. */
static int region_fits(size_t len, uint32_t off, uint32_t count, uint32_t size) {
  if (off % 4 != 0 || off > len) return 0;
  return (uint64_t)count * size <= (uint64_t)(len - off);
}

static int action_valid(uint32_t a, uint32_t n_sets, uint32_t n_targets) {
  switch (SKBOX_ACTION_KIND(a)) {
    case SKBOX_ACT_FAIL:
    case SKBOX_ACT_NO_MATCH: return SKBOX_ACTION_ARG(a) == 0;
    case SKBOX_ACT_JUMP: return SKBOX_ACTION_ARG(a) < n_sets;
    case SKBOX_ACT_TARGET: return SKBOX_ACTION_ARG(a) < n_targets;
    default: return 0;
  }
}

static int masked_consistent(const skbox_tuple *pattern, const skbox_tuple *mask) {
  for (unsigned i = 0; i < SKBOX_TUPLE_SIZE; i++)
    if ((pattern->bytes[i] & mask->bytes[i]) != pattern->bytes[i]) return 0;
  return 1;
}

static const char *load_targets(skbox_table *t, const uint8_t *buf, size_t len, uint32_t off, uint32_t str_off,
                                uint32_t str_size) {
  for (uint32_t i = 0; i < t->n_targets; i++) {
    const uint8_t *r = buf + off + (size_t)i * SKBOX_TARGET_RECORD_SIZE;
    skbox_target *tg = &t->targets[i];
    tg->kind = read_u32(r);
    tg->flags = read_u32(r + 4);
    uint32_t a = read_u32(r + 8), b = read_u32(r + 12);
    if (tg->flags & ~(SKBOX_TARGET_FLAG_TEMPLATE | SKBOX_TARGET_FLAG_EXIT_ON_PEER_GONE))
      return "target has unknown flags";
    tg->slot = 0;
    if (tg->kind == SKBOX_TARGET_SLOT) {
      if (a >= SKBOX_MAX_SLOTS || b != 0 || tg->flags) return "target slot out of range";
      tg->slot = a;
      tg->fd = -1;
      tg->path_len = 0;
      tg->path[0] = 0;
    } else if (tg->kind == SKBOX_TARGET_FD) {
      if (a > 0x7fffffffu || b != 0) return "target descriptor out of range";
      tg->fd = (int32_t)a;
      tg->path_len = 0;
      tg->path[0] = 0;
    } else if (tg->kind == SKBOX_TARGET_UNIX) {
      if (b == 0 || b > SKBOX_UNIX_PATH_MAX) return "target path length out of range";
      if (a > str_size || b > str_size - a) return "target path outside the string area";
      memcpy(tg->path, buf + str_off + a, b);
      tg->path[b] = 0;
      if (memchr(tg->path, 0, b)) return "target path contains a NUL byte";
      tg->path_len = b;
      tg->fd = -1;
    } else {
      return "unknown target kind";
    }
  }
  (void)len;
  return NULL;
}

static const char *load_sets_and_entries(skbox_table *t, const uint8_t *buf, uint32_t sets_off, uint32_t entries_off) {
  for (uint32_t i = 0; i < t->n_entries; i++) {
    const uint8_t *r = buf + entries_off + (size_t)i * SKBOX_ENTRY_RECORD_SIZE;
    skbox_entry *e = &t->entries[i];
    memcpy(e->pattern.bytes, r, SKBOX_TUPLE_SIZE);
    memcpy(e->mask.bytes, r + SKBOX_TUPLE_SIZE, SKBOX_TUPLE_SIZE);
    e->action = read_u32(r + 2 * SKBOX_TUPLE_SIZE);
    if (!action_valid(e->action, t->n_sets, t->n_targets)) return "entry has an invalid action";
  }
  for (uint32_t i = 0; i < t->n_sets; i++) {
    const uint8_t *r = buf + sets_off + (size_t)i * SKBOX_SET_RECORD_SIZE;
    skbox_set *s = &t->sets[i];
    s->kind = read_u32(r);
    s->first_entry = read_u32(r + 4);
    s->n_entries = read_u32(r + 8);
    s->default_action = read_u32(r + 12);
    memcpy(s->mask.bytes, r + 16, SKBOX_TUPLE_SIZE);
    if (s->kind != SKBOX_SET_RULE && s->kind != SKBOX_SET_MAP) return "unknown set kind";
    if (s->first_entry > t->n_entries || s->n_entries > t->n_entries - s->first_entry)
      return "set entry range out of bounds";
    if (!action_valid(s->default_action, t->n_sets, t->n_targets)) return "set has an invalid default action";
    const skbox_entry *e = &t->entries[s->first_entry];
    for (uint32_t k = 0; k < s->n_entries; k++) {
      if (s->kind == SKBOX_SET_RULE) {
        if (!masked_consistent(&e[k].pattern, &e[k].mask)) return "rule pattern has bits outside its mask";
      } else {
        if (!masked_consistent(&e[k].pattern, &s->mask)) return "map key has bits outside the map mask";
        /* Binary search needs strictly ascending keys. */
        if (k > 0 && memcmp(e[k - 1].pattern.bytes, e[k].pattern.bytes, SKBOX_TUPLE_SIZE) >= 0)
          return "map keys are not strictly ascending";
      }
    }
  }
  return NULL;
}

/* Local address [0,16) and local port [32,34) of the tuple. */
static int mask_reads_local_end(const skbox_tuple *mask) {
  for (unsigned i = 0; i < 16; i++)
    if (mask->bytes[i]) return 1;
  return mask->bytes[32] || mask->bytes[33];
}

/* Whether any decision needs getsockname() on the accepted socket: when none
 * does (-S, -i, rules on the remote end only), the loop saves that syscall. */
static int table_reads_local_end(const skbox_table *t) {
  for (uint32_t i = 0; i < t->n_targets; i++)
    if (t->targets[i].flags & SKBOX_TARGET_FLAG_TEMPLATE) return 1;
  for (uint32_t i = 0; i < t->n_sets; i++)
    if (t->sets[i].kind == SKBOX_SET_MAP && mask_reads_local_end(&t->sets[i].mask)) return 1;
  for (uint32_t i = 0; i < t->n_entries; i++)
    if (mask_reads_local_end(&t->entries[i].mask)) return 1;
  return 0;
}

skbox_table *skbox_table_load(const uint8_t *buf, size_t len, const char **why) {
  *why = NULL;
  if (len < SKBOX_TABLE_HEADER_SIZE) {
    *why = "table shorter than its header";
    return NULL;
  }
  if (read_u32(buf) != SKBOX_TABLE_MAGIC) {
    *why = "bad table magic";
    return NULL;
  }
  if (read_u32(buf + 4) != SKBOX_TABLE_VERSION) {
    *why = "unsupported table version";
    return NULL;
  }
  if (read_u32(buf + 8) != len) {
    *why = "table size does not match its header";
    return NULL;
  }
  for (unsigned i = 60; i < 64; i++)
    if (buf[i]) {
      *why = "reserved header bytes are not zero";
      return NULL;
    }
  uint32_t flags = read_u32(buf + 12);
  uint32_t n_sets = read_u32(buf + 16), sets_off = read_u32(buf + 20);
  uint32_t n_entries = read_u32(buf + 24), entries_off = read_u32(buf + 28);
  uint32_t n_targets = read_u32(buf + 32), targets_off = read_u32(buf + 36);
  uint32_t str_off = read_u32(buf + 40), str_size = read_u32(buf + 44);
  uint32_t start = read_u32(buf + 48);
  uint32_t n_starts = read_u32(buf + 52), starts_off = read_u32(buf + 56);
  if (flags != 0) {
    *why = "unknown table flags";
    return NULL;
  }
  if (n_sets > SKBOX_MAX_SETS || n_entries > SKBOX_MAX_ENTRIES || n_targets > SKBOX_MAX_TARGETS) {
    *why = "table counts out of range";
    return NULL;
  }
  if (!region_fits(len, sets_off, n_sets, SKBOX_SET_RECORD_SIZE) ||
      !region_fits(len, entries_off, n_entries, SKBOX_ENTRY_RECORD_SIZE) ||
      !region_fits(len, targets_off, n_targets, SKBOX_TARGET_RECORD_SIZE) || !region_fits(len, str_off, str_size, 1) ||
      n_starts > SKBOX_MAX_LISTENER_STARTS || !region_fits(len, starts_off, n_starts, 4)) {
    *why = "table section out of bounds";
    return NULL;
  }
  if (start != 0xffffffffu && start >= n_sets) {
    *why = "start set out of range";
    return NULL;
  }

  skbox_table *t = calloc(1, sizeof *t);
  if (!t) {
    *why = "out of memory";
    return NULL;
  }
  t->n_sets = n_sets;
  t->n_entries = n_entries;
  t->n_targets = n_targets;
  t->start_set = start;
  t->sets = calloc(n_sets ? n_sets : 1, sizeof *t->sets);
  t->entries = calloc(n_entries ? n_entries : 1, sizeof *t->entries);
  t->targets = calloc(n_targets ? n_targets : 1, sizeof *t->targets);
  t->slots = calloc(n_targets ? n_targets : 1, sizeof *t->slots);
  t->n_listener_starts = n_starts;
  t->listener_starts = calloc(n_starts ? n_starts : 1, sizeof *t->listener_starts);
  if (!t->sets || !t->entries || !t->targets || !t->slots || !t->listener_starts) {
    *why = "out of memory";
  } else {
    *why = load_targets(t, buf, len, targets_off, str_off, str_size);
    if (!*why) *why = load_sets_and_entries(t, buf, sets_off, entries_off);
    for (uint32_t i = 0; !*why && i < n_starts; i++) {
      t->listener_starts[i] = read_u32(buf + starts_off + (size_t)i * 4);
      if (t->listener_starts[i] != 0xffffffffu && t->listener_starts[i] >= n_sets)
        *why = "listener start set out of range";
    }
  }
  if (*why) {
    skbox_table_free(t);
    return NULL;
  }
  t->reads_local_end = table_reads_local_end(t);
  return t;
}

void skbox_table_free(skbox_table *t) {
  if (!t) return;
  free(t->sets);
  free(t->entries);
  free(t->targets);
  free(t->slots);
  free(t->listener_starts);
  free(t);
}
