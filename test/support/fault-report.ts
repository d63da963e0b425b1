import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import type { Db } from '../../src/db/pool.ts';

// The fault suite's report: for each fault, what was accepted and how it ended. Test files (in
// worker processes) append rows to a file named by the vitest config; the summary reporter prints
// them as one table at the end of the run.

export type FaultRow = {
  fault: string;
  accepted: number;
  published: number;
  failedWithReason: number;
  lost: number;
  duplicated: number;
};

export function recordFault(row: FaultRow): void {
  const file = process.env.BP_FAULT_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}

/**
 * Counts how the given accepted posts ended: published exactly once, failed with a reason, lost
 * (missing, or neither published nor failed-with-reason), duplicated (more than one publication
 * for one destination, or more than one completed publish run in one generation).
 */
export async function tallyPosts(
  db: Db,
  fault: string,
  postIds: string[],
  extra: { duplicatedIds?: Iterable<string> } = {},
): Promise<FaultRow> {
  const { rows } = await db.query<{
    id: string;
    status: string | null;
    reason: string | null;
    publications: number;
    dup_runs: number;
  }>(
    `SELECT ids.id, p.status, p.failure_reason AS reason,
            (SELECT count(*)::int FROM publications x WHERE x.post_id = ids.id AND x.status = 'published') AS
              publications,
            (SELECT count(*)::int FROM (SELECT 1 FROM publications x WHERE x.post_id = ids.id GROUP BY x.destination
              HAVING count(*) > 1) d) AS dup_runs
       FROM unnest($1::uuid[]) AS ids(id) LEFT JOIN posts p ON p.id = ids.id`,
    [postIds],
  );
  const row: FaultRow = { fault, accepted: postIds.length, published: 0, failedWithReason: 0, lost: 0, duplicated: 0 };
  // Duplicates seen at the destination itself (two deliveries accepted for one post, two files…).
  const seenTwice = new Set(extra.duplicatedIds ?? []);
  for (const r of rows) {
    if (r.status === 'published' && r.publications >= 1) row.published++;
    else if (r.status === 'failed' && r.reason) row.failedWithReason++;
    else row.lost++;
    if (r.dup_runs > 0 || seenTwice.has(r.id)) row.duplicated++;
  }
  recordFault(row);
  return row;
}

export function readFaultReport(file: string): FaultRow[] {
  if (!existsSync(file)) return [];
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FaultRow);
  rmSync(file, { force: true });
  return rows;
}
