import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDatabase, restoreDatabase } from '../../src/backup.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestEnv, postgresUrl, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

/** A fingerprint of the data: row counts and an md5 over every table's rows in a fixed order. */
async function fingerprint(databaseUrl: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tables = [
      'tenants',
      'submissions',
      'sources',
      'posts',
      'stage_runs',
      'post_chunks',
      'publications',
      'embedding_cache',
    ];
    const result: Record<string, string> = {};
    for (const table of tables) {
      const { rows } = await client.query(
        `SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS h FROM ${table} t`,
      );
      result[table] = `${rows[0].n}:${rows[0].h}`;
    }
    return result;
  } finally {
    await client.end();
  }
}

describe('backups', () => {
  let t: TestEnv;
  let dir: string;

  beforeAll(async () => {
    t = await createTestEnv();
    dir = await mkdtemp(join(tmpdir(), 'bp-backups-'));
  });
  afterAll(async () => {
    await t?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('backs up, drops, restores and finds the same data; keeps only the newest dumps', async () => {
    const app = await startPipeline(t);
    const ids = await Promise.all(
      [1, 2, 3].map(
        async (i) =>
          (
            await app.post('/api/v1/submissions', {
              source: { type: 'text', text: `Backup post ${i}. Restored data must match what was saved.` },
            })
          ).body.postId,
      ),
    );
    await waitFor('three published posts', async () => {
      const { rows } = await app.rt.db.query(
        `SELECT count(*)::int AS n FROM posts WHERE status = 'published' AND id = ANY($1::uuid[])`,
        [ids],
      );
      return rows[0]!.n === 3;
    });
    await app.stop();

    const before = await fingerprint(t.config.DATABASE_URL);
    expect(before.posts).toMatch(/^3:/);
    const log = createLogger('silent');
    const files: string[] = [];
    for (let i = 0; i < 3; i++) {
      files.push(await backupDatabase({ databaseUrl: t.config.DATABASE_URL, dir, keep: 2, log }));
      await new Promise((r) => setTimeout(r, 1100)); // dump names carry the second
    }
    expect((await readdir(dir)).sort()).toEqual(
      files
        .slice(1)
        .map((f) => f.split('/').pop())
        .sort(),
    );

    const name = new URL(t.config.DATABASE_URL).pathname.slice(1);
    const admin = new pg.Client({ connectionString: `${postgresUrl}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();

    await restoreDatabase({ databaseUrl: t.config.DATABASE_URL, file: files[2]! });
    expect(await fingerprint(t.config.DATABASE_URL)).toEqual(before);

    // The restored database is a working one: the pipeline runs on it again.
    const again = await startPipeline(t);
    const res = await again.post('/api/v1/submissions', {
      source: { type: 'text', text: 'After the restore. The pipeline still works.' },
    });
    await waitFor(
      'published after restore',
      async () => (await again.get(`/api/v1/posts/${res.body.postId}`)).body.status === 'published',
    );
    await again.stop();
  }, 60_000);
});
