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

/* The registrar's counters, shared with JavaScript like the loops' (server/stats.h,
 * which says how this list is read): X(NAME, OUTCOME, LABEL). SKBOX_REG_<NAME> is
 * the counter's index; OUTCOME REFUSED marks a refused registration, LABEL being
 * its reason in socketbox_registrations_total{result}. One entry per line. */
#define SKBOX_REG_STAT_LIST(X) \
  X(API_ACCEPTED, NONE, "")              /* API connections let in */ \
  X(REGISTERED, NONE, "")                /* registrations granted */ \
  X(REFUSED_UID, REFUSED, "uid")         /* peer uid owns no slot */ \
  X(REFUSED_LIMIT, REFUSED, "uid_limit") /* peer uid has too many API connections open */ \
  X(REFUSED_MALFORMED, REFUSED, \
    "malformed")                     /* wrong length, reserved bytes, unknown command, or a packet after registering */ \
  X(REFUSED_SLOT, REFUSED, "slot")   /* no such slot, or it belongs to another uid / API socket */ \
  X(REFUSED_TAKEN, REFUSED, "taken") /* the slot is already registered */ \
  X(REFUSED_TIMEOUT, REFUSED, "timeout") /* connected but did not register in time */ \
  X(ENDED, NONE, "")                     /* registered connections that ended (peer closed) */ \
  X(DROPPED_BY_RELOAD, NONE, "")         /* registrations whose slot a reload removed or changed */ \
  X(CONNECTIONS, NONE, "")               /* gauge: open API connections */ \
  X(SLOTS_REGISTERED, NONE, "")          /* gauge: slots with a receiver */

#define SKBOX_REG_STAT_ENUM_ENTRY(name, outcome, label) SKBOX_REG_##name,
enum skbox_registrar_stat { SKBOX_REG_STAT_LIST(SKBOX_REG_STAT_ENUM_ENTRY) SKBOX_REG_STAT_COUNT };
#undef SKBOX_REG_STAT_ENUM_ENTRY

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

/* A live upgrade (docs/startup.md, "Started by an upgrade") hands every API connection
 * to the new process with what the registrar knows of it. */
typedef struct {
  int fd;
  uint32_t uid, api_index; /* SO_PEERCRED uid; the API socket it came through (path_nr) */
  int64_t slot;            /* -1: connected but not registered yet */
  int listener_mode;       /* the fast path holds a listener for the slot */
} skbox_api_conn_state;

/* skbox_registrar_run's status after skbox_registrar_pause. */
#define SKBOX_REGISTRAR_PAUSED 1

/* Any thread: make skbox_registrar_run return SKBOX_REGISTRAR_PAUSED, every API connection
 * and slot kept as they are (the loops go on serving the slots). Run it again to resume. */
void skbox_registrar_pause(skbox_registrar *r);

/* While not running: the API connections, up to max of them into out; returns how many
 * there are. */
int skbox_registrar_connections(const skbox_registrar *r, skbox_api_conn_state *out, int max);

/* Before the first run, in the new process of an upgrade: an API connection the old one
 * served, taken over as it was (no new handshake). A registered one serves its slot at
 * once; the configuration keeps it if the slot still belongs to its uid and API socket.
 * Returns -1 with *why when fd is not a UNIX seqpacket socket whose peer is uid. */
int skbox_registrar_adopt(skbox_registrar *r, const skbox_api_conn_state *c, const char **why);

/* While not running, in the old process of an upgrade: closes its copies of every API
 * connection without ending them (the new process serves them) and clears their slots. */
void skbox_registrar_release(skbox_registrar *r);

/* A slot held by a registered receiver, as skbox_registrar_held reports it. */
typedef struct {
  uint32_t slot, uid;
  int64_t since_ms; /* wall clock (ms since the epoch) of the registration */
  int listener_mode;
} skbox_registration_held;

/* Any thread: the slots held now, in slot order, at most max of them; returns how many. */
uint32_t skbox_registrar_held(skbox_registrar *r, skbox_registration_held *out, uint32_t max);

/* After run has returned (or was never called). */
void skbox_registrar_destroy(skbox_registrar *r);

#endif
