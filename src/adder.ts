import { RedisTimeoutError, RedisUnavailableError, ScriptError } from './errors.js';
import type { AddInput, QueueStore } from './redis/store.js';

/**
 * Jobs per add script call. A call of 1,000 took about 6 ms of Redis time, during which no claim of any
 * worker runs, and its jobs were written only once all of them had been serialized: the first jobs due in a
 * bulk of delayed jobs started 25-60 ms late. 200 keeps a call near a millisecond; the calls of one flush go
 * out pipelined, so Redis runs one while the client serializes the next.
 */
export const ADD_CHUNK = 200;

/** One job's outcome: written (or found: `duplicate`), with the ms its call had spent when it was sent; or why not. */
export type AddOutcome = { id: string; duplicate: boolean; spent: number } | { error: Error };

/** What an add or addBulk call gets back: an outcome per job, in input order, and what WAIT said, if asked. */
export interface AddReply {
  outcomes: AddOutcome[];
  /** Replicas that acknowledged the flush (durability), the WAIT's error, or undefined without durability. */
  replicated: number | Error | undefined;
}

interface Request {
  readonly inputs: readonly AddInput[];
  /** performance.now() at the add() call: delays count from it. */
  readonly called: number;
  readonly outcomes: AddOutcome[];
  readonly resolve: (reply: AddReply) => void;
  readonly reject: (error: unknown) => void;
}

export interface AdderOptions {
  /** undefined when the queue is known to be set up; else a promise that sets it up (QueueSetUp.pending). */
  readonly ready: () => Promise<void> | undefined;
  readonly durability: { replicas: number; timeoutMs: number } | undefined;
}

/**
 * Gathers the adds of one Queue into shared add script calls, as the worker's Settler gathers settles.
 *
 * States: idle (nothing pending, nothing in flight) -> flushing (one flush in flight: every request that
 * was pending when it started, sent as calls of up to 200 jobs, pipelined) -> gathering (the flush came
 * back; the rest of this event-loop turn may add more) -> flushing again if anything is pending, else idle.
 *
 * An add that finds the Adder idle is sent on the next microtask, so the adds of one synchronous run
 * (`Promise.all(items.map(add))`) share a call and a lone add waits for nothing: no timer, no added
 * latency. Adds made while a flush is in flight wait for it and leave together at the end of the turn
 * in which it came back (setImmediate), which is also when the callers it answered have made their next
 * adds: with 100 adds kept in flight from one process, each flush carries about 100 jobs in one call
 * instead of 100 calls of one. A flush of one lone add that finds nothing pending goes idle at once
 * instead: its caller's next add starts a flush of its own, without the end-of-turn hop.
 *
 * Order is kept: flushes go one at a time and in each the jobs go in the order their calls joined, all
 * on the Queue's one connection, so jobs added one after another are written one after another.
 *
 * Each job's delay counts from its own add() call although the script takes one `spent` per call (the
 * time from add() to the send, lua/add.lua): the call says the oldest job's, and the delay of each later
 * job is lengthened by how much later it was called (`delay + spent - own`), which gives the due time it
 * would have had alone. Its `timestamp` (the call's `created`) is the oldest call's, at most one round
 * trip earlier than its own.
 */
export class Adder {
  #pending: Request[] = [];
  /** A flush is in flight, or waits for the end of the turn to gather. */
  #busy = false;
  /** The flush in flight carries a single add or addBulk call. */
  #lone = false;
  /** A call of the flush in flight got no answer within commandTimeout (Redis frozen or unreachable). */
  #timedOut = false;

  constructor(
    private readonly store: QueueStore,
    private readonly options: AdderOptions,
  ) {}

  /** Adds already validated and encoded jobs; `called` is performance.now() at the add() or addBulk() call. */
  add(inputs: readonly AddInput[], called: number): Promise<AddReply> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ inputs, called, outcomes: new Array<AddOutcome>(inputs.length), resolve, reject });
      if (!this.#busy) {
        this.#busy = true;
        // The other adds of this synchronous run join the first call.
        queueMicrotask(this.#next);
      }
    });
  }

  readonly #next = (): void => {
    if (this.#pending.length === 0) {
      this.#busy = false;
      return;
    }
    const requests = this.#pending;
    this.#pending = [];
    this.#lone = requests.length === 1;
    void this.#flush(requests).then(this.#flushed, (error: unknown) => {
      // Not expected (#flush answers every request itself); a request answered already ignores this.
      for (const request of requests) request.reject(error);
      this.#flushed();
    });
  };

  readonly #flushed = (): void => {
    if (this.#timedOut) {
      // The adds gathered behind a call Redis did not answer in time were never sent. Sending them now
      // would make each wait a second commandTimeout (4 s where the producer was promised 2, seen with
      // Redis frozen): they fail at once instead, typed and safe to retry.
      this.#timedOut = false;
      const stranded = this.#pending;
      this.#pending = [];
      for (const request of stranded) {
        request.reject(
          new RedisUnavailableError(
            `Redis did not answer the add call before this one within commandTimeout; this add waited behind it and was ` +
              `not sent. Retry it (with a jobId it is deduplicated)`,
          ),
        );
      }
    }
    // A lone add with nothing behind it: go idle now rather than hop to the end of the turn.
    if (this.#lone && this.#pending.length === 0) this.#busy = false;
    else setImmediate(this.#next);
  };

  /** Sends `requests` and answers each. */
  async #flush(requests: Request[]): Promise<void> {
    try {
      const ready = this.options.ready();
      if (ready !== undefined) await ready;
    } catch (error) {
      for (const request of requests) request.reject(error);
      return;
    }
    const calls: Promise<boolean>[] = [];
    let inputs: AddInput[] = [];
    let owners: Request[] = [];
    let slots: number[] = [];
    for (const request of requests) {
      for (let i = 0; i < request.inputs.length; i++) {
        inputs.push(request.inputs[i] as AddInput);
        owners.push(request);
        slots.push(i);
        if (inputs.length === ADD_CHUNK) {
          calls.push(this.#send(inputs, owners, slots));
          inputs = [];
          owners = [];
          slots = [];
        }
      }
    }
    if (inputs.length > 0) calls.push(this.#send(inputs, owners, slots));
    const written = calls.length === 1 ? await (calls[0] as Promise<boolean>) : (await Promise.all(calls)).includes(true);
    let replicated: number | Error | undefined;
    const durability = this.options.durability;
    if (durability !== undefined && written) {
      try {
        replicated = await this.store.waitForReplicas(durability.replicas, durability.timeoutMs);
      } catch (error) {
        replicated = error as Error;
      }
    }
    for (const request of requests) request.resolve({ outcomes: request.outcomes, replicated });
  }

  /** One add script call; records each job's outcome with its request. Resolves whether the call was written. */
  async #send(inputs: AddInput[], owners: readonly Request[], slots: readonly number[]): Promise<boolean> {
    const sent = performance.now();
    let oldest = sent;
    for (const owner of owners) if (owner.called < oldest) oldest = owner.called;
    const spent = Math.floor(sent - oldest);
    for (let k = 0; k < inputs.length; k++) {
      const input = inputs[k] as AddInput;
      if (input.delay <= 0) continue;
      const own = Math.floor(sent - (owners[k] as Request).called);
      if (own !== spent) inputs[k] = { ...input, delay: input.delay + spent - own };
    }
    try {
      const results = await this.store.add(inputs, spent);
      if (results.length !== inputs.length) throw new ScriptError(`add returned ${results.length} results for ${inputs.length} jobs`);
      for (let k = 0; k < results.length; k++) {
        const owner = owners[k] as Request;
        const { id, duplicate } = results[k] as { id: string; duplicate: boolean };
        owner.outcomes[slots[k] as number] = { id, duplicate, spent: Math.floor(sent - owner.called) };
      }
      return true;
    } catch (error) {
      if (error instanceof RedisTimeoutError) this.#timedOut = true;
      for (let k = 0; k < owners.length; k++) (owners[k] as Request).outcomes[slots[k] as number] = { error: error as Error };
      return false;
    }
  }
}
