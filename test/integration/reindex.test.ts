import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { reindexTenant, type ReindexProgress } from '../../src/reindex.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { vectorDeps } from '../../src/vector/post-index.ts';
import { searchPosts } from '../../src/vector/similarity.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { neighbour, original, related } from '../support/similar-articles.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

const texts = [
  original,
  neighbour,
  related,
  '# Sourdough starters\n\nA sourdough starter is flour and water colonised ' +
    'by wild yeast and bacteria. Feed it daily and keep it warm.\n\n## Baking\n\nA ' +
    'lively starter doubles within six hours. Use it at its peak for an open ' +
    'crumb.',
  '# Bicycle chains\n\nA clean chain shifts smoothly and lasts longer. Wipe ' +
    'it after wet rides and oil it sparingly.\n\n## Wear\n\nMeasure chain stretch ' +
    'every few months. A worn chain wears out the cassette too.',
];

describe('reindex', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let switched: Runtime;
  let postIds: string[];

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t);
    postIds = [];
    for (const text of texts) {
      const res = await app.post('/api/v1/submissions', { source: { type: 'markdown', text } });
      postIds.push(res.body.postId);
    }
    await waitFor('five published posts', async () => {
      const { rows } = await app.rt.db.query(`SELECT count(*)::int AS n FROM posts WHERE status = 'published'`);
      return rows[0]!.n === texts.length;
    });
    // The same deployment after switching the embedder: a new model key, so a new index space.
    switched = await createRuntime(loadConfig({ ...t.env, EMBEDDING_DIMENSION: '128' }), {
      logger: createLogger('silent'),
    });
  });
  afterAll(async () => {
    await switched?.close();
    await app?.stop();
    await t?.cleanup();
  });

  it('rebuilds a tenant under a new embedder, resumes after an interruption, and embeds each text once', async () => {
    const embed = vi.spyOn(switched.providers.embedder, 'embed');
    const deps = vectorDeps(switched.db, switched.providers, switched.config);
    expect(await searchPosts(deps, await tenantId(), 'heat pump', 10)).toEqual([]);
    embed.mockClear(); // that embedded the query

    const seen: ReindexProgress[] = [];
    const partial = await reindexTenant(switched, {
      tenant: 'default',
      stopAfter: 2,
      batchSize: 2,
      onProgress: (p) => seen.push(p),
    });
    expect(partial).toMatchObject({ done: 2, total: 5, finished: false });
    expect(seen.map((p) => p.done)).toEqual([0, 1, 2]);
    const run = await switched.db.query('SELECT posts_done, last_post_id, finished_at FROM reindex_runs');
    expect(run.rows[0]).toMatchObject({ posts_done: 2, finished_at: null });

    const rest = await reindexTenant(switched, { tenant: 'default', batchSize: 2 });
    expect(rest).toMatchObject({ done: 5, total: 5, finished: true, resumed: true });

    const distinct = await switched.db.query<{ n: number }>(
      'SELECT count(DISTINCT content_hash)::int AS n FROM post_chunks',
    );
    const embeddedTexts = embed.mock.calls.reduce((n, [texts]) => n + texts.length, 0);
    expect(embeddedTexts).toBe(distinct.rows[0]!.n);
    expect(partial.embedded + rest.embedded).toBe(distinct.rows[0]!.n);

    const found = await searchPosts(deps, await tenantId(), 'chain wear on a bicycle', 10);
    expect(found[0]!.postId).toBe(postIds[4]);
    expect(new Set(found.map((r) => r.postId)).size).toBe(found.length);

    // Running it again rebuilds from the start, without a single new embedding.
    embed.mockClear();
    const again = await reindexTenant(switched, { tenant: 'default' });
    expect(again).toMatchObject({ done: 5, resumed: false, embedded: 0 });
    expect(embed).not.toHaveBeenCalled();
  });

  it('runs as a CLI command that shows its progress', async () => {
    const env = { ...process.env, ...t.env, EMBEDDING_DIMENSION: '64', LOG_LEVEL: 'silent' };
    const { stdout } = await run(process.execPath, ['bin/main.ts', 'reindex', '--tenant', 'default'], {
      cwd: root,
      env,
    });
    expect(stdout).toMatch(/reindex default: 0\/5 posts \(0%\)/);
    expect(stdout).toMatch(/reindex default: 5\/5 posts \(100%\)/);
    expect(stdout).toMatch(/done, 5 posts and \d+ chunks in pgvector \(local-hash-v1\/64\)/);

    const failed = await run(process.execPath, ['bin/main.ts', 'reindex', '--tenant', 'nobody'], {
      cwd: root,
      env,
    }).catch((err) => err);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain('no tenant "nobody"');
  });

  async function tenantId(): Promise<string> {
    return (await switched.db.query<{ id: string }>(`SELECT id FROM tenants WHERE slug = 'default'`)).rows[0]!.id;
  }
});
