import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './redis-server.ts';

const run = promisify(execFile);

type Node = { port: number; busPort: number; proc: ChildProcess | null };

/**
 * A Redis Cluster of three masters with one replica each, from Debian's redis-server and redis-cli, on
 * loopback ports picked free at run time (client and cluster-bus ports both), in a temporary folder.
 * A test may kill a master; its replica is promoted after the node timeout.
 */
export async function startRedisCluster(opts: { nodeTimeoutMs?: number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'bp-redis-cluster-'));
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 1_000;
  const nodes: Node[] = [];
  for (let i = 0; i < 6; i++) nodes.push({ port: await freePort(), busPort: await freePort(), proc: null });

  const start = (node: Node) => {
    node.proc = spawn(
      'redis-server',
      [
        '--port',
        String(node.port),
        '--cluster-port',
        String(node.busPort),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--dbfilename',
        `dump-${node.port}.rdb`,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${node.port}.conf`,
        '--cluster-node-timeout',
        String(nodeTimeoutMs),
        // A replica takes over however long it was cut off from its master.
        '--cluster-replica-validity-factor',
        '0',
        '--save',
        '',
        '--appendonly',
        'no',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
  };
  for (const node of nodes) start(node);
  // A test run that is cut short must not leave servers behind.
  const killAll = () => {
    for (const n of nodes) n.proc?.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const client = (port: number) => {
    const r = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    r.on('error', () => undefined);
    return r;
  };
  const ask = async <T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T | null> => {
    const r = client(port);
    try {
      await r.connect();
      return await fn(r);
    } catch {
      return null;
    } finally {
      r.disconnect();
    }
  };
  const waitUntil = async (what: string, check: () => Promise<boolean>, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`Redis Cluster: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const alive = () => nodes.filter((n) => n.proc && n.proc.exitCode === null && n.proc.signalCode === null);

  /** Every live node sees the cluster as ok, all 16384 slots served, and `masters` masters with a live replica each. */
  async function waitHealthy(masters = 3): Promise<void> {
    await waitUntil('a healthy cluster', async () => {
      for (const node of alive()) {
        const info = await ask(node.port, (r) => r.call('CLUSTER', 'INFO') as Promise<string>);
        if (!info || !/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
      }
      // A killed master counts until the others mark it failed and promote its replica.
      const shards = await topology();
      const livePorts = new Set(alive().map((n) => n.port));
      return shards.length === masters && shards.every((s) => s.master !== null && livePorts.has(s.master));
    });
  }

  /** Which live node is master of which slots, and its live replicas (from CLUSTER NODES of a live node). */
  async function topology(): Promise<{ master: number | null; replicas: number[]; slots: string[] }[]> {
    const live = alive();
    const text = live.length ? await ask(live[0]!.port, (r) => r.call('CLUSTER', 'NODES') as Promise<string>) : null;
    if (!text) return [];
    const lines = text
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    const masters = lines.filter((f) => f[2]!.includes('master') && !f[2]!.includes('fail'));
    return masters.map((m) => ({
      master: Number(m[1]!.split(':')[1]!.split('@')[0]),
      slots: m.slice(8),
      replicas: lines
        .filter((f) => f[3] === m[0] && !f[2]!.includes('fail'))
        .map((f) => Number(f[1]!.split(':')[1]!.split('@')[0])),
    }));
  }

  // A port found free can be taken before redis-server binds it (the suite's outgoing connections draw their source
  // ports from the same range), and that node exits at once: it starts again on other ports.
  await waitUntil('six nodes to answer', async () => {
    let answered = 0;
    for (const node of nodes) {
      if (node.proc?.exitCode !== null && node.proc?.exitCode !== undefined) {
        node.port = await freePort();
        node.busPort = await freePort();
        start(node);
      }
      if ((await ask(node.port, (r) => r.ping())) === 'PONG') answered++;
    }
    return answered === nodes.length;
  });
  await run('redis-cli', [
    '--cluster',
    'create',
    ...nodes.map((n) => `127.0.0.1:${n.port}`),
    '--cluster-replicas',
    '1',
    '--cluster-yes',
  ]);
  await waitHealthy();

  return {
    /** For REDIS_CLUSTER_NODES. */
    nodes: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    ports: nodes.map((n) => n.port),
    topology,
    waitHealthy,
    /** The port of the master that serves a key now. */
    async masterOf(key: string): Promise<number> {
      const live = alive()[0]!;
      const slot = await ask(live.port, (r) => r.call('CLUSTER', 'KEYSLOT', key) as Promise<number>);
      const shards = await topology();
      for (const shard of shards) {
        for (const range of shard.slots) {
          const [lo, hi] = range.split('-').map(Number);
          if (slot !== null && slot >= lo! && slot <= (hi ?? lo)!) return shard.master!;
        }
      }
      throw new Error(`no master serves ${key}`);
    },
    /** Kills a node without warning (SIGKILL) and waits until it has exited. */
    async kill(port: number): Promise<void> {
      const node = nodes.find((n) => n.port === port);
      const p = node?.proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        p.once('exit', () => resolve());
        p.kill('SIGKILL');
      });
    },
    async cleanup(): Promise<void> {
      process.off('exit', killAll);
      await Promise.all(
        nodes.map(
          (n) =>
            new Promise<void>((resolve) => {
              const p = n.proc;
              if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
              p.once('exit', () => resolve());
              p.kill('SIGKILL');
            }),
        ),
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type RedisClusterPeer = Awaited<ReturnType<typeof startRedisCluster>>;
