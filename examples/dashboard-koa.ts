/**
 * The dashboard in a Koa app, under /admin/queues.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/dashboard-koa.ts
 *
 * A middleware hands the raw request and response to the dashboard and tells Koa not to answer
 * (ctx.respond = false); it resolves once the dashboard has answered.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import Koa from 'koa';
import { createDashboard } from 'sluice/dashboard';
import { BASE_PATH, type ExampleOptions, type Served } from './dashboard-http.js';

export async function serve({ port = 3000, ...options }: ExampleOptions): Promise<Served> {
  const dashboard = createDashboard({ ...options, basePath: BASE_PATH });
  const app = new Koa();
  app.use(async (ctx, next) => {
    if (ctx.path !== BASE_PATH && !ctx.path.startsWith(`${BASE_PATH}/`)) {
      await next();
      return;
    }
    ctx.respond = false;
    await new Promise<void>((resolve) => {
      ctx.res.once('close', resolve);
      dashboard(ctx.req, ctx.res);
    });
  });
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
