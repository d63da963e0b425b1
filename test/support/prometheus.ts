import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';

// A real Prometheus (Debian's package, installed by scripts/setup-test-peers.sh) on a free loopback
// port, with its own config and storage in a temp dir. Stopped and removed by stop().

export const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

export async function ensureTestPeers(...packages: Array<'prometheus' | 'chromium'>): Promise<void> {
  await run('bash', [join(root, 'scripts/setup-test-peers.sh'), ...packages], { timeout: 600_000 });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

export type ScrapeJob = { job: string; targets: string[]; metricsPath?: string; bearer?: string };

export type PromSeries = { metric: Record<string, string>; value: [number, string] };

export async function startPrometheus(opts: { jobs: ScrapeJob[]; ruleFiles: string[] }) {
  const dir = await mkdtemp(join(tmpdir(), 'bp-prometheus-'));
  const port = await freePort();
  const config = {
    global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '1s' },
    rule_files: opts.ruleFiles,
    scrape_configs: opts.jobs.map((j) => ({
      job_name: j.job,
      metrics_path: j.metricsPath ?? '/metrics',
      ...(j.bearer ? { authorization: { type: 'Bearer', credentials: j.bearer } } : {}),
      static_configs: [{ targets: j.targets }],
    })),
  };
  await writeFile(join(dir, 'prometheus.yml'), stringify(config));
  const proc: ChildProcess = spawn(
    '/usr/bin/prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr?.on('data', (d) => (stderr += String(d)));
  const url = `http://127.0.0.1:${port}`;

  async function api<T>(
    path: string,
    params: Record<string, string> = {},
  ): Promise<{ status: string; data: T; error?: string }> {
    const res = await fetch(`${url}${path}?${new URLSearchParams(params)}`);
    return (await res.json()) as { status: string; data: T; error?: string };
  }

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`prometheus exited ${proc.exitCode}: ${stderr}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`prometheus did not become ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    url,
    dir,
    api,
    /** An instant query; `error` is set when Prometheus refuses the expression. */
    async query(expr: string): Promise<{ series: PromSeries[]; error?: string }> {
      const res = await api<{ resultType: string; result: PromSeries[] | [number, string] }>('/api/v1/query', {
        query: expr,
      });
      if (res.status !== 'success') return { series: [], error: res.error ?? 'query failed' };
      const { resultType, result } = res.data;
      // A scalar answer (e.g. a constant) counts as one series.
      return {
        series:
          resultType === 'scalar' ? [{ metric: {}, value: result as [number, string] }] : (result as PromSeries[]),
      };
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type Prometheus = Awaited<ReturnType<typeof startPrometheus>>;
