/**
 * Return codes of the Lua scripts. Mirrors lua/includes/status.lua; test/unit/scripts.test.ts reads that
 * file and checks the two tables agree, so a code can never mean one thing in Lua and another here.
 */
export const Status = {
  OK: 1,
  DUPLICATE: 2,
  PAUSED: 3,
  EMPTY: 4,
  /** fire-schedule: the tick is later than Redis' clock. */
  NOT_DUE: 5,
  NEEDS_INIT: -1,
  JOB_MISSING: -2,
  LEASE_LOST: -3,
  JOB_ACTIVE: -4,
  WRONG_STATE: -5,
  LEVELS_MISMATCH: -6,
  /** fire-schedule: another process fired the tick, or the schedule changed or was removed. */
  STALE: -7,
  /** init: the queue was written in another storage format (meta `fmt`). */
  FORMAT_MISMATCH: -8,
  /** retry-job: the job's stored fields cannot be used (written by hand or by a buggy client): remove it. */
  CORRUPT: -9,
  /** add-deduped: the job that holds the dedupe key came back; nothing was added. */
  DEDUPLICATED: 6,
  /** add-deduped: the job that holds the dedupe key got this add's data and a later start. */
  DEBOUNCED: 7,
  /** A settle of a job a person cancelled while it ran (lua/cancel.lua): refused, as a lost lease is. */
  CANCELLED: -10,
  /** add-flow: a job would have more dependents than MAX_DEPENDENTS (src/flows.ts): nothing written. */
  TOO_MANY_DEPENDENTS: -11,
  /** init, check: the queue was created with another partition count (meta `parts`, absent for 1). */
  PARTITIONS_MISMATCH: -12,
  /** batch-add: no such batch (never opened, or its hash expired once it was done). */
  BATCH_MISSING: -20,
  /** batch-add: the batch is sealed: nothing can be added, and it cannot be sealed again. */
  BATCH_SEALED: -21,
  /** batch-add: a batch with that id exists. */
  BATCH_EXISTS: -22,
} as const;

export type StatusCode = (typeof Status)[keyof typeof Status];
