// The test receiver, fd_tool.py (docs/testing.md: "Receivers"), started as a Child.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Child } from './child';
import { projectRoot } from './project-root';

export const FD_TOOL = path.join(projectRoot, 'testkit', 'fd_tool.py');

/** fd_tool.py receive PATH NAME — resolves once the socket is bound. */
export async function startReceiver(socketPath: string, name: string): Promise<Child> {
  const c = startFdTool(['receive', socketPath, name]);
  await c.waitForEvent((e) => e.ready === true, 10_000, `receiver ${name} to bind`);
  return c;
}

export function startFdTool(args: string[]): Child {
  return new Child(spawn('python3', [FD_TOOL, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/**
 * fd_tool.py drain PATH NAME: a receiver that answers each connection "ok NAME"
 * (rate per second, 0 = unlimited; hold = read nothing until SIGUSR1). Resolves once bound.
 */
export async function startDrainReceiver(socketPath: string, name: string, opts: { rate?: number; hold?: boolean } = {}): Promise<Child> {
  const c = startFdTool(['drain', socketPath, name, String(opts.rate ?? 0), ...(opts.hold ? ['hold'] : [])]);
  await c.waitForEvent((e) => e.ready === true, 10_000, `receiver ${name}`);
  return c;
}

/** Stops a drain receiver and returns its final report: how many it answered, and whether in order. */
export async function stopDrainReceiver(c: Child): Promise<{ count: number; ordered: boolean }> {
  await c.stop();
  const r = c.events.find((e) => 'count' in e) as { count: number; ordered: boolean } | undefined;
  if (!r) throw new Error(`no report from receiver; stderr ${c.stderr}`);
  return r;
}
