// socketbox-relay -R SOCKET:SLOT (docs/fast-path.md): registers for SLOT in listener mode and
// runs two relay loops with the same backend: one accepts on the listening socket the grant
// carries (the kernel fast path's connections), one receives over the registration connection
// (the connections that did not take the fast path, or all of them when socketbox has none).
// The end of the registration ends both.
import { loadClientAddon } from '../clients/load-client-addon';
import { nativeConfig } from './native-config';
import type { RelayAddon } from './relay-addon';
import type { RelayOptions } from './relay-options';
import { runRelayThread } from './relay-thread';

const REGISTRATION_TIMEOUT_MS = 10_000;

export function runRegistered(addon: RelayAddon, options: RelayOptions, level: number, fail: (message: string) => void): void {
  if (options.source.kind !== 'register') throw new Error('runRegistered needs -R');
  const { path, slot } = options.source;
  let registered: { socket: number; listener: number };
  try {
    registered = loadClientAddon().registerListenerAt(path, slot, REGISTRATION_TIMEOUT_MS);
  } catch (error) {
    fail(`registering as slot ${slot} at ${path}: ${(error as Error).message}`);
    return;
  }
  let fastPath: number | undefined;
  let overRegistration: number;
  try {
    if (registered.listener >= 0) fastPath = addon.createRelay(nativeConfig(options, { fd: registered.listener, kind: 'listen' }, level));
    overRegistration = addon.createRelay(nativeConfig(options, { fd: registered.socket, kind: 'receive' }, level));
  } catch (error) {
    fail((error as Error).message);
    if (fastPath !== undefined) addon.destroyRelay(fastPath);
    return;
  }
  if (fastPath === undefined) process.stderr.write(`socketbox-relay: the server has no fast path; relaying slot ${slot} over the registration\n`);
  runRelayThread(addon, overRegistration, fail, () => {
    if (fastPath !== undefined) addon.stopRelay(fastPath);
  });
  if (fastPath !== undefined) runRelayThread(addon, fastPath, fail);
}
