#include "magic_address.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* Smallest sockaddr_in6 the kernel accepts (RFC 2133, without sin6_scope_id). */
#define SIN6_LENGTH_WITHOUT_SCOPE 24

static uint16_t group16(const struct in6_addr *a, int index) {
  return (uint16_t)((a->s6_addr[2 * index] << 8) | a->s6_addr[2 * index + 1]);
}

static int all_zero(const uint8_t *bytes, size_t count) {
  for (size_t i = 0; i < count; i++) {
    if (bytes[i] != 0) return 0;
  }
  return 1;
}

static int port_allowed(enum skbox_address_use use, const struct skbox_port_filter *filter, uint16_t port) {
  if (port == 0) return 0;
  return use == SKBOX_USE_CONNECT || skbox_port_filter_matches(filter, port);
}

static void make_target(struct skbox_address_decision *out, int mode, uint16_t group, uint16_t slot, uint16_t port) {
  out->kind = SKBOX_ADDRESS_SOCKETBOX;
  out->target.stream = mode & 1;
  out->target.named_by_root2 = (mode & 2) != 0;
  out->target.group = group;
  out->target.slot = slot;
  out->target.port = port;
  out->target.listener_mode = mode == 4;
}

static void classify_ipv6(const struct sockaddr_in6 *sa, enum skbox_address_use use,
                          const struct skbox_preload_config *config, struct skbox_address_decision *out) {
  const struct in6_addr *a = &sa->sin6_addr;
  uint16_t port = ntohs(sa->sin6_port);
  if (sa->sin6_scope_id != 0) return;

  if (group16(a, 0) == 0xfe8f && group16(a, 1) == 0x0001) {
    /* Link-local rewriting is about the address only: any socket type, any port. */
    out->kind = SKBOX_ADDRESS_LINK_LOCAL;
    out->link_local = *sa;
    out->link_local.sin6_scope_id = ((uint32_t)group16(a, 2) << 16) | group16(a, 3);
    static const uint8_t fe80_prefix[8] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0};
    memcpy(out->link_local.sin6_addr.s6_addr, fe80_prefix, sizeof(fe80_prefix));
    return;
  }

  if (group16(a, 0) == 0xfe8f && group16(a, 1) == 0 && group16(a, 2) == 0 && group16(a, 3) == 0 && group16(a, 4) == 0 &&
      (group16(a, 5) <= 3 || (group16(a, 5) == 4 && group16(a, 6) == 0 && use == SKBOX_USE_BIND))) {
    if (port_allowed(use, &config->filter_ipv6, port))
      make_target(out, group16(a, 5), group16(a, 6), group16(a, 7), port);
    return;
  }

  if (use == SKBOX_USE_BIND && all_zero(a->s6_addr, 16) && port_allowed(use, &config->filter_ipv6_wildcard, port))
    make_target(out, 0, 0, 0, port);
}

static void classify_ipv4(const struct sockaddr_in *sa, enum skbox_address_use use,
                          const struct skbox_preload_config *config, struct skbox_address_decision *out) {
  const uint8_t *octets = (const uint8_t *)&sa->sin_addr.s_addr;
  uint16_t port = ntohs(sa->sin_port);

  if (octets[0] == 127 && (octets[1] & 0xfe) == 180) {
    if (port_allowed(use, &config->filter_ipv4, port)) make_target(out, octets[1] & 1, octets[2], octets[3], port);
    return;
  }

  if (use == SKBOX_USE_BIND && sa->sin_addr.s_addr == htonl(INADDR_ANY) &&
      port_allowed(use, &config->filter_ipv4_wildcard, port))
    make_target(out, 0, 0, 0, port);
}

void skbox_classify_address(const struct sockaddr *addr, socklen_t len, enum skbox_address_use use,
                            const struct skbox_preload_config *config, struct skbox_address_decision *out) {
  memset(out, 0, sizeof(*out));
  out->kind = SKBOX_ADDRESS_ORDINARY;
  if (addr == NULL || len < sizeof(sa_family_t)) return;

  sa_family_t family;
  memcpy(&family, &addr->sa_family, sizeof(family));
  if (family == AF_INET6 && len >= SIN6_LENGTH_WITHOUT_SCOPE) {
    /* Copy: the caller's buffer may be unaligned or shorter than sockaddr_in6. */
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof(sa));
    memcpy(&sa, addr, len < sizeof(sa) ? len : sizeof(sa));
    classify_ipv6(&sa, use, config, out);
  } else if (family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    struct sockaddr_in sa;
    memcpy(&sa, addr, sizeof(sa));
    classify_ipv4(&sa, use, config, out);
  }
}

void skbox_describe_address(const struct sockaddr *addr, socklen_t len, char *out, size_t size) {
  char text[INET6_ADDRSTRLEN] = "?";
  sa_family_t family = 0;
  if (addr != NULL && len >= sizeof(family)) memcpy(&family, &addr->sa_family, sizeof(family));
  if (family == AF_INET6 && len >= SIN6_LENGTH_WITHOUT_SCOPE) {
    struct sockaddr_in6 sa;
    memcpy(&sa, addr, SIN6_LENGTH_WITHOUT_SCOPE);
    inet_ntop(AF_INET6, &sa.sin6_addr, text, sizeof(text));
    snprintf(out, size, "[%s]:%u", text, (unsigned)ntohs(sa.sin6_port));
  } else if (family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    struct sockaddr_in sa;
    memcpy(&sa, addr, sizeof(sa));
    inet_ntop(AF_INET, &sa.sin_addr, text, sizeof(text));
    snprintf(out, size, "%s:%u", text, (unsigned)ntohs(sa.sin_port));
  } else {
    snprintf(out, size, "an address of family %u", (unsigned)family);
  }
}
