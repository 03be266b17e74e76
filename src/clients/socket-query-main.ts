// socket-query [-l[a|p]] [-r[a|p]] [-R] [-f FD]: print the addresses of an IP
// socket, by default of stdin (as socketbox-inetd gives its programs). IPv4 sockets, which
// the original refused, are printed IPv4-mapped (::ffff:a.b.c.d), as socketbox sees them.
import { loadClientAddon } from './load-client-addon';
import { runProgram } from './program-exit';
import { formatBothEnds, formatEndpoint } from './socket-query-format';
import { parseSocketQueryArgs } from './socket-query-options';
import { writeAllSync } from './write-fd';

const NAME = 'socket-query';
const USAGE = `Usage: ${NAME} [-l[a|p]] [-r[a|p]] [-R] [-f SOCKET_FD]
  -l / -r  local / remote end (default: both, local first); a = address only, p = port only
  -R       raw hex   -f FD  the socket (default 0)`;

runProgram(NAME, USAGE, (args) => {
  if (args[0] === '-h' || args[0] === '--help') {
    writeAllSync(1, USAGE + '\n');
    return 0;
  }
  const query = parseSocketQueryArgs(args);
  const addon = loadClientAddon();
  let line: string;
  if (query.end === undefined) {
    const remote = addon.socketEndpoint(query.fd, true);
    const local = addon.socketEndpoint(query.fd, false);
    line = formatBothEnds(local, remote, query.raw);
  } else {
    const endpoint = addon.socketEndpoint(query.fd, query.end === 'remote');
    line = formatEndpoint(endpoint, query.part, query.raw);
  }
  writeAllSync(1, line + '\n');
  return 0;
});
