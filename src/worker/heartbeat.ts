import { hostname } from 'node:os';

/**
 * The worker registry's one format, both ways: what a Worker says of itself at each heartbeat (written by
 * extend-leases, on the lease timer that already runs every heartbeatInterval: no timer, connection or
 * round trip of its own while jobs run, one small call per interval while idle), and what
 * `queue.getWorkers()` reads back.
 *
 * A worker counts as alive until BEATS_TO_LIVE of its heartbeats in a row are missed: its entry in the
 * registry's sorted set is scored by that deadline (Redis' clock), getWorkers lists only the ones before
 * it, and the next beat of any worker of the queue deletes it (extend-leases, 10 per beat). A worker that
 * closes deletes its own entry at once.
 */

/**
 * 3 missed heartbeats: with the default heartbeatInterval (stalledTimeout / 3) a dead worker drops out
 * when its jobs become stalled, after 30 s; one missed beat (a GC pause, a slow Redis) is not death.
 */
export const BEATS_TO_LIVE = 3;

/** One worker alive, as queue.getWorkers() lists it. */
export interface WorkerInfo {
  /** Its consumer name, `<name>:<pid>:<random>`: the `processedBy` of the jobs it runs. */
  id: string;
  /** The host it runs on (os.hostname()). */
  host: string;
  /** Its process id on that host. */
  pid: number;
  /** Jobs it may run at once, as set at its last heartbeat. */
  concurrency: number;
  /** Jobs it was running at its last heartbeat. */
  running: number;
  /** Its own pause (worker.pause()), not the queue's. */
  paused: boolean;
  /** When the Worker was constructed, on its own clock. */
  startedAt: Date;
  /** Its last heartbeat, on Redis' clock. */
  lastHeartbeat: Date;
  /** ms between its heartbeats; it drops out after BEATS_TO_LIVE (3) of them are missed. */
  heartbeatInterval: number;
}

/** What a worker says of itself at a beat. */
export interface Presence {
  concurrency: number;
  running: number;
  paused: boolean;
}

/** The stored form: short keys, JSON so redis-cli shows it as it is. */
interface Stored {
  host: string;
  pid: number;
  conc: number;
  run: number;
  paused: 0 | 1;
  start: number;
  every: number;
}

/** The heartbeat of one worker: its fixed facts, and each beat's description of it. */
export class Heartbeat {
  readonly #fixed: Pick<Stored, 'host' | 'pid' | 'start' | 'every'>;

  constructor(readonly intervalMs: number) {
    this.#fixed = { host: hostname(), pid: process.pid, start: Date.now(), every: intervalMs };
  }

  /** How long a beat keeps the worker listed. */
  get ttlMs(): number {
    return BEATS_TO_LIVE * this.intervalMs;
  }

  describe(presence: Presence): string {
    const stored: Stored = { ...this.#fixed, conc: presence.concurrency, run: presence.running, paused: presence.paused ? 1 : 0 };
    return JSON.stringify(stored);
  }
}

/** A registry entry read back, or undefined when its info is missing or not this format (written by hand). */
export function readWorker(id: string, deadline: number, info: string | null): WorkerInfo | undefined {
  if (info === null) return undefined;
  let stored: Partial<Stored>;
  try {
    stored = JSON.parse(info) as Partial<Stored>;
  } catch {
    return undefined;
  }
  const { host, pid, conc, run, paused, start, every } = stored;
  if (typeof host !== 'string' || typeof every !== 'number' || ![pid, conc, run, start].every((n) => typeof n === 'number')) return undefined;
  return {
    id,
    host,
    pid: pid as number,
    concurrency: conc as number,
    running: run as number,
    paused: paused === 1,
    startedAt: new Date(start as number),
    lastHeartbeat: new Date(deadline - BEATS_TO_LIVE * every),
    heartbeatInterval: every,
  };
}
