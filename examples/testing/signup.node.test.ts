// The node:test way: `node --import tsx --test examples/testing/signup.node.test.ts` (the suite adds
// --test-reporter=tap, which it reads: Node 20 prints TAP where there is no terminal, Node 24 its spec).
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Queue } from 'sluice';
import { expectAdded, expectAllClosed, FakeQueue, runJobs, startRedis, type TestRedis } from 'sluice/testing';
import { onSignup, sendEmail, type SignupJob } from './signup.js';

await describe('signup, unit (no Redis)', async () => {
  await it('adds no offer for the pro plan', async () => {
    const queue = new FakeQueue<SignupJob, string>('emails');
    await onSignup(queue, 'bob@example.com', 'pro');
    assert.deepEqual(queue.added.map((job) => job.name), ['welcome']);
  });
});

await describe('signup, against a real Redis', async () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    await expectAllClosed();
  });

  await it('fails the job of an address that is not one, and sends the others', async () => {
    const queue = new Queue<SignupJob, string>('emails', { connection: { url: redis.url } });
    await onSignup(queue, 'carol@example.com', 'pro');
    await onSignup(queue, 'not-an-address', 'pro');
    await expectAdded(queue, 'welcome', (data) => data.email === 'not-an-address');
    const { completed, failed } = await runJobs(queue, sendEmail, { connection: { url: redis.url } });
    assert.deepEqual([...completed.values()], ['welcome to carol@example.com']);
    assert.deepEqual([...failed.values()], ['not an email address: not-an-address']);
    await queue.close();
  });
});
