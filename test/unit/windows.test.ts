import { describe, expect, it } from 'vitest';
import { worstOverlap, worstWindow } from '../harness/windows.js';

describe('the window checks the limit tests rely on', () => {
  it('counts the most starts in any half-open window', () => {
    // [999, 1999) holds 999, 1000, 1001 and 1998; [0, 1000) holds only 0 and 999.
    expect(worstWindow([0, 999, 1000, 1001, 1998], 1000)).toBe(4);
    expect(worstWindow([0, 999, 1999], 1000)).toBe(2);
    expect(worstWindow([5, 0, 1000], 1000)).toBe(2);
    expect(worstWindow([], 1000)).toBe(0);
  });

  it('counts the most intervals open at once, touching ends not overlapping', () => {
    expect(worstOverlap([[0, 10], [10, 20], [5, 15]])).toBe(2);
    expect(worstOverlap([[0, 10], [1, 9], [2, 8]])).toBe(3);
  });
});
