import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFile, chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './redis-server.ts';

const run = promisify(execFile);
const bin = (name: string) => `/usr/lib/postgresql/15/bin/${name}`;

/**
 * A private PostgreSQL 15 primary and a streaming replica made from it with `pg_basebackup -R`, each on
 * a loopback port picked free at run time, in a temporary folder, run as the postgres user (the servers
 * refuse root). A private primary keeps the base backup small and leaves the shared server alone.
 */
export async function startPgReplica() {
  const dir = await mkdtemp(join(tmpdir(), 'bp-pg-replica-'));
  await chmod(dir, 0o755);
  const { stdout: uidOut } = await run('id', ['-u', 'postgres']);
  const { stdout: gidOut } = await run('id', ['-g', 'postgres']);
  const uid = Number(uidOut.trim());
  const gid = Number(gidOut.trim());
  await chown(dir, uid, gid);
  const asPostgres = { uid, gid, cwd: dir, env: { ...process.env, PGCONNECT_TIMEOUT: '3' } };
  const primaryDir = join(dir, 'primary');
  const replicaDir = join(dir, 'replica');
  const primaryPort = await freePort();
  const replicaPort = await freePort();

  await run(
    bin('initdb'),
    ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'],
    asPostgres,
  );
  // wal_level replica and max_wal_senders are PostgreSQL's defaults; initdb's pg_hba allows replication over loopback.
  await appendFile(
    join(primaryDir, 'postgresql.conf'),
    `\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\nfsync ` +
      `= off\nsynchronous_commit = off\nfull_page_writes = off\n`,
  );

  const servers = new Map<'primary' | 'replica', ChildProcess>();
  const start = async (which: 'primary' | 'replica') => {
    const [data, port] = which === 'primary' ? [primaryDir, primaryPort] : [replicaDir, replicaPort];
    const proc = spawn(bin('postgres'), ['-D', data, '-p', String(port), '-k', dir], {
      ...asPostgres,
      stdio: 'ignore',
    });
    servers.set(which, proc);
    await waitReady(port);
  };
  const stop = async (which: 'primary' | 'replica') => {
    const proc = servers.get(which);
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      // Fast shutdown: open connections are cut, as when a replica host goes away.
      proc.kill('SIGINT');
    });
  };
  const killAll = () => {
    for (const p of servers.values()) p.kill('SIGKILL');
  };
  process.once('exit', killAll);

  await start('primary');
  await run(
    bin('pg_basebackup'),
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(primaryPort),
      '-U',
      'postgres',
      '-D',
      replicaDir,
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
    ],
    asPostgres,
  );
  await start('replica');

  const primaryUrl = `postgres://postgres@127.0.0.1:${primaryPort}`;
  const replicaUrl = `postgres://postgres@127.0.0.1:${replicaPort}`;
  const sql = async (url: string, text: string) => {
    const client = new pg.Client({ connectionString: `${url}/postgres` });
    await client.connect();
    try {
      return (await client.query(text)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    primaryUrl,
    replicaUrl,
    /** Replay stops where it is: the replica keeps answering, ever further behind. */
    pauseReplay: () => sql(replicaUrl, 'SELECT pg_wal_replay_pause()'),
    resumeReplay: () => sql(replicaUrl, 'SELECT pg_wal_replay_resume()'),
    stopReplica: () => stop('replica'),
    startReplica: () => start('replica'),
    async cleanup() {
      process.off('exit', killAll);
      await stop('replica');
      await stop('primary');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitReady(port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await run(bin('pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`PostgreSQL on ${port} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export type PgReplicaPeer = Awaited<ReturnType<typeof startPgReplica>>;
