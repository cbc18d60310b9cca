/**
 * The command line of `sluice metrics`: its flags, their checks and the usage text. No OpenTelemetry here,
 * so --help and a bad command line answer without loading the SDK.
 */
import { parseArgs } from 'node:util';
import { ValidationError } from '../errors.js';
import { MAX_PRIORITY_LEVELS } from '../options.js';
import { COMMAND_TIMEOUT_MS, DEFAULT_METRICS_PORT, HEALTH_TIMEOUT_MS } from './names.js';

export const USAGE = `Usage: sluice metrics --queues <name,name...> [options]

Serves the depth of sluice queues, read from Redis at each scrape, as Prometheus text at
GET /metrics, and Redis' health at GET /healthz (200, or 503 when Redis does not answer PING
within ${HEALTH_TIMEOUT_MS} ms). It serves at once, also while Redis is down; a queue Redis does not
answer for within ${COMMAND_TIMEOUT_MS} ms is left out of that scrape.

Options:
  --queues <a,b>          the queues to report, comma-separated (required)
  --redis <url>           Redis to read, e.g. redis://redis:6379 (default: $REDIS_URL)
  --port <n>              port to listen on (default ${DEFAULT_METRICS_PORT}; 0 picks a free one)
  --host <address>        address to listen on (default: every interface)
  --prefix <prefix>       the queues' key prefix (default sluice)
  --priority-levels <n>   the queues' priorityLevels (default: what each queue recorded, or 3)
  --no-scheduler          do not run a Scheduler per queue. By default the exporter also promotes due
                          delayed jobs and fires recurring schedules, so they keep arriving while no
                          worker runs (scale to zero); turn it off only where a Scheduler runs elsewhere
  -h, --help              print this text
`;

export interface MetricsCommand {
  queues: string[];
  redis: string;
  port: number;
  host: string | undefined;
  prefix: string | undefined;
  priorityLevels: number | undefined;
  scheduler: boolean;
}

function integer(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new ValidationError(`${flag} takes a whole number from ${min} to ${max}, got '${value}'`);
  return n;
}

/**
 * Checks the Redis URL without ever repeating it: it may hold a password, and what the command prints ends
 * up in logs. Only its scheme is named. Schemes match in any case, as RFC 3986 has it.
 */
export function checkRedisUrl(url: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  if (scheme === undefined || !/^rediss?$/i.test(scheme)) {
    const got = scheme === undefined ? 'a value with no scheme' : `a URL with scheme '${scheme}'`;
    throw new ValidationError(`--redis takes a redis:// or rediss:// URL (redis://[user:password@]host:port), got ${got}; the value is not shown as it may hold a password`);
  }
  if (!URL.canParse(url)) throw new ValidationError(`--redis is not a valid ${scheme}:// URL; the value is not shown as it may hold a password`);
  return url;
}

/** Reads the command line of `sluice metrics`; a ValidationError says what is wrong with it. */
export function parseMetrics(args: string[], env: NodeJS.ProcessEnv): MetricsCommand | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        queues: { type: 'string' },
        redis: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        prefix: { type: 'string' },
        'priority-levels': { type: 'string' },
        // node:util parseArgs learned --no-<flag> only in Node 22.4: a flag of its own here.
        'no-scheduler': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // parseArgs' own messages name the flag ("Unknown option '--foo'"); keep them. Except the one that
    // repeats a stray value, which may be a Redis URL given without its --redis.
    if ((error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new ValidationError('sluice metrics takes only flags, and got a value with no flag before it (not shown: it may hold a password)');
    }
    throw new ValidationError((error as Error).message);
  }
  if (values.help === true) return 'help';
  const queues = (values.queues ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (queues.length === 0) throw new ValidationError('--queues is required: the queues to report, comma-separated (--queues emails,reports)');
  if (new Set(queues).size !== queues.length) throw new ValidationError(`--queues names a queue twice: ${queues.join(',')}`);
  const redis = values.redis ?? env.REDIS_URL ?? '';
  if (redis === '') throw new ValidationError('no Redis to read: give --redis redis://host:6379 or set REDIS_URL');
  return {
    queues,
    redis: checkRedisUrl(redis),
    port: integer('--port', values.port, 0, 65535) ?? DEFAULT_METRICS_PORT,
    host: values.host,
    prefix: values.prefix,
    priorityLevels: integer('--priority-levels', values['priority-levels'], 1, MAX_PRIORITY_LEVELS),
    scheduler: values['no-scheduler'] !== true,
  };
}
