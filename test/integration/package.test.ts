import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand, type CommandRun } from '../harness/child.js';
import { uniqueQueue, useRedis } from '../harness/redis.js';
import { waitFor } from '../harness/wait.js';

/**
 * The published package, as a user gets it: build, `npm pack`, install the tarball into a fresh project
 * (nothing of this repo on its resolution path), then import it from plain ESM and from TypeScript.
 */
const redis = useRedis();
const root = fileURLToPath(new URL('../../', import.meta.url));
const SETUP_TIMEOUT = 120_000;

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<CommandRun> {
  return runCommand(command, args, { cwd, env });
}

/** Runs a setup step; a failed one stops the file with the command's output (npm says why it failed). */
async function step(what: string, command: string, args: readonly string[], cwd: string): Promise<CommandRun> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) {
    throw new Error(`${what} failed (exit ${String(result.code)}):\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

/** A user's script: only the package's public entry point, plain JavaScript, no build step. */
const SMOKE_SCRIPT = `
import { Queue, Worker, QueueEvents } from 'sluice';

const connection = { url: process.env.REDIS_URL };
const name = process.env.QUEUE_NAME;
const queue = new Queue(name, { connection });
const events = new QueueEvents(name, { connection });
const worker = new Worker(name, async (job) => ({ greeting: 'hello ' + job.data.to, attempt: job.attemptsStarted }), { connection });
try {
  const job = await queue.add('greet', { to: 'packaged world' });
  const result = await job.waitUntilFinished(events, 10000);
  console.log('RESULT ' + JSON.stringify(result));
  console.log('COUNTS ' + JSON.stringify(await queue.getCounts()));
  console.log('RESOLVED ' + import.meta.resolve('sluice'));
} finally {
  await worker.close();
  await events.close();
  await queue.close();
}
`;

/** The dashboard as a user mounts it, from the installed package. */
const DASHBOARD_SCRIPT = `
import { createServer } from 'node:http';
import { Queue } from 'sluice';
import { createDashboard } from 'sluice/dashboard';

const connection = { url: process.env.REDIS_URL };
const queue = new Queue(process.env.QUEUE_NAME, { connection });
await queue.add('hello', {});
const dashboard = createDashboard({ connection });
const server = createServer(dashboard);
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = 'http://127.0.0.1:' + server.address().port;
try {
  const page = await fetch(origin + '/');
  console.log('PAGE ' + page.status + ' ' + (await page.text()).includes(process.env.QUEUE_NAME));
  const js = await fetch(origin + '/assets/dashboard.js');
  const css = await fetch(origin + '/assets/dashboard.css');
  console.log('ASSETS ' + js.status + ' ' + css.status);
  console.log('RESOLVED ' + import.meta.resolve('sluice/dashboard'));
} finally {
  server.close();
  await dashboard.close();
  await queue.obliterate();
  await queue.close();
}
`;

// A processor file run in a child process and in a worker thread from the installed package: the runner
// is dist/worker/sandbox/runner.js, loaded without tsx, as users run it.
const SANDBOX_PROCESSOR = `export default async function (job) {
  await job.updateProgress(1);
  return { doubled: job.data.n * 2, pid: process.pid };
}
`;
const SANDBOX_SCRIPT = `import { Queue, Worker } from 'sluice';

const connection = { url: process.env.REDIS_URL };
for (const kind of ['process', 'thread']) {
  const name = process.env.QUEUE_NAME + '-' + kind;
  const queue = new Queue(name, { connection });
  const worker = new Worker(name, new URL('./processor.mjs', import.meta.url), { connection, sandbox: { kind } });
  const done = new Promise((resolve, reject) => {
    worker.on('completed', (_job, result) => resolve(result));
    worker.on('retrying', (_job, error) => reject(error));
  });
  await queue.add('double', { n: 21 });
  const result = await done;
  console.log('SANDBOX ' + kind + ' ' + result.doubled + ' ' + (result.pid === process.pid ? 'same' : 'other') + ' process');
  await worker.close();
  await queue.obliterate();
  await queue.close();
}
`;

describe('the published package', () => {
  let work: string | undefined;
  let app = '';
  let installed = '';

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'sluice-package-'));
    const packDir = join(work, 'pack');
    app = join(work, 'app');
    mkdirSync(packDir);
    mkdirSync(app);
    // From a clean dist/, so a file left by an older build cannot make the checks below pass.
    rmSync(join(root, 'dist'), { recursive: true, force: true });
    await step('npm run build', 'npm', ['run', 'build'], root);
    // --ignore-scripts skips prepack, which would only run the same build again (a second tsc run that
    // slows the test files running beside this one); the first test checks prepack is wired to build.
    await step('npm pack', 'npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], root);
    const tarballs = readdirSync(packDir).filter((file) => file.endsWith('.tgz'));
    if (tarballs.length !== 1) throw new Error(`npm pack made ${tarballs.length} tarballs: ${tarballs.join(', ')}`);
    const tarball = join(packDir, tarballs[0] as string);

    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'sluice-smoke-app', private: true, type: 'module' }, null, 2)}\n`);
    await step('npm install <tarball>', 'npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], app);
    installed = join(app, 'node_modules', 'sluice');
  }, SETUP_TIMEOUT);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('npm run build emits ESM JavaScript with declarations where package.json "exports" points', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      type?: string;
      exports: Record<string, { types?: string; import?: string } | string>;
      files: string[];
      scripts: Record<string, string>;
    };
    expect(pkg.type).toBe('module');
    // npm pack and npm publish build first, so a stale or missing dist/ is never published.
    expect(pkg.scripts.prepack).toBe('npm run build');
    const main = pkg.exports['.'];
    expect(main).toEqual({ types: './dist/index.d.ts', import: './dist/index.js' });
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'lua']));
    expect(existsSync(join(root, 'dist/index.js'))).toBe(true);
    expect(existsSync(join(root, 'dist/index.d.ts'))).toBe(true);
    // ESM output: export statements, no CommonJS wrapper.
    const js = readFileSync(join(root, 'dist/index.js'), 'utf8');
    expect(js).toMatch(/^export \{ Queue \} from '\.\/queue\.js';$/m);
    expect(js).not.toMatch(/require\(|module\.exports/);
    expect(readFileSync(join(root, 'dist/index.d.ts'), 'utf8')).toContain('Worker');
  });

  it('the installed package holds dist/ and lua/, and none of the sources, tests or examples', () => {
    for (const file of ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/redis/lua.js', 'lua/claim.lua', 'lua/includes/keys.lua', 'dist/dashboard/index.js', 'assets/dashboard/dashboard.js']) {
      expect(existsSync(join(installed, file)), file).toBe(true);
    }
    // Every script the library loads ships, with every include.
    const repoLua = readdirSync(join(root, 'lua')).filter((file) => file.endsWith('.lua'));
    expect(readdirSync(join(installed, 'lua')).filter((file) => file.endsWith('.lua')).sort()).toEqual(repoLua.sort());
    expect(readdirSync(join(installed, 'lua/includes')).sort()).toEqual(readdirSync(join(root, 'lua/includes')).sort());
    for (const dir of ['src', 'test', 'examples', 'bench', 'dist/test', 'node_modules']) {
      expect(existsSync(join(installed, dir)), dir).toBe(false);
    }
    // Its runtime dependencies were installed alongside it.
    expect(existsSync(join(app, 'node_modules/ioredis/package.json'))).toBe(true);
    expect(existsSync(join(app, 'node_modules/msgpackr/package.json'))).toBe(true);
  });

  it('a plain ESM app imports { Queue, Worker, QueueEvents } from the installed package and runs a job', async () => {
    writeFileSync(join(app, 'smoke.mjs'), SMOKE_SCRIPT);
    const env = { ...process.env, REDIS_URL: redis.url, QUEUE_NAME: uniqueQueue('package') };
    const { code, stdout, stderr } = await run(process.execPath, ['smoke.mjs'], app, env);
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0);
    expect(stdout).toContain('RESULT {"greeting":"hello packaged world","attempt":1}');
    expect(stdout).toContain('COUNTS {"waiting":0,"active":0,"delayed":0,"completed":1,"failed":0,"blocked":0,"paused":0,"limited":0}');
    // It ran the installed copy (and so found lua/ relative to it), not this repo's sources.
    const resolved = /^RESOLVED (.+)$/m.exec(stdout)?.[1];
    expect(resolved).toBeDefined();
    expect(fileURLToPath(resolved as string)).toBe(join(installed, 'dist/index.js'));
  }, 30_000);

  it('runs a sandboxed processor file from the installed package, in a child process and in a thread', async () => {
    writeFileSync(join(app, 'processor.mjs'), SANDBOX_PROCESSOR);
    writeFileSync(join(app, 'sandbox.mjs'), SANDBOX_SCRIPT);
    const env = { ...process.env, REDIS_URL: redis.url, QUEUE_NAME: uniqueQueue('package-sandbox') };
    const { code, stdout, stderr } = await run(process.execPath, ['sandbox.mjs'], app, env);
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0);
    expect(stdout).toContain('SANDBOX process 42 other process');
    expect(stdout).toContain('SANDBOX thread 42 same process');
  }, 30_000);

  it("serves the dashboard from 'sluice/dashboard' of the installed package, its script and stylesheet included", async () => {
    writeFileSync(join(app, 'dashboard.mjs'), DASHBOARD_SCRIPT);
    const env = { ...process.env, REDIS_URL: redis.url, QUEUE_NAME: uniqueQueue('package-dash') };
    const { code, stdout, stderr } = await run(process.execPath, ['dashboard.mjs'], app, env);
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0);
    expect(stdout).toContain('PAGE 200 true');
    expect(stdout).toContain('ASSETS 200 200');
    expect(fileURLToPath(/^RESOLVED (.+)$/m.exec(stdout)?.[1] ?? '')).toBe(join(installed, 'dist/dashboard/index.js'));
  }, 30_000);

  it('installs the `sluice` command: npx sluice metrics answers --help, exits 2 on a bad flag, and serves /metrics; sluice queues reads', async () => {
    expect(readFileSync(join(installed, 'dist/cli.js'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    // The OpenTelemetry SDK and Prometheus exporter load with the command only: no module the library entry
    // point can reach imports them (dist/metrics/exporter.js does, loaded by dist/cli.js with import()).
    const sdkImporters = readdirSync(join(installed, 'dist'), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.js'))
      .filter((file) => /from '@opentelemetry\/(sdk-metrics|exporter-prometheus)'/.test(readFileSync(join(installed, 'dist', file), 'utf8')));
    expect(sdkImporters).toEqual([join('metrics', 'exporter.js')]);
    expect(readFileSync(join(installed, 'dist/cli/metrics.js'), 'utf8')).toContain("await import('../metrics/exporter.js')");
    const help = await run('npx', ['--no-install', 'sluice', 'metrics', '--help'], app);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('--queues');
    expect((await run('npx', ['--no-install', 'sluice', 'metrics', '--port', '1'], app)).code).toBe(2);
    // The other commands come with it: one of them read against Redis from the built files.
    const queues = await run('npx', ['--no-install', 'sluice', 'queues', '--json', '--redis', redis.url], app);
    expect(queues.code, queues.stderr).toBe(0);
    expect(JSON.parse(queues.stdout)).toMatchObject({ prefix: 'sluice' });

    // Started briefly: it serves the queue, then exits 0 on SIGTERM.
    const queue = uniqueQueue('package-metrics');
    const child = spawn(join(app, 'node_modules/.bin/sluice'), ['metrics', '--queues', queue, '--port', '0'], {
      cwd: app,
      env: { ...process.env, REDIS_URL: redis.url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await waitFor('sluice metrics to serve', () => / on port \d+/.test(out), 20_000);
    const port = Number(/ on port (\d+)/.exec(out)?.[1]);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toContain(`sluice_queue_jobs{queue="${queue}",state="waiting"} 0`);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);

  it('a TypeScript app type-checks against the installed declarations (nodenext, strict)', async () => {
    copyFileSync(join(root, 'test/fixtures/package-consumer.ts'), join(app, 'consumer.ts'));
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        noEmit: true,
        // The app has no @types/node of its own; borrow this repo's (sluice's types mention Buffer and
        // EventEmitter, as any Node library's do). Library .d.ts files are checked too (no skipLibCheck).
        typeRoots: [join(root, 'node_modules/@types')],
        types: ['node'],
      },
      files: ['consumer.ts'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const { code, stdout, stderr } = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--traceResolution'], app);
    expect(code, `${stdout.split('\n').filter((line) => line.includes('error TS')).join('\n')}\n${stderr}`).toBe(0);
    // Resolved through "exports" to the installed declarations, not to anything in this repo.
    expect(stdout).toContain(`Module name 'sluice' was successfully resolved to '${join(installed, 'dist/index.d.ts')}'`);
    expect(stdout).toContain(`Module name 'sluice/testing' was successfully resolved to '${join(installed, 'dist/testing/index.d.ts')}'`);
    // tsc over the declarations takes 10 to 20 s alone and passed 60 s on a machine running three suites.
  }, 180_000);
});
