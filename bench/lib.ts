import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const root = join(import.meta.dirname, '..');

export type Row = { benchmark: string; measured: string; baseline: string; ratio: string };

export function printTable(title: string, rows: Row[]): void {
  console.log(`\n### ${title}\n`);
  console.log('| benchmark | measured | baseline (same run) | ratio |');
  console.log('| --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.benchmark} | ${r.measured} | ${r.baseline} | ${r.ratio} |`);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/**
 * The Node flags the service runs with (the Dockerfile's ENTRYPOINT, npm start): service processes get them here too.
 */
export const serviceNodeFlags = ['--max-semi-space-size=16'];
/** The environment the Dockerfile gives the service beside its flags. */
export const serviceEnv = { MALLOC_ARENA_MAX: '2' };

// Service processes start as the Dockerfile starts them: through bin/blog-poster.js, with Node's compile cache filled
// beforehand as the image has it (once per benchmark process).
let compileCache: Promise<unknown> | undefined;
const warmCompileCache = () =>
  (compileCache ??= run(process.execPath, [join(root, 'scripts/warm-compile-cache.ts')], { cwd: root }));

/**
 * Starts a Node child process running a TypeScript entry point, resolving once `ready` appears on stdout. The
 * service's own entry point (bin/main.ts) runs as the service runs: its Node flags, bin/blog-poster.js, a filled
 * compile cache.
 */
export async function startNode(args: string[], env: Record<string, string>, ready: RegExp): Promise<ChildProcess> {
  const service = args.includes('bin/main.ts');
  if (service) await warmCompileCache();
  return new Promise((resolve, reject) => {
    const flags = service ? serviceNodeFlags : [];
    if (service) args = args.map((a) => (a === 'bin/main.ts' ? 'bin/blog-poster.js' : a));
    const child = spawn(process.execPath, [...flags, ...args], {
      cwd: root,
      env: { ...process.env, ...(service ? serviceEnv : {}), ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not become ready`)), 30_000);
    // Once ready, the output is drained unread: a service logging every request would otherwise cost the bench
    // process a growing string and a regular-expression scan of all of it per chunk, on the measured cores.
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      if (ready.test(buffer)) {
        clearTimeout(timer);
        buffer = '';
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Peak (VmHWM) and current (VmRSS) resident memory of a process, in MiB. */
export function memoryOf(pid: number): { peakMiB: number; rssMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  return { peakMiB: kb('VmHWM') / 1024, rssMiB: kb('VmRSS') / 1024 };
}

/**
 * Node flags that let heapOf() read a process's JavaScript heap: a diagnostic report on SIGUSR2, written to `dir`.
 * Nothing is loaded into the process for it (a metrics port would load Express into a worker).
 */
export function reportFlags(dir: string): string[] {
  return ['--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${dir}`, '--report-compact'];
}

/** Used and total JavaScript heap of a process started with reportFlags(dir), in MiB. */
export async function heapOf(pid: number, dir: string): Promise<{ usedMiB: number; totalMiB: number }> {
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const file = (await readdir(dir)).find((f) => f.includes(`.${pid}.`) && f.endsWith('.json'));
    if (file) {
      try {
        const report = JSON.parse(await readFile(join(dir, file), 'utf8')) as {
          javascriptHeap: { usedMemory: number; totalMemory: number };
        };
        await rm(join(dir, file));
        const mib = (n: number) => n / 1048576;
        return { usedMiB: mib(report.javascriptHeap.usedMemory), totalMiB: mib(report.javascriptHeap.totalMemory) };
      } catch {
        // Still being written.
      }
    }
    if (Date.now() > deadline) throw new Error(`no diagnostic report from ${pid}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs wrk against a POST endpoint; returns requests per second and the p99 latency in ms. */
export async function wrkPost(
  url: string,
  body: string,
  headers: Record<string, string>,
  seconds: number,
  connections = 32,
) {
  const dir = await mkdtemp(join(tmpdir(), 'bp-wrk-'));
  const script = join(dir, 'post.lua');
  const lines = [`wrk.method = "POST"`, `wrk.body = ${JSON.stringify(body)}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
  await writeFile(script, lines.join('\n'));
  const { stdout } = await run('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, url], {
    maxBuffer: 1 << 20,
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(stdout);
  const p99ms = p99 ? Number(p99[1]) * (p99[2] === 'us' ? 0.001 : p99[2] === 's' ? 1000 : 1) : Number.NaN;
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  return { rps, p99ms, non2xx };
}

export async function ensureWrk(): Promise<void> {
  try {
    await run('wrk', ['--version']).catch((err: { stdout?: string }) => {
      if (!err.stdout?.includes('wrk')) throw err;
    });
  } catch {
    console.error('bench: installing wrk from Debian (load generator)…');
    await run('apt-get', ['install', '-y', '--no-install-recommends', 'wrk']).catch(async () => {
      await run('apt-get', ['update']);
      await run('apt-get', ['install', '-y', '--no-install-recommends', 'wrk']);
    });
  }
}
