import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { decodeDefinition, describeSpec, encodeDefinition, prepareSchedule, validateScheduleId, validateTiming, type Timing } from '../../src/schedules/definition.js';
import { firstTick, LATE_NOT_MISSED_MS, planFire, tickAfter, tickAtOrBefore } from '../../src/schedules/ticks.js';
import { encode } from '../../src/serializer.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const at = (text: string): number => new Date(text).getTime();

/** The next `n` ticks after `from`, by repeated tickAfter: what a runner fires in turn. */
function ticks(timing: Timing, from: string, n: number): (string | null)[] {
  const out: (string | null)[] = [];
  let ms: number | null = at(from);
  for (let i = 0; i < n && ms !== null; i++) {
    ms = tickAfter(timing, ms);
    out.push(iso(ms));
  }
  return out;
}

describe('cron ticks across daylight saving in Europe/Berlin', () => {
  it('spring forward (2026-03-29, 02:00 CET -> 03:00 CEST): a daily 02:30 runs once, at 03:30 CEST', () => {
    const daily = validateTiming({ cron: '30 2 * * *', tz: 'Europe/Berlin' }, 's');
    expect(ticks(daily, '2026-03-27T12:00:00Z', 4)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:30:00.000Z', // 02:30 does not exist: 03:30 CEST
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
      '2026-03-31T00:30:00.000Z',
    ]);
  });

  it('spring forward: a daily 09:00 stays at 09:00 local, an hour earlier in UTC', () => {
    const nine = validateTiming({ cron: '0 9 * * *', tz: 'Europe/Berlin' }, 's');
    expect(ticks(nine, '2026-03-28T00:00:00Z', 2)).toEqual(['2026-03-28T08:00:00.000Z', '2026-03-29T07:00:00.000Z']);
  });

  it('spring forward: an hourly schedule fires every real hour, never twice and never skipping one', () => {
    const hourly = validateTiming({ cron: '0 * * * *', tz: 'Europe/Berlin' }, 's');
    expect(ticks(hourly, '2026-03-28T23:30:00Z', 4)).toEqual([
      '2026-03-29T00:00:00.000Z', // 01:00 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST (02:00 was skipped by the clock, not by us)
      '2026-03-29T02:00:00.000Z',
      '2026-03-29T03:00:00.000Z',
    ]);
  });

  it('fall back (2026-10-25, 03:00 CEST -> 02:00 CET): a daily 02:30 runs once, the first time', () => {
    const daily = validateTiming({ cron: '30 2 * * *', tz: 'Europe/Berlin' }, 's');
    expect(ticks(daily, '2026-10-23T12:00:00Z', 3)).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // the first 02:30 (CEST); the second (01:30Z, CET) does not run
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
  });

  it('fall back: an hourly schedule fires through the repeated hour, every real hour', () => {
    const hourly = validateTiming({ cron: '0 * * * *', tz: 'Europe/Berlin' }, 's');
    expect(ticks(hourly, '2026-10-24T23:30:00Z', 4)).toEqual([
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET, the repeated hour
      '2026-10-25T02:00:00.000Z', // 03:00 CET
      '2026-10-25T03:00:00.000Z',
    ]);
  });

  it('weekdays at 09:00 skip the weekend, in local time', () => {
    const weekdays = validateTiming({ cron: '0 9 * * 1-5', tz: 'Europe/Berlin' }, 's');
    // 2026-03-27 is a Friday; the Monday after is the first day of CEST.
    expect(ticks(weekdays, '2026-03-27T00:00:00Z', 2)).toEqual(['2026-03-27T08:00:00.000Z', '2026-03-30T07:00:00.000Z']);
  });

  it('finds the latest tick at or before an instant (for a missed run)', () => {
    const daily = validateTiming({ cron: '30 2 * * *', tz: 'Europe/Berlin' }, 's');
    expect(iso(tickAtOrBefore(daily, at('2026-03-29T12:00:00Z')))).toBe('2026-03-29T01:30:00.000Z');
    expect(iso(tickAtOrBefore(daily, at('2026-03-29T01:30:00Z')))).toBe('2026-03-29T01:30:00.000Z');
  });
});

describe('every ticks', () => {
  it('fall on whole multiples of every since the epoch, or since startAt', () => {
    const minute = validateTiming({ every: 60_000 }, 's');
    expect(iso(firstTick(minute, at('2026-01-01T10:00:20Z')))).toBe('2026-01-01T10:01:00.000Z');
    expect(iso(firstTick(minute, at('2026-01-01T10:01:00Z')))).toBe('2026-01-01T10:01:00.000Z');
    const phased = validateTiming({ every: 60_000, startAt: new Date('2026-01-01T10:00:15Z') }, 's');
    expect(iso(firstTick(phased, at('2026-01-01T09:00:00Z')))).toBe('2026-01-01T10:00:15.000Z');
    expect(iso(firstTick(phased, at('2026-01-01T10:00:20Z')))).toBe('2026-01-01T10:01:15.000Z');
    expect(iso(tickAtOrBefore(phased, at('2026-01-01T10:05:00Z')))).toBe('2026-01-01T10:04:15.000Z');
    expect(tickAtOrBefore(phased, at('2026-01-01T10:00:00Z'))).toBeNull();
  });

  it('stop at endAt (inclusive)', () => {
    const bounded = validateTiming({ every: 1000, startAt: new Date(10_000), endAt: new Date(12_000) }, 's');
    expect([firstTick(bounded, 0), tickAfter(bounded, 10_000), tickAfter(bounded, 11_000), tickAfter(bounded, 12_000)]).toEqual([10_000, 11_000, 12_000, null]);
    expect(tickAtOrBefore(bounded, 50_000)).toBe(12_000);
  });
});

describe('planFire', () => {
  const second = validateTiming({ every: 1000 }, 's');

  it('fires a tick on time, and a late one too, moving on to the tick right after it', () => {
    expect(planFire(second, 5000, 5003)).toEqual({ fire: 5000, next: 6000 });
    // Late by less than LATE_NOT_MISSED_MS: every tick still runs, one by one.
    expect(planFire(second, 5000, 5000 + LATE_NOT_MISSED_MS)).toEqual({ fire: 5000, next: 6000 });
  });

  it("after an outage, 'once' runs one job for the latest missed tick and 'skip' none; both jump past now", () => {
    const now = 100_000_400;
    const missedAt = now - 3_600_000;
    expect(planFire(second, missedAt, now)).toEqual({ fire: 100_000_000, next: 100_001_000 });
    const hourlySkip = validateTiming({ every: 3_600_000, startAt: new Date(0), missed: 'skip' }, 's');
    const hour = 3_600_000;
    expect(planFire(hourlySkip, 10 * hour, 12 * hour + 1_800_000)).toEqual({ fire: null, next: 13 * hour });
    // 'skip' still runs the latest tick when it is itself recent enough to be on time.
    const secondSkip = validateTiming({ every: 1000, missed: 'skip' }, 's');
    expect(planFire(secondSkip, missedAt, now)).toEqual({ fire: 100_000_000, next: 100_001_000 });
  });

  it('ends the schedule (next null) after endAt', () => {
    const bounded = validateTiming({ every: 1000, startAt: new Date(0), endAt: new Date(3000) }, 's');
    expect(planFire(bounded, 3000, 3001)).toEqual({ fire: 3000, next: null });
  });
});

describe('schedule validation and encoding', () => {
  const job = { name: 'report', data: { to: 'ops' } };

  it('refuses invalid cron, time zone and interval with ValidationError', () => {
    for (const spec of [{ cron: '61 * * * *' }, { cron: '0 9 30 2 *' }, { cron: '' }, { cron: '0 9 * * *', tz: 'Nowhere/City' }, { every: 0 }, { every: -1 }, { every: Number.NaN }, {}]) {
      expect(() => validateTiming(spec, 's'), JSON.stringify(spec)).toThrow(ValidationError);
    }
  });

  it('encodes the same definition to the same bytes, and a different one differently', () => {
    const a = prepareSchedule('s', { cron: '0 9 * * *', tz: 'europe/berlin' }, job, {}, 3, 1024).encoded;
    const b = prepareSchedule('s', { tz: 'Europe/Berlin', cron: '0 9 * * *' }, { ...job }, {}, 3, 1024).encoded;
    const c = prepareSchedule('s', { cron: '0 9 * * *', tz: 'Europe/Berlin' }, { ...job, data: { to: 'dev' } }, {}, 3, 1024).encoded;
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it('round-trips a definition through its encoding, queue defaults applied to the job', () => {
    const { definition, encoded } = prepareSchedule('s', { every: 500, limit: 2, missed: 'skip' }, { ...job, opts: { group: 'tenant-1' } }, { attempts: 2 }, 3, 1024);
    const decoded = decodeDefinition(encoded, 's');
    expect(decoded).toEqual(definition);
    expect(decoded.timing).toMatchObject({ every: 500, limit: 2, missed: 'skip', cron: '', startAt: null, endAt: null });
    expect(decoded.group).toBe('tenant-1');
    expect(encodeDefinition(decoded).equals(encoded)).toBe(true);
  });
});

describe('cron H (hashed) fields are seeded by the schedule id', () => {
  const minuteOf = (ms: number | null): number | null => (ms === null ? null : new Date(ms).getUTCMinutes());

  it('every parse of one schedule gives the same ticks: an hourly H runs every hour at one minute', () => {
    const hourly = validateTiming({ cron: 'H * * * *' }, 'sync-crm');
    const first = firstTick(hourly, at('2026-01-01T00:00:00Z'));
    expect(first).not.toBeNull();
    // What the upsert, every runner's next run and the missed-tick lookup compute, in as many separate parses.
    const again = [firstTick(hourly, at('2026-01-01T00:00:00Z')), firstTick(validateTiming({ cron: 'H * * * *' }, 'sync-crm'), at('2026-01-01T00:00:00Z'))];
    expect(again).toEqual([first, first]);
    const chain = ticks(hourly, '2026-01-01T00:00:00Z', 5).map((tick) => at(tick ?? ''));
    expect(chain.slice(1).map((tick, i) => tick - chain[i]!)).toEqual([3_600_000, 3_600_000, 3_600_000, 3_600_000]);
    expect(new Set(chain.map(minuteOf))).toEqual(new Set([minuteOf(first)]));
    expect(tickAtOrBefore(hourly, chain[3]! + 1000)).toBe(chain[3]);
  });

  it('pins the minute cron-parser derives from an id, so an upgrade that changes it fails here', () => {
    // cron-parser 5.10: FNV-1a of the seed into mulberry32. A new hash moves every H schedule's ticks once.
    const hourly = validateTiming({ cron: 'H * * * *' }, 'daily-report');
    expect(iso(firstTick(hourly, at('2026-01-01T00:00:00Z')))).toBe('2026-01-01T00:33:00.000Z');
  });

  it('spreads schedules: different ids pick different minutes', () => {
    const minutes = new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((id) => minuteOf(firstTick(validateTiming({ cron: 'H * * * *' }, id), 0))));
    expect(minutes.size).toBeGreaterThan(1);
  });

  it('a decoded definition ticks as the upserted one did (the runner decodes it with its id)', () => {
    const { definition, encoded } = prepareSchedule('nightly', { cron: 'H H * * *', tz: 'Europe/Berlin' }, { name: 'n', data: null }, {}, 3, 1024);
    const decoded = decodeDefinition(encoded, 'nightly');
    const from = at('2026-03-01T00:00:00Z');
    const expected = ticks(definition.timing, '2026-03-01T00:00:00Z', 40);
    expect(ticks(decoded.timing, '2026-03-01T00:00:00Z', 40)).toEqual(expected);
    const tick = firstTick(definition.timing, from) ?? 0;
    expect(planFire(decoded.timing, tick, tick + 5)).toEqual({ fire: tick, next: tickAfter(definition.timing, tick) });
  });
});

describe('dates before 1970 are dates', () => {
  const now = at('2026-01-01T00:00:00Z');

  it('an endAt in 1969 (or at 0, or at -1 ms) has already ended the schedule', () => {
    for (const endAt of [new Date('1969-07-20T20:17:00Z'), new Date(0), new Date(-1)]) {
      const every = validateTiming({ every: 1000, endAt }, 's');
      expect(firstTick(every, now), endAt.toISOString()).toBeNull();
      expect(tickAfter(every, now)).toBeNull();
      // The latest tick is the last one before the end, not one in 2026.
      expect(tickAtOrBefore(every, now)).toBe(Math.floor(endAt.getTime() / 1000) * 1000);
      const cron = validateTiming({ cron: '* * * * *', endAt }, 's');
      expect(firstTick(cron, now), endAt.toISOString()).toBeNull();
      expect(tickAtOrBefore(cron, now)).toBe(Math.floor(endAt.getTime() / 60_000) * 60_000);
    }
  });

  it('a startAt in 1969 (or at -1 ms) sets the phase of every', () => {
    const half = validateTiming({ every: 1000, startAt: new Date(-500) }, 's');
    expect(firstTick(half, now)).toBe(now + 500);
    expect(tickAfter(half, now + 500)).toBe(now + 1500);
    expect(tickAtOrBefore(half, now)).toBe(now - 500);
    const lastMs = validateTiming({ every: 60_000, startAt: new Date(-1) }, 's');
    expect(firstTick(lastMs, now)).toBe(now + 59_999);
  });

  it('a cron schedule that lived and ended before 1970 has no next run, and its last tick is its last', () => {
    const sixties = validateTiming({ cron: '0 0 * * *', startAt: new Date('1960-01-01T00:00:00Z'), endAt: new Date('1965-01-01T00:00:00Z') }, 's');
    expect(firstTick(sixties, now)).toBeNull();
    expect(iso(tickAtOrBefore(sixties, now))).toBe('1965-01-01T00:00:00.000Z');
    expect(iso(firstTick(sixties, at('1959-06-01T12:00:00Z')))).toBe('1960-01-01T00:00:00.000Z');
    expect(iso(tickAfter(sixties, at('1964-12-31T00:00:00Z')))).toBe('1965-01-01T00:00:00.000Z');
    expect(tickAfter(sixties, at('1965-01-01T00:00:00Z'))).toBeNull();
  });

  it('refuses an endAt before its startAt, before 1970 as after', () => {
    for (const [startAt, endAt] of [[5000, -5000], [-5000, -10_000], [0, -1]] as const) {
      expect(() => validateTiming({ every: 1000, startAt: new Date(startAt), endAt: new Date(endAt) }, 's'), `${startAt} ${endAt}`).toThrow(/endAt is before its startAt/);
    }
    expect(validateTiming({ every: 1000, startAt: new Date(-5000), endAt: new Date(-5000) }, 's')).toMatchObject({ startAt: -5000, endAt: -5000 });
  });

  it('encodes, decodes and describes dates before 1970, and tells them apart from no date', () => {
    const spec = { every: 1000, startAt: new Date(-8.64e15), endAt: new Date(-1) };
    const { definition, encoded } = prepareSchedule('old', spec, { name: 'n', data: null }, {}, 3, 1024);
    const decoded = decodeDefinition(encoded, 'old');
    expect(decoded).toEqual(definition);
    expect(describeSpec(decoded.timing)).toEqual({ ...spec, missed: 'once' });
    const unset = decodeDefinition(prepareSchedule('new', { every: 1000 }, { name: 'n', data: null }, {}, 3, 1024).encoded, 'new');
    expect(describeSpec(unset.timing)).toEqual({ every: 1000, missed: 'once' });
  });

  it('refuses a definition stored by the encoding that wrote -1 for "no date", instead of reading 1969 into it', () => {
    const v1 = encode([1, '', '', 1000, -1, -1, -1, 'once', 'n', encode(null, 'd', 1024), encode({}, 'o', 1024), 1, ''], 'schedule', 1024);
    expect(() => decodeDefinition(v1, 's')).toThrow(/upsert it again/);
  });
});

describe('ticks past the end of the Date range', () => {
  const MAX_DATE_MS = 8.64e15;

  it('an every whose next tick falls past the last Date has none: the schedule has ended', () => {
    const huge = validateTiming({ every: Number.MAX_SAFE_INTEGER }, 's');
    expect(firstTick(huge, at('2026-01-01T00:00:00Z'))).toBeNull();
    expect(tickAfter(huge, 0)).toBeNull();
    const once = validateTiming({ every: MAX_DATE_MS, startAt: new Date(1000) }, 's');
    expect(firstTick(once, 0)).toBe(1000);
    expect(planFire(once, 1000, 1005)).toEqual({ fire: 1000, next: null });
    expect(planFire(once, 1000, 1000 + 3_600_000)).toEqual({ fire: 1000, next: null });
  });

  it('the last Date itself is a tick', () => {
    const edge = validateTiming({ every: MAX_DATE_MS }, 's');
    expect(firstTick(edge, 1)).toBe(MAX_DATE_MS);
    expect(new Date(firstTick(edge, 1) ?? Number.NaN).getTime()).toBe(MAX_DATE_MS);
    expect(tickAfter(edge, MAX_DATE_MS)).toBeNull();
  });

  it('a cron schedule at the end of the Date range ends instead of giving an invalid tick', () => {
    const minutely = validateTiming({ cron: '* * * * *' }, 's');
    expect(tickAfter(minutely, MAX_DATE_MS)).toBeNull();
    // The true next tick is the last Date; cron-parser gives up on it, which ends the schedule too.
    expect([null, MAX_DATE_MS]).toContain(tickAfter(minutely, MAX_DATE_MS - 1));
  });
});

describe('schedule ids', () => {
  it('are 1 to 200 characters of well-formed Unicode: two ids Redis would store alike would be one schedule', () => {
    expect(validateScheduleId('nightly-report')).toBe('nightly-report');
    expect(() => validateScheduleId('')).toThrow(ValidationError);
    expect(() => validateScheduleId('x'.repeat(201))).toThrow('schedule id must be a string of 1 to 200 characters');
    expect(() => validateScheduleId('nightly\uD800')).toThrow('so two schedules would be one');
  });
});
