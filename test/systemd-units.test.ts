/**
 * The unit files in systemd/: every one passes `systemd-analyze verify` with
 * no complaint (unknown keys and bad values are only warnings there, so any
 * output fails the test) on the systemd of this machine (252 on Debian 12:
 * no notify-reload there), and socketbox.service is Type=notify with a
 * synchronous reload through its control socket, hardened as promised. verify checks that ExecStart= binaries exist, so the
 * units are verified from a temporary copy pointing at this checkout's bin/.
 * The TPROXY unit and the socket drop-in agree with examples/tproxy.nft
 * (test/tproxy.test.ts runs the unit's commands for real).
 */
import t, { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../testkit/project-root';
import { nftDefines, unitSection } from './helpers/unit-file';

const UNITS_DIR = path.join(projectRoot, 'systemd');
const INSTALLED_BIN = '/usr/local/bin/';
const units = fs.readdirSync(UNITS_DIR).filter((f) => /\.(service|socket)$/.test(f));
const TPROXY_UNIT = 'socketbox-tproxy.service';
const TPROXY_DROP_IN = path.join('socketbox.socket.d', 'tproxy.conf');
const RULESET = path.join(projectRoot, 'examples', 'tproxy.nft');

const CONTROL_SOCKET = '/run/socketbox/control';
const FASTPATH_DROP_IN = 'socketbox-fastpath.conf';
/** An instance of the AnyIP template, as `systemd-escape 2001:db8::/64` names it. */
const ANYIP_INSTANCE = 'socketbox-anyip@2001:db8::-64.service';

/** key -> values of one section of a unit file (or drop-in) in systemd/. */
function section(file: string, name: string): Map<string, string[]> {
  return unitSection(path.join(UNITS_DIR, file), name);
}

/** A oneshot that stays active (stop undoes it) and runs before the socket and the service. */
function oneshotBeforeTheSocket(t: Test, file: string): void {
  const unit = section(file, 'Unit');
  const service = section(file, 'Service');
  t.same(service.get('Type'), ['oneshot'], `${file}: Type=oneshot`);
  t.same(service.get('RemainAfterExit'), ['yes'], `${file}: RemainAfterExit=yes: active while in place, stop removes`);
  t.same(unit.get('DefaultDependencies'), ['no'], `${file}: no default dependencies: they would order it after basic.target, the socket before it`);
  t.match(unit.get('Before')?.join(' '), /\bsocketbox\.socket\b.*\bsocketbox\.service\b/, `${file}: Before=socketbox.socket socketbox.service`);
}

t.test('the expected unit files are there', async (t) => {
  t.same(
    units.sort(),
    [
      'socketbox-anyip@.service',
      'socketbox-inetd@.service',
      'socketbox-relay@.service',
      'socketbox-tproxy.service',
      'socketbox.service',
      'socketbox.socket',
    ],
    'the socket, the service, the two client templates, the TPROXY loader and the AnyIP route',
  );
  t.same(fs.readdirSync(path.join(UNITS_DIR, 'socketbox.socket.d')), ['tproxy.conf'], 'one drop-in: the socket for TPROXY');
});

t.test('systemd-analyze verify passes on every unit, without a warning', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-units-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // All units in one directory: verify resolves Requires=/Before= against it.
  for (const unit of units) {
    const text = fs.readFileSync(path.join(UNITS_DIR, unit), 'utf8');
    fs.writeFileSync(path.join(dir, unit), text.split(INSTALLED_BIN).join(path.join(projectRoot, 'bin') + '/'));
  }
  // `FILE:NAME` verifies FILE as the unit NAME (systemd >= 250).
  const verify = (unit: string, what: string, asName?: string): void => {
    const arg = path.join(dir, unit) + (asName ? `:${asName}` : '');
    const r = spawnSync('systemd-analyze', ['verify', arg], { encoding: 'utf8', timeout: 30_000 });
    const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
    t.equal(r.status, 0, `${what}: verify exits 0`);
    t.same(complaints, [], `${what}: nothing to complain about`);
  };
  for (const unit of units) verify(unit, unit);
  // verify reads drop-ins from beside the unit: the socket for TPROXY, as installed.
  fs.mkdirSync(path.join(dir, 'socketbox.socket.d'));
  fs.copyFileSync(path.join(UNITS_DIR, TPROXY_DROP_IN), path.join(dir, TPROXY_DROP_IN));
  verify('socketbox.socket', `socketbox.socket with ${TPROXY_DROP_IN}`);
  // The fast-path drop-in, installed beside the service.
  fs.mkdirSync(path.join(dir, 'socketbox.service.d'));
  fs.copyFileSync(path.join(UNITS_DIR, FASTPATH_DROP_IN), path.join(dir, 'socketbox.service.d', 'fastpath.conf'));
  verify('socketbox.service', `socketbox.service with ${FASTPATH_DROP_IN}`);
  // A template is verified as one of its instances, here a prefix.
  verify('socketbox-anyip@.service', ANYIP_INSTANCE, ANYIP_INSTANCE);
});

t.test('every ExecStart= runs an installed program from /usr/local/bin', async (t) => {
  for (const unit of units.filter((u) => u.endsWith('.service') && u !== TPROXY_UNIT && !u.startsWith('socketbox-anyip@'))) {
    for (const exec of section(unit, 'Service').get('ExecStart') ?? []) t.match(exec, new RegExp(`^${INSTALLED_BIN}socketbox`), unit);
  }
});

t.test('socketbox.service: notify, reload through the control socket, a watchdog, a dedicated user, hardened', async (t) => {
  const service = section('socketbox.service', 'Service');
  const one = (key: string): string | undefined => service.get(key)?.at(-1);
  t.equal(one('Type'), 'notify', 'Type=notify: systemd 252 knows it (notify-reload needs 253)');
  t.match(one('ExecStart'), new RegExp(`^${INSTALLED_BIN}socketbox .*--control ${CONTROL_SOCKET} `), 'ExecStart= opens the control socket');
  t.same(service.get('ExecReload'), [`${INSTALLED_BIN}socketbox ctl -c ${CONTROL_SOCKET} reload`], 'ExecReload= reloads through it, synchronously');
  t.equal(one('RuntimeDirectory'), 'socketbox', 'RuntimeDirectory=socketbox: /run/socketbox, where the control socket lives');
  t.equal(one('RuntimeDirectoryMode'), '0700', 'only the service user may enter it');
  t.ok(one('WatchdogSec'), 'WatchdogSec= is set');
  t.equal(one('DynamicUser'), 'yes', 'DynamicUser=yes');
  t.equal(one('User'), 'socketbox', 'User=socketbox');
  t.match(one('LimitNOFILE'), /^\d+$/, 'LimitNOFILE= is set');
  t.equal(one('CapabilityBoundingSet'), '', 'no capability: systemd binds the socket');
  t.equal(one('NoNewPrivileges'), 'yes', 'NoNewPrivileges=yes');
  t.equal(one('ProtectSystem'), 'strict', 'ProtectSystem=strict');
  t.equal(one('ProtectHome'), 'yes', 'ProtectHome=yes');
  t.equal(one('PrivateTmp'), 'yes', 'PrivateTmp=yes');
  t.equal(one('RestrictAddressFamilies'), 'AF_UNIX AF_INET AF_INET6', 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6');
  t.notOk(service.has('MemoryDenyWriteExecute'), 'not MemoryDenyWriteExecute=: V8 needs writable code pages');
  t.same(section('socketbox.socket', 'Socket').get('ListenStream'), ['[::]:80'], 'the socket listens on the wildcard, as socketbox would');
});

t.test('socketbox-anyip.network makes a prefix local on lo', async (t) => {
  const file = 'socketbox-anyip.network';
  t.same(section(file, 'Match').get('Name'), ['lo'], 'on the loopback interface');
  const route = section(file, 'Route');
  t.same(route.get('Type'), ['local'], 'a local route (AnyIP)');
  t.match(route.get('Destination')?.[0], /^[0-9a-f:]+\/\d+$/, 'an IPv6 prefix');
});

t.test('socketbox-anyip@.service: a oneshot local route for its instance, before the socket', async (t) => {
  const file = 'socketbox-anyip@.service';
  const service = section(file, 'Service');
  oneshotBeforeTheSocket(t, file);
  t.same(service.get('ExecStart'), ['/sbin/ip route replace local %I dev lo'], 'replaces (idempotent) the local route of the prefix %I');
  t.same(service.get('ExecStop'), ['-/sbin/ip route del local %I dev lo'], 'stop removes it');
  t.same(service.get('CapabilityBoundingSet'), ['CAP_NET_ADMIN'], 'CAP_NET_ADMIN and nothing else');
});

t.test('socketbox-tproxy.service loads examples/tproxy.nft and its routing before the socket', async (t) => {
  const defines = nftDefines(RULESET);
  const mark = defines.get('SOCKETBOX_MARK');
  const table = /^table (ip6 \w+) \{/m.exec(fs.readFileSync(RULESET, 'utf8'))?.[1];
  t.equal(table, 'ip6 socketbox_tproxy', 'the ruleset is one ip6 table');
  const service = section(TPROXY_UNIT, 'Service');
  oneshotBeforeTheSocket(t, TPROXY_UNIT);
  t.same(
    service.get('ExecStart'),
    [
      '/usr/sbin/nft -f /etc/socketbox/tproxy.nft',
      `-/sbin/ip -6 rule del fwmark ${mark} lookup 100`,
      `/sbin/ip -6 rule add fwmark ${mark} lookup 100`,
      '/sbin/ip -6 route replace local ::/0 dev lo table 100',
    ],
    'loads the ruleset, then routes its mark to a table where everything is local',
  );
  t.same(service.get('ExecReload'), ['/usr/sbin/nft -f /etc/socketbox/tproxy.nft'], 'reload re-reads the ruleset');
  t.same(
    service.get('ExecStop'),
    [`-/usr/sbin/nft delete table ${table}`, `-/sbin/ip -6 rule del fwmark ${mark} lookup 100`, '-/sbin/ip -6 route del local ::/0 dev lo table 100'],
    'stop removes the table the ruleset declares, the rule and the route',
  );
  t.same(service.get('CapabilityBoundingSet'), ['CAP_NET_ADMIN'], 'CAP_NET_ADMIN and nothing else');
});

t.test('the socket drop-in listens where examples/tproxy.nft sends, transparent', async (t) => {
  const defines = nftDefines(RULESET);
  const socket = section(TPROXY_DROP_IN, 'Socket');
  t.same(
    socket.get('ListenStream'),
    ['', `[${defines.get('SOCKETBOX_LISTENER_ADDR')}]:${defines.get('SOCKETBOX_LISTENER_PORT')}`],
    'replaces [::]:80 with the ruleset\'s listener',
  );
  t.same(socket.get('Transparent'), ['yes'], 'Transparent=yes (IPV6_TRANSPARENT, what socketbox -t sets)');
  t.same(section(TPROXY_DROP_IN, 'Unit').get('Wants'), [TPROXY_UNIT], 'pulls in the ruleset');
});
