import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './redis-server.js';

/**
 * A local Redis Cluster of three masters on loopback, by default without replicas: redis-server processes
 * with cluster mode on, each in a temp dir of its own, joined by `redis-cli --cluster create`. One per test
 * file: start it in the file's beforeAll (inside a `describe.skipIf(!hasRedisCli())`), stop it in afterAll.
 * With `replicas: 1` each master gets a replica (six processes), for failover tests.
 */
export interface TestCluster {
  /** The masters at start, as `{ host, port }`: what ioredis' Cluster takes as startup nodes. */
  readonly nodes: readonly { host: string; port: number }[];
  /** Every node's port, masters and replicas. */
  readonly ports: readonly number[];
  /** SIGKILLs the node on `port` (a fault test's crash of a master or a replica). */
  kill(port: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Replicas per master. Default 0. */
  replicas?: number;
  /** cluster-node-timeout (ms): how long a master may be unreachable before a replica takes over. Default Redis' 15,000. */
  nodeTimeoutMs?: number;
  /**
   * What runs each redis-server, given the node's port and directory: a command and its arguments, to which
   * redis-server and its own arguments are added (bench/partitions.ts runs the masters under valgrind's
   * callgrind). Default: redis-server itself.
   */
  launcher?: (port: number, dir: string) => readonly string[];
}

interface ClusterNodeProcess {
  readonly port: number;
  readonly dir: string;
  readonly process: ChildProcess;
}

const MASTERS = 3;

/** redis-cli does the slot assignment and the handshake; without it there is no cluster to test. */
export function hasRedisCli(): boolean {
  return spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;
}

export const NO_REDIS_CLI =
  'redis-cli is not on PATH: it creates the test cluster (Debian/Ubuntu: apt-get install redis-tools, which comes with redis-server)';

async function startNode(extra: readonly string[], launcher?: (port: number, dir: string) => readonly string[]): Promise<ClusterNodeProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cluster-'));
  let lastError: unknown;
  // A port found free can be taken before redis binds it (and cluster mode also binds port + 10,000): try a few.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const [command = 'redis-server', ...prefix] = launcher === undefined ? [] : [...launcher(port, dir), 'redis-server'];
    const child = spawn(
      command,
      [
        ...prefix,
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, `nodes-${port}.conf`),
        '--appendonly', 'no',
        '--save', '',
        '--dir', dir,
        ...extra,
      ],
      { stdio: 'ignore' },
    );
    try {
      // Under valgrind a node takes a few seconds to start.
      await until(`redis-server on port ${port} to answer PING`, async () => (await ask(port, ['PING'])) === 'PONG', launcher === undefined ? 10_000 : 60_000);
      return { port, dir, process: child };
    } catch (error) {
      lastError = error;
      await kill(child);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`could not start a cluster node: ${String(lastError)}`);
}

/** One command on a short-lived connection; undefined when the node does not answer. */
async function ask(port: number, command: readonly string[]): Promise<string | undefined> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Refused connections are expected until redis-server is up; connect() reports them below.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const [name = '', ...args] = command;
    return String(await client.call(name, ...args));
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const replicas = options.replicas ?? 0;
  const extra = options.nodeTimeoutMs === undefined ? [] : ['--cluster-node-timeout', String(options.nodeTimeoutMs)];
  const nodes: ClusterNodeProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => kill(node.process)));
    for (const node of nodes) rmSync(node.dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < MASTERS * (1 + replicas); i++) nodes.push(await startNode(extra, options.launcher));
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed (${String(created.status)}): ${created.stdout}${created.stderr}`);
    // create returns once the slots are assigned; each node agrees the cluster is ok only after the gossip
    // reached it, and a client connecting before that gets CLUSTERDOWN.
    await until(
      'cluster_state:ok on every node',
      async () => (await Promise.all(nodes.map((node) => ask(node.port, ['CLUSTER', 'INFO'])))).every((info) => info?.includes('cluster_state:ok') === true),
      30_000,
    );
    if (replicas > 0) {
      // A replica serves a failover only once its first sync is done.
      await until(
        'every replica in sync',
        async () =>
          (await Promise.all(nodes.map((node) => ask(node.port, ['INFO', 'replication'])))).every(
            (info) => info?.includes('role:master') === true || info?.includes('master_link_status:up') === true,
          ),
        30_000,
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const masters: { host: string; port: number }[] = [];
  for (const node of nodes) if ((await ask(node.port, ['ROLE']))?.startsWith('master') === true) masters.push({ host: '127.0.0.1', port: node.port });
  const killNode = async (port: number): Promise<void> => {
    const node = nodes.find((candidate) => candidate.port === port);
    if (node !== undefined) await kill(node.process);
  };
  return { nodes: masters, ports: nodes.map((node) => node.port), kill: killNode, stop };
}

/** What a test that moves a slot by hand uses (slotMoves). */
export interface SlotMoves {
  /** A plain connection to one node, by port: what an operator's redis-cli is. */
  node: (port: number) => Redis;
  nodeId: (port: number) => Promise<string>;
  /** A node's count of error replies that start with `prefix` (INFO errorstats: MOVED, ASK, TRYAGAIN). */
  errorCount: (port: number, prefix: string) => Promise<number>;
  /** Starts moving `slot` from `from` to `to`: both masters mark it, no key has moved yet. */
  openMigration: (slot: number, from: number, to: number) => Promise<void>;
  /** MIGRATEs the slot's keys, `batch` at a time with `pauseMs` between; returns how many moved. */
  moveKeys: (slot: number, from: number, to: number) => Promise<number>;
  /** Ends the move: the new master first, then the old one, then the others (redis-cli's order). */
  closeMigration: (slot: number, from: number, to: number) => Promise<void>;
  disconnect: () => void;
}

/**
 * Moving a slot of a test cluster by hand, as `redis-cli --cluster reshard` does it: CLUSTER SETSLOT
 * IMPORTING on the new master and MIGRATING on the old one, MIGRATE of its keys, then SETSLOT NODE on every
 * master. `ports`: the cluster's masters, asked when needed (the cluster starts in a beforeAll).
 */
export function slotMoves(ports: () => readonly number[], options: { batch?: number; pauseMs?: number } = {}): SlotMoves {
  const { batch = 100, pauseMs = 0 } = options;
  const clients = new Map<number, Redis>();
  const node = (port: number): Redis => {
    let client = clients.get(port);
    if (client === undefined) {
      client = new Redis({ host: '127.0.0.1', port });
      clients.set(port, client);
    }
    return client;
  };
  const nodeId = async (port: number): Promise<string> => String(await node(port).call('CLUSTER', 'MYID'));
  return {
    node,
    nodeId,
    errorCount: async (port, prefix) => {
      const info = String(await node(port).call('INFO', 'errorstats'));
      return Number(new RegExp(`errorstat_${prefix}:count=(\\d+)`).exec(info)?.[1] ?? 0);
    },
    openMigration: async (slot, from, to) => {
      await node(to).call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', await nodeId(from));
      await node(from).call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', await nodeId(to));
    },
    moveKeys: async (slot, from, to) => {
      let moved = 0;
      for (;;) {
        const keys = (await node(from).call('CLUSTER', 'GETKEYSINSLOT', slot, batch)) as string[];
        if (keys.length === 0) return moved;
        await node(from).call('MIGRATE', '127.0.0.1', to, '', 0, 5000, 'KEYS', ...keys);
        moved += keys.length;
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    },
    closeMigration: async (slot, from, to) => {
      const id = await nodeId(to);
      const others = ports().filter((port) => port !== from && port !== to);
      for (const port of [to, from, ...others]) await node(port).call('CLUSTER', 'SETSLOT', slot, 'NODE', id);
    },
    disconnect: () => {
      for (const client of clients.values()) client.disconnect();
    },
  };
}
