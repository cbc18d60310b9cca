// The vitest way: `npx vitest run --config examples/testing/vitest.config.ts`.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'sluice';
import { expectAdded, expectAllClosed, FakeQueue, runJobs, startRedis, type TestRedis } from 'sluice/testing';
import { onSignup, sendEmail, type SignupJob } from './signup.js';

describe('signup, unit (no Redis)', () => {
  it('adds a welcome email and, for the free plan, an offer a day later', async () => {
    const queue = new FakeQueue<SignupJob, string>('emails');
    await onSignup(queue, 'ada@example.com', 'free');
    expect(queue.added.map((job) => job.name)).toEqual(['welcome', 'upgrade-offer']);
    expect(queue.jobsNamed('upgrade-offer')[0]?.opts).toEqual({ delay: 86_400_000 });
  });
});

describe('signup, against a real Redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    await expectAllClosed();
  });

  it('sends the welcome email once, however often the user signs up', async () => {
    const queue = new Queue<SignupJob, string>('emails', { connection: { url: redis.url } });
    await onSignup(queue, 'ada@example.com', 'pro');
    await onSignup(queue, 'ada@example.com', 'pro');
    await expectAdded(queue, 'welcome', { email: 'ada@example.com' });
    const { completed, failed } = await runJobs(queue, sendEmail, { connection: { url: redis.url } });
    expect([...completed.values()]).toEqual(['welcome to ada@example.com']);
    expect(failed.size).toBe(0);
    await queue.obliterate({ force: true });
    await queue.close();
  });
});
