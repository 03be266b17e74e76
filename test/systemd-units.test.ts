/**
 * The unit files in systemd/: every one passes `systemd-analyze verify` with
 * no complaint (unknown keys and bad values are only warnings there, so any
 * output fails the test), and socketbox.service is notify-reload and
 * hardened as promised. verify checks that ExecStart= binaries exist, so the
 * units are verified from a temporary copy pointing at this checkout's bin/.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './helpers/processes';

const UNITS_DIR = path.join(ROOT, 'systemd');
const INSTALLED_BIN = '/usr/local/bin/';
const units = fs.readdirSync(UNITS_DIR).filter((f) => /\.(service|socket)$/.test(f));

/** systemd < 253 does not know Type=notify-reload: the one warning it may give. */
function allowedWarning(line: string): boolean {
  const version = Number(/systemd (\d+)/.exec(execFileSync('systemd-analyze', ['--version']).toString())?.[1]);
  return version < 253 && /Failed to parse service type, ignoring: notify-reload$/.test(line);
}

/** key -> values of one section of a unit file. */
function section(file: string, name: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let inside = false;
  for (const raw of fs.readFileSync(path.join(UNITS_DIR, file), 'utf8').split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) inside = line === `[${name}]`;
    else if (inside && line && !line.startsWith('#')) {
      const eq = line.indexOf('=');
      keys.set(line.slice(0, eq), [...(keys.get(line.slice(0, eq)) ?? []), line.slice(eq + 1)]);
    }
  }
  return keys;
}

t.test('the expected unit files are there', async (t) => {
  t.same(units.sort(), ['socketbox-inetd@.service', 'socketbox-relay@.service', 'socketbox.service', 'socketbox.socket'], 'the socket, the service and the two client templates');
});

t.test('systemd-analyze verify passes on every unit, without a warning', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-units-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // All units in one directory: verify resolves Requires=/Before= against it.
  for (const unit of units) {
    const text = fs.readFileSync(path.join(UNITS_DIR, unit), 'utf8');
    fs.writeFileSync(path.join(dir, unit), text.split(INSTALLED_BIN).join(path.join(ROOT, 'bin') + '/'));
  }
  for (const unit of units) {
    const r = spawnSync('systemd-analyze', ['verify', path.join(dir, unit)], { encoding: 'utf8', timeout: 30_000 });
    const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '' && !allowedWarning(l));
    t.equal(r.status, 0, `${unit}: verify exits 0`);
    t.same(complaints, [], `${unit}: nothing to complain about`);
  }
});

t.test('every ExecStart= runs an installed program from /usr/local/bin', async (t) => {
  for (const unit of units.filter((u) => u.endsWith('.service'))) {
    for (const exec of section(unit, 'Service').get('ExecStart') ?? []) t.match(exec, new RegExp(`^${INSTALLED_BIN}socketbox`), unit);
  }
});

t.test('socketbox.service: notify-reload, a watchdog, a dedicated user, hardened', async (t) => {
  const service = section('socketbox.service', 'Service');
  const one = (key: string): string | undefined => service.get(key)?.at(-1);
  t.equal(one('Type'), 'notify-reload', 'Type=notify-reload');
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
