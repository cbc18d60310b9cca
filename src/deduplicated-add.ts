import type { DedupeOptions } from './dedupe.js';
import { JobNotFoundError, ScriptError } from './errors.js';
import { Job, type JobOwner } from './job.js';
import { ControlStore } from './redis/control-store.js';
import { Status } from './redis/status.js';
import type { AddInput } from './redis/store.js';

/**
 * One add with the `dedupe` option (Queue.add): one add-deduped script call, which creates the job or hands
 * back the one that holds the key, as it is now. Such adds do not join the Adder's shared add calls: add.lua
 * stays free of locks, so an add without the option pays nothing for them. `spentMs`: time since the add()
 * call (delays count from it). The Job says whether this add created it (`deduplicated`).
 */
export async function addDeduped<D, R>(owner: JobOwner, input: AddInput, dedupe: DedupeOptions, spentMs: number): Promise<Job<D, R>> {
  const { status, id, job } = await ControlStore.of(owner.store).addDeduped(input, dedupe, spentMs);
  // Queue checks a job's priority before it sends it: a refusal here is a bug, not bad input.
  if (status === Status.LEVELS_MISMATCH) throw new ScriptError(`add-deduped refused priority ${input.prio}`);
  // The script answers with the job as it left it; one deleted at once (removeOnComplete: true) after it
  // completed is no longer there to show.
  if (job === null) throw new JobNotFoundError(owner.queueName, id);
  const added = Job.fromStored<D, R>(owner, job);
  added.deduplicated = status !== Status.OK;
  return added;
}
