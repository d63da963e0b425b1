import type pg from 'pg';
import { z } from 'zod';
import { now as clockNow } from '../clock.ts';
import type { Db } from '../db/pool.ts';

// Cadence of a destination: at most `maxPerDay` posts a local day, inside a publishing window of the
// destination's time zone, at least `minGapMinutes` apart. A post without a time of its own is given
// the earliest slot every one of its destinations allows; the slot is its publishAt, so it waits as
// `scheduled` in the delayed job every scheduled post waits in (./schedule.ts).

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time HH:MM (24-hour)');

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const cadenceSchema = z
  .object({
    maxPerDay: z.number().int().min(1).max(1000),
    /** IANA time zone the day and the window are counted in. */
    timeZone: z.string().max(100).refine(isTimeZone, 'must be an IANA time zone, e.g. Europe/Berlin').default('UTC'),
    /** Publishing window, local time; without it, the whole day. */
    window: z
      .object({ start: hhmm, end: hhmm })
      .strict()
      .refine((w) => w.start < w.end, { message: 'must end after it starts (same day)', path: ['end'] })
      .optional(),
    minGapMinutes: z.number().min(0).max(1440).default(0),
  })
  .strict();
export type Cadence = z.infer<typeof cadenceSchema>;

const DAY_MS = 86_400_000;
const formats = new Map<string, Intl.DateTimeFormat>();

function localParts(t: number, timeZone: string) {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { y: p.year!, m: p.month!, d: p.day!, h: p.hour!, mi: p.minute!, s: p.second! };
}

/** The instant of a local wall-clock time in `timeZone` (a time skipped by a DST change lands just after it). */
export function zonedTime(y: number, m: number, d: number, h: number, mi: number, timeZone: string): number {
  const wall = Date.UTC(y, m - 1, d, h, mi);
  const offsetAt = (t: number) => {
    const p = localParts(t, timeZone);
    return Date.UTC(p.y, p.m - 1, p.d, p.h, p.mi, p.s) - Math.floor(t / 1000) * 1000;
  };
  let t = wall - offsetAt(wall);
  const second = offsetAt(t);
  if (wall - second !== t) t = wall - second;
  return t;
}

function localDay(t: number, timeZone: string) {
  const { y, m, d } = localParts(t, timeZone);
  const next = new Date(Date.UTC(y, m - 1, d + 1));
  return {
    start: zonedTime(y, m, d, 0, 0, timeZone),
    end: zonedTime(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 0, 0, timeZone),
    at: (hm: string) => zonedTime(y, m, d, Number(hm.slice(0, 2)), Number(hm.slice(3, 5)), timeZone),
  };
}

/** The earliest time at or after `from` that `cadence` allows, given the destination's other slots (`busy`). */
export function nextSlot(cadence: Cadence, busy: readonly number[], from: number): number {
  const gapMs = Math.round(cadence.minGapMinutes * 60_000);
  let c = from;
  for (let i = 0; i < 100_000; i++) {
    const day = localDay(c, cadence.timeZone);
    const open = cadence.window ? day.at(cadence.window.start) : day.start;
    const close = cadence.window ? day.at(cadence.window.end) : day.end;
    if (c < open) c = open;
    if (c >= close || busy.filter((b) => b >= day.start && b < day.end).length >= cadence.maxPerDay) {
      c = day.end;
      continue;
    }
    const clashes = busy.filter((b) => Math.abs(b - c) < gapMs);
    if (clashes.length > 0) {
      c = Math.max(...clashes) + gapMs;
      continue;
    }
    return c;
  }
  throw new Error('no publishing slot found within the cadence');
}

/** The earliest time every destination's cadence allows (each moves it later until none does). */
export function nextCommonSlot(plans: { cadence: Cadence; busy: readonly number[] }[], from: number): number {
  let c = from;
  for (let round = 0; round < 1000; round++) {
    let moved = false;
    for (const p of plans) {
      const n = nextSlot(p.cadence, p.busy, c);
      if (n !== c) {
        c = n;
        moved = true;
      }
    }
    if (!moved) return c;
  }
  throw new Error('no publishing slot satisfies every destination');
}

type Client = Pick<pg.PoolClient, 'query'>;
export type CadenceTarget = { destinationId: string | null; config: { cadence?: Cadence | undefined } };

async function lockTenant(client: Client, tenantId: string) {
  await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`blog-poster:cadence:${tenantId}`]);
}

/** Slots of a destination from three days back on (enough for any time zone's today), other posts' only. */
async function busySlots(client: Client, destinationId: string, postId: string, from: number): Promise<number[]> {
  const { rows } = await client.query<{ at: Date }>(
    `SELECT cs.slot_at AS at FROM cadence_slots cs LEFT JOIN post_publishing pp ON pp.post_id = cs.post_id
      WHERE cs.destination_id = $1 AND cs.post_id <> $2 AND cs.slot_at >= $3 AND pp.stopped IS NULL
     UNION ALL
     SELECT pub.published_at FROM publications pub
      WHERE pub.destination_id = $1 AND pub.post_id <> $2 AND pub.status = 'published' AND pub.published_at >= $3
        AND NOT EXISTS (SELECT 1 FROM cadence_slots cs WHERE cs.destination_id = $1 AND cs.post_id = pub.post_id)`,
    [destinationId, postId, new Date(from - 3 * DAY_MS)],
  );
  return rows.map((r) => r.at.getTime());
}

function cadenced(targets: readonly CadenceTarget[]) {
  return targets.flatMap((t) =>
    t.destinationId && t.config.cadence ? [{ id: t.destinationId, cadence: t.config.cadence }] : [],
  );
}

async function planInTx(client: Client, postId: string, targets: readonly CadenceTarget[], now: number) {
  const dests = cadenced(targets);
  const plans = await Promise.all(
    dests.map(async (d) => ({ cadence: d.cadence, busy: await busySlots(client, d.id, postId, now) })),
  );
  const at = new Date(nextCommonSlot(plans, Math.ceil(now / 1000) * 1000));
  await client.query(`DELETE FROM cadence_slots WHERE post_id = $1`, [postId]);
  for (const d of dests)
    await client.query(`INSERT INTO cadence_slots (destination_id, post_id, slot_at) VALUES ($1, $2, $3)`, [
      d.id,
      postId,
      at,
    ]);
  const { rows } = await client.query<{ revision: number }>(
    `INSERT INTO post_publishing (post_id, publish_at, revision, planned) VALUES ($1, $2, 1, true)
     ON CONFLICT (post_id) DO UPDATE SET publish_at = $2, revision = post_publishing.revision + 1, planned = true,
       updated_at = now()
     RETURNING revision`,
    [postId, at],
  );
  return { publishAt: at, revision: rows[0]!.revision };
}

/**
 * Plans a post that has no time of its own and goes to at least one destination with a cadence: its
 * slot and publishAt are written in one transaction, so a retry (or a restart) finds the plan and keeps it.
 * Null when no destination has a cadence.
 */
export async function planPost(
  db: Db,
  post: { id: string; tenantId: string },
  targets: readonly CadenceTarget[],
): Promise<{ publishAt: Date; revision: number } | null> {
  if (cadenced(targets).length === 0) return null;
  return db.tx(async (client) => {
    await lockTenant(client, post.tenantId);
    const { rows } = await client.query<{ publish_at: Date | null; revision: number }>(
      `SELECT publish_at, revision FROM post_publishing WHERE post_id = $1`,
      [post.id],
    );
    if (rows[0]?.publish_at) return { publishAt: rows[0].publish_at, revision: rows[0].revision };
    return planInTx(client, post.id, targets, clockNow());
  });
}

/**
 * A post with a time of its own (its submission's or an operator's) going to destinations with a cadence: it holds
 * its place in their counts at that time, so posts planned after it do not take its day. Its time is kept as asked,
 * whatever the cadence says.
 */
export async function holdOwnSlots(
  db: Db,
  post: { id: string; tenantId: string; publishAt: Date },
  targets: readonly CadenceTarget[],
): Promise<void> {
  const dests = cadenced(targets);
  if (dests.length === 0) return;
  await db.tx(async (client) => {
    await lockTenant(client, post.tenantId);
    await client.query(
      `INSERT INTO cadence_slots (destination_id, post_id, slot_at) SELECT d, $2, $3 FROM unnest($1::uuid[]) AS d
       ON CONFLICT (destination_id, post_id) DO UPDATE SET slot_at = EXCLUDED.slot_at`,
      [dests.map((d) => d.id), post.id, post.publishAt],
    );
  });
}

/**
 * After a change of a destination's cadence: the posts it planned that are still ahead are planned
 * again, in their old order, from now. Returns each moved post with its new time and revision; the
 * caller moves their delayed jobs. Posts given a time by their submission or an operator keep it.
 */
export async function replanDestination(
  db: Db,
  tenantId: string,
  destinationId: string,
  targetsOf: (client: Client, postId: string) => Promise<CadenceTarget[]>,
): Promise<{ postId: string; publishAt: Date; revision: number }[]> {
  return db.tx(async (client) => {
    await lockTenant(client, tenantId);
    const now = clockNow();
    const { rows } = await client.query<{ post_id: string }>(
      `SELECT cs.post_id FROM cadence_slots cs
         JOIN posts p ON p.id = cs.post_id JOIN post_publishing pp ON pp.post_id = cs.post_id
        WHERE cs.destination_id = $1 AND p.tenant_id = $2 AND pp.planned AND pp.stopped IS NULL
          AND cs.slot_at > $3 AND p.status NOT IN ('published', 'publishing')
        ORDER BY cs.slot_at, cs.post_id`,
      [destinationId, tenantId, new Date(now)],
    );
    const ids = rows.map((r) => r.post_id);
    await client.query(`DELETE FROM cadence_slots WHERE destination_id = $1 AND post_id = ANY($2::uuid[])`, [
      destinationId,
      ids,
    ]);
    const moved = [];
    for (const postId of ids) {
      const targets = await targetsOf(client, postId);
      if (cadenced(targets).length === 0) {
        // No cadence left: due now.
        await client.query(`DELETE FROM cadence_slots WHERE post_id = $1`, [postId]);
        const { rows: r } = await client.query<{ revision: number }>(
          `UPDATE post_publishing SET publish_at = $2, revision = revision + 1, updated_at ` +
            `= now() WHERE post_id = $1 RETURNING revision`,
          [postId, new Date(now)],
        );
        moved.push({ postId, publishAt: new Date(now), revision: r[0]!.revision });
        continue;
      }
      moved.push({ postId, ...(await planInTx(client, postId, targets, now)) });
    }
    return moved;
  });
}

/**
 * An operator's reschedule: the post keeps its place in the destinations' counts, at its new time, and is no longer
 * re-planned.
 */
export async function pinSlot(client: Client, postId: string, publishAt: Date): Promise<void> {
  await client.query(`UPDATE cadence_slots SET slot_at = $2 WHERE post_id = $1`, [postId, publishAt]);
}
