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
#define ACT_ARG(a) ((a)&0xffffffu)
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

/* The walk's state, one step per bpf_loop iteration. */
struct walk_space {
  __u32 busy; /* a run is using this CPU's space */
  __u32 tuple[SKBOX_FP_TUPLE_WORDS];
  __u32 gen;
  __u32 set;                /* the set to enter next, or the one being scanned */
  __u32 scanning;           /* 1 while going through a rule set's entries */
  __u32 pos, end, fallback; /* rule set scan: next entry, end, default action */
  __u32 steps;              /* sets entered */
  __u32 outcome;            /* a decision, once done */
  __u32 target;
  __u32 done;
};

/* The scratch space of one walk, per CPU (sk_lookup runs in softirq context and does not
 * nest on a CPU; `busy` guards the case where it could, a PREEMPT_RT kernel). In a map
 * value rather than on the stack on purpose: the verifier does not follow values through
 * map memory, so it sees every iteration of the walk's loop as the
 * same state and accepts the program quickly, even without CAP_PERFMON (whose absence turns
 * on Spectre v1 hardening and multiplies the states it would otherwise explore). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct walk_space);
} fp_walk SEC(".maps");

static __always_inline void count(__u32 *map_key, void *map) {
  __u64 *v = bpf_map_lookup_elem(map, map_key);
  if (v) *v += 1;
}

static __always_inline int decided(__u32 decision) {
  count(&decision, &fp_decisions);
  return SK_PASS;
}

/* An action ends the walk, or continues it in another set. Every field is written on every
 * path: stores the compiler would merge into one at a computed stack offset are refused by
 * the verifier without CAP_PERFMON (Spectre v1 hardening), and socketbox may load the program
 * with CAP_BPF and CAP_NET_ADMIN only. */
static __always_inline void apply(struct walk_space *w, __u32 action) {
  __u32 kind = ACT_KIND(action);
  __u32 arg = ACT_ARG(action);
  __u32 jump = kind == ACT_JUMP;
  w->scanning = 0;
  w->set = jump ? arg : w->set;
  w->target = arg;
  w->outcome = kind == ACT_TARGET ? SKBOX_FP_ASSIGNED /* refined by the caller */
               : kind == ACT_FAIL ? SKBOX_FP_FAIL
                                  : SKBOX_FP_NO_MATCH;
  w->done = !jump;
}

static __always_inline void undecided(struct walk_space *w) {
  w->outcome = SKBOX_FP_UNDECIDED;
  w->done = 1;
}

static __always_inline void enter_set(struct walk_space *w) {
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

static __always_inline void scan_entry(struct walk_space *w) {
  __u32 index = w->gen * SKBOX_FP_MAX_RULE_ENTRIES + w->pos;
  struct skbox_fp_rule *r = bpf_map_lookup_elem(&fp_rules, &index);
  if (!r) return undecided(w);
  __u32 differ = 0; /* branch-free: one verifier state per entry, not one per word */
  for (int i = 0; i < SKBOX_FP_TUPLE_WORDS; i++) differ |= (w->tuple[i] & r->mask[i]) ^ r->pattern[i];
  if (!differ) return apply(w, r->action);
  if (++w->pos >= w->end) apply(w, w->fallback);
}

/* bpf_loop's context must be on the stack: it holds the pointer to the scratch space. */
struct walk_ctx {
  struct walk_space *w;
};

static long step(__u32 i, void *ctx) {
  struct walk_space *w = ((struct walk_ctx *)ctx)->w;
  if (w->scanning) scan_entry(w);
  else enter_set(w);
  return w->done ? 1 : 0; /* bpf_loop: 1 stops the loop; the verifier wants exactly 0 or 1 */
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

/* The decision for one connection (enum skbox_fp_decision); assigns it when it is ASSIGNED. */
static __always_inline __u32 decide(struct bpf_sk_lookup *ctx, struct walk_space *w) {
  __u32 zero = 0;
  w->scanning = w->steps = w->outcome = w->target = w->done = 0;
  /* Every context field is read once, at a fixed offset: the verifier refuses a context
   * pointer the compiler would otherwise offset to share one load between two branches. */
  __u32 family = ctx->family, local4 = ctx->local_ip4, remote4 = ctx->remote_ip4;
  barrier_var(local4);
  barrier_var(remote4);
  if (family != AF_INET && family != AF_INET6) return SKBOX_FP_NOT_SOCKETBOX;
  int ipv4 = family == AF_INET;
  for (int i = 0; i < 4; i++) {
    __u32 l = ctx->local_ip6[i], r = ctx->remote_ip6[i];
    barrier_var(l);
    barrier_var(r);
    w->tuple[i] = l;
    w->tuple[4 + i] = r;
  }
  if (ipv4) { /* IPv4 as ::ffff:a.b.c.d, as the accept loops see it on a dual-stack listener */
    w->tuple[0] = w->tuple[1] = w->tuple[4] = w->tuple[5] = 0;
    w->tuple[2] = w->tuple[6] = bpf_htonl(0xffff);
    w->tuple[3] = local4;
    w->tuple[7] = remote4;
  }
  __u16 ports[2] = {bpf_htons((__u16)ctx->local_port), ctx->remote_port};
  w->tuple[8] = (__u32)ports[0] | (__u32)ports[1] << 16; /* little-endian BPF target: bytes 32..35 */

  struct skbox_fp_listener_key lk = {.port = ctx->local_port};
  for (int i = 0; i < 4; i++) lk.addr[i] = w->tuple[i];
  struct skbox_fp_listener *listener = our_listener(&lk, ipv4);
  if (!listener) return SKBOX_FP_NOT_SOCKETBOX;

  struct skbox_fp_state *state = bpf_map_lookup_elem(&fp_state, &zero);
  if (!state || state->state == SKBOX_FP_STATE_NONE) return SKBOX_FP_NO_TABLE;
  if (state->state != SKBOX_FP_STATE_TABLE || state->gen > 1) return SKBOX_FP_UNDECIDED;
  /* Read once: the whole walk uses this generation (see fastpath_table.c). */
  w->gen = state->gen;
  __u32 gen = w->gen;
  struct skbox_fp_header *h = bpf_map_lookup_elem(&fp_headers, &gen);
  if (!h) return SKBOX_FP_UNDECIDED;
  w->set = h->start_set;
  if (h->n_starts > 0) {
    /* The table depends on the listener: it must be known. */
    if (listener->flags & SKBOX_FP_LISTENER_AMBIGUOUS) return SKBOX_FP_UNDECIDED;
    if (listener->index < h->n_starts) {
      if (listener->index >= SKBOX_FP_MAX_STARTS) return SKBOX_FP_UNDECIDED;
      __u32 si = w->gen * SKBOX_FP_MAX_STARTS + listener->index;
      __u32 *start = bpf_map_lookup_elem(&fp_starts, &si);
      if (!start) return SKBOX_FP_UNDECIDED;
      w->set = *start;
    }
  }
  if (w->set == SKBOX_FP_NO_SET) return SKBOX_FP_NO_MATCH;

  struct walk_ctx wc = {w};
  bpf_loop(MAX_ITERATIONS, step, &wc, 0);
  if (!w->done) return SKBOX_FP_UNDECIDED;
  if (w->outcome != SKBOX_FP_ASSIGNED) return w->outcome;

  if (w->target >= SKBOX_FP_MAX_TARGETS) return SKBOX_FP_UNDECIDED;
  __u32 ti = w->gen * SKBOX_FP_MAX_TARGETS + w->target;
  __u32 *slot = bpf_map_lookup_elem(&fp_targets, &ti);
  if (!slot) return SKBOX_FP_UNDECIDED;
  if (*slot == SKBOX_FP_NO_SLOT) return SKBOX_FP_OTHER_TARGET;
  __u32 s = *slot;
  struct bpf_sock *sk = bpf_map_lookup_elem(&fp_slot_sockets, &s);
  if (!sk) return SKBOX_FP_NOT_LISTENER_MODE;
  long err = bpf_sk_assign(ctx, sk, 0);
  bpf_sk_release(sk);
  if (err) return SKBOX_FP_ASSIGN_ERROR;
  count(&s, &fp_assigned);
  return SKBOX_FP_ASSIGNED;
}

SEC("sk_lookup")
int skbox_sk_lookup(struct bpf_sk_lookup *ctx) {
  if (ctx->protocol != IPPROTO_TCP) return SK_PASS;
  __u32 zero = 0;
  struct walk_space *w = bpf_map_lookup_elem(&fp_walk, &zero);
  if (!w) return SK_PASS;
  if (__sync_lock_test_and_set(&w->busy, 1)) return decided(SKBOX_FP_UNDECIDED);
  __u32 d = decide(ctx, w);
  w->busy = 0; /* the same CPU: program order is enough */
  return decided(d);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
