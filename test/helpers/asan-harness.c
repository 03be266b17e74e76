/* Drives the native table loader, lookup and path substitution
 * (native/server/table.c, lookup.c, path_subst.c) under AddressSanitizer and
 * UBSan; built and run by test/native-asan.test.ts.
 *
 *   asan-harness CORPUS CASES SEED   fuzz: CORPUS holds valid tables as
 *                                    [u32 LE length][bytes]..., written by the test
 *   asan-harness --overflow          self-test: one read past a heap buffer
 *   asan-harness --ub                self-test: signed overflow
 *   asan-harness --leak              self-test: a block never freed
 *
 * Every case is copied into a heap block of exactly its length, so a read
 * past the end is a heap-buffer-overflow report, not a silent stray read.
 * Accepted tables are looked up (checked against a byte-level reading of
 * docs/table-format.md) and their template paths substituted. Prints one
 * JSON line of counts; any inconsistency exits 1, a sanitizer report aborts. */
#include "server/lookup.h"
#include "server/path_subst.h"
#include "server/table.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t next_u64(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static uint32_t below(uint32_t n) { return n ? (uint32_t)(next_u64() % n) : 0; }
static uint32_t u32_random(void) { return (uint32_t)next_u64(); }

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static void die(const char *what) {
  fprintf(stdout, "{\"error\":\"%s\"}\n", what);
  exit(1);
}

/* ---- the corpus of valid tables ---- */

typedef struct {
  uint8_t *bytes;
  size_t len;
} blob;

static blob *corpus;
static size_t corpus_n;

static void read_corpus(const char *file) {
  FILE *f = fopen(file, "rb");
  if (!f) die("cannot open the corpus");
  uint8_t lenbuf[4];
  while (fread(lenbuf, 1, 4, f) == 4) {
    size_t len = rd32(lenbuf);
    uint8_t *bytes = malloc(len ? len : 1);
    if (!bytes || fread(bytes, 1, len, f) != len) die("truncated corpus");
    corpus = realloc(corpus, (corpus_n + 1) * sizeof *corpus);
    if (!corpus) die("out of memory");
    corpus[corpus_n++] = (blob){bytes, len};
  }
  fclose(f);
  if (corpus_n == 0) die("empty corpus");
}

/* ---- counts ---- */

static struct {
  uint64_t cases, accepted, rejected, lookups, substitutions, templates;
  uint64_t by_kind[6];
} stats;

/* ---- a byte-level reading of docs/table-format.md, for accepted tables ---- */

static skbox_decision_kind reference_lookup(const uint8_t *b, const uint8_t *tuple, uint32_t *target) {
  uint32_t set = rd32(b + 48);
  if (set == 0xffffffffu) return SKBOX_DECIDE_NO_MATCH;
  uint32_t sets_off = rd32(b + 20), entries_off = rd32(b + 28);
  for (int step = 0; step < SKBOX_MAX_LOOKUP_STEPS; step++) {
    const uint8_t *s = b + sets_off + (size_t)set * SKBOX_SET_RECORD_SIZE;
    uint32_t kind = rd32(s), first = rd32(s + 4), n = rd32(s + 8), action = rd32(s + 12);
    for (uint32_t k = 0; k < n; k++) {
      const uint8_t *e = b + entries_off + (size_t)(first + k) * SKBOX_ENTRY_RECORD_SIZE;
      const uint8_t *mask = kind == SKBOX_SET_RULE ? e + SKBOX_TUPLE_SIZE : s + 16;
      int hit = 1;
      for (unsigned i = 0; i < SKBOX_TUPLE_SIZE && hit; i++) hit = (tuple[i] & mask[i]) == e[i];
      if (hit) { /* map keys are unique, so a linear scan finds what the binary search must */
        action = rd32(e + 2 * SKBOX_TUPLE_SIZE);
        break;
      }
    }
    switch (SKBOX_ACTION_KIND(action)) {
      case SKBOX_ACT_JUMP: set = SKBOX_ACTION_ARG(action); continue;
      case SKBOX_ACT_TARGET: *target = SKBOX_ACTION_ARG(action); return SKBOX_DECIDE_TARGET;
      case SKBOX_ACT_FAIL: return SKBOX_DECIDE_FAIL;
      default: return SKBOX_DECIDE_NO_MATCH;
    }
  }
  return SKBOX_DECIDE_LOOP;
}

/* ---- path substitution ---- */

/* What docs/path-substitution.md describes, written independently: first occurrence of each marker. */
static void reference_substitute(char *path, size_t len, const uint8_t *tuple) {
  static const char names[] = "01234567P";
  for (int g = 0; g < 9; g++) {
    for (size_t i = 0; i + 5 <= len; i++) {
      if (path[i] == '#' && path[i + 1] == '/' && path[i + 2] == '/' && path[i + 3] == names[g] && path[i + 4] == '_') {
        unsigned v = g < 8 ? (unsigned)tuple[2 * g] << 8 | tuple[2 * g + 1] : (unsigned)tuple[32] << 8 | tuple[33];
        char digits[6];
        snprintf(digits, sizeof digits, "%05u", v);
        memcpy(path + i, digits, 5);
        break;
      }
    }
  }
}

/* Substitutes in a heap copy of exactly len + 1 bytes; compares with the reference. */
static void substitute_checked(const char *path, size_t len, const skbox_tuple *tuple) {
  char *native = malloc(len + 1), *expected = malloc(len + 1);
  if (!native || !expected) die("out of memory");
  memcpy(native, path, len);
  native[len] = 0;
  memcpy(expected, native, len + 1);
  skbox_substitute_path(native, len, tuple);
  reference_substitute(expected, len, tuple->bytes);
  if (memcmp(native, expected, len + 1) != 0) die("path substitution differs from docs/path-substitution.md");
  stats.substitutions++;
  free(native);
  free(expected);
}

static void random_template(void) {
  static const char *pieces[] = {"#//0_", "#//1_", "#//2_", "#//3_", "#//4_", "#//5_", "#//6_", "#//7_", "#//P_",
                                 "#//8_", "#//", "#/", "#", "_", "/", "a", "sub/", "@", "-", ".sock", "#//P", "//0_"};
  char path[SKBOX_UNIX_PATH_MAX + 1];
  size_t len = 0, want = 1 + below(SKBOX_UNIX_PATH_MAX);
  while (len < want) {
    const char *p = below(4) ? pieces[below(sizeof pieces / sizeof *pieces)] : NULL;
    char one[2] = {(char)(1 + below(255)), 0}; /* any byte but NUL */
    if (!p) p = one;
    size_t n = strlen(p);
    if (len + n > want) n = want - len;
    memcpy(path + len, p, n);
    len += n;
  }
  skbox_tuple tuple;
  for (unsigned i = 0; i < SKBOX_TUPLE_SIZE; i++) tuple.bytes[i] = (uint8_t)next_u64();
  substitute_checked(path, len, &tuple);
}

/* ---- one case ---- */

static void random_tuple(skbox_tuple *t, const uint8_t *buf, size_t len) {
  for (unsigned i = 0; i < SKBOX_TUPLE_SIZE; i++) t->bytes[i] = (uint8_t)next_u64();
  /* Half the time, start from an entry's pattern so rules and map keys actually hit. */
  uint32_t n_entries = rd32(buf + 24), entries_off = rd32(buf + 28);
  if (n_entries == 0 || below(2)) return;
  const uint8_t *e = buf + entries_off + (size_t)below(n_entries) * SKBOX_ENTRY_RECORD_SIZE;
  (void)len;
  for (unsigned i = 0; i < SKBOX_TUPLE_SIZE; i++)
    t->bytes[i] = (uint8_t)(e[i] | (t->bytes[i] & ~e[SKBOX_TUPLE_SIZE + i] & (below(2) ? 0xff : 0)));
}

static void exercise_accepted(const skbox_table *table, const uint8_t *buf, size_t len) {
  for (int k = 0; k < 4; k++) {
    skbox_tuple tuple;
    random_tuple(&tuple, buf, len);
    skbox_decision d = skbox_lookup(table, 0, &tuple);
    stats.lookups++;
    uint32_t want_target = UINT32_MAX;
    skbox_decision_kind want = reference_lookup(buf, tuple.bytes, &want_target);
    if (d.kind != want) die("lookup decision differs from docs/table-format.md");
    if (d.kind == SKBOX_DECIDE_TARGET) {
      if (d.target_index >= table->n_targets || d.target_index != want_target) die("lookup target out of range or wrong");
      const skbox_target *t = &table->targets[d.target_index];
      if (t->kind == SKBOX_TARGET_UNIX && (t->flags & SKBOX_TARGET_FLAG_TEMPLATE)) substitute_checked(t->path, t->path_len, &tuple);
    }
  }
  for (uint32_t i = 0; i < table->n_targets; i++) {
    const skbox_target *t = &table->targets[i];
    if (t->kind != SKBOX_TARGET_UNIX) continue;
    if (t->path_len == 0 || t->path_len > SKBOX_UNIX_PATH_MAX || strlen(t->path) != t->path_len) die("loaded path is malformed");
    skbox_tuple tuple;
    random_tuple(&tuple, buf, len);
    substitute_checked(t->path, t->path_len, &tuple); /* any loaded path, template flag or not */
    stats.templates++;
  }
}

/* Loads bytes[0, len) from a heap block of exactly len bytes; exercises it when accepted. */
static void run_case(const uint8_t *bytes, size_t len) {
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) die("out of memory");
  if (len) memcpy(exact, bytes, len);
  const char *why = NULL;
  /* A zero-length case still passes a pointer to a (1-byte) block that holds nothing. */
  skbox_table *table = skbox_table_load(exact, len, &why);
  stats.cases++;
  if (table) {
    if (why) die("accepted with a reason");
    stats.accepted++;
    exercise_accepted(table, exact, len);
    skbox_table_free(table);
  } else {
    if (!why || !*why) die("rejected without a reason");
    stats.rejected++;
  }
  free(exact);
}

/* ---- case generators ---- */

enum { K_RANDOM, K_HEADER_RANDOM, K_TRUNCATE, K_MUTATE, K_OUT_OF_RANGE, K_VALID };

static uint8_t scratch[1 << 20];

static const blob *pick_base(void) {
  const blob *b = &corpus[below((uint32_t)corpus_n)];
  if (b->len > sizeof scratch) die("corpus table larger than the scratch buffer");
  memcpy(scratch, b->bytes, b->len);
  return b;
}

static uint32_t interesting_u32(size_t len) {
  static const uint32_t fixed[] = {0, 1, 2, 3, 4, 35, 36, 52, 63, 64, 76, 107, 108, 2000, 2001, 2000000, 2000001,
                                   0x7fffffffu, 0x80000000u, 0xfffffffcu, 0xfffffffeu, 0xffffffffu, 0x00ffffffu,
                                   0x01000000u, 0x01ffffffu, 0x02000000u, 0x02ffffffu, 0x03000000u, 0x04000000u};
  switch (below(4)) {
    case 0: return fixed[below(sizeof fixed / sizeof *fixed)];
    case 1: return (uint32_t)len + below(9) - 4;
    case 2: return u32_random();
    default: return below(256);
  }
}

static size_t gen_random(void) {
  size_t len = below(4) ? below(512) : below(8192);
  for (size_t i = 0; i < len; i++) scratch[i] = (uint8_t)next_u64();
  return len;
}

/* Random bytes behind a plausible header, so the checks past the header run too. */
static size_t gen_header_random(void) {
  size_t len = 64 + 4 * below(600);
  for (size_t i = 0; i < len; i++) scratch[i] = (uint8_t)(below(3) ? below(4) : next_u64());
  wr32(scratch, SKBOX_TABLE_MAGIC);
  wr32(scratch + 4, SKBOX_TABLE_VERSION);
  wr32(scratch + 8, (uint32_t)len);
  wr32(scratch + 12, 0);
  memset(scratch + 52, 0, 12);
  for (unsigned off = 20; off <= 40; off += 4) /* offsets inside the buffer, 4-aligned */
    if (off != 24 && off != 32) wr32(scratch + off, 64 + 4 * below((uint32_t)(len - 64) / 4 + 1));
  wr32(scratch + 16, below(8));
  wr32(scratch + 24, below(16));
  wr32(scratch + 32, below(8));
  wr32(scratch + 44, below((uint32_t)len));
  wr32(scratch + 48, below(4) ? below(8) : 0xffffffffu);
  return len;
}

static size_t gen_truncate(void) {
  const blob *b = pick_base();
  size_t len = below((uint32_t)b->len);
  if (len >= 64 && below(2)) wr32(scratch + 8, (uint32_t)len); /* keep the size field honest */
  return len;
}

static size_t gen_mutate(void) {
  const blob *b = pick_base();
  size_t len = b->len;
  for (uint32_t n = 1 + below(4); n > 0; n--) {
    switch (below(4)) {
      case 0: scratch[below((uint32_t)len)] ^= (uint8_t)(1u << below(8)); break;
      case 1: scratch[below((uint32_t)len)] = (uint8_t)next_u64(); break;
      case 2: { /* an aligned u32: every count, offset, index and action is one */
        size_t at = 4 * below((uint32_t)len / 4);
        wr32(scratch + at, interesting_u32(len));
        break;
      }
      default: { /* a header field */
        size_t at = 4 * below(16);
        wr32(scratch + at, interesting_u32(len));
        break;
      }
    }
  }
  return len;
}

/* An index or range made to point just outside what exists. */
static size_t gen_out_of_range(void) {
  const blob *b = pick_base();
  uint8_t *s = scratch;
  uint32_t n_sets = rd32(s + 16), n_entries = rd32(s + 24), n_targets = rd32(s + 32);
  uint32_t sets_off = rd32(s + 20), entries_off = rd32(s + 28), targets_off = rd32(s + 36), str_size = rd32(s + 44);
  uint32_t edge = below(3); /* just past, far past, or wrapping */
  uint32_t delta = edge == 0 ? 0 : edge == 1 ? below(1000) : 0xffffffffu - below(64);
  switch (below(7)) {
    case 0: wr32(s + 48, n_sets + delta); break; /* start set */
    case 1:
      if (n_entries) wr32(s + entries_off + below(n_entries) * SKBOX_ENTRY_RECORD_SIZE + 72, (SKBOX_ACT_JUMP << 24) | ((n_sets + delta) & 0xffffff));
      break;
    case 2:
      if (n_entries) wr32(s + entries_off + below(n_entries) * SKBOX_ENTRY_RECORD_SIZE + 72, (SKBOX_ACT_TARGET << 24) | ((n_targets + delta) & 0xffffff));
      break;
    case 3:
      if (n_sets) {
        uint8_t *set = s + sets_off + below(n_sets) * SKBOX_SET_RECORD_SIZE;
        if (below(2)) wr32(set + 4, n_entries + delta);
        else wr32(set + 8, n_entries - rd32(set + 4) + 1 + delta);
      }
      break;
    case 4:
      if (n_sets) wr32(s + sets_off + below(n_sets) * SKBOX_SET_RECORD_SIZE + 12, ((1 + below(2)) << 24) | ((below(2) ? n_sets : n_targets) + delta));
      break;
    case 5:
      if (n_targets) {
        uint8_t *t = s + targets_off + below(n_targets) * SKBOX_TARGET_RECORD_SIZE;
        if (below(2)) wr32(t + 8, str_size - rd32(t + 12) + 1 + delta);
        else wr32(t + 12, str_size - rd32(t + 8) + 1 + delta);
      }
      break;
    default: { /* a section count one past what the buffer holds */
      static const unsigned count_at[] = {16, 24, 32, 44};
      unsigned at = count_at[below(4)];
      wr32(s + at, rd32(s + at) + 1 + delta);
      break;
    }
  }
  return b->len;
}

static size_t gen_valid(void) { return pick_base()->len; }

static size_t generate(int kind) {
  switch (kind) {
    case K_RANDOM: return gen_random();
    case K_HEADER_RANDOM: return gen_header_random();
    case K_TRUNCATE: return gen_truncate();
    case K_MUTATE: return gen_mutate();
    case K_OUT_OF_RANGE: return gen_out_of_range();
    default: return gen_valid();
  }
}

/* ---- self-tests: prove the sanitizers are really there ---- */

/* The index is opaque to the compiler, so ASan (not UBSan's object-size check) must catch it. */
static __attribute__((noinline)) int peek(const uint8_t *p, size_t i) { return p[i]; }

static int overflow_self_test(void) {
  uint8_t *p = calloc(1, 16);
  volatile size_t past = 16;
  int v = peek(p, past); /* one past the end */
  free(p);
  return v;
}

static int ub_self_test(int argc) {
  volatile int big = INT_MAX;
  return big + argc; /* signed overflow */
}

static void *volatile leaked;

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--leak") == 0) {
    leaked = malloc(64);
    leaked = NULL; /* the only pointer gone: LeakSanitizer must say so at exit */
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "--overflow") == 0) return overflow_self_test();
  if (argc == 2 && strcmp(argv[1], "--ub") == 0) return ub_self_test(argc);
  if (argc != 4) {
    fprintf(stderr, "usage: asan-harness CORPUS CASES SEED | --overflow | --ub | --leak\n");
    return 2;
  }
  read_corpus(argv[1]);
  unsigned long cases = strtoul(argv[2], NULL, 10);
  rng_state = strtoull(argv[3], NULL, 10);

  /* Every corpus table is valid: a loader that refuses one is out of step with compile.ts. */
  for (size_t i = 0; i < corpus_n; i++) {
    const char *why = NULL;
    skbox_table *t = skbox_table_load(corpus[i].bytes, corpus[i].len, &why);
    if (!t) {
      fprintf(stdout, "{\"error\":\"corpus table %zu rejected: %s\"}\n", i, why ? why : "?");
      return 1;
    }
    skbox_table_free(t);
  }
  { /* docs/path-substitution.md's example: sub/#//7_-#//P_.sock for [2001:db8::123]:8080 */
    skbox_tuple tuple;
    memset(&tuple, 0, sizeof tuple);
    static const uint8_t addr[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x23};
    memcpy(tuple.bytes, addr, 16);
    tuple.bytes[32] = 8080 >> 8;
    tuple.bytes[33] = 8080 & 0xff;
    char path[] = "sub/#//7_-#//P_.sock";
    skbox_substitute_path(path, strlen(path), &tuple);
    if (strcmp(path, "sub/00291-08080.sock") != 0) die("docs/path-substitution.md example substitution");
  }

  for (unsigned long i = 0; i < cases; i++) {
    int kind = (int)below(6);
    size_t len = generate(kind);
    stats.by_kind[kind]++;
    run_case(scratch, len);
    random_template();
  }
  printf("{\"cases\":%llu,\"accepted\":%llu,\"rejected\":%llu,\"lookups\":%llu,\"substitutions\":%llu,"
         "\"loadedPaths\":%llu,\"byKind\":{\"random\":%llu,\"headerRandom\":%llu,\"truncate\":%llu,\"mutate\":%llu,"
         "\"outOfRange\":%llu,\"valid\":%llu}}\n",
         (unsigned long long)stats.cases, (unsigned long long)stats.accepted, (unsigned long long)stats.rejected,
         (unsigned long long)stats.lookups, (unsigned long long)stats.substitutions, (unsigned long long)stats.templates,
         (unsigned long long)stats.by_kind[0], (unsigned long long)stats.by_kind[1], (unsigned long long)stats.by_kind[2],
         (unsigned long long)stats.by_kind[3], (unsigned long long)stats.by_kind[4], (unsigned long long)stats.by_kind[5]);
  for (size_t i = 0; i < corpus_n; i++) free(corpus[i].bytes);
  free(corpus);
  return 0;
}
