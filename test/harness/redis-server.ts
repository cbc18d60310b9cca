// Test harness side of src/testing/redis-server.ts: the one way sluice's tests, benches and demo start Redis.
export { freePort, hasRedisServer, noRedisMessage, spawnRedis, startRedis, type SpawnedRedis, type TestRedis } from '../../src/testing/redis-server.js';
