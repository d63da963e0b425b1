-- Up Migration

-- Every draft of a post, numbered from 1: what the writer produced (each generate run) and each
-- editor's edit. The post row holds the latest one, which is what publishes; the SEO lint and the
-- grounding verdict are kept with each revision as they were when it was made.
CREATE TABLE post_revisions (
  post_id           uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  revision          integer NOT NULL CHECK (revision > 0),
  tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  origin            text NOT NULL CHECK (origin IN ('generate', 'edit')),
  -- The writer (`provider/model`) for generated drafts; the API key id, `dev` or `operator` for edits.
  author            text NOT NULL,
  title             text NOT NULL,
  meta_description  text NOT NULL,
  markdown          text NOT NULL,
  tags              text[] NOT NULL DEFAULT '{}',
  word_count        integer,
  seo_score         integer,
  seo_report        jsonb,
  grounding         jsonb,
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (post_id, revision)
);

-- Posts written before revisions were kept start with their current draft as revision 1.
INSERT INTO post_revisions (post_id, revision, tenant_id, origin, author, title, meta_description, markdown, tags,
                            word_count, seo_score, seo_report, grounding, created_at)
SELECT id, 1, tenant_id, 'generate', COALESCE(writer, 'writer'), title, COALESCE(meta_description, ''), markdown, tags,
       word_count, seo_score, seo_report, grounding, updated_at
  FROM posts WHERE markdown IS NOT NULL AND title IS NOT NULL;

-- The editorial list pages through a tenant's posts newest first, with the id breaking ties; and, in
-- `order=held`, the posts waiting for a person first (the expression is src/posts/list.ts's HELD_SQL).
CREATE INDEX posts_tenant_created_idx ON posts (tenant_id, created_at DESC, id DESC);
CREATE INDEX posts_tenant_held_created_idx ON posts
  (tenant_id, (status = ANY ('{awaiting_approval,needs_review,duplicate_of,duplicate,skipped}'::text[])), created_at, id);

-- Down Migration
-- Forward-only: restore from a backup instead of rolling back.
