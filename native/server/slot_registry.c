#include "server/slot_registry.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#define MAX_WATCHERS 1024 /* accept loops: --workers allows 256 */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* fd + 1, so that the zero-initialised array means "nobody registered". */
static int registered_plus_one[SKBOX_MAX_SLOTS];
static uint64_t generations[SKBOX_MAX_SLOTS];
static uint64_t changes;
static int watchers[MAX_WATCHERS];
static int n_watchers;

uint64_t skbox_slot_generation(uint32_t slot) {
  if (slot >= SKBOX_MAX_SLOTS) return 0;
  return __atomic_load_n(&generations[slot], __ATOMIC_ACQUIRE);
}

int skbox_slot_dup(uint32_t slot, uint64_t *generation) {
  if (slot >= SKBOX_MAX_SLOTS) {
    *generation = 0;
    return -1;
  }
  pthread_mutex_lock(&lock);
  int fd = registered_plus_one[slot] - 1;
  int copy = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
  *generation = generations[slot];
  pthread_mutex_unlock(&lock);
  return copy;
}

void skbox_slot_assign(uint32_t slot, int fd) {
  if (slot >= SKBOX_MAX_SLOTS) return;
  pthread_mutex_lock(&lock);
  registered_plus_one[slot] = fd + 1;
  __atomic_add_fetch(&generations[slot], 1, __ATOMIC_RELEASE);
  __atomic_add_fetch(&changes, 1, __ATOMIC_RELEASE);
  uint64_t one = 1;
  for (int i = 0; i < n_watchers; i++) (void)!write(watchers[i], &one, sizeof one);
  pthread_mutex_unlock(&lock);
}

uint64_t skbox_slot_changes(void) {
  return __atomic_load_n(&changes, __ATOMIC_ACQUIRE);
}

int skbox_slot_watch(int eventfd) {
  pthread_mutex_lock(&lock);
  int ok = n_watchers < MAX_WATCHERS;
  if (ok) watchers[n_watchers++] = eventfd;
  pthread_mutex_unlock(&lock);
  return ok ? 0 : -1;
}

void skbox_slot_unwatch(int eventfd) {
  pthread_mutex_lock(&lock);
  for (int i = 0; i < n_watchers; i++)
    if (watchers[i] == eventfd) watchers[i--] = watchers[--n_watchers];
  pthread_mutex_unlock(&lock);
}
