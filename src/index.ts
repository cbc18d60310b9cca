// The public surface of sluice: everything a user imports, nothing else.
export { Queue, type BulkJob } from './queue.js';
export type { QueueOptions, Durability } from './queue-settings.js';
export { Worker, type WorkerOptions, type Processor, type ProcessorContext, type WorkerEventMap } from './worker.js';
export { QueueEvents, type QueueEventsOptions, type QueueEventMap } from './queue-events.js';
export { Scheduler, type SchedulerOptions, type SchedulerEventMap } from './scheduler.js';
export type {
  ScheduleSpec,
  CronSchedule,
  EverySchedule,
  MissedPolicy,
  ScheduleJob,
  ScheduleJobOptions,
  ScheduleInfo,
} from './schedules/definition.js';
export type { FiredTick } from './schedules/runner.js';
export { Job } from './job.js';
export {
  Batch,
  type BatchOptions,
  type BatchCallback,
  type BatchCallbackStatus,
  type BatchJob,
  type BatchJobOptions,
  type BatchStatus,
  type BatchTotals,
} from './batches.js';
export type { JobOptions, DefaultJobOptions, BackoffOptions, RemoveOption, KeepJobs, StoredJobOptions } from './options.js';
export type { BackoffStrategy } from './backoff.js';
export type { OutboundLimit } from './worker/outbound.js';
export type { RedisConfigCheck } from './durability.js';
export type { Counts, JobState, QueueMetrics } from './states.js';
export type { RateLimit, GroupLimit, GroupStatus, LimitedGroups, RateWindow } from './queue-settings.js';
export type { ClusterConnectionOptions, ConnectionOptions } from './redis/connection.js';
export { openHandles, closeOpenHandles } from './open-handles.js';
export {
  SluiceError,
  ValidationError,
  PayloadTooLargeError,
  EncodeError,
  DecodeError,
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
  RedisUnavailableError,
  RedisTimeoutError,
  RedisOutOfMemoryError,
  ReplicationError,
  BulkAddError,
  BatchIncompleteError,
  isSluiceError,
  type SluiceErrorCode,
} from './errors.js';
