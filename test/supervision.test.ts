/** Worker restarts are spaced out and bounded: the policy on its own, with a fake clock. */
import t from 'tap';
import { RestartTracker } from '../src/server/supervision';

const policy = { maxRestarts: 3, windowMs: 60_000, firstBackoffMs: 100, maxBackoffMs: 400, healthyRunMs: 10_000 };

t.test('back-off doubles up to its maximum, then the tracker gives up', async (t) => {
  const tracker = new RestartTracker(policy);
  t.equal(tracker.failed(1000, 5), 100, 'first restart after 100 ms');
  t.equal(tracker.failed(1200, 5), 200, 'then 200 ms');
  t.equal(tracker.failed(1500, 5), 400, 'then 400 ms');
  t.equal(tracker.failed(2000, 5), null, 'a fourth failure within the window gives up');
});

t.test('failures outside the window are forgotten; a healthy run resets the back-off', async (t) => {
  const tracker = new RestartTracker(policy);
  tracker.failed(0, 5);
  tracker.failed(1000, 5);
  tracker.failed(2000, 5);
  t.equal(tracker.failed(70_000, 5), 400, 'old failures no longer count towards giving up');
  t.equal(tracker.failed(90_000, 20_000), 100, 'after a long healthy run the back-off starts over');
});
