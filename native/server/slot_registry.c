#include "server/slot_registry.h"

#include <fcntl.h>
#include <pthread.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* fd + 1, so that the zero-initialised array means "nobody registered". */
static int registered_plus_one[SKBOX_MAX_SLOTS];
static uint64_t generations[SKBOX_MAX_SLOTS];

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
  pthread_mutex_unlock(&lock);
}
