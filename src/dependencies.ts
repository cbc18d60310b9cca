import type { JobOwner } from './job.js';
import { readLengthPrefixed } from './redis/packed.js';
import { decode } from './serializer.js';

/**
 * What a job reads of the jobs it depends on (src/flows.ts): its deps hash, where each dependency's outcome
 * is copied when it ends (lua/includes/dependents.lua), so retention never takes it before the job read it.
 */

/** How one dependency of a job ended, as `job.getDependencies()` reports it. */
export interface DependencyOutcome<Result = unknown> {
  id: string;
  /** `pending`: not ended yet (an onFailure job may run while some of the jobs it watches still run). */
  state: 'completed' | 'failed' | 'removed' | 'pending';
  returnvalue?: Result;
  failedReason?: string;
}

/** Job `id`'s dependencies by key (by id for those given by id); empty for a job without, or once it ended. */
export async function dependencyOutcomes(owner: JobOwner, id: string): Promise<Record<string, DependencyOutcome>> {
  const stored = await owner.store.getDependencies(id);
  const out: Record<string, DependencyOutcome> = {};
  for (const [depId, value] of Object.entries(stored)) {
    // Three parts: outcome ('w', 'c', 'f', 'r'), key ('' for a dependency given by id), value.
    const [outcome, key, bytes] = readLengthPrefixed(value) ?? [];
    const name = key === undefined || key.length === 0 ? depId : key.toString();
    switch (outcome?.toString()) {
      case 'c':
        out[name] = { id: depId, state: 'completed', returnvalue: bytes === undefined || bytes.length === 0 ? undefined : decode(bytes, `job '${depId}' return value`) };
        break;
      case 'f':
        out[name] = { id: depId, state: 'failed', failedReason: bytes?.toString() ?? '' };
        break;
      case 'r':
        out[name] = { id: depId, state: 'removed' };
        break;
      default:
        out[name] = { id: depId, state: 'pending' };
    }
  }
  return out;
}
