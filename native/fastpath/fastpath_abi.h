/* What the BPF sk_lookup program (sk_lookup.bpf.c) and its loader share: map
 * names, record layouts, limits and decision counters. Compiled both for the
 * BPF target and for the host, so it uses the kernel's fixed-width types only. */
#ifndef SKBOX_FASTPATH_ABI_H
#define SKBOX_FASTPATH_ABI_H

#include <linux/types.h>

/* Limits of the table the program evaluates; a table beyond them is published
 * as "undecided": the program then passes every connection to the accept loops. */
#define SKBOX_FP_MAX_SETS 2000u          /* = SKBOX_MAX_SETS */
#define SKBOX_FP_MAX_RULE_ENTRIES 16384u /* rule-set entries, per generation */
#define SKBOX_FP_MAX_MAP_ENTRIES 65536u  /* map entries, per generation */
#define SKBOX_FP_MAX_TARGETS 65536u      /* per generation */
#define SKBOX_FP_MAX_STARTS 4096u        /* = SKBOX_MAX_LISTENER_STARTS */
#define SKBOX_FP_MAX_SLOTS 65536u        /* = SKBOX_MAX_SLOTS */
#define SKBOX_FP_MAX_LISTENERS 1024u     /* socketbox's own listening addresses */
#define SKBOX_FP_MAX_STEPS 100u          /* = SKBOX_MAX_LOOKUP_STEPS */
#define SKBOX_FP_TUPLE_WORDS 9u          /* the 36-byte tuple of docs/table-format.md */
#define SKBOX_FP_NO_SLOT 0xffffffffu     /* a target that is not a registration slot */
#define SKBOX_FP_NO_SET 0xffffffffu

/* The one-entry "state" array: which generation is current. */
enum skbox_fp_table_state {
  SKBOX_FP_STATE_NONE = 0,      /* nothing published: pass everything */
  SKBOX_FP_STATE_TABLE = 1,     /* evaluate generation `gen` */
  SKBOX_FP_STATE_TOO_LARGE = 2, /* the table exceeds the limits above: pass everything */
};

struct skbox_fp_state {
  __u32 state;
  __u32 gen; /* 0 or 1 */
};

/* Per generation: where lookups start. */
struct skbox_fp_header {
  __u32 start_set;
  __u32 n_starts;
};

struct skbox_fp_set {
  __u32 kind;  /* 1 rule set, 2 map (as in the table) */
  __u32 first; /* rule sets: index of the first entry in the rules array of its generation */
  __u32 count; /* rule sets: number of entries */
  __u32 default_action;
  __u32 mask[SKBOX_FP_TUPLE_WORDS]; /* maps only */
};

struct skbox_fp_rule {
  __u32 pattern[SKBOX_FP_TUPLE_WORDS];
  __u32 mask[SKBOX_FP_TUPLE_WORDS];
  __u32 action;
};

/* Maps are hash entries keyed by generation, set and the masked tuple. */
struct skbox_fp_map_key {
  __u32 gen_set; /* gen * SKBOX_FP_MAX_SETS + set */
  __u32 key[SKBOX_FP_TUPLE_WORDS];
};

/* socketbox's own listeners: address (IPv4 as ::ffff:a.b.c.d, wildcard ::) and port. */
struct skbox_fp_listener_key {
  __u32 addr[4]; /* network order, as in the tuple */
  __u32 port;    /* host order */
};

#define SKBOX_FP_LISTENER_V6ONLY 1u    /* a [::] listener that takes no IPv4 */
#define SKBOX_FP_LISTENER_AMBIGUOUS 2u /* several listeners share the address: index unknown */

struct skbox_fp_listener {
  __u32 index; /* position in the JSON config's incoming */
  __u32 flags;
};

/* Per-CPU decision counters. ASSIGNED connections never reach an accept loop;
 * every other decision passes the connection on to the accept loops as before.
 * X(NAME, LABEL): SKBOX_FP_<NAME> is the counter, LABEL the decision's name in
 * socketbox_fastpath_decisions_total{decision}. Read at build time as
 * server/stats.h says; one entry per line. */
#define SKBOX_FP_DECISION_LIST(X) \
  X(ASSIGNED, "assigned")                   /* put into a listener-mode slot's socket */ \
  X(NOT_SOCKETBOX, "not_socketbox")         /* not one of socketbox's listening addresses */ \
  X(NO_TABLE, "no_table")                   /* nothing published yet */ \
  X(UNDECIDED, "undecided")                 /* outside what the program evaluates (docs/fast-path.md) */ \
  X(FAIL, "fail")                           /* the table says fail */ \
  X(NO_MATCH, "no_match")                   /* the table says no match */ \
  X(LOOP, "loop")                           /* the step limit was reached */ \
  X(OTHER_TARGET, "other_target")           /* a target that is not a registration slot */ \
  X(NOT_LISTENER_MODE, "not_listener_mode") /* a slot without a listener-mode receiver */ \
  X(ASSIGN_ERROR, "assign_error")           /* the kernel refused the assignment */

#define SKBOX_FP_DECISION_ENUM_ENTRY(name, label) SKBOX_FP_##name,
enum skbox_fp_decision { SKBOX_FP_DECISION_LIST(SKBOX_FP_DECISION_ENUM_ENTRY) SKBOX_FP_DECISION_COUNT };
#undef SKBOX_FP_DECISION_ENUM_ENTRY

#endif
