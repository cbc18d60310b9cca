import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HISTORY_MINUTES } from '../../src/redis/history.js';
import { LUA_DIR } from '../../src/redis/lua.js';

describe('per-minute history window', () => {
  it('is the same in TypeScript and in lua/includes/history.lua', () => {
    const lua = readFileSync(join(LUA_DIR, 'includes', 'history.lua'), 'utf8');
    expect(Number(/^local HISTORY_MINUTES = (\d+)$/m.exec(lua)?.[1])).toBe(HISTORY_MINUTES);
  });
});
