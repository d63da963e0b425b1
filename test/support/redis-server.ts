import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A private redis-server on its own loopback port, which a test may stop, kill and restart. */
export async function startRedisServer(opts: { appendOnly?: boolean } = {}) {
  let port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'bp-redis-'));
  let proc: ChildProcess | null = null;
  const urlOf = () => `redis://127.0.0.1:${port}`;

  async function start(): Promise<void> {
    proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        opts.appendOnly ? 'yes' : 'no',
        '--appendfsync',
        'always',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
    const started = proc;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (started.exitCode !== null) throw new PortTaken();
      const probe = new Redis(urlOf(), { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.ping();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        probe.disconnect();
      }
    }
  }

  async function stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
    proc = null;
  }

  // A port found free can be taken before redis-server binds it (the suite's outgoing connections draw their source
  // ports from the same range): the first start moves to another port then. Later starts keep the port, which the
  // tests' clients know.
  for (let tries = 0; ; tries++) {
    try {
      await start();
      break;
    } catch (err) {
      if (!(err instanceof PortTaken) || tries === 4) throw err;
      port = await freePort();
    }
  }
  return {
    url: urlOf(),
    port,
    start,
    stop,
    /** Sends a signal without waiting for an exit: SIGSTOP freezes the server with its connections open. */
    signal(signal: NodeJS.Signals): void {
      proc?.kill(signal);
    },
    async cleanup() {
      await stop('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

class PortTaken extends Error {
  constructor() {
    super('redis-server exited at start (its port was taken)');
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
