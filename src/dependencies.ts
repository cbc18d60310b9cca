import type { JobOwner } from './job.js';
import { readLengthPrefixed } from './redis/packed.js';
import { decode } from './serializer.js';

/**
 * What a job reads of the jobs it depends on (src/flows.ts): its deps hash, where each dependency's outcome
 * is copied when it ends (lua/includes/dependents.lua), so retention never takes it before the job read it.
 */

/** How one dependency of a job ended, as `job.getDependencies()` reports it. */
export interface DependencyOutcome<Result = unknown> {
  /** The dependency's id. */
  id: string;
  /** The dependency's queue: the job's own, or another of the prefix (a flow across queues). */
  queue: string;
  /** `pending`: not ended yet (an onFailure job may run while some of the jobs it watches still run). */
  state: 'completed' | 'failed' | 'removed' | 'pending';
  /**
   * Its result, once completed (as its worker returned it).
   *
   * @defaultValue undefined until it completed
   */
  returnvalue?: Result;
  /**
   * Why it failed, once failed for good.
   *
   * @defaultValue undefined unless it failed
   */
  failedReason?: string;
}

/** Job `id`'s dependencies by key (by id for those given by id); empty for a job without, or once it ended. */
export async function dependencyOutcomes(owner: JobOwner, id: string): Promise<Record<string, DependencyOutcome>> {
  const stored = await owner.store.getDependencies(id);
  const out: Record<string, DependencyOutcome> = {};
  for (const [field, value] of Object.entries(stored)) {
    // The field names the dependency as '{queue}id' (lua/includes/dependents.lua); the value is three parts:
    // outcome ('w', 'c', 'f', 'r'), key (its key in the flow, or its id), value; a fourth is read below.
    const [, queue = '', id = field] = /^\{([^}]*)\}([\s\S]*)$/.exec(field) ?? [];
    const [outcome, key, bytes] = readLengthPrefixed(value) ?? [];
    const name = key === undefined || key.length === 0 ? id : key.toString();
    switch (outcome?.toString()) {
      case 'c':
        out[name] = { id, queue, state: 'completed', returnvalue: bytes === undefined || bytes.length === 0 ? undefined : decode(bytes, `job '${id}' return value`) };
        break;
      case 'f':
        out[name] = { id, queue, state: 'failed', failedReason: bytes?.toString() ?? '' };
        break;
      case 'r':
        out[name] = { id, queue, state: 'removed' };
        break;
      default:
        out[name] = { id, queue, state: 'pending' };
    }
  }
  return out;
}

/**
 * The process span contexts that the completes of a job's dependencies recorded in its deps hash (`stored`,
 * as getDependencies reads it): a completed dependency's fourth part, when its worker sent one
 * (done-record.ts), decoded; at most `max`. Anything unreadable is left out: a job never fails for a link.
 */
export function dependencyTraces(stored: Record<string, Buffer>, max: number): unknown[] {
  const out: unknown[] = [];
  for (const value of Object.values(stored)) {
    if (out.length === max) break;
    const [outcome, , , trace] = readLengthPrefixed(value) ?? [];
    // Completed, or failed for good (a dependent with onDependencyFailure 'ignore' runs after it).
    const ended = outcome?.toString();
    if (trace === undefined || trace.length === 0 || (ended !== 'c' && ended !== 'f')) continue;
    try {
      out.push(decode(trace, 'trace context'));
    } catch {
      // Not a context sluice wrote: no link.
    }
  }
  return out;
}
