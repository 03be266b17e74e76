// Listener mode (docs/fast-path.md): the kernel fast path queues the slot's connections on a
// listening socket socketbox handed over at registration; the receiver accepts them itself,
// like a plain server, and starts PROGRAM per connection. Connections that do not take the
// fast path still arrive over the registration connection (serveConnections).
import * as fs from 'node:fs';
import type { ClientAddon } from './load-client-addon';

/** Connections accepted per wake-up before yielding to the event loop (level-triggered). */
const ACCEPT_BATCH = 64;

export interface ListenerServer {
  /** Accept what is still queued (the registration ended), then stop watching. */
  drainAndStop(): void;
}

export function serveListener(addon: ClientAddon, listener: number, spawn: (connection: number) => void, report: (message: string) => void): ListenerServer {
  let stopWatching: (() => void) | undefined;
  const stop = (): void => {
    stopWatching?.();
    stopWatching = undefined;
  };
  const serve = (connection: number): void => {
    try {
      spawn(connection);
    } finally {
      fs.closeSync(connection); // the child has its own copy
    }
  };
  /** 'more': the batch was full; 'empty': nothing waits; 'closed': nothing more can come. */
  const acceptBatch = (): 'more' | 'empty' | 'closed' => {
    for (let i = 0; i < ACCEPT_BATCH; i++) {
      let connection: number;
      try {
        connection = addon.acceptConnection(listener);
      } catch (error) {
        report(`accepting on the fast-path listener: ${(error as Error).message}`);
        return 'closed';
      }
      if (connection === -1) return 'empty';
      if (connection === -2) return 'closed'; // socketbox took the slot back
      serve(connection);
    }
    return 'more';
  };
  stopWatching = addon.watchReadable(listener, (error) => {
    if (error || acceptBatch() === 'closed') stop();
  });
  return {
    drainAndStop: () => {
      stop();
      while (acceptBatch() === 'more');
    },
  };
}
