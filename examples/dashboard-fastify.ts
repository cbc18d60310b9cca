/**
 * The dashboard in a Fastify app, under /admin/queues.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/dashboard-fastify.ts
 *
 * The routes hand the raw request and response to the dashboard (reply.hijack()). Fastify refuses a form
 * body it has no parser for (415), so the plugin registers one that leaves the body to the dashboard; it
 * is scoped to the plugin and changes nothing for the rest of the app.
 */
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { createDashboard } from 'sluice/dashboard';
import { BASE_PATH, type ExampleOptions, type Served } from './dashboard-http.js';

export async function serve({ port = 3000, ...options }: ExampleOptions): Promise<Served> {
  const dashboard = createDashboard({ ...options, basePath: BASE_PATH });
  const app = Fastify();
  await app.register((scope, _options, registered) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', (_request, _payload, done) => done(null, undefined));
    const mount = (request: FastifyRequest, reply: FastifyReply): void => {
      reply.hijack();
      dashboard(request.raw, reply.raw);
    };
    scope.all(BASE_PATH, mount);
    scope.all(`${BASE_PATH}/*`, mount);
    registered();
  });
  await app.listen({ port, host: '127.0.0.1' });
  const { port: bound } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}${BASE_PATH}/`,
    close: async () => {
      await app.close();
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
