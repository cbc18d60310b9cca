import { describe, expect, it } from 'vitest';
import { findLoneSurrogate } from '../../src/bounds.js';

describe('findLoneSurrogate', () => {
  it.each([
    ['\uD800', 0],
    ['ab\uDC00', 2],
    ['😀\uD83D', 2],
    ['\uDE00\uD83D', 0],
  ])('finds the lone surrogate in %j at %i', (text, index) => {
    expect(findLoneSurrogate(text)).toBe(index);
  });

  it('finds none in well-formed text, astral characters included', () => {
    expect(findLoneSurrogate('order-😀-€-ü')).toBe(-1);
  });
});
