import { z } from 'zod';
import type { Db } from './db/pool.ts';
import { defaultGroundingPolicy, groundingPolicySchema } from './grounding/policy.ts';
import { briefSchema } from './llm/brief.ts';
import { notificationSettingsSchema, publishingSettingsSchema } from './publish/options.ts';

/**
 * A tenant's settings (tenants.settings, JSON). Each capability adds its own group of fields here,
 * every field optional with a default, so an old row always parses.
 */
export const tenantSettingsSchema = z
  .object({
    // Writing, grounding and LLM spend.
    /** The tenant's writer; unset means the deployment's LLM_PROVIDER. */
    llmProvider: z.enum(['local', 'openai']).optional(),
    /** Brief defaults (voice, audience, language, word range, keywords); a submission's brief overrides them. */
    brief: briefSchema.optional(),
    grounding: groundingPolicySchema.default(defaultGroundingPolicy),
    /** LLM spend allowed per calendar month (UTC) in USD; unset means no limit. */
    monthlyBudgetUsd: z.number().nonnegative().optional(),
    /** LLM spend allowed for one post in USD; unset means no limit. */
    perPostCostCapUsd: z.number().nonnegative().optional(),
    // Internal links: related published posts linked from a post before it is published.
    internalLinks: z
      .object({
        enabled: z.boolean().default(false),
        /** Links per post; unset means RELATED_POSTS_LIMIT. */
        max: z.number().int().min(1).max(20).optional(),
        heading: z.string().trim().min(1).max(100).default('Related posts'),
      })
      .prefault({}),
    // Publishing: approval before publishing, and the tenant's signed event callback.
    publishing: publishingSettingsSchema.prefault({}),
    /** Callback for post.published, post.failed, post.needs_review, post.awaiting_approval; unset means none. */
    notifications: notificationSettingsSchema.optional(),
    // Limits: requests per RATE_LIMIT_WINDOW_MS for each of the tenant's keys; unset means RATE_LIMIT_PER_KEY, 0 none.
    rateLimit: z
      .object({ perKey: z.number().int().min(0).max(1_000_000).optional() })
      .strip()
      .prefault({}),
  })
  .strip();

export type TenantSettings = z.infer<typeof tenantSettingsSchema>;

export async function loadTenantSettings(db: Db, tenantId: string): Promise<TenantSettings> {
  const { rows } = await db.query<{ settings: unknown }>('SELECT settings FROM tenants WHERE id = $1', [tenantId]);
  return parseTenantSettings(rows[0]?.settings);
}

/** The settings of the tenant of post `p`, as a column of another query (a stage's read of its post). */
export const tenantSettingsColumn = '(SELECT t.settings FROM tenants t WHERE t.id = p.tenant_id) AS tenant_settings';

export function parseTenantSettings(settings: unknown): TenantSettings {
  return tenantSettingsSchema.parse(settings ?? {});
}
