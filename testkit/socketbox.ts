// Starting the socketbox server for a test (compiled: dist/ must be built).
import { spawn } from 'node:child_process';
import { Child } from './child';
import { binPath } from './project-root';

export const SOCKETBOX = binPath('socketbox');

/** socketbox ARGS..., with extraFds as its descriptors 3, 4, ... */
export function startSocketbox(args: string[], extraFds: number[] = []): Child {
  return new Child(spawn(SOCKETBOX, args, { stdio: ['ignore', 'pipe', 'pipe', ...extraFds] }));
}
