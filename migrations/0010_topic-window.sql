-- Up Migration

-- Topic window (TOPIC_WINDOW_MS): a post made from feed, sitemap or site entries waits that long
-- before ingest, and until then an entry of a later poll whose keywords overlap its brief's joins
-- it (its source is added to the post's submission) instead of becoming a post of its own.
ALTER TABLE posts
  -- The brief's keyword terms, the set a joining entry is compared with.
  ADD COLUMN topic_terms text[],
  -- Until when entries may join; only while the post is still `queued` (its ingest has not started).
  ADD COLUMN topic_open_until timestamptz;
CREATE INDEX posts_topic_open_idx ON posts (tenant_id, topic_open_until) WHERE topic_open_until IS NOT NULL AND status = 'queued';

-- Down Migration
-- Forward-only: restore from a backup instead of rolling back.
