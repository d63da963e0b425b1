-- Up Migration

-- Every model call, cached answers included (cost 0): the post's cost is the sum of its rows and a
-- tenant's month spend the sum of its rows since the first of the month (UTC).
CREATE TABLE llm_calls (
  id                 bigserial PRIMARY KEY,
  tenant_id          uuid NOT NULL REFERENCES tenants (id),
  -- Kept when a post is deleted: the money was spent all the same.
  post_id            uuid REFERENCES posts (id) ON DELETE SET NULL,
  provider           text NOT NULL,
  model              text NOT NULL,
  step               text NOT NULL,
  prompt_tokens      integer NOT NULL DEFAULT 0,
  completion_tokens  integer NOT NULL DEFAULT 0,
  cost_usd           numeric(14, 8) NOT NULL DEFAULT 0,
  cached             boolean NOT NULL DEFAULT false,
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX llm_calls_tenant_created_idx ON llm_calls (tenant_id, created_at);
CREATE INDEX llm_calls_post_idx ON llm_calls (post_id);

-- What generate adds to a post besides its text: SEO fields, the lint report and the grounding verdict.
ALTER TABLE posts
  ADD COLUMN meta_title text,
  ADD COLUMN category text,
  ADD COLUMN reading_time_minutes integer,
  ADD COLUMN json_ld jsonb,
  ADD COLUMN hero_image jsonb,
  ADD COLUMN seo_score integer CHECK (seo_score BETWEEN 0 AND 100),
  ADD COLUMN seo_report jsonb,
  ADD COLUMN grounding jsonb;

-- Down Migration
-- Forward-only: restore from a backup instead of rolling back.
