import { describe, expect, it } from 'vitest';
import { cutUtf8, findLoneSurrogate, MAX_FAILURE_TEXT_BYTES } from '../../src/bounds.js';

const bytes = (text: string): number => Buffer.byteLength(text);

describe('cutUtf8', () => {
  it('gives back text that fits, the same string', () => {
    const text = 'plain ascii';
    expect(cutUtf8(text, 11)).toBe(text);
    expect(cutUtf8('€'.repeat(3), 9)).toBe('€€€');
  });

  it('counts bytes of UTF-8, not UTF-16 units: 16,384 euro signs (48 KiB) keep 5,461 of them', () => {
    const cut = cutUtf8('€'.repeat(MAX_FAILURE_TEXT_BYTES), MAX_FAILURE_TEXT_BYTES);
    expect(cut).toBe('€'.repeat(5461));
    expect(bytes(cut)).toBe(16_383);
  });

  it('never splits a character: a surrogate pair (4 bytes) stays whole or goes', () => {
    // 'a' then emoji of 4 bytes each: a limit of 1 + 4n + 1..3 lands inside an emoji.
    const text = `a${'😀'.repeat(100)}`;
    for (const limit of [2, 3, 4, 5, 6, 7, 8, 9, 10, 399, 400]) {
      const cut = cutUtf8(text, limit);
      expect(bytes(cut)).toBeLessThanOrEqual(limit);
      expect(text.startsWith(cut)).toBe(true);
      expect(findLoneSurrogate(cut)).toBe(-1);
      expect(bytes(cut)).toBeGreaterThan(limit - 4);
    }
  });

  it('counts a lone surrogate as the 3 bytes Redis stores for it (U+FFFD)', () => {
    const text = `\uD800${'x'.repeat(10)}`;
    expect(bytes(cutUtf8(text, 5))).toBe(5);
    expect(cutUtf8(text, 5)).toBe('\uD800xx');
    expect(cutUtf8(text, 2)).toBe('');
  });

  it('gives an empty string for a limit of 0', () => {
    expect(cutUtf8('abc', 0)).toBe('');
  });
});

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
