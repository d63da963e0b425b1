import { execFile } from 'node:child_process';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from './logger.ts';

const run = promisify(execFile);
const prefix = 'blog-poster-';

/**
 * Dumps the database with pg_dump (custom format, restorable with pg_restore) into `dir`, then
 * deletes all but the newest `keep` dumps. Returns the new dump's path.
 */
export async function backupDatabase(opts: {
  databaseUrl: string;
  dir: string;
  keep: number;
  log: Logger;
}): Promise<string> {
  const dir = resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  const stamp = new Date()
    .toISOString()
    .replaceAll(':', '')
    .replace(/\.\d+Z$/, 'Z');
  const file = join(dir, `${prefix}${stamp}.dump`);
  const partial = `${file}.partial`;
  // Written under a temporary name so a crash mid-dump never leaves a file that looks complete.
  await run('pg_dump', ['--format=custom', '--no-owner', `--file=${partial}`, `--dbname=${opts.databaseUrl}`]);
  await rename(partial, file);
  const dumps = (await readdir(dir)).filter((f) => f.startsWith(prefix) && f.endsWith('.dump')).sort();
  for (const old of dumps.slice(0, Math.max(0, dumps.length - opts.keep))) await rm(join(dir, old));
  opts.log.info({ file, kept: Math.min(dumps.length, opts.keep) }, 'database backed up');
  return file;
}

/** Restores a dump into the database (objects are dropped and recreated). */
export async function restoreDatabase(opts: { databaseUrl: string; file: string }): Promise<void> {
  await run('pg_restore', [
    '--clean',
    '--if-exists',
    '--no-owner',
    '--single-transaction',
    `--dbname=${opts.databaseUrl}`,
    resolve(opts.file),
  ]);
}
