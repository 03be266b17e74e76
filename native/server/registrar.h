/* The registration server of the JSON config (docs/wire-protocol.md#registration,
 * docs/config-json.md): receivers connect to a SOCK_SEQPACKET API socket, are
 * identified by SO_PEERCRED, and register for a slot with one 8-byte packet.
 * A registered connection then serves its slot (server/slot_registry.h)
 * until either side closes it. Runs in its own thread, off the accept path. */
#ifndef SKBOX_REGISTRAR_H
#define SKBOX_REGISTRAR_H

#include <stdint.h>

/* Who may take a slot, and through which API socket (index into api_fds). */
typedef struct {
  uint32_t uid;
  uint32_t path_nr;
} skbox_slot_rule;

enum skbox_registrar_stat {
  SKBOX_REG_API_ACCEPTED = 0,   /* API connections let in */
  SKBOX_REG_REGISTERED,         /* registrations granted */
  SKBOX_REG_REFUSED_UID,        /* peer uid owns no slot */
  SKBOX_REG_REFUSED_LIMIT,      /* peer uid has too many API connections open */
  SKBOX_REG_REFUSED_MALFORMED,  /* wrong length, reserved bytes, unknown command, or a packet after registering */
  SKBOX_REG_REFUSED_SLOT,       /* no such slot, or it belongs to another uid / API socket */
  SKBOX_REG_REFUSED_TAKEN,      /* the slot is already registered */
  SKBOX_REG_REFUSED_TIMEOUT,    /* connected but did not register in time */
  SKBOX_REG_ENDED,              /* registered connections that ended (peer closed) */
  SKBOX_REG_DROPPED_BY_RELOAD,  /* registrations whose slot a reload removed or changed */
  SKBOX_REG_CONNECTIONS,        /* gauge: open API connections */
  SKBOX_REG_SLOTS_REGISTERED,   /* gauge: slots with a receiver */
  SKBOX_REG_STAT_COUNT
};

/* How long a new API connection may take to send its registration. */
#define SKBOX_REGISTRATION_TIMEOUT_MS 5000

typedef struct skbox_registrar skbox_registrar;

/* api_fds: listening SOCK_SEQPACKET sockets, owned by the caller, must
 * outlive the registrar. stats: SKBOX_REG_STAT_COUNT counters, likewise. */
skbox_registrar *skbox_registrar_create(const int *api_fds, int n_api, uint64_t *stats, const char **why);

/* Any thread: the slots and the per-uid limit of open API connections. Takes
 * effect in the registrar's thread; registrations whose slot no longer exists
 * or changed owner are dropped (their receivers see the end of the stream). */
int skbox_registrar_configure(skbox_registrar *r, const skbox_slot_rule *slots, uint32_t n_slots, uint32_t per_uid_limit);

/* The registrar's own thread: serves until stopped. Returns 0, or -1 when
 * epoll fails. Every API connection is closed (and its slot cleared) on return. */
int skbox_registrar_run(skbox_registrar *r);

/* Any thread: make skbox_registrar_run return. */
void skbox_registrar_stop(skbox_registrar *r);

/* After run has returned (or was never called). */
void skbox_registrar_destroy(skbox_registrar *r);

#endif
