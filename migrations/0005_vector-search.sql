-- Up Migration

-- Internal-link suggestions made by the index stage: the related published posts of the same
-- tenant, best first. Replaced on every index run; `linked` says whether the post's body got them.
CREATE TABLE post_links (
  post_id          uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  related_post_id  uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  rank             integer NOT NULL,
  score            real NOT NULL,
  embedding_model  text NOT NULL,
  linked           boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (post_id, related_post_id)
);
CREATE INDEX post_links_related_idx ON post_links (related_post_id);

-- Progress of `blog-poster reindex`, so an interrupted rebuild continues where it stopped.
-- One row per tenant, index backend and embedding model.
CREATE TABLE reindex_runs (
  tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  vector_index     text NOT NULL,
  embedding_model  text NOT NULL,
  -- Posts are visited in id order; the last one finished is the resume point.
  last_post_id     uuid,
  posts_done       integer NOT NULL DEFAULT 0,
  posts_total      integer NOT NULL DEFAULT 0,
  chunks_indexed   integer NOT NULL DEFAULT 0,
  started_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  PRIMARY KEY (tenant_id, vector_index, embedding_model)
);

-- The duplicate guard and related posts only consider a tenant's published posts.
CREATE INDEX posts_tenant_status_idx ON posts (tenant_id, status);

-- Down Migration
-- Forward-only: restore from a backup instead of rolling back.
