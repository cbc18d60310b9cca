import { describe, expect, it } from 'vitest';
import { planMoves, planTargets, type ShareView } from '../../src/partitions/shares.js';

const view = (share: number, used: number, waiting: number): ShareView => ({ share, used, waiting, total: 6, epoch: 1, waited: false });

describe('where limit shares go (src/partitions/shares.ts)', () => {
  it('gives a busy partition what idle ones do not use, keeping 1 each', () => {
    expect(planTargets([100, 0, 0], [2, 2, 2], 6)).toEqual([4, 1, 1]);
    expect(planTargets([100, 100, 0], [2, 2, 2], 6)).toEqual([3, 2, 1]);
  });

  it('splits evenly between busy partitions, the remainder to those holding most', () => {
    expect(planTargets([50, 50, 0], [1, 4, 1], 6)).toEqual([2, 3, 1]);
    expect(planTargets([50, 50, 50], [4, 1, 1], 6)).toEqual([2, 2, 2]);
    expect(planTargets([50, 50, 50], [2, 2, 1], 5)).toEqual([2, 2, 1]);
  });

  it('meets every demand when they fit, leaving the rest where it is', () => {
    expect(planTargets([3, 1, 0], [2, 2, 2], 6)).toEqual([3, 2, 1]);
    expect(planTargets([0, 0, 0], [4, 1, 1], 6)).toEqual([4, 1, 1]);
    for (const demand of [[0, 0, 0], [9, 0, 0], [9, 9, 9], [2, 3, 0], [1, 1, 1]]) {
      expect(planTargets(demand, [2, 2, 2], 6).reduce((a, b) => a + b, 0)).toBe(6);
    }
  });

  it('moves only to a partition its share holds back, from those above their target, once per pair', () => {
    const views = [view(2, 2, 90), view(2, 0, 0), view(2, 1, 0)];
    expect(planMoves(views, [4, 1, 1])).toEqual([
      { from: 1, to: 0, by: 1 },
      { from: 2, to: 0, by: 1 },
    ]);
    // Jobs wait but the share is not used up: nothing holds them back, nothing moves.
    expect(planMoves([view(2, 1, 90), view(2, 0, 0), view(2, 0, 0)], [4, 1, 1])).toEqual([]);
    // A partition with a move under way is left out.
    expect(planMoves(views, [4, 1, 1], new Set([1]))).toEqual([{ from: 2, to: 0, by: 1 }]);
  });
});
