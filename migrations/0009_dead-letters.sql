-- Up Migration

-- Whether a failed run failed for good (bad input, policy) or ran out of retries on a transient
-- error; only the latter are retried by the scheduler's sweep.
ALTER TABLE stage_runs ADD COLUMN permanent boolean NOT NULL DEFAULT false;

-- How many times the sweep has already given a failed post another run.
ALTER TABLE posts ADD COLUMN sweep_retries integer NOT NULL DEFAULT 0;

CREATE INDEX posts_failed_idx ON posts (updated_at) WHERE status = 'failed';

-- Down Migration
