import { afterEach } from 'vitest';
import { closeOpenHandles } from '../../src/open-handles.js';

// A test fails when it leaves a Queue, Worker or QueueEvents open: a leaked worker would keep claiming
// jobs into the next test. What was left is closed here so the next test starts clean.
afterEach(async () => {
  const left = await closeOpenHandles();
  if (left.length > 0) throw new Error(`test left open: ${left.join(', ')}; close every Queue, Worker and QueueEvents it creates`);
});
