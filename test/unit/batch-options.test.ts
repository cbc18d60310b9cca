import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memberBatch } from '../../src/redis/batch-store.js';
import { LUA_DIR } from '../../src/redis/lua.js';
import { readStoredOptions } from '../../src/options.js';
import { encode } from '../../src/serializer.js';

const pack = (value: unknown): Buffer => encode(value, 'options', 1024);

/** What batches.lua withBatch makes of a member's options: `batch` first, then the producer's keys. */
function spliced(id: string, options: Record<string, unknown> | undefined): Buffer {
  const body = options === undefined ? Buffer.alloc(0) : pack(options).subarray(1);
  const n = options === undefined ? 0 : Object.keys(options).length;
  const idBytes = Buffer.from(id);
  const str = idBytes.length <= 31 ? Buffer.from([0xa0 + idBytes.length]) : Buffer.from([0xd9, idBytes.length]);
  return Buffer.concat([Buffer.from([0x80 + n + 1, 0xa5]), Buffer.from('batch'), str, idBytes, body]);
}

describe("a member's batch in its stored options", () => {
  it('is read at its fixed place, by the TypeScript rule and by msgpack alike', () => {
    for (const [id, options] of [
      ['42', undefined],
      ['payout-2026-12', { attempts: 3, group: 'tenant-1' }],
      ['x'.repeat(31), undefined],
      ['ü'.repeat(60), { timeout: 5 }],
    ] as const) {
      const bytes = spliced(id, options);
      expect(memberBatch(bytes)).toBe(id);
      const read = readStoredOptions(bytes, 'options').options;
      expect(read.batch).toBe(id);
      if (options !== undefined) expect(read).toMatchObject(options);
    }
  });

  it('is no batch for default options, options without it, or cut bytes', () => {
    expect(memberBatch(Buffer.alloc(0))).toBe('');
    expect(memberBatch(pack({ attempts: 3 }))).toBe('');
    expect(memberBatch(pack({ group: 'tenant-1' }))).toBe('');
    // `batch` anywhere but first is not a member's: sluice writes it first.
    expect(memberBatch(pack({ attempts: 3, batch: 'b' }))).toBe('');
    expect(memberBatch(spliced('abcdef', undefined).subarray(0, 12))).toBe('');
    expect(memberBatch(Buffer.from([0x81, 0xa5, ...Buffer.from('batch'), 0xa0]))).toBe('');
  });

  it('is read by the same rule in Lua: the byte checks of batchOf match memberBatch', () => {
    const lua = readFileSync(join(LUA_DIR, 'includes', 'batches.lua'), 'utf8');
    expect(lua).toContain("if map < 0x81 or map > 0x8f or s ~= 0xa5 or b ~= 0x62 or string.sub(opts, 3, 7) ~= 'batch' then return nil end");
    expect(lua).toContain("return mapHeader(n + 1) .. '\\165batch' .. packStr(id) .. body");
  });
});
