/**
 * Malformed registration packets (docs/wire-protocol.md#registration), thousands of them, seeded: random
 * lengths and bytes, reserved bytes set, unknown commands, slots that do not
 * exist or are taken, packets carrying descriptors. None is granted, none is
 * answered, the registered receiver keeps its slot and keeps being served,
 * and the server's descriptor count returns to where it was.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { fdCount } from '../testkit/proc-fds';
import { waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { talk } from './helpers/client';
import { registrationTool, scrape, startInetdP, startJsonServer, waitForRegistered } from './helpers/registration';

enterTestNetns([5]);

const PORT = 8561;
const SEED = 0x5eed0010;
const PACKETS = 3000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-regfuzz-'));
const api = path.join(dir, 'api.sock');

t.test('malformed registrations never disturb a registered receiver', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const server = startJsonServer(
    path.join(dir, 'fuzz.json'),
    {
      'socketbox-version': 1,
      incoming: [{ address: '::', port: PORT }],
      paths: [{ socket: api, mode: '0600' }],
      outgoing: [{ uid: 0, path_nr: 0 }, { uid: 0, path_nr: 0 }],
      rules: { _start: { type: 'rule', rules: [{ jump: 'o:0' }] } },
    },
    PORT + 100,
  );
  children.push(server);
  await waitForListening(PORT);
  const receiver = startInetdP(api, 0, 'steady', 0);
  children.push(receiver);
  await waitForRegistered(PORT + 100, 1);
  const served = async (what: string) => t.equal((await talk('2001:db8::1', PORT, { line: 'x' })).greeting, 'steady uid=0', what);
  await served('served before the fuzz');
  const baseline = fdCount(server.pid);

  const report = await registrationTool(['fuzz', api, String(SEED), String(PACKETS), '0']);
  t.same(report, { sent: PACKETS, granted: 0, answers: 0 }, `${PACKETS} malformed registrations: none granted, none answered`);

  await served('served after the fuzz, by the same registration');
  t.equal(receiver.exitCode, null, 'the registered receiver is still running');
  const m = await scrape(PORT + 100);
  t.equal(m.get('socketbox_registered_slots'), 1, 'its slot is still registered');
  t.equal(m.get('socketbox_registrations_total{result="granted"}'), 1, 'the only registration ever granted is its own');
  t.ok((m.get('socketbox_registrations_total{result="malformed"}') ?? 0) > PACKETS / 3, 'malformed packets were counted');
  t.ok((m.get('socketbox_registrations_total{result="taken"}') ?? 0) > 0, 'registrations for the taken slot were counted');
  await waitFor(`the server's descriptors back to ${baseline}`, () => fdCount(server.pid) === baseline, 5_000);
  t.pass(`descriptors back to ${baseline}`);
  t.equal(m.get('socketbox_registration_connections'), 1, 'one API connection open: the receiver');
});
