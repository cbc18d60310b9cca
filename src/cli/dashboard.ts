/**
 * `sluice dashboard`: createDashboard (sluice/dashboard) served on node:http, as examples/dashboard-http.ts
 * mounts it. Loaded by import() only when this command runs, so every other command starts without it.
 * Binds 127.0.0.1 unless told otherwise, and says so loudly when it serves actions to other hosts with no
 * token.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { ValidationError } from '../errors.js';
import { closeConnection } from '../redis/connection.js';
import { openOperatorConnection } from '../redis/operator-connection.js';
import { defineCommand, integer, type Command, type Common } from './arguments.js';
import { emit } from './output.js';

const DEFAULT_PORT = 3000;
const DEFAULT_HOST = '127.0.0.1';
/** createDashboard's own floor for a token: 16 characters. */
const MIN_TOKEN_CHARS = 16;

export interface DashboardDoc {
  /** Where it serves, ending in '/'. */
  url: string;
  readOnly: boolean;
  /** Whether a request needs the token (--auth-token-file); the token itself is never printed. */
  tokenRequired: boolean;
}

interface Settings {
  port: number;
  host: string;
  basePath: string;
  readOnly: boolean;
  token: string | undefined;
  traceUrl: string | undefined;
}

/** The token in `file`, without the line end an editor or `echo` adds; never repeated in a message. */
function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ValidationError(`--auth-token-file: cannot read '${file}' (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const token = text.trim();
  if (token.length < MIN_TOKEN_CHARS || /\s/.test(token)) {
    throw new ValidationError(`--auth-token-file: the token in '${file}' must be one line of at least ${MIN_TOKEN_CHARS} characters without spaces (openssl rand -hex 32 > ${file})`);
  }
  return token;
}

export const dashboardCommand: Command = defineCommand(
  {
    command: 'dashboard',
    positionals: [],
    flags: {
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      'base-path': { type: 'string' },
      'read-only': { type: 'boolean' },
      'auth-token-file': { type: 'string' },
      'trace-url': { type: 'string' },
    },
  },
  {
    synopsis: 'dashboard [--port 3000] [--read-only] [--auth-token-file F]  serve the web dashboard',
    usage: `Usage: sluice dashboard [options]

Serves the web dashboard (sluice/dashboard) over HTTP until SIGTERM or SIGINT. Every queue of the
prefix is listed; a job can be searched, retried, promoted and removed.

Options:
  -p, --port <n>            port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --host <address>          address to listen on (default ${DEFAULT_HOST}: this machine only)
  --base-path <path>        serve under this path, e.g. /admin/queues (default /)
  --read-only               hide every action and refuse every POST
  --auth-token-file <file>  serve nothing without the token in <file> (one line, 16+ characters): send
                            Authorization: Bearer <token>, or open the page once with ?token=<token>
  --trace-url <template>    link a job's trace id, e.g. http://localhost:16686/trace/{traceId}
`,
  },
  ({ common, flags }) => {
    const basePath = (flags.string('base-path') ?? '/').replace(/\/+$/, '');
    if (basePath !== '' && !basePath.startsWith('/')) throw new ValidationError(`--base-path must start with '/', got '${basePath}'`);
    const traceUrl = flags.string('trace-url');
    if (traceUrl !== undefined && (!/^https?:\/\/./i.test(traceUrl) || !traceUrl.includes('{traceId}'))) {
      throw new ValidationError(`--trace-url takes an http(s) URL with {traceId} in it, such as http://localhost:16686/trace/{traceId}; got '${traceUrl}'`);
    }
    const file = flags.string('auth-token-file');
    const settings: Settings = {
      port: integer('--port', flags.string('port'), 0, 65535) ?? DEFAULT_PORT,
      host: flags.string('host') ?? DEFAULT_HOST,
      basePath,
      readOnly: flags.flag('read-only'),
      token: file === undefined ? undefined : readToken(file),
      traceUrl,
    };
    return () => serve(common, settings);
  },
);

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

async function serve(common: Common, settings: Settings): Promise<number> {
  // Reached once up front: a wrong password or a closed port fails the command (exit 1) instead of every
  // page. Afterwards the connection reconnects for as long as the dashboard runs.
  const connection = await openOperatorConnection(common.redis, { commandTimeoutMs: 5000, reconnect: 'always' });
  let server: Server | undefined;
  try {
    const { createDashboard } = await import('../dashboard/index.js');
    const dashboard = createDashboard({
      connection: connection.client,
      prefix: common.prefix,
      readOnly: settings.readOnly,
      basePath: settings.basePath,
      ...(settings.token === undefined ? {} : { token: settings.token }),
      ...(settings.traceUrl === undefined ? {} : { traceUrl: settings.traceUrl }),
    });
    const { basePath } = settings;
    server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (basePath === '' || path === basePath || path.startsWith(`${basePath}/`)) return dashboard(req, res);
      res.statusCode = 404;
      res.end('not found\n');
    });
    await listen(server, settings.port, settings.host);
    const { port } = server.address() as AddressInfo;
    const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
    const doc: DashboardDoc = { url: `http://${host}:${port}${basePath}/`, readOnly: settings.readOnly, tokenRequired: settings.token !== undefined };
    emit(common.json, doc, (d) => `sluice dashboard: serving ${d.url}${d.readOnly ? ' (read-only)' : ''}${d.tokenRequired ? ' (token required)' : ''}\n`);
    if (!isLoopback(settings.host) && settings.token === undefined && !settings.readOnly) {
      process.stderr.write(`sluice dashboard: warning: serving actions on ${settings.host} with no --auth-token-file: whoever reaches this port can retry and delete jobs\n`);
    }
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    if (!common.json) process.stdout.write(`sluice dashboard: ${signal}, closing\n`);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    await dashboard.close();
    return 0;
  } finally {
    server?.close();
    await closeConnection(connection);
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(Object.assign(new Error(`cannot listen on ${host}:${port} (${error.code ?? error.message})`), { code: error.code }));
    });
    server.listen(port, host, () => resolve());
  });
}
