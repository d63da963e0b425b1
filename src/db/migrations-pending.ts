import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Db } from './pool.ts';

export const migrationsDir = fileURLToPath(new URL('../../migrations', import.meta.url));

/**
 * Whether any migration file is not yet recorded as applied: one query, without loading node-pg-migrate (16 MiB
 * resident), so a process starting against an up-to-date database never loads it. When this says yes, migrate()
 * (./migrate.ts) runs under its advisory lock and decides for itself.
 */
export async function migrationsPending(db: Pick<Db, 'query'>): Promise<boolean> {
  const files = (await readdir(migrationsDir))
    .filter((f) => /\.(sql|js|cjs|mjs|ts)$/.test(f))
    .map((f) => f.replace(/\.[^.]+$/, ''));
  try {
    const { rows } = await db.query<{ name: string }>('SELECT name FROM pgmigrations');
    const applied = new Set(rows.map((r) => r.name));
    return files.some((f) => !applied.has(f));
  } catch (err) {
    // No migrations table yet: a new database.
    if ((err as { code?: string }).code === '42P01') return true;
    throw err;
  }
}
