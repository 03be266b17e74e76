/* libFuzzer target: registration packets as the registrar sees them
 * (native/server/registrar.c). One registrar thread serves an abstract API
 * socket for the whole run; a real receiver holds slot 0 throughout. Each
 * input is a few packets ([length byte][bytes]...) sent on one fresh API
 * connection; the server must close it or grant exactly one well-formed
 * registration for slot 1, and slot 0's receiver must stay registered.
 * Built and run by test/native-fuzz.test.ts. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/registration_client.h"
#include "common/unix_address.h"
#include "server/registrar.h"
#include "server/registration_socket.h"

static char api[64];
static uint64_t stats[SKBOX_REG_STAT_COUNT];
static int holder = -1; /* slot 0's receiver */

static void *serve(void *r) {
  skbox_registrar_run(r);
  return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  snprintf(api, sizeof api, "@skbox-fuzz-registration-%d", (int)getpid());
  const char *why = "";
  int api_fd = skbox_open_registration_socket(api, 0700, -1, -1, 64, &why);
  if (api_fd < 0) abort();
  skbox_registrar *r = skbox_registrar_create(&api_fd, 1, stats, &why);
  /* slot 0: held; slot 1: free for uid 0; slot 2: another uid's */
  const skbox_slot_rule slots[3] = {{0, 0}, {0, 0}, {1234, 0}};
  if (!r || skbox_registrar_configure(r, slots, 3, 4) != 0) abort();
  pthread_t t;
  if (pthread_create(&t, NULL, serve, r) != 0) abort();
  pthread_detach(t); /* serves until the process ends */
  holder = skbox_register(api, 0, 2000, &why);
  if (holder < 0) abort();
  return 0;
}

/* Command 1 registers; command 2 registers in listener mode (docs/fast-path.md), which this
 * build, linked with the fast path off, grants without a listener. */
static int is_registration(const uint8_t *p, size_t n, uint32_t slot) {
  return n == 8 && (p[0] == 1 || p[0] == 2) && !p[1] && !p[2] && !p[3] && p[4] == (uint8_t)(slot >> 24) &&
         p[5] == (uint8_t)(slot >> 16) && p[6] == (uint8_t)(slot >> 8) && p[7] == (uint8_t)slot;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct sockaddr_un a;
  int len = skbox_unix_address(api, &a);
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0 || connect(s, (struct sockaddr *)&a, (socklen_t)len) != 0) abort();
  int first_grantable = -1, packets = 0;
  for (size_t at = 0; at < size && packets < 4; packets++) {
    size_t n = data[at++] % 33;
    if (n > size - at) n = size - at;
    if (first_grantable < 0) first_grantable = is_registration(data + at, n, 1) ? packets : -2 - packets;
    send(s, data + at, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    at += n;
  }
  if (packets == 0) { /* nothing said: the server would wait for its registration timeout */
    close(s);
    return 0;
  }
  /* The answer: a grant only for a first packet that registers slot 1, otherwise the end. */
  int granted = 0;
  for (;;) {
    struct pollfd p = {.fd = s, .events = POLLIN};
    if (poll(&p, 1, 2000) != 1) {
      if (granted) break; /* registered and kept */
      fprintf(stderr, "fuzz_registration: no answer to a bad packet within 2 s\n");
      abort();
    }
    uint8_t answer[8];
    ssize_t got = recv(s, answer, sizeof answer, MSG_DONTWAIT);
    if (got <= 0) break;
    if (got != 4 || answer[0] != 0x80 || first_grantable != 0 || granted) {
      fprintf(stderr, "fuzz_registration: unexpected answer of %zd bytes\n", got);
      abort();
    }
    granted = 1;
    if (packets == 1) break;
  }
  close(s);
  /* slot 0's receiver must still hold it: nothing above took or ended it */
  struct pollfd p = {.fd = holder, .events = POLLIN};
  if (poll(&p, 1, 0) != 0) {
    fprintf(stderr, "fuzz_registration: slot 0's registration ended\n");
    abort();
  }
  return 0;
}
