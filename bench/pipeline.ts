import { Queue, Worker } from 'bullmq';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/logger.ts';
import type { Embedder } from '../src/vector/types.ts';
import type { Writer } from '../src/llm/types.ts';
import { pipeline } from '../processors/registry.ts';
import { startApi, startWorkers } from '../src/roles.ts';
import { createRedis } from '../src/redis.ts';
import { createRuntime, type Runtime } from '../src/runtime.ts';
import { acceptSubmission } from '../src/submissions.ts';
import { startFakeOpenAI } from '../test/support/fake-openai.ts';
import { modelWriter } from '../test/support/fake-model-writer.ts';
import { createTestEnv, type TestEnv } from '../test/support/harness.ts';
import { freePort, startRedisServer } from '../test/support/redis-server.ts';
import { inCountScope, startCounting, type Tally } from '../src/cost-counter.ts';
import { stages } from '../queues/stages.ts';
import { startRedisCluster } from '../test/support/redis-cluster.ts';
import { fmt, heapOf, memoryOf, percentile, reportFlags, startNode, stopChild, type Row } from './lib.ts';

const topics = ['queues', 'retries', 'embeddings', 'publishing', 'observability', 'caching', 'budgets', 'feeds'];

/** A distinct, realistic little source per post, so no cache or dedup short-cuts the work. */
/** Runs `fn` in a test environment of its own (database, queue prefix), removed afterwards. */
export async function fresh<T>(fn: (t: TestEnv) => Promise<T>, env: Record<string, string> = {}): Promise<T> {
  const t = await createTestEnv({ LOG_LEVEL: 'silent', ...env });
  try {
    return await fn(t);
  } finally {
    await t.cleanup();
  }
}

/** The service on an OpenAI-compatible fake with no cache and limits too high to matter: the model is the wait. */
export function slowModelEnv(baseUrl: string): Record<string, string> {
  return {
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: baseUrl,
    OPENAI_API_KEY: 'sk-bench',
    LLM_CACHE_TTL_SECONDS: '0',
    LLM_RPM: '1000000',
    LLM_TPM: '1000000000',
    LOG_LEVEL: 'silent',
  };
}

export function sourceText(i: number): string {
  const topic = topics[i % topics.length]!;
  return [
    `# Field notes ${i}: ${topic} in production`,
    `Team ${i} moved ${topic} into a stage of its own last spring. The change ` +
      `cut incident time by a third within two months.`,
    `## What changed`,
    `Before the move, ${topic} ran inside one long request. A slow dependency ` +
      `held every request open and work was lost on restarts.`,
    `Each stage now records a row when it starts and when it ends. Operators ` +
      `read the history of post ${i} without touching Redis.`,
    `## What it cost`,
    `The team spent three weeks on the migration. Most of that time went into ` +
      `tests that kill workers in the middle of a stage.`,
  ].join('\n\n');
}

async function tenantOf(rt: Runtime): Promise<string> {
  return (await rt.db.query<{ id: string }>(`SELECT id FROM tenants WHERE slug = 'default'`)).rows[0]!.id;
}

async function submitDirect(rt: Runtime, tenantId: string, n: number, offset = 0): Promise<void> {
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, j) =>
        inCountScope('submission', () =>
          acceptSubmission(rt.db, rt.queues, {
            tenantId,
            body: { source: { type: 'markdown', text: sourceText(offset + i + j) } },
            idempotencyKey: null,
            correlationId: `bench-${offset + i + j}`,
          }),
        ),
      ),
    );
  }
}

async function waitForCount(rt: Runtime, sql: string, n: number, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // The benchmark's own polling is left out of the counts of the service's work.
    const { rows } = await inCountScope('bench', () => rt.db.query<{ n: number }>(sql));
    if (rows[0]!.n >= n) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${n}: ${sql}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const instantWriter: Writer = {
  provider: 'instant',
  model: 'none',
  async write({ sources }) {
    const first = sources[0]!;
    // The source's own title: a made-up one with figures in it (a piece of the id) fails the grounding gate.
    const title = first.title ?? 'A post about a source';
    return {
      title,
      slug: `post-${first.id}`,
      markdown: `Some text from the source. [1]\n\n## Sources\n\n1. ${first.title ?? 'source'}\n`,
      metaDescription:
        'A post written by a writer that does no work, to measure what the pipeline itself costs per post.',
      tags: ['bench'],
      citations: [{ sourceId: first.id, title: first.title ?? 'source', url: first.url }],
      wordCount: 8,
    };
  },
};

/**
 * An embedder that does no model work but gives each text its own vector, spread as real embeddings are: one equal
 * vector for every chunk made each post every other's nearest neighbour at distance 0, which degenerates the HNSW
 * graph and measured a search no real corpus asks for.
 */
function instantEmbedder(dimension: number): Embedder {
  return {
    model: 'instant',
    dimension,
    embed: async (texts) => texts.map((text) => pseudoRandomUnit(text, dimension)),
  };
}

function pseudoRandomUnit(text: string, dimension: number): number[] {
  let seed = 2166136261;
  for (let i = 0; i < text.length; i++) seed = Math.imul(seed ^ text.charCodeAt(i), 16777619);
  const v = new Array<number>(dimension);
  let norm = 0;
  for (let i = 0; i < dimension; i++) {
    // xorshift32: cheap and deterministic, so a text always gets the same vector.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    v[i] = (seed >>> 0) / 0x1_0000_0000 - 0.5;
    norm += v[i]! * v[i]!;
  }
  const scale = 1 / Math.sqrt(norm);
  return v.map((x) => x * scale);
}

/** Posts per second through all five stages, in one process with every stage's workers. */
export async function pipelineRate(t: TestEnv, n: number, instant: boolean): Promise<number> {
  const rt = await createRuntime(t.config, { logger: createLogger('silent') });
  if (instant) {
    rt.providers.writer = instantWriter;
    rt.providers.embedder = instantEmbedder(t.config.EMBEDDING_DIMENSION);
    rt.providers.embeddingModel = `instant/${t.config.EMBEDDING_DIMENSION}`;
  }
  const workers = await startWorkers(rt, pipeline.stages);
  try {
    const tenantId = await tenantOf(rt);
    await submitDirect(rt, tenantId, 20, 1_000_000); // warm-up
    await waitForCount(rt, `SELECT count(*)::int AS n FROM posts WHERE status = 'published'`, 20);
    const started = performance.now();
    await submitDirect(rt, tenantId, n);
    await waitForCount(rt, `SELECT count(*)::int AS n FROM posts WHERE status = 'published'`, n + 20);
    return n / ((performance.now() - started) / 1000);
  } finally {
    await workers.stop();
    await rt.close();
  }
}

/** Statements, round trips and Redis commands per post, by part: a stage's processor, the runner, the submission. */
export type WorkPerPost = Record<string, Tally>;

/** The parts of a post's work, in the order they happen; the runner's bookkeeping summed over the five stages. */
export const workParts = ['submission', ...stages, 'stage runner', 'other'] as const;

/**
 * The instant-provider pipeline's work per post, counted in this process (src/cost-counter.ts) on a Redis of its
 * own, whose INFO commandstats also gives the commands it executed (those inside BullMQ's scripts included).
 * Counting runs apart from the throughput runs, which it would slow.
 */
async function workPerPost(n: number): Promise<{ parts: WorkPerPost; redisExecutedPerPost: number }> {
  const redis = await startRedisServer();
  try {
    return await fresh(
      async (t) => {
        const rt = await createRuntime(t.config, { logger: createLogger('silent') });
        rt.providers.writer = instantWriter;
        rt.providers.embedder = instantEmbedder(t.config.EMBEDDING_DIMENSION);
        rt.providers.embeddingModel = `instant/${t.config.EMBEDDING_DIMENSION}`;
        const workers = await startWorkers(rt, pipeline.stages);
        const executed = async () => {
          const info = await inCountScope('bench', () => rt.redis.info('commandstats'));
          return [...info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
        };
        try {
          const tenantId = await tenantOf(rt);
          await submitDirect(rt, tenantId, 20, 4_000_000); // warm-up, uncounted
          await waitForCount(rt, `SELECT count(*)::int AS n FROM posts WHERE status = 'published'`, 20);
          await new Promise((r) => setTimeout(r, 1_500));
          const counting = startCounting();
          const before = await executed();
          await submitDirect(rt, tenantId, n, 5_000_000);
          await waitForCount(rt, `SELECT count(*)::int AS n FROM posts WHERE status = 'published'`, n + 20);
          // What follows publication (site rebuilds, the last jobs' completion) belongs to the posts too.
          await new Promise((r) => setTimeout(r, 1_500));
          const after = await executed();
          const tallies = counting.stop();
          const parts: WorkPerPost = {};
          const add = (part: string, tally: Tally) => {
            const sum = parts[part] ?? { statements: 0, roundTrips: 0, redisCommands: 0 };
            parts[part] = sum;
            sum.statements += tally.statements / n;
            sum.roundTrips += tally.roundTrips / n;
            sum.redisCommands += tally.redisCommands / n;
          };
          for (const [label, tally] of tallies) {
            if (label === 'bench') continue;
            if (label.endsWith(':runner')) add('stage runner', tally);
            else if ((workParts as readonly string[]).includes(label)) add(label, tally);
            else add('other', tally);
          }
          // Each `info` the benchmark sent is one command executed, not the service's.
          return { parts, redisExecutedPerPost: (after - before - 1) / n };
        } finally {
          await workers.stop();
          await rt.close();
        }
      },
      { REDIS_URL: redis.url },
    );
  } finally {
    await redis.cleanup();
  }
}

/** The work-per-post table: one row per part, the five stages' sum and the total. */
export function workTable(parts: WorkPerPost): string[] {
  const zero: Tally = { statements: 0, roundTrips: 0, redisCommands: 0 };
  const sum = (names: readonly string[]) =>
    names.reduce(
      (acc, name) => {
        const p = parts[name] ?? zero;
        return {
          statements: acc.statements + p.statements,
          roundTrips: acc.roundTrips + p.roundTrips,
          redisCommands: acc.redisCommands + p.redisCommands,
        };
      },
      { ...zero },
    );
  const line = (name: string, t: Tally) =>
    `| ${name} | ${fmt(t.statements)} | ${fmt(t.roundTrips)} | ${fmt(t.redisCommands)} |`;
  return [
    '| part of a post | SQL statements | round trips | Redis commands |',
    '| --- | --- | --- | --- |',
    ...workParts.map((name) => line(name, parts[name] ?? zero)),
    line('**five stages with their runner**', sum([...stages, 'stage runner'])),
    line('all', sum(workParts)),
  ];
}

/** The baseline: five BullMQ queues chained by no-op workers with the same concurrency, on the same Redis. */
async function rawChainRate(t: TestEnv, n: number): Promise<number> {
  const names = ['raw-ingest', 'raw-generate', 'raw-embed', 'raw-index', 'raw-publish'];
  const producer = createRedis(t.config, 'worker');
  const queues = names.map((name) => new Queue(name, { connection: producer, prefix: t.config.QUEUE_PREFIX }));
  let done = 0;
  const workers = names.map(
    (name, i) =>
      new Worker(
        name,
        async (job) => {
          const next = queues[i + 1];
          if (next) await next.add(name, job.data, { jobId: `${job.data.id}-${i + 1}`, removeOnComplete: true });
          else done++;
        },
        {
          connection: createRedis(t.config, 'worker'),
          prefix: t.config.QUEUE_PREFIX,
          concurrency: i === 0 ? t.config.WORKER_CONCURRENCY * 2 : t.config.WORKER_CONCURRENCY,
        },
      ),
  );
  try {
    const started = performance.now();
    for (let i = 0; i < n; i += 500) {
      await queues[0]!.addBulk(
        Array.from({ length: Math.min(500, n - i) }, (_, j) => ({
          name: 'raw',
          data: { id: `p${i + j}` },
          opts: { jobId: `p${i + j}-0`, removeOnComplete: true },
        })),
      );
    }
    while (done < n) await new Promise((r) => setTimeout(r, 20));
    return n / ((performance.now() - started) / 1000);
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all(queues.map((q) => q.close()));
    producer.disconnect();
  }
}

/** Generate throughput with a model that takes 200 ms a call, in `processes` worker processes. */
async function slowModelRate(processes: number, n: number) {
  const fake = await startFakeOpenAI();
  const answer = modelWriter();
  fake.onChat(async (req) => ({ ...(await answer(req)), delayMs: 200 }));
  const t = await createTestEnv(slowModelEnv(fake.url));
  const rt = await createRuntime(t.config, { logger: createLogger('silent') });
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < processes; i++)
      children.push(await startNode(['bin/main.ts', 'worker'], { ...t.env, LOG_LEVEL: 'info' }, /workers started/));
    const tenantId = await tenantOf(rt);
    const started = performance.now();
    await submitDirect(rt, tenantId, n);
    await waitForCount(
      rt,
      `SELECT count(*)::int AS n FROM stage_runs WHERE stage = 'generate' AND outcome = 'completed'`,
      n,
    );
    const seconds = (performance.now() - started) / 1000;
    // Generate's own window, from its first run's start to its last run's end (the database's clock): the
    // benchmark's submitting and the first posts' ingest, before any generate can start, are not generate's time.
    const { rows } = await rt.db.query<{ seconds: number }>(
      `SELECT extract(epoch FROM max(finished_at) - min(started_at))::float8 AS seconds
         FROM stage_runs WHERE stage = 'generate'`,
    );
    const calls = fake.chatRequests().length;
    const callsPerPost = calls / n;
    // Ideal: every model slot (WORKER_CONCURRENCY calls at once per process) busy all the time, each post needing
    // callsPerPost sequential 200 ms calls. The fake serves any number at once; it reports the most it had.
    const slots = processes * t.config.WORKER_CONCURRENCY;
    const ideal = slots / (callsPerPost * 0.2);
    return {
      rate: n / rows[0]!.seconds,
      fromSubmission: n / seconds,
      ideal,
      callsPerPost,
      slots,
      peakCalls: fake.peakChats(),
    };
  } finally {
    for (const c of children) await stopChild(c);
    await rt.close();
    await fake.close();
    await t.cleanup();
  }
}

/** Submission → published latency from the database's own timestamps (no polling error). */
async function latencies(rt: Runtime, since: Date): Promise<number[]> {
  const { rows } = await rt.db.query<{ ms: number }>(
    `SELECT extract(epoch FROM (published_at - created_at)) * 1000 AS ms FROM ` +
      `posts WHERE status = 'published' AND created_at >= $1`,
    [since],
  );
  return rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
}

async function endToEndLatency(t: TestEnv, maxRate: number) {
  const rt = await createRuntime(t.config, { logger: createLogger('silent') });
  const workers = await startWorkers(rt, pipeline.stages);
  const api = await startApi(rt, 0);
  const headers = { authorization: `Bearer ${t.config.DEV_API_KEY}`, 'content-type': 'application/json' };
  const post = (i: number) =>
    fetch(`${api.url}/api/v1/submissions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ source: { type: 'markdown', text: sourceText(2_000_000 + i) } }),
    });
  try {
    // Unloaded: one at a time, each waited for.
    let since = new Date();
    for (let i = 0; i < 30; i++) {
      const { postId } = (await (await post(i)).json()) as { postId: string };
      await waitForCount(rt, `SELECT count(*)::int AS n FROM posts WHERE id = '${postId}' AND status = 'published'`, 1);
    }
    const unloaded = await latencies(rt, since);

    // Half the measured maximum rate, for 10 seconds.
    const rate = Math.max(1, maxRate / 2);
    const total = Math.round(rate * 10);
    since = new Date();
    const started = performance.now();
    const sends: Promise<Response>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sends.push(post(100 + i));
    }
    await Promise.all(sends);
    await waitForCount(
      rt,
      `SELECT count(*)::int AS n FROM posts WHERE status = 'published' AND created_at >= '${since.toISOString()}'`,
      total,
    );
    const loaded = await latencies(rt, since);
    return { unloaded, loaded, rate };
  } finally {
    await api.stop();
    await workers.stop();
    await rt.close();
  }
}

/**
 * Memory of separate api, worker and scheduler processes: resident (RSS) and JavaScript heap when idle, the peak
 * resident during a burst of submissions, and both again 30 s after the burst (the worker still draining it).
 */
async function burstMemory(t: TestEnv, burst: number) {
  const port = await freePort();
  const env = { ...t.env, PORT: String(port), LOG_LEVEL: 'info' };
  const reports = await mkdtemp(join(tmpdir(), 'bp-bench-report-'));
  const flags = reportFlags(reports);
  const roles = {
    api: await startNode([...flags, 'bin/main.ts', 'api'], env, /API listening/),
    worker: await startNode([...flags, 'bin/main.ts', 'worker'], env, /workers started/),
    scheduler: await startNode([...flags, 'bin/main.ts', 'scheduler'], env, /scheduler started/),
  };
  const rt = await createRuntime(t.config, { logger: createLogger('silent') });
  const read = async () => {
    const out: Record<string, { rssMiB: number; peakMiB: number; heapUsedMiB: number; heapTotalMiB: number }> = {};
    for (const [role, child] of Object.entries(roles)) {
      const heap = await heapOf(child.pid!, reports);
      out[role] = { ...memoryOf(child.pid!), heapUsedMiB: heap.usedMiB, heapTotalMiB: heap.totalMiB };
    }
    return out;
  };
  try {
    await new Promise((r) => setTimeout(r, 2_000));
    const idle = await read();
    const headers = { authorization: `Bearer ${t.config.DEV_API_KEY}`, 'content-type': 'application/json' };
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < burst) {
          const i = next++;
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/submissions`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ source: { type: 'markdown', text: sourceText(3_000_000 + i) } }),
          });
          if (res.status !== 202) throw new Error(`burst submission ${i}: ${res.status}`);
          await res.arrayBuffer();
        }
      }),
    );
    const acceptSeconds = (performance.now() - started) / 1000;
    // The worker keeps draining the backlog; memory is read again after 30 s of it.
    await new Promise((r) => setTimeout(r, 30_000));
    const after = await read();
    const { rows } = await rt.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM posts WHERE status = 'published'`,
    );
    return { idle, after, acceptSeconds, publishedAfter30s: rows[0]!.n };
  } finally {
    for (const c of Object.values(roles)) await stopChild(c);
    await rt.close();
    await rm(reports, { recursive: true, force: true });
  }
}

export async function benchPipeline(opts: {
  posts: number;
  burst: number;
  wanted?: (part: string) => boolean;
}): Promise<{ rows: Row[]; data: Record<string, unknown>; tables: string[][] }> {
  const wanted = opts.wanted ?? (() => true);
  const rows: Row[] = [];
  const data: Record<string, unknown> = {};
  const tables: string[][] = [];

  if (wanted('pipeline') || wanted('work')) {
    const work = await workPerPost(Math.min(opts.posts, 200));
    const fiveStages = [...stages, 'stage runner'].reduce((n, part) => n + (work.parts[part]?.statements ?? 0), 0);
    rows.push({
      benchmark: 'SQL statements per post, five stages and their runner, instant providers',
      measured: fmt(fiveStages),
      baseline: '20 (target)',
      ratio: `${fmt(fiveStages / 20, 2)}×`,
    });
    tables.push([
      'Work per post, instant providers (counted in the process by src/cost-counter.ts; ' +
        `${fmt(work.redisExecutedPerPost)} Redis commands executed per post, those inside scripts included)`,
      ...workTable(work.parts),
    ]);
    data.workPerPost = work;
  }

  let offline = Number.NaN;
  if (wanted('pipeline')) {
    const raw = await fresh((t) => rawChainRate(t, opts.posts * 4));
    const instant = await fresh((t) => pipelineRate(t, opts.posts, true));
    rows.push({
      benchmark: 'pipeline posts/s, instant providers',
      measured: fmt(instant),
      baseline: `${fmt(raw)} (raw 5-queue no-op BullMQ chain)`,
      ratio: `${fmt(instant / raw, 3)}×`,
    });
    offline = await fresh((t) => pipelineRate(t, opts.posts, false));
    rows.push({
      benchmark: 'pipeline posts/s, offline default providers',
      measured: fmt(offline),
      baseline: `${fmt(instant)} (instant providers)`,
      ratio: `${fmt(offline / instant, 2)}×`,
    });
    Object.assign(data, {
      rawChainPostsPerSecond: raw,
      instantPostsPerSecond: instant,
      offlinePostsPerSecond: offline,
    });

    // The same instant-provider pipeline on a Redis Cluster (3 masters + 3 replicas on this host).
    const cluster = await startRedisCluster();
    try {
      const onCluster = await fresh((t) => pipelineRate(t, opts.posts, true), { REDIS_CLUSTER_NODES: cluster.nodes });
      rows.push({
        benchmark: 'pipeline posts/s on a Redis Cluster (3 masters + 3 replicas), instant providers',
        measured: fmt(onCluster),
        baseline: `${fmt(instant)} (one Redis)`,
        ratio: `${fmt(onCluster / instant, 2)}×`,
      });
      data.clusterPostsPerSecond = onCluster;
    } finally {
      await cluster.cleanup();
    }
  }

  if (wanted('slow')) {
    for (const processes of [1, 2]) {
      const slow = await slowModelRate(processes, processes * 80);
      rows.push({
        benchmark:
          `generate posts/s with a 200 ms model, ${processes} worker process${processes > 1 ? 'es' : ''} ` +
          `(${processes * 80} posts, first generate start to last end)`,
        measured: fmt(slow.rate, 2),
        baseline:
          `${fmt(slow.ideal, 2)} ideal (${slow.slots} model slots ÷ ${fmt(slow.callsPerPost, 1)} ` +
          `calls × 0.2 s; at most ${slow.peakCalls} calls at once); ${fmt(slow.fromSubmission, 2)} counted ` +
          `from the first submission (${fmt(slow.fromSubmission / slow.ideal, 2)}×)`,
        ratio: `${fmt(slow.rate / slow.ideal, 2)}×`,
      });
      data[`slowModel${processes}`] = slow;
    }
  }

  if (wanted('latency')) {
    const e2e = await fresh((t) => endToEndLatency(t, Number.isFinite(offline) ? offline : 10));
    const u = e2e.unloaded;
    const l = e2e.loaded;
    rows.push({
      benchmark: 'submission→published p50 / p99 (ms), unloaded',
      measured: `${fmt(percentile(u, 50), 0)} / ${fmt(percentile(u, 99), 0)}`,
      baseline: '—',
      ratio: '—',
    });
    rows.push({
      benchmark: `submission→published p50 / p99 (ms), at ${fmt(e2e.rate, 1)} posts/s (half the max)`,
      measured: `${fmt(percentile(l, 50), 0)} / ${fmt(percentile(l, 99), 0)}`,
      baseline: `${fmt(percentile(u, 50), 0)} / ${fmt(percentile(u, 99), 0)} (unloaded)`,
      ratio: `${fmt(percentile(l, 50) / percentile(u, 50), 2)}× / ${fmt(percentile(l, 99) / percentile(u, 99), 2)}×`,
    });
    data.latency = { unloadedMs: u, loadedMs: l, rate: e2e.rate };
  }

  if (wanted('memory')) {
    const mem = await fresh((t) => burstMemory(t, opts.burst));
    for (const role of ['api', 'worker', 'scheduler'] as const) {
      const idle = mem.idle[role]!;
      const after = mem.after[role]!;
      rows.push({
        benchmark: `${role} memory (MiB) in a burst of ${opts.burst} submissions: resident peak / 30 s after (heap used)`,
        measured: `${fmt(after.peakMiB, 0)} / ${fmt(after.rssMiB, 0)} (heap ${fmt(after.heapUsedMiB, 0)})`,
        baseline: `${fmt(idle.rssMiB, 0)} idle (heap ${fmt(idle.heapUsedMiB, 0)})`,
        ratio: `${fmt(after.peakMiB / idle.rssMiB, 2)}× / ${fmt(after.rssMiB / idle.rssMiB, 2)}×`,
      });
    }
    data.memory = mem;
  }
  return { rows, data, tables };
}
