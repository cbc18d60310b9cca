/**
 * `sluice metrics`: the standalone Prometheus exporter (src/metrics/), until SIGTERM or SIGINT. Its command
 * line is read in metrics/command-line.ts; the exporter, and with it the OpenTelemetry SDK, is loaded by
 * import() only when the command runs.
 */
import { parseMetrics, USAGE, type MetricsCommand } from '../metrics/command-line.js';
import type { Command } from './arguments.js';
import { emit } from './output.js';

export interface MetricsDoc {
  port: number;
  queues: string[];
  scheduler: boolean;
}

async function run(command: MetricsCommand): Promise<number> {
  // Loaded here, not at the top: `import { Queue } from 'sluice'` never loads the OpenTelemetry SDK, and
  // --help and a bad command line answer without it.
  const { MetricsExporter } = await import('../metrics/exporter.js');
  const exporter = await MetricsExporter.start({
    queues: command.queues,
    connection: { url: command.redis },
    port: command.port,
    scheduler: command.scheduler,
    prefix: command.prefix,
    ...(command.host === undefined ? {} : { host: command.host }),
    ...(command.priorityLevels === undefined ? {} : { priorityLevels: command.priorityLevels }),
  });
  const doc: MetricsDoc = { port: exporter.port, queues: exporter.queueNames, scheduler: command.scheduler };
  const scheduling = command.scheduler ? '; promoting delayed jobs and firing schedules' : '';
  emit(command.common.json, doc, (d) => `sluice metrics: serving ${d.queues.join(', ')} on port ${d.port} (/metrics, /healthz)${scheduling}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  if (!command.common.json) process.stdout.write(`sluice metrics: ${signal}, closing\n`);
  await exporter.close();
  return 0;
}

export const metricsCommand: Command = {
  synopsis: 'metrics --queues a,b [--port 9464]  serve queue depths to Prometheus',
  usage: USAGE,
  parse(args, env) {
    const parsed = parseMetrics(args, env);
    return parsed === 'help' ? 'help' : { common: parsed.common, run: () => run(parsed) };
  },
};
