/* socketbox's own listeners as the program sees them: (address, port) ->
 * incoming_socket index. Only sockets in the namespace the program is attached
 * to can receive its connections; the others are left to the accept loops. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "fastpath/libbpf_calls.h"

#include "fastpath/fastpath.h"
#include "fastpath/fastpath_state.h"

static int same_netns(int fd) {
  int ns = ioctl(fd, SIOCGSKNS);
  if (ns < 0) return 0;
  struct stat a, b;
  int same = fstat(ns, &a) == 0 && fstat(skbox_fp.netns_fd, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
  close(ns);
  return same;
}

/* The key of a listening TCP socket, and whether it refuses IPv4; -1 if it is none. */
static int listener_key(int fd, struct skbox_fp_listener_key *k, uint32_t *flags) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(k, 0, sizeof *k);
  *flags = 0;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
  if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    memcpy(k->addr, &a->sin6_addr, 16);
    k->port = ntohs(a->sin6_port);
    int v6only = 0;
    socklen_t olen = sizeof v6only;
    if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen) == 0 && v6only) *flags |= SKBOX_FP_LISTENER_V6ONLY;
    return 0;
  }
  if (ss.ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    k->addr[2] = htonl(0xffff);
    k->addr[3] = a->sin_addr.s_addr;
    k->port = ntohs(a->sin_port);
    return 0;
  }
  errno = EAFNOSUPPORT;
  return -1;
}

static void clear_listeners(void) {
  struct skbox_fp_listener_key k;
  while (bpf_map_get_next_key(skbox_fp.listeners_fd, NULL, &k) == 0)
    if (bpf_map_delete_elem(skbox_fp.listeners_fd, &k) != 0) break;
}

int skbox_fastpath_set_listeners(const int *fds, uint32_t n) {
  if (skbox_fp.listeners_fd < 0) {
    errno = ENOTCONN;
    return -1;
  }
  if (n > SKBOX_FP_MAX_LISTENERS) n = SKBOX_FP_MAX_LISTENERS;
  clear_listeners();
  int published = 0;
  for (uint32_t i = 0; i < n; i++) {
    struct skbox_fp_listener_key k;
    struct skbox_fp_listener v = {i, 0};
    if (!same_netns(fds[i]) || listener_key(fds[i], &k, &v.flags) != 0) continue;
    struct skbox_fp_listener old;
    if (bpf_map_lookup_elem(skbox_fp.listeners_fd, &k, &old) == 0) {
      /* Two listeners on one address and port (SO_REUSEPORT): the kernel picks one, the program cannot know which. */
      v.index = old.index;
      v.flags |= old.flags | SKBOX_FP_LISTENER_AMBIGUOUS;
    } else {
      published++;
    }
    if (bpf_map_update_elem(skbox_fp.listeners_fd, &k, &v, BPF_ANY) != 0) return -1;
  }
  return published;
}
