/**
 * A build made without the fast path's toolchain (no clang with the BPF target, no
 * libbpf-dev: binding.gyp then compiles native/fastpath/off) still links every entry point
 * of native/fastpath/fastpath.h, says why it cannot start in terms an operator can act on,
 * and still answers a listener-mode registration, with a plain grant (the receiver is then
 * served over its registration connection).
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { compileC } from './helpers/cc';

const probe = compileC('fastpath-off-probe', ['-I', 'native', 'test/native/fastpath-off-probe.c', 'native/fastpath/off/fastpath_off.c', 'native/fastpath/listener_grant.c', 'native/common/fd_send.c']);

t.test('every fast-path entry point exists in the off build, and none pretends to work', async (t) => {
  const r = JSON.parse(execFileSync(probe, { encoding: 'utf8' })) as Record<string, unknown>;
  t.equal(r.start, -1, 'start fails');
  t.equal(r.startErrno, 38, 'with ENOSYS');
  t.match(r.why, /no fast path: clang and libbpf-dev were missing when it was built/, 'and says what to install');
  t.equal(r.active, 0);
  t.equal(r.listeners, -1);
  t.equal(r.publish, -1);
  t.equal(r.slotOpen, -1, 'no slot listener');
  t.equal(r.decisions, 0);
  t.equal(r.assigned, 0);
  t.equal(r.reclaimed, 0);
  t.equal(r.slotsSeen, 0);
  t.equal(r.testRun, -1);
  t.equal(r.granted, 4, 'a listener-mode registration is still granted');
  t.equal(r.listenerMode, 0, 'without a listener');
  t.same(r.answer, [0x80, 0, 0, 0], 'the receiver reads a plain grant');
  t.equal(r.descriptors, 0, 'carrying no descriptor');
  t.equal(r.grantsPlain, 1);
  t.equal(r.grantsWithListener, 0);
});
