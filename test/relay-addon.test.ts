// The relay binding owns the source descriptor it is given: createRelay closes it whatever
// fails (a bad option, a descriptor that is not the right kind of socket), and destroyRelay
// closes it after use. Counted in /proc/self/fd: nothing is left behind.
import t from 'tap';
import * as fs from 'node:fs';
import { loadClientAddon } from '../src/clients/load-client-addon';
import { relayAddon, type NativeRelayConfig } from '../src/relay/relay-addon';
import { openFds } from '../testkit/proc-fds';

const addon = relayAddon();
const ROUNDS = 20;

function config(sourceFd: number, changes: Partial<NativeRelayConfig> = {}): NativeRelayConfig {
  return {
    sourceFd,
    sourceKind: 'listen',
    validationLevel: 2,
    address: Buffer.alloc(16),
    port: 80,
    scopeId: 0,
    nat64: false,
    nat64Wide: false,
    nat64Prefix: Buffer.alloc(16),
    proxyVersion: 0,
    connectTimeoutMs: 1000,
    idleTimeoutMs: 1000,
    maxConnections: 0,
    logFd: -1,
    errorFd: -1,
    ...changes,
  };
}

function isOpen(fd: number): boolean {
  try {
    fs.fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

const failures: Array<[string, () => number, Partial<NativeRelayConfig>, RegExp]> = [
  ['a file is not a socket', () => fs.openSync('/dev/null', 'r'), {}, /descriptor N: not a socket/],
  ['a datagram socket cannot listen', () => loadClientAddon().openDatagramSocket(), {}, /not a stream socket/],
  ['a bad address option', () => fs.openSync('/dev/null', 'r'), { address: Buffer.alloc(3) }, /address must be a N-byte Buffer/],
  ['a bad source kind', () => fs.openSync('/dev/null', 'r'), { sourceKind: 'other' as 'listen' }, /sourceKind: 'listen' or 'receive'/],
  ['a negative idle timeout', () => fs.openSync('/dev/null', 'r'), { idleTimeoutMs: -1 }, /idleTimeoutMs/],
];

for (const [what, open, changes, message] of failures) {
  t.test(`createRelay fails (${what}): the source descriptor is closed`, async (t) => {
    const before = openFds(process.pid).length;
    const errors = new Set<string>();
    const leaked: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const fd = open();
      try {
        addon.createRelay(config(fd, changes));
        errors.add('(created)');
      } catch (error) {
        errors.add((error as Error).message.replace(/\d+/g, 'N'));
      }
      if (isOpen(fd)) leaked.push(fd);
    }
    const after = openFds(process.pid).length;
    for (const fd of leaked) fs.closeSync(fd);
    t.equal(errors.size, 1, `one error every time: ${[...errors].join(' | ')}`);
    t.match([...errors][0], message);
    t.same(leaked, [], 'no source descriptor left open');
    t.equal(after, before, `descriptors open before and after ${ROUNDS} failures: ${before} -> ${after}`);
  });
}

t.test('a relay created and destroyed (never run) closes its source and everything it opened', async (t) => {
  const before = openFds(process.pid).length;
  for (let i = 0; i < ROUNDS; i++) {
    const fd = addon.bindReceiveSocket(`@skbox-relay-addon-test-${process.pid}`);
    addon.destroyRelay(addon.createRelay(config(fd, { sourceKind: 'receive' })));
  }
  const after = openFds(process.pid).length;
  t.equal(after, before, `descriptors open before and after ${ROUNDS} relays: ${before} -> ${after}`);
});
