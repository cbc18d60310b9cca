// The public surface of sluice: everything a user imports, nothing else.
export { Queue, type QueueOptions, type BulkJob } from './queue.js';
export { Worker, type WorkerOptions, type Processor, type ProcessorContext, type WorkerEventMap } from './worker.js';
export { QueueEvents, type QueueEventsOptions, type QueueEventMap } from './queue-events.js';
export { Job } from './job.js';
export type { JobOptions, DefaultJobOptions, BackoffOptions, RemoveOption, KeepJobs, StoredJobOptions } from './options.js';
export type { BackoffStrategy } from './backoff.js';
export type { OutboundLimit } from './worker/outbound.js';
export type { RedisConfigCheck } from './durability.js';
export type { Counts, JobState, RateLimit, GroupLimit, GroupStatus, QueueMetrics } from './redis/store.js';
export type { ConnectionOptions } from './redis/connection.js';
export { openHandles, closeOpenHandles } from './open-handles.js';
export {
  SluiceError,
  ValidationError,
  PayloadTooLargeError,
  EncodeError,
  JobNotFoundError,
  JobActiveError,
  LeaseLostError,
  ClosedError,
  TimeoutError,
  JobFailedError,
  ConfigMismatchError,
  ScriptError,
  UnrecoverableError,
  RateLimitError,
  RedisConfigError,
  isSluiceError,
  type SluiceErrorCode,
} from './errors.js';
