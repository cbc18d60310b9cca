import { describe, expect, it } from 'vitest';
import { AttemptSignal } from '../../src/worker/attempt-signal.js';

describe('an attempt signal made on first read', () => {
  it('shows an abort that came before the handler read it, with its reason', () => {
    const attempt = new AttemptSignal();
    const reason = new Error('timed out');
    attempt.abort(reason);
    expect(attempt.signal.aborted).toBe(true);
    expect(attempt.signal.reason).toBe(reason);
  });

  it('aborts a signal already handed out, once, keeping the first reason', () => {
    const attempt = new AttemptSignal();
    const signal = attempt.signal;
    let fired = 0;
    signal.addEventListener('abort', () => fired++);
    expect(signal.aborted).toBe(false);
    const first = new Error('lease lost');
    attempt.abort(first);
    attempt.abort(new Error('later'));
    expect(fired).toBe(1);
    expect(signal.reason).toBe(first);
    expect(attempt.signal).toBe(signal);
  });
});
