/**
 * sluice/testing: what users of sluice need to test their own producers and workers. A separate export:
 * `import 'sluice'` loads none of it (test/unit/entry-points.test.ts checks).
 *
 * - startRedis(): a private Redis for a test suite (REDIS_URL, a redis-server from PATH, or testcontainers);
 * - waitUntilDrained, expectAdded, runJobs, expectAllClosed: helpers against a real queue;
 * - FakeQueue: a record-only Queue for unit tests that must not touch Redis.
 *
 * @module sluice/testing
 */
export { startRedis, spawnRedis, freePort, type TestRedis, type SpawnedRedis } from './redis-server.js';
export { waitUntilDrained, expectAdded, runJobs, expectAllClosed, type WaitOptions, type DataMatcher, type RunResults } from './helpers.js';
export { FakeQueue, type FakeQueueOptions, type AddedJob, type Producer } from './fake-queue.js';
