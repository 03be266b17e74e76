/**
 * socketbox started the way systemd starts it: under systemd-socket-activate
 * (Debian's systemd package), which binds and listens, waits for the first
 * connection, then execs socketbox in place (so its pid is LISTEN_PID) with
 * LISTEN_FDS/LISTEN_FDNAMES and only the variables passed with -E.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Child } from '../../testkit/child';
import { SOCKETBOX } from '../../testkit/socketbox';

export const NOTIFY_LISTENER = path.join(__dirname, 'notify_listener.py');

export interface ActivationOptions {
  /** One -l each: "[::]:PORT"; each becomes an inherited descriptor, from 3. */
  listen: string[];
  /** --fdname: one name per socket. */
  names?: string[];
  /** Variables for socketbox besides PATH (NOTIFY_SOCKET, WATCHDOG_USEC, ...). */
  env?: Record<string, string>;
}

export function startActivated(o: ActivationOptions, socketboxArgs: string[]): Child {
  const args = ['-E', 'PATH'];
  for (const [key, value] of Object.entries(o.env ?? {})) args.push('-E', `${key}=${value}`);
  for (const address of o.listen) args.push('-l', address);
  if (o.names) args.push(`--fdname=${o.names.join(':')}`);
  return new Child(spawn('systemd-socket-activate', [...args, SOCKETBOX, ...socketboxArgs], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** A datagram socket standing in for systemd's notify socket; resolves once bound. */
export async function startNotifyListener(address: string): Promise<Child> {
  const c = new Child(spawn('python3', [NOTIFY_LISTENER, address], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await c.waitForEvent((e) => e.ready === true, 10_000, `the notify listener at ${address}`);
  return c;
}

export interface Notification {
  fields: Record<string, string>;
  pid: number;
  /** CLOCK_MONOTONIC (µs) when the listener received it. */
  monotonic_usec: number;
}

export function notifications(listener: Child): Notification[] {
  return listener.events.filter((e) => 'fields' in e) as unknown as Notification[];
}
