import type { QueueKeys } from '../keys.js';
import type { MinuteCounts } from '../states.js';
import type { RedisClient } from './connection.js';
import { runScript } from './scripts.js';

/**
 * The per-minute history's window, as lua/includes/history.lua keeps it (test/unit/history.test.ts checks
 * the two agree): 3 hours, which keeps its hash a listpack under Redis' default hash-max-listpack-entries.
 */
export const HISTORY_MINUTES = 180;

/** Completed and failed in each of the last `minutes` minutes of Redis' clock, oldest first, zero-filled. */
export function readHistory(client: RedisClient, keys: QueueKeys, minutes: number): Promise<MinuteCounts[]> {
  return runScript(client, 'metrics-history', { history: keys.history, historyNow: keys.historyNow }, { minutes });
}
