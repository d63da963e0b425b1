import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// One registry per process. Labels stay bounded: stage, outcome, method, route template, status.

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

export const stageRunsTotal = new Counter({
  name: 'blog_poster_stage_runs_total',
  help: 'Stage runs by outcome: completed, retrying (transient error) or failed.',
  labelNames: ['stage', 'outcome'] as const,
  registers: [registry],
});

export const submissionToPublishedSeconds = new Histogram({
  name: 'blog_poster_submission_to_published_seconds',
  help: 'Time from accepting a submission to its post being published.',
  buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  registers: [registry],
});

export const httpRequestDurationSeconds = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request duration by route template.',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});
