import { z } from 'zod';
import type { Db } from './db/pool.ts';

/**
 * A tenant's settings (tenants.settings, JSON). Each capability adds its own group of fields here,
 * every field optional with a default, so an old row always parses.
 */
export const tenantSettingsSchema = z.object({}).strip();

export type TenantSettings = z.infer<typeof tenantSettingsSchema>;

export async function loadTenantSettings(db: Db, tenantId: string): Promise<TenantSettings> {
  const { rows } = await db.query<{ settings: unknown }>('SELECT settings FROM tenants WHERE id = $1', [tenantId]);
  return tenantSettingsSchema.parse(rows[0]?.settings ?? {});
}
