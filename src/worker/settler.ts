import type { ClaimResult, CompleteReply, SettleReply } from '../redis/replies.js';
import type { StatusCode } from '../redis/status.js';
import type { CompleteInput, FailInput, QueueStore, ReleaseInput } from '../redis/store.js';

/** Most settles per script call: bounds one call's Redis time (~1 ms per 1,000) and its ARGV size. */
const MAX_BATCH = 1000;

/** How one settle went: its status, and Redis' time of the call that made it. */
export interface Settled {
  status: StatusCode;
  at: number;
}

interface Pending<T> {
  input: T;
  resolve: (settled: Settled) => void;
  reject: (error: unknown) => void;
}

/** Who claims, when a complete call claims too: the worker's consumer, and claim's promotion bound. */
export interface Claimer {
  readonly consumer: string;
  readonly promoteLimit: number;
}

/** The claim loop's turn, handed to the next complete call (claimAlong). */
interface ClaimTurn {
  /** How many jobs to claim, asked as the call leaves; 0 claims nothing. */
  count: () => number;
  /** The claim's handoff argument (src/worker/handoff.ts), asked after count() when it is not 0. */
  wait: () => string;
  resolve: (claimed: ClaimResult | undefined) => void;
  reject: (error: unknown) => void;
}

/**
 * Batches settles. Every completion, failure or release of one event-loop turn goes to Redis in one script
 * call per kind; while a call is in flight, the next batch gathers. At low load a settle goes out on the
 * next turn (no timer, no added latency); at high load one call settles up to 1,000 jobs.
 *
 * A complete that also claims. The Worker's claim loop stays the only claimer: about to claim, it first
 * offers its turn here (claimAlong). When completions are gathering for a call that has not left and no
 * call is in flight, that complete call takes the turn: after settling its batch it claims up to count()
 * jobs (asked as it leaves, so slots freed meanwhile count too, and none once the worker is closing), and
 * its claim reply goes to the claim loop, which starts the jobs, or waits idle on the ids of an EMPTY or
 * PAUSED reply, as with its own claim's. Otherwise the claim loop claims on its own at once: a turn that
 * waited for a call in flight and the batch behind it would only delay the claim. The claim loop waits for
 * the turn's answer, so one claim at most is out and no slot is claimed twice. Fail and release calls
 * never claim. At concurrency 1 this is one script call per job instead of a claim and a complete: 20.4 ->
 * 16.05 Redis commands per job (docs/ARCHITECTURE.md, Batching).
 *
 * Every batch waits one setImmediate before it leaves, not only the first: a completion frees its slot and
 * wakes the claim loop a few microtasks before that loop can offer its turn, and a batch taken at once
 * (when the call before was answered in the same turn) left without it, for 3 jobs in 4 at concurrency 1.
 *
 * States of the turn: none -> offered (claimAlong while a batch gathers) -> sent (with that batch's call)
 * -> answered (the call's claim reply, or undefined when count() said 0).
 */
export class Settler {
  #completes: Pending<CompleteInput>[] = [];
  #fails: Pending<FailInput>[] = [];
  #releases: Pending<ReleaseInput>[] = [];
  #pumping: Promise<void> | undefined;
  /**
   * Script calls out. The next batch leaves once they are all answered: a claim turn offered meanwhile
   * would wait for them, so claimAlong refuses it (counted down before a call's settles are answered, so
   * a job that starts and ends within those answers still finds the way open).
   */
  #out = 0;
  #turn: ClaimTurn | undefined;

  constructor(
    private readonly store: QueueStore,
    private readonly claimer: Claimer,
    /** Called when a settle call wrote notes for jobs in other Cluster slots (SettleReply.noted): relay them. */
    private readonly onNoted: () => void = () => undefined,
  ) {}

  complete(input: CompleteInput): Promise<Settled> {
    return new Promise((resolve, reject) => {
      this.#completes.push({ input, resolve, reject });
      this.#pump();
    });
  }

  fail(input: FailInput): Promise<Settled> {
    return new Promise((resolve, reject) => {
      this.#fails.push({ input, resolve, reject });
      this.#pump();
    });
  }

  release(input: ReleaseInput): Promise<Settled> {
    return new Promise((resolve, reject) => {
      this.#releases.push({ input, resolve, reject });
      this.#pump();
    });
  }

  /**
   * Takes the claim loop's turn into the complete call about to leave: resolves with what it claimed
   * (undefined when count() said 0), or rejects as the call does. Returns undefined when no complete call
   * is about to leave: then the caller claims on its own.
   */
  claimAlong(count: () => number, wait: () => string = () => '0'): Promise<ClaimResult | undefined> | undefined {
    if (this.#completes.length === 0 || this.#out > 0 || this.#turn !== undefined) return undefined;
    return new Promise((resolve, reject) => (this.#turn = { count, wait, resolve, reject }));
  }

  #waiting(): boolean {
    return this.#completes.length > 0 || this.#fails.length > 0 || this.#releases.length > 0;
  }

  /** Resolves when every settle handed over so far has been answered by Redis. */
  async drain(): Promise<void> {
    while (this.#pumping !== undefined) await this.#pumping;
  }

  #pump(): void {
    if (this.#pumping !== undefined) return;
    this.#pumping = this.#run().finally(() => {
      this.#pumping = undefined;
      // Settles that arrived after the last batch was taken.
      if (this.#waiting()) this.#pump();
    });
  }

  async #run(): Promise<void> {
    do {
      // Let the rest of this turn's settles join the batch, and the claim loop offer its turn (claimAlong).
      await new Promise<void>((resolve) => setImmediate(resolve));
      const completes = this.#completes.splice(0, MAX_BATCH);
      const fails = this.#fails.splice(0, MAX_BATCH);
      const releases = this.#releases.splice(0, MAX_BATCH);
      const turn = this.#turn;
      this.#turn = undefined;
      await Promise.all([
        this.#complete(completes, turn),
        this.#send(fails, (inputs) => this.store.fail(inputs, this.claimer.consumer)),
        this.#send(releases, (inputs) => this.store.release(inputs)),
      ]);
    } while (this.#waiting());
  }

  /** One complete call for `batch`, claiming too when it carries the claim loop's turn. */
  async #complete(batch: Pending<CompleteInput>[], turn: ClaimTurn | undefined): Promise<void> {
    // Never left unanswered: the claim loop waits for it (a turn always comes with completions).
    if (batch.length === 0) return turn?.resolve(undefined);
    const count = turn?.count() ?? 0;
    let reply: CompleteReply;
    this.#out++;
    try {
      reply = await this.store.complete(
        batch.map((p) => p.input),
        count > 0 && turn !== undefined ? { ...this.claimer, count, wait: turn.wait() } : undefined,
        this.claimer.consumer,
      );
    } catch (error) {
      this.#out--;
      for (const p of batch) p.reject(error);
      turn?.reject(error);
      return;
    }
    this.#out--;
    if (reply.noted) this.onNoted();
    answer(batch, reply);
    turn?.resolve(reply.claimed);
  }

  async #send<T>(batch: Pending<T>[], call: (inputs: T[]) => Promise<SettleReply>): Promise<void> {
    if (batch.length === 0) return;
    let reply: SettleReply;
    this.#out++;
    try {
      reply = await call(batch.map((p) => p.input));
    } catch (error) {
      this.#out--;
      for (const p of batch) p.reject(error);
      return;
    }
    this.#out--;
    if (reply.noted) this.onNoted();
    answer(batch, reply);
  }
}

function answer<T>(batch: Pending<T>[], { statuses, at }: SettleReply): void {
  batch.forEach((p, i) => p.resolve({ status: statuses[i] as StatusCode, at }));
}
