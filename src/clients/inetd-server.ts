// The receive-and-spawn loop of socketbox-inetd.
//
// Receiving: the datagram socket is non-blocking and watched by libuv (a native uv_poll on
// the main loop), so the process never sits in a blocking call; each time it is readable the
// queued messages are drained without waiting. No worker thread is needed for that, and
// there is no hand-off between threads per connection.
//
// Spawning: posix_spawn from native code (vfork-like: the cost does not grow with the size
// of the Node process) rather than child_process.spawn. It returns as soon as the child has
// exec'd, never waiting for the program to run, so a slow program does not hold up the next
// connection. child_process.spawn was measured here at ~600 spawns/s of /bin/true on its own,
// below what systemd-socket-activate --inetd reaches (~1,000/s) on the same machine; the
// native path does the whole receive-and-spawn at 1,100-1,300/s. Children are reaped by the
// kernel (SIGCHLD ignored), so there is never a zombie and no per-child bookkeeping.
import * as fs from 'node:fs';
import type { ClientAddon, Received } from './load-client-addon';
import type { ValidationLevel } from './strict-stream-mode';

/** Messages taken per wake-up before yielding to the event loop (the poll is level-triggered,
 *  so whatever is left wakes us again at once). */
const DRAIN_BATCH = 64;

export interface InetdOptions {
  addon: ClientAddon;
  /** The bound datagram socket to receive on. */
  socket: number;
  level: ValidationLevel;
  /** The program file to start (a path, resolved once) and its full argv (argv[0] as given). */
  program: string;
  argv: string[];
  /** Things worth a line on stderr; the loop keeps serving after every one of them. */
  report: (message: string) => void;
  /** A receive error the loop cannot continue after (the socket is unusable). */
  fatal: (error: Error) => void;
  /** A registered (seqpacket) socket's server has gone; the loop has stopped. */
  ended?: () => void;
}

export interface RunningInetd {
  stop(): void;
}

function describeDiscards(r: Received): string[] {
  const notes: string[] = [];
  if (r.rejected) notes.push('ignored a descriptor that failed SKBOX_STRICT_STREAM_MODE validation');
  if (r.extraClosed > 0) notes.push(`closed ${r.extraClosed} extra descriptor(s) sent in one message`);
  if (r.truncated) notes.push('some descriptors of a message did not fit (or the descriptor table is full) and were dropped');
  return notes;
}

export function startInetd(options: InetdOptions): RunningInetd {
  const { addon, socket, level, program, argv, report, fatal, ended } = options;
  addon.autoreapChildren();

  const serve = (connection: number): void => {
    try {
      addon.spawnInSession(program, argv, connection);
    } catch (error) {
      report(`cannot start ${program}: ${(error as Error).message}`);
    } finally {
      fs.closeSync(connection); // the child has its own copy; ours must go at once
    }
  };

  const drain = (): void => {
    for (let i = 0; i < DRAIN_BATCH; i++) {
      let received: Received;
      try {
        received = addon.receiveFd(socket, level, false);
      } catch (error) {
        stop();
        const code = (error as NodeJS.ErrnoException).code;
        // A reset registration is the server going away, like the end of the stream.
        if (ended && (code === 'ECONNRESET' || code === 'ENOTCONN')) ended();
        else fatal(error as Error);
        return;
      }
      if (received.status === 'again') return;
      if (received.status === 'end') {
        stop();
        ended?.();
        return;
      }
      for (const note of describeDiscards(received)) report(note);
      if (received.status === 'fd') serve(received.fd);
    }
  };

  let stopped = false;
  let stopWatching: (() => void) | undefined;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    stopWatching?.();
  };
  stopWatching = addon.watchReadable(socket, (error) => {
    if (error) {
      stop();
      fatal(error);
      return;
    }
    drain();
  });
  return { stop };
}
