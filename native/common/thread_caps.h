/* The capability sets of the calling thread. Linux keeps them per thread and a
 * new thread starts with a copy of its creator's, so each function here acts on
 * the caller only. Raw capget/capset: no libcap needed. Each returns 0, or -1
 * with errno set, unless it says otherwise. */
#ifndef SKBOX_THREAD_CAPS_H
#define SKBOX_THREAD_CAPS_H

/* Empties the inheritable and ambient sets: nothing passes to a program exec'd later. */
int skbox_caps_clear_inheritable_ambient(void);

/* Empties the permitted, effective, inheritable and ambient sets. */
int skbox_caps_clear_all(void);

/* Makes the effective set the permitted one again (setfsuid() away from 0
 * takes the file-system capabilities out of the effective set). */
int skbox_caps_raise_effective(void);

/* Empties the bounding set if CAP_SETPCAP is effective: 1 when emptied, 0 when
 * the thread may not (the set is left as it is), -1 on error. */
int skbox_caps_drop_bounding(void);

/* What the calling thread holds: whether each set is non-empty. */
typedef struct {
  int permitted;
  int inheritable;
  int ambient;
} skbox_caps_held;
int skbox_caps_read(skbox_caps_held *out);

/* 1 when the real, effective or saved uid is 0: the kernel then clears the
 * capabilities by itself once setresuid() leaves 0 for all three. */
int skbox_uid_is_root(void);

#endif
