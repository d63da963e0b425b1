-- Up Migration

-- Where a tenant's posts go. Secrets are never stored here: a destination's config names the
-- environment variable (BP_SECRET_*) that holds its password or signing secret.
CREATE TABLE destinations (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name        text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('files', 'wordpress', 'webhook')),
  config      jsonb NOT NULL DEFAULT '{}',
  -- The tenant's defaults are used by submissions that name no destinations.
  is_default  boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  -- Deleted destinations are kept so the publications that point at them stay readable.
  deleted_at  timestamptz
);
CREATE UNIQUE INDEX destinations_tenant_name_idx ON destinations (tenant_id, lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX destinations_tenant_default_idx ON destinations (tenant_id) WHERE is_default AND deleted_at IS NULL;

-- One row per post and destination (the existing UNIQUE (post_id, destination)); `destination` is the
-- destination's id, or `files` for the built-in static site. A row is `pending` until the destination
-- answered and the answer was committed; a retry skips rows already published in its run generation.
ALTER TABLE publications
  ADD COLUMN destination_id uuid REFERENCES destinations (id),
  ADD COLUMN kind text NOT NULL DEFAULT 'files',
  ADD COLUMN status text NOT NULL DEFAULT 'published' CHECK (status IN ('pending', 'published', 'failed')),
  ADD COLUMN generation integer NOT NULL DEFAULT 0,
  ADD COLUMN attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN last_error text,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
  ALTER COLUMN location DROP NOT NULL;

-- A post's publishing plan beyond what its submission asked for: a rescheduled time, and whether an
-- operator stopped it (cancelled or rejected). Stage runs rewrite posts.status, so the stop is kept here.
CREATE TABLE post_publishing (
  post_id           uuid PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
  publish_at        timestamptz,
  -- Bumped on every reschedule so the new delayed job gets a new id.
  revision          integer NOT NULL DEFAULT 0,
  scheduled_job_id  text,
  stopped           text CHECK (stopped IN ('cancelled', 'rejected')),
  stop_reason       text,
  updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Outbox of the tenant's signed callbacks. A trigger on posts.status fills it in the same transaction
-- as the change, whichever stage made it; the worker role delivers it with retries. The webhook-id is
-- derived from the row id, so every retry of one event carries the same id.
CREATE TABLE notifications (
  id               bigserial PRIMARY KEY,
  tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  post_id          uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  event            text NOT NULL,
  generation       integer NOT NULL,
  -- Frozen at the first delivery attempt so every retry sends the same body.
  payload          jsonb,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz,
  UNIQUE (post_id, event, generation)
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE status = 'pending';

CREATE FUNCTION blog_poster_post_status_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IN ('published', 'failed', 'needs_review', 'awaiting_approval')
     AND NEW.status IS DISTINCT FROM OLD.status
     AND EXISTS (SELECT 1 FROM tenants t WHERE t.id = NEW.tenant_id AND coalesce(t.settings #>> '{notifications,url}', '') <> '') THEN
    INSERT INTO notifications (tenant_id, post_id, event, generation)
    VALUES (NEW.tenant_id, NEW.id, 'post.' || NEW.status, NEW.run_generation)
    ON CONFLICT (post_id, event, generation) DO NOTHING;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER posts_status_event AFTER UPDATE OF status ON posts
  FOR EACH ROW EXECUTE FUNCTION blog_poster_post_status_event();

-- Down Migration
-- Forward-only: restore from a backup instead of rolling back.
