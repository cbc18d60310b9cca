import type { RedisClient } from './connection.js';
import { GAVE_UP, replyMessage, throwRedisFailure } from './failures.js';
import { Cluster } from 'ioredis';
import { guardKey } from '../keys.js';
import { loadLibrary, loadLua, sha1, type Library } from './lua.js';
import { sendFramed } from './frame.js';
import { lengthPrefixed } from './packed.js';
import {
  abandonFlowReply,
  addFlowReply,
  deliverNotesReply,
  addReply,
  batchAddReply,
  claimReply,
  completeReply,
  controlReply,
  dedupedReply,
  foundReply,
  countsReply,
  dueSchedulesReply,
  historyReply,
  initReply,
  jobReply,
  jobsReply,
  metricsReply,
  moveShareReply,
  none,
  numberOf,
  promoteReply,
  recoverReply,
  retryJobsReply,
  runScheduleReply,
  scheduleReply,
  statusOf,
  settleReply,
  sharesReply,
  strings,
  workersReply,
} from './replies.js';

/**
 * The contract of every Lua script, by name: its KEYS and ARGV in order, for batched scripts the values
 * of each job, and the decoder of its reply (replies.ts). Callers pass named values and `runScript` lays
 * them out and returns the decoded reply, so no key or argument is ever placed by position by hand and no
 * verb casts a reply. test/unit/scripts.test.ts checks that each script's header lists exactly these names.
 *
 * A key named `streams...` stands for the queue's streams, passed last: the level streams, level 0 first,
 * then admit. `groups...` stands for the seven group keys, in the order of lua/includes/groups.lua.
 */
export interface ScriptSpec {
  readonly keys: readonly string[];
  readonly args: readonly string[];
  /**
   * A batched script's values of each job (each delivery, for extend-leases), in order. They go packed into
   * one ARGV value, `jobs`, the last one (packJobs), and the script reads them by name with
   * struct.unpack: never by offset into ARGV.
   */
  readonly perJob?: readonly string[];
  /** Replies carry msgpack payloads: ask ioredis for Buffers instead of strings. */
  readonly binary?: boolean;
  /** The script writes nothing: its function is flagged `no-writes` (lua.ts loadLibrary). */
  readonly readOnly?: boolean;
  /** The reply as the verb uses it. */
  readonly decode: (reply: unknown) => unknown;
}

export const SCRIPTS = {
  init: { keys: ['meta', 'streams...'], args: ['group', 'levels', 'partitions'], decode: initReply },
  check: { keys: ['meta'], args: ['levels', 'partitions'], readOnly: true, decode: initReply },
  add: {
    keys: ['id', 'meta', 'delayed', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'eventsMaxLen', 'spent', 'count'],
    perJob: ['jobId', 'name', 'data', 'opts', 'prio', 'delay', 'runAt', 'group'],
    decode: addReply,
  },
  'batch-add': {
    keys: ['id', 'meta', 'delayed', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'eventsMaxLen', 'spent', 'count', 'batch', 'open', 'seal', 'keep', 'onComplete', 'onSuccess'],
    perJob: ['name', 'data', 'opts', 'prio', 'delay', 'runAt', 'group'],
    decode: batchAddReply,
  },
  // add's contract, and each job's labels (src/labels.ts): a call with a labeled job (store.ts add).
  'add-labeled': {
    keys: ['id', 'meta', 'delayed', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'eventsMaxLen', 'spent', 'count'],
    perJob: ['jobId', 'name', 'data', 'opts', 'prio', 'delay', 'runAt', 'group', 'labels'],
    decode: addReply,
  },
  'add-flow': {
    keys: ['id', 'meta', 'failed', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'group', 'eventsMaxLen', 'maxDependents', 'flow', 'links'],
    perJob: ['key', 'queue', 'jobId', 'name', 'data', 'opts', 'prio', 'grp', 'policy', 'deps'],
    decode: addFlowReply,
  },
  // A flow across Redis Cluster slots (src/flows-relay.ts): notes applied in their jobs' slot, and a part
  // of a flow that never became whole ended.
  'deliver-notes': { keys: ['meta'], args: ['base', 'eventsMaxLen', 'notes'], decode: deliverNotesReply },
  'abandon-flow': { keys: ['meta'], args: ['base', 'eventsMaxLen', 'flow', 'olderThan', 'reason'], decode: abandonFlowReply },
  claim: {
    keys: ['id', 'meta', 'delayed', 'failed', 'events', 'ctl', 'rate', 'groups...', 'streams...'],
    args: ['base', 'group', 'consumer', 'count', 'eventsMaxLen', 'promoteLimit', 'wait'],
    binary: true,
    decode: claimReply,
  },
  complete: {
    keys: ['id', 'meta', 'delayed', 'failed', 'completed', 'events', 'ctl', 'rate', 'groups...', 'streams...'],
    args: ['base', 'group', 'eventsMaxLen', 'consumer', 'count', 'promoteLimit', 'wait'],
    perJob: ['id', 'entry', 'level', 'keepCount', 'keepAge', 'group', 'record', 'result', 'hashed'],
    // The jobs it may claim come as claim's do, payloads and all.
    binary: true,
    decode: completeReply,
  },
  fail: {
    keys: ['id', 'meta', 'delayed', 'failed', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'group', 'eventsMaxLen', 'by'],
    perJob: [
      'id', 'entry', 'level', 'retryDelay', 'reason', 'stack', 'keepCount', 'keepAge',
      'name', 'data', 'opts', 'ts', 'prio', 'grp', 'ats', 'atm', 'stalls', 'pon',
    ],
    decode: settleReply,
  },
  release: {
    keys: ['meta', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'group', 'eventsMaxLen'],
    perJob: ['id', 'entry', 'level', 'holdMs', 'name', 'data', 'opts', 'ts', 'prio', 'grp', 'ats', 'atm', 'stalls', 'err', 'stack'],
    decode: settleReply,
  },
  'recover-stalled': {
    keys: ['id', 'meta', 'failed', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'group', 'reaper', 'idleMs', 'maxStalled', 'limit', 'eventsMaxLen'],
    decode: recoverReply,
  },
  'extend-leases': {
    keys: ['workers', 'workerInfo', 'streams...'],
    args: ['group', 'consumer', 'beatTtl', 'info'],
    perJob: ['level', 'entry'],
    decode: strings,
  },
  'get-workers': { keys: ['workers', 'workerInfo'], args: ['limit'], readOnly: true, decode: workersReply },
  pause: { keys: ['meta', 'ctl', 'events'], args: ['paused', 'eventsMaxLen'], decode: none },
  'remove-job': {
    keys: ['id', 'meta', 'delayed', 'completed', 'failed', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'group', 'id', 'eventsMaxLen'],
    decode: statusOf('remove-job'),
  },
  'retry-job': {
    keys: ['id', 'meta', 'failed', 'completed', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'group', 'id', 'eventsMaxLen'],
    decode: statusOf('retry-job'),
  },
  'retry-jobs': {
    keys: ['id', 'meta', 'set', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'limit', 'eventsMaxLen', 'completed', 'skip'],
    decode: retryJobsReply,
  },
  obliterate: {
    keys: ['meta', 'id', 'delayed', 'completed', 'failed', 'events', 'ctl', 'rate', 'schedules', 'scheduleNext', 'scheduleRuns', 'groups...', 'streams...'],
    args: ['base', 'force', 'limit'],
    decode: numberOf('obliterate'),
  },
  'get-counts': { keys: ['meta', 'delayed', 'completed', 'failed', 'groups...', 'streams...'], args: ['base'], readOnly: true, decode: countsReply },
  metrics: { keys: ['meta', 'delayed', 'completed', 'failed', 'groups...', 'streams...'], args: ['base', 'group'], readOnly: true, decode: metricsReply },
  'metrics-history': { keys: ['history', 'historyNow'], args: ['minutes'], readOnly: true, decode: historyReply },
  'get-jobs': {
    keys: ['delayed', 'completed', 'failed', 'groups...', 'streams...'],
    args: ['base', 'group', 'state', 'start', 'stop'],
    binary: true,
    readOnly: true,
    decode: jobsReply,
  },
  'find-jobs': {
    keys: ['streams...'],
    args: ['base', 'group', 'state', 'label', 'jobGroup', 'start', 'count'],
    binary: true,
    readOnly: true,
    decode: foundReply,
  },
  'get-job': { keys: ['completed', 'streams...'], args: ['base', 'group', 'id'], readOnly: true, binary: true, decode: jobReply },
  progress: { keys: ['events', 'streams...'], args: ['base', 'group', 'id', 'progress', 'eventsMaxLen'], decode: statusOf('progress') },
  log: { keys: ['logs', 'streams...'], args: ['base', 'group', 'id', 'line', 'keep'], decode: numberOf('log') },
  'set-rate-limit': { keys: ['meta', 'ctl', 'rate'], args: ['max', 'duration', 'burst'], decode: none },
  'set-concurrency': { keys: ['meta', 'ctl'], args: ['concurrency'], decode: none },
  // A partitioned queue's limit shares (src/redis/share-store.ts).
  'set-share': {
    keys: ['meta', 'ctl', 'rate'],
    args: ['kind', 'total', 'epoch', 'share', 'duration', 'burst', 'expect'],
    decode: moveShareReply('set-share'),
  },
  'lower-share': { keys: ['meta', 'rate'], args: ['kind', 'by', 'epoch'], decode: moveShareReply('lower-share') },
  'raise-share': { keys: ['meta', 'ctl'], args: ['kind', 'by', 'epoch'], decode: moveShareReply('raise-share') },
  'get-shares': { keys: ['meta', 'rate'], args: [], readOnly: true, decode: sharesReply },
  'rebalance-turn': { keys: ['turn'], args: ['consumer', 'ttl'], decode: numberOf('rebalance-turn') },
  'set-group-limit': { keys: ['ctl', 'groups...'], args: ['group', 'rule'], decode: none },
  'upsert-schedule': {
    keys: ['schedules', 'scheduleNext', 'scheduleRuns'],
    args: ['scheduleId', 'definition', 'next', 'limit'],
    decode: scheduleReply('upsert-schedule'),
  },
  'remove-schedule': { keys: ['schedules', 'scheduleNext', 'scheduleRuns'], args: ['scheduleId'], decode: numberOf('remove-schedule') },
  'fire-schedule': {
    keys: ['schedules', 'scheduleNext', 'scheduleRuns', 'id', 'meta', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'eventsMaxLen', 'scheduleId', 'defSha', 'expected', 'next', 'limit', 'jobId', 'name', 'data', 'opts', 'prio', 'group'],
    decode: scheduleReply('fire-schedule'),
  },
  'run-schedule': {
    keys: ['schedules', 'id', 'meta', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'eventsMaxLen', 'scheduleId', 'defSha', 'name', 'data', 'opts', 'prio', 'group'],
    decode: runScheduleReply,
  },
  'promote-delayed': {
    keys: ['id', 'meta', 'delayed', 'failed', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'limit', 'eventsMaxLen'],
    decode: promoteReply,
  },
  'due-schedules': { keys: ['scheduleNext', 'schedules'], args: ['limit'], readOnly: true, binary: true, decode: dueSchedulesReply },
  // Job control (src/redis/control-store.ts).
  'add-deduped': {
    keys: ['id', 'meta', 'delayed', 'completed', 'events', 'ctl', 'locks', 'windows', 'groups...', 'streams...'],
    args: ['base', 'group', 'eventsMaxLen', 'spent', 'key', 'ttl', 'debounce', 'jobId', 'name', 'data', 'opts', 'prio', 'delay', 'runAt', 'jobGroup', 'labels'],
    binary: true,
    decode: dedupedReply,
  },
  'update-data': { keys: ['id', 'events', 'streams...'], args: ['base', 'group', 'id', 'data', 'eventsMaxLen'], decode: controlReply('update-data') },
  'change-priority': { keys: ['id', 'events', 'streams...'], args: ['base', 'group', 'id', 'priority', 'eventsMaxLen'], decode: controlReply('change-priority') },
  'change-delay': {
    keys: ['id', 'meta', 'delayed', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'group', 'id', 'delay', 'runAt', 'eventsMaxLen'],
    decode: controlReply('change-delay'),
  },
  'promote-job': {
    keys: ['id', 'meta', 'delayed', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'group', 'id', 'eventsMaxLen'],
    decode: controlReply('promote-job'),
  },
  drain: {
    keys: ['meta', 'delayed', 'events', 'groups...', 'streams...'],
    args: ['base', 'group', 'limit', 'eventsMaxLen'],
    decode: numberOf('drain'),
  },
  cancel: {
    keys: ['meta', 'delayed', 'failed', 'events', 'ctl', 'groups...', 'streams...'],
    args: ['base', 'group', 'id', 'reason', 'eventsMaxLen'],
    decode: controlReply('cancel'),
  },
} as const satisfies Record<string, ScriptSpec>;

export type ScriptName = keyof typeof SCRIPTS;
export type ArgValue = string | number | Buffer;

type Spec<N extends ScriptName> = (typeof SCRIPTS)[N];
type KeyName<K extends string> = K extends `${infer Base}...` ? Base : K;
type KeyValue<K extends string> = K extends `${string}...` ? readonly string[] : string;
export type ScriptKeys<N extends ScriptName> = { [K in Spec<N>['keys'][number] as KeyName<K>]: KeyValue<K> };
export type ScriptArgs<N extends ScriptName> = { [K in Spec<N>['args'][number]]: ArgValue };
export type JobArgs<N extends ScriptName> = Spec<N> extends { perJob: readonly (infer P extends string)[] } ? { [K in P]: ArgValue } : never;
export type ScriptReply<N extends ScriptName> = ReturnType<Spec<N>['decode']>;

interface LoadedScript {
  readonly sha: string;
  readonly source: string;
}

const loaded = new Map<ScriptName, LoadedScript>();

function script(name: ScriptName): LoadedScript {
  let found = loaded.get(name);
  if (found === undefined) {
    const source = loadLua(name);
    found = { sha: sha1(source), source };
    loaded.set(name, found);
  }
  return found;
}

/**
 * The EVAL way, for a Redis without Functions (6.2) or a user whose ACL refuses FUNCTION LOAD: EVALSHA by
 * the script's content SHA (two sluice versions on one Redis never run each other's scripts), and EVAL, which
 * loads it, when Redis answers NOSCRIPT (a first call, a restarted or flushed Redis). On a Cluster each call
 * goes to the master of its first key's slot, and every key of a queue shares that slot, so the NOSCRIPT and
 * the EVAL come from and go to the same master. Framed as FCALL is (frame.ts), not by ioredis' defineCommand.
 */
async function evalScript(client: RedisClient, name: ScriptName, params: ArgValue[]): Promise<unknown> {
  const { sha, source } = script(name);
  const binary = (SCRIPTS[name] as ScriptSpec).binary === true;
  try {
    return await sendFramed(client, 'EVALSHA', [sha, ...params], binary);
  } catch (error) {
    if (!replyMessage(error).startsWith('NOSCRIPT')) throw error;
    return sendFramed(client, 'EVAL', [source, ...params], binary);
  }
}

let library: Library | undefined;

/** Every script as one Functions library, built on first use. */
export function scriptLibrary(): Library {
  library ??= loadLibrary(
    Object.entries(SCRIPTS).map(([name, spec]: [string, ScriptSpec]) => ({ name, readOnly: spec.readOnly === true })),
  );
  return library;
}

/**
 * How a client runs scripts: by FCALL of the library (the default, Redis 7), or by EVALSHA once Redis has
 * shown it cannot load the library. A client starts with FCALL; the first "function not found" loads the
 * library (on every master of a Cluster) and calls again, as NOSCRIPT does for EVALSHA.
 */
const evalOnly = new WeakSet<RedisClient>();
const loading = new WeakMap<RedisClient, Promise<boolean>>();

/** Runs scripts of `client` by EVALSHA from now on, as on a Redis without Functions (tests of that path). */
export function useEvalScripts(client: RedisClient): void {
  evalOnly.add(client);
}

function functionMissing(error: unknown): boolean {
  return replyMessage(error).startsWith('ERR Function not found');
}

/** Redis has no Functions (6.2: FCALL or FUNCTION unknown), or this user may not call or load them. */
function functionsRefused(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const message = replyMessage(error).toLowerCase();
  return message.startsWith('err unknown command') || (message.startsWith('noperm') && /fcall|function/.test(message));
}

/**
 * Loads the library; true when it is there now, false when Redis refuses Functions (then the client runs
 * scripts by EVALSHA). Concurrent first calls share one load.
 */
function loadOnce(client: RedisClient): Promise<boolean> {
  let pending = loading.get(client);
  if (pending === undefined) {
    const { source } = scriptLibrary();
    const targets: RedisClient[] = client instanceof Cluster ? client.nodes('master') : [client];
    pending = Promise.all(
      targets.map((target) =>
        target.call('FUNCTION', 'LOAD', source).then(
          () => true,
          (error: unknown) => {
            // Another process (or another call of ours) loaded it first.
            if (error instanceof Error && / already exists/.test(error.message)) return true;
            if (functionsRefused(error)) return false;
            throw error;
          },
        ),
      ),
    ).then((answers) => answers.every(Boolean));
    loading.set(client, pending);
    // A later "function not found" (FUNCTION FLUSH, a restart without persistence) loads again.
    void pending.then(
      () => loading.delete(client),
      () => loading.delete(client),
    );
  }
  return pending;
}

/**
 * A read-only script goes by FCALL_RO: Redis then checks only read access to its keys, so a user whose ACL
 * lets it read a queue's keys and no more (the sluice-reader rule of docs/guide/redis-setup.md) can run it; FCALL asks for write access
 * to every key it is given.
 */
function fcall(client: RedisClient, name: ScriptName, params: ArgValue[]): Promise<unknown> {
  const fn = scriptLibrary().functions.get(name) as string;
  const spec = SCRIPTS[name] as ScriptSpec;
  const command = spec.readOnly === true ? 'FCALL_RO' : 'FCALL';
  return sendFramed(client, command, [fn, ...params], spec.binary === true);
}

async function run(client: RedisClient, name: ScriptName, params: ArgValue[]): Promise<unknown> {
  if (!evalOnly.has(client)) {
    try {
      return await fcall(client, name, params);
    } catch (error) {
      if (!functionMissing(error) && !functionsRefused(error)) throw error;
      if (functionMissing(error) && (await loadOnce(client))) return fcall(client, name, params);
      evalOnly.add(client);
    }
  }
  return evalScript(client, name, params);
}

function flatten(names: readonly string[], values: Record<string, unknown>, into: ArgValue[], what: string): void {
  for (const raw of names) {
    const name = raw.endsWith('...') ? raw.slice(0, -3) : raw;
    const value = values[name];
    if (value === undefined) throw new Error(`script ${what}: missing '${name}'`);
    if (raw.endsWith('...')) into.push(...(value as readonly ArgValue[]));
    else into.push(value as ArgValue);
  }
}

/**
 * The per-job values of a packed script as one value: each a 4-byte big-endian length and its bytes
 * (strings in UTF-8, numbers in decimal), job after job, in the spec's perJob order; the script reads them
 * back with struct.unpack (lua/includes/packed.lua). ioredis spends about 650 ns on every argument of a
 * command (building it, framing it, copying it), so a complete of 64 jobs at 9 values each cost 6 µs per
 * job in the worker as separate arguments; packed, a drain's worker CPU went from about 28 to 21 µs per
 * job and a bulk add's producer CPU from about 10 to 6. Redis reads a packed value for about what an ARGV
 * value costs it (905 against 859 instructions, npm run bench:lua-costs).
 */
export function packJobs(names: readonly string[], jobs: readonly object[], what: string): Buffer {
  const parts: (Buffer | string)[] = [];
  for (const job of jobs) {
    for (const name of names) {
      const value = (job as Record<string, ArgValue | undefined>)[name];
      if (value === undefined) throw new Error(`script ${what}: missing '${name}'`);
      parts.push(Buffer.isBuffer(value) ? value : String(value));
    }
  }
  return lengthPrefixed(parts);
}

/**
 * How long a script call refused because its slot is being migrated is sent again, in all, on a client
 * without a commandTimeout (a Worker's); a Queue's waits its commandTimeout. ioredis retries a TRYAGAIN
 * itself, on a random master every 100 ms, and gives up after 16 redirections, about 1 s (each TRYAGAIN
 * sent to a master that does not serve the slot costs a MOVED besides); a slot of a few thousand keys
 * migrates in well under that, one whose stream holds a large backlog can take seconds. A settle that gave
 * up would leave its job active until its lease ran out and another worker ran it again.
 */
const MIGRATION_WAIT_MS = 10_000;
const MIGRATION_PAUSE_MS = 100;

/**
 * ioredis gave up on a call after its redirections, the last a TRYAGAIN, ASK or MOVED: every node that
 * answered refused it before running it (a slot being migrated, or moved meanwhile), so it may be sent again.
 */
function refusedByRedirections(error: unknown): boolean {
  return error instanceof Error && GAVE_UP.test(error.message) && /^(TRYAGAIN|ASK|MOVED) /.test(replyMessage(error));
}

/** How long `client`'s calls keep being sent while their slot migrates: its commandTimeout, else MIGRATION_WAIT_MS. */
function migrationWait(client: Cluster): number {
  return client.options.redisOptions?.commandTimeout ?? MIGRATION_WAIT_MS;
}

/**
 * Runs one script with named keys and arguments; per-job values follow the shared ones, packed into one
 * value (packJobs). Resolves with the reply as the script's decoder reads it.
 *
 * On a Redis Cluster the call names one more key, last: the queue's guard (src/keys.ts guardKey), which
 * never exists, so Redis refuses the script whole while its slot is being migrated instead of running it
 * half (lua/includes/keys.lua streamKeys leaves the guard out). A call refused that way ran nowhere and is
 * sent again until the migration ends or migrationWait() has passed.
 */
export async function runScript<N extends ScriptName>(
  client: RedisClient,
  name: N,
  keys: ScriptKeys<N>,
  args: ScriptArgs<N>,
  jobs?: readonly JobArgs<N>[],
): Promise<ScriptReply<N>> {
  const spec = SCRIPTS[name] as ScriptSpec;
  const keyList: ArgValue[] = [];
  flatten(spec.keys, keys, keyList, name);
  const cluster = client instanceof Cluster;
  if (cluster) keyList.push(guardKey(String(keyList[0])));
  const argList: ArgValue[] = [];
  flatten(spec.args, args, argList, name);
  if (spec.perJob !== undefined) argList.push(packJobs(spec.perJob, jobs ?? [], name));
  const params = [keyList.length, ...keyList, ...argList];
  const reply = await (cluster ? runWhileMigrating(client, name, params) : run(client, name, params)).catch(throwRedisFailure);
  return spec.decode(reply) as ScriptReply<N>;
}

/** run() on a Cluster, sent again while Redis refuses it for a slot migration (runScript), up to migrationWait(). */
async function runWhileMigrating(client: Cluster, name: ScriptName, params: ArgValue[]): Promise<unknown> {
  const deadline = performance.now() + migrationWait(client);
  for (;;) {
    try {
      return await run(client, name, params);
    } catch (error) {
      if (!refusedByRedirections(error) || performance.now() + MIGRATION_PAUSE_MS > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, MIGRATION_PAUSE_MS));
    }
  }
}
