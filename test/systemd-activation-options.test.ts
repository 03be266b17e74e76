/**
 * Flags alongside socket activation, end to end under systemd-socket-activate
 * in a private network namespace: flags that would bind are refused (exit 2),
 * -b re-sets the inherited socket's backlog while without it the socket's own
 * backlog stays, a socket that is not TCP is refused by name, and -e hands the
 * socket over with the LISTEN_* variables gone.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { talk } from './helpers/client';
import { startActivated } from './helpers/socket-activate';

enterTestNetns();

let nextPort = 8950;

/** systemd-socket-activate starts socketbox on the first connection: make one and leave it waiting. */
function trigger(port: number): net.Socket {
  const s = net.connect({ host: '2001:db8::1', port });
  s.on('error', () => undefined); // reset when socketbox exits: expected
  return s;
}

/** The backlog the kernel reports for the listener on port (ss: Send-Q of a LISTEN socket). */
function backlogOf(port: number): number {
  return Number(execFileSync('ss', ['-Hltn', `sport = :${port}`]).toString().trim().split(/\s+/)[2]);
}

t.test('flags that would bind are refused with exit 2 and say why', async (t) => {
  for (const args of [['-l', '::', '-p', '80'], ['-r'], ['-t'], ['-s', '3']]) {
    const port = nextPort++;
    const server = startActivated({ listen: [`[::]:${port}`] }, [...args, '-S', '@nowhere']);
    t.teardown(() => stopAll([server]));
    await waitForListening(port);
    const conn = trigger(port);
    t.equal(await server.wait(), 2, `${args.join(' ')}: exit 2`);
    conn.destroy();
    t.match(server.stderr, new RegExp(`socketbox: ${args.filter((a) => a.startsWith('-')).join(', ')}: not allowed with sockets inherited from systemd \\(LISTEN_FDS=1\\)`), 'names the flags');
    t.match(server.stderr, 'the socket unit sets the address and socket options (ListenStream=, Transparent=, FreeBind=, ReusePort=); only -b applies', 'and says what to do instead');
  }
});

t.test('-b re-sets the inherited backlog; without -b the socket keeps its own', async (t) => {
  const somaxconn = '/proc/sys/net/core/somaxconn';
  const saved = fs.readFileSync(somaxconn, 'utf8');
  t.teardown(() => fs.writeFileSync(somaxconn, saved));
  for (const [args, expected] of [[[], 100], [['-b', '17'], 17]] as const) {
    const port = nextPort++;
    // systemd-socket-activate listens with SOMAXCONN, capped by the sysctl (per namespace) to
    // 100; lifted again afterwards, so a listen(4096) by socketbox would show as 4096.
    fs.writeFileSync(somaxconn, '100');
    const server = startActivated({ listen: [`[::]:${port}`] }, [...args, '-S', '@nowhere']);
    t.teardown(() => stopAll([server]));
    await waitForListening(port);
    fs.writeFileSync(somaxconn, saved);
    t.equal(backlogOf(port), 100, 'the inherited socket listens with backlog 100');
    const conn = trigger(port);
    await waitFor('socketbox to serve', () => /listening on fd 3/.test(server.stderr), 15_000);
    t.equal(backlogOf(port), expected, args.length ? '-b 17: the backlog is 17' : 'no -b: still 100');
    conn.destroy();
    t.equal(await server.stop(), 0, 'SIGTERM: exit 0');
  }
});

t.test('an inherited socket socketbox cannot serve is a startup error naming it', async (t) => {
  const unixPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-activation-')), 'stream.sock');
  const server = startActivated({ listen: [unixPath], names: ['local'] }, ['-S', '@nowhere']);
  t.teardown(() => stopAll([server]));
  await waitFor('the UNIX listener', () => fs.existsSync(unixPath));
  const conn = net.connect(unixPath).on('error', () => undefined);
  t.equal(await server.wait(), 1, 'exit 1');
  conn.destroy();
  t.match(server.stderr, 'socketbox: error: systemd socket 3 (local) is not a TCP (IPv4/IPv6) socket', 'names the socket and the problem');
});

t.test('-e hands the inherited socket to the program, without the LISTEN_* variables', async (t) => {
  const port = nextPort++;
  const program = [
    'import json, os, socket',
    'seen = {k: v for k, v in os.environ.items() if k.startswith(("LISTEN_", "SKBOX_"))}',
    's = socket.socket(fileno=int(os.environ["SKBOX_LISTEN_FD"]))',
    'c, _ = s.accept()',
    'c.sendall((json.dumps(seen) + "\\n").encode())',
  ].join('\n');
  const server: Child = startActivated({ listen: [`[::]:${port}`], names: ['web'] }, ['-e', 'python3', '-c', program]);
  t.teardown(() => stopAll([server]));
  await waitForListening(port);
  const r = await talk('2001:db8::1', port);
  t.same(JSON.parse(r.greeting ?? 'null'), { SKBOX_LISTEN_FD: '3' }, 'the program accepted on fd 3 and sees no LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES');
  t.equal(await server.wait(), 0, 'the program ran as the same process and exited 0');
});
