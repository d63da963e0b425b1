-- Up Migration

-- Posts can be held between stages (review, duplicate, approval, schedule) and resumed later.
ALTER TABLE posts DROP CONSTRAINT posts_status_check;
ALTER TABLE posts ADD CONSTRAINT posts_status_check CHECK (status IN (
  'queued', 'ingesting', 'generating', 'embedding', 'indexing', 'publishing', 'published', 'failed',
  'needs_review', 'duplicate_of', 'awaiting_approval', 'scheduled', 'rejected'));

ALTER TABLE posts
  -- The stage that held the post; resuming continues with the stage after it.
  ADD COLUMN held_stage text,
  ADD COLUMN held_reason text,
  ADD COLUMN held_details jsonb,
  -- Set by an operator's approval; guards that would hold the post again let it pass.
  ADD COLUMN approved_at timestamptz,
  -- Bumped on every resume or replay, so the re-run's job ids differ from the first run's.
  ADD COLUMN run_generation integer NOT NULL DEFAULT 0;

-- What the submitter asked for besides the sources (writing brief, publishing options).
ALTER TABLE submissions ADD COLUMN options jsonb NOT NULL DEFAULT '{}';

-- Down Migration
