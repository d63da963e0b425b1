-- Up Migration

-- Whether a static site's index, feed and sitemap have been rebuilt since this publication last changed. A rebuild
-- is asked for through Redis; one lost there (Redis restarted empty) leaves rows unbuilt, which the scheduler's sweep
-- finds and asks for again. Rows already here are taken as built.
ALTER TABLE publications ADD COLUMN site_built boolean NOT NULL DEFAULT true;
ALTER TABLE publications ALTER COLUMN site_built SET DEFAULT false;
CREATE INDEX publications_site_unbuilt_idx ON publications (updated_at) WHERE kind = 'files' AND NOT site_built;

-- Down Migration

DROP INDEX publications_site_unbuilt_idx;
ALTER TABLE publications DROP COLUMN site_built;
