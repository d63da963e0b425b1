-- Up Migration

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE tenants (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]+$'),
  name        text NOT NULL,
  settings    jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- The tenant the development key belongs to until per-tenant keys exist.
INSERT INTO tenants (slug, name) VALUES ('default', 'Default tenant');

CREATE TABLE submissions (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id        uuid NOT NULL REFERENCES tenants (id),
  idempotency_key  text,
  -- Hash of the accepted body, so a reused Idempotency-Key with a different body is refused.
  request_hash     text NOT NULL,
  correlation_id   text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, idempotency_key)
);

CREATE TABLE sources (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  submission_id  uuid NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
  kind           text NOT NULL CHECK (kind IN ('text', 'markdown', 'url')),
  url            text,
  title          text,
  -- What the submitter sent (text kinds) ...
  input_text     text,
  -- ... and what ingest made of it: Markdown-ish plain text, never HTML.
  content        text,
  content_hash   text,
  metadata       jsonb NOT NULL DEFAULT '{}',
  fetched_at     timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sources_submission_idx ON sources (submission_id);

CREATE TABLE posts (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id         uuid NOT NULL REFERENCES tenants (id),
  submission_id     uuid NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
  status            text NOT NULL DEFAULT 'queued' CHECK (status IN
                      ('queued', 'ingesting', 'generating', 'embedding', 'indexing', 'publishing', 'published', 'failed')),
  title             text,
  slug              text,
  markdown          text,
  html              text,
  meta_description  text,
  tags              text[] NOT NULL DEFAULT '{}',
  citations         jsonb NOT NULL DEFAULT '[]',
  word_count        integer,
  writer            text,
  failed_stage      text,
  failure_reason    text,
  correlation_id    text NOT NULL,
  published_at      timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, slug)
);
CREATE INDEX posts_submission_idx ON posts (submission_id);
-- The scheduler looks for posts that were accepted but never reached a queue.
CREATE INDEX posts_queued_idx ON posts (created_at) WHERE status = 'queued';

CREATE TABLE stage_runs (
  id           bigserial PRIMARY KEY,
  post_id      uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  stage        text NOT NULL CHECK (stage IN ('ingest', 'generate', 'embed', 'index', 'publish')),
  attempt      integer NOT NULL,
  job_id       text,
  worker       text,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  -- running → completed | retrying (transient error, BullMQ retries) | failed (permanent or out of attempts)
  -- | abandoned (the process died mid-run; a later attempt took over)
  outcome      text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'completed', 'retrying', 'failed', 'abandoned')),
  error        text
);
CREATE INDEX stage_runs_post_idx ON stage_runs (post_id, started_at);

-- Embeddings are cached by model and text hash: unchanged text is never embedded twice.
CREATE TABLE embedding_cache (
  model         text NOT NULL,
  content_hash  text NOT NULL,
  dimension     integer NOT NULL,
  embedding     vector NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, content_hash)
);

CREATE TABLE post_chunks (
  post_id          uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  position         integer NOT NULL,
  tenant_id        uuid NOT NULL REFERENCES tenants (id),
  heading          text,
  content          text NOT NULL,
  token_count      integer NOT NULL,
  content_hash     text NOT NULL,
  -- Set by the index stage. The column has no fixed dimension so a new embedding model does not
  -- break old rows; each model gets its own partial HNSW index with the dimension cast.
  embedding_model  text,
  embedding        vector,
  PRIMARY KEY (post_id, position)
);
CREATE INDEX post_chunks_tenant_idx ON post_chunks (tenant_id, embedding_model);

CREATE TABLE publications (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  post_id       uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  destination   text NOT NULL,
  external_id   text NOT NULL,
  location      text NOT NULL,
  url           text,
  details       jsonb NOT NULL DEFAULT '{}',
  published_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (post_id, destination)
);

-- Down Migration
-- Forward-only: restore from a backup instead of rolling back.
