-- Up Migration

-- The meta title is the page's published <title>, and an editor may fix it: each revision keeps the one it had.
-- Revisions made before this keep none (NULL).
ALTER TABLE post_revisions ADD COLUMN meta_title text;

-- Down Migration

ALTER TABLE post_revisions DROP COLUMN meta_title;
