/** End-to-end tests run in a private network namespace: see load-tests/netns.ts. */
import { enterPrivateNetns } from '../../load-tests/netns';

export { CLIENT_PREFIX, SERVER_PREFIX } from '../../load-tests/netns';

/** Call first thing in a test file; client addresses fd00:1::5, ::6, ::7 by default. */
export function enterTestNetns(clientAddresses: number[] = [5, 6, 7]): void {
  enterPrivateNetns(clientAddresses);
}
