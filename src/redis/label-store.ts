import type { LabelPhase, QueueKeys } from '../keys.js';
import type { LabelUse } from '../labels.js';
import type { JobState } from '../states.js';
import type { RedisClient } from './connection.js';
import { throwRedisFailure } from './failures.js';
import type { StoredJob } from './job-fields.js';
import { runScript } from './scripts.js';
import { GROUP, type QueueStore } from './store.js';

/**
 * The reads of the label index (lua/includes/labels.lua) and of a group's waiting set as an index: one window
 * of find-jobs at a time, the labels in use, and a label's size in a phase. Kept apart from QueueStore, whose
 * verbs are the hot path's: none of these is on it.
 */
export class LabelStore {
  constructor(
    readonly client: RedisClient,
    readonly keys: QueueKeys,
  ) {}

  /** The label verbs of a queue's store, made once per store. */
  static of(store: QueueStore): LabelStore {
    let labels = made.get(store);
    if (labels === undefined) {
      labels = new LabelStore(store.client, store.keys);
      made.set(store, labels);
    }
    return labels;
  }

  /**
   * Up to `count` entries of label `label`'s index in `state`'s phase from position `start` (or, with label
   * '', of group `group`'s waiting set), and the jobs among them that are in `state`.
   */
  window(state: JobState, label: string, group: string, start: number, count: number): Promise<{ looked: number; jobs: StoredJob[] }> {
    return runScript(
      this.client,
      'find-jobs',
      { streams: this.keys.streams },
      { base: this.keys.base, group: GROUP, state, label, jobGroup: group, start, count },
    );
  }

  /** The labels jobs carry now, most used first, with how many jobs carry each: at most `limit`. */
  async labels(limit: number): Promise<LabelUse[]> {
    const flat = await this.client.zrevrange(this.keys.labels, 0, limit - 1, 'WITHSCORES').catch(throwRedisFailure);
    const out: LabelUse[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ label: flat[i] as string, jobs: Number(flat[i + 1]) });
    return out;
  }

  /** How many jobs with label `label` are in `phase` (exact for 'c' and 'f'; 'q' holds waiting, delayed and active together). */
  size(label: string, phase: LabelPhase): Promise<number> {
    return this.client.zcard(this.keys.label(label, phase)).catch(throwRedisFailure);
  }
}

const made = new WeakMap<QueueStore, LabelStore>();
