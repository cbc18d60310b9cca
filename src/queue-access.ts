import type { JobOwner } from './job.js';
import type { ScheduleStore } from './redis/schedule-store.js';
import type { QueueStore } from './redis/store.js';

/** What a Queue's operations (queue-admin.ts, queue-limits.ts) need of it: one unpartitioned queue's store and checks. */
export interface QueueAccess {
  readonly name: string;
  /** The Queue: the owner of the Jobs a read makes. */
  readonly owner: JobOwner;
  readonly store: QueueStore;
  /** Checks the queue's settings against Redis and creates the queue, once (QueueSetUp.init). */
  init(): Promise<void>;
  /** Before a read: checks the queue but creates nothing; resolves whether it exists (QueueSetUp.inspect). */
  inspect(): Promise<boolean>;
  /** The queue's schedule store, made on first use. */
  schedules(): ScheduleStore;
}
