import { backupDatabase } from '../src/backup.ts';
import type { Pipeline } from '../src/roles.ts';
import { embed } from './embed.ts';
import { generate } from './generate.ts';
import { index } from './index.ts';
import { ingest } from './ingest.ts';
import { publish } from './publish.ts';
import { pollFeed } from './scheduled/poll-feed.ts';
import { sweepFailed } from './scheduled/sweep-failed.ts';
import { sweepStranded } from './scheduled/sweep-stranded.ts';

/** Everything the workers run: the five stages, then the scheduler's jobs. */
export const pipeline: Pipeline = {
  stages: { ingest, generate, embed, index, publish },
  maintenance: {
    'sweep-stranded': (_job, { rt, log }) =>
      sweepStranded({ db: rt.db, queues: rt.queues, log, strandedAfterMs: rt.config.STRANDED_AFTER_MS }),
    'sweep-failed': (_job, { rt, log }) =>
      sweepFailed({
        db: rt.db,
        queues: rt.queues,
        log,
        minAgeMs: rt.config.SWEEP_FAILED_MIN_AGE_MS,
        maxRetries: rt.config.SWEEP_FAILED_MAX_RETRIES,
      }),
    backup: async (_job, { rt, log }) =>
      rt.config.BACKUP_DIR
        ? backupDatabase({
            databaseUrl: rt.config.DATABASE_URL,
            dir: rt.config.BACKUP_DIR,
            keep: rt.config.BACKUP_KEEP,
            log,
          })
        : undefined,
    'poll-feed': (job, { rt, log }) =>
      pollFeed({ db: rt.db, queues: rt.queues, redis: rt.redis, config: rt.config, log }, job),
  },
};
