import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../db/pool.ts';
import { matchesSecret, secretDigest } from '../security/secret-digest.ts';

// Per-tenant API keys: `bpk_<key id>_<secret>`. The key is shown once, at creation; only its
// SHA-256 is stored. A key carries 256 random bits, so a fast hash is enough: nothing can be
// guessed from it, and a slow password hash would only slow every request down.

export const scopes = ['submit', 'read', 'admin'] as const;
export type Scope = (typeof scopes)[number];
export const scopeSchema = z.enum(scopes);
export const scopesSchema = z
  .array(scopeSchema)
  .min(1)
  .max(3)
  .transform((list) => [...new Set(list)]);

export const keyNameSchema = z.string().trim().min(1).max(100);

const keyPattern = /^bpk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export type ApiKeyView = {
  id: string;
  prefix: string;
  name: string;
  scopes: Scope[];
  hint: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
};

type Row = {
  id: string;
  key_id: string;
  name: string;
  scopes: Scope[];
  hint: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
};
const columns = 'id, key_id, name, scopes, hint, created_at, last_used_at, revoked_at';

export function apiKeyView(r: Row): ApiKeyView {
  return {
    id: r.id,
    prefix: `bpk_${r.key_id}`,
    name: r.name,
    scopes: r.scopes,
    hint: r.hint,
    createdAt: r.created_at.toISOString(),
    lastUsedAt: r.last_used_at?.toISOString() ?? null,
    revokedAt: r.revoked_at?.toISOString() ?? null,
  };
}

/** Creates a key; the returned `key` is the only time its secret exists outside the caller. */
export async function createApiKey(
  db: Db,
  input: { tenantId: string; name: string; scopes: Scope[] },
): Promise<ApiKeyView & { key: string }> {
  const keyId = randomBytes(8).toString('hex');
  const key = `bpk_${keyId}_${randomBytes(32).toString('base64url')}`;
  const { rows } = await db.query<Row>(
    `INSERT INTO api_keys (tenant_id, key_id, key_hash, name, scopes, hint) ` +
      `VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${columns}`,
    [input.tenantId, keyId, secretDigest(key), input.name, input.scopes, key.slice(-4)],
  );
  cacheOf(db).delete(keyId);
  return { ...apiKeyView(rows[0]!), key };
}

export async function listApiKeys(db: Db, tenantId: string): Promise<ApiKeyView[]> {
  const { rows } = await db.query<Row>(`SELECT ${columns} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id`, [
    tenantId,
  ]);
  return rows.map(apiKeyView);
}

/** Revokes a tenant's key (by its id or its `bpk_<key id>` prefix); null when the tenant has no such key. */
export async function revokeApiKey(db: Db, tenantId: string | null, idOrPrefix: string): Promise<ApiKeyView | null> {
  const byPrefix = /^bpk_([0-9a-f]{16})$/.exec(idOrPrefix)?.[1];
  if (!byPrefix && !z.uuid().safeParse(idOrPrefix).success) return null;
  const { rows } = await db.query<Row>(
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
      WHERE ${byPrefix ? 'key_id = $1' : 'id = $1'} AND ($2::uuid IS NULL OR tenant_id = $2) RETURNING ${columns}`,
    [byPrefix ?? idOrPrefix, tenantId],
  );
  if (rows[0]) cacheOf(db).delete(rows[0].key_id);
  return rows[0] ? apiKeyView(rows[0]) : null;
}

export type KeyCheck =
  | { ok: true; id: string; keyId: string; tenantId: string; scopes: Scope[] }
  | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' };

type KeyRow = {
  id: string;
  tenant_id: string;
  key_hash: Buffer;
  scopes: Scope[];
  revoked_at: Date | null;
  last_used_at: Date | null;
};

/**
 * How long a process answers from what it last read of a key instead of reading it again for every request. A key
 * revoked through this process is refused at once; one revoked by another process (the CLI, another API process)
 * within this time.
 */
export const KEY_CACHE_MS = 5_000;
/** Keys read per process before the cache starts over: a flood of made-up key ids must not grow it. */
const KEY_CACHE_MAX = 10_000;

/** Per database, by key id: the row read (null: no such key), shared by the requests that asked meanwhile. */
const keyCaches = new WeakMap<Db, Map<string, { at: number; row: Promise<KeyRow | null> }>>();

function cacheOf(db: Db): Map<string, { at: number; row: Promise<KeyRow | null> }> {
  const known = keyCaches.get(db);
  if (known) return known;
  const cache = new Map<string, { at: number; row: Promise<KeyRow | null> }>();
  keyCaches.set(db, cache);
  return cache;
}

function readKey(db: Db, keyId: string): Promise<KeyRow | null> {
  const cache = cacheOf(db);
  const hit = cache.get(keyId);
  if (hit && Date.now() - hit.at < KEY_CACHE_MS) return hit.row;
  if (cache.size >= KEY_CACHE_MAX) cache.clear();
  const row = db
    .query<KeyRow>('SELECT id, tenant_id, key_hash, scopes, revoked_at, last_used_at FROM api_keys WHERE key_id = $1', [
      keyId,
    ])
    .then((r) => r.rows[0] ?? null);
  const entry = { at: Date.now(), row };
  cache.set(keyId, entry);
  // A failed read is not remembered: the next request reads again.
  row.catch(() => {
    if (cache.get(keyId) === entry) cache.delete(keyId);
  });
  return row;
}

/**
 * Checks a presented key. Malformed keys are refused without touching the database, and a key read within
 * KEY_CACHE_MS is checked against what was read then: its secret is compared with the stored hash every time.
 */
export async function verifyApiKey(db: Db, presented: string): Promise<KeyCheck> {
  const match = keyPattern.exec(presented);
  if (!match) return { ok: false, reason: 'malformed' };
  const row = await readKey(db, match[1]!);
  if (!row || !matchesSecret(presented, row.key_hash)) return { ok: false, reason: 'unknown' };
  if (row.revoked_at) return { ok: false, reason: 'revoked' };
  // Recorded at most once a minute per key, so a busy key does not write on every request.
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
    row.last_used_at = new Date();
    await db.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [row.id]);
  }
  return { ok: true, id: row.id, keyId: match[1]!, tenantId: row.tenant_id, scopes: row.scopes };
}
