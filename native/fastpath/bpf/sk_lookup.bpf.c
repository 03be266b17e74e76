/* The fast path: a BPF sk_lookup program attached to socketbox's network
 * namespace. For a new TCP connection to one of socketbox's listening
 * addresses it walks the published rule table exactly as native/server/lookup.c
 * does (rule sets in order, maps under their mask, jumps, the step limit) and,
 * when the decision is a slot whose receiver registered in listener mode, puts
 * the connection straight into that receiver's listening socket. Everything
 * else passes to the kernel's normal lookup, i.e. to socketbox's accept loops.
 * It never decides differently from the native lookup: what it cannot evaluate
 * it passes. docs/fast-path.md describes it. */
#include <linux/bpf.h>
#include <linux/in.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "fastpath/fastpath_abi.h"

#define AF_INET 2 /* <sys/socket.h> is not for the BPF target */
#define AF_INET6 10
#define ACT_KIND(a) ((a) >> 24)
#define ACT_ARG(a) ((a) & 0xffffffu)
#define ACT_FAIL 0u
#define ACT_JUMP 1u
#define ACT_TARGET 2u
#define SET_MAP 2u
/* bpf_loop's ceiling; a walk needs at most 100 sets times their entries. */
#define MAX_ITERATIONS (1u << 23)

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct skbox_fp_state);
} fp_state SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct skbox_fp_header);
} fp_headers SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2 * SKBOX_FP_MAX_STARTS);
  __type(key, __u32);
  __type(value, __u32);
} fp_starts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2 * SKBOX_FP_MAX_SETS);
  __type(key, __u32);
  __type(value, struct skbox_fp_set);
} fp_sets SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2 * SKBOX_FP_MAX_RULE_ENTRIES);
  __type(key, __u32);
  __type(value, struct skbox_fp_rule);
} fp_rules SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 2 * SKBOX_FP_MAX_MAP_ENTRIES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct skbox_fp_map_key);
  __type(value, __u32);
} fp_map_entries SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2 * SKBOX_FP_MAX_TARGETS);
  __type(key, __u32);
  __type(value, __u32); /* slot number, or SKBOX_FP_NO_SLOT */
} fp_targets SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, SKBOX_FP_MAX_LISTENERS);
  __type(key, struct skbox_fp_listener_key);
  __type(value, struct skbox_fp_listener);
} fp_listeners SEC(".maps");

/* slot -> the listening socket of its listener-mode receiver */
struct {
  __uint(type, BPF_MAP_TYPE_SOCKMAP);
  __uint(max_entries, SKBOX_FP_MAX_SLOTS);
  __type(key, __u32);
  __type(value, __u64);
} fp_slot_sockets SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, SKBOX_FP_DECISION_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} fp_decisions SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, SKBOX_FP_MAX_SLOTS);
  __type(key, __u32);
  __type(value, __u64);
} fp_assigned SEC(".maps");

static __always_inline void count(__u32 *map_key, void *map) {
  __u64 *v = bpf_map_lookup_elem(map, map_key);
  if (v) *v += 1;
}

static __always_inline int decided(__u32 decision) {
  count(&decision, &fp_decisions);
  return SK_PASS;
}

/* The walk's state, one step per bpf_loop iteration. */
struct walk {
  __u32 tuple[SKBOX_FP_TUPLE_WORDS];
  __u32 gen;
  __u32 set;      /* the set to enter next, or the one being scanned */
  __u32 scanning; /* 1 while going through a rule set's entries */
  __u32 pos, end, fallback; /* rule set scan: next entry, end, default action */
  __u32 steps;    /* sets entered */
  __u32 outcome;  /* a decision, once done */
  __u32 target;
  __u32 done;
};

/* An action ends the walk, or continues it in another set. */
static __always_inline void apply(struct walk *w, __u32 action) {
  w->scanning = 0;
  switch (ACT_KIND(action)) {
    case ACT_JUMP:
      w->set = ACT_ARG(action);
      return;
    case ACT_TARGET:
      w->outcome = SKBOX_FP_ASSIGNED; /* refined by the caller */
      w->target = ACT_ARG(action);
      break;
    case ACT_FAIL:
      w->outcome = SKBOX_FP_FAIL;
      break;
    default:
      w->outcome = SKBOX_FP_NO_MATCH;
  }
  w->done = 1;
}

static __always_inline void undecided(struct walk *w) {
  w->outcome = SKBOX_FP_UNDECIDED;
  w->done = 1;
}

static __always_inline void enter_set(struct walk *w) {
  if (w->steps >= SKBOX_FP_MAX_STEPS) {
    w->outcome = SKBOX_FP_LOOP;
    w->done = 1;
    return;
  }
  w->steps++;
  if (w->set >= SKBOX_FP_MAX_SETS) return undecided(w);
  __u32 index = w->gen * SKBOX_FP_MAX_SETS + w->set;
  struct skbox_fp_set *s = bpf_map_lookup_elem(&fp_sets, &index);
  if (!s) return undecided(w);
  if (s->kind == SET_MAP) {
    struct skbox_fp_map_key key = {.gen_set = index};
    for (int i = 0; i < SKBOX_FP_TUPLE_WORDS; i++) key.key[i] = w->tuple[i] & s->mask[i];
    __u32 *action = bpf_map_lookup_elem(&fp_map_entries, &key);
    return apply(w, action ? *action : s->default_action);
  }
  if (s->count == 0) return apply(w, s->default_action);
  w->scanning = 1;
  w->pos = s->first;
  w->end = s->first + s->count;
  w->fallback = s->default_action;
}

static __always_inline void scan_entry(struct walk *w) {
  __u32 index = w->gen * SKBOX_FP_MAX_RULE_ENTRIES + w->pos;
  struct skbox_fp_rule *r = bpf_map_lookup_elem(&fp_rules, &index);
  if (!r) return undecided(w);
  int match = 1;
  for (int i = 0; i < SKBOX_FP_TUPLE_WORDS; i++)
    if ((w->tuple[i] & r->mask[i]) != r->pattern[i]) match = 0;
  if (match) return apply(w, r->action);
  if (++w->pos >= w->end) apply(w, w->fallback);
}

static long step(__u32 i, void *ctx) {
  struct walk *w = ctx;
  if (w->scanning) scan_entry(w);
  else enter_set(w);
  return w->done;
}

/* Which of socketbox's listeners the kernel would give this connection to. */
static __always_inline struct skbox_fp_listener *our_listener(struct skbox_fp_listener_key *k, int ipv4) {
  struct skbox_fp_listener *l = bpf_map_lookup_elem(&fp_listeners, k);
  if (l) return l;
  if (ipv4) {
    k->addr[3] = 0; /* an IPv4 socket bound to 0.0.0.0 */
    l = bpf_map_lookup_elem(&fp_listeners, k);
    if (l) return l;
  }
  k->addr[0] = k->addr[1] = k->addr[2] = k->addr[3] = 0;
  l = bpf_map_lookup_elem(&fp_listeners, k);
  if (l && ipv4 && (l->flags & SKBOX_FP_LISTENER_V6ONLY)) return 0;
  return l;
}

SEC("sk_lookup")
int skbox_sk_lookup(struct bpf_sk_lookup *ctx) {
  if (ctx->protocol != IPPROTO_TCP) return SK_PASS;
  struct walk w = {};
  int ipv4 = ctx->family == AF_INET;
  if (ipv4) {
    w.tuple[2] = bpf_htonl(0xffff);
    w.tuple[3] = ctx->local_ip4;
    w.tuple[6] = bpf_htonl(0xffff);
    w.tuple[7] = ctx->remote_ip4;
  } else if (ctx->family == AF_INET6) {
    for (int i = 0; i < 4; i++) {
      w.tuple[i] = ctx->local_ip6[i];
      w.tuple[4 + i] = ctx->remote_ip6[i];
    }
  } else {
    return SK_PASS;
  }
  __u16 ports[2] = {bpf_htons((__u16)ctx->local_port), ctx->remote_port};
  __builtin_memcpy(&w.tuple[8], ports, sizeof ports);

  struct skbox_fp_listener_key lk = {.port = ctx->local_port};
  for (int i = 0; i < 4; i++) lk.addr[i] = w.tuple[i];
  struct skbox_fp_listener *listener = our_listener(&lk, ipv4);
  if (!listener) return decided(SKBOX_FP_NOT_SOCKETBOX);

  __u32 zero = 0;
  struct skbox_fp_state *state = bpf_map_lookup_elem(&fp_state, &zero);
  if (!state || state->state == SKBOX_FP_STATE_NONE) return decided(SKBOX_FP_NO_TABLE);
  if (state->state != SKBOX_FP_STATE_TABLE || state->gen > 1) return decided(SKBOX_FP_UNDECIDED);
  /* Read once: the whole walk uses this generation (see fastpath_table.c). */
  w.gen = state->gen;
  struct skbox_fp_header *h = bpf_map_lookup_elem(&fp_headers, &w.gen);
  if (!h) return decided(SKBOX_FP_UNDECIDED);
  w.set = h->start_set;
  if (h->n_starts > 0) {
    /* The table depends on the listener: it must be known. */
    if (listener->flags & SKBOX_FP_LISTENER_AMBIGUOUS) return decided(SKBOX_FP_UNDECIDED);
    if (listener->index < h->n_starts) {
      if (listener->index >= SKBOX_FP_MAX_STARTS) return decided(SKBOX_FP_UNDECIDED);
      __u32 si = w.gen * SKBOX_FP_MAX_STARTS + listener->index;
      __u32 *start = bpf_map_lookup_elem(&fp_starts, &si);
      if (!start) return decided(SKBOX_FP_UNDECIDED);
      w.set = *start;
    }
  }
  if (w.set == SKBOX_FP_NO_SET) return decided(SKBOX_FP_NO_MATCH);

  bpf_loop(MAX_ITERATIONS, step, &w, 0);
  if (!w.done) return decided(SKBOX_FP_UNDECIDED);
  if (w.outcome != SKBOX_FP_ASSIGNED) return decided(w.outcome);

  if (w.target >= SKBOX_FP_MAX_TARGETS) return decided(SKBOX_FP_UNDECIDED);
  __u32 ti = w.gen * SKBOX_FP_MAX_TARGETS + w.target;
  __u32 *slot = bpf_map_lookup_elem(&fp_targets, &ti);
  if (!slot) return decided(SKBOX_FP_UNDECIDED);
  if (*slot == SKBOX_FP_NO_SLOT) return decided(SKBOX_FP_OTHER_TARGET);
  __u32 s = *slot;
  struct bpf_sock *sk = bpf_map_lookup_elem(&fp_slot_sockets, &s);
  if (!sk) return decided(SKBOX_FP_NOT_LISTENER_MODE);
  long err = bpf_sk_assign(ctx, sk, 0);
  bpf_sk_release(sk);
  if (err) return decided(SKBOX_FP_ASSIGN_ERROR);
  count(&s, &fp_assigned);
  return decided(SKBOX_FP_ASSIGNED);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
