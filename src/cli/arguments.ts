/**
 * The command line of every `sluice` command: node:util parseArgs with the flags all of them take (--redis,
 * --prefix, --json, --help), their positionals, and the checks that turn a bad command line into a
 * ValidationError (exit 2) before anything connects. Nothing here repeats a value that may hold a
 * password: a Redis URL is named by its scheme only, a stray value or an unknown flag that looks like a
 * URL is not shown at all.
 */
import { parseArgs } from 'node:util';
import { assertWellFormed } from '../bounds.js';
import { ValidationError } from '../errors.js';
import { DEFAULT_PREFIX, validatePrefix, validateQueueName } from '../keys.js';

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** The flags every command takes, in redis-cli's spelling where it has one (-u <url>). */
const COMMON_FLAGS = {
  redis: { type: 'string', short: 'u' },
  prefix: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies FlagSpec;

export const COMMON_USAGE = `Every command:
  -u, --redis <url>   Redis, redis://[user:password@]host:port[/db] or rediss:// (default: $REDIS_URL;
                      prefer the variable: a flag's value shows in ps to every user of the machine)
  --prefix <prefix>   the queues' key prefix (default ${DEFAULT_PREFIX})
  --json              print one JSON document instead of tables, for scripts (its shape is in
                      docs/guide/dashboard-and-cli.md)
  -h, --help          print this text
`;

/** What every command gets from its command line. */
export interface Common {
  redis: string;
  prefix: string;
  json: boolean;
}

export interface Parsed {
  common: Common;
  /** The command's own flags, as given. */
  flags: Flags;
  /** The positionals, as many as the command names (optional ones may be missing). */
  positionals: string[];
}

export class Flags {
  constructor(private readonly values: Record<string, string | boolean | undefined>) {}

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }
}

/** A command's shape: its name (for messages), its positionals (`'id?'` is optional) and its own flags. */
export interface Shape {
  command: string;
  positionals: readonly string[];
  flags: FlagSpec;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const NOT_SHOWN = 'not shown: it may hold a password';

/**
 * Checks the Redis URL without ever repeating it: it may hold a password, and what the command prints ends
 * up in logs. Only its scheme is named. Schemes match in any case, as RFC 3986 has it.
 */
export function checkRedisUrl(url: string): string {
  const scheme = SCHEME.exec(url)?.[1];
  if (scheme === undefined || !/^rediss?$/i.test(scheme)) {
    const got = scheme === undefined ? 'a value with no scheme' : `a URL with scheme '${scheme}'`;
    throw new ValidationError(`--redis takes a redis:// or rediss:// URL (redis://[user:password@]host:port), got ${got}; the value is not shown as it may hold a password`);
  }
  if (!URL.canParse(url)) throw new ValidationError(`--redis is not a valid ${scheme}:// URL; the value is not shown as it may hold a password`);
  return url;
}

/** `value` as a whole number from `min` to `max`, or undefined when the flag was not given. */
export function integer(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new ValidationError(`${flag} takes a whole number from ${min} to ${max}, got '${value}'`);
  return n;
}

/** `value` as one of `choices`, or undefined when the flag was not given. */
export function oneOf<T extends string>(flag: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) throw new ValidationError(`${flag} takes one of ${choices.join(', ')}, got '${value}'`);
  return value as T;
}

/** parseArgs' own refusal, said again without repeating anything that may be a secret. */
function refusal(error: unknown, command: string): ValidationError {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    return new ValidationError(`sluice ${command} takes only flags, and got a value with no flag before it (${NOT_SHOWN})`);
  }
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']*)'/.exec(message)?.[1] ?? '';
    // `--redis://...` or `--pass=...` typed by mistake: the "flag" is the secret.
    const named = /^-{1,2}[A-Za-z0-9][A-Za-z0-9-]*$/.test(flag) ? `'${flag}'` : `(${NOT_SHOWN})`;
    return new ValidationError(`sluice ${command} has no option ${named}`);
  }
  // Missing values, a value given to a boolean flag: parseArgs names the flag, never its value.
  return new ValidationError(message.replace(/\s*\n\s*/g, ' '));
}

/**
 * Reads a command line. Returns 'help' for --help (even with other mistakes on the line); throws
 * ValidationError for anything else that is wrong, naming what and how to fix it.
 */
export function parseCommand(shape: Shape, args: readonly string[], env: NodeJS.ProcessEnv): Parsed | 'help' {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...args],
      options: { ...COMMON_FLAGS, ...shape.flags },
      strict: true,
      allowPositionals: shape.positionals.length > 0,
    }));
  } catch (error) {
    if (args.includes('--help') || args.includes('-h')) return 'help';
    throw refusal(error, shape.command);
  }
  if (values.help === true) return 'help';
  checkPositionals(shape, positionals);
  const redis = (typeof values.redis === 'string' ? values.redis : undefined) ?? env.REDIS_URL ?? '';
  if (redis === '') throw new ValidationError('no Redis to connect to: give --redis redis://host:6379 or set REDIS_URL');
  const prefix = typeof values.prefix === 'string' ? values.prefix : DEFAULT_PREFIX;
  return {
    common: { redis: checkRedisUrl(redis), prefix: validatePrefix(prefix), json: values.json === true },
    flags: new Flags(values),
    positionals,
  };
}

function checkPositionals(shape: Shape, positionals: readonly string[]): void {
  const required = shape.positionals.filter((name) => !name.endsWith('?')).length;
  const wanted = shape.positionals.map((name) => (name.endsWith('?') ? `[<${name.slice(0, -1)}>]` : `<${name}>`)).join(' ');
  if (positionals.length > shape.positionals.length) {
    throw new ValidationError(`sluice ${shape.command} takes ${wanted}, and got ${positionals.length} values (the extra ones are ${NOT_SHOWN})`);
  }
  // A URL where a queue name or a job id goes is --redis without its flag: refused, and not repeated.
  if (positionals.some((value) => SCHEME.test(value))) {
    throw new ValidationError(`sluice ${shape.command} takes ${wanted}, and got a URL among them (${NOT_SHOWN}); give Redis' URL with --redis`);
  }
  if (positionals.length < required) {
    const missing = shape.positionals[positionals.length] ?? '';
    throw new ValidationError(`sluice ${shape.command} takes ${wanted}: <${missing.replace(/\?$/, '')}> is missing`);
  }
  shape.positionals.forEach((name, i) => {
    const value = positionals[i];
    if (value === undefined) return;
    if (name.startsWith('queue')) validateQueueName(value);
    if (name.startsWith('id')) {
      if (value.length === 0) throw new ValidationError(`sluice ${shape.command}: the job id is empty`);
      assertWellFormed('job id', value, 'it could name another job');
    }
  });
}

/** A command line read and checked: what to run, and the flags every command has. */
export interface Invocation {
  common: Common;
  /** Resolves the exit code; rejects when the command failed (exit 1). */
  run(): Promise<number>;
}

export interface Command {
  /** Its line in `sluice --help`. */
  synopsis: string;
  /** Its whole `--help` text. */
  usage: string;
  /** Reads its command line: 'help', or what to run; a ValidationError when it is wrong (exit 2). */
  parse(args: readonly string[], env: NodeJS.ProcessEnv): Invocation | 'help';
}

/**
 * A command from its shape, its texts (the flags every command takes are added to its usage) and `prepare`,
 * which checks its own flags (throwing ValidationError) and returns what to run.
 */
export function defineCommand(shape: Shape, text: { synopsis: string; usage: string }, prepare: (parsed: Parsed) => () => Promise<number>): Command {
  return {
    synopsis: text.synopsis,
    usage: `${text.usage}\n${COMMON_USAGE}`,
    parse(args, env) {
      const parsed = parseCommand(shape, args, env);
      return parsed === 'help' ? 'help' : { common: parsed.common, run: prepare(parsed) };
    },
  };
}
