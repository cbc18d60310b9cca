/**
 * The part of Bee-Queue 2.0's API the comparison bench uses, typed. The package ships an index.d.ts, but
 * it needs the `redis` v3 typings (not installed) and types settings, events and results as `any`; this
 * ambient declaration wins over it, so the bench stays free of `any`.
 */
declare module 'bee-queue' {
  import type { EventEmitter } from 'node:events';

  namespace BeeQueue {
    /** The settings the bench sets; every other one keeps Bee-Queue's default. */
    interface QueueSettings {
      /** Passed to node_redis' createClient. */
      redis?: { host: string; port: number };
      isWorker?: boolean;
      getEvents?: boolean;
      sendEvents?: boolean;
      storeJobs?: boolean;
      activateDelayedJobs?: boolean;
      removeOnSuccess?: boolean;
    }

    interface Job<T> extends EventEmitter {
      id: string;
      data: T;
      /** Run no earlier than this (epoch ms or Date); a time not in the future leaves the job a plain one. */
      delayUntil(dateOrTimestamp: Date | number): this;
      save(): Promise<this>;
    }
  }

  class BeeQueue<T> extends EventEmitter {
    constructor(name: string, settings?: BeeQueue.QueueSettings);
    /** Resolves once the connections are up and the Lua scripts are loaded. */
    ready(): Promise<this>;
    createJob(data: T): BeeQueue.Job<T>;
    /** One pipelined batch of add scripts; resolves with the jobs that could not be saved. */
    saveAll(jobs: readonly BeeQueue.Job<T>[]): Promise<Map<BeeQueue.Job<T>, Error>>;
    /** Starts `concurrency` job loops (one blocking BRPOPLPUSH each) running `handler`. */
    process(concurrency: number, handler: (job: BeeQueue.Job<T>) => Promise<unknown>): this;
    /** Stops taking jobs, waits up to `timeoutMs` (default 5,000) for running ones, then quits. */
    close(timeoutMs?: number): Promise<void>;

    on(event: 'succeeded', listener: (job: BeeQueue.Job<T>, result: unknown) => void): this;
    on(event: 'failed' | 'retrying', listener: (job: BeeQueue.Job<T>, error: Error) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
  }

  export = BeeQueue;
}
