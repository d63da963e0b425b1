-- Up Migration

-- What a fetched page says about its article, in columns so that later stages (publishing's featured image, a
-- citation's author and date) can use it without digging in the metadata document.
ALTER TABLE sources
  ADD COLUMN author        text,
  ADD COLUMN published_at  timestamptz,
  ADD COLUMN modified_at   timestamptz,
  ADD COLUMN canonical_url text,
  ADD COLUMN lang          text,
  ADD COLUMN site_name     text,
  -- The article's lead image, made absolute: {"url": …, "alt": …, "caption": …}. The featured-image candidate.
  ADD COLUMN lead_image    jsonb;

-- Down Migration
-- Forward-only: restore from a backup instead of rolling back.
