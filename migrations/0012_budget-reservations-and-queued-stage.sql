-- Up Migration

-- The worst case of a model call in flight, reserved against the tenant's budget before the call and
-- replaced by the call's actual cost (an llm_calls row) after it, in one statement. Spend is the calls
-- plus the live reservations, so concurrent calls of one tenant cannot pass the budget together. A
-- reservation left by a process that died expires (see src/llm/budget.ts).
CREATE TABLE llm_reservations (
  id          bigserial PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  post_id     uuid REFERENCES posts (id) ON DELETE CASCADE,
  amount_usd  numeric(14, 8) NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX llm_reservations_tenant_idx ON llm_reservations (tenant_id, created_at);
CREATE INDEX llm_reservations_post_idx ON llm_reservations (post_id);

-- The stage a queued post waits for (a resumed or replayed post starts at any stage), so the stranded
-- sweep can enqueue it again when its job is gone; NULL means ingest.
ALTER TABLE posts ADD COLUMN queued_stage text;

-- Down Migration
-- Forward-only: restore from a backup instead of rolling back.
