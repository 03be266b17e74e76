/** Mirrors the SKBOX_LOOP_* statuses of native/server/accept_loop.h. */
export const LOOP_STATUS = {
  stopped: 0,
  acceptFailed: 10,
  peerGone: 11,
  /** -P: the registration server closed our registration. */
  upstreamGone: 12,
  /** Another thread still runs the loop (a worker that died inside it): reclaim it first. */
  busy: 98,
  /** The loop left as if its worker thread had died (test support); run it again to resume. */
  abandoned: 99,
} as const;
