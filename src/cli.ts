#!/usr/bin/env node
/**
 * The `sluice` command. One subcommand so far:
 *
 *   sluice metrics --queues a,b [--port 9464] [--redis <url>]
 *
 * Exit codes: 0 after a clean stop (SIGTERM, SIGINT) or --help; 2 for a bad command line; 1 when it
 * could not start (port taken, a queue created with other priorityLevels). It never prints the Redis URL,
 * which may hold a password.
 */
import { ValidationError } from './errors.js';
import { parseMetrics, USAGE, type MetricsCommand } from './metrics/command-line.js';

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
