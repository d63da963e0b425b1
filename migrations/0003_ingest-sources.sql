-- Up Migration

-- Source kinds live in a table, as post statuses do, so a later migration adds one with an INSERT.
CREATE TABLE source_kinds (kind text PRIMARY KEY, description text NOT NULL);
INSERT INTO source_kinds (kind, description) VALUES
  ('text', 'raw text sent with the submission'),
  ('markdown', 'Markdown sent with the submission'),
  ('url', 'an article page, fetched and extracted'),
  ('feed', 'an RSS, RDF, Atom or JSON feed; each new entry becomes a post of its own'),
  ('sitemap', 'a sitemap or sitemap index; each new or changed URL becomes a post of its own'),
  ('site', 'a home page whose feed or sitemap is discovered and followed'),
  ('feed_entry', 'one entry of a feed, with the content the feed carried');
ALTER TABLE sources DROP CONSTRAINT sources_kind_check;
ALTER TABLE sources ADD CONSTRAINT sources_kind_fkey FOREIGN KEY (kind) REFERENCES source_kinds (kind);

INSERT INTO post_statuses (status, description) VALUES
  ('expanded', 'a feed, sitemap or site: its entries became posts of their own submissions'),
  ('duplicate', 'stopped: its source duplicates one the tenant already has (not an error)'),
  ('skipped', 'stopped: a published post of the tenant already covers its topic');

-- A feed, sitemap or site submission fans out into one child submission per new entry (or per
-- group of similar entries), so every later stage still reads "the sources of my submission".
ALTER TABLE submissions
  ADD COLUMN parent_id uuid REFERENCES submissions (id) ON DELETE CASCADE,
  ADD COLUMN feed_id uuid;
CREATE INDEX submissions_parent_idx ON submissions (parent_id) WHERE parent_id IS NOT NULL;

ALTER TABLE sources
  -- Hash of the normalised text: equal means an exact duplicate.
  ADD COLUMN text_fingerprint text,
  -- 64-bit SimHash and its four tagged 16-bit bands (any near duplicate shares a band).
  ADD COLUMN simhash bigint,
  ADD COLUMN simhash_bands integer[],
  ADD COLUMN duplicate_of uuid REFERENCES sources (id) ON DELETE SET NULL,
  ADD COLUMN duplicate_distance integer;
CREATE INDEX sources_fingerprint_idx ON sources (tenant_id, text_fingerprint) WHERE text_fingerprint IS NOT NULL AND duplicate_of IS NULL;
CREATE INDEX sources_simhash_bands_idx ON sources USING gin (simhash_bands) WHERE duplicate_of IS NULL;

ALTER TABLE posts
  -- Keywords and grouping of a post made from feed entries: its topic brief.
  ADD COLUMN topic_brief jsonb,
  ADD COLUMN duplicate_of_post uuid REFERENCES posts (id) ON DELETE SET NULL;

-- Entries a tenant has already seen (feed guid or link, sitemap URL with its lastmod), so a
-- second poll of the same feed adds nothing.
CREATE TABLE ingest_items (
  tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  item_key       text NOT NULL,
  lastmod        timestamptz,
  submission_id  uuid REFERENCES submissions (id) ON DELETE SET NULL,
  first_seen_at  timestamptz NOT NULL DEFAULT now(),
  last_seen_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, item_key)
);

-- Conditional GET validators per tenant and URL: an unchanged feed answers 304 and is not parsed.
CREATE TABLE fetch_validators (
  tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  url            text NOT NULL,
  etag           text,
  last_modified  text,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, url)
);

-- Feeds, sitemaps and sites registered for polling, each on its own cron schedule.
CREATE TABLE feeds (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  kind             text NOT NULL CHECK (kind IN ('feed', 'sitemap', 'site')),
  url              text NOT NULL,
  cron             text NOT NULL,
  timezone         text NOT NULL DEFAULT 'UTC',
  created_at       timestamptz NOT NULL DEFAULT now(),
  last_polled_at   timestamptz,
  last_outcome     text,
  last_error       text,
  UNIQUE (tenant_id, url)
);

-- One row per poll. The tick's job id is unique per feed, so a tick polled twice (a retried or
-- duplicated job) is refused by the database as well as by the scheduler.
CREATE TABLE feed_polls (
  id          bigserial PRIMARY KEY,
  feed_id     uuid NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
  tick        text NOT NULL,
  worker      text,
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  outcome     text,
  new_items   integer NOT NULL DEFAULT 0,
  error       text,
  UNIQUE (feed_id, tick)
);

-- Down Migration
-- Forward-only: restore from a backup instead of rolling back.
