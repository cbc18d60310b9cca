/**
 * The command line of `sluice metrics`: its flags, their checks and the usage text, read by the parser
 * every command shares (cli/arguments.ts). No OpenTelemetry here, so --help and a bad command line answer
 * without loading the SDK.
 */
import { COMMON_USAGE, integer, parseCommand, type Common } from '../cli/arguments.js';
import { ValidationError } from '../errors.js';
import { validateQueueName } from '../keys.js';
import { MAX_PRIORITY_LEVELS } from '../options.js';
import { COMMAND_TIMEOUT_MS, DEFAULT_METRICS_PORT, HEALTH_TIMEOUT_MS } from './names.js';

export const USAGE = `Usage: sluice metrics --queues <name,name...> [options]

Serves the depth of sluice queues, read from Redis at each scrape, as Prometheus text at
GET /metrics, and Redis' health at GET /healthz (200, or 503 when Redis does not answer PING
within ${HEALTH_TIMEOUT_MS} ms). It serves at once, also while Redis is down; a queue Redis does not
answer for within ${COMMAND_TIMEOUT_MS} ms is left out of that scrape.

Options:
  --queues <a,b>          the queues to report, comma-separated (required)
  --port <n>              port to listen on (default ${DEFAULT_METRICS_PORT}; 0 picks a free one)
  --host <address>        address to listen on (default: every interface)
  --priority-levels <n>   the queues' priorityLevels (default: what each queue recorded, or 3)
  --no-scheduler          do not run a Scheduler per queue. By default the exporter also promotes due
                          delayed jobs and fires recurring schedules, so they keep arriving while no
                          worker runs (scale to zero); turn it off only where a Scheduler runs elsewhere

${COMMON_USAGE}`;

export interface MetricsCommand {
  common: Common;
  queues: string[];
  redis: string;
  port: number;
  host: string | undefined;
  prefix: string;
  priorityLevels: number | undefined;
  scheduler: boolean;
}

/** Reads the command line of `sluice metrics`; a ValidationError says what is wrong with it. */
export function parseMetrics(args: readonly string[], env: NodeJS.ProcessEnv): MetricsCommand | 'help' {
  const parsed = parseCommand(
    {
      command: 'metrics',
      positionals: [],
      flags: {
        queues: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'priority-levels': { type: 'string' },
        // node:util parseArgs learned --no-<flag> only in Node 22.4: a flag of its own here.
        'no-scheduler': { type: 'boolean' },
      },
    },
    args,
    env,
  );
  if (parsed === 'help') return 'help';
  const { common, flags } = parsed;
  const queues = (flags.string('queues') ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (queues.length === 0) throw new ValidationError('--queues is required: the queues to report, comma-separated (--queues emails,reports)');
  if (new Set(queues).size !== queues.length) throw new ValidationError(`--queues names a queue twice: ${queues.join(',')}`);
  for (const name of queues) validateQueueName(name);
  return {
    common,
    queues,
    redis: common.redis,
    port: integer('--port', flags.string('port'), 0, 65535) ?? DEFAULT_METRICS_PORT,
    host: flags.string('host'),
    prefix: common.prefix,
    priorityLevels: integer('--priority-levels', flags.string('priority-levels'), 1, MAX_PRIORITY_LEVELS),
    scheduler: !flags.flag('no-scheduler'),
  };
}
