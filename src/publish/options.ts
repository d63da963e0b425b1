import { z } from 'zod';
import { secretNameSchema } from '../security/secrets.ts';

// Publishing options a submission may carry and the tenant's publishing settings. Kept here so the
// submission schema (src/submissions.ts) and tenant settings (src/tenant-settings.ts) share them.

/** Secrets are referenced by environment variable name, never stored; only BP_SECRET_* may be named. */
export const secretEnvName = z
  .string()
  .regex(/^BP_SECRET_[A-Z0-9_]{1,100}$/, 'must name an environment variable BP_SECRET_<NAME> (upper case, digits, _)');

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048);

const publishOptionsShape = {
  /** Destination ids of the tenant; without them the tenant's default destinations apply. */
  destinations: z.array(z.uuid()).min(1).max(10).optional(),
  /** Publish at this time (ISO 8601 with an offset or Z). */
  publishAt: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, e.g. 2030-01-02T03:04:05Z' })
    .optional(),
  /** Hold the post as awaiting_approval until an operator approves it. */
  requireApproval: z.boolean().optional(),
  /** A featured image for destinations that show one (WordPress). */
  featuredImage: z
    .object({ url: httpUrl, alt: z.string().trim().min(1).max(300) })
    .strict()
    .optional(),
};

/** What a submission may ask for; publishAt must lie ahead when it arrives. */
export const publishOptionsSchema = z
  .object({
    ...publishOptionsShape,
    publishAt: publishOptionsShape.publishAt.refine(
      (v) => v === undefined || Date.parse(v) > Date.now(),
      'must be in the future',
    ),
  })
  .strict();

/** The same options as stored with the submission (read later, when publishAt may have passed). */
export const storedPublishOptionsSchema = z.object(publishOptionsShape).strip();
export type PublishOptions = z.infer<typeof publishOptionsSchema>;

/** Tenant settings of publishing (tenants.settings.publishing and .notifications). */
export const publishingSettingsSchema = z
  .object({
    requireApproval: z.boolean().default(false),
  })
  .strip();

export const notificationSettingsSchema = z
  .object({
    /** The tenant's callback URL; receives post.published, post.failed, post.needs_review, post.awaiting_approval. */
    url: httpUrl,
    /** The Standard Webhooks signing secret (whsec_…): a stored tenant secret, or an environment variable. */
    secretEnv: secretEnvName.optional(),
    secretName: secretNameSchema.optional(),
  })
  .strip()
  .refine((c) => Boolean(c.secretEnv) !== Boolean(c.secretName), {
    message: 'set exactly one of secretName (a stored tenant secret) or secretEnv (an environment variable)',
    path: ['secretName'],
  });
