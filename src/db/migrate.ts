import { runner } from 'node-pg-migrate';
import type { Logger } from '../logger.ts';
import { migrationsDir } from './migrations-pending.ts';

/**
 * Applies pending migrations. node-pg-migrate holds a PostgreSQL advisory lock while it runs, and
 * `wait` mode makes a second process starting at the same moment wait for it instead of failing.
 */
export async function migrate(databaseUrl: string, logger: Logger): Promise<string[]> {
  const log = logger.child({ component: 'migrate' });
  const applied = await runner({
    databaseUrl,
    dir: migrationsDir,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    advisoryLockMode: 'wait',
    checkOrder: true,
    singleTransaction: true,
    logger: {
      info: () => undefined,
      warn: (m: string) => log.warn(m),
      error: (m: string) => log.error(m),
      debug: () => undefined,
    },
  });
  const names = applied.map((m) => m.name);
  if (names.length > 0) log.info({ migrations: names }, 'applied migrations');
  return names;
}
