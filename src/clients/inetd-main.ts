// socketbox-inetd SOCKET PROGRAM [ARGS...]: bind a datagram socket at SOCKET and
// start PROGRAM for every connection received on it, in a new session, with the connection
// as stdin and stdout.
import { INETD_OPTIONS_USAGE, parseInetdCommandLine } from './inetd-options';
import { loadClientAddon } from './load-client-addon';
import { UsageError } from '../cli/usage-error';
import { EXIT_FAILURE, runProgram } from './program-exit';
import { prepareProgram, serveConnections } from './inetd-program';
import { warn, writeAllSync } from './write-fd';

const NAME = 'socketbox-inetd';
const USAGE = `Usage: ${NAME} [--max-children N] SOCKET PROGRAM [ARGS...]
  Receives connections on the datagram socket SOCKET ('@name' = abstract; created with mode
  0660 whatever the umask, never chmod'ed afterwards; a stale socket file is replaced) and
  starts PROGRAM for each, in a new session, with
  the connection as stdin and stdout. SKBOX_STRICT_STREAM_MODE=0|1|2 (default 2) sets which
  descriptors are accepted.
${INETD_OPTIONS_USAGE}`;

runProgram(NAME, USAGE, (args) => {
  if (args[0] === '-h' || args[0] === '--help') {
    writeAllSync(1, USAGE + '\n');
    return 0;
  }
  const { maxChildren, operands } = parseInetdCommandLine(args);
  if (operands.length < 2) throw new UsageError('SOCKET and PROGRAM are required');
  const [socketPath, program, ...programArgs] = operands;
  if (socketPath === '') throw new UsageError('SOCKET must not be empty');

  const prepared = prepareProgram(NAME, program, programArgs);
  if (!prepared) return EXIT_FAILURE;
  const addon = loadClientAddon();
  let socket: number;
  try {
    socket = addon.bindDatagramSocket(socketPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOTSOCK' ? 'exists and is not a socket'
      : code === 'EADDRINUSE' ? 'is in use by a running receiver'
      : (error as Error).message;
    warn(`${NAME}: ${socketPath}: ${why}`);
    return EXIT_FAILURE;
  }

  serveConnections(NAME, addon, socket, socketPath, { ...prepared, maxChildren });
  return undefined;
});
