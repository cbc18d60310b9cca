import { assertWellFormed, cutUtf8, MAX_FAILURE_TEXT_BYTES } from './bounds.js';
import { DecodeError, JobActiveError, JobNotFoundError, JobStateError, ScriptError, ValidationError } from './errors.js';
import type { JobOwner } from './job.js';
import { assertInteger } from './options.js';
import { ControlStore } from './redis/control-store.js';
import type { ControlReply } from './redis/replies.js';
import { Status } from './redis/status.js';
import { encode } from './serializer.js';

/**
 * Changing or cancelling one job after it was added: what Job's and Queue's methods of that name do. Each
 * is one script call (lua/update-data.lua, change-priority, change-delay, promote-job, cancel), atomic, and
 * writes one event; a job in a state where the change makes no sense is refused with a typed error and left
 * as it was: JobActiveError while it runs, JobStateError when it ended (or is not delayed, for a
 * promotion), JobNotFoundError when there is no such job.
 */

/** The reply when it is OK; else the error its status means. `action` and `applies` word the refusal. */
function accepted(owner: JobOwner, id: string, reply: ControlReply, action: string, applies: string): ControlReply {
  switch (reply.status) {
    case Status.OK:
      return reply;
    case Status.JOB_MISSING:
      throw new JobNotFoundError(owner.queueName, id);
    case Status.JOB_ACTIVE:
      throw new JobActiveError(`job '${id}' is running; ${action} applies to ${applies} jobs: wait for it to finish, or cancel it`);
    case Status.WRONG_STATE:
      throw new JobStateError(id, reply.state, `job '${id}' is ${reply.state}; ${action} applies to ${applies} jobs`);
    case Status.CORRUPT:
      throw new DecodeError(`job '${id}' cannot be changed: its stored fields cannot be read (written by hand or by another client); remove it`);
    default:
      throw new ScriptError(`${action} of job '${id}' returned status ${reply.status}`);
  }
}

function assertId(id: unknown, what: string): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) throw new ValidationError(`${what} takes a job id string, got ${JSON.stringify(id)}`);
  assertWellFormed('jobId', id, 'it could name another job');
}

/** Replaces the job's data; a job waiting on a stream goes to the back of its level (update-data.lua). */
export async function updateJobData(owner: JobOwner, id: string, data: unknown): Promise<void> {
  const encoded = encode(data, 'job data', owner.maxPayloadBytes);
  const reply = await ControlStore.of(owner.store).updateData(id, encoded);
  accepted(owner, id, reply, 'updateData', 'waiting, delayed, blocked and failed');
}

export async function changeJobPriority(owner: JobOwner, id: string, priority: number): Promise<void> {
  const levels = owner.store.keys.wait.length;
  assertInteger('priority', priority, 0, levels - 1);
  const reply = await ControlStore.of(owner.store).changePriority(id, priority);
  if (reply.status === Status.LEVELS_MISMATCH) {
    throw new ValidationError(`priority ${priority} is not a level of queue '${owner.queueName}'; it was created with other priorityLevels`);
  }
  accepted(owner, id, reply, 'changePriority', 'waiting and delayed');
}

/**
 * Sets when the job may start: `delayMs` from now on Redis' clock, or at `runAt` (ms since epoch) when
 * `delayMs` is -1. Resolves with its state now (a waiting job with a time to come becomes delayed; a delayed
 * one whose time has come becomes waiting) and its due time (Redis' time when waiting).
 */
export async function rescheduleJob(owner: JobOwner, id: string, delayMs: number, runAt: number): Promise<{ state: 'delayed' | 'waiting'; dueAt: number }> {
  const reply = await ControlStore.of(owner.store).changeDelay(id, delayMs, runAt);
  const { state, at } = accepted(owner, id, reply, 'changeDelay', 'waiting and delayed');
  return { state: state === 'delayed' ? 'delayed' : 'waiting', dueAt: at };
}

/** A delayed job becomes waiting now (promote-job.lua). */
export async function promoteJob(owner: JobOwner, id: string): Promise<void> {
  assertId(id, 'promoteJob');
  const reply = await ControlStore.of(owner.store).promote(id);
  if (reply.status === Status.WRONG_STATE) {
    throw new JobStateError(id, reply.state, `job '${id}' is ${reply.state}, not delayed; only a delayed job can be promoted`);
  }
  accepted(owner, id, reply, 'promote', 'delayed');
}

/**
 * Ends an unfinished job for good (cancel.lua): failed, with the reason 'cancelled' or 'cancelled: <reason>',
 * not retried. A running job's worker aborts its ctx.signal with JobCancelledError within about half a
 * second (src/worker/cancel-watch.ts). Resolves with Redis' time of the cancel and the failedReason.
 */
export async function cancelJob(owner: JobOwner, id: string, reason: string | undefined): Promise<{ at: number; failedReason: string }> {
  assertId(id, 'cancel');
  if (reason !== undefined && typeof reason !== 'string') throw new ValidationError(`cancel's reason must be a string, got ${typeof reason}`);
  // The stored reason is a failure reason: cut as a handler's is (16 KiB with the 'cancelled: ' before it).
  const text = reason === undefined ? '' : cutUtf8(reason, MAX_FAILURE_TEXT_BYTES - 16);
  const reply = await ControlStore.of(owner.store).cancel(id, text);
  if (reply.status === Status.WRONG_STATE) {
    throw new JobStateError(id, reply.state, `job '${id}' is ${reply.state} already; only a waiting, delayed, blocked or running job can be cancelled`);
  }
  const { at } = accepted(owner, id, reply, 'cancel', 'waiting, delayed, blocked and running');
  return { at, failedReason: cancelledReason(text) };
}

/** A cancelled job's failedReason, as lua/cancel.lua writes it. */
export function cancelledReason(reason: string): string {
  return reason === '' ? 'cancelled' : `cancelled: ${reason}`;
}
