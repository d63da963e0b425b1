import type { Db } from '../db/pool.ts';
import { exactFingerprint, hammingDistance, simhash64, simhashBands } from './fingerprint.ts';

// Duplicate detection per tenant. A source's fingerprints are recorded when it is ingested; if an
// earlier source of another submission of the same tenant has the same normalised text (exact) or
// a SimHash within the configured distance (near), this one is a duplicate of it. A per-tenant
// advisory lock makes "who was first" well defined when two copies are ingested at once.

export type DedupMode = 'near' | 'exact' | 'off';
export type DuplicateMatch = { sourceId: string; postId: string; match: 'exact' | 'near'; distance: number };

/** Posts in these states do not count as originals: submitting their source again is a fresh try. */
const NOT_ORIGINAL = ['failed', 'cancelled', 'rejected'];

/** A text's fingerprints, as the sources table keeps them. */
export type SourceFingerprints = { fingerprint: string; simhash: bigint; bands: number[] };

export function fingerprintsOf(text: string): SourceFingerprints {
  const simhash = simhash64(text);
  return { fingerprint: exactFingerprint(text), simhash, bands: simhashBands(simhash) };
}

/**
 * The assignments that record a source's fingerprints (and clear what an earlier check found), for another UPDATE of
 * the source, its values appended to `params`: with dedup off, nothing else is needed.
 */
export function fingerprintsSet(f: SourceFingerprints, params: unknown[]): string {
  const n = params.push(f.fingerprint, f.simhash.toString(), f.bands);
  return `, text_fingerprint = $${n - 2}, simhash = $${n - 1}::bigint, simhash_bands = $${n}, duplicate_of = NULL,
            duplicate_distance = NULL`;
}

export async function fingerprintSource(
  db: Db,
  input: {
    tenantId: string;
    sourceId: string;
    submissionId: string;
    text: string;
    mode: DedupMode;
    maxDistance: number;
  },
): Promise<DuplicateMatch | null> {
  const fingerprint = exactFingerprint(input.text);
  const simhash = simhash64(input.text);
  const bands = simhashBands(simhash);
  return db.tx(async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('dedup:' || $1::text))`, [input.tenantId]);
    await client.query(
      `UPDATE sources SET text_fingerprint = $2, simhash = $3::bigint, simhash_bands ` +
        `= $4, duplicate_of = NULL, duplicate_distance = NULL WHERE id = $1`,
      [input.sourceId, fingerprint, simhash.toString(), bands],
    );
    if (input.mode === 'off') return null;

    let match: DuplicateMatch | null = null;
    const exact = await client.query<{ id: string; post_id: string }>(
      `SELECT s.id, p.id AS post_id FROM sources s JOIN posts p ON p.submission_id = s.submission_id
        WHERE s.tenant_id = $1 AND s.text_fingerprint = $2 AND s.duplicate_of IS NULL AND s.submission_id <> $3
          AND p.status <> ALL($4::text[])
        ORDER BY s.fetched_at NULLS LAST, s.created_at LIMIT 1`,
      [input.tenantId, fingerprint, input.submissionId, NOT_ORIGINAL],
    );
    if (exact.rows[0])
      match = { sourceId: exact.rows[0].id, postId: exact.rows[0].post_id, match: 'exact', distance: 0 };

    if (!match && input.mode === 'near' && input.maxDistance > 0) {
      const candidates = await client.query<{ id: string; post_id: string; simhash: string }>(
        `SELECT s.id, p.id AS post_id, s.simhash::text AS simhash FROM sources s JOIN posts p ON p.submission_id =
           s.submission_id
          WHERE s.tenant_id = $1 AND s.simhash_bands && $2::int[] AND s.duplicate_of IS NULL AND s.submission_id <> $3
            AND p.status <> ALL($4::text[])
          ORDER BY s.fetched_at NULLS LAST, s.created_at LIMIT 500`,
        [input.tenantId, bands, input.submissionId, NOT_ORIGINAL],
      );
      for (const row of candidates.rows) {
        const distance = hammingDistance(simhash, BigInt(row.simhash));
        if (distance <= input.maxDistance && (!match || distance < match.distance)) {
          match = { sourceId: row.id, postId: row.post_id, match: 'near', distance };
        }
      }
    }
    if (match) {
      await client.query(`UPDATE sources SET duplicate_of = $2, duplicate_distance = $3 WHERE id = $1`, [
        input.sourceId,
        match.sourceId,
        match.distance,
      ]);
    }
    return match;
  });
}
