/** The kernel fast path's bindings (native/fastpath_bindings.cc); merged into ServerAddon. */
export interface FastpathSlotCounters {
  slot: number;
  /** Connections the program put into the slot's listener. */
  assigned: number;
  /** Of those, taken back from the queue after the receiver had gone (refused as no_receiver). */
  reclaimed: number;
}

export interface FastpathCounters {
  /** Per decision of the program (enum skbox_fp_decision), summed over CPUs. */
  decisions: Record<string, number>;
  /** Every slot that has had a listener since start-up. */
  slots: FastpathSlotCounters[];
  /** Listener-mode registrations granted with a listener, and without one (fast path unable). */
  grants: { listener: number; without_listener: number };
}

declare module '../native/server-addon' {
  interface ServerAddon {
    /** Load the BPF object and attach its sk_lookup program to this thread's network namespace; throws with .errno.
     *  verbose: libbpf's messages (the verifier's log among them) go to stderr. */
    fastpathStart(objectPath: string, verbose?: boolean): void;
    fastpathActive(): boolean;
    /** Detach and release: every connection goes through the accept loops again. */
    fastpathStop(): void;
    /** socketbox's listeners in incoming order; returns how many are in the attached namespace. */
    fastpathSetListeners(fds: number[]): number;
    /** true: the program evaluates this table; false: beyond its limits, it passes every connection. */
    fastpathPublish(table: Buffer): boolean;
    fastpathCounters(): FastpathCounters;
    /** Test support: a slot's listener (owned by the fast path), and its removal. */
    fastpathOpenSlot(slot: number): number;
    fastpathCloseSlot(slot: number, reclaim: boolean): void;
    /** Test support: one BPF_PROG_TEST_RUN; tuple as in docs/table-format.md. */
    fastpathTestRun(tuple: Buffer, ipv4: boolean): { decision: string; cookie: bigint };
    /** SO_COOKIE of a socket. */
    socketCookie(fd: number): bigint;
  }
}
