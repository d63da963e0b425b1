-- Up Migration

-- Cadence: a destination's config may cap its posts a day, keep them in a window of its time zone and
-- apart by a minimum gap. Each post planned for such a destination holds a slot here (kept after it is
-- published, so today's count includes it); the planner takes the tenant's advisory lock, so two posts
-- never get one slot.
CREATE TABLE cadence_slots (
  destination_id  uuid NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
  post_id         uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  slot_at         timestamptz NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (destination_id, post_id)
);
CREATE INDEX cadence_slots_destination_time_idx ON cadence_slots (destination_id, slot_at);
CREATE INDEX cadence_slots_post_idx ON cadence_slots (post_id);

-- Whether publish_at was chosen by the cadence planner (a change of cadence re-plans it) rather than
-- asked for by the submission or an operator's reschedule (kept as asked).
ALTER TABLE post_publishing ADD COLUMN planned boolean NOT NULL DEFAULT false;

-- Search-engine notification (IndexNow): one row per published URL and destination, sent in batches
-- per destination and host after publication; failures are retried and recorded, never the post's.
CREATE TABLE indexnow_pings (
  id              bigserial PRIMARY KEY,
  tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  destination_id  uuid NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
  post_id         uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  generation      integer NOT NULL,
  url             text NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  sent_at         timestamptz,
  UNIQUE (destination_id, post_id, generation)
);
CREATE INDEX indexnow_pings_pending_idx ON indexnow_pings (destination_id) WHERE status = 'pending';

-- Down Migration
-- Forward-only: restore from a backup instead of rolling back.
