// socketbox-inetd-p SOCKET GROUP PROGRAM [ARGS...]: register as GROUP at the
// registration socket SOCKET of a socketbox running a JSON config, then start PROGRAM for
// every connection that arrives, as socketbox-inetd does. Exits 0 when the server goes away.
import { INETD_OPTIONS_USAGE, parseInetdCommandLine } from './inetd-options';
import { loadClientAddon } from './load-client-addon';
import { UsageError } from '../cli/usage-error';
import { EXIT_FAILURE, runProgram } from './program-exit';
import { prepareProgram, serveConnections } from './inetd-program';
import { warn, writeAllSync } from './write-fd';
import { parseGroupNumber } from './group-number';

const NAME = 'socketbox-inetd-p';
const REGISTRATION_TIMEOUT_MS = 10_000;
const USAGE = `Usage: ${NAME} [-L|--listener] [--max-children N] SOCKET GROUP PROGRAM [ARGS...]
  Registers as GROUP (a slot number of the server's JSON config: decimal, 0x hex or 0 octal)
  at the registration socket SOCKET ('@name' = abstract) and starts PROGRAM for each
  connection that arrives, in a new session, with the connection as stdin and stdout.
  Exits 0 when the server closes the registration, 1 when it refuses it.
  -L, --listener: listener mode (docs/fast-path.md): the server hands over a listening socket
  that the kernel fast path fills with the slot's connections, and ${NAME} accepts them
  itself; connections that do not take the fast path still arrive over the registration.
  SKBOX_STRICT_STREAM_MODE=0|1|2 (default 2) sets which descriptors are accepted.
${INETD_OPTIONS_USAGE}`;

runProgram(NAME, USAGE, (args) => {
  if (args[0] === '-h' || args[0] === '--help') {
    writeAllSync(1, USAGE + '\n');
    return 0;
  }
  const { maxChildren, listenerMode, operands } = parseInetdCommandLine(args, true);
  if (operands.length < 3) throw new UsageError('SOCKET, GROUP and PROGRAM are required');
  const [socketPath, groupText, program, ...programArgs] = operands;
  if (socketPath === '') throw new UsageError('SOCKET must not be empty');
  const group = parseGroupNumber(groupText);
  if (group === null) throw new UsageError(`GROUP: '${groupText}' is not a number 0..4294967295`);

  const prepared = prepareProgram(NAME, program, programArgs);
  if (!prepared) return EXIT_FAILURE;
  const addon = loadClientAddon();
  let socket: number;
  let listener = -1;
  try {
    if (listenerMode) ({ socket, listener } = addon.registerListenerAt(socketPath, group, REGISTRATION_TIMEOUT_MS));
    else socket = addon.registerAt(socketPath, group, REGISTRATION_TIMEOUT_MS);
  } catch (error) {
    warn(`${NAME}: registering as group ${group} at ${socketPath}: ${(error as Error).message}`);
    return EXIT_FAILURE;
  }
  // Listener mode: the kernel queues most connections on the listener; the rest still come over the registration.
  if (listenerMode && listener < 0) warn(`${NAME}: the server has no fast path; serving group ${group} over the registration`);

  serveConnections(NAME, addon, socket, socketPath, { ...prepared, maxChildren, listener: listener >= 0 ? listener : undefined }, () => {
    warn(`${NAME}: the server at ${socketPath} closed the registration; exiting`);
    process.exit(0);
  });
  return undefined;
});
