import { assertWellFormed } from './bounds.js';
import { ValidationError } from './errors.js';

/**
 * The `labels` job option: a few short strings a job carries so that people can find it later
 * (`queue.getJobs(state, { label })`). Each label of a job has an entry in the label index
 * (lua/includes/labels.lua), written and moved by the scripts that change the job's state; a job without
 * labels has none and costs nothing there.
 */

/**
 * Labels per job at most. Each one is an index entry that every state change of the job moves (a `ZREM` and a
 * `ZADD`, about 10,000 Redis instructions), so 8 bounds what a labeled job's settle may cost at about 80,000
 * instructions more, half of what the whole job costs without labels.
 */
export const MAX_LABELS = 8;

/**
 * Characters per label at most: a label is part of its index keys (`label:<label>:<phase>`), and 64 keeps
 * `tenant:acme-corporation`, a region or an order id with room to spare.
 */
export const MAX_LABEL_LENGTH = 64;

/** Separates a job's labels where Lua stores them (the `labels:of` hash); labels cannot hold it. */
export const LABEL_SEPARATOR = '\n';

/**
 * A job's labels checked: an array of 1 to {@link MAX_LABELS} distinct strings of 1 to
 * {@link MAX_LABEL_LENGTH} characters, without control characters (the index joins them with a line
 * break) or lone surrogates (two labels would become one key). An empty array is no labels (undefined).
 */
export function validateLabels(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) throw new ValidationError(`labels must be an array of strings, got ${typeof value}`);
  if (value.length === 0) return undefined;
  if (value.length > MAX_LABELS) {
    throw new ValidationError(`labels has ${value.length} labels; a job may carry at most ${MAX_LABELS} (each one is an index entry its every state change moves)`);
  }
  const seen = new Set<string>();
  for (const label of value as unknown[]) {
    if (typeof label !== 'string' || label.length === 0 || label.length > MAX_LABEL_LENGTH) {
      throw new ValidationError(`each label must be a string of 1 to ${MAX_LABEL_LENGTH} characters, got ${JSON.stringify(label)}`);
    }
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(label)) {
      throw new ValidationError(`label ${JSON.stringify(label)} contains a control character; labels are stored joined by line breaks`);
    }
    assertWellFormed(`label '${label}'`, label, 'two labels would be one');
    if (seen.has(label)) throw new ValidationError(`labels has '${label}' twice; give each label once`);
    seen.add(label);
  }
  return value as string[];
}

/** A label given to a read (getJobs' filter): one label, checked as a job's are. */
export function assertLabel(value: unknown): string {
  const labels = validateLabels([value]);
  return (labels as string[])[0] as string;
}

/** Whether stored options' `labels` is what validateLabels accepts: read back from Redis, never trusted. */
export function isStoredLabels(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= MAX_LABELS && value.every((label) => typeof label === 'string' && label.length > 0);
}

/** A job's labels as the add scripts take them: joined by LABEL_SEPARATOR, '' for none. */
export function packLabels(labels: readonly string[] | undefined): string {
  return labels === undefined ? '' : labels.join(LABEL_SEPARATOR);
}

/** A label in use and how many jobs carry it now, in any state (`queue.getLabels()`). */
export interface LabelUse {
  /** The label. */
  label: string;
  /** Jobs that carry it now, whatever their state. */
  jobs: number;
}
