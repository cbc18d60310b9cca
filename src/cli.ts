#!/usr/bin/env node
/**
 * The `sluice` command. One subcommand so far:
 *
 *   sluice metrics --queues a,b [--port 9464] [--redis <url>]
 *
 * Exit codes: 0 after a clean stop (SIGTERM, SIGINT) or --help; 2 for a bad command line; 1 when it
 * could not start (port taken, a queue created with other priorityLevels).
 */
import { parseArgs } from 'node:util';
import { ValidationError } from './errors.js';
import { MAX_PRIORITY_LEVELS } from './options.js';
import { DEFAULT_METRICS_PORT } from './metrics/names.js';

const USAGE = `Usage: sluice metrics --queues <name,name...> [options]

Serves the depth of sluice queues, read from Redis at each scrape, as Prometheus text at
GET /metrics, and Redis' health at GET /healthz (200, or 503 when Redis does not answer).

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

interface MetricsCommand {
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

/** Reads the command line of `sluice metrics`; a ValidationError says what is wrong with it. */
function parseMetrics(args: string[], env: NodeJS.ProcessEnv): MetricsCommand | 'help' {
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
    // parseArgs' own messages name the flag ("Unknown option '--foo'"); keep them.
    throw new ValidationError((error as Error).message);
  }
  if (values.help === true) return 'help';
  const queues = (values.queues ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (queues.length === 0) throw new ValidationError('--queues is required: the queues to report, comma-separated (--queues emails,reports)');
  if (new Set(queues).size !== queues.length) throw new ValidationError(`--queues names a queue twice: ${queues.join(',')}`);
  const redis = values.redis ?? env.REDIS_URL ?? '';
  if (redis === '') throw new ValidationError('no Redis to read: give --redis redis://host:6379 or set REDIS_URL');
  if (!/^rediss?:\/\//.test(redis)) throw new ValidationError(`--redis takes a redis:// or rediss:// URL, got '${redis}'`);
  return {
    queues,
    redis,
    port: integer('--port', values.port, 0, 65535) ?? DEFAULT_METRICS_PORT,
    host: values.host,
    prefix: values.prefix,
    priorityLevels: integer('--priority-levels', values['priority-levels'], 1, MAX_PRIORITY_LEVELS),
    scheduler: values['no-scheduler'] !== true,
  };
}

async function runMetrics(command: MetricsCommand): Promise<number> {
  // Loaded here, not at the top: `import { Queue } from 'sluice'` never loads the OpenTelemetry SDK, and
  // --help and a bad command line answer without it.
  const { MetricsExporter } = await import('./metrics/exporter.js');
  const exporter = await MetricsExporter.start({
    queues: command.queues,
    connection: { url: command.redis },
    port: command.port,
    scheduler: command.scheduler,
    ...(command.host === undefined ? {} : { host: command.host }),
    ...(command.prefix === undefined ? {} : { prefix: command.prefix }),
    ...(command.priorityLevels === undefined ? {} : { priorityLevels: command.priorityLevels }),
  });
  const scheduling = command.scheduler ? '; promoting delayed jobs and firing schedules' : '';
  process.stdout.write(`sluice metrics: serving ${exporter.queueNames.join(', ')} on port ${exporter.port} (/metrics, /healthz)${scheduling}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  process.stdout.write(`sluice metrics: ${signal}, closing\n`);
  await exporter.close();
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command !== 'metrics') {
    process.stderr.write(`sluice: unknown command ${command === undefined ? '(none)' : `'${command}'`}\n\n${USAGE}`);
    return 2;
  }
  let parsed: MetricsCommand | 'help';
  try {
    parsed = parseMetrics(rest, process.env);
  } catch (error) {
    process.stderr.write(`sluice metrics: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    return await runMetrics(parsed);
  } catch (error) {
    // A bad queue name reaches us from the Queue constructor: still a bad command line.
    if (error instanceof ValidationError) {
      process.stderr.write(`sluice metrics: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`sluice metrics: could not start: ${(error as Error).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now, so the process exits by itself; should anything still hold it open,
    // exit anyway rather than make Kubernetes wait out the grace period and SIGKILL it.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (error: unknown) => {
    process.stderr.write(`sluice: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
