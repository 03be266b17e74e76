/** End-to-end tests run in a private network namespace: see load-tests/netns.ts. */
import { execFileSync } from 'node:child_process';
import { enterPrivateNetns } from '../../load-tests/netns';

export { CLIENT_PREFIX, SERVER_PREFIX } from '../../load-tests/netns';

/** Call first thing in a test file; client addresses fd00:1::5, ::6, ::7 by default. */
export function enterTestNetns(clientAddresses: number[] = [5, 6, 7]): void {
  enterPrivateNetns(clientAddresses);
}

/** Makes an IPv6 address the namespace's own (after enterTestNetns): clients may bind it, servers be dialled at it. */
export function addLocalAddress(address: string): void {
  execFileSync('ip', ['-6', 'addr', 'add', `${address}/128`, 'dev', 'lo', 'nodad'], { stdio: ['ignore', 'ignore', 'inherit'] });
}
