// Diagnostic for the slow-model benchmark: where a generate slot's time goes with a 200 ms model. Prints the model
// calls and generate runs in flight every 250 ms, stage-run durations, the gaps between a post's calls, and the time
// from a run's start to its first call and from its last call to its end. `node bench/diag-slow.ts` (PROCS=2 for
// two worker processes, N posts, NODE_ARGS for the workers' Node flags, e.g. --cpu-prof).
import type { ChildProcess } from 'node:child_process';
import { createLogger } from '../src/logger.ts';
import { createRuntime } from '../src/runtime.ts';
import { acceptSubmission } from '../src/submissions.ts';
import { startFakeOpenAI } from '../test/support/fake-openai.ts';
import { modelWriter } from '../test/support/fake-model-writer.ts';
import { createTestEnv } from '../test/support/harness.ts';
import { startNode, stopChild } from './lib.ts';
import { slowModelEnv, sourceText } from './pipeline.ts';

const processes = Number(process.env.PROCS ?? 1);
const n = Number(process.env.N ?? 40 * processes);
const fake = await startFakeOpenAI();
const answer = modelWriter();
const done: { id: string; at: number; end: number }[] = [];
fake.onChat(async (req) => {
  const r = { ...(await answer(req)), delayMs: 200 };
  const id = String(req.headers['x-request-id']);
  done.push({ id, at: req.at, end: req.at + 200 });
  return r;
});
const t = await createTestEnv({ ...slowModelEnv(fake.url), ...JSON.parse(process.env.EXTRA_ENV ?? '{}') });
const rt = await createRuntime(t.config, { logger: createLogger('silent') });
const children: ChildProcess[] = [];
try {
  for (let i = 0; i < processes; i++)
    children.push(
      await startNode(
        [...(process.env.NODE_ARGS ? process.env.NODE_ARGS.split(' ') : []), 'bin/main.ts', 'worker'],
        { ...t.env, LOG_LEVEL: 'info' },
        /workers started/,
      ),
    );
  const tenantId = (await rt.db.query<{ id: string }>(`SELECT id FROM tenants WHERE slug = 'default'`)).rows[0]!.id;
  const started = Date.now();
  for (let i = 0; i < n; i += 50)
    await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, j) =>
        acceptSubmission(rt.db, rt.queues, {
          tenantId,
          body: { source: { type: 'markdown', text: sourceText(i + j) } },
          idempotencyKey: null,
          correlationId: `bench-${i + j}`,
        }),
      ),
    );
  const submitted = Date.now();
  for (;;) {
    const { rows } = await rt.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM stage_runs WHERE stage = 'generate' AND outcome = 'completed'`,
    );
    if (rows[0]!.n >= n) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const finished = Date.now();
  const seconds = (finished - started) / 1000;
  const calls = fake.chatRequests().length;
  console.log({ n, seconds, rate: n / seconds, submitMs: submitted - started, callsPerPost: calls / n });
  // In-flight model calls sampled every 50 ms.
  const slots = processes * t.config.WORKER_CONCURRENCY;
  const { rows: runs } = await rt.db.query<{ stage: string; s: number; f: number; outcome: string }>(
    `SELECT stage, outcome, extract(epoch from started_at)*1000 AS s, extract(epoch ` +
      `from finished_at)*1000 AS f FROM stage_runs`,
  );
  const line: string[] = [];
  for (let at = started; at < finished; at += 250) {
    const c = done.filter((d) => d.at <= at && d.end > at).length;
    const g = runs.filter(
      (r) => r.stage === 'generate' && Number(r.s) <= at && (r.f === null || Number(r.f) > at),
    ).length;
    line.push(`${c}/${g}`);
  }
  console.log('calls/generate-runs in flight every 250 ms:', line.join(' '));
  const byStage: Record<string, number[]> = {};
  for (const r of runs) {
    if (r.f === null) continue;
    const key = `${r.stage}:${r.outcome}`;
    byStage[key] = [...(byStage[key] ?? []), Number(r.f) - Number(r.s)];
  }
  for (const [k, v] of Object.entries(byStage)) {
    v.sort((a, b) => a - b);
    console.log(
      k,
      'runs',
      v.length,
      'mean ms',
      Math.round(v.reduce((a, b) => a + b, 0) / v.length),
      'p50',
      Math.round(v[v.length >> 1]!),
      'max',
      Math.round(v.at(-1)!),
    );
  }
  // Gaps between a post's consecutive calls (response end → next arrival).
  const byPost = new Map<string, { at: number; end: number }[]>();
  for (const d of done) byPost.set(d.id, [...(byPost.get(d.id) ?? []), d]);
  const gaps: number[] = [];
  for (const list of byPost.values()) for (let i = 1; i < list.length; i++) gaps.push(list[i]!.at - list[i - 1]!.end);
  gaps.sort((a, b) => a - b);
  console.log(
    'gap between calls of a post ms: p50',
    gaps[gaps.length >> 1],
    'p90',
    gaps[Math.floor(gaps.length * 0.9)],
    'max',
    gaps.at(-1),
    'mean',
    Math.round(gaps.reduce((a, b) => a + b, 0) / gaps.length),
  );
  const { rows: gen } = await rt.db.query<{ c: string; s: number; f: number }>(
    `SELECT p.correlation_id AS c, extract(epoch from r.started_at)*1000 AS s, extract(epoch from r.finished_at)*1000
       AS f
       FROM stage_runs r JOIN posts p ON p.id = r.post_id WHERE r.stage = 'generate' AND r.outcome = 'completed'`,
  );
  const before: number[] = [];
  const after: number[] = [];
  for (const g of gen) {
    const list = byPost.get(g.c);
    if (!list) continue;
    before.push(list[0]!.at - Number(g.s));
    after.push(Number(g.f) - list.at(-1)!.end);
  }
  const stat = (v: number[]) => {
    v.sort((a, b) => a - b);
    return {
      p50: Math.round(v[v.length >> 1]!),
      p90: Math.round(v[Math.floor(v.length * 0.9)]!),
      mean: Math.round(v.reduce((a, b) => a + b, 0) / v.length),
    };
  };
  console.log('run start → first call', stat(before), 'last call end → run finished', stat(after));
  const avgInFlight = (calls * 0.2) / seconds;
  console.log({ slots, avgCallsInFlight: avgInFlight, peak: fake.peakChats() });
} finally {
  for (const c of children) await stopChild(c);
  await rt.close();
  await fake.close();
  await t.cleanup();
}
process.exit(0);
