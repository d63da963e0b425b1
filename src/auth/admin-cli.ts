import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import { connectDb } from '../db/pool.ts';
import { createLogger } from '../logger.ts';
import { envSecretFieldErrors } from '../publish/credentials.ts';
import { createDestination, createDestinationSchema } from '../publish/destinations.ts';
import { keyringOf, putTenantSecret, rotateSecrets, secretNameSchema } from '../security/secrets.ts';
import { createApiKey, keyNameSchema, revokeApiKey, scopesSchema } from './api-keys.ts';
import { createTenant, findTenant, listTenants, tenantNameSchema, tenantSlugSchema } from './tenants.ts';

// The admin commands of the CLI: tenants, keys, destinations and secrets, straight against the
// database (for bootstrapping, before any admin key exists).

export const adminUsage = `Admin commands:
  tenant create <slug> [--name N] [--operator]
                              create a tenant (operators may manage other tenants through the API)
  tenant list                 list tenants
  key create --tenant <slug> --scopes submit,read,admin [--name N]
                              create an API key and print it (shown this once)
  key revoke <key id|bpk_…>   revoke an API key
  destination add --tenant <slug> --kind files|wordpress|webhook --name N [--config JSON] [--default]
                              add a publishing destination
  secret set --tenant <slug> <name>
                              store a tenant secret read from standard input (encrypted at rest)
  secrets rotate              re-encrypt every stored secret under the first SECRETS_MASTER_KEYS key`;

export const adminCommands = ['tenant', 'key', 'destination', 'secret', 'secrets'];

class AdminUsageError extends Error {}

export async function runAdminCommand(config: Config, argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      name: { type: 'string' },
      scopes: { type: 'string' },
      kind: { type: 'string' },
      config: { type: 'string' },
      default: { type: 'boolean' },
      operator: { type: 'boolean' },
    },
  });
  const [group, action, arg] = positionals;
  const logger = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
  const db = await connectDb(config, logger);
  try {
    if (config.MIGRATE_ON_START) await (await import('../db/migrate.ts')).migrate(config.DATABASE_URL, logger);
    const tenantOf = async () => {
      const slug = values.tenant ?? 'default';
      const tenant = await findTenant(db, slug);
      if (!tenant) throw new AdminUsageError(`--tenant: no tenant "${slug}"`);
      return tenant;
    };
    switch (`${group} ${action}`) {
      case 'tenant create': {
        const slug = check(tenantSlugSchema, arg, '<slug>');
        const tenant = await createTenant(db, {
          slug,
          name: check(tenantNameSchema, values.name ?? slug, '--name'),
          operator: values.operator ?? false,
        });
        print({ id: tenant.id, slug: tenant.slug, name: tenant.name, operator: tenant.operator });
        return 0;
      }
      case 'tenant list':
        for (const t of await listTenants(db))
          console.log(`${t.slug}\t${t.id}\t${t.operator ? 'operator' : 'tenant'}\t${t.name}`);
        return 0;
      case 'key create': {
        const tenant = await tenantOf();
        const scopes = check(
          scopesSchema,
          (values.scopes ?? '')
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          '--scopes',
        );
        const key = await createApiKey(db, {
          tenantId: tenant.id,
          name: check(keyNameSchema, values.name ?? 'cli', '--name'),
          scopes,
        });
        print({
          key: key.key,
          id: key.id,
          prefix: key.prefix,
          tenant: tenant.slug,
          scopes: key.scopes,
          note: 'the key is shown only now; store it safely',
        });
        return 0;
      }
      case 'key revoke': {
        if (!arg) throw new AdminUsageError('key revoke needs a key id or its bpk_… prefix');
        const revoked = await revokeApiKey(db, values.tenant ? (await tenantOf()).id : null, arg);
        if (!revoked) throw new AdminUsageError(`no key ${arg}`);
        print({ id: revoked.id, prefix: revoked.prefix, revokedAt: revoked.revokedAt });
        return 0;
      }
      case 'destination add': {
        const tenant = await tenantOf();
        let destinationConfig: unknown = {};
        try {
          destinationConfig = values.config ? JSON.parse(values.config) : {};
        } catch {
          throw new AdminUsageError('--config must be JSON');
        }
        const input = check(
          createDestinationSchema,
          { name: values.name, kind: values.kind, config: destinationConfig, isDefault: values.default ?? false },
          'destination',
        );
        const refused = envSecretFieldErrors(tenant, input.config, 'config');
        if (refused.length > 0) throw new AdminUsageError(`--config: ${refused.map((e) => e.message).join('; ')}`);
        const destination = await createDestination(db, tenant.id, input);
        print({
          id: destination.id,
          tenant: tenant.slug,
          name: destination.name,
          kind: destination.kind,
          isDefault: destination.isDefault,
        });
        return 0;
      }
      case 'secret set': {
        const tenant = await tenantOf();
        const name = check(secretNameSchema, arg, '<name>');
        // From standard input, so the secret stays out of shell history and the process list.
        const value = (await readStdin()).replace(/\r?\n$/, '');
        if (!value) throw new AdminUsageError('secret set reads the secret from standard input; it was empty');
        print(await putTenantSecret(db, keyringOf(config), { tenantId: tenant.id, name, plaintext: value }));
        return 0;
      }
      case `secrets rotate`: {
        const result = await rotateSecrets(db, keyringOf(config));
        print({ reencrypted: result.tenantSecrets + result.inboundWebhookSecrets, ...result });
        return 0;
      }
      default:
        throw new AdminUsageError(`unknown command "${positionals.join(' ')}"\n${adminUsage}`);
    }
  } catch (err) {
    if (err instanceof AdminUsageError) {
      console.error(`blog-poster: ${err.message}`);
      return 2;
    }
    throw err;
  } finally {
    await db.close();
  }
}

function check<T>(
  schema: {
    safeParse(
      v: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  value: unknown,
  what: string,
): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = (i: { path: PropertyKey[]; message: string }) =>
    [i.path.map(String).join('.'), i.message].filter(Boolean).join(': ');
  throw new AdminUsageError(`${what}: ${parsed.error.issues.map(issue).join('; ')}`);
}

function print(value: unknown): void {
  console.log(JSON.stringify(value));
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new AdminUsageError(
      'pipe the secret into standard input, e.g. printf %s "$PASSWORD" | blog-poster secret set …',
    );
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
