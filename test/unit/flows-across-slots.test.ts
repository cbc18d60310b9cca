import { describe, expect, it } from 'vitest';
import { ValidationError } from 'sluice';
import { partsOf, type SlotJob } from '../../src/flows-across-slots.js';
import { workerSettings } from '../../src/worker/settings.js';

// How a flow across Cluster slots is cut into parts (src/flows-across-slots.ts): dependents first, one part
// per run of jobs of one queue, each part's jobs in the order add-flow writes them.

function job(queue: string, local: number[] = [], external: SlotJob['external'] = []): SlotJob {
  return { input: { key: '', jobId: '', name: 'n', data: Buffer.alloc(0), opts: Buffer.alloc(0), prio: 0, grp: '', policy: 'fail' }, queue, local, external };
}

/** Each part as `queue: job indexes, existing ids`. */
function shape(jobs: SlotJob[]): string[] {
  return partsOf(jobs).map((p) => `${p.queue}: ${p.jobs.join(',')}${p.existing.length > 0 ? ` + ${p.existing.map((e) => `${e.id}<-${e.dependent}`).join(',')}` : ''}`);
}

describe('the parts of a flow across slots', () => {
  it('puts dependents before their dependencies, one part per run of one queue', () => {
    // A(q1) -> B(q2): B's part first, so A's part can link B when A can start.
    expect(shape([job('q1'), job('q2', [0])])).toEqual(['q2: 1', 'q1: 0']);
    // A(q1) -> B(q2) -> C(q1): three parts, q1 twice.
    expect(shape([job('q1'), job('q2', [0]), job('q1', [1])])).toEqual(['q1: 2', 'q2: 1', 'q1: 0']);
    // A(q1) -> B(q2) -> C(q3).
    expect(shape([job('q1'), job('q2', [0]), job('q3', [1])])).toEqual(['q3: 2', 'q2: 1', 'q1: 0']);
  });

  it('keeps a queue together while it can; each part lists its jobs dependencies first, as add-flow writes them', () => {
    // A, B (q1) -> C (q1) -> D (q2); E (q2) alone: D, E go first (q2), then C, A, B (q1) in one part.
    expect(shape([job('q1'), job('q1'), job('q1', [0, 1]), job('q2', [2]), job('q2')])).toEqual(['q2: 4,3', 'q1: 1,0,2']);
    // An onFailure job of q1 watching A (q1) and B (q2, depends on A): it goes first, with nothing else.
    expect(shape([job('q1'), job('q2', [0]), job('q1', [0, 1])])).toEqual(['q1: 2', 'q2: 1', 'q1: 0']);
  });

  it('links an existing job of another queue by a part of its queue after every part with jobs', () => {
    expect(shape([job('q1', [], [{ queue: 'q2', id: 'x' }])])).toEqual(['q1: 0', 'q2:  + x<-0']);
    // The last part is of that queue already: it links the job too.
    expect(shape([job('q1'), job('q2', [0], [{ queue: 'q1', id: 'y' }])])).toEqual(['q2: 1', 'q1: 0 + y<-1']);
    // An existing job of the job's own queue is an ordinary dependency of its part.
    expect(shape([job('q1', [], [{ queue: 'q1', id: 'z' }])])).toEqual(['q1: 0']);
  });

  it('flowPartTimeout is at least 100 ms, 60 s by default', () => {
    expect(workerSettings({ connection: {} }).flowPartTimeout).toBe(60_000);
    expect(() => workerSettings({ connection: {}, flowPartTimeout: 50 })).toThrow(ValidationError);
  });
});
