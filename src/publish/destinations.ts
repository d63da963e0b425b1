import { z } from 'zod';
import type { Db } from '../db/pool.ts';
import { cadenceSchema } from './cadence.ts';
import { credentialFields, exactlyOneCredential } from './credentials.ts';
import { indexNowSchema } from './indexnow.ts';

// A tenant's destinations: what each kind's config holds, the table's repository, and which
// destinations a post goes to.

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048);
const timeoutMs = z.number().int().min(100).max(120_000).default(15_000);

export const destinationKinds = ['files', 'wordpress', 'webhook'] as const;
export type DestinationKind = (typeof destinationKinds)[number];

export const configSchemas = {
  files: z
    .object({
      /** Public URL the tenant's folder is served under; pages, feed and sitemap link to it. */
      baseUrl: httpUrl.optional(),
      /** A sub-folder of OUTPUT_DIR/<tenant> for this destination. */
      subdir: z
        .string()
        .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'lower-case letters, digits and dashes')
        .max(60)
        .optional(),
      /** Posts a day, publishing window and minimum gap (./cadence.ts). */
      cadence: cadenceSchema.optional(),
      /** Search-engine notification after publication; off unless set (./indexnow.ts). */
      indexNow: indexNowSchema.optional(),
    })
    .strict(),
  wordpress: z
    .object({
      /** The site's address (its REST API is at <url>/wp-json/). */
      url: httpUrl,
      username: z.string().trim().min(1).max(200),
      /** The user's application password: a stored tenant secret, or an environment variable. */
      ...credentialFields('passwordEnv', 'passwordSecret'),
      status: z.enum(['publish', 'draft']).default('publish'),
      /** Category names, looked up or created on the site. */
      categories: z.array(z.string().trim().min(1).max(100)).max(10).default([]),
      timeoutMs,
      cadence: cadenceSchema.optional(),
      indexNow: indexNowSchema.optional(),
    })
    .strict()
    .refine(...exactlyOneCredential('passwordEnv', 'passwordSecret')),
  webhook: z
    .object({
      url: httpUrl,
      /** The Standard Webhooks signing secret (whsec_…): a stored tenant secret, or an environment variable. */
      ...credentialFields('secretEnv', 'secretName'),
      timeoutMs,
      cadence: cadenceSchema.optional(),
    })
    .strict()
    .refine(...exactlyOneCredential('secretEnv', 'secretName')),
} as const;

export type FilesConfig = z.infer<typeof configSchemas.files>;
export type WordPressConfig = z.infer<typeof configSchemas.wordpress>;
export type WebhookConfig = z.infer<typeof configSchemas.webhook>;

const name = z.string().trim().min(1).max(100);

export const createDestinationSchema = z.discriminatedUnion('kind', [
  z
    .object({
      name,
      kind: z.literal('files'),
      config: configSchemas.files.prefault({}),
      isDefault: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      name,
      kind: z.literal('wordpress'),
      config: configSchemas.wordpress,
      isDefault: z.boolean().default(false),
    })
    .strict(),
  z
    .object({ name, kind: z.literal('webhook'), config: configSchemas.webhook, isDefault: z.boolean().default(false) })
    .strict(),
]);
export type CreateDestination = z.infer<typeof createDestinationSchema>;

/** A PATCH replaces the config whole (validated against the destination's kind, which cannot change). */
export const updateDestinationSchema = z
  .object({
    name: name.optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    isDefault: z.boolean().optional(),
  })
  .strict();

export type Destination =
  | {
      id: string;
      tenantId: string;
      name: string;
      kind: 'files';
      config: FilesConfig;
      isDefault: boolean;
      createdAt: Date;
      updatedAt: Date;
    }
  | {
      id: string;
      tenantId: string;
      name: string;
      kind: 'wordpress';
      config: WordPressConfig;
      isDefault: boolean;
      createdAt: Date;
      updatedAt: Date;
    }
  | {
      id: string;
      tenantId: string;
      name: string;
      kind: 'webhook';
      config: WebhookConfig;
      isDefault: boolean;
      createdAt: Date;
      updatedAt: Date;
    };

/** The built-in static site every tenant publishes to when it has chosen no destination. */
export const BUILTIN_FILES_KEY = 'files';

/** Where a post goes: the publications row is keyed by `key` (a destination id, or `files`). */
export type Target = {
  key: string;
  destinationId: string | null;
  name: string;
  kind: DestinationKind;
  config: FilesConfig | WordPressConfig | WebhookConfig;
};

type Row = {
  id: string;
  tenant_id: string;
  name: string;
  kind: DestinationKind;
  config: unknown;
  is_default: boolean;
  created_at: Date;
  updated_at: Date;
};

function fromRow(row: Row): Destination {
  // Rows were validated on the way in; parsing again applies defaults added since.
  const config = configSchemas[row.kind].parse(row.config);
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    kind: row.kind,
    config,
    isDefault: row.is_default,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  } as Destination;
}

const columns = 'id, tenant_id, name, kind, config, is_default, created_at, updated_at';

export class DestinationConflictError extends Error {}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === '23505';
}

export async function createDestination(db: Db, tenantId: string, input: CreateDestination): Promise<Destination> {
  try {
    const { rows } = await db.query<Row>(
      `INSERT INTO destinations (tenant_id, name, kind, config, is_default) VALUES ` +
        `($1, $2, $3, $4, $5) RETURNING ${columns}`,
      [tenantId, input.name, input.kind, JSON.stringify(input.config), input.isDefault],
    );
    return fromRow(rows[0]!);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new DestinationConflictError(`a destination named "${input.name}" exists already`);
    throw err;
  }
}

export async function listDestinations(db: Db, tenantId: string): Promise<Destination[]> {
  const { rows } = await db.query<Row>(
    `SELECT ${columns} FROM destinations WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY created_at, id`,
    [tenantId],
  );
  return rows.map(fromRow);
}

export async function getDestination(db: Db, tenantId: string, id: string): Promise<Destination | null> {
  const { rows } = await db.query<Row>(
    `SELECT ${columns} FROM destinations WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
    [tenantId, id],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

export async function updateDestination(
  db: Db,
  tenantId: string,
  id: string,
  patch: { name?: string; config?: unknown; isDefault?: boolean },
): Promise<Destination | null> {
  try {
    const { rows } = await db.query<Row>(
      `UPDATE destinations SET name = COALESCE($3, name), config = COALESCE($4, config), is_default = COALESCE($5,
         is_default), updated_at = now()
        WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING ${columns}`,
      [
        tenantId,
        id,
        patch.name ?? null,
        patch.config === undefined ? null : JSON.stringify(patch.config),
        patch.isDefault ?? null,
      ],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  } catch (err) {
    if (isUniqueViolation(err))
      throw new DestinationConflictError(`a destination named "${patch.name}" exists already`);
    throw err;
  }
}

export async function deleteDestination(db: Db, tenantId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE destinations SET deleted_at = now(), is_default = false, updated_at ` +
      `= now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
    [tenantId, id],
  );
  return rowCount === 1;
}

/** What the API shows of a destination: its config names secrets' variables, never their values. */
export function destinationView(d: Destination) {
  return {
    id: d.id,
    name: d.name,
    kind: d.kind,
    config: d.config,
    isDefault: d.isDefault,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
    links: { self: `/api/v1/destinations/${d.id}` },
  };
}

export class UnknownDestinationError extends Error {}

/** Which of `ids` are not live destinations of the tenant: another tenant's, deleted, or never made. */
export async function missingDestinations(db: Db, tenantId: string, ids: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM destinations WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND deleted_at IS NULL`,
    [tenantId, ids],
  );
  const found = new Set(rows.map((r) => r.id));
  return ids.filter((id) => !found.has(id));
}

/**
 * The destinations a post goes to: those its submission named, else the tenant's defaults, else the
 * built-in static site. A named destination that is gone is an error the caller reports.
 */
/**
 * The default destinations of the tenant of post `p` (what resolveTargets reads when the post names none), as a JSON
 * column of another query: the publish stage reads them with its post.
 */
export const defaultDestinationsColumn = `(SELECT COALESCE(json_agg(json_build_object('id', d.id, 'tenant_id',
    d.tenant_id, 'name', d.name, 'kind', d.kind, 'config', d.config, 'is_default', d.is_default, 'created_at',
    d.created_at, 'updated_at', d.updated_at) ORDER BY d.created_at, d.id), '[]')
   FROM destinations d WHERE d.tenant_id = p.tenant_id AND d.is_default AND d.deleted_at IS NULL)
   AS default_destinations`;

export async function resolveTargets(
  db: Db,
  tenantId: string,
  named: string[] | undefined,
  /** The tenant's default destinations, when the caller read them already (defaultDestinationsColumn). */
  defaults?: unknown[],
): Promise<Target[]> {
  if (named && named.length > 0) {
    const { rows } = await db.query<Row>(
      `SELECT ${columns} FROM destinations WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND deleted_at IS NULL`,
      [tenantId, named],
    );
    const found = new Map(rows.map((r) => [r.id, fromRow(r)]));
    const missing = named.filter((id) => !found.has(id));
    if (missing.length > 0)
      throw new UnknownDestinationError(`destination ${missing.join(', ')} does not exist (or was deleted)`);
    return [...new Set(named)].map((id) => toTarget(found.get(id)!));
  }
  const rows = defaults
    ? (defaults as Row[])
    : (
        await db.query<Row>(
          `SELECT ${columns} FROM destinations WHERE tenant_id = $1 AND is_default ` +
            `AND deleted_at IS NULL ORDER BY created_at, id`,
          [tenantId],
        )
      ).rows;
  if (rows.length > 0) return rows.map((r) => toTarget(fromRow(r)));
  return [{ key: BUILTIN_FILES_KEY, destinationId: null, name: 'static site', kind: 'files', config: {} }];
}

function toTarget(d: Destination): Target {
  return { key: d.id, destinationId: d.id, name: d.name, kind: d.kind, config: d.config };
}
