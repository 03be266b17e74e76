/* The compiled rule table: a flat little-endian buffer built by
 * src/table/compile.ts and validated here before any lookup may use it.
 * The layout is documented in docs/table-format.md; the constants below are
 * the single source of truth for the native side. */
#ifndef SKBOX_TABLE_H
#define SKBOX_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define SKBOX_TABLE_MAGIC 0x54424b53u /* "SKBT" read as a little-endian u32 */
#define SKBOX_TABLE_VERSION 1u
#define SKBOX_TABLE_HEADER_SIZE 64u
#define SKBOX_TUPLE_SIZE 36u /* local addr 16, remote addr 16, local port 2, remote port 2 (big-endian) */
#define SKBOX_SET_RECORD_SIZE 52u
#define SKBOX_ENTRY_RECORD_SIZE 76u
#define SKBOX_TARGET_RECORD_SIZE 16u
#define SKBOX_MAX_SETS 2000u
#define SKBOX_MAX_ENTRIES (2000u * 1000u)
#define SKBOX_MAX_TARGETS (2000u * 1001u)
#define SKBOX_UNIX_PATH_MAX 107u
#define SKBOX_MAX_LOOKUP_STEPS 100

/* Set kinds. */
#define SKBOX_SET_RULE 1u
#define SKBOX_SET_MAP 2u

/* Actions are one u32: kind in the top 8 bits, argument in the low 24. */
#define SKBOX_ACTION_KIND(a) ((a) >> 24)
#define SKBOX_ACTION_ARG(a) ((a)&0xffffffu)
#define SKBOX_ACT_FAIL 0u     /* explicit `fail` */
#define SKBOX_ACT_JUMP 1u     /* continue in set ARG */
#define SKBOX_ACT_TARGET 2u   /* deliver to target ARG */
#define SKBOX_ACT_NO_MATCH 3u /* a set's implicit default: nothing matched */

/* Target kinds and flags. */
#define SKBOX_TARGET_UNIX 1u
#define SKBOX_TARGET_FD 2u
#define SKBOX_TARGET_SLOT 3u /* a registration slot of the JSON config (docs/config-json.md) */
#define SKBOX_MAX_SLOTS 65536u
#define SKBOX_MAX_LISTENER_STARTS 4096u
#define SKBOX_TARGET_FLAG_TEMPLATE 1u          /* path holds #//N_ / #//P_ markers (-U) */
#define SKBOX_TARGET_FLAG_EXIT_ON_PEER_GONE 2u /* -i: the server exits 11 when the peer is gone */

typedef struct {
  uint8_t bytes[SKBOX_TUPLE_SIZE];
} skbox_tuple;

typedef struct {
  uint32_t kind;
  uint32_t first_entry;
  uint32_t n_entries;
  uint32_t default_action;
  skbox_tuple mask; /* maps only; all zero for rule sets */
} skbox_set;

typedef struct {
  skbox_tuple pattern; /* already masked */
  skbox_tuple mask;    /* rule entries; maps use the set's mask */
  uint32_t action;
} skbox_entry;

typedef struct {
  uint32_t kind;
  uint32_t flags;
  int32_t fd;                         /* SKBOX_TARGET_FD */
  uint32_t slot;                      /* SKBOX_TARGET_SLOT */
  uint32_t path_len;                  /* SKBOX_TARGET_UNIX, <= SKBOX_UNIX_PATH_MAX */
  char path[SKBOX_UNIX_PATH_MAX + 1]; /* NUL-terminated copy; '@' first = abstract */
} skbox_target;

/* A validated, self-contained copy of a table. */
typedef struct {
  uint32_t n_sets, n_entries, n_targets, start_set, flags;
  uint32_t n_listener_starts;
  int reads_local_end;       /* some mask or -U template uses the local address or port */
  uint32_t *listener_starts; /* start set per listener index (JSON incoming_socket), else start_set */
  skbox_set *sets;
  skbox_entry *entries;
  skbox_target *targets;
  uint32_t *slots; /* per target: its counter slot (< SKBOX_TARGET_SLOTS), 0 by default */
} skbox_table;

/* Parse and validate buf. On success returns a table owned by the caller
 * (free with skbox_table_free); on failure returns NULL and points *why at a
 * static description of the first problem found. Never reads past len. */
skbox_table *skbox_table_load(const uint8_t *buf, size_t len, const char **why);
void skbox_table_free(skbox_table *t);

#endif
