-- Up Migration

-- Post statuses live in a table, so a later migration adds one with an INSERT instead of
-- rewriting a CHECK constraint that other migrations also touch.
CREATE TABLE post_statuses (status text PRIMARY KEY, description text NOT NULL);
INSERT INTO post_statuses (status, description) VALUES
  ('queued', 'accepted, waiting for its first stage'),
  ('ingesting', 'sources being fetched and cleaned'),
  ('generating', 'being written'),
  ('embedding', 'being embedded'),
  ('indexing', 'being indexed'),
  ('publishing', 'being published'),
  ('published', 'published to its destinations'),
  ('failed', 'stopped by an error; the reason is on the post'),
  ('needs_review', 'held: grounding or policy checks failed'),
  ('duplicate_of', 'held: too similar to a published post'),
  ('awaiting_approval', 'held: the tenant or submission requires approval'),
  ('scheduled', 'waiting for its publishAt time'),
  ('rejected', 'rejected by an operator'),
  ('budget_exceeded', 'stopped: the next model call would exceed the budget'),
  ('cancelled', 'cancelled before publishing');
ALTER TABLE posts DROP CONSTRAINT posts_status_check;
ALTER TABLE posts ADD CONSTRAINT posts_status_fkey FOREIGN KEY (status) REFERENCES post_statuses (status);

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
