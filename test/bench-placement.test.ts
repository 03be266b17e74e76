// The benchmark's CPU placement (bench/harness/cpu-placement.ts): CPU lists as the kernel
// writes them, the split between load generator and servers, and the taskset command line,
// which is run for real to see the kernel apply it.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { allowedCpus, cpuSetsFor, onCpus, parseCpuList } from '../bench/harness/cpu-placement';

t.test('parseCpuList reads the kernel CPU list format', async (t) => {
  t.same(parseCpuList('0'), [0]);
  t.same(parseCpuList('0-3'), [0, 1, 2, 3]);
  t.same(parseCpuList('0-1,4,6-7\n'), [0, 1, 4, 6, 7]);
  t.same(parseCpuList('5,1-2,2'), [1, 2, 5], 'sorted, each CPU once');
  for (const bad of ['', 'a', '1-', '3-1', '1,,2', '-1'])
    t.throws(() => parseCpuList(bad), { message: /not a CPU list/ }, JSON.stringify(bad));
});

t.test('cpuSetsFor splits the first CPU off for the load generator', async (t) => {
  t.same(cpuSetsFor('split', [0, 1]), { placement: 'split', loadgen: '0', servers: '1' });
  t.same(cpuSetsFor('split', [2, 3, 5]), { placement: 'split', loadgen: '2', servers: '3,5' });
  t.same(cpuSetsFor('split', [4]), { placement: 'shared', loadgen: null, servers: null }, 'one CPU cannot be split');
  t.same(cpuSetsFor('shared', [0, 1, 2]), { placement: 'shared', loadgen: null, servers: null });
});

t.test('onCpus wraps the command in taskset only when CPUs are given', async (t) => {
  t.same(onCpus(null, '/bin/x', ['-a']), { file: '/bin/x', args: ['-a'] });
  t.same(onCpus('1,3', '/bin/x', ['-a']), { file: 'taskset', args: ['--cpu-list', '1,3', '/bin/x', '-a'] });
});

t.test('the kernel applies the placement', async (t) => {
  const mine = allowedCpus();
  t.ok(mine.length >= 1, `this process may run on ${mine.join(',')}`);
  const last = String(mine[mine.length - 1]);
  const placed = onCpus(last, 'grep', ['^Cpus_allowed_list:', '/proc/self/status']);
  const seen = execFileSync(placed.file, placed.args, { encoding: 'utf8' });
  t.same(parseCpuList(seen.split(':')[1]), [Number(last)], 'the child runs on the one CPU it was given');
});
