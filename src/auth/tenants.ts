import { z } from 'zod';
import type { Db } from '../db/pool.ts';
import { tenantSettingsSchema, type TenantSettings } from '../tenant-settings.ts';

// Tenants: each has its own keys, secrets, settings (budget, defaults, policy, limits) and posts.

export const tenantSlugSchema = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'lower-case letters, digits and single dashes')
  .max(60);
export const tenantNameSchema = z.string().trim().min(1).max(200);

export class TenantConflictError extends Error {}

export type Tenant = {
  id: string;
  slug: string;
  name: string;
  operator: boolean;
  settings: TenantSettings;
  createdAt: Date;
};

type Row = { id: string; slug: string; name: string; operator: boolean; settings: unknown; created_at: Date };
const columns = 'id, slug, name, operator, settings, created_at';

function fromRow(r: Row): Tenant {
  // An old or hand-edited row still reads: every settings field has a default.
  const settings = tenantSettingsSchema.safeParse(r.settings ?? {});
  return {
    id: r.id,
    slug: r.slug,
    name: r.name,
    operator: r.operator,
    settings: settings.success ? settings.data : tenantSettingsSchema.parse({}),
    createdAt: r.created_at,
  };
}

export function tenantView(t: Tenant) {
  return {
    id: t.id,
    slug: t.slug,
    name: t.name,
    operator: t.operator,
    settings: t.settings,
    createdAt: t.createdAt.toISOString(),
  };
}

export async function createTenant(
  db: Db,
  input: { slug: string; name: string; settings?: unknown; operator?: boolean },
): Promise<Tenant> {
  try {
    const { rows } = await db.query<Row>(
      `INSERT INTO tenants (slug, name, settings, operator) VALUES ($1, $2, $3, $4) RETURNING ${columns}`,
      [input.slug, input.name, JSON.stringify(input.settings ?? {}), input.operator ?? false],
    );
    return fromRow(rows[0]!);
  } catch (err) {
    if ((err as { code?: string }).code === '23505')
      throw new TenantConflictError(`a tenant "${input.slug}" exists already`);
    throw err;
  }
}

export async function listTenants(db: Db, where: { id?: string } = {}) {
  const { rows } = await db.query<Row>(
    `SELECT ${columns} FROM tenants WHERE ($1::uuid IS NULL OR id = $1) ORDER BY created_at, slug`,
    [where.id ?? null],
  );
  return rows.map((r) => tenantView(fromRow(r)));
}

export async function findTenant(db: Db, slug: string): Promise<Tenant | null> {
  const { rows } = await db.query<Row>(`SELECT ${columns} FROM tenants WHERE slug = $1`, [slug]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/** Renames a tenant or replaces its settings whole (validated by the caller). */
export async function updateTenant(db: Db, id: string, patch: { name?: string; settings?: unknown }) {
  const { rows } = await db.query<Row>(
    `UPDATE tenants SET name = COALESCE($2, name), settings = COALESCE($3::jsonb, ` +
      `settings) WHERE id = $1 RETURNING ${columns}`,
    [id, patch.name ?? null, patch.settings === undefined ? null : JSON.stringify(patch.settings)],
  );
  return tenantView(fromRow(rows[0]!));
}
