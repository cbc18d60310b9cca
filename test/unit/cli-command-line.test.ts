import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ValidationError } from 'sluice';
import { cleanCommand, promoteCommand, retryCommand } from '../../src/cli/actions.js';
import { parseCommand, type Command, type Invocation, type Parsed, type Shape } from '../../src/cli/arguments.js';
import { dashboardCommand } from '../../src/cli/dashboard.js';
import { formatDuration, parseDuration } from '../../src/cli/durations.js';
import { redactor } from '../../src/cli/failures.js';
import { historyCommand, jobsCommand } from '../../src/cli/inspect.js';
import { json, pretty, safeBlock, safeText, table } from '../../src/cli/output.js';
import { render } from '../../src/cli/progress.js';
import { why } from '../../src/redis/operator-connection.js';

/** The command line of every `sluice` command: what it accepts, and that no refusal repeats a secret. */
const REDIS = { REDIS_URL: 'redis://127.0.0.1:6379' };
const SECRET = 'hunter2-s3cr3t';
const SECRET_URL = `redis://alice:${SECRET}@db-internal.example:6399/2`;

const stats: Shape = { command: 'stats', positionals: ['queue'], flags: {} };
const job: Shape = { command: 'job', positionals: ['queue', 'id'], flags: {} };

function parsed(shape: Shape, args: string[], env: NodeJS.ProcessEnv = REDIS): Parsed {
  const result = parseCommand(shape, args, env);
  if (result === 'help') throw new Error('expected a command line, got help');
  return result;
}

/** The message of the ValidationError `run` throws. */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error('expected a ValidationError, got none');
}

function invocation(command: Command, args: string[]): Invocation {
  const result = command.parse(args, REDIS);
  if (result === 'help') throw new Error('expected a command line, got help');
  return result;
}

describe('sluice command line: the flags every command takes', () => {
  it('reads --redis (or -u, or REDIS_URL), --prefix and --json, with sluice as the default prefix', () => {
    expect(parsed(stats, ['emails']).common).toEqual({ redis: REDIS.REDIS_URL, prefix: 'sluice', json: false });
    expect(parsed(stats, ['emails', '--redis', 'rediss://r:1', '--prefix', 'app', '--json']).common).toEqual({ redis: 'rediss://r:1', prefix: 'app', json: true });
    expect(parsed(stats, ['-u', 'redis://r:2', 'emails']).common.redis).toBe('redis://r:2');
    // The flag wins over the variable.
    expect(parsed(stats, ['emails', '--redis', 'redis://flag:1'], { REDIS_URL: 'redis://env:1' }).common.redis).toBe('redis://flag:1');
  });

  it('answers --help before anything else, even on a line with other mistakes', () => {
    expect(parseCommand(stats, ['--help'], {})).toBe('help');
    expect(parseCommand(stats, ['-h', '--bogus'], {})).toBe('help');
    expect(parseCommand(stats, ['a', 'b', 'c', '--help'], {})).toBe('help');
  });

  it('refuses a missing Redis, a missing or extra positional, a bad queue name or prefix', () => {
    expect(refusal(() => parseCommand(stats, ['emails'], {}))).toMatch(/--redis .*REDIS_URL/);
    expect(refusal(() => parsed(stats, []))).toMatch(/<queue> is missing/);
    expect(refusal(() => parsed(job, ['emails']))).toMatch(/<id> is missing/);
    expect(refusal(() => parsed(stats, ['a', 'b']))).toMatch(/takes <queue>, and got 2 values/);
    expect(refusal(() => parsed(stats, ['a{b}']))).toMatch(/brace/);
    expect(refusal(() => parsed(stats, ['emails', '--prefix', 'a b']))).toMatch(/prefix/);
    expect(refusal(() => parsed(job, ['emails', '\ud800']))).toMatch(/lone surrogate/);
  });

  it('never repeats a Redis URL: not a refused one, not one given where a queue or a flag goes', () => {
    const messages = [
      refusal(() => parsed(stats, ['emails', '--redis', SECRET_URL.replace('redis:', 'http:')])),
      refusal(() => parsed(stats, ['emails', '--redis', `${SECRET}@db-internal.example:6399`])),
      refusal(() => parsed(stats, [SECRET_URL])),
      refusal(() => parsed(stats, ['emails', SECRET_URL])),
      refusal(() => parsed({ command: 'queues', positionals: [], flags: {} }, [SECRET_URL])),
      refusal(() => parsed(stats, ['emails', `--${SECRET_URL}`])),
      refusal(() => parsed(stats, ['emails', `--password=${SECRET}`])),
    ];
    for (const message of messages) {
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain('db-internal');
    }
    // An unknown flag that is only a flag is named, so the user sees the typo.
    expect(refusal(() => parsed(stats, ['emails', '--jsn']))).toContain("'--jsn'");
  });
});

describe("the commands' own flags", () => {
  it('jobs: --state is required and one of the states; --limit is bounded', () => {
    expect(refusal(() => invocation(jobsCommand, ['emails']))).toMatch(/--state is required: one of waiting, active, delayed, blocked, completed, failed/);
    expect(refusal(() => invocation(jobsCommand, ['emails', '--state', 'paused']))).toMatch(/--state takes one of/);
    expect(refusal(() => invocation(jobsCommand, ['emails', '--state', 'failed', '--limit', '0']))).toMatch(/--limit takes a whole number from 1 to 1000/);
    expect(refusal(() => invocation(jobsCommand, ['emails', '-s', 'failed', '-n', '-3']))).toMatch(/'-n' argument is ambiguous.*--limit=-XYZ/);
    expect(invocation(jobsCommand, ['emails', '-s', 'failed', '--name', 'send', '--group', 'acme', '-n', '5'])).toMatchObject({ common: { json: false } });
  });

  it('retry and promote: a job id or the flag for all of them, never both or neither', () => {
    expect(refusal(() => invocation(retryCommand, ['emails']))).toMatch(/a job id, or --all-failed/);
    expect(refusal(() => invocation(retryCommand, ['emails', '42', '--all-failed']))).toMatch(/not both/);
    expect(refusal(() => invocation(promoteCommand, ['emails']))).toMatch(/a job id, or --all/);
    expect(refusal(() => invocation(promoteCommand, ['emails', '7', '--all']))).toMatch(/not both/);
    invocation(retryCommand, ['emails', '42']);
    invocation(retryCommand, ['emails', '--all-failed']);
    invocation(promoteCommand, ['emails', '--all']);
  });

  it('clean: --state completed or failed and --older-than are required', () => {
    expect(refusal(() => invocation(cleanCommand, ['emails', '--older-than', '1h']))).toMatch(/--state is required/);
    expect(refusal(() => invocation(cleanCommand, ['emails', '--state', 'waiting', '--older-than', '1h']))).toMatch(/completed, failed/);
    expect(refusal(() => invocation(cleanCommand, ['emails', '--state', 'completed']))).toMatch(/--older-than is required/);
    expect(refusal(() => invocation(cleanCommand, ['emails', '--state', 'completed', '--older-than', '3600']))).toMatch(/say the unit: 3600s/);
    invocation(cleanCommand, ['emails', '--state', 'failed', '--older-than', '0']);
  });

  it('dashboard: a port in range, a base path from the root, a token file that holds a token', () => {
    expect(refusal(() => invocation(dashboardCommand, ['--port', '70000']))).toMatch(/--port/);
    expect(refusal(() => invocation(dashboardCommand, ['--base-path', 'admin']))).toMatch(/--base-path must start with '\/'/);
    expect(refusal(() => invocation(dashboardCommand, ['--trace-url', 'http://jaeger:16686/trace/']))).toMatch(/\{traceId\}/);
    invocation(dashboardCommand, ['--trace-url', 'http://jaeger:16686/trace/{traceId}', '--read-only', '--host', '0.0.0.0', '-p', '0']);
    expect(refusal(() => invocation(dashboardCommand, ['--auth-token-file', '/nonexistent/token']))).toMatch(/cannot read '\/nonexistent\/token' \(ENOENT\)/);
    expect(refusal(() => invocation(dashboardCommand, ['--auth-token-file', fileURLToPath(new URL('../../package.json', import.meta.url))]))).toMatch(/one line of at least 16/);
  });
});

describe('history', () => {
  it('--minutes from 1 to 180, the window Redis keeps', () => {
    expect(refusal(() => invocation(historyCommand, ['emails', '--minutes', '181']))).toMatch(/--minutes takes a whole number from 1 to 180/);
    expect(refusal(() => invocation(historyCommand, ['emails', '-m', '0']))).toMatch(/from 1 to 180/);
    invocation(historyCommand, ['emails', '-m', '180']);
  });
});

describe('durations', () => {
  it('reads one unit or a sum of them, and 0 alone', () => {
    expect(parseDuration('--older-than', '0')).toBe(0);
    expect(parseDuration('--older-than', '500ms')).toBe(500);
    expect(parseDuration('--older-than', '90s')).toBe(90_000);
    expect(parseDuration('--older-than', '30m')).toBe(1_800_000);
    expect(parseDuration('--older-than', '1h')).toBe(3_600_000);
    expect(parseDuration('--older-than', '7d')).toBe(604_800_000);
    expect(parseDuration('--older-than', '2w')).toBe(1_209_600_000);
    expect(parseDuration('--older-than', '1h30m')).toBe(5_400_000);
    expect(parseDuration('--older-than', '1d12h')).toBe(129_600_000);
  });

  it('refuses a bare number, a negative, a fraction, an unknown unit, and more than ten years', () => {
    for (const text of ['3600', '-1h', '1.5h', '1y', 'h', '', '1h 30m', '1H', '0s0']) {
      expect(refusal(() => parseDuration('--older-than', text)), text).toMatch(/--older-than takes a duration/);
    }
    expect(refusal(() => parseDuration('--older-than', '3651d'))).toMatch(/ten years/);
    expect(refusal(() => parseDuration('--older-than', '99999999999999999999w'))).toMatch(/ten years/);
  });

  it('prints what it reads', () => {
    expect([850, 42_000, 310_000, 3_600_000, 11_400_000, 187_200_000].map(formatDuration)).toEqual(['850ms', '42s', '5m 10s', '1h', '3h 10m', '2d 4h']);
    for (const text of ['42s', '1h', '2d']) expect(formatDuration(parseDuration('x', text))).toBe(text);
  });
});

describe('output', () => {
  it("shows a terminal's control characters and bidi overrides as escapes", () => {
    expect(safeText('a\x1b[31mred\x1b]0;title\x07\u009b\u202eevil\nnext')).toBe('a\\x1b[31mred\\x1b]0;title\\x07\\x9b\\u202eevil\\nnext');
    expect(safeBlock('at x\n\tat y\x1b[2J')).toBe('at x\n\tat y\\x1b[2J');
    // eslint-disable-next-line no-control-regex -- the control characters are what is checked
    expect(pretty({ s: '\x1b[2J\u202e' })).not.toMatch(/[\x1b\u202e]/);
  });

  it('JSON: valid, and with every control and bidi character escaped', () => {
    const value = { s: '\x1b\x7f\u0085\u009b\u2028\u202e\u2066', when: new Date(0), big: 2n ** 70n, bytes: Buffer.from('hi'), none: undefined, nan: NaN };
    const text = json(value);
    // eslint-disable-next-line no-control-regex -- the control characters are what is checked
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    expect(JSON.parse(text)).toEqual({ s: value.s, when: '1970-01-01T00:00:00.000Z', big: '1180591620717411303424', bytes: { $bytes: 'aGk=' }, nan: null });
  });

  it('tables: columns padded to their widest cell, numbers right-aligned', () => {
    expect(table([{ header: 'QUEUE' }, { header: 'N', align: 'right' }], [['emails', '5'], ['x', '120']])).toBe('QUEUE     N\nemails    5\nx       120\n');
  });

  it('a progress bar fits its line and never passes 100%', () => {
    expect(render('retrying', { done: 45_000, total: 100_000 }, 80)).toBe(`retrying  [${'#'.repeat(18)}${'.'.repeat(22)}]   45%  45000/100000`);
    expect(render('x', { done: 1200, total: 1000 }, 80)).toContain('100%  1000/1000');
    expect(render('x', { done: 0, total: 0 }, 80)).toContain('100%  0/0');
    expect(render('a long label', { done: 1, total: 3 }, 30).length).toBeLessThanOrEqual(50);
  });
});

describe('failures name no secret', () => {
  it('the redactor takes out the URL, its password and user, its host with and without the port, and any address with a port', () => {
    const redact = redactor(SECRET_URL);
    const text = `${SECRET_URL} alice ${SECRET} ${encodeURIComponent(SECRET)} db-internal.example:6399 getaddrinfo ENOTFOUND db-internal.example connect ECONNREFUSED 10.1.2.3:6399 [fd00::1]:6379`;
    const out = redact(text);
    for (const part of [SECRET, 'alice', 'db-internal', '10.1.2.3', 'fd00::1', '6399']) expect(out).not.toContain(part);
    // The words around them stay.
    expect(out).toContain('getaddrinfo ENOTFOUND <redacted>');
    // A password with characters the URL encodes is taken out in both spellings.
    const odd = redactor('redis://:p%40ss%2Fw0rd@h:1');
    expect(odd('auth p@ss/w0rd and p%40ss%2Fw0rd')).toBe('auth <redacted> and <redacted>');
    // `redis` as a host name would take the word out of every message about Redis: left alone.
    expect(redactor('redis://:pw-long@redis:6379')('cannot reach Redis: redis:6379 pw-long')).toBe('cannot reach Redis: <redacted> <redacted>');
  });

  it("the first contact's failure is said without ioredis' message, which names the address", () => {
    const cases: [Error & { code?: string }, RegExp][] = [
      [Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:6399'), { code: 'ECONNREFUSED' }), /ECONNREFUSED/],
      [Object.assign(new Error('getaddrinfo ENOTFOUND db-internal.example'), { code: 'ENOTFOUND' }), /does not resolve/],
      [Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }), /within 5 s/],
      [new Error('WRONGPASS invalid username-password pair or user is disabled.'), /WRONGPASS/],
      [new Error('NOAUTH Authentication required.'), /NOAUTH/],
      [Object.assign(new Error('self-signed certificate for db-internal.example'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), /TLS handshake/],
      [new Error('something at 10.1.2.3:6399 we never heard of'), /the connection failed \(Error\)/],
    ];
    for (const [error, message] of cases) {
      const said = why(error);
      expect(said).toMatch(message);
      expect(said).not.toMatch(/10\.1\.2\.3|db-internal/);
    }
  });
});

describe('the sluice command loads the dashboard and the OpenTelemetry SDK only for the commands that need them', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));

  /** The modules `entry` loads by static imports (type-only imports are erased: left out), and the packages they import. */
  function staticGraph(entry: string): { modules: string[]; packages: Set<string> } {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const pending = [join(root, entry)];
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      if (seen.has(file)) continue;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?\sfrom\s+['"]([^'"]+)['"]/gms)) {
        const [, typeOnly, specifier = ''] = match;
        if (typeOnly !== undefined) continue;
        if (specifier.startsWith('.')) pending.push(join(dirname(file), specifier.replace(/\.js$/, '.ts')));
        else packages.add(specifier);
      }
    }
    return { modules: [...seen].map((file) => relative(root, file)), packages };
  }

  it('src/cli.ts reaches no module of the dashboard, nor the exporter, nor the SDK, until a command imports them', () => {
    const { modules, packages } = staticGraph('src/cli.ts');
    expect(modules).toContain('src/cli/dashboard.ts');
    expect(modules).toContain('src/queue.ts');
    expect(modules.filter((file) => file.startsWith('src/dashboard/') || file === 'src/metrics/exporter.ts')).toEqual([]);
    expect([...packages].filter((name) => name.startsWith('@opentelemetry/sdk') || name.startsWith('@opentelemetry/exporter'))).toEqual([]);
    // They are there, behind import(): the dashboard command and the metrics command load them.
    expect(readFileSync(join(root, 'src/cli/dashboard.ts'), 'utf8')).toContain("await import('../dashboard/index.js')");
    expect(readFileSync(join(root, 'src/cli/metrics.ts'), 'utf8')).toContain("await import('../metrics/exporter.js')");
  });
});
