/* Links the fast path of a build made without its toolchain (native/fastpath/off) with the
 * grant every build has, and calls each entry point of fastpath.h: a declaration the off
 * build lacks fails the link. Prints one JSON line of what each call returned. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fastpath/fastpath.h"

int main(void) {
  char why[200] = "";
  int start = skbox_fastpath_start("/nonexistent.bpf.o", 0, why, sizeof why);
  int start_errno = errno;
  uint64_t decisions[SKBOX_FP_DECISION_COUNT];
  uint32_t slots[4];
  uint8_t tuple[36] = {0};
  uint64_t cookie = 0;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds) != 0) return 2;
  int listener_mode = -1;
  ssize_t granted = skbox_fastpath_grant(fds[0], 7, &listener_mode);
  unsigned char answer[8] = {0};
  struct iovec iov = {answer, sizeof answer};
  char control[64];
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t got = recvmsg(fds[1], &msg, 0);
  skbox_fastpath_stop();
  skbox_fastpath_slot_close(7, 1);
  printf(
      "{\"start\":%d,\"startErrno\":%d,\"why\":\"%s\",\"active\":%d,\"listeners\":%d,\"publish\":%d,"
      "\"slotOpen\":%d,\"decisions\":%d,\"assigned\":%llu,\"reclaimed\":%llu,\"slotsSeen\":%u,\"testRun\":%d,"
      "\"granted\":%zd,\"listenerMode\":%d,\"answerBytes\":%zd,\"answer\":[%u,%u,%u,%u],\"descriptors\":%d,"
      "\"grantsPlain\":%llu,\"grantsWithListener\":%llu}\n",
      start, start_errno, why, skbox_fastpath_active(), skbox_fastpath_set_listeners(fds, 2),
      skbox_fastpath_publish(NULL), skbox_fastpath_slot_open(7), skbox_fastpath_decisions(decisions),
      (unsigned long long)skbox_fastpath_assigned(7), (unsigned long long)skbox_fastpath_reclaimed(7),
      skbox_fastpath_slots_seen(slots, 4), skbox_fastpath_test_run(tuple, 0, &cookie), granted, listener_mode, got,
      answer[0], answer[1], answer[2], answer[3], msg.msg_controllen > 0 ? 1 : 0,
      (unsigned long long)skbox_fastpath_grants(0), (unsigned long long)skbox_fastpath_grants(1));
  return 0;
}
