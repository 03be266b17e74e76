/**
 * The watchdog's rule, without timers: WATCHDOG=1 only when every worker
 * answered the previous ping; WATCHDOG_USEC/WATCHDOG_PID read as
 * sd_watchdog_enabled(3) does. (The cadence is checked end to end in
 * systemd-notify.test.ts.)
 */
import t from 'tap';
import { STAT } from '../src/server/stats-layout';
import { LivenessProbe, watchdogUsec, WorkerWatchdog } from '../src/server/systemd-watchdog';

/** Loops that answer a ping only when told they are alive. */
class FakeLoops implements LivenessProbe {
  readonly pongs: bigint[];
  readonly alive: boolean[];
  pings = 0;
  constructor(count: number) {
    this.pongs = new Array<bigint>(count).fill(0n);
    this.alive = new Array<boolean>(count).fill(true);
  }
  ping(): void {
    this.pings++;
    this.alive.forEach((up, i) => {
      if (up) this.pongs[i]++;
    });
  }
  perLoop(stat: number): bigint[] {
    if (stat !== STAT.pongs) throw new Error('the watchdog reads pongs only');
    return [...this.pongs];
  }
}

t.test('keep-alive only while every worker answered the previous ping', async (t) => {
  const loops = new FakeLoops(2);
  let sent = 0;
  const dog = new WorkerWatchdog(loops, () => sent++);
  dog.tick();
  t.equal(sent, 0, 'the first tick only pings: nothing answered yet');
  dog.tick();
  t.equal(sent, 1, 'both answered: WATCHDOG=1');
  loops.alive[1] = false;
  dog.tick();
  t.equal(sent, 2, 'worker 1 answered the ping sent while it was alive');
  dog.tick();
  dog.tick();
  t.equal(sent, 2, 'worker 1 stopped answering: withheld');
  loops.alive[1] = true;
  dog.tick();
  t.equal(sent, 2, 'the ping before it came back went unanswered');
  dog.tick();
  t.equal(sent, 3, 'answering again: WATCHDOG=1 resumes');
  t.equal(loops.pings, 7, 'one ping per tick');
});

t.test('a pong from another wake-up between two ticks also proves the loop runs', async (t) => {
  const loops = new FakeLoops(1);
  let sent = 0;
  const dog = new WorkerWatchdog(loops, () => sent++);
  loops.alive[0] = false;
  dog.tick();
  loops.pongs[0]++; // e.g. a table publish woke it
  dog.tick();
  t.equal(sent, 1);
});

t.test('WATCHDOG_USEC and WATCHDOG_PID', async (t) => {
  t.equal(watchdogUsec({ WATCHDOG_USEC: '400000' }, 7), 400000);
  t.equal(watchdogUsec({ WATCHDOG_USEC: '400000', WATCHDOG_PID: '7' }, 7), 400000, 'our pid');
  t.equal(watchdogUsec({ WATCHDOG_USEC: '400000', WATCHDOG_PID: '8' }, 7), undefined, 'meant for another process');
  t.equal(watchdogUsec({}, 7), undefined, 'not set');
  t.equal(watchdogUsec({ WATCHDOG_USEC: '0' }, 7), undefined, 'zero: disabled');
  t.equal(watchdogUsec({ WATCHDOG_USEC: '10s' }, 7), undefined, 'not a number');
});
