import { PartitionedQueueError } from '../errors.js';
import type { ShareRead } from '../redis/replies.js';
import type { ShareKind, ShareStore } from '../redis/share-store.js';
import type { QueueStore } from '../redis/store.js';
import { Status } from '../redis/status.js';

/**
 * A partitioned queue's queue-wide concurrency or sliding-window rate limit as shares that follow the load
 * (docs/ARCHITECTURE.md, "shares that follow the load"). Each partition's claim enforces its own share
 * exactly, as before; what is new is that shares move, and that at no instant do they add up to more than
 * the queue-wide total:
 *
 * - a move is two scripts in two slots, lower-share on the giver and then raise-share on the receiver, and
 *   the receiver is raised only once the giver uses no more than its lowered share (the lower's reply, or a
 *   later read, says so): from then on its claim keeps it there, so the budget moved is unused;
 * - every share belongs to a pool, "<total> <epoch>" in its partition's meta. Moves carry the epoch they read
 *   and a partition of another epoch refuses them. A set or a repair takes a new epoch (only ever higher) and
 *   writes every partition in two steps: set-share (pool and a share that only goes down), then raise-share
 *   up to the target within what no partition uses;
 * - budget a crash lost (a lower without its raise) shows as shares adding up to less than the total; the
 *   next rebalance repairs it with a new epoch, which also fences off any raise still on its way.
 */

/** One partition as the rebalancer sees it for one kind of limit. */
export interface ShareView extends ShareRead {
  /** Jobs ready to start (waiting, grouped ones too). */
  readonly waiting: number;
  /** A claim waits at this partition's concurrency (meta active's wait mark). */
  readonly waited: boolean;
}

/**
 * Each partition's fair share of `total` by what it could use now (running plus waiting, at least 1): every
 * demand met when they fit, and the rest left with the partitions that hold it; otherwise the most a
 * partition gets is the level where the shares add up to `total` (water-filling), the remainder to those
 * holding most (fewer moves). Adds up to `total`; needs `total` >= the partition count.
 */
export function planTargets(demand: readonly number[], shares: readonly number[], total: number): number[] {
  const wants = demand.map((d) => Math.max(1, Math.min(Math.floor(d), total)));
  const wanted = sum(wants);
  if (wanted <= total) {
    const targets = [...wants];
    let left = total - wanted;
    targets.forEach((target, p) => {
      const kept = Math.min(Math.max(0, (shares[p] ?? 0) - target), left);
      targets[p] = target + kept;
      left -= kept;
    });
    for (let p = 0; left > 0; p = (p + 1) % targets.length, left--) targets[p] = (targets[p] as number) + 1;
    return targets;
  }
  let low = 1;
  let high = total;
  while (low < high) {
    const level = Math.ceil((low + high) / 2);
    if (sum(wants.map((w) => Math.min(w, level))) <= total) low = level;
    else high = level - 1;
  }
  const targets = wants.map((w) => Math.min(w, low));
  let left = total - sum(targets);
  const short = wants.map((w, p) => ({ p, held: shares[p] ?? 0, short: w > low })).filter((s) => s.short);
  short.sort((a, b) => b.held - a.held || a.p - b.p);
  for (const { p } of short) {
    if (left <= 0) break;
    targets[p] = (targets[p] as number) + 1;
    left--;
  }
  return targets;
}

/** A move of `by` from partition `from` to partition `to`. */
export interface Move {
  readonly from: number;
  readonly to: number;
  readonly by: number;
}

/**
 * The moves toward `targets`: to each partition below its target that is held back by its share (jobs wait
 * and its share is used up), from those above theirs, at most one move per pair. Partitions in `busy` (a
 * move of theirs not finished) are left out.
 */
export function planMoves(views: readonly ShareView[], targets: readonly number[], busy: ReadonlySet<number> = new Set()): Move[] {
  const room = views.map((view, p) => (busy.has(p) ? 0 : Math.max(0, view.share - (targets[p] ?? view.share))));
  const need = views.map((view, p) => (busy.has(p) || !held(view) ? 0 : Math.max(0, (targets[p] ?? view.share) - view.share)));
  const givers = indexes(room).sort((a, b) => (room[b] as number) - (room[a] as number) || a - b);
  const takers = indexes(need).sort((a, b) => (need[b] as number) - (need[a] as number) || a - b);
  const moves: Move[] = [];
  for (const to of takers) {
    for (const from of givers) {
      const by = Math.min(room[from] as number, need[to] as number);
      if (by <= 0) continue;
      moves.push({ from, to, by });
      room[from] = (room[from] as number) - by;
      need[to] = (need[to] as number) - by;
    }
  }
  return moves;
}

/** Jobs wait and the share holds them back. */
function held(view: ShareView): boolean {
  return view.waiting > 0 && (view.used >= view.share || view.waited);
}

/** One partition's stores: the share verbs, and its QueueStore for the metrics (waiting jobs). */
export interface SharePart {
  readonly shares: ShareStore;
  readonly queue: QueueStore;
}

/** A pool's two steps on every partition (a set, a repair). */
export interface PoolWrite {
  readonly kind: ShareKind;
  readonly total: number;
  readonly targets: readonly number[];
  readonly duration: number;
  /** A smooth rate limit's burst shares (no pool, no moves); undefined otherwise. */
  readonly bursts?: readonly number[];
  /** A repair: the epoch it read on each partition. */
  readonly expect?: readonly number[];
}

/**
 * Writes a pool with a new epoch: every partition's share lowered to at most its target, then raised to it
 * where what the partitions use leaves room (a partition lowered below what it runs holds the rest until
 * its jobs end; a later rebalance hands it out). Returns 'stale' when a newer epoch got to a partition first,
 * 'done' otherwise.
 */
export async function writePool(parts: readonly SharePart[], write: PoolWrite): Promise<'done' | 'stale'> {
  const first = parts[0];
  if (first === undefined) throw new RangeError('no partitions');
  const epoch = await first.shares.nextEpoch();
  const written = await Promise.all(
    parts.map((part, p) =>
      part.shares.set({
        kind: write.kind,
        total: write.total,
        epoch,
        share: write.total <= 0 ? 0 : (write.targets[p] as number),
        duration: write.duration,
        burst: write.bursts?.[p] ?? -1,
        ...(write.expect === undefined ? {} : { expect: write.expect[p] }),
      }),
    ),
  );
  if (written.some((w) => w.status !== Status.OK)) return 'stale';
  if (write.total <= 0 || write.bursts !== undefined) return 'done';
  // Room: what no partition holds, by its share or by what it runs above its share.
  let room = write.total - sum(written.map((w) => Math.max(w.share, w.used)));
  for (const [p, w] of written.entries()) {
    const by = Math.min((write.targets[p] as number) - w.share, room);
    if (by <= 0) continue;
    const raised = await (parts[p] as SharePart).shares.raise(write.kind, by, epoch);
    if (raised.status !== Status.OK) return 'stale';
    room -= by;
  }
  return 'done';
}

/**
 * A set by the user (Queue.setConcurrency, setRateLimit): the even split as a new pool, tried again when a
 * repair's newer epoch got to a partition first. A set that changes nothing (the same total, the same
 * window, every partition in one pool) is left alone, so the shares stay where the load moved them: a
 * process calling setConcurrency as it starts does not undo the rebalancing.
 */
export async function setPool(name: string, parts: readonly SharePart[], write: Omit<PoolWrite, 'expect'>): Promise<void> {
  if (write.total > 0 && write.bursts === undefined) {
    const reads = await Promise.all(parts.map((part) => part.shares.read()));
    const pools = reads.map((read) => (write.kind === 'rate' ? read.rate : read.concurrency));
    const same = pools.every((pool) => pool.epoch === pools[0]?.epoch && pool.epoch > 0 && pool.total === write.total);
    const window = write.kind === 'concurrency' || reads.every((read) => read.rate.duration === write.duration);
    if (same && window) return;
  }
  for (let attempt = 0; attempt < SET_ATTEMPTS; attempt++) {
    if ((await writePool(parts, write)) === 'done') return;
  }
  throw new PartitionedQueueError(
    `queue '${name}': the ${write.kind === 'rate' ? 'rate limit' : 'concurrency'} was written ${SET_ATTEMPTS} times and each time ` +
      'a newer set of it reached a partition first; another process is changing it at the same time: try again',
  );
}

/** A set races a repair at most once per rebalance interval: a handful of tries is plenty. */
const SET_ATTEMPTS = 5;

/** A move whose giver was still using the budget: its receiver is raised once a read shows it unused. */
interface Pending extends Move {
  readonly kind: ShareKind;
  readonly epoch: number;
}

/**
 * The rebalancer of a partitioned Worker: every `intervalMs` the Worker holding the turn (lua/rebalance-turn.lua)
 * reads every partition's shares (one get-shares each; with a pool, one metrics read each for the waiting
 * jobs) and moves shares toward planTargets, or repairs a pool whose shares do not add up to its total. A
 * queue without a queue-wide limit costs one get-shares per partition per interval on one Worker, and every
 * other Worker one turn call.
 */
export class ShareMover {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #pending: Pending[] = [];

  constructor(
    private readonly parts: readonly SharePart[],
    private readonly consumer: string,
    private readonly intervalMs: number,
    private readonly onError: (error: Error) => void,
  ) {}

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), this.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer, waits for a rebalance under way, and gives the turn back. */
  async stop(): Promise<void> {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
    await this.#first.shares.takeTurn(this.consumer, 0).catch(() => undefined);
  }

  get #first(): SharePart {
    return this.parts[0] as SharePart;
  }

  #tick(): void {
    if (this.#running !== undefined) return;
    this.#running = this.rebalance()
      .catch((error: unknown) => this.onError(error as Error))
      .finally(() => (this.#running = undefined));
  }

  /** One round: take the turn, read, move or repair. Exposed for tests. */
  async rebalance(): Promise<void> {
    // Three intervals: one late timer does not hand the turn to another Worker.
    if (!(await this.#first.shares.takeTurn(this.consumer, this.intervalMs * 3))) {
      this.#pending = [];
      return;
    }
    const reads = await Promise.all(this.parts.map((part) => part.shares.read()));
    const kinds = (['concurrency', 'rate'] as const).filter((kind) => reads.every((read) => read[kind].epoch > 0));
    this.#pending = this.#pending.filter((move) => kinds.includes(move.kind));
    if (kinds.length === 0) return;
    const metrics = await Promise.all(this.parts.map((part) => part.queue.getMetrics()));
    for (const kind of kinds) {
      const views = reads.map((read, p): ShareView => {
        const waiting = (metrics[p]?.waiting ?? 0) + (metrics[p]?.waitingGrouped ?? 0);
        return { ...read[kind], waiting, waited: kind === 'concurrency' && read.waited };
      });
      await this.#balance(kind, views, reads[0]?.rate.duration ?? 0);
    }
  }

  async #balance(kind: ShareKind, read: readonly ShareView[], duration: number): Promise<void> {
    const views = await this.#raisePending(kind, read);
    const newest = views.reduce((a, b) => (b.epoch > a.epoch ? b : a));
    const inFlight = sum(this.#pending.filter((move) => move.kind === kind).map((move) => move.by));
    const targets = planTargets(
      views.map((view) => view.used + view.waiting),
      views.map((view) => view.share),
      newest.total,
    );
    if (views.some((view) => view.epoch !== newest.epoch) || sum(views.map((view) => view.share)) + inFlight !== newest.total) {
      // A crash between a lower and its raise, a set cut short, or moves of another Worker under way: one
      // new pool, which no raise of the old one can add to.
      this.#pending = this.#pending.filter((move) => move.kind !== kind);
      const expect = views.map((view) => view.epoch);
      await writePool(this.parts, { kind, total: newest.total, targets, duration, expect });
      return;
    }
    const busy = new Set(this.#pending.filter((move) => move.kind === kind).flatMap((move) => [move.from, move.to]));
    for (const move of planMoves(views, targets, busy)) {
      const lowered = await (this.parts[move.from] as SharePart).shares.lower(kind, move.by, newest.epoch);
      if (lowered.status !== Status.OK) continue;
      const pending: Pending = { ...move, kind, epoch: newest.epoch };
      if (lowered.used <= lowered.share) await this.#raise(pending);
      else this.#pending.push(pending);
    }
  }

  /**
   * Raises the receivers of moves whose givers now use no more than their share; drops those of another
   * epoch. Returns the views with the raised shares.
   */
  async #raisePending(kind: ShareKind, read: readonly ShareView[]): Promise<ShareView[]> {
    const views = [...read];
    const waiting: Pending[] = [];
    for (const move of this.#pending) {
      const giver = views[move.from];
      const taker = views[move.to];
      if (move.kind !== kind || giver === undefined || taker === undefined) {
        waiting.push(move);
      } else if (giver.epoch === move.epoch && giver.used <= giver.share) {
        const share = await this.#raise(move);
        if (share !== undefined) views[move.to] = { ...taker, share };
      } else if (giver.epoch === move.epoch) {
        waiting.push(move);
      }
    }
    this.#pending = waiting;
    return views;
  }

  /** The receiver's new share; undefined when STALE (a newer pool took its budget into account). */
  async #raise(move: Pending): Promise<number | undefined> {
    const raised = await (this.parts[move.to] as SharePart).shares.raise(move.kind, move.by, move.epoch);
    return raised.status === Status.OK ? raised.share : undefined;
  }
}

function indexes(values: readonly number[]): number[] {
  return values.flatMap((value, p) => (value > 0 ? [p] : []));
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
