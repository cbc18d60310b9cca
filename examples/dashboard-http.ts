/**
 * The dashboard on Node's own http server, under /admin/queues, bound to the loopback interface only.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/dashboard-http.ts
 *
 * node:http passes the whole URL to the handler, so the dashboard is told where it is mounted (basePath).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import type { ConnectionOptions } from 'sluice';
import { createDashboard, type DashboardOptions } from 'sluice/dashboard';

export interface Served {
  /** The dashboard's address, ending in '/'. */
  url: string;
  close(): Promise<void>;
}

export type ExampleOptions = { connection: ConnectionOptions; port?: number } & Omit<DashboardOptions, 'connection' | 'basePath'>;

export const BASE_PATH = '/admin/queues';

export async function serve({ port = 3000, ...options }: ExampleOptions): Promise<Served> {
  const dashboard = createDashboard({ ...options, basePath: BASE_PATH });
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === BASE_PATH || path.startsWith(`${BASE_PATH}/`)) return dashboard(req, res);
    res.statusCode = 404;
    res.end('not found\n');
  });
  // 127.0.0.1: the dashboard acts on jobs; expose it further only behind a token or authorize().
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}${BASE_PATH}/`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dashboard.close();
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  serve({ connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' } }).then(
    (served) => console.log(`sluice dashboard: ${served.url}`),
    (error: unknown) => {
      console.error('dashboard failed:', error);
      process.exitCode = 1;
    },
  );
}
