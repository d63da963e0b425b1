import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { connectDb } from './db/pool.ts';
import { closeErrorTracking } from './error-tracking.ts';
import { createLogger } from './logger.ts';
import { type Pipeline, type Role, startApi, startMetricsServer, startScheduler, startWorkers } from './roles.ts';
import { createRuntime, type Runtime } from './runtime.ts';
import { acceptSubmission, submissionSchema, type SubmissionInput } from './submissions.ts';
import { adminCommands, adminUsage, runAdminCommand } from './auth/admin-cli.ts';
import { stageSchema, stages, type Stage } from '../queues/stages.ts';
import { z } from 'zod';
import { resumePost, ResumeError } from './pipeline-control.ts';
import { randomUUID } from 'node:crypto';

const usage = `Usage: blog-poster <command>

Process roles (run until SIGTERM or SIGINT):
  api                         the HTTP API (webhooks, status, /metrics, /healthz, /readyz)
  worker [--queues a,b]       stage workers; all five stages unless --queues names some of
                              ${stages.join(', ')}
  scheduler                   periodic maintenance (re-enqueues stranded submissions)
  all                         api, every worker and the scheduler in one process

Commands:
  migrate                     apply pending database migrations and exit
  submit <file|url>           accept a Markdown/text file or a URL as a submission and print its id
  replay <post-id> --from <stage>
                              run a post again from a stage (a dead letter, or any settled post)
  backup                      pg_dump the database into BACKUP_DIR (keeping BACKUP_KEEP dumps)
  restore <file>              restore a dump made by backup (replaces the database's contents)
  demo                        run the whole pipeline once on a bundled sample and print the post
  doctor                      check that the configured model and embedding endpoints answer, with the
                              model and the EMBEDDING_DIMENSION configured; exits 1 naming what to fix
  reindex [--tenant slug] [--restart]
                              rebuild a tenant's vector index with the configured embedder and index
                              (default tenant: default); resumes an interrupted run unless --restart

${adminUsage}

Configuration comes from environment variables; see the README.`;

/**
 * Runs one command line; the entry point (bin/main.ts) passes the processors the roles run, or a loader of them so
 * that a command or role that runs none (the API) does not load them.
 */
export function runCli(argv: string[], pipeline: Pipeline | (() => Promise<Pipeline>)): Promise<void> {
  return main(argv, pipeline).then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof ConfigError || err instanceof UsageError) {
        console.error(`blog-poster: ${err.message}`);
        if (err instanceof UsageError) console.error("Run 'blog-poster --help' for usage.");
        process.exit(2);
      }
      if (err instanceof TypeError && (err as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
        console.error(`blog-poster: ${err.message}`);
        process.exit(2);
      }
      console.error('blog-poster: failed:', err);
      process.exit(1);
    },
  );
}

async function main(argv: string[], pipelineSource: Pipeline | (() => Promise<Pipeline>)): Promise<number> {
  const pipeline = () => (typeof pipelineSource === 'function' ? pipelineSource() : Promise.resolve(pipelineSource));
  // Admin commands (tenants, keys, destinations, secrets) take options of their own.
  if (adminCommands.includes(argv[0] ?? '')) return runAdminCommand(loadConfig(), argv);
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      queues: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      title: { type: 'string' },
      tenant: { type: 'string' },
      restart: { type: 'boolean' },
      from: { type: 'string' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command || command === 'help') {
    console.log(usage);
    return command || values.help ? 0 : 2;
  }

  const config = loadConfig();
  switch (command) {
    case 'migrate': {
      const logger = createLogger(config.LOG_LEVEL);
      const db = await connectDb(config, logger); // creates the database when missing
      await db.close();
      const applied = await (await import('./db/migrate.ts')).migrate(config.DATABASE_URL, logger);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      return 0;
    }
    case 'api':
    case 'worker':
    case 'scheduler':
    case 'all':
      return runRoles(config, command === 'api' ? null : await pipeline(), command, parseQueues(values.queues));
    case 'submit':
      return submit(config, rest[0], values.title);
    case 'demo':
      return demo(config, await pipeline());
    case 'doctor':
      return (await import('./doctor.ts')).runDoctor(config);
    case 'replay':
      return replay(config, rest[0], values.from);
    case 'backup': {
      if (!config.BACKUP_DIR) throw new UsageError('set BACKUP_DIR to the folder the dumps go to');
      const { backupDatabase } = await import('./backup.ts');
      const file = await backupDatabase({
        databaseUrl: config.DATABASE_URL,
        dir: config.BACKUP_DIR,
        keep: config.BACKUP_KEEP,
        log: createLogger(config.LOG_LEVEL),
      });
      console.log(file);
      return 0;
    }
    case 'restore': {
      if (!rest[0])
        throw new UsageError(
          'restore needs the dump file, e.g. blog-poster restore backups/blog-poster-20261129T030000Z.dump',
        );
      await (await import('./backup.ts')).restoreDatabase({ databaseUrl: config.DATABASE_URL, file: rest[0] });
      console.log(`restored ${rest[0]}`);
      return 0;
    }
    case 'reindex':
      return reindex(config, values.tenant ?? 'default', values.restart ?? false);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

class UsageError extends Error {}

function parseQueues(option: string | undefined): Stage[] {
  if (!option) return [...stages];
  const names = option
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(stages as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new UsageError(
      `--queues: unknown stage ${unknown.join(', ') || '(none given)'}; choose from ${stages.join(', ')}`,
    );
  }
  return names as Stage[];
}

async function runRoles(config: Config, pipeline: Pipeline | null, command: string, queues: Stage[]): Promise<number> {
  // Listen before starting: a SIGTERM that arrives during start-up still ends in a clean stop.
  const signalled = waitForSignal();
  const rt = await createRuntime(config);
  const roles: Role[] = [];
  if (pipeline && (command === 'worker' || command === 'all'))
    roles.push(await startWorkers(rt, pipeline.stages, queues));
  if (pipeline && (command === 'scheduler' || command === 'all'))
    roles.push(await startScheduler(rt, pipeline.maintenance));
  if (command === 'api' || command === 'all') roles.push(await startApi(rt));
  // Any role may also serve /metrics, /healthz and /readyz on a port of their own.
  if (config.METRICS_PORT !== undefined) roles.push(await startMetricsServer(rt, config.METRICS_PORT));
  rt.logger.info({ role: command, pid: process.pid }, 'started');
  await signalled;
  const stopping = Date.now();
  rt.logger.info({ role: command }, 'shutting down');
  await stopAll(rt, roles);
  // Failures reported while in-flight jobs finished are sent before the process exits, within what is
  // left of the grace period (at least a second).
  const left = Math.max(1000, config.SHUTDOWN_GRACE_MS - (Date.now() - stopping));
  if (!(await closeErrorTracking(config, left))) rt.logger.warn('error tracking: some events were not sent in time');
  rt.logger.info({ role: command }, 'stopped');
  return 0;
}

/** Stops the API first (no new work), then workers (in-flight jobs finish), then connections. */
async function stopAll(rt: Runtime, roles: Role[]): Promise<void> {
  const order = ['api', 'metrics', 'scheduler', 'worker'];
  for (const role of [...roles].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name))) await role.stop();
  await rt.close();
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

async function sourceFromArgument(target: string | undefined, title: string | undefined): Promise<SubmissionInput> {
  if (!target)
    throw new UsageError(
      'submit needs a file path or an http(s) URL, e.g. blog-poster submit samples/sample-article.md',
    );
  const candidate = /^https?:\/\//i.test(target)
    ? { source: { type: 'url', url: target, ...(title ? { title } : {}) } }
    : {
        source: {
          type: ['.md', '.markdown'].includes(extname(target).toLowerCase()) ? 'markdown' : 'text',
          text: await readFile(target, 'utf8').catch((err: NodeJS.ErrnoException) => {
            throw new UsageError(`cannot read ${target}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
          }),
          ...(title ? { title } : {}),
        },
      };
  const parsed = submissionSchema.safeParse(candidate);
  if (!parsed.success) {
    throw new UsageError(
      `${target}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

async function replay(config: Config, postId: string | undefined, from: string | undefined): Promise<number> {
  const stage = stageSchema.safeParse(from);
  if (!postId || !z.uuid().safeParse(postId).success)
    throw new UsageError('replay needs a post id, e.g. blog-poster replay 3f2c… --from generate');
  if (!stage.success) throw new UsageError(`--from: choose a stage from ${stages.join(', ')}`);
  const rt = await createRuntime(config);
  try {
    const { generation } = await resumePost(rt.db, rt.queues, postId, { fromStage: stage.data });
    console.log(JSON.stringify({ postId, fromStage: stage.data, generation, status: 'queued' }));
    return 0;
  } catch (err) {
    if (err instanceof ResumeError) throw new UsageError(err.message);
    throw err;
  } finally {
    await rt.close();
  }
}

async function submit(config: Config, target: string | undefined, title: string | undefined): Promise<number> {
  const body = await sourceFromArgument(target, title);
  const rt = await createRuntime(config);
  try {
    const tenant = await rt.db.query<{ id: string }>(`SELECT id FROM tenants WHERE slug = 'default'`);
    const accepted = await acceptSubmission(rt.db, rt.queues, {
      tenantId: tenant.rows[0]!.id,
      body,
      idempotencyKey: null,
      correlationId: randomUUID(),
    });
    console.log(JSON.stringify({ submissionId: accepted.submissionId, postId: accepted.postId, status: 'accepted' }));
    return 0;
  } finally {
    await rt.close();
  }
}

/** Rebuilds a tenant's vector index, printing progress; an interrupted run continues where it stopped. */
async function reindex(config: Config, tenant: string, restart: boolean): Promise<number> {
  const { reindexTenant, ReindexError } = await import('./reindex.ts');
  const rt = await createRuntime(config);
  try {
    const started = Date.now();
    let first = true;
    const result = await reindexTenant(rt, {
      tenant,
      restart,
      onProgress: (p) => {
        if (p.finished || !(first || p.done % 25 === 0 || p.done === p.total)) return;
        const pct = p.total ? Math.floor((100 * p.done) / p.total) : 100;
        console.log(
          `reindex ${tenant}: ${p.done}/${p.total} posts (${pct}%), ${p.chunks} chunks, ` +
            `${p.embedded} newly embedded${first && p.resumed ? ' (resuming)' : ''}`,
        );
        first = false;
      },
    }).catch((err: unknown) => {
      if (err instanceof ReindexError) throw new UsageError(err.message);
      throw err;
    });
    const index = rt.providers.vectorIndex.name;
    console.log(
      `reindex ${tenant}: done, ${result.done} posts and ${result.chunks} chunks ` +
        `in ${index} (${rt.providers.embeddingModel}) in ${((Date.now() - started) / 1000).toFixed(1)} ` +
        `s`,
    );
    return 0;
  } finally {
    await rt.close();
  }
}

/** The whole pipeline once, in one process, on the offline providers. */
async function demo(config: Config, pipeline: Pipeline): Promise<number> {
  const samplePath = fileURLToPath(new URL('../samples/sample-article.md', import.meta.url));
  const logger = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
  const rt = await createRuntime(config, { logger });
  const roles: Role[] = [await startWorkers(rt, pipeline.stages), await startScheduler(rt, pipeline.maintenance)];
  let api: Awaited<ReturnType<typeof startApi>>;
  try {
    api = await startApi(rt);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    api = await startApi(rt, 0); // the usual port is taken: any free one will do for a demo
  }
  roles.push(api);
  try {
    console.log(`Blog Poster demo: API at ${api.url}, output in ${resolve(config.OUTPUT_DIR)}`);
    console.log(`Submitting ${basename(samplePath)} …`);
    const headers = { authorization: `Bearer ${config.DEV_API_KEY}`, 'content-type': 'application/json' };
    const response = await fetch(`${api.url}/api/v1/submissions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ source: { type: 'markdown', text: await readFile(samplePath, 'utf8') } }),
    });
    const accepted = (await response.json()) as { id: string; postId: string; links: { self: string; post: string } };
    if (response.status !== 202) throw new Error(`submission refused: ${response.status} ${JSON.stringify(accepted)}`);
    console.log(`  202 accepted: submission ${accepted.id}`);

    const postUrl = `${api.url}${accepted.links.post}`;
    const seen = new Set<number>();
    let approved = false;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const post = (await (await fetch(postUrl, { headers })).json()) as PostView;
      post.stages.forEach((run, i) => {
        if (run.outcome === 'running' || seen.has(i)) return;
        seen.add(i);
        const ms = run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : 0;
        console.log(`  ${run.stage.padEnd(8)} ${run.outcome} in ${ms} ms${run.error ? `: ${run.error}` : ''}`);
      });
      if (post.status === 'published') {
        const file = post.publications[0];
        console.log(`\nPublished: "${post.title}"`);
        console.log(`  file:   ${file?.location}`);
        console.log(`  status: ${postUrl}`);
        return 0;
      }
      if (post.status === 'failed') {
        console.error(`\nThe post failed at ${post.failure?.stage}: ${post.failure?.reason}`);
        return 1;
      }
      // Run the demo twice and the second post is a near-duplicate of the first: show the hold,
      // then approve it as an operator would.
      if (
        ['duplicate', 'skipped', 'duplicate_of', 'needs_review', 'awaiting_approval'].includes(post.status) &&
        !approved
      ) {
        console.log(`  held: ${post.hold?.reason ?? post.status}`);
        const approval = await fetch(`${postUrl}/approve`, { method: 'POST', headers, body: '{}' });
        if (approval.status >= 300)
          throw new Error(`approving the held post failed: ${approval.status} ${await approval.text()}`);
        console.log('  approved by the operator; publishing');
        approved = true;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    console.error('The post was not published within 120 s; see the log above.');
    return 1;
  } finally {
    await stopAll(rt, roles);
  }
}

type PostView = {
  status: string;
  title: string | null;
  failure: { stage: string; reason: string } | null;
  hold: { stage: string; reason: string | null } | null;
  stages: { stage: string; outcome: string; startedAt: string; finishedAt: string | null; error: string | null }[];
  publications: { location: string; url: string | null }[];
};
