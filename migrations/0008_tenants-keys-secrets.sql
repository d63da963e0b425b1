-- Up Migration

-- Operator tenants may manage other tenants through the admin API; the development tenant is one.
ALTER TABLE tenants ADD COLUMN operator boolean NOT NULL DEFAULT false;
UPDATE tenants SET operator = true WHERE slug = 'default';

-- API keys: the key itself is shown once at creation; only its SHA-256 is kept. The key id is the
-- public part of the key (bpk_<key_id>_<secret>), so a lookup needs no scan and no secret.
CREATE TABLE api_keys (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  key_id        text NOT NULL UNIQUE CHECK (key_id ~ '^[0-9a-f]{16}$'),
  key_hash      bytea NOT NULL,
  name          text NOT NULL,
  scopes        text[] NOT NULL CHECK (scopes <@ ARRAY['submit', 'read', 'admin']::text[] AND cardinality(scopes) > 0),
  -- The last four characters, so people can tell their keys apart.
  hint          text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at);

-- Tenant secrets (LLM keys, WordPress application passwords, outbound signing secrets) as
-- AES-256-GCM envelopes (src/security/envelope.ts). `key_id` names the master key that wrapped the
-- data key, so a rotation knows which rows are still under an old one.
CREATE TABLE tenant_secrets (
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
  key_id      text NOT NULL,
  envelope    bytea NOT NULL,
  hint        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);

-- Secrets that inbound Standard Webhooks deliveries are signed with. During a rotation the old
-- secret keeps working until its expires_at; the newest one never expires.
CREATE TABLE inbound_webhook_secrets (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  key_id      text NOT NULL,
  envelope    bytea NOT NULL,
  hint        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz
);
CREATE INDEX inbound_webhook_secrets_tenant_idx ON inbound_webhook_secrets (tenant_id, created_at);

-- Down Migration
-- Forward-only: restore from a backup instead of rolling back.
