#!/usr/bin/env node
/**
 * The `sluice` command: finds the subcommand, lets it read its command line, runs it, and turns the
 * outcome into an exit code. The commands live in src/cli/; users read of them in docs/guide/dashboard-and-cli.md.
 *
 * Exit codes: 0 done (or --help); 1 the command failed (Redis unreachable or refusing, no such queue or
 * job, a job in the wrong state, a port taken); 2 a bad command line, refused before anything connects.
 * Nothing it prints names the Redis URL, which may hold a password (cli/failures.ts redacts every failure).
 */
import { ValidationError } from './errors.js';
import { cancelCommand, cleanCommand, drainCommand, pause, promoteCommand, removeCommand, resume, retryCommand } from './cli/actions.js';
import { labelsCommand, workersCommand } from './cli/fleet.js';
import { COMMON_USAGE, type Command } from './cli/arguments.js';
import { dashboardCommand } from './cli/dashboard.js';
import { redactor, reportFailure } from './cli/failures.js';
import { historyCommand, jobCommand, jobsCommand, queuesCommand, schedulesCommand, statsCommand } from './cli/inspect.js';
import { metricsCommand } from './cli/metrics.js';
import { json, safeText } from './cli/output.js';

const COMMANDS = new Map<string, Command>([
  ['queues', queuesCommand],
  ['stats', statsCommand],
  ['history', historyCommand],
  ['jobs', jobsCommand],
  ['job', jobCommand],
  ['schedules', schedulesCommand],
  ['labels', labelsCommand],
  ['workers', workersCommand],
  ['retry', retryCommand],
  ['remove', removeCommand],
  ['promote', promoteCommand],
  ['cancel', cancelCommand],
  ['drain', drainCommand],
  ['pause', pause],
  ['resume', resume],
  ['clean', cleanCommand],
  ['dashboard', dashboardCommand],
  ['metrics', metricsCommand],
]);

/** A command's form and what it does, in two columns; a form too long for the first gets a line of its own. */
function synopsis(command: Command): string {
  const [form = '', summary = ''] = command.synopsis.split(/\s{2,}/);
  return form.length <= 31 ? `  ${form.padEnd(31)}  ${summary}` : `  ${form}\n  ${''.padEnd(31)}  ${summary}`;
}

const OVERVIEW = `Usage: sluice <command> [options]

Commands:
${[...COMMANDS.values()].map(synopsis).join('\n')}

${COMMON_USAGE}
Exit codes: 0 done; 1 the command failed (Redis unreachable or refusing, no such queue or job, ...);
2 a bad command line. 'sluice <command> --help' describes a command.
`;

/** A command line's mistake, on stderr (as JSON with --json), with where to read more. */
function refuse(name: string, message: string, asJson: boolean): number {
  if (asJson) process.stderr.write(json({ error: { code: 'ERR_SLUICE_VALIDATION', message } }));
  else process.stderr.write(`${message.startsWith('sluice ') ? '' : `sluice${name === '' ? '' : ` ${name}`}: `}${safeText(message)}\nRun 'sluice ${name === '' ? '' : `${name} `}--help' for the options.\n`);
  return 2;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const asJson = rest.includes('--json');
  if (name === undefined) return refuse('', 'no command given', asJson);
  if (name === '--help' || name === '-h' || name === 'help') {
    const command = rest[0] === undefined ? undefined : COMMANDS.get(rest[0]);
    process.stdout.write(command?.usage ?? OVERVIEW);
    return 0;
  }
  const command = COMMANDS.get(name);
  if (command === undefined) {
    // `sluice redis://...`: the URL went where the command goes, and is not repeated.
    const shown = /^[a-z][a-z0-9+.-]*:\/\//i.test(name) ? 'that looks like a URL (not shown: it may hold a password)' : `'${name}'`;
    return refuse('', `unknown command ${shown}`, asJson);
  }
  let invocation;
  try {
    invocation = command.parse(rest, process.env);
  } catch (error) {
    if (error instanceof ValidationError) return refuse(name, error.message, asJson);
    throw error;
  }
  if (invocation === 'help') {
    process.stdout.write(command.usage);
    return 0;
  }
  try {
    return await invocation.run();
  } catch (error) {
    reportFailure(name, error, invocation.common.json, redactor(invocation.common.redis));
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
    // A bug of ours: its message is ours too, but pass it through the net all the same.
    process.stderr.write(`sluice: ${redactor(process.env.REDIS_URL ?? '')(String(error))}\n`);
    process.exitCode = 1;
  },
);
