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
// native path does the whole receive-and-spawn at 1,100-1,300/s.
//
// Bounding: at most maxChildren programs run at once (systemd's MaxConnections=). At the
// limit the socket is taken out of the event loop, so nothing more is received: connections
// wait in the kernel's socket queue, and once that is full the sender (socketbox) waits
// within its own bounds. Nothing is refused here. Children are reaped on SIGCHLD, and each
// one reaped frees its slot and lets intake resume.
//
// Listener mode (socketbox-inetd-p --listener, docs/fast-path.md): the kernel fast path queues
// the slot's connections on a listening socket socketbox handed over at registration, and they
// are accepted here like a plain server's. It is a second intake under the same budget: at the
// limit both pause. When the registration ends, what the listener still holds is served (within
// the budget) before `ended` runs, so nothing the kernel queued for us is dropped.
import * as fs from 'node:fs';
import type { ClientAddon, Received } from './load-client-addon';
import type { ValidationLevel } from './strict-stream-mode';

/** Messages taken per wake-up before yielding to the event loop (the poll is level-triggered,
 *  so whatever is left wakes us again at once). */
const DRAIN_BATCH = 64;

/** The default of --max-children, as systemd's MaxConnections=. */
export const DEFAULT_MAX_CHILDREN = 64;

/** Longest timer libuv takes; it only keeps the process alive while intake is paused. */
const KEEP_ALIVE_MS = 2 ** 31 - 1;

export interface InetdOptions {
  addon: ClientAddon;
  /** The bound datagram socket to receive on. */
  socket: number;
  level: ValidationLevel;
  /** The program file to start (a path, resolved once) and its full argv (argv[0] as given). */
  program: string;
  argv: string[];
  /** Most programs running at once; connections beyond wait in the socket queue. */
  maxChildren: number;
  /** Things worth a line on stderr; the loop keeps serving after every one of them. */
  report: (message: string) => void;
  /** A receive error the loop cannot continue after (the socket is unusable). */
  fatal: (error: Error) => void;
  /** A registered (seqpacket) socket's server has gone; the loop has stopped. */
  ended?: () => void;
  /** Listener mode: the fast-path listening socket to accept connections from as well. */
  listener?: number;
}

export interface RunningInetd {
  /** Programs started and not yet reaped. */
  running(): number;
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
  const { addon, socket, level, program, argv, maxChildren, report, fatal, ended, listener } = options;
  const children = new Set<number>();
  let stopped = false;
  // The registration has ended: only the listener's queue is left to serve.
  let finishing = false;
  // Set while intake is paused: a stopped poll and a signal listener hold no reference on
  // the event loop, so without it the process would exit with its children still running.
  let keepAlive: NodeJS.Timeout | undefined;
  let limitReported = false;

  const serve = (connection: number): void => {
    try {
      children.add(addon.spawnInSession(program, argv, connection));
    } catch (error) {
      report(`cannot start ${program}: ${(error as Error).message}`);
    } finally {
      fs.closeSync(connection); // the child has its own copy; ours must go at once
    }
  };

  const pauseIntake = (): void => {
    if (keepAlive) return;
    watch.pause();
    listenerWatch?.pause();
    keepAlive = setInterval(() => {}, KEEP_ALIVE_MS);
    if (!limitReported) {
      limitReported = true;
      report(`${maxChildren} programs running (--max-children): further connections wait in the socket queue until one exits (logged once)`);
    }
  };

  const resumeIntake = (): void => {
    if (!keepAlive) return;
    clearInterval(keepAlive);
    keepAlive = undefined;
    if (stopped) return;
    if (!finishing) watch.resume();
    listenerWatch?.resume();
    if (finishing) acceptFromListener(); // nothing else would wake the drain once the queue is idle
  };

  const drain = (): void => {
    for (let i = 0; i < DRAIN_BATCH; i++) {
      if (children.size >= maxChildren) {
        pauseIntake();
        return;
      }
      let received: Received;
      try {
        received = addon.receiveFd(socket, level, false);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // A reset registration is the server going away, like the end of the stream.
        if (ended && (code === 'ECONNRESET' || code === 'ENOTCONN')) registrationEnded();
        else {
          stop();
          fatal(error as Error);
        }
        return;
      }
      if (received.status === 'again') return;
      if (received.status === 'end') {
        registrationEnded();
        return;
      }
      for (const note of describeDiscards(received)) report(note);
      if (received.status === 'fd') serve(received.fd);
    }
  };

  /** Accepts from the fast-path listener within the budget, one batch per wake-up. */
  const acceptFromListener = (): void => {
    if (listener === undefined || stopped) return;
    for (let i = 0; i < DRAIN_BATCH; i++) {
      if (children.size >= maxChildren) {
        pauseIntake();
        return;
      }
      let connection: number;
      try {
        connection = addon.acceptConnection(listener);
      } catch (error) {
        report(`accepting on the fast-path listener: ${(error as Error).message}`);
        connection = -2;
      }
      if (connection < 0) {
        // -1: nothing waits; -2: nothing more can come (socketbox took the slot back).
        if (connection === -2) listenerWatch?.stop();
        if (finishing) finish();
        return;
      }
      serve(connection);
    }
  };

  /** The server closed the registration: serve what the listener still holds, then end. */
  const registrationEnded = (): void => {
    watch.stop();
    if (listener === undefined) return finish();
    finishing = true;
    acceptFromListener();
  };

  const finish = (): void => {
    stop();
    ended?.();
  };

  const reap = (): void => {
    for (const pid of addon.reapChildren()) children.delete(pid);
    if (children.size < maxChildren) resumeIntake();
  };

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    watch.stop();
    listenerWatch?.stop();
    resumeIntake(); // drops the keep-alive; the watches stay stopped
  };

  // Listening before the first spawn: no exit can go unnoticed.
  process.on('SIGCHLD', reap);
  const watch = addon.watchReadable(socket, (error) => {
    if (error) {
      stop();
      fatal(error);
      return;
    }
    drain();
  });
  const listenerWatch =
    listener === undefined
      ? undefined
      : addon.watchReadable(listener, (error) => {
          if (error) {
            report(`the fast-path listener failed: ${error.message}`);
            listenerWatch?.stop();
            if (finishing) finish();
            return;
          }
          acceptFromListener();
        });
  return { running: () => children.size, stop };
}
