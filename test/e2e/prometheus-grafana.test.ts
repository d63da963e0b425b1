import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { startMetricsServer } from '../../src/roles.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { modelWriter } from '../support/fake-model-writer.ts';
import { articles } from '../support/source-articles.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { ensureTestPeers, freePort, run, startPrometheus, type Prometheus } from '../support/prometheus.ts';

// A real Prometheus scrapes the API and a worker metrics port while submissions flow, then every
// Grafana panel query and every alert rule is evaluated through Prometheus's HTTP API.
// Grafana itself is not packaged for Debian here: dashboards are checked structurally instead.

const root = resolve(import.meta.dirname, '../..');
const grafana = join(root, 'grafana');
const rulesFile = join(grafana, 'prometheus/alerts.yml');

const datasourceRef = z.object({ type: z.literal('prometheus'), uid: z.string().min(1) }).strict();
const dashboardSchema = z.object({
  uid: z.string().regex(/^[a-z0-9-]{1,40}$/),
  title: z.string().min(1),
  schemaVersion: z.number().int().min(30),
  time: z.object({ from: z.string(), to: z.string() }),
  templating: z.object({ list: z.array(z.unknown()) }),
  panels: z
    .array(
      z.object({
        id: z.number().int().positive(),
        type: z.enum(['timeseries', 'stat', 'gauge', 'table', 'bargauge']),
        title: z.string().min(1),
        datasource: datasourceRef,
        gridPos: z.object({
          h: z.number().int().positive(),
          w: z.number().int().min(1).max(24),
          x: z.number().int().min(0).max(23),
          y: z.number().int().min(0),
        }),
        targets: z
          .array(
            z.object({
              refId: z.string().regex(/^[A-Z]$/),
              expr: z.string().min(1),
              legendFormat: z.string(),
              datasource: datasourceRef,
            }),
          )
          .min(1),
      }),
    )
    .min(4),
});
type Dashboard = z.infer<typeof dashboardSchema>;

type AlertRule = { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string> };
const rules = (
  parseYaml(readFileSync(rulesFile, 'utf8')) as { groups: Array<{ name: string; rules: AlertRule[] }> }
).groups.flatMap((g) => g.rules);

const dashboards: Array<{ file: string; json: unknown }> = readdirSync(join(grafana, 'dashboards'))
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, json: JSON.parse(readFileSync(join(grafana, 'dashboards', file), 'utf8')) }));

describe('Prometheus scraping the service, Grafana panels and alert rules', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let workerMetrics: Awaited<ReturnType<typeof startMetricsServer>>;
  let prom: Prometheus;
  let model: FakeOpenAI;

  beforeAll(async () => {
    await ensureTestPeers('prometheus');
    // The generate stage writes with an OpenAI-compatible model (a local fake speaking its wire
    // format), so the LLM panels have calls, tokens and cost to show.
    model = await startFakeOpenAI();
    model.onChat(modelWriter());
    t = await createTestEnv({
      LLM_PROVIDER: 'openai',
      OPENAI_BASE_URL: model.url,
      OPENAI_API_KEY: 'sk-test',
      OPENAI_MODEL: 'fake-model',
      LLM_PRICES: JSON.stringify({ 'fake-model': { prompt: 1, completion: 2 } }),
    });
    app = await startPipeline(t);
    workerMetrics = await startMetricsServer(app.rt, 0);

    const api = new URL(app.api.url).host;
    const worker = `127.0.0.1:${(workerMetrics.server.address() as { port: number }).port}`;
    prom = await startPrometheus({
      ruleFiles: [rulesFile],
      jobs: [
        { job: 'blog-poster-api', targets: [api] },
        { job: 'blog-poster-worker', targets: [worker] },
        // Nothing listens here: the target-down alert has something to see.
        { job: 'blog-poster-scheduler', targets: [`127.0.0.1:${await freePort()}`] },
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await prom?.stop();
    await workerMetrics?.stop();
    await app?.stop();
    await t?.cleanup();
    await model?.close();
  });

  it('scrapes the service while submissions flow through every stage', async () => {
    // Scraped before the traffic starts, so every counter's rise falls inside Prometheus's data.
    await waitFor(
      'the first scrapes',
      async () => (await prom.query('blog_poster_submission_to_published_seconds_count == 0')).series.length === 2,
      30_000,
    );
    const accepted = await Promise.all([
      ...Array.from({ length: 12 }, (_, i) =>
        app.post('/api/v1/submissions', {
          source: { type: 'markdown', text: articles[i % articles.length]!.text },
          brief: { minWords: 50, maxWords: 600 },
        }),
      ),
    ]);
    for (const res of accepted) expect(res.status).toBe(202);
    // A job with a bad payload fails at once and stays in the failed set.
    await app.rt.queues.queues.index.add('index', { postId: 'not-a-uuid' }, { jobId: 'bad-payload' });
    await waitFor(
      'every post finished',
      async () => {
        const { rows } = await app.rt.db.query(
          `SELECT count(*)::int AS n FROM posts WHERE status NOT IN ('queued', 'ingesting', ` +
            `'generating', 'embedding', 'indexing', 'publishing')`,
        );
        return rows[0]!.n === accepted.length;
      },
      90_000,
    );
    const published = await app.rt.db.query(`SELECT count(*)::int AS n FROM posts WHERE status = 'published'`);
    expect(published.rows[0]!.n).toBeGreaterThanOrEqual(6);
    // A tenant budget of just over what was spent: budget use near 90%, over the alert's 80%.
    const spent = await app.rt.db.query<{ usd: number }>('SELECT sum(cost_usd)::float8 AS usd FROM llm_calls');
    expect(spent.rows[0]!.usd).toBeGreaterThan(0);
    await app.rt.db.query(
      `UPDATE tenants SET settings = settings || jsonb_build_object('monthlyBudgetUsd', $1::float8)`,
      [spent.rows[0]!.usd / 0.9],
    );
    // Two scrapes of each target after the last change, so rate() and increase() have two samples of every series,
    // those that first appeared with the traffic (a histogram's labelled series) too.
    const scrapes = async (job: string) =>
      Number((await prom.query(`count_over_time(up{job="${job}"}[10m])`)).series[0]?.value[1] ?? 0);
    const jobs = ['blog-poster-api', 'blog-poster-worker'];
    const before = await Promise.all(jobs.map(scrapes));
    await waitFor(
      'Prometheus to see the traffic',
      async () => {
        const now = await Promise.all(jobs.map(scrapes));
        if (now.some((n, i) => n < before[i]! + 2)) return false;
        const { series } = await prom.query(
          `min(blog_poster_submission_to_published_seconds_count) >= ${published.rows[0]!.n} ` +
            `and sum(increase(blog_poster_submission_to_published_seconds_count[5m])) ` +
            `> 0 and max(blog_poster_tenant_budget_used_ratio_max) > 0.8`,
        );
        return series.length > 0;
      },
      30_000,
    );
    await waitFor('the failed job', async () => (await app.rt.queues.queues.index.getJobCounts('failed')).failed === 1);
    const up = await prom.query('up');
    expect(Object.fromEntries(up.series.map((s) => [s.metric.job, s.value[1]]))).toEqual({
      'blog-poster-api': '1',
      'blog-poster-worker': '1',
      'blog-poster-scheduler': '0',
    });
  }, 120_000);

  it(
    'has dashboards that Grafana can provision: the datasource, the dashboard ' + "provider and each dashboard's shape",
    () => {
      const datasources = parseYaml(readFileSync(join(grafana, 'provisioning/datasources/prometheus.yml'), 'utf8')) as {
        apiVersion: number;
        datasources: Array<{ uid: string; type: string; url: string }>;
      };
      expect(datasources.apiVersion).toBe(1);
      const ds = datasources.datasources.find((d) => d.type === 'prometheus');
      expect(ds).toBeDefined();
      const provider = parseYaml(readFileSync(join(grafana, 'provisioning/dashboards/dashboards.yml'), 'utf8')) as {
        apiVersion: number;
        providers: Array<{ type: string; options: { path: string } }>;
      };
      expect(provider.apiVersion).toBe(1);
      expect(provider.providers[0]).toMatchObject({ type: 'file' });
      // docker-compose mounts ./grafana/dashboards where the provider looks.
      const compose = parseYaml(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
        services: Record<string, { volumes?: string[] }>;
      };
      expect(compose.services.grafana!.volumes).toContain(
        `./grafana/dashboards:${provider.providers[0]!.options.path}:ro`,
      );
      expect(compose.services.prometheus!.volumes).toContain(
        './grafana/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro',
      );

      expect(dashboards.map((d) => d.file).sort()).toEqual(['llm-and-cost.json', 'pipeline.json', 'queues.json']);
      const uids = new Set<string>();
      for (const { file, json } of dashboards) {
        const parsed = dashboardSchema.safeParse(json);
        expect(parsed.error?.issues ?? [], file).toEqual([]);
        const d = parsed.data!;
        expect(uids.has(d.uid), `${file}: duplicate uid`).toBe(false);
        uids.add(d.uid);
        expect(new Set(d.panels.map((p) => p.id)).size, `${file}: panel ids unique`).toBe(d.panels.length);
        for (const p of d.panels) {
          expect(p.datasource.uid, `${file} / ${p.title}`).toBe(ds!.uid);
          expect(p.gridPos.x + p.gridPos.w, `${file} / ${p.title}: fits the 24-column grid`).toBeLessThanOrEqual(24);
        }
      }
    },
  );

  it('answers every panel query of every dashboard with at least one series, using only metrics the app exports', async () => {
    const exported = await exportedMetricNames();
    const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));
    const empty: string[] = [];
    const unknownNames: string[] = [];
    let queries = 0;
    for (const { file, json } of dashboards) {
      for (const panel of (json as Dashboard).panels) {
        for (const target of panel.targets) {
          queries++;
          const { series, error } = await prom.query(target.expr);
          if (error || series.length === 0)
            empty.push(`${file} / ${panel.title} / ${target.refId}: ${error ?? 'no series'} — ${target.expr}`);
          for (const name of metricNames(target.expr)) {
            if (!exported.has(name) && !recorded.has(name) && name !== 'up')
              unknownNames.push(`${file} / ${panel.title}: ${name}`);
          }
        }
      }
    }
    expect(queries).toBeGreaterThanOrEqual(40);
    expect(unknownNames).toEqual([]);
    expect(empty).toEqual([]);
  });

  it('shows every metric of its own the app exports on a dashboard or in an alert rule', async () => {
    const watched = new Set([
      ...dashboards.flatMap(({ json }) =>
        (json as Dashboard).panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr))),
      ),
      ...rules.flatMap((r) => metricNames(r.expr)),
    ]);
    // A histogram is watched through any of its series.
    const base = (name: string): string => name.replace(/_(bucket|sum|count)$/, '');
    const watchedBases = new Set([...watched].map(base));
    const unwatched = [...(await exportedMetricNames())]
      .filter((name) => name.startsWith('blog_poster_'))
      .filter((name) => !watchedBases.has(base(name)));
    expect(unwatched).toEqual([]);
  });

  it('checks the rules with promtool, unit-tests every alert, and evaluates every rule against the live metrics', async () => {
    const config = await run('promtool', ['check', 'config', join(grafana, 'prometheus/prometheus.yml')]);
    expect(config.stdout).toContain('SUCCESS');
    const checked = await run('promtool', ['check', 'rules', rulesFile]);
    expect(checked.stdout).toMatch(/SUCCESS: \d+ rules found/);
    const tested = await run('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: join(grafana, 'prometheus') });
    expect(tested.stdout).toContain('SUCCESS');
    // Every alert has a unit test of its own in alerts.test.yml.
    const unitTests = readFileSync(join(grafana, 'prometheus/alerts.test.yml'), 'utf8');
    for (const alert of new Set(rules.flatMap((r) => (r.alert ? [r.alert] : []))))
      expect(unitTests).toContain(`alertname: ${alert}`);

    // Prometheus loaded and evaluated them without errors.
    await waitFor(
      'every rule evaluated',
      async () => {
        const res = await prom.api<{
          groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }>;
        }>('/api/v1/rules');
        const loaded = res.data.groups.flatMap((g) => g.rules);
        return loaded.length === rules.length && loaded.every((r) => r.health === 'ok');
      },
      20_000,
    );

    const failures: string[] = [];
    for (const rule of rules) {
      if (rule.record) {
        // The rule's own expression and the series Prometheus recorded from it.
        for (const expr of [rule.expr, rule.record]) {
          const { series, error } = await prom.query(expr);
          if (error || series.length === 0) failures.push(`${rule.record}: ${error ?? 'no series'} — ${expr}`);
        }
        continue;
      }
      // Alerts are `<signal> <comparison> <threshold>`: the signal must be live, whether or not it crosses.
      const match = /^([\s\S]*\S)\s*(==|!=|>=|<=|>|<)\s*(-?[\d.]+)\s*$/.exec(rule.expr.trim());
      expect(match, `${rule.alert}: expr is <signal> <comparison> <number>`).not.toBeNull();
      const { series, error } = await prom.query(match![1]!);
      if (error || series.length === 0) failures.push(`${rule.alert}: ${error ?? 'no series'} — ${match![1]}`);
      const whole = await prom.query(rule.expr);
      if (whole.error) failures.push(`${rule.alert}: ${whole.error}`);
    }
    expect(failures).toEqual([]);

    // The conditions this run really has are seen: a failed job kept, a target down, and a queue
    // (maintenance) with no worker. Their `for` keeps them pending here.
    await waitFor(
      'the live alerts',
      async () => {
        const res = await prom.api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>(
          '/api/v1/alerts',
        );
        const names = new Set(res.data.alerts.map((a) => `${a.labels.alertname}:${a.labels.queue ?? a.labels.job}`));
        return (
          names.has('BlogPosterFailedJobs:index') &&
          names.has('BlogPosterTargetDown:blog-poster-scheduler') &&
          names.has('BlogPosterNoWorkers:maintenance') &&
          names.has('BlogPosterTenantBudgetNearlySpent:undefined')
        );
      },
      20_000,
    );
  });

  async function exportedMetricNames(): Promise<Set<string>> {
    const res = await fetch(`${app.api.url}/metrics`);
    const names = new Set<string>();
    for (const line of (await res.text()).split('\n')) {
      const m = /^# TYPE (\S+) (\S+)/.exec(line);
      if (!m) continue;
      names.add(m[1]!);
      if (m[2] === 'histogram') for (const s of ['_bucket', '_count', '_sum']) names.add(`${m[1]}${s}`);
      if (m[2] === 'summary') for (const s of ['_count', '_sum']) names.add(`${m[1]}${s}`);
    }
    return names;
  }
});

const promqlWords = new Set([
  // aggregations, functions and keywords this project's queries use (and their close relatives)
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'topk',
  'bottomk',
  'quantile',
  'stddev',
  'rate',
  'irate',
  'increase',
  'delta',
  'deriv',
  'histogram_quantile',
  'max_over_time',
  'min_over_time',
  'avg_over_time',
  'abs',
  'clamp_min',
  'clamp_max',
  'vector',
  'scalar',
  'absent',
  'time',
  'sort',
  'sort_desc',
  'label_replace',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * Metric names in a PromQL expression: identifiers left once strings, matchers, ranges, grouping lists and function
 * names go.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  return [...stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .map((m) => m[0])
    .filter((w) => !promqlWords.has(w.toLowerCase()));
}
