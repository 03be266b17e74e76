// nginx from Debian's packages (nginx-light), unmodified, behind socketbox through
// libsocketbox-preload: `listen [fe8f::1:2]:80` becomes a UNIX datagram socket socketbox
// sends [2001:db8::3]:80 connections to, while an ordinary `listen [::1]:PORT` in the same
// server keeps working as plain TCP. The access log shows the true client addresses.
import { enterTestNetns } from '../testkit/netns';
enterTestNetns([5, 6, 7]);

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { waitForListening } from '../testkit/proc-tcp';
import { freePort } from '../testkit/free-port';
import { curl, Daemon, startSocketbox, waitForUnixSocket, writeRecordFile } from './helpers/preload-fixtures';
import { tempDir } from '../testkit/temp-dir';
import { runWithSocketbox, withoutSkboxSettings } from './helpers/preload-probe';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));

t.test('nginx serves a page through socketbox and on plain TCP', async (t) => {
  if (!NGINX) {
    t.fail('nginx is not installed (apt-get install -y --no-install-recommends nginx-light)');
    return;
  }
  const { dir } = tempDir();
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  fs.writeFileSync(path.join(www, 'index.html'), 'hello from nginx\n');
  const nginxSocket = path.join(dir, 'nginx-_@SB_.sock');
  writeRecordFile(dir, 1, { 2: nginxSocket });
  const boundSocket = path.join(dir, 'nginx-00080.sock');
  const plainPort = await freePort('::1');

  // Everything nginx writes stays in the temporary prefix.
  const config = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    config,
    `daemon off;
master_process on;
worker_processes 2;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen [fe8f::1:2]:80;
    listen [::1]:${plainPort};
    root ${www};
  }
}
`,
  );

  const socketbox = await startSocketbox(
    ['max-rules:1', 'rule-set:0', 'size:4', `ip:2001:db8::3 port:80 jump-unix:${boundSocket}`, 'default fail', ''].join('\n'),
    dir,
  );
  t.teardown(() => socketbox.stop());

  const nginx = Daemon.start(
    [runWithSocketbox, NGINX, '-p', dir, '-c', config, '-e', path.join(dir, 'error.log')],
    { ...withoutSkboxSettings(process.env), SKBOX_DIRECTORY_ROOT: dir },
  );
  t.teardown(() => nginx.stop());
  await waitForUnixSocket(boundSocket, nginx.child);
  await waitForListening(plainPort);

  for (const client of ['fd00:1::5', 'fd00:1::6', 'fd00:1::7']) {
    t.equal(await curl('http://[2001:db8::3]/', client), 'hello from nginx\n', `page through socketbox from ${client}`);
  }
  t.equal(await curl(`http://[::1]:${plainPort}/`, '::1'), 'hello from nginx\n', 'page on the ordinary TCP listener');

  const accessLog = path.join(dir, 'access.log');
  const logged = (client: string) => fs.existsSync(accessLog) && fs.readFileSync(accessLog, 'utf8').includes(`${client} - - [`);
  for (const client of ['fd00:1::5', 'fd00:1::6', 'fd00:1::7', '::1']) {
    await waitFor(`an access log line for ${client}`, () => logged(client), 5_000).catch(() => undefined);
    t.ok(logged(client), `access log shows client ${client}`);
  }
  const errors = fs.readFileSync(path.join(dir, 'error.log'), 'utf8');
  t.notMatch(errors, /\[(alert|crit|emerg)\]/, 'nothing alarming in the error log');
});
