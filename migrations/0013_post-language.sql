-- Up Migration

-- The language a post is written in, and how it was decided: {tag, name, supported, from, notes}. `from` is
-- `brief`, `sources` or `default`; `notes` say what the post went without (an unsupported language's rules, a
-- brief's language the offline writer could not follow).
ALTER TABLE posts ADD COLUMN language jsonb;

-- Down Migration
-- Forward-only: restore from a backup instead of rolling back.
