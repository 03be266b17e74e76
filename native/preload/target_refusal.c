#include "target_refusal.h"

#include <errno.h>
#include <string.h>

#include "magic_address.h"
#include "preload_log.h"

void skbox_report_refused(const char *call, const struct sockaddr *addr, socklen_t len,
                          const struct skbox_target_error *error) {
  char address[INET6_ADDRSTRLEN + 16];
  skbox_describe_address(addr, len, address, sizeof(address));
  const char *reason = strerrordesc_np(errno);
  const char *parts[] = {
      call, " to ", address, " refused: ", error->subject, ": ", error->why, " (", reason ? reason : "unknown error",
      ")"};
  skbox_log(parts, sizeof(parts) / sizeof(parts[0]));
}
