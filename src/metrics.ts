import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { stages } from '../queues/stages.ts';

// One registry per process. Labels stay bounded: stage, outcome, queue, state, method, route
// template, status. Never a tenant, post or job id. Gauges that need the database or Redis are
// read at scrape time (./metrics-collectors.ts) rather than kept up to date on every change.

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const stageBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export const stageProcessingSeconds = new Histogram({
  name: 'blog_poster_stage_processing_seconds',
  help: 'Time a stage spends processing one job.',
  labelNames: ['stage', 'outcome'] as const,
  buckets: stageBuckets,
  registers: [registry],
});

export const stageWaitSeconds = new Histogram({
  name: 'blog_poster_stage_wait_seconds',
  help: 'Time a job waited in its queue before a worker took it.',
  labelNames: ['stage'] as const,
  buckets: stageBuckets,
  registers: [registry],
});

export const stageJobsCompletedTotal = new Counter({
  name: 'blog_poster_stage_jobs_completed_total',
  help: 'Stage jobs that completed.',
  labelNames: ['stage'] as const,
  registers: [registry],
});

export const stageJobsFailedTotal = new Counter({
  name: 'blog_poster_stage_jobs_failed_total',
  help: 'Stage jobs that failed for good: a permanent error, or a transient one on the last attempt.',
  labelNames: ['stage'] as const,
  registers: [registry],
});

export const stageJobsRetriedTotal = new Counter({
  name: 'blog_poster_stage_jobs_retried_total',
  help: 'Stage attempts that hit a transient error and will be retried with backoff.',
  labelNames: ['stage'] as const,
  registers: [registry],
});

// Every stage exports its series from the start, so rates and ratios are 0 rather than missing.
for (const stage of stages) {
  for (const counter of [stageJobsCompletedTotal, stageJobsFailedTotal, stageJobsRetriedTotal])
    counter.inc({ stage }, 0);
  stageWaitSeconds.zero({ stage });
  for (const outcome of ['completed', 'retrying', 'failed']) stageProcessingSeconds.zero({ stage, outcome });
}

export const submissionToPublishedSeconds = new Histogram({
  name: 'blog_poster_submission_to_published_seconds',
  help: 'Time from accepting a submission to its post being published.',
  buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  registers: [registry],
});

export const submissionGroupSize = new Histogram({
  name: 'blog_poster_submission_group_size',
  help: 'Submissions committed together in one transaction by the submission endpoints (group commit).',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128],
  registers: [registry],
});

export const httpRequestDurationSeconds = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request duration by route template.',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const dbSlowQueriesTotal = new Counter({
  name: 'blog_poster_db_slow_queries_total',
  help: 'PostgreSQL queries slower than DATABASE_SLOW_QUERY_MS.',
  registers: [registry],
});
dbSlowQueriesTotal.inc(0);

// Read at scrape time: each of these gauges awaits one shared, briefly cached refresh (installed by
// ./metrics-collectors.ts) before it is reported.

let scrapeRefresh: (() => Promise<void>) | null = null;
/** Installs (or, with null, removes) the refresh the scrape-time gauges await. */
export function setScrapeRefresh(refresh: (() => Promise<void>) | null): void {
  scrapeRefresh = refresh;
}
async function refreshOnScrape(): Promise<void> {
  await scrapeRefresh?.();
}

export const queueJobs = new Gauge({
  name: 'blog_poster_queue_jobs',
  help: 'Jobs in each queue by state (waiting, prioritized, active, delayed, failed, completed).',
  labelNames: ['queue', 'state'] as const,
  collect: refreshOnScrape,
  registers: [registry],
});

export const queueWorkers = new Gauge({
  name: 'blog_poster_queue_workers',
  help: 'Workers connected to each queue (live BullMQ worker connections in Redis).',
  labelNames: ['queue'] as const,
  collect: refreshOnScrape,
  registers: [registry],
});

export const dbPoolConnections = new Gauge({
  name: 'blog_poster_db_pool_connections',
  help: "This process's PostgreSQL pool: total and idle clients, and requests waiting for one.",
  labelNames: ['state'] as const,
  collect: refreshOnScrape,
  registers: [registry],
});

export const dbReplicaLagSeconds = new Gauge({
  name: 'blog_poster_db_replica_lag_seconds',
  help:
    'How far each read replica (DATABASE_READ_URL) is behind the primary, in ' +
    'seconds; 0 when it has replayed everything.',
  labelNames: ['replica'] as const,
  registers: [registry],
});

export const dbReplicaUp = new Gauge({
  name: 'blog_poster_db_replica_up',
  help: 'Whether each read replica answered its last check as a streaming replica (1) or not (0).',
  labelNames: ['replica'] as const,
  registers: [registry],
});

export const dbReplicaReads = new Counter({
  name: 'blog_poster_db_reads_total',
  help:
    'API reads that could use a replica, by where they went: replica, or primary ' +
    '(no replica usable or a recent write).',
  labelNames: ['target'] as const,
  registers: [registry],
});
for (const target of ['replica', 'primary']) dbReplicaReads.inc({ target }, 0);

export const posts = new Gauge({
  name: 'blog_poster_posts',
  help: 'Posts by current status (every status in post_statuses, zero included).',
  labelNames: ['status'] as const,
  collect: refreshOnScrape,
  registers: [registry],
});

export const tenantBudgetUsedRatioMax = new Gauge({
  name: 'blog_poster_tenant_budget_used_ratio_max',
  help: 'The highest share of its monthly LLM budget any tenant has spent this month (0 when no tenant has a budget).',
  collect: refreshOnScrape,
  registers: [registry],
});

export const tenantsNearBudget = new Gauge({
  name: 'blog_poster_tenants_near_budget',
  help: 'Tenants that have spent 80% or more of their monthly LLM budget this month.',
  collect: refreshOnScrape,
  registers: [registry],
});

export const metricsCollectErrorsTotal = new Counter({
  name: 'blog_poster_metrics_collect_errors_total',
  help: 'Scrape-time reads that failed (the gauges keep their last values).',
  labelNames: ['source'] as const,
  registers: [registry],
});
for (const source of ['queues', 'database']) metricsCollectErrorsTotal.inc({ source }, 0);

// Embeddings and the vector index. `provider` is local or openai; `backend` pgvector or qdrant.

export const embeddingRequestsTotal = new Counter({
  name: 'blog_poster_embedding_requests_total',
  help: 'Calls to the embedder (one per batch of texts).',
  labelNames: ['provider'] as const,
  registers: [registry],
});

export const embeddedTextsTotal = new Counter({
  name: 'blog_poster_embedded_texts_total',
  help: 'Texts embedded (cache misses); cache hits are not embedded again.',
  labelNames: ['provider'] as const,
  registers: [registry],
});

export const embeddingCacheLookupsTotal = new Counter({
  name: 'blog_poster_embedding_cache_lookups_total',
  help: 'Embedding cache lookups by result (hit or miss), one per distinct text.',
  labelNames: ['result'] as const,
  registers: [registry],
});

export const vectorSearchSeconds = new Histogram({
  name: 'blog_poster_vector_search_seconds',
  help: 'Latency of one nearest-neighbour query against the vector index.',
  labelNames: ['backend'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  registers: [registry],
});

export const duplicatePostsHeldTotal = new Counter({
  name: 'blog_poster_duplicate_posts_held_total',
  help: 'Posts held as near-duplicates of a published post by the index stage.',
  registers: [registry],
});

// LLM calls. `provider` is local or openai, `model` comes from configuration (bounded);
// `breaker` is a provider name; `scope` is provider (a 429), rpm or tpm (the shared limits).

export const llmRequestsTotal = new Counter({
  name: 'blog_poster_llm_requests_total',
  help:
    'Model calls by outcome: ok, error, rate_limited, refused, truncated or ' +
    'unusable (a reply that cleaning could not make a post of; cache hits are ' +
    'not calls).',
  labelNames: ['provider', 'model', 'outcome'] as const,
  registers: [registry],
});

export const llmTokensTotal = new Counter({
  name: 'blog_poster_llm_tokens_total',
  help: 'Tokens the provider reported, by kind (prompt or completion).',
  labelNames: ['provider', 'model', 'kind'] as const,
  registers: [registry],
});

export const llmCostUsdTotal = new Counter({
  name: 'blog_poster_llm_cost_usd_total',
  help: 'Cost of model calls in USD by the configured price table (LLM_PRICES).',
  labelNames: ['provider', 'model'] as const,
  registers: [registry],
});

export const llmRequestDurationSeconds = new Histogram({
  name: 'blog_poster_llm_request_duration_seconds',
  help: 'Duration of one model call, whatever its outcome.',
  labelNames: ['provider', 'model'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120],
  registers: [registry],
});

export const cacheRequestsTotal = new Counter({
  name: 'blog_poster_cache_requests_total',
  help: 'Cache lookups by cache (llm) and result (hit or miss).',
  labelNames: ['cache', 'result'] as const,
  registers: [registry],
});
for (const result of ['hit', 'miss']) cacheRequestsTotal.inc({ cache: 'llm', result }, 0);

export const circuitBreakerState = new Gauge({
  name: 'blog_poster_circuit_breaker_state',
  help: 'Circuit breaker state per provider: 0 closed, 1 half-open, 2 open.',
  labelNames: ['breaker'] as const,
  registers: [registry],
});

export const rateLimitedTotal = new Counter({
  name: 'blog_poster_rate_limited_total',
  help:
    'Times work waited on a rate limit: provider (a 429 with Retry-After), ' +
    'rpm or tpm (the shared limits), concurrency (no free slot of the model ' +
    'endpoint in time).',
  labelNames: ['scope'] as const,
  registers: [registry],
});
for (const scope of ['provider', 'rpm', 'tpm', 'concurrency']) rateLimitedTotal.inc({ scope }, 0);

// Publishing. Labels are destination kinds and outcomes, never destination or post ids.
export const publishRequestsTotal = new Counter({
  name: 'blog_poster_publish_requests_total',
  help:
    'Publish attempts per destination kind by outcome: published, skipped (already ' +
    'published), deferred (breaker open), retrying, failed.',
  labelNames: ['destination_kind', 'outcome'] as const,
  registers: [registry],
});

export const indexNowPingsTotal = new Counter({
  name: 'blog_poster_indexnow_urls_total',
  help: 'URLs sent to IndexNow after publication, by outcome: sent, retrying, failed (a failure never fails the post).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
for (const outcome of ['sent', 'retrying', 'failed']) indexNowPingsTotal.inc({ outcome }, 0);

// Every series exists from the start (at 0), so rate() has samples before the first publication.
for (const kind of ['files', 'wordpress', 'webhook']) {
  for (const outcome of ['published', 'skipped', 'deferred', 'retrying', 'failed'])
    publishRequestsTotal.inc({ destination_kind: kind, outcome }, 0);
}

export const notificationDeliveriesTotal = new Counter({
  name: 'blog_poster_notification_deliveries_total',
  help: 'Signed callback deliveries to tenants by event and outcome: delivered, retrying, failed.',
  labelNames: ['event', 'outcome'] as const,
  registers: [registry],
});
// The events the posts_status_event trigger (migrations/0006_publishing.sql) records.
for (const event of ['post.published', 'post.failed', 'post.needs_review', 'post.awaiting_approval'])
  for (const outcome of ['delivered', 'retrying', 'failed']) notificationDeliveriesTotal.inc({ event, outcome }, 0);

// Ingest. Labels are outcomes and reasons, never feed, host or post ids.
export const feedPollsTotal = new Counter({
  name: 'blog_poster_feed_polls_total',
  help:
    'Polls of registered feeds by outcome: new_entries, nothing_new, not_modified ' +
    '(a 304, not parsed), already_polled (another process took the tick), too_soon (under the interval floor), ' +
    'gone, failed.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const fetchRefusedTotal = new Counter({
  name: 'blog_poster_fetch_refused_total',
  help: 'Outbound fetches refused before connecting, by reason: address (SSRF guard), scheme, robots.',
  labelNames: ['reason'] as const,
  registers: [registry],
});
for (const reason of ['address', 'scheme', 'robots']) fetchRefusedTotal.inc({ reason }, 0);
