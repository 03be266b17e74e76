/** A flood of identical failures does not flood the log. */
import t from 'tap';
import { configureLog, logError, logInfo } from '../src/server/log';

t.test('repeated errors are limited to a burst per window', async (t) => {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    configureLog('info', 'text');
    for (let i = 0; i < 10_000; i++) logError(`send to target ${i} failed`);
    for (let i = 0; i < 3; i++) logInfo(`reloaded generation ${i}`);
    configureLog('warn', 'json');
    logInfo('hidden below the threshold');
    logError('a different failure');
  } finally {
    process.stderr.write = write;
  }
  t.equal(lines.filter((l) => l.includes('send to target')).length, 5, '10,000 identical errors print 5 lines');
  t.equal(lines.filter((l) => l.includes('reloaded generation')).length, 3, 'information is not limited');
  t.notOk(lines.some((l) => l.includes('hidden')), 'the level threshold applies');
  const json = JSON.parse(lines[lines.length - 1]) as { level: string; msg: string; time: string };
  t.same([json.level, json.msg], ['error', 'a different failure'], 'JSON lines carry level and message');
  t.ok(!Number.isNaN(Date.parse(json.time)), 'and a time');
});
