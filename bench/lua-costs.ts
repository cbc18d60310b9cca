/**
 * Unit costs of the pieces sluice's scripts are made of, in Redis instructions (valgrind's callgrind): what
 * one XREADGROUP entry costs read inside Lua and outside it, one ARGV value, one XACK, one XPENDING entry, a
 * job hash against a field of one hash, the events in six values or two, a level read empty, a settle's trim
 * bookkeeping per level (XPENDING, XTRIM, XINFO GROUPS). These are the figures the design notes in
 * docs/ARCHITECTURE.md weigh choices by. Each piece runs 20 times over 100 items between two callgrind
 * dumps; the figure is the instructions between the dumps per item (Redis' 10 Hz cron included, a few
 * hundred instructions per item at most).
 *
 *   npm run bench:lua-costs
 *
 * Needs valgrind (callgrind_control) and redis-server on the PATH. Prints a table; writes nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../test/harness/redis-server.js';

const ROUNDS = 20;
const ITEMS = 100;
const PAYLOAD = Buffer.from('x'.repeat(95));

async function connect(url: string): Promise<Redis> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return client;
    } catch (error) {
      client.disconnect();
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function main(): Promise<void> {
  if (spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('valgrind is not on the PATH (Debian: apt-get install valgrind)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lua-costs-'));
  const port = await freePort();
  const server = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${join(dir, 'cg.out')}`, 'redis-server', '--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const client = await connect(`redis://127.0.0.1:${port}`);
  let dumps = 0;

  /** Instructions since the last dump: callgrind acts on the request when Redis runs, so it is PINGed. */
  const dump = async (): Promise<number> => {
    const n = ++dumps;
    const control = spawn('callgrind_control', [`--dump=piece-${n}`, String(server.pid)], { stdio: 'ignore' });
    const controlled = new Promise<void>((resolve) => control.once('exit', () => resolve()));
    while (!readdirSync(dir).includes(`cg.out.${n}`)) {
      await client.ping();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await controlled;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const match = /^summary:\s+(\d+)/m.exec(readFileSync(join(dir, `cg.out.${n}`), 'utf8'));
    if (match === null) throw new Error(`no summary in callgrind dump ${n}`);
    return Number(match[1]);
  };

  const rows: [string, number][] = [];
  const measure = async (piece: string, items: number, run: () => Promise<unknown>): Promise<void> => {
    await dump();
    await run();
    rows.push([piece, Math.round((await dump()) / items)]);
  };
  const evalRounds = async (source: string, keys: string[], args: (string | Buffer)[]): Promise<void> => {
    for (let r = 0; r < ROUNDS; r++) await client.eval(source, keys.length, ...keys, ...args);
  };

  // Streams of fresh entries (lua/includes/entry.lua), each with the consumer group, to read from.
  for (const key of ['s1', 's2', 's3']) {
    const fill = client.pipeline();
    for (let i = 1; i <= ITEMS * ROUNDS; i++) fill.xadd(key, `${i}-0`, 'n', 'email', 'd', PAYLOAD, 'o', '', 't', '1764600000000');
    await fill.exec();
    await client.xgroup('CREATE', key, 'g', '0');
  }
  const all = ITEMS * ROUNDS;
  await measure('one ARGV value (1,500 short strings to an empty script)', ROUNDS * 1500, () =>
    evalRounds('return 1', [], Array.from({ length: 1500 }, (_, i) => String(i))),
  );
  // The same 1,500 values packed in one ARGV value (src/redis/scripts.ts packJobs), read back in jobs of 10.
  const packed = Buffer.concat(
    Array.from({ length: 1500 }, (_, i) => {
      const value = Buffer.from(String(i));
      const length = Buffer.alloc(4);
      length.writeUInt32BE(value.length);
      return Buffer.concat([length, value]);
    }),
  );
  await measure('one packed value, read with struct.unpack (1,500 in one ARGV value)', ROUNDS * 1500, () =>
    evalRounds("local f, at = '>' .. string.rep('I4c0', 10), 1 while at <= #ARGV[1] do at = select(11, struct.unpack(f, ARGV[1], at)) end return 1", [], [packed]),
  );
  await measure('XREADGROUP in Lua, entries returned (per entry)', all, () =>
    evalRounds("return redis.call('XREADGROUP','GROUP','g','c','COUNT',100,'STREAMS',KEYS[1],'>')[1][2]", ['s1'], []),
  );
  await measure('XREADGROUP in Lua, entries discarded (per entry)', all, () =>
    evalRounds("redis.call('XREADGROUP','GROUP','g','c','COUNT',100,'STREAMS',KEYS[1],'>') return 1", ['s2'], []),
  );
  await measure('XREADGROUP outside Lua (per entry)', all, async () => {
    for (let r = 0; r < ROUNDS; r++) await client.xreadgroup('GROUP', 'g', 'c', 'COUNT', ITEMS, 'STREAMS', 's3', '>');
  });
  await measure('XPENDING of 100 entries for one consumer, in Lua (per entry)', all, async () => {
    for (let r = 0; r < ROUNDS; r++) {
      await client.eval("redis.call('XPENDING', KEYS[1], 'g', ARGV[1], ARGV[2], 1000, 'c') return 1", 1, 's1', `${r * ITEMS + 1}-0`, `${(r + 1) * ITEMS}-0`);
    }
  });
  await measure('one XACK of one id, in Lua (per id)', all, async () => {
    for (let r = 0; r < ROUNDS; r++) {
      const ids = Array.from({ length: ITEMS }, (_, i) => `${r * ITEMS + i + 1}-0`);
      await client.eval("for _, id in ipairs(ARGV) do redis.call('XACK', KEYS[1], 'g', id) end return 1", 1, 's2', ...ids);
    }
  });
  const jobHash =
    "for i = 1, 100 do redis.call('HSET', 'job:' .. i .. ARGV[1], 'state', 'completed', 'fon', '1764600000000', 'rv', 'r', 'name', 'email', " +
    "'data', ARGV[2], 'opts', 'o', 'ts', '1764600000000', 'prio', '1', 'ats', '1', 'atm', '1', 'pon', '1764600000000') end return 1";
  await measure('a 13-field job hash, new key, 95-byte data (per job)', all, () => evalRounds(jobHash, [], ['a', PAYLOAD]));
  await measure('its DEL, 100 keys per DEL (per job)', all, () =>
    evalRounds("local k = {} for i = 1, 100 do k[i] = 'job:' .. i .. ARGV[1] end redis.call('DEL', unpack(k)) return 1", [], ['a']),
  );
  await measure('one field of one hash, 100 per HSET (per job)', all, () =>
    evalRounds("local f = {} for i = 1, 100 do f[2 * i - 1], f[2 * i] = ARGV[1] .. i, ARGV[2] end redis.call('HSET', 'done', unpack(f)) return 1", [], ['a', PAYLOAD]),
  );
  await measure('events as six values per job, one XADD per 100 (per job)', all, () =>
    evalRounds(
      "local f = {} for i = 1, 100 do local n = #f f[n+1], f[n+2], f[n+3], f[n+4], f[n+5], f[n+6] = 'ev', 'completed', 'id', tostring(i), 'result', 'r' end " +
        "redis.call('XADD', 'ev6', 'MAXLEN', '~', 10000, '*', unpack(f)) return 1",
      [],
      [],
    ),
  );
  await measure('events as two values per job (per job)', all, () =>
    evalRounds(
      "local f = {'', 'completed'} for i = 1, 100 do local n = #f f[n+1], f[n+2] = tostring(i), 'r' end redis.call('XADD', 'ev2', 'MAXLEN', '~', 10000, '*', unpack(f)) return 1",
      [],
      [],
    ),
  );

  // The per-minute history (lua/includes/history.lua): what one settle call's HINCRBY costs by the size and
  // encoding of the hash it lands in (a listpack finds the minute's field, the newest, last), and a ring of
  // minute slots, which must read a slot's minute before it counts.
  const historyHash = async (key: string, minutes: number, encoding: 'listpack' | 'hashtable'): Promise<void> => {
    const fill = client.pipeline();
    for (let m = 0; m < minutes; m++) fill.hset(key, `c${29_000_000 + m}`, '1234', `f${29_000_000 + m}`, '12');
    fill.hset(key, 'at', String(29_000_000 + minutes - 1));
    await fill.exec();
    const found = await client.object('ENCODING', key);
    if (found !== encoding) throw new Error(`${key} is ${String(found)}, not ${encoding} (hash-max-listpack-entries?)`);
  };
  const minute = `c${29_000_000 + 179}`;
  await historyHash('h-lp', 180, 'listpack');
  await client.config('SET', 'hash-max-listpack-entries', '128');
  await historyHash('h-ht', 180, 'hashtable');
  await client.config('SET', 'hash-max-listpack-entries', '512');
  await client.hset('h-meta', ...Array.from({ length: 16 }, (_, i) => [`field${i}`, '1']).flat(), 'completed', '1');
  await client.hset('h-now', 'at', String(29_000_000 + 179), minute, '1', `f${29_000_000 + 179}`, '1');
  const hincrby = (key: string, field: string): Promise<void> =>
    evalRounds(`for i = 1, 100 do redis.call('HINCRBY', KEYS[1], ARGV[1], '1') end return 1`, [key], [field]);
  await measure("HINCRBY of the minute's field, 361-field history hash as a listpack (per call)", all, () => hincrby('h-lp', minute));
  await measure("HINCRBY of the minute's field, 361-field history hash as a hashtable (per call)", all, () => hincrby('h-ht', minute));
  await measure("HINCRBY of the minute's field in history:now, 3 fields (what a settle call pays)", all, () => hincrby('h-now', minute));
  await measure('HINCRBY of meta `completed` (17-field listpack, per call)', all, () => hincrby('h-meta', 'completed'));
  await measure('a ring slot instead: HGET of its minute, then HINCRBY (per call)', all, () =>
    evalRounds(
      "for i = 1, 100 do if redis.call('HGET', KEYS[1], 'at') == ARGV[2] then redis.call('HINCRBY', KEYS[1], ARGV[1], '1') end end return 1",
      ['h-lp'],
      [minute, String(29_000_000 + 179)],
    ),
  );

  // The queue-wide concurrency and smooth limits (lua/includes/queue-limits.lua): what one more field of
  // claim's HMGET of meta would cost every claim call, and what the settles paid for an HDEL of a wait field
  // of its own (`cwait`, before the mark moved into meta `active`: lua/includes/active.lua).
  await client.hset('meta9', 'levels', '3', 'fmt', '3', 'active', '5', 'paused', '0', 'gseq', '1', 'acked0', '3', 'completed', '10', 'failed', '2', 'id', '1');
  const metaLoop = (body: string): Promise<void> => evalRounds(`for i = 1, 100 do ${body} end return 1`, ['meta9'], []);
  await measure("claim's HMGET of meta, its 6 fields (per call)", all, () =>
    metaLoop("redis.call('HMGET', KEYS[1], 'levels', 'paused', 'rlmax', 'rldur', 'hold', 'gwaiting')"),
  );
  await measure('the same with a 7th field (per call)', all, () =>
    metaLoop("redis.call('HMGET', KEYS[1], 'levels', 'paused', 'rlmax', 'rldur', 'hold', 'gwaiting', 'qlim')"),
  );
  await measure('HDEL of a meta field that is not there (per call)', all, () => metaLoop("redis.call('HDEL', KEYS[1], 'cwait')"));
  await measure("a complete's HGET of meta `linked` (per call)", all, () => metaLoop("redis.call('HGET', KEYS[1], 'linked')"));
  await measure('HMGET of `linked` and `cwait` instead (per call)', all, () => metaLoop("redis.call('HMGET', KEYS[1], 'linked', 'cwait')"));
  await measure('the loop around them alone (per call)', all, () => metaLoop(''));

  // A claim reads its levels from the first (lua/includes/claim-jobs.lua, readLevels): a job on the default
  // level (1 of 3) is read after an XREADGROUP of level 0 that finds nothing. s2's entries were all read above.
  await measure('XREADGROUP of a level with nothing new, in Lua (per call)', all, () =>
    evalRounds("for i = 1, 100 do redis.call('XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '16', 'STREAMS', KEYS[1], '>') end return 1", ['s2'], []),
  );
  // A settle's trim bookkeeping per level it touched (lua/includes/settle.lua): the oldest pending entry, the
  // trim below it (here nothing to trim: s1's entries are all pending), and, when the level has nothing
  // pending, the group's last-delivered-id from XINFO GROUPS instead.
  await measure('XPENDING of the oldest pending entry, in Lua (per call)', all, () =>
    evalRounds("for i = 1, 100 do redis.call('XPENDING', KEYS[1], 'g', '-', '+', '1') end return 1", ['s1'], []),
  );
  await measure('XTRIM MINID ~ below the oldest pending, nothing to trim, in Lua (per call)', all, () =>
    evalRounds("for i = 1, 100 do redis.call('XTRIM', KEYS[1], 'MINID', '~', '1-0') end return 1", ['s1'], []),
  );
  await measure('XINFO GROUPS of a level with one group, its fields read by name, in Lua (per call)', all, () =>
    evalRounds(
      "for i = 1, 100 do local f = {} local info = redis.call('XINFO', 'GROUPS', KEYS[1])[1] for k = 1, #info, 2 do f[info[k]] = info[k + 1] end end return 1",
      ['s2'],
      [],
    ),
  );
  await measure('the loop around these alone (per call)', all, () => evalRounds('for i = 1, 100 do end return 1', [], []));

  await client.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
  client.disconnect();
  await exited;
  rmSync(dir, { recursive: true, force: true });
  const width = Math.max(...rows.map(([piece]) => piece.length));
  console.log(`Redis instructions per item (callgrind, ${ROUNDS} rounds of ${ITEMS}):`);
  for (const [piece, cost] of rows) console.log(`  ${piece.padEnd(width)}  ${cost.toLocaleString('en').padStart(8)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
