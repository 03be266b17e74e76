#include "session_spawn.h"
#include "fd_flags.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#if !defined(__GLIBC__) || !__GLIBC_PREREQ(2, 34)
#error "needs glibc >= 2.34 (posix_spawn_file_actions_addclosefrom_np)"
#endif

extern char **environ;

static int prepare_attributes(posix_spawnattr_t *attr) {
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  int err = posix_spawnattr_init(attr);
  if (err) return err;
  if ((err = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)) ||
      (err = posix_spawnattr_setsigdefault(attr, &all)) || (err = posix_spawnattr_setsigmask(attr, &none))) {
    posix_spawnattr_destroy(attr);
  }
  return err;
}

static int prepare_descriptors(posix_spawn_file_actions_t *actions, int conn) {
  int err = posix_spawn_file_actions_init(actions);
  if (err) return err;
  if ((err = posix_spawn_file_actions_adddup2(actions, conn, STDIN_FILENO)) ||
      (err = posix_spawn_file_actions_adddup2(actions, conn, STDOUT_FILENO)) ||
      /* Node opens with stdio marked close-on-exec: dup2 onto itself clears the flag. */
      (err = posix_spawn_file_actions_adddup2(actions, STDERR_FILENO, STDERR_FILENO)) ||
      (err = posix_spawn_file_actions_addclosefrom_np(actions, STDERR_FILENO + 1))) {
    posix_spawn_file_actions_destroy(actions);
  }
  return err;
}

pid_t skbox_spawn_in_session(const char *file, char *const argv[], int conn) {
  if (skbox_make_blocking(conn) != 0) return -1;
  /* dup2 onto 0 and 1 must not clobber CONN itself, nor may stderr be the connection. */
  int moved = -1;
  if (conn <= STDERR_FILENO) {
    moved = fcntl(conn, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    if (moved < 0) return -1;
    conn = moved;
  }
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  pid_t pid = -1;
  int err = prepare_attributes(&attr);
  if (!err) {
    err = prepare_descriptors(&actions, conn);
    if (!err) {
      err = posix_spawnp(&pid, file, &actions, &attr, argv, environ);
      posix_spawn_file_actions_destroy(&actions);
    }
    posix_spawnattr_destroy(&attr);
  }
  if (moved >= 0) close(moved);
  if (err) {
    errno = err;
    return -1;
  }
  return pid;
}

int skbox_reap_exited_children(pid_t *pids, int room) {
  int reaped = 0;
  while (reaped < room) {
    pid_t pid = waitpid(-1, NULL, WNOHANG);
    if (pid > 0) {
      pids[reaped++] = pid;
    } else if (pid == 0 || errno == ECHILD) {
      break; /* the others are still running, or there are none */
    } else if (errno != EINTR) {
      return -1;
    }
  }
  return reaped;
}
