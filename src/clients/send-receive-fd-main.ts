// send-receive-fd:
//   send-receive-fd -r FD PROGRAM [ARGS...]  receive one descriptor on socket FD, make it
//       inheritable, set SKBOX_RECEIVED_FD to its number and exec PROGRAM.
//   send-receive-fd -s FD_TO_SEND FD         send FD_TO_SEND over socket FD.
// As in the original, socket FD itself stays open in PROGRAM (it was inherited open, and a
// program may want further descriptors from it). Unlike the original, other descriptors the
// caller left open are not passed on: Node marks every inherited descriptor close-on-exec
// when it starts, and afterwards they cannot be told from Node's own.
import { getopt, optionSpecs } from '../cli/getopt';
import { UsageError } from '../cli/usage-error';
import { loadClientAddon, type ClientAddon } from './load-client-addon';
import { CLIENT_GETOPT_STYLE, EXIT_FAILURE, runProgram } from './program-exit';
import { parseFd } from './parse-fd';
import { validationLevelFromEnv } from './strict-stream-mode';
import { warn, writeAllSync } from './write-fd';

const NAME = 'send-receive-fd';
const USAGE = `Usage: ${NAME} -r FD PROGRAM [ARGS...]
       ${NAME} -s FD_TO_SEND FD`;

/** Shell conventions for a program that cannot be run. */
const EXIT_NOT_FOUND = 127;
const EXIT_CANNOT_EXECUTE = 126;

function receiveAndExec(addon: ClientAddon, socket: number, program: string[]): number {
  const level = validationLevelFromEnv(process.env, (message) => warn(`${NAME}: ${message}`));
  for (;;) {
    const received = addon.receiveFd(socket, level, true);
    if (received.rejected) warn(`${NAME}: ignored a descriptor that failed SKBOX_STRICT_STREAM_MODE validation`);
    if (received.status === 'end') {
      warn(`${NAME}: the peer of descriptor ${socket} closed before sending a descriptor`);
      return EXIT_FAILURE;
    }
    if (received.status !== 'fd') continue;
    try {
      addon.execWithReceivedFd(received.fd, [socket], program[0], program);
    } catch (error) {
      warn(`${NAME}: ${program[0]}: ${(error as Error).message}`);
      return (error as NodeJS.ErrnoException).code === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
    }
  }
}

runProgram(NAME, USAGE, (args) => {
  if (args[0] === '-h' || args[0] === '--help') {
    writeAllSync(1, USAGE + '\n');
    return 0;
  }
  const { options, operands } = getopt(args, optionSpecs('rs:'), CLIENT_GETOPT_STYLE);
  const receive = options.some((o) => o.key === 'r');
  const send = options.filter((o) => o.key === 's').pop();
  if (receive && send) throw new UsageError('-r and -s cannot be combined');
  if (!receive && !send) throw new UsageError('one of -r or -s is required');
  const addon = loadClientAddon();

  if (receive) {
    if (operands.length < 2) throw new UsageError('-r needs a socket descriptor and a program');
    const socket = parseFd(operands[0], 'FD');
    return receiveAndExec(addon, socket, operands.slice(1));
  }
  if (operands.length !== 1) throw new UsageError('-s needs exactly one socket descriptor after FD_TO_SEND');
  const toSend = parseFd(send!.value!, 'FD_TO_SEND');
  const socket = parseFd(operands[0], 'FD');
  addon.sendFds(socket, [toSend], null, true);
  return 0;
});
