import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'sluice';
import { serve as serveExpress } from '../../examples/dashboard-express.js';
import { serve as serveFastify } from '../../examples/dashboard-fastify.js';
import { serve as serveHttp, type ExampleOptions, type Served } from '../../examples/dashboard-http.js';
import { serve as serveKoa } from '../../examples/dashboard-koa.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { hasChromium, launch, screenshot, watch } from './chromium.js';

/**
 * The dashboard mounted under /admin/queues by each example in examples/ (node:http, Express, Fastify,
 * Koa): in Chromium, its stylesheet and script load through the mount, the page polls its JSON, a link
 * leads to a queue, and a form POST (pause) goes through the framework and its CSRF check.
 */
const redis = useRedis();
const chromium = hasChromium();
let browser: Browser | undefined;

beforeAll(async () => {
  if (chromium) browser = await launch();
}, 30_000);
afterAll(async () => {
  await browser?.close();
});

const FRAMEWORKS: [string, (options: ExampleOptions) => Promise<Served>][] = [
  ['node-http', serveHttp],
  ['express', serveExpress],
  ['fastify', serveFastify],
  ['koa', serveKoa],
];

describe.skipIf(!chromium)('mounted in a framework', () => {
  it.each(FRAMEWORKS)('%s: pages, assets, polling and a POST action under /admin/queues', async (framework, serve) => {
    const queue = new Queue(uniqueQueue(`mount-${framework}`), { connection: redis.connection });
    await queue.add('hello', { framework });
    const served = await serve({ connection: redis.connection, port: 0, pollIntervalMs: 250 });
    const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 720 } });
    const seen = watch(page);
    try {
      expect(served.url).toMatch(/\/admin\/queues\/$/);
      expect((await page.goto(served.url))?.status()).toBe(200);
      // The stylesheet came through the mount (the header is dark), and the script polled (live).
      // Strings evaluated in the page: the project's TypeScript has no DOM types, on purpose.
      expect(await page.evaluate("getComputedStyle(document.querySelector('header.top')).backgroundColor")).toBe('rgb(20, 32, 46)');
      await page.waitForSelector('#live.ok', { timeout: 10_000 });
      await page.click(`a[href$="/queues/${queue.name}"]`);
      await page.waitForSelector('#pause');
      expect(page.url()).toContain(`/admin/queues/queues/${queue.name}`);
      await page.click('#pause');
      await page.waitForSelector('.flash.ok');
      expect(await page.textContent('.flash.ok')).toBe('Paused: workers take no new jobs.');
      expect((await queue.getMetrics()).isPaused).toBe(true);
      await screenshot(page, `mount-${framework}`);
      expect(seen).toEqual({ dialogs: [], errors: [] });
    } finally {
      await page.close();
      await served.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
