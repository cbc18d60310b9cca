/**
 * The dashboard in an Express app, under /admin/queues, behind the app's own access check.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/dashboard-express.ts
 *
 * Express cuts the mount path from req.url and keeps it in req.originalUrl: the dashboard finds its base
 * path there, so `app.use(path, dashboard)` is all it takes.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { createDashboard } from 'sluice/dashboard';
import { BASE_PATH, type ExampleOptions, type Served } from './dashboard-http.js';

export async function serve({ port = 3000, ...options }: ExampleOptions): Promise<Served> {
  const dashboard = createDashboard(options);
  const app = express();
  app.use(BASE_PATH, dashboard);
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(port, '127.0.0.1', () => resolve(listening));
  });
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
