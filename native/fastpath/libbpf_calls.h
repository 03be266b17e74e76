/* libbpf, opened at run time: the server addon does not link it, so a prebuilt
 * addon loads on a machine without libbpf1 or libelf, where the fast path
 * degrades at start (skbox_fastpath_start fails with the reason) like any
 * other failure to load. The fast path's files include this header instead of
 * libbpf's: each libbpf call they make then goes through a pointer that
 * skbox_libbpf_open() fills. The types come from libbpf's own headers. */
#ifndef SKBOX_LIBBPF_CALLS_H
#define SKBOX_LIBBPF_CALLS_H

#include <stddef.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* The library's soname: the ABI the headers describe. */
#define SKBOX_LIBBPF_SONAME "libbpf.so.1"

/* Every libbpf function the fast path calls. */
#define SKBOX_LIBBPF_CALLS(X) \
  X(bpf_link_create) \
  X(bpf_map__fd) \
  X(bpf_map_create) \
  X(bpf_map_delete_batch) \
  X(bpf_map_delete_elem) \
  X(bpf_map_get_next_key) \
  X(bpf_map_lookup_elem) \
  X(bpf_map_update_batch) \
  X(bpf_map_update_elem) \
  X(bpf_object__close) \
  X(bpf_object__find_map_by_name) \
  X(bpf_object__find_program_by_name) \
  X(bpf_object__load) \
  X(bpf_object__open_file) \
  X(bpf_prog_test_run_opts) \
  X(bpf_program__fd) \
  X(libbpf_num_possible_cpus) \
  X(libbpf_set_print)

#define SKBOX_LIBBPF_POINTER(name) __typeof__(&name) name;
typedef struct {
  SKBOX_LIBBPF_CALLS(SKBOX_LIBBPF_POINTER)
} skbox_libbpf_calls;
#undef SKBOX_LIBBPF_POINTER

/* NULL pointers until skbox_libbpf_open() succeeds. */
extern skbox_libbpf_calls skbox_libbpf;

/* Opens libbpf and finds every call, once (later calls return the first
 * outcome). 0, or -1 with the reason in why. */
int skbox_libbpf_open(char *why, size_t why_len);

/* The calls, by their libbpf names (not in libbpf_calls.c, which fills them). */
#ifndef SKBOX_LIBBPF_CALLS_DEFINE
#define bpf_link_create skbox_libbpf.bpf_link_create
#define bpf_map__fd skbox_libbpf.bpf_map__fd
#define bpf_map_create skbox_libbpf.bpf_map_create
#define bpf_map_delete_batch skbox_libbpf.bpf_map_delete_batch
#define bpf_map_delete_elem skbox_libbpf.bpf_map_delete_elem
#define bpf_map_get_next_key skbox_libbpf.bpf_map_get_next_key
#define bpf_map_lookup_elem skbox_libbpf.bpf_map_lookup_elem
#define bpf_map_update_batch skbox_libbpf.bpf_map_update_batch
#define bpf_map_update_elem skbox_libbpf.bpf_map_update_elem
#define bpf_object__close skbox_libbpf.bpf_object__close
#define bpf_object__find_map_by_name skbox_libbpf.bpf_object__find_map_by_name
#define bpf_object__find_program_by_name skbox_libbpf.bpf_object__find_program_by_name
#define bpf_object__load skbox_libbpf.bpf_object__load
#define bpf_object__open_file skbox_libbpf.bpf_object__open_file
#define bpf_prog_test_run_opts skbox_libbpf.bpf_prog_test_run_opts
#define bpf_program__fd skbox_libbpf.bpf_program__fd
#define libbpf_num_possible_cpus skbox_libbpf.libbpf_num_possible_cpus
#define libbpf_set_print skbox_libbpf.libbpf_set_print
#endif

#endif
