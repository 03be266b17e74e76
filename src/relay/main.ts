// socketbox-relay: forward each received or accepted connection to a TCP or UNIX
// stream server. The main thread parses flags, opens the source, and handles signals; the
// relay loop runs in native code on a worker thread.
import * as fs from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { UsageError } from '../cli/usage-error';
import { validationLevelFromEnv } from '../clients/strict-stream-mode';
import { nativeConfig } from './native-config';
import { relayAddon } from './relay-addon';
import { parseRelayOptions } from './relay-options';
import { runRelayThread } from './relay-thread';
import { runRegistered } from './listener-mode';
import { PROGRAM, USAGE } from './usage';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

function fail(message: string, status = EXIT_FAILURE): void {
  process.stderr.write(`${PROGRAM}: ${message}\n`);
  process.exitCode = status;
}

function describeOpenError(what: string, error: unknown): string {
  const errno = (error as { errno?: number }).errno;
  const code = typeof errno === 'number' && errno > 0 ? getSystemErrorName(-errno) : '';
  const hint =
    code === 'EADDRINUSE' ? ' (another receiver is bound there)'
    : code === 'ENOTSOCK' ? ' (a file that is not a socket is in the way)'
    : '';
  return `${what}: ${(error as Error).message}${hint}`;
}

function main(): void {
  const addon = relayAddon();
  let options;
  try {
    options = parseRelayOptions(process.argv.slice(2), (name) => addon.interfaceIndex(name));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    fail(`${error.message}\nTry '${PROGRAM} --help'.`, EXIT_USAGE);
    return;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const level = validationLevelFromEnv(process.env, (message) => process.stderr.write(`${PROGRAM}: ${message}\n`));

  if (options.congestion) {
    try {
      addon.checkCongestion(options.congestion);
    } catch (error) {
      const errno = (error as { errno?: number }).errno ?? 0;
      const why = errno > 0 && getSystemErrorName(-errno) === 'ENOENT' ? 'not available in this kernel' : 'not allowed here';
      fail(`-C ${options.congestion}: ${why} (see /proc/sys/net/ipv4/tcp_available_congestion_control and tcp_allowed_congestion_control)`);
      return;
    }
  }

  if (options.source.kind === 'register') return runRegistered(addon, options, level, fail);

  let source: { fd: number; kind: 'listen' | 'receive'; unlinkPath?: string };
  if (options.source.kind === 'bind') {
    try {
      source = { fd: addon.bindReceiveSocket(options.source.path), kind: 'receive', unlinkPath: options.source.path };
    } catch (error) {
      fail(describeOpenError(`cannot bind ${options.source.path}`, error));
      return;
    }
  } else {
    source = { fd: options.source.fd, kind: options.source.kind };
  }

  let relayId: number;
  try {
    relayId = addon.createRelay(nativeConfig(options, source, level));
  } catch (error) {
    if (source.unlinkPath) {
      // Our own socket: nothing is wrong with it, so the failure is elsewhere; leave no file.
      if (!source.unlinkPath.startsWith('@')) fs.rmSync(source.unlinkPath, { force: true });
      fail((error as Error).message);
      return;
    }
    const how = source.kind === 'listen' ? 'a listening socket' : 'a receiving UNIX socket';
    fail(`${describeOpenError('cannot use the source', error)}; -l FD must be ${how} (or use -s PATH)`);
    return;
  }

  runRelayThread(addon, relayId, fail);
}

main();
