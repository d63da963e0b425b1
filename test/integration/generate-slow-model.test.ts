import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetBreakers } from '../../src/resilience/breakers.ts';
import { resumePost } from '../../src/pipeline-control.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { modelWriter } from '../support/fake-model-writer.ts';
import { articles } from '../support/source-articles.ts';
import { createTestEnv, startPipeline, waitFor } from '../support/harness.ts';

// A slow model occupies generate's model slots; the rest of the process must not wait for it.

describe('generate waiting on a slow model', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(async () => {
    resetBreakers();
    await fake.close();
  });

  it('keeps embedding, indexing and publishing other posts while every model ' +
    'slot waits, and never calls the model more than WORKER_CONCURRENCY at ' +
    'once', async () => {
    const answer = modelWriter();
    // While `stalled`, a call is answered only once the model is let go (at the end of the test).
    let stalled = false;
    let letGo = () => {};
    const released = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    const model = async (req: Parameters<typeof answer>[0]) => {
      if (stalled) await released;
      return answer(req);
    };
    fake.onChat(model);
    const t = await createTestEnv({
      LLM_PROVIDER: 'openai',
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: 'sk-test',
      OPENAI_MODEL: 'fake-model',
      LLM_PRICES: JSON.stringify({ 'fake-model': { prompt: 0, completion: 0 } }),
      LLM_CACHE_TTL_SECONDS: '0',
      LLM_TIMEOUT_MS: '120000',
      WORKER_CONCURRENCY: '2',
      SHUTDOWN_GRACE_MS: '500',
    });
    const app = await startPipeline(t);
    const submit = async (text: string) => {
      const res = await app.post('/api/v1/submissions', {
        source: { type: 'markdown', text },
        brief: { minWords: 50, maxWords: 600 },
      });
      expect(res.status).toBe(202);
      return res.body.postId as string;
    };
    const published = (postId: string) =>
      app.rt.db
        .query<{ n: number }>(
          `SELECT count(*)::int AS n FROM stage_runs WHERE post_id = $1 AND stage ` +
            `= 'publish' AND outcome = 'completed'`,
          [postId],
        )
        .then((r) => r.rows[0]!.n);
    try {
      // A post written while the model answers.
      const first = await submit(articles[0]!.text);
      await waitFor('the first post published', async () => (await published(first)) === 1);

      // The model stops answering: five posts fill generate (two calls in flight, two posts waiting for a model
      // slot, one in the queue).
      stalled = true;
      fake.reset();
      fake.onChat(model);
      const stuck: string[] = [];
      for (const [i, article] of articles.slice(1, 6).entries())
        stuck.push(await submit(`${article.text}\n\nVariant ${i}.`));
      await waitFor('two model calls hanging and four generate runs open', async () => {
        const { rows } = await app.rt.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM stage_runs WHERE stage = 'generate' AND outcome = 'running'`,
        );
        return fake.chatRequests().length >= 2 && rows[0]!.n >= 4;
      });
      // The first post, run again from embed, goes through embed, index and publish meanwhile.
      await resumePost(app.rt.db, app.rt.queues, first, { fromStage: 'embed' });
      await waitFor('the first post published again', async () => (await published(first)) === 2);

      // The others are still in generate, and the model never had more calls at once than this process has model
      // slots (WORKER_CONCURRENCY), though generate holds twice as many posts.
      const { rows } = await app.rt.db.query<{ status: string }>(`SELECT status FROM posts WHERE id = ANY($1)`, [
        stuck,
      ]);
      expect(rows.filter((r) => r.status === 'generating').length).toBeGreaterThanOrEqual(4);
      expect(rows.filter((r) => r.status === 'published')).toHaveLength(0);
      expect(fake.chatRequests()).toHaveLength(2);
      expect(fake.peakChats()).toBe(2);
    } finally {
      stalled = false;
      letGo();
      await app.stop();
      await t.cleanup();
    }
  }, 90_000);
});
