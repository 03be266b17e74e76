#include "common/thread_caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct {
  struct __user_cap_header_struct head;
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
} thread_caps;

static int caps_get(thread_caps *c) {
  c->head.version = _LINUX_CAPABILITY_VERSION_3;
  c->head.pid = 0; /* the calling thread */
  return (int)syscall(SYS_capget, &c->head, c->data);
}

static int caps_set(thread_caps *c) {
  c->head.version = _LINUX_CAPABILITY_VERSION_3;
  c->head.pid = 0;
  return (int)syscall(SYS_capset, &c->head, c->data);
}

/* Kernels before 4.3 have no ambient set: nothing to clear there. */
static int clear_ambient(void) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0 || errno == EINVAL) return 0;
  return -1;
}

int skbox_caps_clear_inheritable_ambient(void) {
  thread_caps c;
  if (clear_ambient() != 0 || caps_get(&c) != 0) return -1;
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) c.data[i].inheritable = 0;
  return caps_set(&c);
}

int skbox_caps_clear_all(void) {
  thread_caps c;
  if (clear_ambient() != 0 || caps_get(&c) != 0) return -1;
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
    c.data[i].permitted = c.data[i].effective = c.data[i].inheritable = 0;
  return caps_set(&c);
}

int skbox_caps_raise_effective(void) {
  thread_caps c;
  if (caps_get(&c) != 0) return -1;
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) c.data[i].effective = c.data[i].permitted;
  return caps_set(&c);
}

int skbox_caps_drop_bounding(void) {
  thread_caps c;
  if (caps_get(&c) != 0) return -1;
  if (!(c.data[CAP_TO_INDEX(CAP_SETPCAP)].effective & CAP_TO_MASK(CAP_SETPCAP))) return 0;
  /* Dropping what is already gone is no error; EINVAL means past the kernel's last capability. */
  for (int cap = 0;; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return errno == EINVAL && cap > 0 ? 1 : -1;
  }
}

int skbox_caps_read(skbox_caps_held *out) {
  thread_caps c;
  if (caps_get(&c) != 0) return -1;
  out->permitted = out->inheritable = out->ambient = 0;
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
    out->permitted |= c.data[i].permitted != 0;
    out->inheritable |= c.data[i].inheritable != 0;
  }
  for (int cap = 0;; cap++) {
    int set = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0);
    if (set < 0) break; /* past the last capability, or no ambient set at all */
    out->ambient |= set;
  }
  return 0;
}

int skbox_uid_is_root(void) {
  uid_t r, e, s;
  if (getresuid(&r, &e, &s) != 0) return 0; /* cannot tell: then clear the capabilities ourselves */
  return r == 0 || e == 0 || s == 0;
}
