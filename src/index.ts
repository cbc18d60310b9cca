// The public surface of sluice: everything a user imports, nothing else.
/**
 * `sluice`: a job queue for Node.js on Redis Streams. {@link Queue} adds and inspects jobs, {@link Worker}
 * runs them, {@link QueueEvents} follows them as they happen, and {@link Scheduler} keeps schedules and
 * delayed jobs moving where no Worker runs. Every error is a {@link SluiceError} with a stable `code`.
 *
 * @module sluice
 */
export { Queue, type BulkJob } from './queue.js';
export type { BulkOptions, BulkProgress } from './bulk-progress.js';
export type { QueueOptions, Durability } from './queue-settings.js';
export type { PartitionInfo } from './partitions/placement.js';
export {
  Worker,
  type WorkerOptions,
  type ChunkWorkerOptions,
  type ChunkOptions,
  type ChunkContext,
  type ChunkProcessor,
  type Processor,
  type ProcessorContext,
  type WorkerEventMap,
  type Middleware,
} from './worker.js';
export type { WorkerInfo } from './worker/heartbeat.js';
export type { JobMeta, MetaValue } from './meta.js';
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
  MAX_FLOW_JOBS,
  MAX_FLOW_DEPENDENCIES,
  MAX_DEPENDENTS,
  type Flow,
  type FlowJob,
  type AddedFlow,
  type DependencyFailurePolicy,
  type DependencyOutcome,
} from './flows.js';
export type { DedupeOptions } from './dedupe.js';
export type { JobFilter } from './job-finder.js';
export { MAX_LABELS, MAX_LABEL_LENGTH, type LabelUse } from './labels.js';
export type { JobOptions, OnFailureJob, DependencyRef, DefaultJobOptions, BackoffOptions, RemoveOption, KeepJobs, StoredJobOptions } from './options.js';
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
export type { BackoffStrategy } from './backoff.js';
export type { OutboundLimit } from './worker/outbound.js';
export type { SandboxOptions } from './worker/sandbox/pool.js';
export type { RedisConfigCheck } from './durability.js';
export type { Keep } from './options.js';
export type { Counts, JobState, MinuteCounts, QueueMetrics } from './states.js';
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
  FlowIncompleteError,
  SandboxError,
  JobStateError,
  JobCancelledError,
  PartitionedQueueError,
  isSluiceError,
  type SluiceErrorCode,
} from './errors.js';
